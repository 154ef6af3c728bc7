//! Values of a band-limited signal between its samples, from a short window of samples around
//! them: the interpolators that let a linear network run at a coarser rate than its solver
//! ([`coarse_network`](super::coarse_network)).
//!
//! For a fraction τ ∈ (−1, 0] of a sample, the taps c_k (k = −[`LOOKAHEAD`] … [`TAPS`] −
//! [`LOOKAHEAD`] − 1) make Σ_k c_k·x[n − k] ≈ x(n + τ) for every signal whose content lies
//! below `band` (radians per sample). They minimise the squared error of the frequency
//! response, Σ_k c_k·e^{−jkθ} against e^{jτθ}, integrated over 0 … band with weight 1 and over
//! the rest of the circle with a small weight (so the gain stays near one where the signal has
//! only residue). Because e^{jθ(…)} integrates in closed form, the normal equations are
//!
//!   Σ_l c_l·∫ w(θ)·cos((k − l)θ) dθ = ∫ w(θ)·cos((k + τ)θ) dθ,
//!
//! a small symmetric positive-definite system solved by Cholesky factorisation.

/// Taps of each interpolator.
pub const TAPS: usize = 10;
/// Samples after the one interpolated from that each interpolator reads.
pub const LOOKAHEAD: usize = 3;
/// Weight of the squared error outside the band, relative to inside.
const OUT_OF_BAND_WEIGHT: f64 = 1e-8;

/// ∫_{a}^{b} cos(ωθ) dθ.
fn integral_cos(omega: f64, a: f64, b: f64) -> f64 {
    if omega.abs() < 1e-12 {
        b - a
    } else {
        ((omega * b).sin() - (omega * a).sin()) / omega
    }
}

/// ∫ w(θ)·cos(ωθ) dθ over 0 … π, w = 1 below `band` and [`OUT_OF_BAND_WEIGHT`] above.
fn weighted(omega: f64, band: f64) -> f64 {
    integral_cos(omega, 0.0, band)
        + OUT_OF_BAND_WEIGHT * integral_cos(omega, band, std::f64::consts::PI)
}

/// The interpolator for the fraction `tau` ∈ (−1, 0] of a sample: c[i] multiplies x[n − k]
/// with k = i − [`LOOKAHEAD`] (c[0] reads the newest sample, c[LOOKAHEAD] the sample n).
/// `band` is the top of the signal's band in radians per sample, below π.
pub fn interpolator(tau: f64, band: f64) -> [f64; TAPS] {
    assert!((-1.0..=0.0).contains(&tau) && band > 0.0 && band < std::f64::consts::PI);
    let lag = |i: usize| i as f64 - LOOKAHEAD as f64;
    let mut a = [[0.0; TAPS]; TAPS];
    let mut b = [0.0; TAPS];
    for i in 0..TAPS {
        for j in 0..TAPS {
            a[i][j] = weighted(lag(i) - lag(j), band);
        }
        b[i] = weighted(lag(i) + tau, band);
    }
    // Exactly one at DC (the fit leaves an error of about 1e-6 there), so that a constant
    // reads as itself between samples: a DC-blocking network then blocks it exactly.
    let mut c = solve_spd(a, b);
    let sum: f64 = c.iter().sum();
    for v in &mut c {
        *v /= sum;
    }
    c
}

/// Solves A·x = b for a symmetric positive-definite A by Cholesky factorisation A = L·Lᵀ.
fn solve_spd(a: [[f64; TAPS]; TAPS], b: [f64; TAPS]) -> [f64; TAPS] {
    let mut l = [[0.0; TAPS]; TAPS];
    for i in 0..TAPS {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                assert!(s > 0.0, "the normal equations are not positive definite");
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    // L·y = b, then Lᵀ·x = y.
    let mut y = [0.0; TAPS];
    for i in 0..TAPS {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; TAPS];
    for i in (0..TAPS).rev() {
        x[i] = (y[i] - (i + 1..TAPS).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Largest |Σ c_k e^{−jkθ} − e^{jτθ}| over 0 … band, on a fine grid: the error of the
    /// interpolated value for a unit sine anywhere in the band.
    fn worst_error(c: &[f64; TAPS], tau: f64, band: f64) -> f64 {
        (0..=2000)
            .map(|g| {
                let th = band * g as f64 / 2000.0;
                let (mut re, mut im) = (0.0, 0.0);
                for (i, &ci) in c.iter().enumerate() {
                    let k = i as f64 - LOOKAHEAD as f64;
                    re += ci * (k * th).cos();
                    im -= ci * (k * th).sin();
                }
                ((re - (tau * th).cos()).powi(2) + (im - (tau * th).sin()).powi(2)).sqrt()
            })
            .fold(0.0, f64::max)
    }

    /// At twice 48 kHz, a sine up to 20 kHz is found between the samples to within 1e-4 of
    /// its amplitude; at twice 44.1 kHz within 2e-4.
    #[test]
    fn interpolates_the_band_between_samples() {
        for (rate, limit) in [(96_000.0, 1e-4), (88_200.0, 2e-4)] {
            let band = 2.0 * PI * 20_000.0 / rate;
            for tau in [-0.25, -0.5, -0.75] {
                let c = interpolator(tau, band);
                let e = worst_error(&c, tau, band);
                assert!(e < limit, "rate {rate}, τ {tau}: {e}");
                // The gain stays moderate where the signal has nothing.
                assert!(c.iter().map(|v| v.abs()).sum::<f64>() < 4.0, "{c:?}");
            }
        }
    }

    /// A constant reads as itself anywhere between samples.
    #[test]
    fn constant_is_exact() {
        for tau in [-0.25, -0.5, -0.75] {
            let c = interpolator(tau, 2.0 * PI * 20_000.0 / 88_200.0);
            assert!((c.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        }
    }

    /// The sample itself (τ = 0) is read as it is.
    #[test]
    fn whole_sample_is_itself() {
        let c = interpolator(0.0, 2.0 * PI * 20_000.0 / 96_000.0);
        for (i, &v) in c.iter().enumerate() {
            let want = if i == LOOKAHEAD { 1.0 } else { 0.0 };
            assert!((v - want).abs() < 1e-6, "{i}: {v}");
        }
    }
}
