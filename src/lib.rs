//! Outpath: hear and see what a mix does on its way out of the studio, through a line out, a
//! headphone out or a speaker out into the load that is really plugged in.
//!
//! The plugin is a thin front: parameters in, [`dsp::Engine::process`] on the host's buffer,
//! meters out. The physics lives in [`model`] and [`dsp`], which know nothing of the framework.

pub mod devices;
pub mod dsp;
pub mod model;
pub mod params;

use dsp::Engine;
use nice_plug::prelude::*;
use params::OutpathParams;
use std::sync::Arc;

/// Seed of the plugin's noise: fixed, so a bounce is reproducible.
pub const NOISE_SEED: u64 = 0x0u64 ^ 0x4F55_5450_4154_4821;

pub struct Outpath {
    params: Arc<OutpathParams>,
    /// Built in `activate()` for the host's rate and channel count; None before.
    engine: Option<Engine>,
}

impl Default for Outpath {
    fn default() -> Self {
        Outpath { params: Arc::new(OutpathParams::default()), engine: None }
    }
}

impl Plugin for Outpath {
    const NAME: &'static str = "Outpath";
    const VENDOR: &'static str = "Outpath";
    const URL: &'static str = "https://example.invalid/outpath";
    const EMAIL: &'static str = "outpath@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    /// Parameter changes split the host's blocks, so automation lands on its sample.
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = ();
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = layout.main_output_channels.map_or(2, |c| c.get() as usize).clamp(1, 2);
        let engine = Engine::new(config.sample_rate as f64, channels, NOISE_SEED, &self.params.settings());
        context.set_latency_samples(engine.latency_samples() as u32);
        self.engine = Some(engine);
        true
    }

    fn reset(&mut self) {
        if let Some(e) = &mut self.engine {
            e.set_settings(&self.params.settings());
            e.reset();
        }
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let Some(engine) = &mut self.engine else { return ProcessStatus::Normal };
        engine.set_settings(&self.params.settings());
        engine.process(buffer.as_slice());
        ProcessStatus::Normal
    }
}

impl ClapPlugin for Outpath {
    const CLAP_ID: &'static str = "org.outpath.outpath";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Hear what the output path does: line, headphone and speaker outs into real loads");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] =
        &[ClapFeature::AudioEffect, ClapFeature::Utility, ClapFeature::Analyzer, ClapFeature::Stereo, ClapFeature::Mono];
}

impl Vst3Plugin for Outpath {
    const VST3_CLASS_ID: [u8; 16] = *b"OutpathOutPath01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Tools, Vst3SubCategory::Analyzer];
}

nice_export_clap!(Outpath);
nice_export_vst3!(Outpath);
