//! The engine: one entry point for the plugin and the command line.
//!
//! ```text
//! host sample ─ sanitise ─ ×F up ─┬─ path A ─┬─ ×F down ─ DC blocker ─ safety ceiling ─ out
//!                                 └─ path B ─┘ (only while a switch crossfades)
//! ```
//! Settings may change at any time; continuous values glide ([`smoothing`](super::smoothing))
//! and are turned into coefficients every [`SUB_BLOCK`] host samples, counted from the start
//! of processing so that the result does not depend on how the host cuts its blocks.

use super::ceiling::{Ceiling, ENGAGED_DB};
use super::filters::{DcBlocker, DC_BLOCK_HZ};
use super::isa::Isa;
use super::meters::Meters;
use super::network_block::BlockSlices;
use super::oversampling::{factor_for, Oversampler, MAX_BLOCK, MAX_INTERNAL_BLOCK};
use super::path::{Path, PathCoeffs};
use super::shapers::ColourTable;
use super::smoothing::{glide, SMOOTHING_TIME_S};
use crate::model::units::db_to_gain;
use crate::model::Settings;

/// Host samples between coefficient updates.
pub const SUB_BLOCK: usize = 16;
/// Length of a switch crossfade, seconds.
pub const CROSSFADE_S: f64 = 0.020;
/// Largest input magnitude taken, full scale = 1 (+60 dBFS): anything beyond is hostile.
pub const INPUT_LIMIT: f64 = 1_000.0;
/// Time constant of the running power average behind `max_power_1s`, seconds.
pub const POWER_AVERAGE_S: f64 = 1.0;

/// The whole output path for up to two channels.
pub struct Engine {
    sample_rate: f64,
    internal_rate: f64,
    channels: usize,
    seed: u64,
    table: ColourTable,
    /// Where the settings are going, and where the glide has got to.
    target: Settings,
    current: Settings,
    settled: bool,
    /// Coefficients need recomputing at the next sub-block.
    dirty: bool,
    smoothing_coeff: f64,
    active: Path,
    /// The path being faded in, with the fade's progress 0 … 1.
    incoming: Option<(Path, f64)>,
    fade_step: f64,
    /// Both channels share one oversampler (two lanes); the interpolating and decimating halves
    /// are separate instances.
    up: Oversampler,
    down: Oversampler,
    dc: [DcBlocker; 2],
    ceiling: [Ceiling; 2],
    ceiling_lin: f64,
    sub_pos: usize,
    /// One-pole average of instantaneous power per channel, W.
    power_avg: [f64; 2],
    power_coeff: f64,
    meters: Meters,
    scratch: Box<Scratch>,
    /// The vector instructions the inner loops run with.
    isa: Isa,
}

/// Two channels' values side by side.
type Frame = [f64; 2];
/// A block of internal samples per channel, single precision.
type Planar = [[f32; MAX_INTERNAL_BLOCK]; 2];
/// A block of internal samples per channel, double precision.
type Planar64 = [[f64; MAX_INTERNAL_BLOCK]; 2];

