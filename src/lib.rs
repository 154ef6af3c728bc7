//! Outpath: hear and see what a mix does on its way out of the studio, through a line out, a
//! headphone out or a speaker out into the load that is really plugged in.
//!
//! The plugin is a thin front: parameters in, [`dsp::Engine::process`] on the host's buffer,
//! meters and samples out to the [`editor`] through the [`feed`]. The physics lives in [`model`]
//! and [`dsp`], which know nothing of the framework.

pub mod devices;
pub mod dsp;
pub mod editor;
pub mod feed;
pub mod model;
pub mod params;

use dsp::Engine;
use feed::{FeedReceiver, FeedSender};
use nice_plug::prelude::*;
use params::OutpathParams;
use std::sync::Arc;

/// Host samples processed at a time while the editor is open: the input is kept on the stack for
/// the feed before the engine overwrites it in place.
const FEED_CHUNK: usize = 256;

/// Seed of the plugin's noise: fixed, so a bounce is reproducible.
pub const NOISE_SEED: u64 = 0x0u64 ^ 0x4F55_5450_4154_4821;

pub struct Outpath {
    params: Arc<OutpathParams>,
    /// Built in `activate()` for the host's rate and channel count; None before.
    /// Boxed: the engine holds its paths' rings, and the plugin is moved by value when the
    /// host creates it.
    engine: Option<Box<Engine>>,
    /// The audio thread's end of the feed to the editor.
    feed: FeedSender,
    /// The editor's end, handed to the editor when the host asks for it.
    feed_rx: FeedReceiver,
    /// Whether the editor was open during the previous block, to start its meters afresh.
    feed_was_open: bool,
    /// The standalone's test signal (a test hook; absent from plugin builds).
    #[cfg(feature = "standalone")]
    test_signal: standalone::TestSignal,
}

impl Default for Outpath {
    fn default() -> Self {
        let (feed, feed_rx) = feed::feed();
        Outpath {
            params: Arc::new(OutpathParams::default()),
            engine: None,
            feed,
            feed_rx,
            feed_was_open: false,
            #[cfg(feature = "standalone")]
            test_signal: standalone::TestSignal::default(),
        }
    }
}

impl Outpath {
    /// Runs the engine on the host's buffer and, while the editor is open, sends it the
    /// mono-summed input and output and the merged meters. With the editor closed this is the
    /// engine alone, its meters off.
    fn run(&mut self, channels: &mut [&mut [f32]]) {
        let Some(engine) = &mut self.engine else {
            return;
        };
        let settings = self.params.settings();
        engine.set_settings(&settings);
        let open = self.feed.is_open();
        if open != self.feed_was_open {
            self.feed.restart();
            self.feed_was_open = open;
        }
        // The meters are for the editor: while none is open nobody reads them, and the engine
        // does not measure (its audio is the same either way).
        engine.set_metering(open);
        if !open {
            engine.process(channels);
            return;
        }
        let len = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        let mut start = 0;
        while start < len {
            let end = (start + FEED_CHUNK).min(len);
            let mut input = [0.0f32; FEED_CHUNK];
            for (k, n) in (start..end).enumerate() {
                input[k] = feed::mono(channels, n);
            }
            match channels {
                [] => {}
                [c] => engine.process(&mut [&mut c[start..end]]),
                [l, r, ..] => engine.process(&mut [&mut l[start..end], &mut r[start..end]]),
            }
            for (k, n) in (start..end).enumerate() {
                self.feed.push(input[k], feed::mono(channels, n));
            }
            start = end;
        }
        let meters = engine.take_meters();
        self.feed
            .merge_meters(&meters, &settings, engine.sample_rate());
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

    type Editor = editor::OutpathEditor;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        Some(editor::create(self.params.clone(), self.feed_rx.clone()))
    }

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = layout
            .main_output_channels
            .map_or(2, |c| c.get() as usize)
            .clamp(1, 2);
        let engine = Box::new(Engine::new(
            config.sample_rate as f64,
            channels,
            NOISE_SEED,
            &self.params.settings(),
        ));
        context.set_latency_samples(engine.latency_samples() as u32);
        self.engine = Some(engine);
        true
    }

    /// A saved state is checked before it is applied: numbers outside their range are clamped
    /// (non-finite ones dropped, so the parameter keeps its value) and option indices that do
    /// not exist are dropped. nice-plug would otherwise store them as they are, and the next
    /// save would fail (an unknown option index aborts the host; an infinite number saves as
    /// null, which no longer loads).
    fn filter_state(state: &mut PluginState) {
        use crate::model::settings::{spec, ParamKind};
        use nice_plug::plugin::ParamValue;
        state
            .params
            .retain(|id, value| match (spec(id).map(|p| p.kind), value) {
                (Some(ParamKind::Float { min, max, .. }), ParamValue::F32(x)) => {
                    if !x.is_finite() {
                        return false;
                    }
                    *x = x.clamp(min as f32, max as f32);
                    true
                }
                (Some(ParamKind::Choice { options, .. }), ParamValue::I32(i)) => {
                    (0..options.len() as i32).contains(i)
                }
                _ => true,
            });
    }

    fn reset(&mut self) {
        if let Some(e) = &mut self.engine {
            e.set_settings(&self.params.settings());
            e.reset();
        }
        self.feed.restart();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let channels = buffer.as_slice();
        #[cfg(feature = "standalone")]
        if let Some(e) = &self.engine {
            self.test_signal.replace_silence(channels, e.sample_rate());
        }
        self.run(channels);
        ProcessStatus::Normal
    }
}

