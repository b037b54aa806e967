use clap::Args;
use ordergrad_core::{Objective, RankPlan};
use serde::Serialize;

use super::BadInput;
use crate::config::resource_limits::{MemoryBudget, check_rank_plan};

#[derive(Debug, Args)]
pub struct WeightsArgs {
    /// Objective: mean, max, min, top:M, bottom:M, cvar:BETA, var:BETA, median, trim:T, or
    /// custom:A1,...,AK (weights ascending by rank).
    #[arg(long)]
    objective: String,
    /// Group size N.
    #[arg(long)]
    n: usize,
    /// Comparison size K (1 <= K <= N).
    #[arg(long)]
    k: usize,
}

#[derive(Serialize)]
struct WeightsOutput<'a> {
    objective: String,
    n: usize,
    k: usize,
    rank_weights: &'a [f64],
}

pub fn run(args: &WeightsArgs) -> anyhow::Result<()> {
    let objective: Objective = args.objective.parse()?;
    let budget = MemoryBudget::current().map_err(BadInput)?;
    check_rank_plan(
        &format!("--n {} with --k {}", args.n, args.k),
        &objective,
        args.n,
        args.k,
        &budget,
    )
    .map_err(BadInput)?;
    let plan = RankPlan::new(&objective, args.n, args.k)?;
    super::print_json(&WeightsOutput {
        objective: objective.to_string(),
        n: plan.n(),
        k: plan.k(),
        rank_weights: plan.rank_weights(),
    })
}