impl Engine {
    /// An engine for `channels` (1 or 2) at `sample_rate`, with the noise seeded by `seed`.
    /// Allocates; nothing after this does.
    pub fn new(sample_rate: f64, channels: usize, seed: u64, settings: &Settings) -> Engine {
        assert!(
            (1..=2).contains(&channels),
            "Outpath processes mono or stereo"
        );
        assert!(sample_rate.is_finite() && sample_rate > 0.0);
        let factor = factor_for(sample_rate);
        let internal_rate = sample_rate * factor as f64;
        let table = ColourTable::new();
        let os = Oversampler::new(factor);
        let mut e = Engine {
            sample_rate,
            internal_rate,
            channels,
            seed,
            active: Path::new(&settings.clamped(), internal_rate, factor, &table, seed),
            table,
            target: settings.clamped(),
            current: settings.clamped(),
            settled: true,
            dirty: false,
            smoothing_coeff: 1.0 - (-(SUB_BLOCK as f64) / (SMOOTHING_TIME_S * sample_rate)).exp(),
            incoming: None,
            fade_step: 1.0 / (CROSSFADE_S * sample_rate).max(1.0),
            up: os.clone(),
            down: os,
            dc: [DcBlocker::new(DC_BLOCK_HZ, sample_rate); 2],
            ceiling: [Ceiling::new(sample_rate), Ceiling::new(sample_rate)],
            ceiling_lin: db_to_gain(settings.clamped().ceiling),
            sub_pos: 0,
            power_avg: [0.0; 2],
            power_coeff: (-1.0 / (POWER_AVERAGE_S * sample_rate)).exp(),
            meters: Meters::default(),
            scratch: Scratch::new(),
            isa: Isa::detect(),
        };
        e.reset();
        e
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    pub fn internal_rate(&self) -> f64 {
        self.internal_rate
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Runs the same processing compiled for `isa` (which this processor must have): for
    /// comparing the builds in tests and benchmarks.
    pub fn set_isa(&mut self, isa: Isa) {
        assert!(
            isa == Isa::Baseline || isa == Isa::detect(),
            "this processor lacks {isa:?}"
        );
        self.isa = isa;
    }

    /// Delay from input to output in host samples: the oversampler's round trip plus the
    /// ceiling's look-ahead.
    pub fn latency_samples(&self) -> usize {
        self.up.latency() + self.ceiling[0].latency()
    }

    /// The settings the engine is heading for.
    pub fn settings(&self) -> &Settings {
        &self.target
    }

    /// New target settings; continuous values glide there, switches crossfade. Values outside
    /// the parameter table's ranges are clamped into them.
    pub fn set_settings(&mut self, s: &Settings) {
        let s = s.clamped();
        if s != self.target {
            self.target = s;
            self.settled = false;
        }
    }

    /// Back to silence with the current targets reached at once, as after construction.
    pub fn reset(&mut self) {
        self.current = self.target;
        self.settled = true;
        self.active = Path::new(
            &self.target,
            self.internal_rate,
            self.up.factor(),
            &self.table,
            self.seed,
        );
        self.incoming = None;
        self.up.reset();
        self.down.reset();
        for c in 0..2 {
            self.dc[c].reset();
            self.ceiling[c].reset();
        }
        self.ceiling_lin = db_to_gain(self.target.ceiling);
        self.sub_pos = 0;
        self.power_avg = [0.0; 2];
        self.meters = Meters::default();
        self.dirty = false;
    }

    /// The measurements since the last call, and a fresh start for the next interval.
    pub fn take_meters(&mut self) -> Meters {
        let mut m = std::mem::take(&mut self.meters);
        if m.host_samples == 0 {
            m.ceiling_min_db = 0.0;
        }
        m
    }

    /// The small-signal gain from input to output at `f` Hz for the current settings, without
    /// the oversampling and the DC blocker: H(f) times the listen mode's scale and the drive.
    pub fn predicted_gain(&self, f: f64) -> f64 {
        let c = &self.active.coeffs;
        crate::model::network::Network::from_settings(&self.active.settings)
            .response(f)
            .norm()
            * c.drive
            * c.out_scale
    }

    /// Moves the glide one sub-block on and recomputes what changed.
    fn update(&mut self) {
        if !self.settled {
            self.settled = glide(&mut self.current, &self.target, self.smoothing_coeff);
            self.dirty = true;
        }
        if self.incoming.is_none() && !self.active.same_switches(&self.current) {
            let mut next = self.active;
            next.settings = self.current;
            self.incoming = Some((next, 0.0));
            self.dirty = true;
        }
        if self.dirty {
            let factor = self.up.factor();
            self.active
                .follow(&self.current, self.internal_rate, factor, &self.table);
            if let Some((p, _)) = &mut self.incoming {
                p.settings = self.current;
                p.follow(&self.current, self.internal_rate, factor, &self.table);
            }
            self.ceiling_lin = db_to_gain(self.current.ceiling);
            self.dirty = !self.settled || self.incoming.is_some();
        } else {
            for c in &mut self.active.channels {
                c.net.flush();
            }
        }
    }

    /// Processes `buffers` in place: one slice per channel, all the same length (any, even 0).
    /// No allocation, no locks, no I/O.
    pub fn process(&mut self, buffers: &mut [&mut [f32]]) {
        match self.isa {
            Isa::Baseline => self.process_with::<false>(buffers),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2Fma` is only set when the processor has AVX2 and FMA.
            Isa::Avx2Fma => unsafe { self.process_avx2(buffers) },
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn process_avx2(&mut self, buffers: &mut [&mut [f32]]) {
        self.process_with::<true>(buffers)
    }

    #[inline(always)]
    fn process_with<const FMA: bool>(&mut self, buffers: &mut [&mut [f32]]) {
        let nch = buffers.len().min(self.channels);
        if nch == 0 {
            return;
        }
        let len = buffers[..nch].iter().map(|b| b.len()).min().unwrap_or(0);
        let mut start = 0;
        while start < len {
            if self.sub_pos == 0 {
                self.update();
            }
            // Blocks end where sub-blocks end, counted from the start of processing, so that
            // the result does not depend on how the host cuts its buffers.
            let mut n = (SUB_BLOCK - self.sub_pos).min(len - start);
            if let Some((_, t)) = &self.incoming {
                // A block ends where a crossfade ends, so that the swap falls between blocks.
                let left = ((1.0 - t) / self.fade_step).ceil().max(1.0);
                n = n.min(left as usize);
            }
            self.process_block::<FMA>(buffers, nch, start, n);
            self.sub_pos = (self.sub_pos + n) % SUB_BLOCK;
            start += n;
        }
    }

    /// Host samples `start .. start + n` (within one sub-block): sanitise, oversample, run the
    /// paths at the internal rate, decimate, then the DC blocker and the ceiling.
    #[inline(always)]
    fn process_block<const FMA: bool>(
        &mut self,
        buffers: &mut [&mut [f32]],
        nch: usize,
        start: usize,
        n: usize,
    ) {
        let f = self.up.factor();
        let len = n * f;
        let sc = &mut *self.scratch;
        for ch in 0..nch {
            let mut x = [0.0f32; MAX_BLOCK];
            for (v, &raw) in x[..n].iter_mut().zip(&buffers[ch][start..start + n]) {
                *v = if raw.is_finite() {
                    raw.clamp(-INPUT_LIMIT as f32, INPUT_LIMIT as f32)
                } else {
                    0.0
                };
                self.meters.peak_in = self.meters.peak_in.max(v.abs() as f64);
            }
            self.up.upsample::<FMA>(ch, &x[..n], &mut sc.up[ch][..len]);
        }

        run_path(
            &mut self.active,
            &sc.up,
            nch,
            len,
            &mut sc.stages,
            &mut sc.out,
        );
        let mut p_sum = [[0.0; 2]; MAX_BLOCK];
        let mut flags = [(false, false, false); MAX_BLOCK];
        let k = &self.active.coeffs;
        measure(
            &sc.stages,
            k,
            nch,
            n,
            f,
            &mut self.meters,
            &mut p_sum,
            &mut flags,
        );

        if let Some((p, t)) = &mut self.incoming {
            run_path(p, &sc.up, nch, len, &mut sc.stages, &mut sc.out_b);
            for i in 0..n {
                *t = (*t + self.fade_step).min(1.0);
                let t = *t as f32;
                for ch in 0..nch {
                    let (a, b) = (&mut sc.out[ch][i * f..(i + 1) * f], &sc.out_b[ch][i * f..]);
                    for (a, b) in a.iter_mut().zip(b) {
                        *a = *a * (1.0 - t) + *b * t;
                    }
                }
            }
        }
        let mut y = [[0.0f32; MAX_BLOCK]; 2];
        for ch in 0..nch {
            self.down
                .downsample::<FMA>(ch, &mut sc.out[ch][..len], &mut y[ch][..n]);
        }

        for i in 0..n {
            let mut ceiling_engaged = false;
            for ch in 0..nch {
                let pa = &mut self.power_avg[ch];
                let p_mean = p_sum[i][ch] / f as f64;
                *pa = p_mean + (*pa - p_mean) * self.power_coeff;
                self.meters.max_power_1s = self.meters.max_power_1s.max(*pa);

                let v = self.dc[ch].process(y[ch][i] as f64);
                let (v, gain) = self.ceiling[ch].process(v, self.ceiling_lin);
                if gain < ENGAGED_GAIN {
                    ceiling_engaged = true;
                    let db = 20.0 * gain.log10();
                    self.meters.ceiling_min_db = self.meters.ceiling_min_db.min(db);
                }
                let v = v as f32;
                buffers[ch][start + i] = if v.is_finite() && v.abs() >= 1e-30 {
                    v
                } else {
                    0.0
                };
            }
            let (rail, limit, overload) = flags[i];
            self.meters.samples += f as u64;
            self.meters.host_samples += 1;
            self.meters.rail_clips += u64::from(rail);
            self.meters.current_limits += u64::from(limit);
            self.meters.receiver_overloads += u64::from(overload);
            self.meters.ceiling_events += u64::from(ceiling_engaged);
        }
        if let Some((_, t)) = &self.incoming {
            if *t >= 1.0 {
                let (p, _) = self.incoming.take().expect("checked above");
                self.active = p;
            }
        }
    }
}

/// What one path produces over a block at the internal rate, stage by stage, per channel.
struct Stages {
    /// Working room for the noise, and the hum oscillator's wave.
    noise: [f32; MAX_INTERNAL_BLOCK],
    hum: [f64; MAX_INTERNAL_BLOCK],
    /// The stage's demanded voltage and what the rails let through, V.
    demand: Planar,
    v_int: Planar,
    /// The network's load voltage, stage current and load current.
    net_v: Planar64,
    i_out: Planar64,
    i_load: Planar64,
    limiting: [[bool; MAX_INTERNAL_BLOCK]; 2],
    /// Load voltage with the hum, V.
    v_load: Planar64,
    overload: [[bool; MAX_INTERNAL_BLOCK]; 2],
}

/// Working memory of the engine, allocated once.
struct Scratch {
    up: Planar,
    out: Planar,
    out_b: Planar,
    stages: Stages,
}

impl Scratch {
    fn new() -> Box<Scratch> {
        const Z32: Planar = [[0.0; MAX_INTERNAL_BLOCK]; 2];
        const Z64: Planar64 = [[0.0; MAX_INTERNAL_BLOCK]; 2];
        const NO: [[bool; MAX_INTERNAL_BLOCK]; 2] = [[false; MAX_INTERNAL_BLOCK]; 2];
        Box::new(Scratch {
            up: Z32,
            out: Z32,
            out_b: Z32,
            stages: Stages {
                noise: [0.0; MAX_INTERNAL_BLOCK],
                hum: [0.0; MAX_INTERNAL_BLOCK],
                demand: Z32,
                v_int: Z32,
                net_v: Z64,
                i_out: Z64,
                i_load: Z64,
                limiting: NO,
                v_load: Z64,
                overload: NO,
            },
        })
    }
}

/// Runs `path` over the first `len` internal samples of `up`, stage by stage and channel by
/// channel: the stage's voltages (colour, DC, noise, rails), then the network one host sample
/// of steps at a time — as one block while the current limit stays out of it, step by step
/// with the limit otherwise — then hum, receiver and listen-mode scaling into `out`.
#[inline(always)]
fn run_path(
    path: &mut Path,
    up: &Planar,
    nch: usize,
    len: usize,
    st: &mut Stages,
    out: &mut Planar,
) {
    let Path {
        coeffs: k,
        channels,
        hum,
        ..
    } = path;
    let f = k.block.steps();
    if k.has_hum() {
        hum.fill(&mut st.hum[..len]);
    } else {
        st.hum[..len].fill(0.0);
    }
    for ch in 0..nch {
        let c = &mut channels[ch];
        c.stage_block(
            k,
            &up[ch][..len],
            &mut st.noise[..len],
            &mut st.demand[ch][..len],
            &mut st.v_int[ch][..len],
        );
        for j0 in (0..len).step_by(f) {
            let mut u = [0.0; super::oversampling::MAX_FACTOR];
            for (u, &v) in u[..f].iter_mut().zip(&st.v_int[ch][j0..j0 + f]) {
                *u = v as f64;
            }
            let span = j0..j0 + f;
            let out = BlockSlices {
                v_load: &mut st.net_v[ch][span.clone()],
                i_out: &mut st.i_out[ch][span.clone()],
                i_load: &mut st.i_load[ch][span.clone()],
            };
            if k.block.run(&mut c.net, &u[..f], out) {
                st.limiting[ch][span].fill(false);
            } else {
                for (m, &v) in u[..f].iter().enumerate() {
                    let o = c.net.step(&k.net, v);
                    st.net_v[ch][j0 + m] = o.v_load;
                    st.i_out[ch][j0 + m] = o.i_out;
                    st.i_load[ch][j0 + m] = o.i_load;
                    st.limiting[ch][j0 + m] = o.limiting;
                }
            }
        }
        k.heard_block(
            &st.net_v[ch][..len],
            &st.hum[..len],
            &mut st.v_load[ch][..len],
            &mut st.overload[ch][..len],
            &mut out[ch][..len],
        );
    }
}

/// Adds a block's stages to the meters; per host sample, the mean power of each channel and
/// whether the rails, the current limit or the receiver were at work. Each host sample's
/// internal samples are summed on their own before joining the totals, so the totals do not
/// depend on how the host cut its blocks.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn measure(
    st: &Stages,
    k: &PathCoeffs,
    nch: usize,
    n: usize,
    f: usize,
    m: &mut Meters,
    p_sum: &mut [Frame; MAX_BLOCK],
    flags: &mut [(bool, bool, bool); MAX_BLOCK],
) {
    for fl in flags[..n].iter_mut() {
        *fl = (false, false, false);
    }
    // Maxima as plain comparisons (NaN never reaches here), so that they run in vector
    // registers like the sums.
    let max = |m: f64, x: f64| if x > m { x } else { m };
    for ch in 0..nch {
        for i in 0..n {
            let span = i * f..(i + 1) * f;
            let v = &st.v_load[ch][span.clone()];
            let i_out = &st.i_out[ch][span.clone()];
            let i_load = &st.i_load[ch][span.clone()];
            let (mut sv, mut sv2, mut si2, mut sp) = (0.0, 0.0, 0.0, 0.0);
            let (mut pv, mut pi) = (0.0f64, 0.0f64);
            for j in 0..f {
                sv += v[j];
                sv2 += v[j] * v[j];
                si2 += i_out[j] * i_out[j];
                sp += v[j] * i_load[j];
                pv = max(pv, v[j].abs());
                pi = max(pi, i_out[j].abs());
            }
            m.sum_v[ch] += sv;
            m.sum_v2[ch] += sv2;
            m.sum_i2[ch] += si2;
            m.sum_p[ch] += sp;
            p_sum[i][ch] = sp;
            m.peak_v = max(m.peak_v, pv);
            m.peak_i = max(m.peak_i, pi);
            let mut pvi = 0.0f32;
            let mut rail = false;
            for (&d, &vi) in st.demand[ch][span.clone()]
                .iter()
                .zip(&st.v_int[ch][span.clone()])
            {
                let a = vi.abs();
                pvi = if a > pvi { a } else { pvi };
                rail |= k.rail_clipping(d, vi);
            }
            m.peak_v_int = max(m.peak_v_int, pvi as f64);
            let limit = st.limiting[ch][span.clone()]
                .iter()
                .fold(false, |a, &b| a | b);
            let overload = st.overload[ch][span].iter().fold(false, |a, &b| a | b);
            let fl = &mut flags[i];
            *fl = (fl.0 | rail, fl.1 | limit, fl.2 | overload);
        }
    }
}

/// The ceiling's gain below which it counts as engaged: 10^(−0.05/20).
const ENGAGED_GAIN: f64 = 0.994_260_074_328_271_6;
const _: () = assert!(ENGAGED_DB == 0.05);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClipShape, LoadKind};

    /// The portable build and the AVX2 build render the same connection to within f32
    /// rounding (they differ only in fused multiply-adds): both are tested wherever the
    /// processor has AVX2, whichever the engine would pick.
    #[test]
    fn both_instruction_sets_render_the_same() {
        let mut s = Settings::default();
        s.load = LoadKind::PassiveSpeaker;
        s.z_load = 6.0;
        s.z_peak = 45.0;
        // The rails hold 6 V; into about 10 Ω that is 0.4 A, past this limit's 0.28 A knee.
        s.i_max = 400.0;
        s.clip_shape = ClipShape::Tube;
        s.color = 3.0;
        s.gain = 6.0;
        s.noise = -80.0;
        s.hum = -50.0;
        let n = 48_000;
        let x: Vec<f32> = (0..n)
            .map(|i| 0.7 * (std::f32::consts::TAU * 220.0 * i as f32 / 48_000.0).sin())
            .collect();
        let render = |isa: Isa| {
            let mut e = Engine::new(48_000.0, 2, 1, &s);
            e.set_isa(isa);
            let (mut l, mut r) = (x.clone(), x.clone());
            for (a, b) in l.chunks_mut(100).zip(r.chunks_mut(100)) {
                e.process(&mut [a, b]);
            }
            (l, e.take_meters())
        };
        let (base, m) = render(Isa::Baseline);
        assert!(m.current_limits > 0 && m.rail_clips > 0, "{m:?}");
        assert!(base.iter().all(|v| v.is_finite()));
        let best = Isa::detect();
        if best == Isa::Baseline {
            return;
        }
        let (fast, _) = render(best);
        let worst = base
            .iter()
            .zip(&fast)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{worst}");
    }
}
