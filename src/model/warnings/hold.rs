//! Keeps dynamic warnings on screen long enough to read. A clip lasts milliseconds and the
//! meters are read every few tens of milliseconds; without a hold the warning would flicker.
//! Runs on the editor's thread (it allocates), never on the audio thread.

use super::Warning;

/// How long a dynamic warning stays visible after the last interval that raised it, s: long
/// enough to read one sentence (about 2–3 s at reading speed), short enough that it is gone
/// soon after the cause is fixed.
pub const HOLD_SECONDS: f64 = 3.0;

/// The warnings to show: structural ones as of the latest update (they follow the settings at
/// once), dynamic ones until [`HOLD_SECONDS`] after they were last raised.
#[derive(Debug, Clone, Default)]
pub struct WarningHold {
    /// Each dynamic warning as last raised, with when, s.
    held: Vec<(Warning, f64)>,
    /// The structural warnings of the latest update, with its time, s.
    structural: Vec<Warning>,
    updated_s: f64,
}

impl WarningHold {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the warnings of the interval ending at `now_s` (seconds on any steady clock), as
    /// returned by [`super::warnings`]. A dynamic warning raised again replaces its held copy, so
    /// the figures shown are the latest.
    pub fn update(&mut self, now_s: f64, current: &[Warning]) {
        self.structural.clear();
        for w in current {
            if !w.is_dynamic() {
                self.structural.push(w.clone());
            } else if let Some(h) = self.held.iter_mut().find(|(h, _)| h.id == w.id) {
                *h = (w.clone(), now_s);
            } else {
                self.held.push((w.clone(), now_s));
            }
        }
        // A clock that went backwards (a new session) leaves nothing stale behind it.
        self.held
            .retain(|&(_, t)| t <= now_s && now_s - t < HOLD_SECONDS);
        self.updated_s = now_s;
    }

    /// What to show at `now_s`: most severe first, and within a severity the most recently raised
    /// first (structural warnings count as raised at the latest update).
    pub fn active(&self, now_s: f64) -> Vec<Warning> {
        let mut shown: Vec<(&Warning, f64)> = self
            .structural
            .iter()
            .map(|w| (w, self.updated_s))
            .collect();
        shown.extend(
            self.held
                .iter()
                .filter(|(_, t)| now_s - t < HOLD_SECONDS)
                .map(|(w, t)| (w, *t)),
        );
        shown.sort_by(|a, b| b.0.severity.cmp(&a.0.severity).then(b.1.total_cmp(&a.1)));
        shown.into_iter().map(|(w, _)| w.clone()).collect()
    }

    /// Forgets everything (a reset of the engine, a new session).
    pub fn clear(&mut self) {
        self.held.clear();
        self.structural.clear();
    }
}
