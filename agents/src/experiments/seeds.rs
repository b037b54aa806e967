//! `--seeds 1-5`, `--seeds 1,3,7` or both (`1-3,8`): the seeds every grid point trains with.

use super::SweepError;

/// The seeds named by `text`, in the order written. A reversed range (`5-1`), an empty list and
/// a repeated seed are errors: each would silently change how many seeds a result averages.
/// Seeds one sweep may list: more is a typo (1-1000000000), not an experiment.
pub const MAX_SEEDS: u64 = 10_000;

pub fn parse_seeds(text: &str) -> Result<Vec<u64>, SweepError> {
    let fail = |reason: String| SweepError::Seeds {
        text: text.to_string(),
        reason,
    };
    // A seed becomes the config's `seed`, a TOML integer.
    let number = |part: &str| -> Result<u64, SweepError> {
        part.trim()
            .parse::<u64>()
            .ok()
            .filter(|seed| *seed <= i64::MAX as u64)
            .ok_or_else(|| {
                fail(format!(
                    "'{}' is not an integer from 0 to {}",
                    part.trim(),
                    i64::MAX
                ))
            })
    };
    let mut seeds = Vec::new();
    for part in text.split(',') {
        if part.trim().is_empty() {
            return Err(fail("empty seed list or empty item".into()));
        }
        match part.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (number(low)?, number(high)?);
                if low > high {
                    return Err(fail(format!(
                        "the range {low}-{high} is empty (write the low end first, e.g. {high}-{low})"
                    )));
                }
                if high - low >= MAX_SEEDS - seeds.len().min(MAX_SEEDS as usize) as u64 {
                    return Err(fail(format!(
                        "more than {MAX_SEEDS} seeds (the range {low}-{high} alone has {})",
                        u128::from(high - low) + 1
                    )));
                }
                seeds.extend(low..=high);
            }
            None => seeds.push(number(part)?),
        }
        if seeds.len() as u64 > MAX_SEEDS {
            return Err(fail(format!("more than {MAX_SEEDS} seeds")));
        }
    }
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(fail(format!("seed {} is listed twice", pair[0])));
    }
    Ok(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_ranges_and_seeds_beyond_toml_are_refused() {
        for text in ["1-9223372036854775807", "1-1000000000", "0-10000"] {
            let message = parse_seeds(text).unwrap_err().to_string();
            assert!(
                message.contains("more than 10000 seeds"),
                "{text}: {message}"
            );
        }
        let message = parse_seeds("1-18446744073709551615")
            .unwrap_err()
            .to_string();
        assert!(message.contains("9223372036854775807"), "{message}");
        assert_eq!(parse_seeds("1-10000").unwrap().len(), 10_000);
        assert!(parse_seeds("1-10000,20000").is_err());
    }

    #[test]
    fn ranges_and_lists_give_seeds_in_written_order() {
        assert_eq!(parse_seeds("1-5").unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(parse_seeds("1,3,7").unwrap(), vec![1, 3, 7]);
        assert_eq!(parse_seeds(" 8, 1-2 ").unwrap(), vec![8, 1, 2]);
        assert_eq!(parse_seeds("4-4").unwrap(), vec![4]);
    }

    #[test]
    fn empty_reversed_repeated_and_garbled_seeds_are_errors_naming_the_input() {
        for (text, says) in [
            ("", "empty"),
            ("5-1", "the range 5-1 is empty"),
            ("1,,2", "empty"),
            ("1-3,2", "seed 2 is listed twice"),
            ("a-3", "'a' is not"),
            ("-1", "'' is not"),
            ("1-2-3", "'2-3' is not"),
        ] {
            let error = parse_seeds(text).unwrap_err().to_string();
            assert!(error.contains(says), "{text:?}: {error}");
            assert!(error.contains("1-5"), "says what is accepted: {error}");
        }
    }
}
