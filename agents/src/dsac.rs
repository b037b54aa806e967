//! Distributional SAC with an L-statistic actor (docs/math.md section 5, "SAC with a risk objective").
//! Twin quantile critics estimate N quantiles of the return Z(s, a); the actor maximises the
//! rank-weighted value of those N return samples at (s, a(theta)) for the configured objective
//! (`cvar:0.1` protects the lower tail, `mean` is SAC), through the OrderGrad layer, plus SAC's
//! entropy term with automatic tuning. Risk here is over the environment's randomness (the
//! return distribution), not over the policy's action noise (ReMAC) or over episode groups (PPO).
//!
//! Everything else is CleanRL's SAC: same networks (the critics' last layer has N outputs),
//! replay, delayed actor updates, Polyak targets and truncation bootstrapping. The critic target
//! takes, atom by atom, the smaller of the two target critics at one next action
//! (clipped double Q applied to quantiles), minus alpha log pi(a'|s').
//!
//! With `dsac.critic = "cvar-regression"` the critics have heads instead of atoms, the mean,
//! VaR and CVaR of one step's target with the next state at its mean
//! (`common::cvar_regression`), and the actor ascends the CVaR of min(C1, C2).

use std::path::Path;

use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use ordergrad_core::{Objective, RankMethod, RankPlan, RankWeightedValue};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::common::adam::TORCH_ADAM_EPSILON;
use crate::common::critic::{CriticFit, bootstrapped, record_fits};
use crate::common::cvar_regression;
use crate::common::entropy::{EntropyTuning, check_target_entropy, target_entropy};
use crate::common::host;
use crate::common::nets::{ActionBounds, GaussianActor, TwinQ};
use crate::common::off_policy::{
    ActorStep, OffPolicyAgent, OffPolicyConfig, OffPolicyCore, Spaces,
};
use crate::common::quantile::{QuantileGrid, quantile_huber_loss, weighted_quantile_huber_loss};
use crate::common::replay::Batch;
use crate::common::update_metrics::Metrics;
use crate::config::objective_setting::ObjectiveSetting;
use crate::config::setting_checks::{Accepted, check_number, rank_plan_setting};
use crate::config::{ConfigError, invalid};
use crate::sac::{sampled_next_values, soft_target};

/// Distributional SAC's [dsac] table: the off-policy settings
/// ([`crate::common::off_policy::OffPolicySettings`], CleanRL's SAC defaults) and its own.
pub type DsacConfig = OffPolicyConfig<DsacSettings>;

