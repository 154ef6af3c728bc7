//! The real-time engine built from the model: oversampled nonlinear output stage, the network
//! solved sample by sample near the knees and at twice the host rate elsewhere, noise and hum,
//! the listen modes and the safety ceiling.
//! Everything is allocation-free after construction.

pub mod ceiling;
pub mod coarse_network;
pub mod engine;
pub mod filters;
pub mod fractional_delay;
pub mod isa;
pub mod meters;
pub mod network;
pub mod network_block;
pub mod noise;
pub mod oversampling;
pub mod path;
pub mod shapers;
pub mod smoothing;
pub mod two_rate;

pub use engine::Engine;
pub use meters::Meters;
