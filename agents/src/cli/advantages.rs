use std::io::Read;

use anyhow::Context;
use clap::Args;
use ordergrad_core::{Objective, RankPlan};
use serde::Serialize;

use super::BadInput;
use crate::config::resource_limits::{MemoryBudget, check_rank_plan};

#[derive(Debug, Args)]
pub struct AdvantagesArgs {
    /// Objective: mean, max, min, top:M, bottom:M, cvar:BETA, var:BETA, median, trim:T, or
    /// custom:A1,...,AK (weights ascending by rank).
    #[arg(long)]
    objective: String,
    /// Comparison size K (1 <= K <= N - 1, N being the number of rewards).
    #[arg(long)]
    k: usize,
    /// Comma-separated rewards of one group, e.g. 0.3,1.2,-0.5. Without it, a JSON array of
    /// numbers is read from standard input.
    #[arg(long, allow_hyphen_values = true)]
    rewards: Option<String>,
}

#[derive(Serialize)]
struct AdvantagesOutput<'a> {
    value: f64,
    advantages: Vec<f64>,
    rank_weights: &'a [f64],
}

pub fn run(args: &AdvantagesArgs) -> anyhow::Result<()> {
    let objective: Objective = args.objective.parse()?;
    let rewards = match &args.rewards {
        Some(list) => parse_reward_list(list)?,
        None => read_reward_array(std::io::stdin())?,
    };
    let budget = MemoryBudget::current().map_err(BadInput)?;
    check_rank_plan(
        &format!("{} rewards with --k {}", rewards.len(), args.k),
        &objective,
        rewards.len(),
        args.k,
        &budget,
    )
    .map_err(BadInput)?;
    let plan = RankPlan::new(&objective, rewards.len(), args.k)?;
    let group = plan.advantages(&rewards)?;
    super::print_json(&AdvantagesOutput {
        value: group.value,
        advantages: group.advantages,
        rank_weights: plan.rank_weights(),
    })
}

fn parse_reward_list(list: &str) -> anyhow::Result<Vec<f64>> {
    list.split(',')
        .enumerate()
        .map(|(index, part)| {
            part.trim().parse::<f64>().map_err(|_| {
                BadInput(format!(
                    "--rewards: item {index} ('{}') is not a number; expected comma-separated numbers such as 0.3,1.2,-0.5",
                    part.trim()
                ))
                .into()
            })
        })
        .collect()
}

fn read_reward_array(mut input: impl Read) -> anyhow::Result<Vec<f64>> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .context("reading rewards from standard input")?;
    serde_json::from_str(&text).map_err(|error| {
        BadInput(format!(
            "standard input is not a JSON array of numbers ({error}); pass --rewards r1,r2,... or pipe e.g. [0.3, 1.2, -0.5]"
        ))
        .into()
    })
}