/// Distributional SAC's own settings: the return objective, the quantile critic, and SAC's
/// entropy coefficient.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DsacSettings {
    /// Objective over the critic's return distribution: mean (SAC), cvar:BETA (risk-averse),
    /// top:M, median, ... (any ordergrad-core preset).
    pub objective: ObjectiveSetting,
    /// Quantiles N each critic estimates; the objective's weights apply to these N samples.
    pub num_quantiles: usize,
    /// Threshold of the quantile Huber loss.
    pub huber_kappa: f64,
    /// Entropy coefficient when `autotune` is off; its starting value is 1 when on.
    pub alpha: f64,
    /// Tune alpha automatically towards the target entropy.
    pub autotune: bool,
    /// The entropy `autotune` aims at, in nats; absent: -|A| (CleanRL; SB3's "auto"). See
    /// [`crate::common::entropy::target_entropy`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_entropy: Option<f64>,
    /// Risk schedule for a `cvar:BETA` objective: the actor's CVaR level falls linearly from 1
    /// (the mean) at step 0 to BETA at this step, and stays there. 0 (the default) starts at BETA.
    /// A CVaR actor from the start tends to stall before it has seen where the returns are (it
    /// weights only the worst outcomes, and is blind to the successes that would lead it out).
    pub risk_schedule_steps: u64,
    /// Optimise the CVaR of the return from the start (static CVaR) instead of the CVaR of the
    /// return from each state: the observation carries the remaining risk budget c
    /// (`envs::wrappers::RiskBudget`) and the actor minimises the shortfall
    /// E[(c - Z(s, c, a))^+] / BETA. Needs `objective = "cvar:BETA"`. Evaluation starts every
    /// episode at the budget b that maximises the critic's b - E[(b - Z)^+] / BETA at the start.
    pub static_cvar: bool,
    /// [low, high]: the budgets a static-CVaR agent learns for, in the units of the return its
    /// critic learns (discounted, and shaped where `shaping` is on). Training episodes start at a
    /// budget drawn from this range, and every replayed transition is relabelled with one; it
    /// should cover the returns from the start.
    pub budget_range: [f64; 2],
    /// Atoms given to the lower tail: `tail_atoms` of the N atoms cover the levels
    /// (0, `tail_level`] evenly and the rest cover (`tail_level`, 1]. 0 (the default): N equal
    /// atoms. A risk that strikes with chance h per step is invisible to a quantile critic whose
    /// atoms below the CVaR level are wider than 2h (`common::quantile`): tail_atoms >
    /// tail_level / (2h) lets it see. Needs `objective` mean or cvar:BETA, whose values over
    /// atoms of unequal mass are known, and no static CVaR.
    pub tail_atoms: usize,
    /// The level up to which `tail_atoms` atoms are spread: the CVaR level it serves.
    pub tail_level: f64,
    /// Apply the objective step by step (a nested, time-consistent risk measure) instead of
    /// to the whole return from each state: every target atom is the one-step target of
    /// `Dsac::nested_target`, so Z(s, a) learns the spread of one step's outcome followed by
    /// the objective's value of the next state, and a cvar:BETA actor pays a risky step's whole
    /// tail where it is taken. The per-state CVaR of the return hides that step's tail among
    /// the later ones as long as the policy takes them anyway, so a policy that takes a risk
    /// everywhere is a fixed point of its gradient, not of the nested CVaR's. Not with
    /// `static_cvar`. On RiskyCar-v0 and RiskyCrossing-v0 it has so far stopped the agents
    /// from moving (docs/results-risk.md).
    pub nested_risk: bool,
    /// With `nested_risk`, how the next state is valued in the target: "objective" (the
    /// default: the objective of the next atoms, the nested measure) or "mean" (their mean:
    /// the actor prices each step's own risk with the objective and the future after it at its
    /// mean, so a critic's spread is never taken as risk twice).
    pub nested_continuation: NestedContinuation,
    /// With `nested_risk`, the next action at which the target values the next state:
    /// "sampled" (the default: the average over [`NESTED_NEXT_ACTIONS`] draws a' ~ pi, less
    /// alpha log pi, the soft value of the stochastic policy) or "deterministic" (the policy's
    /// deterministic action, no entropy term: the value of the policy that evaluation runs).
    /// With the future at its mean, a stochastic policy that might take a risky step at some
    /// later draw makes putting it off look as good as taking it at its mean price, so a
    /// deterministic policy that always puts it off can be a fixed point (tried on the
    /// crossing's timeouts, which it did not change: docs/results-risk.md).
    pub nested_next_action: NestedNextAction,
    /// What the critics estimate: "quantile" (the default: `num_quantiles` atoms of the
    /// distribution, quantile Huber loss) or "cvar-regression" (heads: the mean, the VaR
    /// and the CVaR of the one-step target, fitted by Rockafellar and Uryasev's formula; see
    /// `common::cvar_regression`; `num_quantiles` is then unused). "cvar-regression" needs a
    /// cvar:BETA objective, `nested_risk` and `nested_continuation = "mean"`: its target is one
    /// step's outcome with the next state at its mean, whose CVaR that formula gives.
    pub critic: CriticKind,
    /// With `critic = "cvar-regression"`, where its CVaR bound b - E[(b - Y)^+] / beta is
    /// fitted: "var" (the default: at the VaR head) or "var-and-mean" (also at the mean head,
    /// the CVaR the larger of the two bounds; the VaR head's error lowers the bound to first
    /// order where Y is a single value, as on a safe action next to a risky one, see
    /// `common::cvar_regression`).
    pub cvar_thresholds: cvar_regression::Thresholds,
}

/// What a DSAC critic estimates (`dsac.critic`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriticKind {
    /// `num_quantiles` quantile atoms of the return (or of the nested target).
    #[default]
    Quantile,
    /// The mean, VaR and CVaR of the one-step target, by Rockafellar and Uryasev's formula.
    CvarRegression,
}

/// Which next action a nested target values the next state at (`dsac.nested_next_action`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NestedNextAction {
    /// Draws from the policy, with the entropy term: SAC's soft value.
    #[default]
    Sampled,
    /// The policy's deterministic action, without it.
    Deterministic,
}

/// How a nested target values the next state (`dsac.nested_continuation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NestedContinuation {
    /// The objective of the next state's atoms: the nested risk measure.
    #[default]
    Objective,
    /// Their mean: one step's risk under the objective, the rest at its expectation.
    Mean,
}

impl Default for DsacSettings {
    fn default() -> Self {
        let sac = crate::sac::SacSettings::default();
        Self {
            objective: Objective::Mean.into(),
            num_quantiles: 25,
            huber_kappa: 1.0,
            alpha: sac.alpha,
            autotune: sac.autotune,
            target_entropy: sac.target_entropy,
            risk_schedule_steps: 0,
            static_cvar: false,
            budget_range: [-100.0, 100.0],
            tail_atoms: 0,
            tail_level: 0.1,
            nested_risk: false,
            nested_continuation: NestedContinuation::Objective,
            nested_next_action: NestedNextAction::Sampled,
            critic: CriticKind::Quantile,
            cvar_thresholds: cvar_regression::Thresholds::Var,
        }
    }
}

