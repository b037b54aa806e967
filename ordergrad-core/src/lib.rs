//! Order-statistic (L-statistic) objectives for policy optimisation.
//!
//! An objective is a weight vector alpha over the K order statistics of K i.i.d. draws
//! ([`Objective`]: mean, max, cvar:0.1, top:2, ...). For groups of N samples, a [`RankPlan`]
//! precomputes the rank weights (the unbiased batch value) and the coefficients of the
//! likelihood-ratio form ([`RankPlan::advantages`], O(N log N) per group). The pathwise form is a
//! Burn layer, [`RankWeightedValue`], generic over the backend. The maths, with test vectors, is
//! in `docs/math.md`.

mod advantages;
mod combinatorics;
mod error;
mod layer;
mod objective;
mod plan;

pub use advantages::{GroupAdvantages, Scratch};
pub use error::{OrderGradError, Result};
pub use layer::{RankMethod, RankWeightedValue};
pub use objective::Objective;
pub use plan::{PlanCost, RankPlan};
