//! Tensors read back for hand computations in f64 (included with
//! `#[path = "common/tensors.rs"] mod tensors;` by the tests that check a loss by hand).

use burn::prelude::{Backend, Tensor};

/// Every element of `tensor`, in row-major order, as f64.
pub fn values<Any: Backend, const D: usize>(tensor: Tensor<Any, D>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f64>()
        .into_vec::<f64>()
        .unwrap()
}
