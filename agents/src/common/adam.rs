//! Adam, with a step that updates the first moment, the second moment and the parameter in one
//! pass over each tensor on the CPU.
//!
//! Burn's Adam writes its step as thirteen tensor operations (scale, add, square, sqrt, divide,
//! ...), each a pass over the tensor and most of them a fresh buffer. On the CPU that made the
//! optimizer a large part of an off-policy update: on an AVX-512 Xeon, `perf` put 28 % of a SAC
//! run in those element-wise passes. Here, on the Flex backend, the same arithmetic runs as one
//! loop that updates the three buffers in place.
//!
//! The loop performs Burn's f32 operations in Burn's order (no fused multiply-add, no reordering),
//! so its results are bit for bit those of `burn::optim::Adam`, but for one thing: a moment that
//! falls below f32's smallest normal number (1.2e-38) is set to zero (keeping its sign), as a CPU
//! in flush-to-zero mode would. The first moment of a weight whose gradient stays zero (a dead
//! ReLU unit) decays by 0.9 a step into the subnormal range and, by rounding, stays there for
//! good; on an AVX-512 Xeon 40 % of the first moments of SAC's 256 x 256 layers were subnormal
//! after 6000 steps, and every operation on a subnormal takes a slow microcode path, which made
//! this loop 29 % of a SAC run. Such a moment moves no parameter (its step is far below the
//! parameter's last bit), so the runs are the same: the tests below check both. The state is Burn's own [`AdamState`], so checkpoints
//! written with Burn's Adam load here and the other way round. On the other backends (WGPU, CUDA)
//! the step is Burn's Adam itself.

use std::any::Any;

use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, SimpleOptimizer,
};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{DType, Tensor, TensorPrimitive};
use burn_flex::FlexTensor;

/// PyTorch's default Adam epsilon, which CleanRL and Stable-Baselines3 use for SAC. Burn's default
/// (1e-5) is a thousand times larger.
pub const TORCH_ADAM_EPSILON: f32 = 1e-8;

const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;

/// The optimizer of every agent in this crate: [`FusedAdam`] over a module's parameters.
pub type AdamOptimizer<M, B> = OptimizerAdaptor<FusedAdam, M, B>;

/// Adam with PyTorch's betas (0.9, 0.999), the given epsilon, no weight decay and no AMSGrad.
pub fn adam<B: AutodiffBackend, M: burn::module::AutodiffModule<B>>(
    epsilon: f32,
) -> AdamOptimizer<M, B> {
    FusedAdam::new(epsilon).into()
}

/// Adam (Kingma and Ba, 2015) in Burn's formulation:
/// `theta -= lr * m * (sqrt(c2) / c1) / (sqrt(v) + epsilon * sqrt(c2))`, with the bias corrections
/// `c1 = 1 - beta1^t` and `c2 = 1 - beta2^t`. This is PyTorch's update
/// `theta -= lr / c1 * m / (sqrt(v) / sqrt(c2) + epsilon)` with numerator and denominator
/// multiplied by `sqrt(c2)`: the same step up to f32 rounding.
#[derive(Clone)]
pub struct FusedAdam {
    epsilon: f32,
    /// Burn's Adam with the same settings, for the backends without an in-place path.
    reference: Adam,
}

impl FusedAdam {
    pub fn new(epsilon: f32) -> Self {
        let reference = AdamConfig::new()
            .with_beta_1(BETA_1)
            .with_beta_2(BETA_2)
            .with_epsilon(epsilon)
            .build();
        Self { epsilon, reference }
    }
}

impl<B: Backend> SimpleOptimizer<B> for FusedAdam {
    type State<const D: usize> = AdamState<B, D>;