impl DsacConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.shared.validate("dsac")?;
        if self.shared.n_step > 1 && self.agent.static_cvar {
            return Err(invalid(
                "dsac.n_step",
                format!(
                    "{} does not combine with dsac.static_cvar: its budget moves one step at a \
                     time ((c - r) / gamma); set dsac.n_step = 1 or dsac.static_cvar = false",
                    self.shared.n_step
                ),
            ));
        }
        self.agent.validate()
    }
}

impl DsacSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.num_quantiles < 2 {
            return Err(invalid(
                "dsac.num_quantiles",
                format!(
                    "{} must be at least 2 (1 quantile is no distribution)",
                    self.num_quantiles
                ),
            ));
        }
        check_number("dsac.huber_kappa", self.huber_kappa, Accepted::Positive)?;
        check_number("dsac.alpha", self.alpha, Accepted::NonNegative)?;
        check_target_entropy("dsac", self.target_entropy, self.autotune)?;
        if self.risk_schedule_steps > 0 && !matches!(self.objective.objective(), Objective::Cvar(_))
        {
            return Err(invalid(
                "dsac.risk_schedule_steps",
                format!(
                    "{} anneals a cvar:BETA objective, but the objective is {}: set \
                     dsac.objective = \"cvar:BETA\" or dsac.risk_schedule_steps = 0",
                    self.risk_schedule_steps, self.objective
                ),
            ));
        }
        if self.static_cvar {
            if !matches!(self.objective.objective(), Objective::Cvar(_)) {
                return Err(invalid(
                    "dsac.static_cvar",
                    format!(
                        "true needs a cvar:BETA objective, but the objective is {}",
                        self.objective
                    ),
                ));
            }
            if self.risk_schedule_steps > 0 {
                return Err(invalid(
                    "dsac.static_cvar",
                    "true chooses its own budget; it does not combine with a risk schedule \
                     (set dsac.risk_schedule_steps = 0)"
                        .to_string(),
                ));
            }
            if self.nested_risk {
                return Err(invalid(
                    "dsac.nested_risk",
                    "true applies the objective step by step; dsac.static_cvar = true applies \
                     it to the return from the start: set one of them off"
                        .to_string(),
                ));
            }
            let [low, high] = self.budget_range;
            if !(low.is_finite() && high.is_finite() && low < high) {
                return Err(invalid(
                    "dsac.budget_range",
                    format!("[{low}, {high}] must be two finite numbers with low < high"),
                ));
            }
        }
        if !(self.tail_level > 0.0 && self.tail_level < 1.0) {
            return Err(invalid(
                "dsac.tail_level",
                format!("{} must lie strictly between 0 and 1", self.tail_level),
            ));
        }
        if self.tail_atoms > 0 {
            self.validate_tail()?;
        }
        if self.nested_continuation == NestedContinuation::Mean && !self.nested_risk {
            return Err(invalid(
                "dsac.nested_continuation",
                "\"mean\" changes the nested target only: it needs dsac.nested_risk = true"
                    .to_string(),
            ));
        }
        if self.nested_next_action == NestedNextAction::Deterministic && !self.nested_risk {
            return Err(invalid(
                "dsac.nested_next_action",
                "\"deterministic\" changes the nested target only: it needs dsac.nested_risk = true"
                    .to_string(),
            ));
        }
        if self.critic == CriticKind::CvarRegression {
            self.validate_cvar_regression()?;
        } else if self.cvar_thresholds != cvar_regression::Thresholds::Var {
            return Err(invalid(
                "dsac.cvar_thresholds",
                "\"var-and-mean\" sets where a CVaR-regression critic fits its bound: it \
                 needs dsac.critic = \"cvar-regression\""
                    .to_string(),
            ));
        }
        self.rank_plan(self.objective.objective()).map(|_| ())
    }

    fn validate_cvar_regression(&self) -> Result<(), ConfigError> {
        let refuse = |why: String| Err(invalid("dsac.critic", why));
        if !matches!(self.objective.objective(), Objective::Cvar(_)) {
            return refuse(format!(
                "\"cvar-regression\" estimates a CVaR, but the objective is {}: set \
                 dsac.objective = \"cvar:BETA\" or dsac.critic = \"quantile\"",
                self.objective
            ));
        }
        if !(self.nested_risk && self.nested_continuation == NestedContinuation::Mean) {
            return refuse(
                "\"cvar-regression\" estimates the CVaR of one step's outcome with the next \
                 state at its mean: it needs dsac.nested_risk = true and \
                 dsac.nested_continuation = \"mean\""
                    .to_string(),
            );
        }
        if self.tail_atoms > 0 {
            return refuse(format!(
                "\"cvar-regression\" has no atoms, but dsac.tail_atoms = {}: set it to 0",
                self.tail_atoms
            ));
        }
        Ok(())
    }

    fn validate_tail(&self) -> Result<(), ConfigError> {
        if self.tail_atoms >= self.num_quantiles {
            return Err(invalid(
                "dsac.tail_atoms",
                format!(
                    "{} must be below dsac.num_quantiles ({}): at least one atom covers the \
                     levels above dsac.tail_level",
                    self.tail_atoms, self.num_quantiles
                ),
            ));
        }
        if !matches!(
            self.objective.objective(),
            Objective::Mean | Objective::Cvar(_)
        ) {
            return Err(invalid(
                "dsac.tail_atoms",
                format!(
                    "{} needs objective mean or cvar:BETA (their values over atoms of unequal \
                     mass are known), but the objective is {}: set dsac.tail_atoms = 0",
                    self.tail_atoms, self.objective
                ),
            ));
        }
        if self.static_cvar {
            return Err(invalid(
                "dsac.tail_atoms",
                format!(
                    "{} does not combine with dsac.static_cvar yet (its shortfall weighs every \
                     atom alike): set one of them off",
                    self.tail_atoms
                ),
            ));
        }
        Ok(())
    }

    /// The levels of the critics' atoms and the mass each stands for.
    pub fn quantile_grid(&self) -> QuantileGrid {
        match self.tail_atoms {
            0 => QuantileGrid::uniform(self.num_quantiles),
            tail_atoms => QuantileGrid::with_tail(self.num_quantiles, tail_atoms, self.tail_level),
        }
    }

    /// The objective as weights over the N atoms: itself on equal atoms, where the L-statistic
    /// of the atoms is the objective's value; on a tail grid the mass-weighted weights of
    /// [`QuantileGrid::objective_weights`] (mean or cvar, checked by `validate`).
    fn atom_objective(&self, objective: &Objective) -> Objective {
        let grid = self.quantile_grid();
        if grid.is_uniform() {
            return objective.clone();
        }
        Objective::Custom(
            grid.objective_weights(objective)
                .expect("a tail grid serves mean or cvar:BETA (DsacSettings::validate)"),
        )
    }

    /// The CVaR level of a static-CVaR agent (None for the per-state objectives).
    pub fn static_cvar_level(&self) -> Option<f64> {
        match self.objective.objective() {
            &Objective::Cvar(beta) if self.static_cvar => Some(beta),
            _ => None,
        }
    }

    /// The objective's weights over the N atoms (K = N: the L-statistic of the atoms themselves).
    fn rank_plan(&self, objective: &Objective) -> Result<RankPlan, ConfigError> {
        rank_plan_setting(
            "dsac.num_quantiles",
            &format!("dsac.num_quantiles = {}", self.num_quantiles),
            &self.atom_objective(objective),
            self.num_quantiles,
            self.num_quantiles,
            |error| invalid("dsac.objective", error.to_string()),
        )
    }

    /// The objective the actor ascends at `step`: under a risk schedule, CVaR at the level
    /// 1 - (1 - BETA) * step / risk_schedule_steps until that step, the configured one after.
    pub fn objective_at(&self, step: u64) -> Objective {
        match self.objective.objective() {
            &Objective::Cvar(beta) if step < self.risk_schedule_steps => {
                let progress = step as f64 / self.risk_schedule_steps as f64;
                Objective::Cvar(1.0 - (1.0 - beta) * progress)
            }
            objective => objective.clone(),
        }
    }
}

