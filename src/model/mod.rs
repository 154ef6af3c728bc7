//! Physics of the connection, with no plugin framework in it: units, the parameter table, the
//! load's impedance, the network's predicted response, levels and SPL.

pub mod acoustics;
pub mod load;
pub mod network;
pub mod operating_point;
pub mod settings;
pub mod units;
pub mod warnings;

pub use operating_point::OperatingPoint;
pub use settings::{ClipShape, ListenMode, LoadKind, Mains, OutputKind, Settings};
