//! The engine: one entry point for the plugin and the command line.
//!
//! ```text
//! host sample ─ sanitise ─ ×2 up ─┬─ path A ─┬─ ×2 down ─ DC blocker ─ safety ceiling ─ out
//!                                 └─ path B ─┘ (only while a switch crossfades)
//! ```
//! Each path runs each channel at twice the host rate while nothing is near a knee, and at
//! the internal rate (×F) otherwise ([`two_rate`](super::two_rate)).
//! Settings may change at any time; continuous values glide ([`smoothing`](super::smoothing))
//! and are turned into coefficients every [`SUB_BLOCK`] host samples, counted from the start
//! of processing so that the result does not depend on how the host cuts its blocks. While
//! nothing moves, blocks run [`STEADY_BLOCK`] host samples (the updates within would only
//! flush denormals, which the next one does).

use super::ceiling::{Ceiling, ENGAGED_DB};
use super::filters::{DcBlocker, FourStep, DC_BLOCK_HZ};
use super::isa::Isa;
use super::meters::Meters;
use super::oversampling::{factor_for, Oversampler, MAX_BLOCK};
use super::path::Path;
use super::shapers::ColourTable;
use super::smoothing::{glide, SMOOTHING_TIME_S};
use super::two_rate::{
    lane_peak, lanes, ring_write, BlockMeasure, ChannelRun, Rates, RunScratch, LIMIT, OVERLOAD,
    RAIL, RING,
};
use crate::model::units::db_to_gain;
use crate::model::Settings;

