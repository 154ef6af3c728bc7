//! What the editor keeps with the session besides the parameters: the window's size and the two
//! scenario slots A and B. Both are `#[persist]` fields of [`crate::params::OutpathParams`], so a
//! saved session reopens at the same size with the same two scenarios.

use crate::model::settings::{ParamKind, PARAMS};
use crate::model::Settings;
use nice_plug::params::persist::PersistentField;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::RwLock;

/// Size the editor opens at the first time, logical points: the chain, meters, spectrum,
/// warnings and four columns of parameters without scrolling on a 1440 × 900 screen.
pub const DEFAULT_WIDTH: u32 = 1280;
pub const DEFAULT_HEIGHT: u32 = 860;
/// Smallest size the window can be dragged to; below it the blocks' figures no longer fit.
pub const MIN_WIDTH: u32 = 960;
pub const MIN_HEIGHT: u32 = 640;

/// The editor window's size in logical points, as saved in the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSize {
    pub width: u32,
    pub height: u32,
}

/// The editor window's size, shared between the editor (which writes it when the window is
/// resized) and the host's state (which saves and restores it).
///
/// nice-plug-egui 0.6 gives `EguiEditorState` no way to be saved or to take a size after it is
/// made, so the size lives here and the editor makes a fresh `EguiEditorState` from it each
/// time the window opens.
#[derive(Debug)]
pub struct EditorState {
    width: AtomicU32,
    height: AtomicU32,
}

impl Default for EditorState {
    fn default() -> Self {
        EditorState {
            width: AtomicU32::new(DEFAULT_WIDTH),
            height: AtomicU32::new(DEFAULT_HEIGHT),
        }
    }
}

impl EditorState {
    pub fn size(&self) -> WindowSize {
        WindowSize {
            width: self.width.load(Ordering::Relaxed),
            height: self.height.load(Ordering::Relaxed),
        }
    }

    /// Stores a new size, kept within [`MIN_WIDTH`] × [`MIN_HEIGHT`] … 8192².
    pub fn set_size(&self, size: WindowSize) {
        self.width
            .store(size.width.clamp(MIN_WIDTH, 8192), Ordering::Relaxed);
        self.height
            .store(size.height.clamp(MIN_HEIGHT, 8192), Ordering::Relaxed);
    }
}

impl<'a> PersistentField<'a, WindowSize> for EditorState {
    fn set(&self, new_value: WindowSize) {
        self.set_size(new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&WindowSize) -> R,
    {
        f(&self.size())
    }
}

/// Which of the two scenario slots the current parameter values belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Slot {
    #[default]
    A,
    B,
}

impl Slot {
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Slot::A => "A",
            Slot::B => "B",
        }
    }
}

/// Every parameter's value in display units (enums by index, toggles 0/1), keyed by its id.
pub type Scenario = BTreeMap<String, f64>;

/// Two scenarios to flip between. The current parameter values always belong to the `active`
/// slot; the stored copy of the active slot is refreshed whenever the user flips away from it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScenarioSlots {
    pub active: Slot,
    /// Values stored in A and B; empty until the slot was first left or copied into.
    pub a: Scenario,
    pub b: Scenario,
}

/// The values of `s` as a scenario: every id of the parameter table.
pub fn scenario_of(s: &Settings) -> Scenario {
    PARAMS
        .iter()
        .filter_map(|p| s.get(p.id).map(|v| (p.id.to_string(), v)))
        .collect()
}

/// A scenario applied over `base`: ids it does not know, or values out of range (a session
/// from another version), leave `base`'s value.
pub fn settings_of(scenario: &Scenario, base: &Settings) -> Settings {
    let mut s = *base;
    for p in PARAMS {
        if let Some(&v) = scenario.get(p.id) {
            let v = match p.kind {
                ParamKind::Float { min, max, .. } => v.clamp(min, max),
                _ => v,
            };
            let _ = s.set(p.id, v);
        }
    }
    s
}

impl ScenarioSlots {
    fn slot_mut(&mut self, slot: Slot) -> &mut Scenario {
        match slot {
            Slot::A => &mut self.a,
            Slot::B => &mut self.b,
        }
    }

    pub fn slot(&self, slot: Slot) -> &Scenario {
        match slot {
            Slot::A => &self.a,
            Slot::B => &self.b,
        }
    }

    /// Flips to the other slot: stores `current` (the values now playing) in the active slot and
    /// returns the settings to write through the host. A slot never filled starts as a copy of
    /// the current values.
    pub fn flip(&mut self, current: &Settings) -> Settings {
        let leaving = self.active;
        *self.slot_mut(leaving) = scenario_of(current);
        self.active = leaving.other();
        let target = self.slot(self.active);
        if target.is_empty() {
            *self.slot_mut(self.active) = scenario_of(current);
            return *current;
        }
        settings_of(self.slot(self.active), current)
    }

    /// Copies A into B. While A is active, B becomes the current values (nothing to write);
    /// while B is active, B takes A's stored values and those are returned to be written.
    pub fn copy_a_to_b(&mut self, current: &Settings) -> Option<Settings> {
        match self.active {
            Slot::A => {
                self.a = scenario_of(current);
                self.b = self.a.clone();
                None
            }
            Slot::B => {
                if self.a.is_empty() {
                    self.a = scenario_of(current);
                }
                self.b = self.a.clone();
                Some(settings_of(&self.b, current))
            }
        }
    }
}

/// The slots as a session field.
pub type ScenarioField = RwLock<ScenarioSlots>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LoadKind, OutputKind};

    #[test]
    fn flipping_keeps_both_scenarios() {
        let mut slots = ScenarioSlots::default();
        let a = Settings::default();
        // First flip: B starts as a copy of A.
        assert_eq!(slots.flip(&a), a);
        assert_eq!(slots.active, Slot::B);
        // Change B, flip back to A: A's values come back.
        let mut b = a;
        b.output = OutputKind::Speaker;
        b.z_out = 0.05;
        assert_eq!(slots.flip(&b), a);
        assert_eq!(slots.active, Slot::A);
        // And forth to B again.
        assert_eq!(slots.flip(&a), b);
    }

    #[test]
    fn copy_a_to_b_from_either_side() {
        let mut slots = ScenarioSlots::default();
        let a = Settings::default();
        assert_eq!(slots.copy_a_to_b(&a), None);
        assert_eq!(slots.a, slots.b);
        let mut b = a;
        b.load = LoadKind::PassiveSpeaker;
        slots.flip(&a);
        // Now on B with other values: copying A over them brings A's values back.
        assert_eq!(slots.copy_a_to_b(&b), Some(a));
        assert_eq!(slots.b, scenario_of(&a));
    }

    #[test]
    fn slots_survive_a_session_round_trip() {
        let mut slots = ScenarioSlots::default();
        let s = Settings {
            gain: -12.5,
            ..Settings::default()
        };
        slots.flip(&s);
        let json = serde_json::to_string(&slots).unwrap();
        let back: ScenarioSlots = serde_json::from_str(&json).unwrap();
        assert_eq!(back, slots);
        assert_eq!(settings_of(&back.a, &Settings::default()), s);
        let size: WindowSize = serde_json::from_str(r#"{"width":1500,"height":900}"#).unwrap();
        let state = EditorState::default();
        PersistentField::set(&state, size);
        assert_eq!(state.size(), size);
    }
}