/// The objective's value of the return distribution at (s, a), per state ([n]): the rank-weighted
/// sum of the N atoms of min(Z1, Z2)(s, a). Differentiable in `actions` (and the critics).
pub fn return_value<B: Backend>(
    critics: &TwinQ<B>,
    objective_value: &RankWeightedValue<B>,
    obs: Tensor<B, 2>,
    actions: Tensor<B, 2>,
) -> Tensor<B, 1> {
    objective_value.forward(critics.min(obs, actions))
}

/// The actor's loss, mean over states of alpha log pi(a|s) - value(Z(s, a)), a = a(theta) drawn
/// with `noise`; also returns log pi ([n, 1]).
pub fn actor_loss<B: Backend>(
    actor: &GaussianActor<B>,
    critics: &TwinQ<B>,
    objective_value: &RankWeightedValue<B>,
    obs: Tensor<B, 2>,
    noise: Tensor<B, 2>,
    bounds: &ActionBounds,
    alpha: f32,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    soft_actor_loss(actor, obs, noise, bounds, alpha, |obs, actions| {
        return_value(critics, objective_value, obs, actions)
    })
}

/// Mean over states of alpha log pi(a|s) - value(s, a), a = a(theta) drawn with `noise`; also
/// returns log pi ([n, 1]). A CVaR-regression actor's value is the CVaR of min(C1, C2).
fn soft_actor_loss<B: Backend>(
    actor: &GaussianActor<B>,
    obs: Tensor<B, 2>,
    noise: Tensor<B, 2>,
    bounds: &ActionBounds,
    alpha: f32,
    value: impl FnOnce(Tensor<B, 2>, Tensor<B, 2>) -> Tensor<B, 1>,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let policy = actor.sample(obs.clone(), noise, bounds);
    let value = value(obs, policy.actions);
    let loss = (policy.log_prob.clone().squeeze_dim::<1>(1) * alpha - value).mean();
    (loss, policy.log_prob)
}