/// Host samples between coefficient updates while settings move.
pub const SUB_BLOCK: usize = 16;
/// Host samples in one block while nothing moves (no glide, no crossfade): a block's fixed
/// costs spread over more samples. Sixteen sub-blocks, the most the stages take at once.
pub const STEADY_BLOCK: usize = 16 * SUB_BLOCK;
const _: () = assert!(STEADY_BLOCK == MAX_BLOCK);
/// Length of a switch crossfade, seconds.
pub const CROSSFADE_S: f64 = 0.020;
/// Largest input magnitude taken, full scale = 1 (+60 dBFS): anything beyond is hostile.
pub const INPUT_LIMIT: f64 = 1_000.0;
/// Samples smaller than this (−600 dBFS) are silence, in and out: subnormal values would send
/// the processor's arithmetic down its slow path, and nothing of them could be heard.
pub const SILENCE_BELOW: f32 = 1e-30;
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
    /// The path being faded in, and the fade's progress 0 … 1 while there is one. The path
    /// is a slot of its own: a fade starts by copying the active path into it in place and
    /// ends by swapping the two, so that neither allocates on the audio thread (a path's
    /// rings, hundreds of kilobytes, live on the heap).
    incoming: Path,
    fade: Option<f64>,
    fade_step: f64,
    rates: Rates,
    /// The first ×2 stage, shared by both channels (two lanes); the interpolating and
    /// decimating halves are separate instances.
    up: Oversampler,
    down: Oversampler,
    /// The later stages (×2 to ×F) of each path: the active one's in `slot`, the incoming
    /// one's in the other.
    later_up: [Oversampler; 2],
    later_down: [Oversampler; 2],
    slot: usize,
    /// The first stage's output per channel by coarse sample, and the coarse samples so far.
    u2: [[f32; RING]; 2],
    t2: u64,
    dc: [DcBlocker; 2],
    ceiling: [Ceiling; 2],
    ceiling_lin: f64,
    sub_pos: usize,
    /// One-pole average of instantaneous power per channel, W.
    power_avg: [FourStep; 2],
    power_coeff: f64,
    meters: Meters,
    /// Whether the meters measure: off, nothing is measured and the meters stay empty (the
    /// plugin turns them off while no editor reads them).
    metering: bool,
    scratch: Box<Scratch>,
    /// The vector instructions the inner loops run with.
    isa: Isa,
}

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
        let table = ColourTable::shared().clone();
        let first = Oversampler::first_stage(factor);
        let later = Oversampler::later_stages(factor);
        let rates = Rates::new(sample_rate, factor, &later);
        let settings = settings.clamped();
        // The incoming slot starts as a copy; a crossfade overwrites it before reading it.
        let active = Path::new(&settings, &rates, &table, seed);
        let incoming = active.clone();
        let mut e = Engine {
            sample_rate,
            internal_rate,
            channels,
            seed,
            active,
            incoming,
            table,
            target: settings,
            current: settings,
            settled: true,
            dirty: false,
            smoothing_coeff: 1.0 - (-(SUB_BLOCK as f64) / (SMOOTHING_TIME_S * sample_rate)).exp(),
            fade: None,
            fade_step: 1.0 / (CROSSFADE_S * sample_rate).max(1.0),
            rates,
            up: first.clone(),
            down: first,
            later_up: [later.clone(), later.clone()],
            later_down: [later.clone(), later],
            slot: 0,
            u2: [[0.0; RING]; 2],
            t2: 0,
            dc: [DcBlocker::new(DC_BLOCK_HZ, sample_rate); 2],
            ceiling: [Ceiling::new(sample_rate), Ceiling::new(sample_rate)],
            ceiling_lin: db_to_gain(settings.ceiling),
            sub_pos: 0,
            power_avg: [FourStep::new(); 2],
            power_coeff: (-1.0 / (POWER_AVERAGE_S * sample_rate)).exp(),
            meters: Meters::default(),
            metering: true,
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
        assert!(isa.available(), "this processor lacks {isa:?}");
        self.isa = isa;
    }

    /// Lets the fast path run (the default) or keeps every channel on the full path, for
    /// comparing the two; starts again from silence.
    pub fn set_fast_path(&mut self, allow: bool) {
        self.rates.allow_fast = allow;
        self.reset();
    }

    /// How often the full path took over since the last reset, summed over the active path's
    /// channels, and the coarse steps it ran (each host sample is two): for the benchmarks.
    pub fn full_path_use(&self) -> (u64, u64) {
        self.active.channels.iter().fold((0, 0), |(n, s), c| {
            (n + c.rates.takeovers, s + c.rates.full_steps)
        })
    }

    /// Delay from input to output in host samples: the oversampler's round trip plus the
    /// ceiling's look-ahead.
    pub fn latency_samples(&self) -> usize {
        self.up.latency()
            + self.rates.round_trip as usize / self.rates.per_host
            + self.ceiling[0].latency()
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
        self.active
            .restart(&self.target, &self.rates, &self.table, self.seed);
        self.fade = None;
        self.up.reset();
        self.down.reset();
        for o in self.later_up.iter_mut().chain(&mut self.later_down) {
            o.reset();
        }
        for u in &mut self.u2 {
            u.fill(0.0);
        }
        self.t2 = 0;
        for c in 0..2 {
            self.dc[c].reset();
            self.ceiling[c].reset();
        }
        self.ceiling_lin = db_to_gain(self.target.ceiling);
        self.sub_pos = 0;
        self.power_avg = [FourStep::new(); 2];
        self.meters = Meters::default();
        self.dirty = false;
    }

    /// Turns the meters on or off (on from construction). Off, the engine measures nothing
    /// and [`take_meters`](Self::take_meters) returns empty meters; the audio is the same to
    /// the bit either way. Turned on again, the running power average starts from zero, as
    /// after a reset: the meters cover the time since.
    pub fn set_metering(&mut self, on: bool) {
        if on && !self.metering {
            self.power_avg = [FourStep::new(); 2];
            self.meters = Meters::default();
        }
        self.metering = on;
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
        if self.fade.is_none() && !self.active.same_switches(&self.current) {
            self.incoming.copy_from(&self.active);
            self.incoming.settings = self.current;
            self.fade = Some(0.0);
            // The incoming path starts from the active one's filters too.
            let (a, b) = self.later_up.split_at_mut(1);
            let (a, b) = if self.slot == 0 {
                (&mut b[0], &a[0])
            } else {
                (&mut a[0], &b[0])
            };
            a.copy_state_from(b);
            let (a, b) = self.later_down.split_at_mut(1);
            let (a, b) = if self.slot == 0 {
                (&mut b[0], &a[0])
            } else {
                (&mut a[0], &b[0])
            };
            a.copy_state_from(b);
            self.dirty = true;
        }
        if self.dirty {
            self.active.follow(&self.current, &self.rates, &self.table);
            if self.fade.is_some() {
                let p = &mut self.incoming;
                p.settings = self.current;
                p.follow(&self.current, &self.rates, &self.table);
            }
            self.ceiling_lin = db_to_gain(self.current.ceiling);
            self.dirty = !self.settled || self.fade.is_some();
        } else {
            for c in &mut self.active.channels {
                c.net.flush();
                c.rates.coarse.flush();
            }
            // The running power average decays geometrically in silence; no subnormals.
            for pa in &mut self.power_avg {
                pa.flush();
            }
        }
    }

    /// True while nothing moves: no glide, no crossfade, no coefficients to recompute.
    fn steady(&self) -> bool {
        self.settled && !self.dirty && self.fade.is_none()
    }

    /// Processes `buffers` in place: one slice per channel, all the same length (any, even 0).
    /// No allocation, no locks, no I/O.
    pub fn process(&mut self, buffers: &mut [&mut [f32]]) {
        match self.isa {
            Isa::Baseline => self.process_baseline(buffers),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2Fma` is only set when the processor has AVX2 and FMA.
            Isa::Avx2Fma => unsafe { self.process_avx2(buffers) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx512` is only set when the processor has its features.
            Isa::Avx512 => unsafe { self.process_avx512(buffers) },
        }
    }

    /// The portable build of the loops. Kept apart from [`process`](Self::process), as the
    /// others are, so that only one engine's frame is on the stack at a time (an unoptimised
    /// build's frame holds every inlined loop's arrays: hundreds of kilobytes).
    #[inline(never)]
    fn process_baseline(&mut self, buffers: &mut [&mut [f32]]) {
        self.process_with::<false>(buffers)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
    unsafe fn process_avx512(&mut self, buffers: &mut [&mut [f32]]) {
        self.process_with::<true>(buffers)
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
            // Coefficients at every sub-block while anything moves; at the start of each
            // steady block while nothing does (the denormal flush). Whether anything moves
            // depends only on the settings given so far, so where blocks end does not depend
            // on the host's cuts.
            if self.sub_pos % SUB_BLOCK == 0 && (self.sub_pos == 0 || !self.steady()) {
                self.update();
            }
            let grid = if self.steady() {
                STEADY_BLOCK
            } else {
                SUB_BLOCK
            };
            let end = (self.sub_pos / grid + 1) * grid;
            let mut n = (end - self.sub_pos).min(len - start);
            if let Some(t) = &self.fade {
                // A block ends where a crossfade ends, so that the swap falls between blocks.
                let left = ((1.0 - t) / self.fade_step).ceil().max(1.0);
                n = n.min(left as usize);
            }
            self.process_block::<FMA>(buffers, nch, start, n);
            self.sub_pos = (self.sub_pos + n) % STEADY_BLOCK;
            start += n;
        }
    }

    /// Host samples `start .. start + n` (within one block, see [`STEADY_BLOCK`]): sanitise,
    /// the first ×2 stage, the paths channel by channel at twice the host rate or at the
    /// internal rate, the way back down, then the DC blocker and the ceiling.
    #[inline(always)]
    fn process_block<const FMA: bool>(
        &mut self,
        buffers: &mut [&mut [f32]],
        nch: usize,
        start: usize,
        n: usize,
    ) {
        let fa = self.rates.per_host;
        let len = n * fa;
        let t2 = self.t2;
        let sc = &mut *self.scratch;
        for ch in 0..nch {
            let x = &mut sc.x;
            let limit = INPUT_LIMIT as f32;
            for (v, &raw) in x[..n].iter_mut().zip(&buffers[ch][start..start + n]) {
                // Within ±INPUT_LIMIT; NaN, ±∞ and anything below SILENCE_BELOW (which fail the
                // last test) become silence.
                let clamped = if raw > limit { limit } else { raw };
                let clamped = if clamped < -limit { -limit } else { clamped };
                let size = raw.abs();
                *v = if size < f32::INFINITY && size >= SILENCE_BELOW {
                    clamped
                } else {
                    0.0
                };
            }
            if self.metering {
                let peak = lane_peak(&x[..n]);
                self.meters.peak_in = self.meters.peak_in.max(peak as f64);
            }
            let u = &mut sc.u;
            self.up.upsample::<FMA>(ch, &x[..n], &mut u[..len]);
            ring_write(&mut self.u2[ch], t2, &u[..len]);
        }
        let meas = &mut sc.meas;
        let metering = self.metering;
        if metering {
            for m in &mut meas[..nch] {
                m.clear(n);
            }
        }
        run_path::<FMA>(
            &mut self.active,
            &self.rates,
            &self.u2,
            &mut self.later_up[self.slot],
            &mut self.later_down[self.slot],
            nch,
            t2,
            len,
            &mut sc.out,
            meas,
            metering,
            &mut sc.full,
            self.isa,
        );
        if let Some(t) = &mut self.fade {
            let p = &mut self.incoming;
            let other = 1 - self.slot;
            run_path::<FMA>(
                p,
                &self.rates,
                &self.u2,
                &mut self.later_up[other],
                &mut self.later_down[other],
                nch,
                t2,
                len,
                &mut sc.out_b,
                &mut sc.meas,
                false,
                &mut sc.full,
                self.isa,
            );
            for i in 0..n {
                *t = (*t + self.fade_step).min(1.0);
                let t = *t as f32;
                for ch in 0..nch {
                    let (a, b) = (
                        &mut sc.out[ch][i * fa..(i + 1) * fa],
                        &sc.out_b[ch][i * fa..],
                    );
                    for (a, b) in a.iter_mut().zip(b) {
                        *a = *a * (1.0 - t) + *b * t;
                    }
                }
            }
        }
        let y = &mut sc.y;
        for ch in 0..nch {
            self.down
                .downsample::<FMA>(ch, &mut sc.out[ch][..len], &mut y[ch][..n]);
        }
        self.t2 += len as u64;

        // The DC blocker (both channels' recursions in one loop), then the ceiling, channel by
        // channel over the block.
        let gains = &mut sc.gains;
        let mut rest = [0usize; 2];
        {
            let [v0, v1] = &mut sc.v;
            if nch == 2 {
                DcBlocker::process_two::<FMA>(
                    &mut self.dc,
                    [&y[0][..n], &y[1][..n]],
                    [&mut v0[..n], &mut v1[..n]],
                );
            } else {
                self.dc[0].process_block::<FMA>(&y[0][..n], &mut v0[..n]);
            }
        }
        for ch in 0..nch {
            let v = &mut sc.v[ch];
            rest[ch] =
                self.ceiling[ch].process_block(&mut v[..n], self.ceiling_lin, &mut gains[ch][..n]);
            for (out, &v) in buffers[ch][start..start + n].iter_mut().zip(&v[..n]) {
                let v = v as f32;
                *out = if v.is_finite() && v.abs() >= SILENCE_BELOW {
                    v
                } else {
                    0.0
                };
            }
        }

        if metering {
            self.measure::<FMA>(nch, n, &rest);
        }
        if self.fade.is_some_and(|t| t >= 1.0) {
            std::mem::swap(&mut self.active, &mut self.incoming);
            self.fade = None;
            self.slot = 1 - self.slot;
        }
    }

    /// The meters after a block of `n` host samples: each channel's sums and peaks over the
    /// block, its energy per host sample into the running power average, and per host sample
    /// what happened on either channel (`rest`: where each channel's ceiling rested).
    #[inline(always)]
    fn measure<const FMA: bool>(&mut self, nch: usize, n: usize, rest: &[usize; 2]) {
        let sc = &mut *self.scratch;
        let (meas, gains) = (&sc.meas, &sc.gains);
        let fa = self.rates.per_host;
        let f = self.rates.steps * fa;
        let per_internal = 1.0 / f as f64; // (f is a power of two: exact)
        let m = &mut self.meters;
        const CEILING: u8 = 8;
        let events = &mut sc.events;
        events[..n].fill(0);
        // The energy per host sample into the running power average a ← c·a + (1 − c)·p/F,
        // four samples per step of its chain (FourStep), both channels' chains in one loop.
        let (c, w) = (self.power_coeff, (1.0 - self.power_coeff) * per_internal);
        {
            let [a0, a1] = &mut sc.averages;
            if nch == 2 {
                let [pa0, pa1] = &mut self.power_avg;
                FourStep::run_two::<FMA>(
                    [pa0, pa1],
                    c,
                    w,
                    [&meas[0].sum_p[..n], &meas[1].sum_p[..n]],
                    [&mut a0[..n], &mut a1[..n]],
                );
            } else {
                self.power_avg[0].run::<FMA>(c, w, &meas[0].sum_p[..n], &mut a0[..n]);
            }
        }
        for ch in 0..nch {
            let b = &meas[ch];
            m.sum_v[ch] += b.sum_v;
            m.sum_v2[ch] += b.sum_v2;
            m.sum_i2[ch] += b.sum_i2;
            m.peak_v = m.peak_v.max(b.peak_v);
            m.peak_i = m.peak_i.max(b.peak_i);
            m.peak_v_int = m.peak_v_int.max(b.peak_v_int);
            // The energy per host sample: its sum in lanes (its rounding, like the other sums',
            // now depends on the blocks); the largest running average of the block, in lanes.
            let p = &b.sum_p[..n];
            m.sum_p[ch] += lanes(p, |t, v| t + v).iter().sum::<f64>();
            for (e, &happened) in events[..n].iter_mut().zip(&b.events[..n]) {
                *e |= happened;
            }
            let averages = &sc.averages[ch][..n];
            // (The meters' maximum starts from 0, so lanes that start from 0 change nothing.)
            let top = lanes(&averages[..n], |t, a| if a > t { a } else { t });
            m.max_power_1s = top.iter().fold(m.max_power_1s, |t, &a| t.max(a));
            // (Where the ceiling rested its gain was exactly 1.)
            let r = rest[ch];
            for (e, &gain) in events[r..n].iter_mut().zip(&gains[ch][r..n]) {
                if gain < ENGAGED_GAIN {
                    *e |= CEILING;
                    m.ceiling_min_db = m.ceiling_min_db.min(20.0 * gain.log10());
                }
            }
        }
        m.samples += (f * n) as u64;
        m.host_samples += n as u64;
        for &e in &events[..n] {
            m.rail_clips += u64::from(e & RAIL != 0);
            m.current_limits += u64::from(e & LIMIT != 0);
            m.receiver_overloads += u64::from(e & OVERLOAD != 0);
            m.ceiling_events += u64::from(e & CEILING != 0);
        }
    }
}

