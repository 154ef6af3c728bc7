//! `outpath render`: audio through the engine, a report of what the connection did.

use crate::report::{self, Report};
use crate::scenario;
use crate::{write_atomically, CliError, CliResult, ScenarioArgs};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use outpath::dsp::Engine;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Seed of the command line's noise: the plugin's, so a render equals a bounce.
const SEED: u64 = outpath::NOISE_SEED;
/// Host block size the command line processes in.
const BLOCK: usize = 512;
/// Renders longer than this show a progress bar on a terminal, s of audio.
const PROGRESS_ABOVE_S: f64 = 30.0;

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// Input WAV (16/24/32-bit integer or 32-bit float, mono or stereo), or `-` for the demo.
    #[arg(value_name = "IN.wav", required_unless_present = "demo")]
    input: Option<PathBuf>,
    /// Output WAV, written as 32-bit float at the input's rate and channel count.
    #[arg(value_name = "OUT.wav")]
    output: Option<PathBuf>,
    /// Render the built-in program-like test signal instead of a file (then only OUT.wav is given).
    #[arg(long)]
    demo: bool,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Also write the report as JSON.
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    /// Keep the engine's latency in the output (as a host without delay compensation would),
    /// instead of shifting it out.
    #[arg(long)]
    keep_latency: bool,
    /// Print no human report.
    #[arg(long, short)]
    quiet: bool,
}

/// Audio in memory: one Vec per channel.
pub struct Audio {
    pub rate: u32,
    pub channels: Vec<Vec<f32>>,
}

pub fn read_wav(path: &Path) -> CliResult<Audio> {
    let mut reader = hound::WavReader::open(path)
        .map_err(|e| CliError(format!("cannot read {}: {e}", path.display())))?;
    let spec = reader.spec();
    let nch = spec.channels as usize;
    if !(1..=2).contains(&nch) {
        return Err(CliError(format!(
            "{}: {nch} channels; Outpath renders mono or stereo",
            path.display()
        )));
    }
    if spec.sample_rate < 8_000 || spec.sample_rate > 768_000 {
        return Err(CliError(format!(
            "{}: sample rate {} Hz is outside 8 kHz … 768 kHz",
            path.display(),
            spec.sample_rate
        )));
    }
    let bad = |e: hound::Error| CliError(format!("cannot read {}: {e}", path.display()));
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(bad)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(bad)?
        }
    };
    let mut channels = vec![Vec::with_capacity(samples.len() / nch); nch];
    for (i, s) in samples.iter().enumerate() {
        channels[i % nch].push(*s);
    }
    Ok(Audio {
        rate: spec.sample_rate,
        channels,
    })
}

pub fn write_wav(path: &Path, audio: &Audio) -> CliResult<()> {
    write_atomically(path, |tmp| {
        let spec = hound::WavSpec {
            channels: audio.channels.len() as u16,
            sample_rate: audio.rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let err = |e: hound::Error| CliError(format!("cannot write {}: {e}", path.display()));
        let mut w = hound::WavWriter::create(tmp, spec).map_err(err)?;
        let n = audio.channels[0].len();
        for i in 0..n {
            for c in &audio.channels {
                w.write_sample(c[i]).map_err(err)?;
            }
        }
        w.finalize().map_err(err)
    })
}

/// Runs `audio` through `engine` in place; with `align`, shifts the latency out (rendering the
/// tail from silence) so that the output lines up with the input.
pub fn process(
    engine: &mut Engine,
    audio: &mut Audio,
    align: bool,
    progress: Option<&ProgressBar>,
) {
    let latency = if align { engine.latency_samples() } else { 0 };
    let n = audio.channels[0].len();
    let nch = audio.channels.len();
    let mut padded: Vec<Vec<f32>> = audio
        .channels
        .iter()
        .map(|c| {
            let mut v = c.clone();
            v.resize(n + latency, 0.0);
            v
        })
        .collect();
    let mut pos = 0;
    while pos < n + latency {
        let end = (pos + BLOCK).min(n + latency);
        let mut slices: Vec<&mut [f32]> = padded.iter_mut().map(|c| &mut c[pos..end]).collect();
        engine.process(&mut slices[..nch]);
        pos = end;
        if let Some(p) = progress {
            p.set_position(pos as u64);
        }
    }
    for (out, full) in audio.channels.iter_mut().zip(padded) {
        out.copy_from_slice(&full[latency..latency + n]);
    }
}

pub fn run(a: RenderArgs) -> CliResult<()> {
    // With --demo, the one positional is the output; `-` as input also means the demo.
    let (input, output) = match (a.demo, a.input, a.output) {
        (true, Some(out), None) => (None, out),
        (true, Some(_), Some(_)) => return Err(CliError("--demo takes only OUT.wav".into())),
        (_, Some(inp), Some(out)) if inp.as_os_str() == "-" => (None, out),
        (false, Some(inp), Some(out)) => (Some(inp), out),
        _ => {
            return Err(CliError(
                "render needs IN.wav OUT.wav, or --demo OUT.wav".into(),
            ))
        }
    };
    let scenario = scenario::build(&a.scenario)?;
    let mut audio = match &input {
        Some(p) => read_wav(p)?,
        None => {
            let [l, r] = crate::demo::signal();
            Audio {
                rate: crate::demo::DEMO_RATE,
                channels: vec![l, r],
            }
        }
    };
    if audio.channels[0].is_empty() {
        return Err(CliError(format!(
            "{}: no samples",
            input.as_deref().unwrap_or(Path::new("-")).display()
        )));
    }
    let nch = audio.channels.len();
    let fs = audio.rate as f64;
    let mut engine = Engine::new(fs, nch, SEED, &scenario.settings);
    let seconds = audio.channels[0].len() as f64 / fs;
    let progress = (std::io::stderr().is_terminal() && seconds > PROGRESS_ABOVE_S).then(|| {
        let p = ProgressBar::new((audio.channels[0].len() + engine.latency_samples()) as u64);
        p.set_style(
            ProgressStyle::with_template("rendering {bar:40} {percent}% ({eta} left)")
                .expect("valid template"),
        );
        p
    });
    let input_peak = audio
        .channels
        .iter()
        .flatten()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let started = std::time::Instant::now();
    process(&mut engine, &mut audio, !a.keep_latency, progress.as_ref());
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let meters = engine.take_meters();
    let report = Report::new(
        &scenario,
        input
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "demo".into()),
        output.display().to_string(),
        &audio,
        &meters,
        engine.latency_samples(),
        input_peak,
        seconds / elapsed.max(1e-9),
    );
    write_wav(&output, &audio)?;
    if let Some(path) = &a.report {
        let json = serde_json::to_string_pretty(&report.json())?;
        write_atomically(path, |tmp| {
            std::fs::write(tmp, json + "\n")
                .map_err(|e| CliError(format!("cannot write {}: {e}", path.display())))
        })?;
    }
    if !a.quiet {
        print!("{}", report::text(&report));
    }
    Ok(())
}