/// The target critics' outputs at each next state of `batch` and the policy's deterministic
/// action there, min_i Z'_i(s', mu(s')) output by output: [n, outputs], off the autodiff graph.
fn deterministic_next_values<B: AutodiffBackend>(
    core: &OffPolicyCore<B>,
    batch: &Batch,
) -> Tensor<B::InnerBackend, 2> {
    let next_obs = core.observation_matrix(&batch.next_obs, batch.size);
    let next_actions = core
        .actor
        .valid()
        .deterministic(next_obs.clone(), core.bounds());
    core.critics.targets.min(next_obs, next_actions)
}

/// Next actions whose values a nested target averages at each next state: the nested measure
/// should price the environment's randomness (the reward's coin, the next state), not the
/// policy's own action noise, which a single sampled a' would put into the targets' spread, to
/// be taken as risk at every step and compounded over the horizon.
pub const NESTED_NEXT_ACTIONS: usize = 8;

/// The nested risk measure's next-state values ([n, 1]) from the soft next atoms
/// Z'(s', a') - alpha log pi(a'|s') of `draws` next actions per state (`next_atoms`,
/// [draws * n, N], draw-major: rows k * n .. (k + 1) * n hold draw k): the mean over the draws
/// of the objective's value of each row, E_{a'}[value(Z'(s', a')) - alpha log pi(a'|s')] (an
/// L-statistic whose weights sum to 1 commutes with adding a constant).
pub fn nested_next_value<B: Backend>(
    objective_value: &RankWeightedValue<B>,
    next_atoms: Tensor<B, 2>,
    draws: usize,
) -> Tensor<B, 2> {
    let [rows, _] = next_atoms.dims();
    let n = rows / draws;
    objective_value
        .forward(next_atoms)
        .reshape([draws, n])
        .mean_dim(0)
        .reshape([n, 1])
}

/// A static-CVaR actor's loss: mean over states of alpha log pi(a|s, c) +
/// E[(c - Z(s, c, a))^+] / beta, the atoms' shortfall below the remaining budget c (`budgets`,
/// [n, 1], the budget column as collected, before any normalisation); also returns log pi.
#[allow(clippy::too_many_arguments)]
pub fn shortfall_actor_loss<B: Backend>(
    actor: &GaussianActor<B>,
    critics: &TwinQ<B>,
    obs: Tensor<B, 2>,
    budgets: Tensor<B, 2>,
    noise: Tensor<B, 2>,
    bounds: &ActionBounds,
    alpha: f32,
    beta: f32,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let policy = actor.sample(obs.clone(), noise, bounds);
    let atoms = critics.min(obs, policy.actions);
    let [n, atom_count] = atoms.dims();
    let shortfall = (budgets.expand([n, atom_count]) - atoms)
        .clamp_min(0.0)
        .mean_dim(1)
        .squeeze_dim::<1>(1)
        / beta;
    let loss = (policy.log_prob.clone().squeeze_dim::<1>(1) * alpha + shortfall).mean();
    (loss, policy.log_prob)
}

/// The budgets a static-CVaR agent's start budget is chosen among, evenly over `budget_range`.
const START_BUDGET_CANDIDATES: usize = 201;

pub struct Dsac<B: AutodiffBackend> {
    /// Actor and twin quantile critics (N outputs each).
    core: OffPolicyCore<B>,
    /// The quantile levels of the critics' outputs.
    taus: Vec<f32>,
    /// On a tail grid, the mass of each atom: the weights of the target atoms in the critic
    /// loss, and, times N, of the logged critic values. None on equal atoms.
    atom_masses: Option<Vec<f64>>,
    /// The objective over the N atoms, as it stands at `objective_step` under a risk schedule.
    objective_value: RankWeightedValue<B>,
    objective_step: u64,
    /// A nested target's value of the next state's atoms: the objective's (None) or their
    /// mean (`dsac.nested_continuation = "mean"`).
    continuation_value: Option<RankWeightedValue<B>>,
    /// The settings the objective is rebuilt from while a risk schedule runs.
    settings: DsacSettings,
    huber_kappa: f32,
}

