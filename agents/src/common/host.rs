//! Moving numbers between host memory and tensors. Every random draw of a run happens here, on
//! the host, from the run's one seeded RNG: that is what makes a checkpoint able to resume the
//! exact same stream on any backend.

use burn::prelude::*;
use rand::Rng;
use rand_distr::StandardNormal;

/// A [rows, cols] tensor from row-major host data.
pub fn matrix<B: Backend>(
    data: &[f32],
    rows: usize,
    cols: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(data.to_vec(), [rows, cols]), device)
}

/// A [rows, cols] tensor of standard-normal draws from `rng`.
pub fn standard_normal<B: Backend>(
    rng: &mut impl Rng,
    rows: usize,
    cols: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    let draws: Vec<f32> = (0..rows * cols)
        .map(|_| rng.sample(StandardNormal))
        .collect();
    matrix(&draws, rows, cols, device)
}

/// The values of a tensor, row-major.
pub fn to_vec<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("a float tensor converts to f32")
}

/// The single value of a one-element tensor, as f64 for logging.
pub fn scalar<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> f64 {
    to_vec(tensor)[0] as f64
}

/// Observations as the networks take them: f64 from the env, f32 on the way in.
pub fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}