impl ClapPlugin for Outpath {
    const CLAP_ID: &'static str = "org.outpath.outpath";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Hear what the output path does: line, headphone and speaker outs into real loads");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Utility,
        ClapFeature::Analyzer,
        ClapFeature::Stereo,
        ClapFeature::Mono,
    ];
}

impl Vst3Plugin for Outpath {
    const VST3_CLASS_ID: [u8; 16] = *b"OutpathOutPath01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[
        Vst3SubCategory::Fx,
        Vst3SubCategory::Tools,
        Vst3SubCategory::Analyzer,
    ];
}

/// Test hooks of the standalone build (`--features standalone`, binary `outpath_standalone`):
/// a test signal for a machine without audio input, and a scenario to start with. Both are off
/// unless the standalone binary turns them on; plugin builds do not contain them.
#[cfg(feature = "standalone")]
pub mod standalone {
    use crate::model::Settings;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Mutex;

    /// Set by `outpath_standalone --test-signal`: silent input is replaced by [`TestSignal`].
    pub static TEST_SIGNAL: AtomicBool = AtomicBool::new(false);

    /// Levels the test tone steps through, one per second, dBFS (peak).
    pub const TEST_LEVELS_DBFS: [f64; 2] = [-30.0, -6.0];
    /// Frequency of the test tone, Hz.
    pub const TEST_TONE_HZ: f64 = 440.0;
    /// Level of the white noise under the tone, dBFS rms: it lets the spectrum show the
    /// connection's response across the band.
    pub const TEST_NOISE_DBFS: f64 = -50.0;

    /// How much of the test signal has been played, ms: the layout report waits until every
    /// level has been measured.
    static TEST_SIGNAL_PLAYED_MS: AtomicU64 = AtomicU64::new(0);

    /// A sine whose level changes every second over a quiet noise bed, written into a buffer
    /// that the host left silent (the dummy audio backend gives only silence).
    #[derive(Debug, Default)]
    pub struct TestSignal {
        /// Samples generated so far.
        n: u64,
        /// State of the noise generator (xorshift32), seeded on first use.
        rng: u32,
    }

    impl TestSignal {
        /// Fills `channels` with the test signal if it is on and the input is all zeros.
        pub fn replace_silence(&mut self, channels: &mut [&mut [f32]], sample_rate: f64) {
            if !TEST_SIGNAL.load(Ordering::Relaxed)
                || channels.iter().any(|c| c.iter().any(|&x| x != 0.0))
            {
                return;
            }
            if self.rng == 0 {
                self.rng = 0x9E37_79B9;
            }
            let len = channels.iter().map(|c| c.len()).min().unwrap_or(0);
            // Uniform noise in ±a has rms a/√3.
            let noise_peak = 10f64.powf(TEST_NOISE_DBFS / 20.0) * 3f64.sqrt();
            for i in 0..len {
                let t = self.n as f64 / sample_rate;
                let level = TEST_LEVELS_DBFS[(t as usize) % TEST_LEVELS_DBFS.len()];
                let tone =
                    10f64.powf(level / 20.0) * (std::f64::consts::TAU * TEST_TONE_HZ * t).sin();
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 17;
                self.rng ^= self.rng << 5;
                let noise = (self.rng as f64 / u32::MAX as f64 * 2.0 - 1.0) * noise_peak;
                for c in channels.iter_mut() {
                    c[i] = (tone + noise) as f32;
                }
                self.n += 1;
            }
            let played_ms = self.n as f64 * 1e3 / sample_rate;
            TEST_SIGNAL_PLAYED_MS.store(played_ms as u64, Ordering::Relaxed);
        }
    }