impl<B: AutodiffBackend> Dsac<B> {
    /// Fails where the objective does not fit `num_quantiles` (refused by
    /// `DsacConfig::validate`).
    pub fn new(
        config: DsacConfig,
        spaces: Spaces,
        device: &B::Device,
    ) -> Result<Self, ConfigError> {
        let atoms = config.agent.num_quantiles;
        let plan = config.agent.rank_plan(&config.agent.objective_at(0))?;
        let grid = config.agent.quantile_grid();
        let DsacSettings {
            huber_kappa,
            alpha,
            autotune,
            target_entropy: target_entropy_setting,
            ..
        } = config.agent;
        let target = target_entropy(target_entropy_setting, &spaces.bounds, "dsac")?;
        let entropy = EntropyTuning::new(autotune, alpha, target, TORCH_ADAM_EPSILON, device);
        Ok(Self {
            core: OffPolicyCore::new(
                config.shared,
                spaces,
                match config.agent.critic {
                    CriticKind::Quantile => atoms,
                    CriticKind::CvarRegression => config.agent.cvar_thresholds.heads(),
                },
                TORCH_ADAM_EPSILON,
                device,
            )
            .with_entropy(entropy),
            taus: grid.levels(),
            atom_masses: (!grid.is_uniform()).then(|| grid.masses()),
            objective_value: RankWeightedValue::new(plan, RankMethod::Auto, device),
            continuation_value: match config.agent.nested_continuation {
                NestedContinuation::Objective => None,
                NestedContinuation::Mean => Some(RankWeightedValue::new(
                    config.agent.rank_plan(&Objective::Mean)?,
                    RankMethod::Auto,
                    device,
                )),
            },
            objective_step: 0,
            settings: config.agent,
            huber_kappa: huber_kappa as f32,
        })
    }

    /// The critics' return atoms at (obs, action), min(Z1, Z2) atom by atom as the actor sees
    /// them, in the order of their quantile levels (a CVaR-regression critic's heads, in
    /// the order of `common::cvar_regression`).
    pub fn return_atoms(&self, obs: &[f32], action: &[f32]) -> Vec<f32> {
        let device = &self.core.device;
        let obs = self.core.observation_matrix::<B::InnerBackend>(obs, 1);
        let action = host::matrix::<B::InnerBackend>(action, 1, action.len(), device);
        host::to_vec(self.core.critics.online.valid().min(obs, action))
    }

    /// Whether the critics are CVaR-regression heads (`dsac.critic = "cvar-regression"`).
    pub fn has_cvar_heads(&self) -> bool {
        self.settings.critic == CriticKind::CvarRegression
    }

    /// A CVaR-regression critic's (mean, CVaR at [`Self::cvar_level`]) at (obs, action), each
    /// the smaller of the two critics' as the actor sees them; None for a quantile critic.
    pub fn cvar_heads(&self, obs: &[f32], action: &[f32]) -> Option<(f64, f64)> {
        if !self.has_cvar_heads() {
            return None;
        }
        let heads = self.return_atoms(obs, action);
        Some((
            f64::from(heads[cvar_regression::MEAN_HEAD]),
            f64::from(cvar_regression::cvar_of_row(&heads)),
        ))
    }

    /// The CVaR level the objective has at the current step (1 for other objectives).
    pub fn cvar_level(&self) -> f64 {
        match self.settings.objective_at(self.objective_step) {
            Objective::Cvar(level) => level,
            _ => 1.0,
        }
    }

    /// The agent as it stood after `step` steps of training: a risk schedule's objective is
    /// at that step's level (a loaded checkpoint otherwise starts the schedule over).
    pub fn at_training_step(mut self, step: u64) -> Self {
        self.follow_risk_schedule(step);
        self
    }

    /// Whether the critics learn the nested target (`dsac.nested_risk`) rather than the
    /// return's distribution.
    pub fn nested_risk(&self) -> bool {
        self.settings.nested_risk
    }

    /// The nested target of each transition of `batch`, one value per transition: what a
    /// nested run's critics learn there (`nested_target`, at the objective's current level).
    pub fn one_step_targets(&self, batch: &Batch, rng: &mut impl Rng) -> Vec<f32> {
        host::to_vec(self.nested_target(batch, rng, self.core.alpha()))
    }

    /// The levels of the critics' atoms and the mass each stands for.
    pub fn quantile_grid(&self) -> QuantileGrid {
        self.settings.quantile_grid()
    }