    fn step<const D: usize>(
        &self,
        learning_rate: LearningRate,
        param: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let on_flex = is_flex::<B>() && grad.dtype() == DType::F32;
        let amsgrad_state = state
            .as_ref()
            .is_some_and(|state| state.momentum.max_moment_2.is_some());
        if !on_flex || amsgrad_state {
            return self.reference.step(learning_rate, param, grad, state);
        }

        let (time, moment_1, moment_2) = match state {
            Some(state) => {
                let momentum = state.momentum;
                (momentum.time, momentum.moment_1, momentum.moment_2)
            }
            // Zero moments make the first step exactly Burn's first step: 0 * beta + x = x.
            None => (0, grad.zeros_like(), grad.zeros_like()),
        };
        let time = time + 1;
        let constants = StepConstants::new(learning_rate, self.epsilon, time);

        let mut param = to_flex(param);
        let grad = to_flex(grad);
        let mut moment_1 = to_flex(moment_1);
        let mut moment_2 = to_flex(moment_2);
        let in_place = [&param, &grad, &moment_1, &moment_2]
            .iter()
            .all(|tensor| tensor.layout().contiguous_offsets().is_some());
        if !in_place {
            let state = AdamState::new(AdaptiveMomentumState::new(
                time - 1,
                from_flex(moment_1),
                from_flex(moment_2),
            ));
            let stepped = self.reference.step(
                learning_rate,
                from_flex(param),
                from_flex(grad),
                Some(state),
            );
            return stepped;
        }

        let grad_values = contiguous_values(&grad);
        // Copy-on-write: a buffer still shared (the module clone the caller keeps until the step
        // returns, a record taken for a checkpoint) is copied once, then updated in place.
        let param_values = contiguous_values_mut(&mut param);
        let moment_1_values = contiguous_values_mut(&mut moment_1);
        let moment_2_values = contiguous_values_mut(&mut moment_2);
        constants.apply(param_values, grad_values, moment_1_values, moment_2_values);

        let state = AdamState::new(AdaptiveMomentumState::new(
            time,
            from_flex(moment_1),
            from_flex(moment_2),
        ));
        (from_flex(param), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        <Adam as SimpleOptimizer<B>>::to_device(state, device)
    }
}

/// The scalars of one Adam step, each computed in f32 exactly as Burn's Adam computes it.
struct StepConstants {
    one_minus_beta_1: f32,
    one_minus_beta_2: f32,
    /// `sqrt(c2) / c1`.
    moment_scale: f32,
    /// `epsilon * sqrt(c2)`.
    scaled_epsilon: f32,
    learning_rate: f32,
}

impl StepConstants {
    fn new(learning_rate: LearningRate, epsilon: f32, time: usize) -> Self {
        let time = i32::try_from(time).unwrap_or(i32::MAX);
        let bias_correction_2_sqrt = (1.0 - BETA_2.powi(time)).sqrt();
        Self {
            one_minus_beta_1: 1.0 - BETA_1,
            one_minus_beta_2: 1.0 - BETA_2,
            moment_scale: bias_correction_2_sqrt / (1.0 - BETA_1.powi(time)),
            scaled_epsilon: epsilon * bias_correction_2_sqrt,
            learning_rate: learning_rate as f32,
        }
    }

    /// One pass over the four buffers. Each line is one of Burn's tensor operations on one
    /// element, in its order, so the rounding is the same.
    fn apply(&self, param: &mut [f32], grad: &[f32], moment_1: &mut [f32], moment_2: &mut [f32]) {
        let elements = param
            .iter_mut()
            .zip(grad)
            .zip(moment_1.iter_mut().zip(moment_2.iter_mut()));
        for ((param, &grad), (moment_1, moment_2)) in elements {
            let first = flush_subnormal(*moment_1 * BETA_1 + grad * self.one_minus_beta_1);
            let second =
                flush_subnormal(*moment_2 * BETA_2 + (grad * grad) * self.one_minus_beta_2);
            *moment_1 = first;
            *moment_2 = second;
            let direction = (first * self.moment_scale) / (second.sqrt() + self.scaled_epsilon);
            *param -= direction * self.learning_rate;
        }
    }
}

/// Zero with `value`'s sign when `value` is subnormal, else `value`: what flush-to-zero does.
fn flush_subnormal(value: f32) -> f32 {
    if value.abs() < f32::MIN_POSITIVE {
        value * 0.0
    } else {
        value
    }
}

fn is_flex<B: Backend>() -> bool {
    std::any::TypeId::of::<B::FloatTensorPrimitive>() == std::any::TypeId::of::<FlexTensor>()
}

/// `value` as a `To`, when `From` and `To` are one type (checked by [`is_flex`] beforehand).
fn same_type<From: 'static, To: 'static>(value: From) -> To {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<To>>()
        .and_then(Option::take)
        .expect("the backend's float tensors are Flex tensors (checked before the step)")
}

fn to_flex<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> FlexTensor {
    same_type(tensor.into_primitive().tensor())
}

fn from_flex<B: Backend, const D: usize>(tensor: FlexTensor) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(same_type(tensor)))
}

fn contiguous_values(tensor: &FlexTensor) -> &[f32] {
    let (start, end) = tensor.layout().contiguous_offsets().unwrap_or((0, 0));
    &tensor.storage::<f32>()[start..end]
}

