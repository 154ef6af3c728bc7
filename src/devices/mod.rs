//! The device library (DESIGN §4): output stages and loads a user recognises, as presets.
//!
//! A device is a named set of parameter values for one end of the connection, with the source
//! of its figures. Factory devices are TOML files under `factory/`, compiled in; user devices
//! are `*.toml` or `*.json` files, one device per file, in [`user_dir`]. A device file looks
//! like this:
//!
//! ```toml
//! id = "my-headphones"
//! name = "My headphones"
//! category = "headphones"        # line-out, headphone-out, speaker-out, line-input,
//!                                # active-speaker, headphones, iem, passive-speaker, guitar-cab
//! source = "archetype"           # or the datasheet / measurement the figures come from
//! sens_mw = 100                  # optional: dB SPL/mW, converted to sens (dB SPL/V) at z_load
//!
//! [set]                          # parameter id = value in display units
//! load = "Headphones"
//! z_load = "32 Ω"
//! z_peak = 40
//! ```
//!
//! Speakers may give `[thiele_small]` (`re`, `fs`, `qms`, `qes`, optional `le_mh`) instead of
//! z_load, f_res, q_res, z_peak and l_coil, and any transducer or active speaker may give
//! `sens_at = { db_spl = 88, v_rms = 2.83 }` as its datasheet states it.

mod category;
mod device;
mod file;
mod library;

pub use category::{Category, DeviceSide};
pub use device::{
    is_kebab_case, same_value, Device, DeviceError, SensAt, SetValue, ThieleSmall,
    MATCH_TOLERANCE_OF_SPAN, MATCH_TOLERANCE_REL,
};
pub use file::{parse_collection, Format};
pub use library::{user_dir, Library, LoadProblem};
