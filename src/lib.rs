//! Outpath: hear and see what a mix does on its way out of the studio, through a line out, a
//! headphone out or a speaker out into the load that is really plugged in.

pub mod model;
pub mod dsp;
pub mod devices;
