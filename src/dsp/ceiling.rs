//! The safety ceiling: a look-ahead peak limiter that never lets a sample past the ceiling and
//! never clips. The gain needed by each sample is held over the look-ahead window and then
//! averaged over the same window, so the gain glides down before the peak arrives and each
//! delayed sample is multiplied by a gain no larger than the one it needs.

/// Look-ahead of the limiter, seconds.
pub const LOOKAHEAD_S: f64 = 0.000_667;
/// Release time constant, seconds.
pub const RELEASE_S: f64 = 0.080;
/// The limiter counts as engaged when it takes away more than this, dB.
pub const ENGAGED_DB: f64 = 0.05;
/// The release ends at a gain of exactly 1 once it comes this close (−9e-6 dB): an
/// exponential only approaches 1, and the limiter rests (and costs a plain delay) only at 1.
const RELEASE_DONE: f64 = 1e-6;
/// Samples the delay line moves at once at rest: the engine's block
/// ([`MAX_BLOCK`](super::oversampling::MAX_BLOCK)), so that a block moves in one piece.
const DELAY_CHUNK: usize = super::oversampling::MAX_BLOCK;

#[derive(Debug, Clone)]
pub struct Ceiling {
    /// Look-ahead length in samples (≥ 1).
    len: usize,
    /// Delayed input.
    delay: Vec<f64>,
    /// Required gains over the window, for the running minimum.
    need: Vec<f64>,
    /// How many of them are below 1: while none is, the minimum is 1 without a scan.
    below: usize,
    /// Held minimum gains over the window, for the running average.
    held: Vec<f64>,
    /// How many held gains are below 1: while none is, their sum is exactly `len`.
    held_below: usize,
    held_sum: f64,
    pos: usize,
    /// The released gain: follows the held minimum down at once and back up slowly.
    released: f64,
    release_coeff: f64,
    /// Samples since the last exact recomputation of `held_sum` (rounding hygiene).
    since_resum: usize,
}

impl Ceiling {
    pub fn new(sample_rate: f64) -> Self {
        let len = ((LOOKAHEAD_S * sample_rate).round() as usize).max(1);
        Ceiling {
            len,
            delay: vec![0.0; len],
            need: vec![1.0; len],
            below: 0,
            held: vec![1.0; len],
            held_below: 0,
            held_sum: len as f64,
            pos: 0,
            released: 1.0,
            release_coeff: (-1.0 / (RELEASE_S * sample_rate)).exp(),
            since_resum: 0,
        }
    }

    /// Delay the limiter adds, samples.
    pub fn latency(&self) -> usize {
        self.len - 1
    }

    pub fn reset(&mut self) {
        self.delay.fill(0.0);
        self.need.fill(1.0);
        self.below = 0;
        self.held.fill(1.0);
        self.held_below = 0;
        self.held_sum = self.len as f64;
        self.pos = 0;
        self.released = 1.0;
    }

    /// Limits one sample to `ceiling` (linear, > 0); returns the output and the gain applied.
    #[inline]
    pub fn process(&mut self, x: f64, ceiling: f64) -> (f64, f64) {
        let a = x.abs();
        let need = if a > ceiling { ceiling / a } else { 1.0 };
        self.below -= usize::from(self.need[self.pos] < 1.0);
        self.below += usize::from(need < 1.0);
        self.need[self.pos] = need;
        // Minimum over the window (short: a plain scan is cheaper than a deque here), and no
        // scan at all while every sample in it is below the ceiling.
        let mut m: f64 = 1.0;
        if self.below > 0 {
            for &g in &self.need {
                m = m.min(g);
            }
        }
        // Instant attack, exponential release (ending at 1, see RELEASE_DONE), never above
        // what the window needs.
        let r = 1.0 - (1.0 - self.released) * self.release_coeff;
        let r = if 1.0 - r < RELEASE_DONE { 1.0 } else { r };
        self.released = r.min(m);
        let old = self.held[self.pos];
        self.held_below -= usize::from(old < 1.0);
        self.held_below += usize::from(self.released < 1.0);
        self.held_sum += self.released - old;
        self.held[self.pos] = self.released;
        if self.held_below == 0 {
            self.held_sum = self.len as f64;
        }
        let gain = if self.len == 1 {
            self.released
        } else {
            self.held_sum / self.len as f64
        };
        // Delay of len − 1: every gain in the average was computed over a window holding the
        // delayed sample, so none is larger than the gain that sample needs.
        self.delay[self.pos] = x;
        self.pos += 1;
        if self.pos == self.len {
            self.pos = 0;
        }
        let delayed = self.delay[self.pos];
        self.since_resum += 1;
        if self.since_resum >= 4096 {
            self.held_sum = self.held.iter().sum();
            self.since_resum = 0;
        }
        // The average includes every gain held since the delayed sample entered the window,
        // each no larger than that sample's own need; clamp the last rounding error anyway.
        let y = (delayed * gain).clamp(-ceiling, ceiling);
        (y, gain)
    }

