//! The operating point: what the connection is doing, in the units a user reads (DESIGN §2).

/// Levels and events over an interval, at the load's terminals and at the stage.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OperatingPoint {
    /// Length of the interval, s.
    pub seconds: f64,
    /// Peak and RMS voltage at the load's terminals, V.
    pub v_peak: f64,
    pub v_rms: f64,
    /// Mean (DC) voltage at the terminals, V.
    pub v_dc: f64,
    /// Peak and RMS output current, A.
    pub i_peak: f64,
    pub i_rms: f64,
    /// Mean real power into the load, W.
    pub power: f64,
    /// Largest one-second mean power into the load, W.
    pub power_1s_max: f64,
    /// SPL at the listener from `v_rms`, dB SPL; None for a line input.
    pub spl: Option<f64>,
    /// Peak of the input, dBFS.
    pub input_peak_dbfs: f64,
    /// Host samples with the rails clipping / the current limit holding / the receiver
    /// overdriven / the safety ceiling reducing the output.
    pub rail_clips: u64,
    pub current_limits: u64,
    pub receiver_overloads: u64,
    pub ceiling_events: u64,
    /// Deepest reduction by the safety ceiling, dB (≤ 0).
    pub ceiling_db: f64,
}
