//! Small linear filters of the output: the DC blocker.

use std::f64::consts::TAU;

/// Corner of the DC blocker on the plugin's output, Hz: far enough below 20 Hz that the
/// passband stays within 0.003 dB there (|H(20 Hz)| = 1/√(1 + (0.5/20)²)).
pub const DC_BLOCK_HZ: f64 = 0.5;

/// First-order high-pass y[n] = a·(y[n−1] + x[n] − x[n−1]) with a = e^{−2π·fc/fs}: the
/// impulse-invariant image of s/(s + ωc), blocking DC completely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DcBlocker {
    a: f64,
    x1: f64,
    y1: f64,
}

impl DcBlocker {
    pub fn new(corner_hz: f64, sample_rate: f64) -> Self {
        DcBlocker {
            a: (-TAU * corner_hz / sample_rate).exp(),
            x1: 0.0,
            y1: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.x1 = 0.0;
        self.y1 = 0.0;
    }

    #[inline(always)]
    pub fn process(&mut self, x: f64) -> f64 {
        let mut y = self.a * (self.y1 + x - self.x1);
        if y.abs() < 1e-30 {
            y = 0.0; // no subnormals on long silences
        }
        self.x1 = x;
        self.y1 = y;
        y
    }

    /// [`process`](Self::process) over a block, on a copy whose state stays in registers.
    #[inline(always)]
    pub fn process_block(&mut self, x: &[f32], out: &mut [f64]) {
        let mut f = *self;
        for (o, &x) in out.iter_mut().zip(x) {
            *o = f.process(x as f64);
        }
        *self = f;
    }
}
