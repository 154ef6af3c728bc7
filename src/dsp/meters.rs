//! What the engine measured since the meters were last taken: sums for RMS and mean power,
//! peaks, and event counts. Reading them is the caller's business (editor, command line).

use crate::model::acoustics::spl;
use crate::model::{OperatingPoint, Settings};

/// Raw measurements over an interval, per channel where it matters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Meters {
    /// Internal samples summed per channel.
    pub samples: u64,
    /// Host samples the counts below refer to.
    pub host_samples: u64,
    /// Σ v_load, V, per channel (for the DC at the terminals).
    pub sum_v: [f64; 2],
    /// Σ v_load², V², per channel.
    pub sum_v2: [f64; 2],
    /// Σ i_out², A², per channel.
    pub sum_i2: [f64; 2],
    /// Σ v_load·i_load, W, per channel (real power into the load).
    pub sum_p: [f64; 2],
    /// Largest |v_load|, V.
    pub peak_v: f64,
    /// Largest |v_int|, the stage's internal voltage after the rails, V.
    pub peak_v_int: f64,
    /// Largest |i_out|, A.
    pub peak_i: f64,
    /// Largest |input| sample, full scale = 1.
    pub peak_in: f64,
    /// Largest one-second mean power of either channel, W.
    pub max_power_1s: f64,
    /// Host samples during which the rails clipped / the current limit held / the receiver was
    /// overdriven / the safety ceiling took away more than 0.05 dB.
    pub rail_clips: u64,
    pub current_limits: u64,
    pub receiver_overloads: u64,
    pub ceiling_events: u64,
    /// Deepest gain reduction of the safety ceiling, dB (≤ 0).
    pub ceiling_min_db: f64,
}

impl Meters {
    /// The operating point these measurements describe, for settings `s` at `sample_rate`.
    pub fn operating_point(&self, s: &Settings, sample_rate: f64) -> OperatingPoint {
        let v_rms = self.v_rms();
        OperatingPoint {
            seconds: self.host_samples as f64 / sample_rate,
            v_peak: self.peak_v,
            v_rms,
            v_dc: self.mean_v(),
            i_peak: self.peak_i,
            i_rms: self.i_rms(),
            power: self.power(),
            power_1s_max: self.max_power_1s,
            // DC makes no sound: SPL from the AC part, √(v_rms² − v_dc²).
            spl: spl(
                s,
                (v_rms * v_rms - self.mean_v() * self.mean_v())
                    .max(0.0)
                    .sqrt(),
            ),
            input_peak_dbfs: 20.0 * self.peak_in.max(1e-10).log10(),
            rail_clips: self.rail_clips,
            current_limits: self.current_limits,
            receiver_overloads: self.receiver_overloads,
            ceiling_events: self.ceiling_events,
            ceiling_db: self.ceiling_min_db,
        }
    }

    pub fn channels_used(&self) -> usize {
        if self.sum_v2[1] > 0.0 || self.sum_i2[1] > 0.0 {
            2
        } else {
            1
        }
    }

    /// RMS voltage at the terminals of the louder channel, V.
    pub fn v_rms(&self) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        (self.sum_v2[0].max(self.sum_v2[1]) / self.samples as f64).sqrt()
    }

    /// Mean (DC) voltage at the terminals of the channel with more DC, V.
    pub fn mean_v(&self) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        let (a, b) = (
            self.sum_v[0] / self.samples as f64,
            self.sum_v[1] / self.samples as f64,
        );
        if a.abs() >= b.abs() {
            a
        } else {
            b
        }
    }

    /// RMS output current of the busier channel, A.
    pub fn i_rms(&self) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        (self.sum_i2[0].max(self.sum_i2[1]) / self.samples as f64).sqrt()
    }

    /// Mean real power into the load of the louder channel, W.
    pub fn power(&self) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        self.sum_p[0].max(self.sum_p[1]) / self.samples as f64
    }

    /// Adds another interval's measurements to this one.
    pub fn merge(&mut self, o: &Meters) {
        self.samples += o.samples;
        self.host_samples += o.host_samples;
        for c in 0..2 {
            self.sum_v[c] += o.sum_v[c];
            self.sum_v2[c] += o.sum_v2[c];
            self.sum_i2[c] += o.sum_i2[c];
            self.sum_p[c] += o.sum_p[c];
        }
        self.peak_v = self.peak_v.max(o.peak_v);
        self.peak_v_int = self.peak_v_int.max(o.peak_v_int);
        self.peak_i = self.peak_i.max(o.peak_i);
        self.peak_in = self.peak_in.max(o.peak_in);
        self.max_power_1s = self.max_power_1s.max(o.max_power_1s);
        self.rail_clips += o.rail_clips;
        self.current_limits += o.current_limits;
        self.receiver_overloads += o.receiver_overloads;
        self.ceiling_events += o.ceiling_events;
        self.ceiling_min_db = self.ceiling_min_db.min(o.ceiling_min_db);
    }
}
