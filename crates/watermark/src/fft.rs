//! A small in-place radix-2 FFT, enough for the detector's one circular
//! correlation per file (a block of 2^16 samples).

/// A complex number.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Complex {
    pub(crate) re: f64,
    pub(crate) im: f64,
}

impl Complex {
    fn mul(self, o: Self) -> Self {
        Self {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }

    pub(crate) fn conj(self) -> Self {
        Self {
            re: self.re,
            im: -self.im,
        }
    }

    pub(crate) fn times(self, o: Self) -> Self {
        self.mul(o)
    }
}

/// Transforms `data` in place; `inverse` computes the unscaled inverse.
/// The length must be a power of two (the callers use `BLOCK`).
pub(crate) fn fft(data: &mut [Complex], inverse: bool) {
    let n = data.len();
    debug_assert!(n.is_power_of_two());
    // Bit-reversal permutation.
    let mut j = 0usize;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            data.swap(i, j);
        }
    }
    let sign = if inverse { 1.0 } else { -1.0 };
    let mut len = 2;
    while len <= n {
        let angle = sign * 2.0 * std::f64::consts::PI / len as f64;
        let step = Complex {
            re: angle.cos(),
            im: angle.sin(),
        };
        for start in (0..n).step_by(len) {
            let mut w = Complex { re: 1.0, im: 0.0 };
            for k in 0..len / 2 {
                let a = data[start + k];
                let b = data[start + k + len / 2].mul(w);
                data[start + k] = Complex {
                    re: a.re + b.re,
                    im: a.im + b.im,
                };
                data[start + k + len / 2] = Complex {
                    re: a.re - b.re,
                    im: a.im - b.im,
                };
                w = w.mul(step);
            }
        }
        len <<= 1;
    }
}

/// `c[o] = Σ_i a[i] · b[(i + o) mod n]` for every `o`.
pub(crate) fn circular_correlation(a: &[f64], b: &[f64]) -> Vec<f64> {
    let n = a.len();
    let to_complex =
        |x: &[f64]| -> Vec<Complex> { x.iter().map(|&re| Complex { re, im: 0.0 }).collect() };
    let mut fa = to_complex(a);
    let mut fb = to_complex(b);
    fft(&mut fa, false);
    fft(&mut fb, false);
    let mut prod: Vec<Complex> = fa
        .iter()
        .zip(&fb)
        .map(|(x, y)| x.conj().times(*y))
        .collect();
    fft(&mut prod, true);
    prod.iter().map(|c| c.re / n as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_matches_the_direct_sum() {
        let a: Vec<f64> = (0..64).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
        let b: Vec<f64> = (0..64).map(|i| ((i * 5 % 11) as f64) - 5.0).collect();
        let fast = circular_correlation(&a, &b);
        for o in 0..64 {
            let direct: f64 = (0..64).map(|i| a[i] * b[(i + o) % 64]).sum();
            assert!((fast[o] - direct).abs() < 1e-6, "offset {o}");
        }
    }
}
