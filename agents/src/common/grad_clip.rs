//! Clipping by the global gradient norm, as `torch.nn.utils.clip_grad_norm_` does for PPO's
//! `max_grad_norm`. Burn's own `GradientClipping::Norm` clips each parameter tensor on its own,
//! which is a different (and for PPO, wrong) rule.

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

/// Scales every gradient of `module` in `grads` by `max_norm / (norm + 1e-6)` when the global
/// L2 norm over all of them exceeds `max_norm` (torch's rule, epsilon included). Returns the
/// norm before clipping.
pub fn clip_global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
) -> f64 {
    let mut squares = SquaredNorm::<B> { grads, total: None };
    module.visit(&mut squares);
    let Some(total) = squares.total else {
        return 0.0;
    };
    let norm = total.into_scalar().elem::<f64>().sqrt();
    let factor = max_norm / (norm + 1e-6);
    if factor < 1.0 {
        module.visit(&mut Scale::<B> {
            grads,
            factor,
            backend: std::marker::PhantomData,
        });
    }
    norm
}

/// Sums the squares of every gradient on the device; one read-back at the end.
struct SquaredNorm<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    total: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNorm<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let squares = grad.powi_scalar(2).sum();
            self.total = Some(match self.total.take() {
                Some(total) => total + squares,
                None => squares,
            });
        }
    }
}

struct Scale<'a, B> {
    grads: &'a mut GradientsParams,
    factor: f64,
    backend: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.grads.register(param.id, grad.mul_scalar(self.factor));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::{Linear, LinearConfig};
    use serial_test::serial;

    type TestBackend = Autodiff<Flex>;

    fn grads_of(linear: &Linear<TestBackend>, scale: f32) -> GradientsParams {
        let device = Default::default();
        let input = Tensor::<TestBackend, 2>::from_floats([[1.0, 2.0]], &device);
        let loss = linear.forward(input).sum() * scale;
        GradientsParams::from_grads(loss.backward(), linear)
    }

    fn values(grads: &GradientsParams, linear: &Linear<TestBackend>) -> Vec<f32> {
        let weight = grads
            .get::<Flex, 2>(linear.weight.id)
            .unwrap()
            .into_data()
            .into_vec::<f32>()
            .unwrap();
        let bias = grads
            .get::<Flex, 1>(linear.bias.as_ref().unwrap().id)
            .unwrap()
            .into_data()
            .into_vec::<f32>()
            .unwrap();
        [weight, bias].concat()
    }

    #[test]
    #[serial(autodiff)]
    fn the_global_norm_spans_all_parameters_and_scales_them_together() {
        let device = Default::default();
        let linear: Linear<TestBackend> = LinearConfig::new(2, 1).init(&device);
        // d(3 * (w . x + b)) = 3 * [1, 2] for w and 3 for b: norm 3 * sqrt(6).
        let mut grads = grads_of(&linear, 3.0);
        let norm = clip_global_norm(&linear, &mut grads, 0.5);
        assert!((norm - 3.0 * 6f64.sqrt()).abs() < 1e-5, "{norm}");
        let clipped = values(&grads, &linear);
        let clipped_norm = clipped.iter().map(|g| g * g).sum::<f32>().sqrt();
        assert!((clipped_norm - 0.5).abs() < 1e-5, "{clipped_norm}");
        // The direction is kept: the gradient stays proportional to [1, 2, 1].
        assert!((clipped[1] / clipped[0] - 2.0).abs() < 1e-5);
        assert!((clipped[2] / clipped[0] - 1.0).abs() < 1e-5);
    }

    #[test]
    #[serial(autodiff)]
    fn gradients_under_the_limit_are_left_alone() {
        let device = Default::default();
        let linear: Linear<TestBackend> = LinearConfig::new(2, 1).init(&device);
        let mut grads = grads_of(&linear, 0.1);
        let before = values(&grads, &linear);
        let norm = clip_global_norm(&linear, &mut grads, 0.5);
        assert!(norm < 0.5);
        assert_eq!(values(&grads, &linear), before);
    }
}