    /// Set by `outpath_standalone --layout-file PATH`: once [`layout_due`], the editor writes
    /// where it put its views (logical points) and the ids of the warnings it shows to PATH, so
    /// the screenshot test knows which pixels are which.
    pub static LAYOUT_FILE: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);

    /// How long the editor waits at least before writing its layout: the start scenario is
    /// written by then.
    pub const LAYOUT_AFTER_S: f64 = 1.0;

    /// How long the editor waits at most for the test signal before writing its layout anyway
    /// (the input may not be silent, or the audio may not run).
    pub const LAYOUT_GIVE_UP_S: f64 = 10.0;

    /// Whether the editor, open for `now_s`, should write its layout: after [`LAYOUT_AFTER_S`],
    /// and, with the test signal on, once it has played every level in full since the editor
    /// opened. The audio thread
    /// and the editor start at different moments, so the editor's clock alone cannot say which
    /// levels have been measured (a slow machine once wrote the layout during the first, quiet
    /// level, before the loud one that makes a line out current-limit).
    pub fn layout_due(now_s: f64) -> bool {
        // What had been played when the editor first asked: the meters measure only from then
        // on.
        let played = TEST_SIGNAL_PLAYED_MS.load(Ordering::Relaxed);
        let opened = match EDITOR_OPENED_AT_MS.compare_exchange(
            u64::MAX,
            played,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => played,
            Err(at) => at,
        };
        let levels_ms = 1000 * TEST_LEVELS_DBFS.len() as u64;
        now_s >= LAYOUT_AFTER_S
            && (!TEST_SIGNAL.load(Ordering::Relaxed)
                || played >= opened + levels_ms
                || now_s >= LAYOUT_GIVE_UP_S)
    }

    /// How much of the test signal had been played when the editor first asked [`layout_due`]
    /// (u64::MAX until then), ms.
    static EDITOR_OPENED_AT_MS: AtomicU64 = AtomicU64::new(u64::MAX);

    /// Writes the editor's layout and warnings to [`LAYOUT_FILE`] if one was asked for and not yet
    /// written: `{"chain": [x, y, width, height], …, "warning_ids": ["id", …]}`.
    pub fn report_layout(rects: &[(&str, egui::Rect)], warnings: &[&str]) {
        let Some(path) = LAYOUT_FILE.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        let mut fields: Vec<String> = rects
            .iter()
            .map(|(name, r)| {
                format!(
                    "\"{name}\": [{:.0}, {:.0}, {:.0}, {:.0}]",
                    r.left(),
                    r.top(),
                    r.width(),
                    r.height()
                )
            })
            .collect();
        let ids: Vec<String> = warnings.iter().map(|id| format!("\"{id}\"")).collect();
        fields.push(format!("\"warning_ids\": [{}]", ids.join(", ")));
        if let Err(e) = std::fs::write(&path, format!("{{{}}}\n", fields.join(", "))) {
            eprintln!(
                "outpath_standalone: cannot write the layout to {}: {e}",
                path.display()
            );
        }
    }

    static START_SETTINGS: Mutex<Option<Settings>> = Mutex::new(None);

    /// Settings for the editor to write through the host when it first opens (the standalone's
    /// `--source`, `--load` and `--set`).
    pub fn set_start_settings(s: Settings) {
        *START_SETTINGS.lock().unwrap_or_else(|e| e.into_inner()) = Some(s);
    }

    /// The start settings, once.
    pub fn take_start_settings() -> Option<Settings> {
        START_SETTINGS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

nice_export_clap!(Outpath);
nice_export_vst3!(Outpath);
