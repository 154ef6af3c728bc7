//! The report of a render: settings, latency, operating point, event counts and warnings, as
//! text for a person and as JSON for scripts (its shape is documented in the README).

use crate::render::Audio;
use crate::scenario::Scenario;
use outpath::dsp::Meters;
use outpath::model::settings::{format_number, PARAMS};
use outpath::model::warnings::{self, Warning};
use outpath::model::{OperatingPoint, Settings};
use serde_json::{json, Map, Value};

pub struct Report {
    pub settings: Settings,
    pub source: Option<String>,
    pub load: Option<String>,
    pub input: String,
    pub output: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub seconds: f64,
    pub latency: usize,
    pub op: OperatingPoint,
    pub warnings: Vec<Warning>,
    pub speed: f64,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        sc: &Scenario,
        input: String,
        output: String,
        audio: &Audio,
        m: &Meters,
        latency: usize,
        input_peak: f32,
        speed: f64,
    ) -> Self {
        let fs = audio.rate as f64;
        let mut op = m.operating_point(&sc.settings, fs);
        op.input_peak_dbfs = 20.0 * (input_peak.max(1e-10) as f64).log10();
        Report {
            settings: sc.settings,
            source: sc.source.clone(),
            load: sc.load.clone(),
            input,
            output,
            sample_rate: audio.rate,
            channels: audio.channels.len(),
            seconds: audio.channels[0].len() as f64 / fs,
            latency,
            warnings: warnings::warnings(&sc.settings, &op),
            op,
            speed,
        }
    }

    pub fn json(&self) -> Value {
        let mut settings = Map::new();
        for p in PARAMS {
            let v = self.settings.get(p.id).unwrap_or_default();
            let value = match p.kind {
                outpath::model::settings::ParamKind::Float { .. } => json!(v),
                _ => json!(self.settings.text(p.id)),
            };
            settings.insert(p.id.to_string(), value);
        }
        let op = &self.op;
        json!({
            "outpath_version": env!("CARGO_PKG_VERSION"),
            "input": self.input,
            "output": self.output,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "duration_s": self.seconds,
            "devices": { "source": self.source, "load": self.load },
            "settings": settings,
            "latency": { "samples": self.latency, "ms": self.latency as f64 * 1000.0 / self.sample_rate as f64 },
            "operating_point": {
                "v_peak": op.v_peak,
                "v_rms": op.v_rms,
                "v_dc": op.v_dc,
                "i_peak_a": op.i_peak,
                "i_rms_a": op.i_rms,
                "power_w": op.power,
                "power_1s_max_w": op.power_1s_max,
                "spl_db": op.spl,
                "input_peak_dbfs": op.input_peak_dbfs,
            },
            "counts": {
                "rail_clips": op.rail_clips,
                "current_limits": op.current_limits,
                "receiver_overloads": op.receiver_overloads,
                "ceiling": op.ceiling_events,
                "ceiling_max_reduction_db": (-op.ceiling_db).max(0.0),
            },
            "warnings": self.warnings,
        })
    }
}

fn volts(v: f64) -> String {
    if v >= 1.0 {
        format!("{} V", format_number(v))
    } else {
        format!("{} mV", format_number(v * 1e3))
    }
}

fn amps(a: f64) -> String {
    if a >= 1.0 {
        format!("{} A", format_number(a))
    } else {
        format!("{} mA", format_number(a * 1e3))
    }
}

fn watts(w: f64) -> String {
    if w >= 1.0 {
        format!("{} W", format_number(w))
    } else if w >= 1e-3 {
        format!("{} mW", format_number(w * 1e3))
    } else {
        format!("{} µW", format_number(w * 1e6))
    }
}

/// The human report.
pub fn text(r: &Report) -> String {
    let s = &r.settings;
    let op = &r.op;
    let mut t = String::new();
    let dev = |d: &Option<String>| d.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    t += &format!("Outpath render: {} → {}\n", r.input, r.output);
    t += &format!(
        "  {} Hz, {} ch, {:.2} s, rendered {:.0}× real time\n",
        r.sample_rate, r.channels, r.seconds, r.speed
    );
    t += &format!(
        "  source{}: {} out · {} Ω · {} V rails · {} mA limit · {} dBu full scale · gain {} dB\n",
        dev(&r.source),
        s.text("output").unwrap_or_default(),
        format_number(s.z_out),
        format_number(s.v_clip),
        format_number(s.i_max),
        format_number(s.ref_level),
        format_number(s.gain)
    );
    t += &format!(
        "  cable: {} m · {} Ω loop · {} pF · {}\n",
        format_number(s.cable_len),
        format_number(2.0 * s.cable_len * s.cable_r),
        format_number(s.cable_len * s.cable_c),
        if s.balanced { "balanced" } else { "unbalanced" }
    );
    t += &format!(
        "  load{}: {} · {} Ω",
        dev(&r.load),
        s.text("load").unwrap_or_default(),
        format_number(s.z_load)
    );
    if s.load.is_transducer() && s.z_peak > s.z_load {
        t += &format!(
            " ({} Ω @ {} Hz)",
            format_number(s.z_peak),
            format_number(s.f_res)
        );
    }
    t += &format!(" · rated {}\n", watts(s.p_max));
    t += &format!(
        "  latency: {} samples ({:.2} ms)\n",
        r.latency,
        r.latency as f64 * 1000.0 / r.sample_rate as f64
    );
    t += "Operating point (at the load's terminals):\n";
    t += &format!(
        "  voltage  {} peak, {} rms, {} DC\n",
        volts(op.v_peak),
        volts(op.v_rms),
        volts(op.v_dc)
    );
    t += &format!(
        "  current  {} peak, {} rms (limit {} mA)\n",
        amps(op.i_peak),
        amps(op.i_rms),
        format_number(s.i_max)
    );
    t += &format!(
        "  power    {} mean, {} loudest second (rating {})\n",
        watts(op.power),
        watts(op.power_1s_max),
        watts(s.p_max)
    );
    match op.spl {
        Some(spl) => t += &format!("  SPL      {:.1} dB at the listener\n", spl),
        None => t += "  SPL      — (a line input makes no sound)\n",
    }
    t += &format!("  input    {:.1} dBFS peak\n", op.input_peak_dbfs);
    let secs = |n: u64| n as f64 / r.sample_rate as f64;
    t += "Events (time spent):\n";
    t += &format!(
        "  rail clipping {:.3} s · current limiting {:.3} s · receiver overload {:.3} s · safety ceiling {:.3} s (up to {:.1} dB)\n",
        secs(op.rail_clips),
        secs(op.current_limits),
        secs(op.receiver_overloads),
        secs(op.ceiling_events),
        (-op.ceiling_db).max(0.0)
    );
    if r.warnings.is_empty() {
        t += "Warnings: none\n";
    } else {
        t += "Warnings:\n";
        for w in &r.warnings {
            t += &format!("  [{}] {}: {}\n", w.severity.as_str(), w.id, w.message);
        }
    }
    t
}
