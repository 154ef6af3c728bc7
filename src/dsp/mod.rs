//! The real-time engine built from the model: oversampled nonlinear output stage, the network
//! solved sample by sample, noise and hum, the listen modes and the safety ceiling.
//! Everything is allocation-free after construction.

pub mod oversampling;
