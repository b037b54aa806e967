use thiserror::Error;

/// Everything that can be wrong with an OrderGrad request. Each message names the offending value
/// and says what is accepted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OrderGradError {
    #[error(
        "cannot parse objective '{input}': {reason}. Accepted forms: mean, max, min, top:M, \
         bottom:M, cvar:BETA, var:BETA, median, trim:T, custom:A1,A2,...,AK \
         (M, T integers; BETA in (0, 1]; custom weights ascending by rank, one per comparison slot)"
    )]
    InvalidObjective { input: String, reason: String },

    #[error("comparison size K = {k} is out of range: K must satisfy 1 <= K <= N (N = {n})")]
    InvalidComparisonSize { n: usize, k: usize },

    #[error(
        "the likelihood-ratio form needs a leave-one-out baseline, so K <= N - 1; got K = {k}, N = {n}"
    )]
    NoLeaveOneOut { n: usize, k: usize },

    #[error("objective '{objective}' does not fit K = {k}: {reason}")]
    ObjectiveDoesNotFitK {
        objective: String,
        k: usize,
        reason: String,
    },

    #[error("group size N = {n} is too small: at least {min} samples are needed")]
    GroupTooSmall { n: usize, min: usize },

    #[error(
        "group {group} has a non-finite reward {value} at position {index}; rewards must be finite"
    )]
    NonFiniteReward {
        group: usize,
        index: usize,
        value: f64,
    },

    #[error(
        "rewards have length {len}, which is not a whole number of groups of N = {n} (expected a multiple of {n})"
    )]
    RaggedGroups { len: usize, n: usize },

    #[error("output buffer has length {got}, expected {expected}")]
    OutputLength { got: usize, expected: usize },
}

pub type Result<T> = std::result::Result<T, OrderGradError>;