/// Working memory of the engine, allocated once (each buffer is written before it is read).
struct Scratch {
    /// One channel's input and its ×2 interpolation.
    x: [f32; MAX_BLOCK],
    u: [f32; 2 * MAX_BLOCK],
    /// Each channel's output at the host rate, in double precision, and the ceiling's gains.
    y: [[f32; MAX_BLOCK]; 2],
    v: [[f64; MAX_BLOCK]; 2],
    gains: [[f64; MAX_BLOCK]; 2],
    /// Each channel's running power average after each host sample, and what happened in it.
    averages: [[f64; MAX_BLOCK]; 2],
    events: [u8; MAX_BLOCK],
    /// Each path's output per channel at twice the host rate.
    out: [[f32; 2 * MAX_BLOCK]; 2],
    out_b: [[f32; 2 * MAX_BLOCK]; 2],
    /// What the active path measured per host sample and channel (the incoming path
    /// measures nothing).
    meas: [BlockMeasure; 2],
    full: Box<RunScratch>,
}

impl Scratch {
    fn new() -> Box<Scratch> {
        Box::new(Scratch {
            x: [0.0; MAX_BLOCK],
            u: [0.0; 2 * MAX_BLOCK],
            y: [[0.0; MAX_BLOCK]; 2],
            v: [[0.0; MAX_BLOCK]; 2],
            gains: [[1.0; MAX_BLOCK]; 2],
            averages: [[0.0; MAX_BLOCK]; 2],
            events: [0; MAX_BLOCK],
            out: [[0.0; 2 * MAX_BLOCK]; 2],
            out_b: [[0.0; 2 * MAX_BLOCK]; 2],
            meas: [BlockMeasure::new(); 2],
            full: RunScratch::new(),
        })
    }
}