    /// The delay line over `x` in place, as `process` moves it at rest: each output is the
    /// input `len` − 1 samples before it, clamped to the ceiling as `process` clamps it (at
    /// rest every delayed sample is below it already).
    fn delay_block(&mut self, x: &mut [f64], ceiling: f64) {
        let len = self.len;
        for chunk in x.chunks_mut(DELAY_CHUNK) {
            let c = chunk.len();
            let mut fresh = [0.0f64; DELAY_CHUNK];
            fresh[..c].copy_from_slice(chunk);
            // Output i is delay[pos + 1 + i] while that is older than this chunk, then the
            // chunk's own input i − (len − 1); the ring is read before it is written.
            let old = c.min(len - 1);
            let start = (self.pos + 1) % len;
            let first = old.min(len - start);
            chunk[..first].copy_from_slice(&self.delay[start..start + first]);
            chunk[first..old].copy_from_slice(&self.delay[..old - first]);
            chunk[old..].copy_from_slice(&fresh[..c - old]);
            for v in chunk.iter_mut() {
                *v = v.clamp(-ceiling, ceiling);
            }
            // Input i goes to delay[pos + i].
            let keep = c.min(len);
            let (src, at) = (&fresh[c - keep..c], (self.pos + c - keep) % len);
            let first = keep.min(len - at);
            self.delay[at..at + first].copy_from_slice(&src[..first]);
            self.delay[..keep - first].copy_from_slice(&src[first..]);
            self.pos = (self.pos + c) % len;
        }
    }

    /// [`process`](Self::process) over a block in place, the gain applied to each sample after
    /// the stretch at rest into `gains`. While the limiter rests (every sample in its window below the ceiling, every
    /// held gain 1, the release finished) and the block's samples stay below the ceiling, it
    /// only delays: that stretch takes the short way, with the same arithmetic as `process`.
    /// Returns that stretch's length: its gains are exactly 1 and are not written.
    pub fn process_block(&mut self, x: &mut [f64], ceiling: f64, gains: &mut [f64]) -> usize {
        let mut i = 0;
        if self.below == 0 && self.released == 1.0 && self.held_below == 0 {
            // At rest `process` leaves need, below, released and held as they are, and its
            // gain is exactly 1: the stretch below the ceiling is the delay line alone, moved
            // in pieces.
            i = first_not_below(x, ceiling);
            self.delay_block(&mut x[..i], ceiling);
            self.held_sum = self.len as f64;
            // `process` counts to 4096 and starts again from 0 (at rest its resum changes
            // nothing).
            self.since_resum = (self.since_resum + i) % 4096;
        }
        for (v, g) in x[i..].iter_mut().zip(&mut gains[i..]) {
            (*v, *g) = self.process(*v, ceiling);
        }
        i
    }
}

