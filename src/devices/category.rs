//! What kind of device a preset describes, and which end of the connection that is.

use crate::model::settings::{ParamSpec, Side};
use crate::model::{LoadKind, OutputKind};
use serde::{Deserialize, Serialize};

/// Which end of the connection a device stands for: the picker under the output stage or the
/// one under the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceSide {
    Output,
    Load,
}

/// The kind of device. It fixes the device's side and the `output` or `load` type it sets, so a
/// headphone preset can never turn the load into a line input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    LineOut,
    HeadphoneOut,
    SpeakerOut,
    LineInput,
    ActiveSpeaker,
    Headphones,
    Iem,
    PassiveSpeaker,
    GuitarCab,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::LineOut,
        Category::HeadphoneOut,
        Category::SpeakerOut,
        Category::LineInput,
        Category::ActiveSpeaker,
        Category::Headphones,
        Category::Iem,
        Category::PassiveSpeaker,
        Category::GuitarCab,
    ];

    /// The spelling in device files ("line-out", "guitar-cab").
    pub fn id(self) -> &'static str {
        match self {
            Category::LineOut => "line-out",
            Category::HeadphoneOut => "headphone-out",
            Category::SpeakerOut => "speaker-out",
            Category::LineInput => "line-input",
            Category::ActiveSpeaker => "active-speaker",
            Category::Headphones => "headphones",
            Category::Iem => "iem",
            Category::PassiveSpeaker => "passive-speaker",
            Category::GuitarCab => "guitar-cab",
        }
    }

    /// The name a user reads in a picker.
    pub fn label(self) -> &'static str {
        match self {
            Category::LineOut => "Line out",
            Category::HeadphoneOut => "Headphone out",
            Category::SpeakerOut => "Speaker out",
            Category::LineInput => "Line input",
            Category::ActiveSpeaker => "Active speaker",
            Category::Headphones => "Headphones",
            Category::Iem => "In-ear monitor",
            Category::PassiveSpeaker => "Passive speaker",
            Category::GuitarCab => "Guitar cab",
        }
    }

    pub fn side(self) -> DeviceSide {
        if self.output_kind().is_some() {
            DeviceSide::Output
        } else {
            DeviceSide::Load
        }
    }

    /// The output type an output device must set; None for loads.
    pub fn output_kind(self) -> Option<OutputKind> {
        match self {
            Category::LineOut => Some(OutputKind::Line),
            Category::HeadphoneOut => Some(OutputKind::Headphone),
            Category::SpeakerOut => Some(OutputKind::Speaker),
            _ => None,
        }
    }

    /// The load type a load device must set; None for outputs. IEMs are headphones and a guitar
    /// cab is a passive speaker to the circuit.
    pub fn load_kind(self) -> Option<LoadKind> {
        match self {
            Category::LineInput => Some(LoadKind::LineInput),
            Category::ActiveSpeaker => Some(LoadKind::ActiveSpeaker),
            Category::Headphones | Category::Iem => Some(LoadKind::Headphones),
            Category::PassiveSpeaker | Category::GuitarCab => Some(LoadKind::PassiveSpeaker),
            _ => None,
        }
    }

    /// Speakers are heard from a distance, so their presets may set the listening distance.
    pub fn is_speaker(self) -> bool {
        matches!(
            self,
            Category::ActiveSpeaker | Category::PassiveSpeaker | Category::GuitarCab
        )
    }

    /// Whether a device of this category may set parameter `p`: outputs set the source and the
    /// cable, loads set the load (and speakers the listening distance).
    pub fn may_set(self, p: &ParamSpec) -> bool {
        match self.side() {
            DeviceSide::Output => matches!(p.side, Side::Source | Side::Cable),
            DeviceSide::Load => p.side == Side::Load || (self.is_speaker() && p.id == "distance"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::spec;

    #[test]
    fn every_category_is_one_side() {
        for c in Category::ALL {
            assert!(
                c.output_kind().is_some() != c.load_kind().is_some(),
                "{}",
                c.id()
            );
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.id()));
        }
    }

    #[test]
    fn sides_own_their_parameters() {
        let (z_out, cable, z_load, distance) = (
            spec("z_out").unwrap(),
            spec("cable_len").unwrap(),
            spec("z_load").unwrap(),
            spec("distance").unwrap(),
        );
        assert!(Category::LineOut.may_set(z_out) && Category::LineOut.may_set(cable));
        assert!(!Category::LineOut.may_set(z_load) && !Category::Headphones.may_set(z_out));
        assert!(
            Category::PassiveSpeaker.may_set(distance) && !Category::Headphones.may_set(distance)
        );
        assert!(!Category::SpeakerOut.may_set(spec("listen").unwrap()));
    }
}
