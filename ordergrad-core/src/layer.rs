//! The pathwise (reparameterisation) form of math.md section 4 as a Burn layer: `[batch, N]` sampled
//! values in, `[batch]` rank-weighted values out. Ranks are taken on detached values and the rank
//! weights gathered per item, so the gradient of row b is exactly w_{rank(i)} for each item i and
//! autodiff never has to differentiate a sort.

use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use crate::plan::RankPlan;

/// How the layer finds each item's rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankMethod {
    /// Pairwise on CubeCL backends (WGPU, CUDA) for N up to 64, where a sort would be a host
    /// round-trip; a sort everywhere else (on Flex the sort is ~37x faster at [256, 32]).
    #[default]
    Auto,
    /// rank_i = #{j : v_j < v_i} + #{j < i : v_j = v_i}: O(N^2) element-wise work per row, all of
    /// it on the device. Sorting on CubeCL backends (WGPU, CUDA) reads the tensor back to the
    /// host, so for the small N of action and quantile samples this is the fast path there.
    Pairwise,
    /// `argsort` of the detached values, then a gather: O(N log N), but a host round-trip on
    /// CubeCL backends. Ties are broken by the backend's sort, which changes which tied item gets
    /// which weight, never the value.
    Sort,
}

/// Largest N for which [`RankMethod::Auto`] uses pairwise ranks on a CubeCL backend.
const PAIRWISE_MAX_N: usize = 64;

/// Rank-weighted value of each row of sampled values, differentiable in those values.
#[derive(Debug, Clone)]
pub struct RankWeightedValue<B: Backend> {
    plan: RankPlan,
    method: RankMethod,
    /// `[1, N]` rank weights in the backend's float type.
    rank_weights: Tensor<B, 2>,
    /// `[1, N, N]`, 1 where j < i: breaks ties by original index in pairwise ranking.
    earlier_item: Tensor<B, 3>,
}

impl<B: Backend> RankWeightedValue<B> {
    /// A layer for rows of `plan.n()` samples. The weights are computed in f64 by the plan and
    /// converted once to the backend's float type.
    pub fn new(plan: RankPlan, method: RankMethod, device: &B::Device) -> Self {
        let n = plan.n();
        let method = match method {
            RankMethod::Auto if n <= PAIRWISE_MAX_N && B::name(device).contains("cubecl") => {
                RankMethod::Pairwise
            }
            RankMethod::Auto => RankMethod::Sort,
            chosen => chosen,
        };
        let weights: Vec<f32> = plan.rank_weights().iter().map(|&w| w as f32).collect();
        let rank_weights = Tensor::from_data(TensorData::new(weights, [1, n]), device);
        let earlier: Vec<f32> = (0..n * n)
            .map(|index| if index % n < index / n { 1.0 } else { 0.0 })
            .collect();
        let earlier_item = Tensor::from_data(TensorData::new(earlier, [1, n, n]), device);
        Self {
            plan,
            method,
            rank_weights,
            earlier_item,
        }
    }

    pub fn plan(&self) -> &RankPlan {
        &self.plan
    }

    /// The ranking actually used (`Auto` resolved).
    pub fn method(&self) -> RankMethod {
        self.method
    }

    /// `[batch, N]` values to their `[batch]` rank-weighted values. A NaN makes its row's output
    /// NaN; it is never sorted (pairwise ranking only compares, and `Sort` ranks it as +inf).
    ///
    /// # Panics
    /// If the second dimension of `values` is not the plan's N.
    pub fn forward(&self, values: Tensor<B, 2>) -> Tensor<B, 1> {
        let [batch, n] = values.dims();
        let weighted = match self.method {
            RankMethod::Sort => {
                let order = sortable(values.clone()).argsort(1);
                let sorted = values.gather(1, order);
                sorted * self.rank_weights.clone().expand([batch, n])
            }
            _ => values.clone() * self.item_weights(values),
        };
        weighted.sum_dim(1).reshape([batch])
    }

    /// The weight of each item in its row, `w_{rank(i)}`, as a detached `[batch, N]` tensor: the
    /// gradient of [`Self::forward`] with respect to the values.
    pub fn item_weights(&self, values: Tensor<B, 2>) -> Tensor<B, 2> {
        let ranks = self.ranks(values);
        let [batch, n] = ranks.dims();
        self.rank_weights
            .clone()
            .expand([batch, n])
            .gather(1, ranks)
    }

    /// Ascending 0-based rank of each item in its row, ties broken by original index (pairwise)
    /// or by the backend's sort (`Sort`).
    pub fn ranks(&self, values: Tensor<B, 2>) -> Tensor<B, 2, Int> {
        let [batch, n] = values.dims();
        assert_eq!(
            n,
            self.plan.n(),
            "RankWeightedValue was planned for N = {} samples per row, got rows of {n}",
            self.plan.n()
        );
        match self.method {
            RankMethod::Sort => {
                let order = sortable(values).argsort(1);
                let positions = Tensor::<B, 1, Int>::arange(0..n as i64, &order.device())
                    .reshape([1, n])
                    .expand([batch, n]);
                // ranks is the inverse permutation of order: ranks[order[m]] = m.
                Tensor::<B, 2, Int>::zeros([batch, n], &order.device()).scatter(
                    1,
                    order,
                    positions,
                    burn::tensor::IndexingUpdateOp::Add,
                )
            }
            _ => {
                let values = values.detach();
                let shape = [batch, n, n];
                // [b, i, j]: item i against item j.
                let item = values.clone().unsqueeze_dim::<3>(2).expand(shape);
                let other = values.unsqueeze_dim::<3>(1).expand(shape);
                let below = other.clone().lower(item.clone()).float();
                let tied_earlier =
                    other.equal(item).float() * self.earlier_item.clone().expand(shape);
                (below + tied_earlier).sum_dim(2).reshape([batch, n]).int()
            }
        }
    }
}

/// Detached values with NaN replaced by +inf, so that no NaN reaches a sort.
fn sortable<B: Backend>(values: Tensor<B, 2>) -> Tensor<B, 2> {
    let values = values.detach();
    let nan = values.clone().is_nan();
    values.mask_fill(nan, f32::INFINITY)
}