/// The index of the first sample of `x` not below `ceiling` in magnitude (NaN included), or
/// its length: eight samples at a time (a test the compiler can run in vector lanes), then
/// one by one within the eight that hold it.
fn first_not_below(x: &[f64], ceiling: f64) -> usize {
    let loud = |v: &f64| !(v.abs() <= ceiling);
    let mut base = 0;
    for chunk in x.chunks_exact(8) {
        if chunk.iter().fold(false, |any, v| any | loud(v)) {
            break;
        }
        base += 8;
    }
    x[base..]
        .iter()
        .position(loud)
        .map_or(x.len(), |i| base + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first sample at or above the ceiling (or NaN) is found wherever it lies, against a
    /// plain scan.
    #[test]
    fn finds_the_first_loud_sample() {
        for len in [0, 1, 7, 8, 9, 31, 64] {
            for at in 0..=len {
                for loud in [1.0, -2.0, f64::NAN, f64::INFINITY] {
                    let mut x = vec![0.5; len];
                    if at < len {
                        x[at] = loud;
                    }
                    let want = x.iter().position(|v| !(v.abs() <= 0.9)).unwrap_or(len);
                    assert_eq!(first_not_below(&x, 0.9), want, "{len} {at} {loud}");
                }
            }
        }
    }

    #[test]
    fn never_exceeds_and_is_transparent_below() {
        let mut c = Ceiling::new(48_000.0);
        let lat = c.latency();
        // A sine whose envelope rises from 0.5 to 4 over 100 samples and falls back later.
        let env = |i: usize| {
            0.5 + 3.5
                * ((i as f64 - 10_000.0) / 100.0).clamp(0.0, 1.0)
                * ((20_000.0 - i as f64) / 100.0).clamp(0.0, 1.0)
        };
        let x: Vec<f64> = (0..48_000)
            .map(|i| (i as f64 * 0.05).sin() * env(i))
            .collect();
        let y: Vec<f64> = x.iter().map(|&v| c.process(v, 0.9).0).collect();
        assert!(y.iter().all(|v| v.abs() <= 0.9));
        // Quiet parts before the loud one pass unchanged, delayed.
        for i in 1000..9000 {
            assert!((y[i + lat] - x[i]).abs() < 1e-12);
        }
        // The gain is smooth: the output never moves faster than the limited sine itself could
        // (0.9 · 0.05 per sample) plus a little for the gain's own glide.
        let max_step = y
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        assert!(max_step < 0.07, "{max_step}");
    }

    /// After a peak the release ends at a gain of exactly 1, and the limiter rests: from a
    /// gain of 0.3 that takes ln(1e-6/0.7)·80 ms = 1.08 s, plus the look-ahead.
    #[test]
    fn release_comes_to_rest() {
        let fs = 48_000.0;
        let mut c = Ceiling::new(fs);
        let (_, g) = c.process(3.0, 0.9);
        assert!(g < 1.0);
        let mut gains = vec![0.0; (1.09 * fs) as usize];
        for g in gains.iter_mut() {
            *g = c.process(0.1, 0.9).1;
        }
        let rest = gains.iter().position(|&g| g == 1.0).expect("comes to rest");
        assert!((1.07 * fs..1.09 * fs).contains(&(rest as f64)), "{rest}");
        assert!(gains[rest..].iter().all(|&g| g == 1.0));
        assert!(c.below == 0 && c.released == 1.0 && c.held_below == 0);
        assert_eq!(c.held_sum, c.len as f64);
    }

    #[test]
    fn blocks_take_the_same_arithmetic_as_samples() {
        // Quiet, loud (engaging), a long quiet stretch past the 4096-sample resum, loud again;
        // cut into blocks of changing length.
        let x: Vec<f64> = (0..20_000)
            .map(|i| {
                let level = if (3000..3400).contains(&i) || (15_000..15_050).contains(&i) {
                    3.0
                } else {
                    0.4
                };
                level * (i as f64 * 0.031).sin()
            })
            .collect();
        // Look-aheads of 1, 29, 32, 64, 128, 256 and 512 samples: shorter, as long as and
        // longer than the pieces the delay line moves in at rest (DELAY_CHUNK), and blocks up
        // to twice those pieces.
        const _: () = assert!(DELAY_CHUNK == 256);
        for fs in [
            1000.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0, 384_000.0, 768_000.0,
        ] {
            let mut a = Ceiling::new(fs);
            let mut b = Ceiling::new(fs);
            // At rest with the running sum a rounding away from exact, just before a resum.
            for c in [&mut a, &mut b] {
                c.held_sum = c.len as f64 - 1e-13;
                c.since_resum = 4090;
            }
            let want: Vec<(f64, f64)> = x.iter().map(|&v| a.process(v, 0.9)).collect();
            let (mut got, mut gains) = (x.clone(), vec![0.0; x.len()]);
            let mut start = 0;
            for n in (1..2 * DELAY_CHUNK + 3).step_by(7).cycle() {
                if start == x.len() {
                    break;
                }
                let end = (start + n).min(x.len());
                let rest = b.process_block(&mut got[start..end], 0.9, &mut gains[start..end]);
                gains[start..start + rest].fill(1.0);
                start = end;
            }
            for (i, &(y, g)) in want.iter().enumerate() {
                assert_eq!(got[i].to_bits(), y.to_bits(), "sample {i} at {fs} Hz");
                assert_eq!(gains[i].to_bits(), g.to_bits(), "gain {i} at {fs} Hz");
            }
        }
    }
}