fn contiguous_values_mut(tensor: &mut FlexTensor) -> &mut [f32] {
    let (start, end) = tensor.layout().contiguous_offsets().unwrap_or((0, 0));
    &mut tensor.storage_mut::<f32>()[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Autodiff;
    use burn::module::{Module, Param};
    use burn::optim::{GradientsParams, Optimizer};
    use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
    use burn::tensor::{Distribution, TensorData};
    use burn_flex::{Flex, FlexDevice};
    use serial_test::serial;

    type Inner = Flex;
    type Trained = Autodiff<Flex>;

    #[derive(Module, Debug)]
    struct TwoTensors<B: Backend> {
        matrix: Param<Tensor<B, 2>>,
        vector: Param<Tensor<B, 1>>,
    }

    fn module(device: &FlexDevice) -> TwoTensors<Trained> {
        TwoTensors {
            matrix: Param::from_tensor(Tensor::random([17, 33], Distribution::Default, device)),
            vector: Param::from_tensor(Tensor::random([33], Distribution::Default, device)),
        }
    }

    /// A quartic loss, so that the gradients change from step to step.
    fn gradients(module: &TwoTensors<Trained>, target: &Tensor<Trained, 1>) -> GradientsParams {
        let hidden = module.matrix.val().sum_dim(0).squeeze_dim::<1>(0) * module.vector.val();
        let loss = (hidden - target.clone()).powi_scalar(4).mean();
        GradientsParams::from_grads(loss.backward(), module)
    }

    fn bits<const D: usize>(tensor: Tensor<Trained, D>) -> Vec<u32> {
        let data = tensor.into_data().convert::<f32>();
        data.to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    }

    fn same_bits(left: &TwoTensors<Trained>, right: &TwoTensors<Trained>) -> bool {
        bits(left.matrix.val()) == bits(right.matrix.val())
            && bits(left.vector.val()) == bits(right.vector.val())
    }

    #[test]
    #[serial(autodiff)]
    fn steps_are_bit_for_bit_burns_adam() {
        let device = FlexDevice;
        <Trained as Backend>::seed(&device, 7);
        let start = module(&device);
        let target = Tensor::<Trained, 1>::random([33], Distribution::Default, &device);
        let mut fused_module = start.clone();
        let mut burn_module = start.clone();
        let mut fused = adam::<Trained, TwoTensors<Trained>>(TORCH_ADAM_EPSILON);
        let mut burn_adam = AdamConfig::new()
            .with_epsilon(TORCH_ADAM_EPSILON)
            .init::<Trained, TwoTensors<Trained>>();
        for step in 0..6 {
            let learning_rate = 3e-4 * (step + 1) as f64;
            let grads = gradients(&fused_module, &target);
            fused_module = fused.step(learning_rate, fused_module.clone(), grads);
            let grads = gradients(&burn_module, &target);
            burn_module = burn_adam.step(learning_rate, burn_module.clone(), grads);
            assert!(same_bits(&fused_module, &burn_module), "step {step}");
        }
        assert!(!same_bits(&fused_module, &start), "the steps moved nothing");

        // The state is Burn's Adam state: a record saved by one optimizer resumes the other.
        let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
        let saved = Recorder::<Trained>::record(&recorder, burn_adam.to_record(), ()).unwrap();
        let mut resumed = adam::<Trained, TwoTensors<Trained>>(TORCH_ADAM_EPSILON)
            .load_record(recorder.load(saved, &device).unwrap());
        let from_resumed = resumed.step(
            1e-3,
            fused_module.clone(),
            gradients(&fused_module, &target),
        );
        let from_fused = fused.step(
            1e-3,
            fused_module.clone(),
            gradients(&fused_module, &target),
        );
        assert!(same_bits(&from_resumed, &from_fused));
    }

    #[test]
    fn a_first_moment_stuck_in_the_subnormal_range_is_flushed_and_moves_no_parameter() {
        // Two weights that see one gradient, then none (a unit that died): Burn's arithmetic
        // written out without the flush, beside the fused loop.
        let mut param = [0.05_f32, -0.2];
        let (mut moment_1, mut moment_2) = ([0.0_f32; 2], [0.0_f32; 2]);
        let mut plain = (param, moment_1, moment_2);
        for time in 1..=1500 {
            let grad = if time == 1 { [1e-3, -2e-3] } else { [0.0, 0.0] };
            let constants = StepConstants::new(3e-4, TORCH_ADAM_EPSILON, time);
            constants.apply(&mut param, &grad, &mut moment_1, &mut moment_2);
            let (plain_param, plain_1, plain_2) = &mut plain;
            for i in 0..2 {
                plain_1[i] = plain_1[i] * BETA_1 + grad[i] * constants.one_minus_beta_1;
                plain_2[i] = plain_2[i] * BETA_2 + (grad[i] * grad[i]) * constants.one_minus_beta_2;
                let direction = (plain_1[i] * constants.moment_scale)
                    / (plain_2[i].sqrt() + constants.scaled_epsilon);
                plain_param[i] -= direction * constants.learning_rate;
            }
            assert_eq!(
                param.map(f32::to_bits),
                plain_param.map(f32::to_bits),
                "step {time}"
            );
        }
        let (_, plain_1, _) = plain;
        assert!(
            plain_1.iter().all(|m| m.is_subnormal()),
            "without the flush the moments stay subnormal: {plain_1:?}"
        );
        assert_eq!(moment_1, [0.0, 0.0]);
        assert!(moment_2.iter().all(|m| m.is_normal()), "{moment_2:?}");
    }

    /// PyTorch's `torch.optim.Adam` (default arguments but eps), written out in f64.
    fn torch_adam(param: &mut [f64], grads: &[Vec<f64>], learning_rate: f64, epsilon: f64) {
        let (beta_1, beta_2) = (0.9_f64, 0.999_f64);
        let mut moment_1 = vec![0.0; param.len()];
        let mut moment_2 = vec![0.0; param.len()];
        for (step, grad) in grads.iter().enumerate() {
            let time = (step + 1) as i32;
            let bias_correction_1 = 1.0 - beta_1.powi(time);
            let bias_correction_2 = 1.0 - beta_2.powi(time);
            for i in 0..param.len() {
                moment_1[i] = beta_1 * moment_1[i] + (1.0 - beta_1) * grad[i];
                moment_2[i] = beta_2 * moment_2[i] + (1.0 - beta_2) * grad[i] * grad[i];
                let denominator = moment_2[i].sqrt() / bias_correction_2.sqrt() + epsilon;
                param[i] -= learning_rate / bias_correction_1 * moment_1[i] / denominator;
            }
        }
    }

    #[test]
    #[serial(autodiff)]
    fn steps_follow_pytorchs_adam_formula() {
        let device = FlexDevice;
        let start: Vec<f32> = (0..64)
            .map(|i| ((i * 37 % 64) as f32 - 32.0) / 16.0)
            .collect();
        // Gradients that change sign and scale between steps, some of them tiny, so that the
        // epsilon placement and the bias corrections both matter.
        let grads: Vec<Vec<f32>> = (0..5)
            .map(|step| {
                (0..64)
                    .map(|i| ((i * 13 + step * 7) % 17) as f32 - 8.0)
                    .map(|g| g * 10f32.powi(-step * 2))
                    .collect()
            })
            .collect();
        let optimizer = FusedAdam::new(TORCH_ADAM_EPSILON);
        let mut param = Tensor::<Inner, 1>::from_data(TensorData::from(start.as_slice()), &device);
        let mut state = None;
        for grad in &grads {
            let grad = Tensor::<Inner, 1>::from_data(TensorData::from(grad.as_slice()), &device);
            let (next, next_state) = optimizer.step(1e-2, param, grad, state);
            param = next;
            state = next_state;
        }
        let ours = param.into_data().convert::<f32>().to_vec::<f32>().unwrap();

        let mut expected: Vec<f64> = start.iter().map(|&x| x as f64).collect();
        let grads_f64: Vec<Vec<f64>> = grads
            .iter()
            .map(|grad| grad.iter().map(|&g| g as f64).collect())
            .collect();
        torch_adam(&mut expected, &grads_f64, 1e-2, TORCH_ADAM_EPSILON as f64);
        for (i, (ours, expected)) in ours.iter().zip(&expected).enumerate() {
            let error = (*ours as f64 - expected).abs();
            assert!(
                error <= 1e-6 * expected.abs().max(1.0),
                "element {i}: {ours} vs {expected}"
            );
        }
        // And the steps did move the parameters by several learning rates.
        let moved = ours
            .iter()
            .zip(&start)
            .filter(|(a, b)| (**a - **b).abs() > 0.02)
            .count();
        assert!(moved > 32, "only {moved} of 64 parameters moved");
    }
}
