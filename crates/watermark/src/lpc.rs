//! Linear prediction: the spectral envelope the mark is shaped under, and
//! the whitening filter the detector applies.

/// Prediction order (enough for the formants of 8 kHz speech).
pub(crate) const ORDER: usize = 10;
/// Analysis window: the 160-sample frame and the 80 samples before it.
pub(crate) const FRAME: usize = 160;
pub(crate) const HISTORY: usize = 80;
const WINDOW: usize = FRAME + HISTORY;

fn hann(i: usize, n: usize) -> f64 {
    0.5 - 0.5 * (2.0 * std::f64::consts::PI * (i as f64 + 0.5) / n as f64).cos()
}

/// The full-length window, computed once (the cosine was a tenth of the
/// detector's time).
fn hann_full() -> &'static [f64; WINDOW] {
    static TABLE: std::sync::OnceLock<[f64; WINDOW]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| hann(i, WINDOW)))
}

/// `a[1..=ORDER]` of `A(z) = 1 + Σ a_k z^-k`, from `window` (up to
/// [`WINDOW`] samples, the newest last); `None` for (near) silence.
pub(crate) fn analyse(window: &[f64]) -> Option<[f64; ORDER]> {
    let n = window.len();
    if n <= ORDER {
        return None;
    }
    let full = hann_full();
    let w: Vec<f64> = window
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let hann = if n == WINDOW { full[i] } else { hann(i, n) };
            x * hann
        })
        .collect();
    let mut r = [0.0f64; ORDER + 1];
    for (lag, r) in r.iter_mut().enumerate() {
        *r = w[lag..].iter().zip(&w).map(|(a, b)| a * b).sum();
    }
    // Digital silence (well under one LSB of energy per sample).
    if r[0] < n as f64 * 0.25 {
        return None;
    }
    // White-noise correction and a 60 Hz Gaussian lag window keep the
    // filter well conditioned.
    r[0] *= 1.0 + 1e-4;
    for (lag, r) in r.iter_mut().enumerate().skip(1) {
        let x = 2.0 * std::f64::consts::PI * 60.0 * lag as f64 / 8000.0;
        *r *= (-0.5 * x * x).exp();
    }
    levinson(&r)
}

fn levinson(r: &[f64; ORDER + 1]) -> Option<[f64; ORDER]> {
    let mut a = [0.0f64; ORDER + 1];
    a[0] = 1.0;
    let mut err = r[0];
    for i in 1..=ORDER {
        let mut acc = r[i];
        for j in 1..i {
            acc += a[j] * r[i - j];
        }
        let k = -acc / err;
        if !k.is_finite() || k.abs() >= 1.0 {
            return None;
        }
        let prev = a;
        for j in 1..i {
            a[j] = prev[j] + k * prev[i - j];
        }
        a[i] = k;
        err *= 1.0 - k * k;
        if err <= 0.0 {
            return None;
        }
    }
    let mut out = [0.0; ORDER];
    out.copy_from_slice(&a[1..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resonance_is_predicted() {
        // A 500 Hz tone with a little noise: the residual is far smaller
        // than the signal.
        let x: Vec<f64> = (0..WINDOW)
            .map(|i| {
                1000.0 * (2.0 * std::f64::consts::PI * 500.0 * i as f64 / 8000.0).sin()
                    + ((i * 7919) % 13) as f64
            })
            .collect();
        let a = analyse(&x).expect("not silent");
        let residual: f64 = (ORDER..WINDOW)
            .map(|n| {
                let e = x[n] + (0..ORDER).map(|k| a[k] * x[n - 1 - k]).sum::<f64>();
                e * e
            })
            .sum();
        let power: f64 = x[ORDER..].iter().map(|v| v * v).sum();
        assert!(residual < power / 100.0, "{residual} vs {power}");
    }

    #[test]
    fn silence_has_no_envelope() {
        assert!(analyse(&[0.0; WINDOW]).is_none());
        assert!(analyse(&[0.0; 3]).is_none());
    }
}
