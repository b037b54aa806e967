//! Binomial coefficients as logarithms, so that ratios such as C(m-1, j-1) C(N-m, K-j) / C(N, K)
//! stay finite and accurate at N in the thousands (C(1024, 512) is about 1e307).

/// A table of ln(n!) for n = 0..=max.
pub(crate) struct LogFactorials {
    table: Vec<f64>,
}

impl LogFactorials {
    pub(crate) fn new(max: usize) -> Self {
        // Neumaier-compensated running sum: the table's error stays near one rounding of its
        // entries instead of growing with n, which keeps the weights exact to ~1e-12 at N = 1024.
        let mut table = Vec::with_capacity(max + 1);
        table.push(0.0);
        let (mut sum, mut compensation) = (0.0f64, 0.0f64);
        for n in 1..=max {
            let term = (n as f64).ln();
            let next = sum + term;
            compensation += if sum.abs() >= term.abs() {
                (sum - next) + term
            } else {
                (term - next) + sum
            };
            sum = next;
            table.push(sum + compensation);
        }
        Self { table }
    }

    /// ln C(n, k), or -inf where C(n, k) = 0 (k < 0, k > n or n < 0).
    pub(crate) fn ln_choose(&self, n: i64, k: i64) -> f64 {
        if n < 0 || k < 0 || k > n {
            return f64::NEG_INFINITY;
        }
        let (n, k) = (n as usize, k as usize);
        self.table[n] - self.table[k] - self.table[n - k]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_binomials_are_exact_after_exponentiation() {
        let table = LogFactorials::new(30);
        assert_eq!(table.ln_choose(8, 4).exp().round(), 70.0);
        assert_eq!(table.ln_choose(30, 15).exp().round(), 155_117_520.0);
        assert_eq!(table.ln_choose(5, 0), 0.0);
        assert_eq!(table.ln_choose(3, 4), f64::NEG_INFINITY);
        assert_eq!(table.ln_choose(-1, 0), f64::NEG_INFINITY);
        assert_eq!(table.ln_choose(3, -1), f64::NEG_INFINITY);
    }

    #[test]
    fn large_binomial_ratio_matches_its_product_form() {
        // C(1023, 511) / C(1024, 512) = 512 / 1024 exactly.
        let table = LogFactorials::new(1024);
        let ratio = (table.ln_choose(1023, 511) - table.ln_choose(1024, 512)).exp();
        assert!((ratio - 0.5).abs() < 1e-12, "{ratio}");
    }
}
