//! Per-env random streams with Gymnasium's seeding rules.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random stream an env draws its reset states from.
///
/// Same rules as Gymnasium's `np_random`: `reset(seed=s)` restarts the stream from `s`,
/// `reset()` continues it, and an env that was never seeded seeds itself from OS entropy.
/// The stream is ChaCha8, not NumPy's PCG64: parity tests inject Gymnasium's reset state
/// instead of reproducing its draws.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResetRng {
    rng: Option<ChaCha8Rng>,
}

impl ResetRng {
    /// The stream to draw this reset's state from, reseeded first if `seed` is given.
    pub(crate) fn for_reset(&mut self, seed: Option<u64>) -> &mut ChaCha8Rng {
        match seed {
            Some(seed) => self.rng.insert(ChaCha8Rng::seed_from_u64(seed)),
            None => self.rng.get_or_insert_with(ChaCha8Rng::from_os_rng),
        }
    }
}

/// NumPy's `Generator.uniform(low, high)`: `low + (high - low) * U[0, 1)`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, low: f64, high: f64) -> f64 {
    use rand::Rng;
    low + (high - low) * rng.random::<f64>()
}

/// A standard normal draw (Box-Muller), for NumPy's `standard_normal` in reset noise and for
/// sampling unbounded spaces; avoids a `rand_distr` dependency.
pub(crate) fn standard_normal(rng: &mut impl rand::Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1], so the log is finite
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
