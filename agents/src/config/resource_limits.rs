//! How much memory and work one command may ask for. A size typed by mistake (hidden_size =
//! 70000, --n 1000000000) must be refused with a message before anything is allocated, not end
//! in an allocation abort or an hour of computing.

use ordergrad_core::{Objective, RankPlan};

/// Raises or lowers the memory limit, in GiB (a positive number; fractions allowed).
pub const MAX_MEMORY_ENV: &str = "ORDERGRAD_MAX_MEMORY_GIB";

/// Where /proc/meminfo is not there to say.
const FALLBACK_MEMORY_GIB: f64 = 16.0;

/// Binomial terms a rank plan may sum (one `exp` each, about 10 ns): a few seconds of work.
pub const MAX_RANK_TERMS: u64 = 250_000_000;

const GIB: f64 = (1u64 << 30) as f64;

/// The memory one command may plan to use, and where that number came from (for messages).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryBudget {
    pub bytes: f64,
    pub source: String,
}

impl MemoryBudget {
    pub fn new(gib: f64, source: impl Into<String>) -> Self {
        Self {
            bytes: gib * GIB,
            source: source.into(),
        }
    }

    /// `ORDERGRAD_MAX_MEMORY_GIB` if set, else this machine's memory (MemTotal), else 16 GiB.
    pub fn current() -> Result<Self, String> {
        match std::env::var(MAX_MEMORY_ENV) {
            Ok(text) => Self::from_setting(&text),
            Err(std::env::VarError::NotPresent) => Ok(match machine_memory_gib() {
                Some(gib) => Self::new(
                    gib,
                    format!("this machine's memory; set {MAX_MEMORY_ENV} to change the limit"),
                ),
                None => Self::new(
                    FALLBACK_MEMORY_GIB,
                    format!("a default; set {MAX_MEMORY_ENV} to change the limit"),
                ),
            }),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(format!("{MAX_MEMORY_ENV} is not valid text"))
            }
        }
    }

    fn from_setting(text: &str) -> Result<Self, String> {
        match text.trim().parse::<f64>() {
            Ok(gib) if gib.is_finite() && gib > 0.0 && gib <= 1e9 => Ok(Self::new(
                gib,
                format!("{MAX_MEMORY_ENV} = {}", text.trim()),
            )),
            _ => Err(format!(
                "{MAX_MEMORY_ENV} = {text:?} is not accepted: expected a number of GiB in (0, 1e9], e.g. 8 or 0.5"
            )),
        }
    }

    /// "at most 23.0 GiB is accepted (this machine's memory; ...)".
    pub fn describe_limit(&self) -> String {
        format!(
            "at most {} is accepted ({})",
            format_bytes(self.bytes),
            self.source
        )
    }
}

/// MemTotal of /proc/meminfo, in GiB.
fn machine_memory_gib() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    (kib > 0.0).then_some(kib * 1024.0 / GIB)
}

/// "59.3 GiB", "512.0 MiB", "3.0 KiB": one decimal, binary units.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit + 1 == UNITS.len() && value >= 1024.0 {
        return format!("{bytes:.1e} B");
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Checks that `RankPlan::new(objective, n, k)` fits `budget` and [`MAX_RANK_TERMS`], before it
/// allocates anything. `what` names the inputs for the message, e.g. "--n 1000000000 with --k 3".
/// Errors with a message saying what it would need and what is accepted; an objective that does
/// not fit K is left for `RankPlan::new` to report.
pub fn check_rank_plan(
    what: &str,
    objective: &Objective,
    n: usize,
    k: usize,
    budget: &MemoryBudget,
) -> Result<(), String> {
    let Ok(cost) = RankPlan::cost(objective, n, k) else {
        return Ok(());
    };
    if cost.bytes as f64 > budget.bytes {
        return Err(format!(
            "{what} needs about {} for the rank weights; {}",
            format_bytes(cost.bytes as f64),
            budget.describe_limit()
        ));
    }
    if cost.terms > MAX_RANK_TERMS {
        return Err(format!(
            "{what} needs {:.1e} binomial terms for the rank weights of objective {objective} \
             (group size times its nonzero weights); at most {MAX_RANK_TERMS:.1e} are accepted \
             (a few seconds of work): use a smaller group size or comparison size",
            cost.terms as f64,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_setting_is_a_positive_number_of_gib() {
        let budget = MemoryBudget::from_setting(" 0.5 ").unwrap();
        assert_eq!(budget.bytes, 512.0 * 1024.0 * 1024.0);
        assert!(budget.describe_limit().contains("512.0 MiB"));
        for text in ["", "x", "0", "-1", "inf", "nan", "1e300"] {
            let error = MemoryBudget::from_setting(text).unwrap_err();
            assert!(error.contains(MAX_MEMORY_ENV), "{error}");
        }
    }

    #[test]
    fn bytes_print_in_binary_units() {
        assert_eq!(format_bytes(0.0), "0.0 B");
        assert_eq!(format_bytes(1536.0), "1.5 KiB");
        assert_eq!(format_bytes(59.0 * GIB), "59.0 GiB");
        assert!(format_bytes(1e40).ends_with(" B"), "{}", format_bytes(1e40));
    }

    #[test]
    fn absurd_rank_plans_are_refused_before_they_are_built() {
        let budget = MemoryBudget::new(4.0, "a test");
        let error = check_rank_plan("--n 1000000000", &Objective::Max, 1_000_000_000, 3, &budget)
            .unwrap_err();
        assert!(
            error.contains("--n 1000000000") && error.contains("GiB"),
            "{error}"
        );
        let error =
            check_rank_plan("--n 100000", &Objective::Mean, 100_000, 50_000, &budget).unwrap_err();
        assert!(error.contains("binomial terms"), "{error}");
        check_rank_plan("x", &Objective::Median, 1_000_000, 999_999, &budget).unwrap();
        // Errors of the objective itself are RankPlan::new's to report.
        check_rank_plan("x", &Objective::Top(5), 10, 3, &budget).unwrap();
    }
}