/// Runs `path` channel by channel over coarse steps `t2 .. t2 + len`: its output into `out`,
/// what it measured per host sample into `meas` when `metering` (nothing otherwise). The hum
/// is computed once for both channels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn run_path<const FMA: bool>(
    path: &mut Path,
    rates: &Rates,
    u2: &[[f32; RING]; 2],
    later_up: &mut Oversampler,
    later_down: &mut Oversampler,
    nch: usize,
    t2: u64,
    len: usize,
    out: &mut [[f32; 2 * MAX_BLOCK]; 2],
    meas: &mut [BlockMeasure; 2],
    metering: bool,
    full: &mut RunScratch,
    isa: Isa,
) {
    let Path {
        coeffs: k,
        channels,
        hum,
        hum2,
        ..
    } = path;
    let h = &mut full.hum;
    if k.has_hum() {
        hum.fill(&mut h[..len]);
    } else {
        h[..len].fill(0.0);
    }
    ring_write(hum2, t2, &h[..len]);
    for ch in 0..nch {
        let c = &mut channels[ch];
        let mut run = ChannelRun {
            k,
            rates,
            u2: &u2[ch],
            hum2,
            b_up: later_up,
            b_down: later_down,
            ch,
            isa,
            metering,
        };
        run.run::<FMA>(
            &mut c.net,
            &mut c.noise,
            &mut c.rates,
            t2,
            &mut out[ch][..len],
            &mut meas[ch],
            full,
        );
    }
}

