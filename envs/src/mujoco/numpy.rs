//! NumPy's arithmetic where Gymnasium's reward code relies on it, reproduced to the last bit.
//!
//! - `np.sum` of a float array is a pairwise sum (`pairwise_sum` in NumPy's `loops_utils.h`):
//!   below 8 elements a plain loop, up to 128 eight interleaved accumulators, above that halves.
//! - Under NumPy 2's promotion rules (NEP 50) a Python float times a float32 value stays float32,
//!   so `ctrl_cost_weight * np.sum(np.square(action))` on a float32 action is float32 throughout.
//! - `x ** 2` on a NumPy float64 scalar calls the C library's `pow`, which is not always `x * x`
//!   (glibc's `pow(x, 2.0)` is off by one ulp for about 1 in 1,000 arguments).
//! - `np.einsum('b,bj->j', m, x)` accumulates `m[b] * x[b, j]` in order of `b`.
//! - `np.linalg.norm` of a short float64 vector is `sqrt(x0 * x0 + x1 * x1 + ...)`, in order.
//!
//! All of this was checked against NumPy 2.4.6 on x86-64 (the fixtures' platform).

use std::ops::Add;

/// NumPy's `pairwise_sum` (the reduction behind `np.sum` and `np.add.reduce`) for a contiguous
/// array, in the element type `T`.
pub(crate) fn pairwise_sum<T: Copy + Add<Output = T> + Default>(values: &[T]) -> T {
    const BLOCK: usize = 128;
    let n = values.len();
    if n < 8 {
        // NumPy starts this loop from 0 (`res = 0.`); 0 + x is exact, so starting from the
        // default is the same.
        return values.iter().fold(T::default(), |sum, &x| sum + x);
    }
    if n <= BLOCK {
        let mut accumulators: [T; 8] = values[..8].try_into().expect("8 values");
        let unrolled_end = n - n % 8;
        for chunk in values[8..unrolled_end].chunks_exact(8) {
            for (accumulator, &x) in accumulators.iter_mut().zip(chunk) {
                *accumulator = *accumulator + x;
            }
        }
        let [r0, r1, r2, r3, r4, r5, r6, r7] = accumulators;
        let mut sum = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
        for &x in &values[unrolled_end..] {
            sum = sum + x;
        }
        return sum;
    }
    let half = n / 2;
    let half = half - half % 8;
    pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
}

/// `np.sum(np.square(x))` for a float64 array.
pub(crate) fn sum_of_squares(values: impl IntoIterator<Item = f64>) -> f64 {
    let squares: Vec<f64> = values.into_iter().map(|x| x * x).collect();
    pairwise_sum(&squares)
}

/// Gymnasium's `weight * np.sum(np.square(action))` for a float32 action: float32 throughout
/// (the Python float weight is rounded to float32 first), widened exactly at the end.
pub(crate) fn float32_control_cost(weight: f64, action: &[f32]) -> f64 {
    let squares: Vec<f32> = action.iter().map(|&a| a * a).collect();
    f64::from(weight as f32 * pairwise_sum(&squares))
}

/// `x ** 2` for a NumPy float64 scalar: the C library's `pow(x, 2.0)`. The exponent goes through
/// `black_box` because the compiler would otherwise rewrite `pow(x, 2.0)` as `x * x`.
pub(crate) fn numpy_square(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// `np.linalg.norm(x)` of a short float64 vector: the square root of the in-order dot product.
pub(crate) fn norm(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |sum, &x| sum + x * x).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums whose value depends on the order of the additions, with expected values computed
    /// by NumPy 2.4.6 (`np.sum(np.array(values, dtype))`).
    #[test]
    fn pairwise_sum_follows_numpys_order() {
        // Below 8: in order. (1e16 + 1) + 1 loses both ones; NumPy does too.
        assert_eq!(pairwise_sum(&[1e16, 1.0, 1.0]), 1e16);
        // 8 to 128: eight accumulators. With 1e16 and -1e16 both in the first one, NumPy gets
        // 14 (the ones survive in the other seven); in order the first seven ones vanish.
        let mut values = [1.0; 16];
        values[0] = 1e16;
        values[8] = -1e16;
        assert_eq!(pairwise_sum(&values), 14.0);
        assert_eq!(values.iter().sum::<f64>(), 7.0);
    }

    #[test]
    fn pairwise_sum_splits_long_arrays_in_multiples_of_8() {
        let values: Vec<f64> = (0..300).map(|i| f64::from(i) * 0.1).collect();
        let half = 144; // 300 / 2 = 150, minus 150 % 8
        assert_eq!(
            pairwise_sum(&values),
            pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
        );
    }

    #[test]
    fn control_cost_is_float32() {
        // 0.1 as float32 is 0.100000001490116...; the float64 product would differ.
        let cost = float32_control_cost(0.1, &[1.0, 1.0]);
        assert_eq!(cost, f64::from(0.1_f32 * 2.0_f32));
        assert_ne!(cost, 0.1 * 2.0);
    }

    /// NumPy 2.4.6 on glibc: `np.float64(-7.665872199415305) ** 2 == 58.76559657776845`, while
    /// `x * x == 58.76559657776844` (the correctly rounded square).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn numpy_square_is_the_c_librarys_pow() {
        let x = -7.665872199415305_f64;
        assert_eq!(numpy_square(x), 58.76559657776845);
        assert_eq!(x * x, 58.76559657776844);
    }
}
