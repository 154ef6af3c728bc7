//! The device library (placeholder until the library lands).