/// The ceiling's gain below which it counts as engaged: 10^(−0.05/20).
const ENGAGED_GAIN: f64 = 0.994_260_074_328_271_6;
const _: () = assert!(ENGAGED_DB == 0.05);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClipShape, LoadKind};

    /// The portable build and the vector builds render the same connection to within f32
    /// rounding (they differ only in fused multiply-adds), and the AVX2 and AVX-512 builds
    /// alike, bit for bit (the same arithmetic in wider registers): every build the processor
    /// can run is tested, whichever the engine would pick.
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
        #[cfg(target_arch = "x86_64")]
        {
            let mut vector = None;
            for isa in [Isa::Avx2Fma, Isa::Avx512] {
                if !isa.available() {
                    continue;
                }
                let (fast, _) = render(isa);
                let worst = base
                    .iter()
                    .zip(&fast)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(worst < 1e-4, "{isa:?}: {worst}");
                if let Some(other) = &vector {
                    assert!(&fast == other, "{isa:?} against the AVX2 build");
                }
                vector = Some(fast);
            }
        }
    }

    /// The fast path and the full path render the same connection alike: a signal that swings
    /// between quiet and past the current limit, so that the channels switch back and forth,
    /// comes out as it does with the full path throughout, within −90 dB of full scale. At
    /// 48 kHz (×8), 96 kHz (×4, an odd round trip) and 32 kHz (×16): the hand-back's catch-up
    /// starts on either parity of coarse sample.
    #[test]
    fn fast_and_full_paths_agree() {
        for fs in [48_000.0, 96_000.0, 32_000.0] {
            fast_and_full_paths_agree_at(fs);
        }
    }

    fn fast_and_full_paths_agree_at(fs: f64) {
        let mut s = Settings::default();
        s.load = LoadKind::PassiveSpeaker;
        s.z_load = 6.0;
        s.z_peak = 45.0;
        s.i_max = 200.0;
        s.noise = crate::model::settings::OFF_DBU;
        s.hum = crate::model::settings::OFF_DBU;
        s.color = 0.0;
        // Two seconds, loud and quiet by turns for 0.1 s each.
        let n = 2 * fs as usize;
        let x: Vec<f32> = (0..n)
            .map(|i| {
                // Loud from the first sample: the full path takes over at once.
                let loud = (i / (n / 20)) % 2 == 0;
                let a = if loud { 0.7 } else { 0.05 };
                a * (std::f32::consts::TAU * 220.0 * i as f32 / fs as f32).sin()
            })
            .collect();
        let render = |fast: bool| {
            let mut e = Engine::new(fs, 1, 1, &s);
            e.set_fast_path(fast);
            let mut y = x.clone();
            for b in y.chunks_mut(100) {
                e.process(&mut [b]);
            }
            (y, e.take_meters(), e.full_path_use().0)
        };
        let (full, m, _) = render(false);
        assert!(m.current_limits > 0, "{fs}: {m:?}");
        let (fast, mf, takeovers) = render(true);
        // Back and forth within each loud half-cycle (the current leaves its knee between
        // the peaks): ten loud stretches of 22 cycles, two peaks each.
        assert!(takeovers > 400, "{fs}: {takeovers}");
        // The meters count every value of the network once across the switches. (They still
        // differ a little: the fast path's value at a coarse instant stands for the internal
        // samples before it, so each switch moves the edge of the sum by part of a coarse
        // sample. The signal switches about 900 times here, near the current's knee where it
        // is largest: v_rms 7.2e-4 and power 5.5e-4 apart. One value counted twice or missed
        // per switch would be about 1.3e-2 of v_rms.)
        assert!(
            (mf.v_rms() / m.v_rms() - 1.0).abs() < 1.5e-3,
            "{fs}: {mf:?} {m:?}"
        );
        assert!(
            (mf.power() / m.power() - 1.0).abs() < 1.5e-3,
            "{fs}: {mf:?} {m:?}"
        );
        assert!(
            (mf.mean_v() - m.mean_v()).abs() < 5e-5,
            "{fs}: {mf:?} {m:?}"
        );
        assert!(
            (mf.peak_i / m.peak_i - 1.0).abs() < 1e-3,
            "{fs}: {mf:?} {m:?}"
        );
        let worst = full
            .iter()
            .zip(&fast)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 3e-5, "{fs}: {worst}");
    }

    /// A reset leaves nothing of what came before (it works in place on the paths' rings, as
    /// a host may call it on the audio thread): an engine that has run loud, taken its full
    /// path, and switched the load type half-way through a crossfade, once reset renders the
    /// same samples, bit for bit, as a new engine with the same settings.
    #[test]
    fn reset_gives_a_new_engines_output() {
        let mut s = Settings::default();
        s.load = LoadKind::PassiveSpeaker;
        s.z_load = 6.0;
        s.z_peak = 45.0;
        s.i_max = 200.0;
        s.noise = -90.0;
        s.hum = -50.0;
        let fs = 48_000.0;
        let tone = |a: f32, n: usize| -> Vec<f32> {
            (0..n)
                .map(|i| a * (std::f32::consts::TAU * 220.0 * i as f32 / fs as f32).sin())
                .collect()
        };
        let render = |e: &mut Engine| {
            let (mut l, mut r) = (tone(0.7, 9_000), tone(0.3, 9_000));
            for (l, r) in l.chunks_mut(512).zip(r.chunks_mut(512)) {
                e.process(&mut [l, r]);
            }
            (l, r)
        };
        let mut used = Engine::new(fs, 2, 1, &s);
        render(&mut used);
        assert!(
            used.full_path_use().0 > 0,
            "the loud tone took the full path"
        );
        let mut other = s;
        other.load = LoadKind::Headphones;
        used.set_settings(&other);
        render(&mut used);
        used.set_settings(&s);
        let (mut l, mut r) = (tone(0.7, 300), tone(0.7, 300));
        used.process(&mut [&mut l, &mut r]);
        assert!(used.fade.is_some(), "a crossfade is under way");
        used.reset();
        assert!(render(&mut used) == render(&mut Engine::new(fs, 2, 1, &s)));
    }

    /// The meters off change nothing but the meters: a connection that limits, clips, switches
    /// paths back and forth and crossfades renders the same to the bit with the meters turned
    /// off and on by turns as with them on throughout; off, the meters stay empty; on again,
    /// they measure what the engine measured with them on throughout (all but the running
    /// power average, which starts again).
    #[test]
    fn meters_off_change_nothing_but_the_meters() {
        let mut speaker = Settings::default();
        speaker.load = LoadKind::PassiveSpeaker;
        speaker.z_load = 6.0;
        speaker.z_peak = 45.0;
        speaker.i_max = 200.0;
        speaker.clip_shape = ClipShape::Tube;
        speaker.color = 3.0;
        speaker.noise = -90.0;
        speaker.hum = -50.0;
        let mut line = Settings::default();
        line.load = LoadKind::LineInput;
        line.z_load = 10_000.0;
        line.gain = 12.0;
        for (s, fs) in [(speaker, 48_000.0), (line, 48_000.0), (speaker, 96_000.0)] {
            let n = fs as usize;
            let x: Vec<f32> = (0..n)
                .map(|i| {
                    let loud = (i / (n / 10)) % 2 == 0;
                    let a = if loud { 0.7 } else { 0.05 };
                    a * (std::f32::consts::TAU * 220.0 * i as f32 / fs as f32).sin()
                })
                .collect();
            // Blocks of 300 samples; the settings change at the middle (a crossfade); the
            // meters are taken every ten blocks, and the second render turns them off for
            // every other ten.
            let render = |toggle: bool| {
                let mut e = Engine::new(fs, 2, 1, &s);
                let (mut l, mut r) = (x.clone(), x.clone());
                let (mut meters, mut faded) = (Vec::new(), false);
                for (k, (a, b)) in l.chunks_mut(300).zip(r.chunks_mut(300)).enumerate() {
                    if k * 300 >= n / 2 {
                        let mut other = s;
                        other.z_out += 1.0;
                        other.clip_shape = ClipShape::Hard;
                        e.set_settings(&other);
                    }
                    if k % 10 == 0 {
                        meters.push(e.take_meters());
                        e.set_metering(!toggle || (k / 10) % 2 == 0);
                    }
                    e.process(&mut [a, b]);
                    faded |= e.fade.is_some();
                }
                meters.push(e.take_meters());
                assert!(faded, "a crossfade ran");
                (l, r, meters, e.full_path_use().0)
            };
            let (l, r, on, takeovers) = render(false);
            assert!(takeovers > 2, "the paths switched: {takeovers}");
            let (l2, r2, toggled, _) = render(true);
            assert!(l == l2 && r == r2, "the same audio at {fs} Hz");
            for (k, (a, b)) in on.iter().zip(&toggled).enumerate().skip(1) {
                if (k - 1) % 2 == 1 {
                    assert_eq!(b, &Meters::default(), "off: nothing measured ({k})");
                    continue;
                }
                let unaveraged = |m: &Meters| Meters {
                    max_power_1s: 0.0,
                    ..*m
                };
                assert!(a.host_samples > 0);
                assert_eq!(unaveraged(a), unaveraged(b), "interval {k}");
            }
            let events = |m: &Vec<Meters>| {
                m.iter()
                    .map(|m| m.rail_clips + m.current_limits + m.receiver_overloads)
                    .sum::<u64>()
            };
            assert!(
                events(&on) > 0 && events(&toggled) > 0,
                "something happened"
            );
        }
    }

    /// Where the channels switch between the paths does not depend on how the host cuts its
    /// blocks: any cutting renders the same samples, at ×8, ×4 and ×16.
    #[test]
    fn switching_does_not_depend_on_blocks() {
        for fs in [48_000.0, 96_000.0, 32_000.0] {
            switching_does_not_depend_on_blocks_at(fs);
        }
    }

    fn switching_does_not_depend_on_blocks_at(fs: f64) {
        let mut s = Settings::default();
        s.load = LoadKind::PassiveSpeaker;
        s.z_load = 6.0;
        s.z_peak = 45.0;
        s.i_max = 200.0;
        s.color = 3.0;
        s.noise = -90.0;
        s.hum = -50.0;
        let n = fs as usize;
        let x: Vec<f32> = (0..n)
            .map(|i| {
                let a = if (i / (n / 16)) % 2 == 1 { 0.7 } else { 0.05 };
                a * (std::f32::consts::TAU * 220.0 * i as f32 / fs as f32).sin()
            })
            .collect();
        let render = |sizes: &[usize]| {
            let mut e = Engine::new(fs, 2, 1, &s);
            let (mut l, mut r) = (x.clone(), x.clone());
            let mut i = 0;
            for &b in sizes.iter().cycle() {
                if i >= n {
                    break;
                }
                let b = b.min(n - i);
                e.process(&mut [&mut l[i..i + b], &mut r[i..i + b]]);
                i += b;
            }
            (l, r)
        };
        let whole = render(&[512]);
        for sizes in [&[1usize][..], &[7, 1, 33, 16, 0, 300], &[15, 17]] {
            assert!(render(sizes) == whole, "{fs}: {sizes:?}");
        }
    }
}