    /// The start budget b of a static-CVaR agent at the start observation `start` (its budget
    /// column is ignored): the b among evenly spaced candidates over `budget_range` that
    /// maximises the critic's CVaR estimate b - E[(b - Z(s, b, a))^+] / beta, a the
    /// deterministic action at (s, b). Returns (b, that estimate); None for other agents.
    pub fn start_budget(&self, start: &[f32]) -> Option<(f64, f64)> {
        let beta = self.settings.static_cvar_level()?;
        let [low, high] = self.settings.budget_range;
        let dim = start.len();
        let candidates: Vec<f64> = (0..START_BUDGET_CANDIDATES)
            .map(|i| low + (high - low) * i as f64 / (START_BUDGET_CANDIDATES - 1) as f64)
            .collect();
        let rows: Vec<f32> = candidates
            .iter()
            .flat_map(|&budget| {
                let mut row = start.to_vec();
                row[dim - 1] = budget as f32;
                row
            })
            .collect();
        let n = candidates.len();
        let obs = self.core.observation_matrix::<B::InnerBackend>(&rows, n);
        let actions = self
            .core
            .actor
            .valid()
            .deterministic(obs.clone(), self.core.bounds());
        let atoms = host::to_vec(self.core.critics.online.valid().min(obs, actions));
        let atom_count = atoms.len() / n;
        candidates
            .iter()
            .zip(atoms.chunks(atom_count))
            .map(|(&budget, atoms)| {
                let shortfall = atoms
                    .iter()
                    .map(|&atom| (budget - f64::from(atom)).max(0.0))
                    .sum::<f64>()
                    / atom_count as f64;
                (budget, budget - shortfall / beta)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// A batch whose budget columns are relabelled: each transition gets a budget c drawn
    /// uniformly from `budget_range`, and its next observation (c - r) / gamma. The budget's
    /// dynamics are known, so every stored transition teaches every budget (the one it was
    /// collected with is one of them).
    fn relabelled(&self, batch: &Batch, rng: &mut impl Rng) -> Batch {
        let [low, high] = self.settings.budget_range;
        let gamma = self.core.settings.gamma;
        let dim = self.core.spaces.obs_dim;
        let mut relabelled = batch.clone();
        for (i, &reward) in batch.rewards.iter().enumerate() {
            let budget = rng.random_range(low..high);
            relabelled.obs[i * dim + dim - 1] = budget as f32;
            relabelled.next_obs[i * dim + dim - 1] = ((budget - f64::from(reward)) / gamma) as f32;
        }
        relabelled
    }

    /// The nested risk measure's target (`dsac.nested_risk`), one per transition ([n, 1]; every
    /// atom learns the same): r + gamma (1 - terminated) E_{a' ~ pi}[value(Z'(s', a')) - alpha log pi(a'|s')], the
    /// expectation over [`NESTED_NEXT_ACTIONS`] draws of a', Z' atom by atom the smaller of the
    /// two target critics. Z(s, a) then learns the spread of one step's outcome followed by the
    /// next state's value, and the objective prices each step's risk where it is taken. value
    /// is the objective's, or the mean with `dsac.nested_continuation = "mean"`. With
    /// `dsac.nested_next_action = "deterministic"`, value(Z'(s', mu(s'))) instead of the
    /// expectation, mu the deterministic action.
    fn nested_target(&self, batch: &Batch, rng: &mut impl Rng, alpha: f32) -> Tensor<B, 2> {
        let (draws, next_atoms) = match self.settings.nested_next_action {
            NestedNextAction::Sampled => (
                NESTED_NEXT_ACTIONS,
                sampled_next_values(&self.core, batch, NESTED_NEXT_ACTIONS, rng, alpha),
            ),
            NestedNextAction::Deterministic => (1, deterministic_next_values(&self.core, batch)),
        };
        let next_value = match self.settings.critic {
            CriticKind::Quantile => {
                let continuation = self
                    .continuation_value
                    .as_ref()
                    .unwrap_or(&self.objective_value);
                nested_next_value(continuation, Tensor::from_inner(next_atoms), draws).inner()
            }
            // The mean head, less alpha log pi, averaged over the draws.
            CriticKind::CvarRegression => {
                cvar_regression::head(next_atoms, cvar_regression::MEAN_HEAD)
                    .reshape([draws, batch.size])
                    .mean_dim(0)
                    .reshape([batch.size, 1])
            }
        };
        bootstrapped::<B>(batch, next_value, self.core.settings.gamma)
    }

    /// Rebuilds the objective's weights for `step` while the risk schedule runs.
    fn follow_risk_schedule(&mut self, step: u64) {
        if step == self.objective_step || self.objective_step >= self.settings.risk_schedule_steps {
            return;
        }
        self.objective_step = step.min(self.settings.risk_schedule_steps);
        let atoms = self.settings.num_quantiles;
        let objective = self
            .settings
            .atom_objective(&self.settings.objective_at(self.objective_step));
        let plan = RankPlan::new(&objective, atoms, atoms)
            .expect("CVaR at any level in (0, 1] fits any number of atoms");
        self.objective_value = RankWeightedValue::new(plan, RankMethod::Auto, &self.core.device);
    }
}

impl<B: AutodiffBackend> OffPolicyAgent for Dsac<B> {
    type Backend = B;

    fn core(&self) -> &OffPolicyCore<B> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut OffPolicyCore<B> {
        &mut self.core
    }

    fn update(&mut self, step: u64, batch: &Batch, rng: &mut impl Rng, record: bool) -> Metrics {
        let static_cvar = self.settings.static_cvar_level();
        let relabelled;
        let batch = match static_cvar {
            Some(_) => {
                relabelled = self.relabelled(batch, rng);
                &relabelled
            }
            None => batch,
        };
        let settings = &self.core.settings;
        let (n, action_dim) = (batch.size, self.core.bounds().dim());
        let device = self.core.device.clone();
        let (obs, actions) = self.core.batch_tensors(batch);
        let mut metrics = Metrics::new(record);

        // Target atoms: SAC's soft target atom by atom, with one next action a' ~ pi(.|s'):
        // r + gamma (1 - terminated) (min_i Z'_i(s', a') - alpha log pi(a'|s')).
        // Nested (`dsac.nested_risk`): the same target in every atom, see `nested_target`.
        let alpha = self.core.alpha();
        let target_atoms = if self.settings.nested_risk {
            let targets = self.nested_target(batch, rng, alpha);
            match self.settings.critic {
                CriticKind::Quantile => targets.expand([batch.size, self.taus.len()]),
                CriticKind::CvarRegression => targets,
            }
        } else {
            soft_target(&self.core, batch, rng, alpha)
        };
        // Critic loss, one Adam step per critic: the quantile Huber loss of the atoms, or the
        // CVaR-regression heads' loss against the one-step target.
        let (kappa, taus, q_lr) = (self.huber_kappa, &self.taus, settings.q_lr);
        let target_atoms = host::to_vec(target_atoms);
        let masses = self.atom_masses.as_deref();
        let cvar_level = self.cvar_level() as f32;
        let critic_kind = self.settings.critic;
        let fits = self
            .core
            .critics
            .regress(obs.clone(), actions, q_lr, |atoms| {
                match (critic_kind, masses) {
                    (CriticKind::CvarRegression, _) => {
                        cvar_regression::loss(atoms, &target_atoms, cvar_level)
                    }
                    (CriticKind::Quantile, Some(masses)) => {
                        weighted_quantile_huber_loss(atoms, &target_atoms, masses, taus, kappa)
                    }
                    (CriticKind::Quantile, None) => {
                        quantile_huber_loss(atoms, &target_atoms, taus, kappa)
                    }
                }
            });
        // The mean of the atoms, by mass, is the critic's Q estimate: CleanRL's qf*_values
        // (weighed only on the updates that log it); a CVaR-regression critic's is its mean head.
        let fits = match masses {
            _ if critic_kind == CriticKind::CvarRegression => fits.map(|fit| CriticFit {
                values: cvar_regression::head(fit.values, cvar_regression::MEAN_HEAD),
                loss: fit.loss,
            }),
            Some(masses) if record => {
                let scaled: Vec<f32> = masses
                    .iter()
                    .map(|&mass| (mass * masses.len() as f64) as f32)
                    .collect();
                let scale = host::matrix::<B>(&scaled, 1, masses.len(), &device);
                fits.map(|fit| CriticFit {
                    values: fit.values * scale.clone(),
                    loss: fit.loss,
                })
            }
            _ => fits,
        };
        record_fits(fits, &mut metrics);

        // Actor loss: mean(alpha log pi(a|s) - value(Z(s, a))) (see `actor_loss`; the CVaR of
        // the heads for a CVaR-regression critic), or for the static CVaR the shortfall below the budget
        // (see `shortfall_actor_loss`); then alpha's own step.
        self.follow_risk_schedule(step);
        let objective_value = &self.objective_value;
        let actor_obs = obs.clone();
        let dim = self.core.spaces.obs_dim;
        let budgets = static_cvar.map(|beta| {
            let column: Vec<f32> = batch.obs.chunks(dim).map(|row| row[dim - 1]).collect();
            (host::matrix::<B>(&column, n, 1, &device), beta as f32)
        });
        self.core.update_actor(
            step,
            &obs,
            rng,
            &mut metrics,
            |ActorStep {
                 actor,
                 critics,
                 bounds,
                 alpha,
                 rng,
             }| {
                let noise = host::standard_normal(rng, n, action_dim, &device);
                match &budgets {
                    Some((budgets, beta)) => shortfall_actor_loss(
                        actor,
                        critics,
                        actor_obs.clone(),
                        budgets.clone(),
                        noise,
                        bounds,
                        alpha,
                        *beta,
                    ),
                    None if critic_kind == CriticKind::CvarRegression => soft_actor_loss(
                        actor,
                        actor_obs.clone(),
                        noise,
                        bounds,
                        alpha,
                        |obs, actions| {
                            cvar_regression::cvar(critics.min(obs, actions)).squeeze_dim::<1>(1)
                        },
                    ),
                    None => actor_loss(
                        actor,
                        critics,
                        objective_value,
                        actor_obs.clone(),
                        noise,
                        bounds,
                        alpha,
                    ),
                }
            },
        );

        self.core.update_targets(step);
        metrics.record("losses/alpha", || self.core.alpha() as f64);
        if let (true, Objective::Cvar(level)) = (
            self.settings.risk_schedule_steps > 0,
            self.settings.objective_at(self.objective_step),
        ) {
            metrics.record("losses/cvar_level", || level);
        }
        metrics
    }

    /// Each update follows the risk schedule after its critic step, so an update's critic uses
    /// the level of the step before. A resumed run starts there, as the uninterrupted run
    /// stood, not at the schedule's start.
    fn resumed_before(self, next_step: u64) -> Self {
        match next_step.checked_sub(1) {
            Some(last_update) if last_update > self.core.settings.learning_starts => {
                self.at_training_step(last_update)
            }
            _ => self,
        }
    }

    fn load(mut self, dir: &Path) -> anyhow::Result<Self> {
        self.core = self.core.load(dir)?;
        Ok(self)
    }
}
