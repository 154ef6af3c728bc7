//! One complete output path at the internal rate — DAC scaling, colour, DC and noise, rails,
//! network with current limit, hum, receiver — for one set of switch positions. The engine runs
//! two of them while a switch (load type, clip shape, mains, listen mode) crossfades.

use super::coarse_network::{CoarseNetwork, CoarsePair, CoarseQuad};
use super::network::{NetworkCoeffs, NetworkState};
use super::network_block::NetworkBlock;
use super::noise::{hum_fundamental_peak, HumOscillator, NoiseSource};
use super::shapers::{Colour, ColourTable, KneeLimiter, Rails, RECEIVER_KNEE};
use super::two_rate::{ring, Rates, Ring, TwoRate, SAFETY, STRAIGHT};
use crate::model::acoustics::spl_at_one_volt;
use crate::model::network::Network;
use crate::model::settings::{BALANCED_HUM_REJECTION_DB, OFF_DBU};
use crate::model::units::{db_to_gain, dbu_to_vrms, full_scale_peak_volts};
use crate::model::{ListenMode, Settings};

/// Bandwidth the `noise` level is specified in, Hz.
pub const NOISE_BANDWIDTH_HZ: f64 = 20_000.0;
/// Frequency where Matched mode normalises the gain, Hz.
pub const MATCHED_AT_HZ: f64 = 1_000.0;

/// Everything a path needs per internal sample, derived from the settings.
#[derive(Debug, Clone, Copy)]
pub struct PathCoeffs {
    /// Volts at the stage per unit of DAW sample: V_FS · 10^(gain/20).
    pub drive: f64,
    pub colour: Colour,
    /// DC offset, V.
    pub dc: f64,
    /// Standard deviation of the noise per internal sample, V.
    pub noise_sigma: f64,
    /// The same per coarse sample (twice the host rate), V: the same level in the audio band.
    pub noise_sigma_coarse: f64,
    pub rails: Rails,
    pub net: NetworkCoeffs,
    /// One coarse sample of network steps at once, while the current limit stays out of it.
    pub block: NetworkBlock,
    /// The linear network at the coarse rate, with the solver's state, one period and one
    /// host sample (two periods) at a time.
    pub coarse: CoarseNetwork,
    pub pair: CoarsePair,
    /// Two host samples (four periods) at once, for the fast path's stretches.
    pub quad: CoarseQuad,
    /// Peak of the hum's fundamental at the load, V (after balanced rejection).
    pub hum_peak: f64,
    /// 1 for receivers (line input, active speaker), 0 for transducers.
    pub receiver_on: bool,
    pub receiver: KneeLimiter,
    /// Peak input the receiver is rated for, V.
    pub receiver_peak: f64,
    /// Below these the fast path may run: where the rails (positive, negative) leave their
    /// straight line by [`STRAIGHT`] of their knees, divided by [`SAFETY`], less what the full
    /// path's noise may add at one internal sample (six standard deviations); where the
    /// current limit and the receiver do so, divided by [`SAFETY`] (the noise there is
    /// filtered by the network; not allowed for). The fast path
    /// compares them with its bound between samples (see [`two_rate`](super::two_rate)), the
    /// full path with its values.
    pub calm_rails: (f32, f32),
    pub calm_current: f64,
    pub calm_receiver: f64,
    /// What the load voltage is multiplied by to become the plugin's output (listen mode).
    pub out_scale: f64,
}

impl PathCoeffs {
    /// True when there is hum to add (the oscillator can rest otherwise).
    pub fn has_hum(&self) -> bool {
        self.hum_peak > 0.0
    }

    /// The coefficients for `s` at the engine's `rates`. The network's maps are taken from
    /// `previous` when its network is the same.
    pub fn new(
        s: &Settings,
        rates: &Rates,
        table: &ColourTable,
        previous: Option<&PathCoeffs>,
    ) -> Self {
        let internal_rate = rates.internal;
        let factor = rates.steps;
        let v_fs = full_scale_peak_volts(s.ref_level);
        let drive = v_fs * db_to_gain(s.gain);
        let net = Network::from_settings(s);
        let noise_sigma = if s.noise <= OFF_DBU {
            0.0
        } else {
            // White noise of σ spreads σ² over 0 … fs/2; the 20 kHz band holds the set level.
            dbu_to_vrms(s.noise) * (internal_rate / 2.0 / NOISE_BANDWIDTH_HZ).sqrt()
        };
        let hum_peak = if s.hum <= OFF_DBU {
            0.0
        } else {
            let rejection = if s.balanced {
                db_to_gain(-BALANCED_HUM_REJECTION_DB)
            } else {
                1.0
            };
            hum_fundamental_peak(dbu_to_vrms(s.hum)) * rejection
        };
        let receiver_peak = std::f64::consts::SQRT_2 * dbu_to_vrms(s.in_max);
        let electrical = 1.0 / drive;
        let out_scale = match s.listen {
            ListenMode::Electrical => electrical,
            ListenMode::Matched => electrical / net.response(MATCHED_AT_HZ).norm().max(1e-12),
            // out = v_load · 10^((S_V − spl_ref)/20) / √2: a sine at spl_ref is full scale.
            ListenMode::Acoustic => match spl_at_one_volt(s) {
                Some(sv) => db_to_gain(sv - s.spl_ref) / std::f64::consts::SQRT_2,
                None => electrical,
            },
        };
        let net_k = NetworkCoeffs::new(&net, s.i_max * 1e-3, internal_rate);
        let (block, coarse, pair, quad) = match previous {
            Some(p) if p.net == net_k && p.block.steps() == factor => {
                (p.block, p.coarse, p.pair, p.quad)
            }
            _ => {
                let coarse = CoarseNetwork::new(&net_k, factor, rates.band());
                (
                    NetworkBlock::new(&net_k, factor),
                    coarse,
                    CoarsePair::new(&coarse),
                    CoarseQuad::new(&coarse),
                )
            }
        };
        let rails = Rails::new(s.v_clip, s.clip_shape);
        let receiver = KneeLimiter::new(receiver_peak, RECEIVER_KNEE);
        let (straight_pos, straight_neg) = rails.straight_until(STRAIGHT);
        let colour = Colour::new(s.color, s.v_clip, s.clip_shape, table);
        PathCoeffs {
            drive,
            colour,
            dc: s.dc_offset * 1e-3,
            noise_sigma,
            noise_sigma_coarse: noise_sigma / (factor as f64).sqrt(),
            rails,
            net: net_k,
            block,
            coarse,
            pair,
            quad,
            hum_peak,
            receiver_on: s.load.is_receiver(),
            receiver,
            receiver_peak,
            calm_rails: (
                (straight_pos / SAFETY - 6.0 * noise_sigma).max(0.0) as f32,
                (straight_neg / SAFETY - 6.0 * noise_sigma).max(0.0) as f32,
            ),
            calm_current: net_k.limit_straight_until(STRAIGHT) / SAFETY,
            calm_receiver: receiver.straight_until(STRAIGHT) / SAFETY,
            out_scale,
        }
    }
}

/// The state of one channel of a path.
#[derive(Debug, Clone)]
pub struct ChannelPath {
    pub net: NetworkState,
    pub noise: NoiseSource,
    /// Which way this channel runs, and the memory for switching.
    pub rates: TwoRate,
}

impl ChannelPath {
    /// A channel at rest whose noise is seeded by `seed`, on the full path when `rates` has
    /// one rate only. Allocates (its rings).
    pub fn new(seed: u64, rates: &Rates) -> Self {
        ChannelPath {
            net: NetworkState::default(),
            noise: NoiseSource::new(seed),
            rates: TwoRate::new(Self::rates_seed(seed), !rates.two_rates()),
        }
    }

    fn rates_seed(seed: u64) -> u64 {
        seed ^ 0x2_4A7E
    }

    /// Back to rest in place, as [`new`](Self::new) leaves it (no allocation).
    fn restart(&mut self, seed: u64, rates: &Rates) {
        self.net = NetworkState::default();
        self.noise = NoiseSource::new(seed);
        self.rates
            .restart(Self::rates_seed(seed), !rates.two_rates());
    }

    /// Takes over `o`'s state in place (no allocation).
    fn copy_from(&mut self, o: &ChannelPath) {
        self.net = o.net;
        self.noise = o.noise;
        self.rates.copy_from(&o.rates);
    }

    /// The stage over a block of internal samples `x` in DAW units: the demanded voltage —
    /// colour, DC offset and noise — into `demand`, and what the rails let through of it into
    /// `v_int`. `noise` is working room of the same length.
    #[inline(always)]
    pub fn stage_block(
        &mut self,
        k: &PathCoeffs,
        x: &[f32],
        noise: &mut [f32],
        demand: &mut [f32],
        v_int: &mut [f32],
    ) {
        k.colour.apply_block(k.drive, x, demand);
        let dc = k.dc as f32;
        if k.noise_sigma > 0.0 {
            self.noise.fill(noise);
            let sigma = k.noise_sigma as f32;
            for (d, n) in demand.iter_mut().zip(noise.iter()) {
                *d += dc + sigma * n;
            }
        } else {
            for d in demand.iter_mut() {
                *d += dc;
            }
        }
        k.rails.apply_block(demand, v_int);
    }
}

impl PathCoeffs {
    /// True when the rails take more than 1 % of the demand `v` (`v_int` is what is left).
    #[inline(always)]
    pub fn rail_clipping(&self, v: f32, v_int: f32) -> bool {
        self.rails.clipping(v, v_int)
    }

    /// What the plugin outputs for one channel's block: the network's load voltages `net_v`
    /// with the hum oscillator's `hum` give the load voltages with hum (`v_load`), whether the
    /// receiver is overloaded (beyond its rated peak), and the output before the ceiling
    /// (`out`: the receiver's clip, then the listen mode's scale).
    #[inline(always)]
    pub fn heard_block(
        &self,
        net_v: &[f64],
        hum: &[f64],
        v_load: &mut [f64],
        overload: &mut [bool],
        out: &mut [f32],
    ) {
        let (hum_peak, scale) = (self.hum_peak, self.out_scale);
        for ((v, &n), &h) in v_load.iter_mut().zip(net_v).zip(hum) {
            *v = n + hum_peak * h;
        }
        if self.receiver_on {
            self.receiver.apply_scaled(v_load, scale, out);
            for (ov, &v) in overload.iter_mut().zip(v_load.iter()) {
                *ov = v.abs() > self.receiver_peak;
            }
        } else {
            for (o, &v) in out.iter_mut().zip(v_load.iter()) {
                *o = (v * scale) as f32;
            }
            overload.fill(false);
        }
    }
}

/// Both channels of a path, with its switch positions and its hum.
#[derive(Debug, Clone)]
pub struct Path {
    /// The settings this path was last computed from (its switch positions are its own).
    pub settings: Settings,
    pub coeffs: PathCoeffs,
    pub channels: [ChannelPath; 2],
    /// The hum at the coarse rate, and its last values by coarse sample.
    pub hum: HumOscillator,
    pub hum2: Ring<f64>,
}

impl Path {
    /// A path at rest for `s`, its channels' noise seeded from `seed`. Allocates (its rings);
    /// [`restart`](Self::restart) and [`copy_from`](Self::copy_from) do not.
    pub fn new(s: &Settings, rates: &Rates, table: &ColourTable, seed: u64) -> Self {
        Path {
            settings: *s,
            coeffs: PathCoeffs::new(s, rates, table, None),
            channels: Self::channel_seeds(seed).map(|seed| ChannelPath::new(seed, rates)),
            hum: HumOscillator::new(s.mains.hz(), rates.coarse()),
            hum2: ring(0.0),
        }
    }

    fn channel_seeds(seed: u64) -> [u64; 2] {
        [seed, seed ^ 0x005E_ED0F_C4A2]
    }

    /// Back to rest for `s`, in place: what [`new`](Self::new) gives, without allocating (a
    /// host may reset on the audio thread).
    pub fn restart(&mut self, s: &Settings, rates: &Rates, table: &ColourTable, seed: u64) {
        self.settings = *s;
        self.coeffs = PathCoeffs::new(s, rates, table, None);
        for (c, seed) in self.channels.iter_mut().zip(Self::channel_seeds(seed)) {
            c.restart(seed, rates);
        }
        self.hum = HumOscillator::new(s.mains.hz(), rates.coarse());
        self.hum2.fill(0.0);
    }

    /// Takes over `o`'s settings and state in place (no allocation): the start of a
    /// crossfade, where the incoming path begins as a copy of the active one.
    pub fn copy_from(&mut self, o: &Path) {
        self.settings = o.settings;
        self.coeffs = o.coeffs;
        for (c, o) in self.channels.iter_mut().zip(&o.channels) {
            c.copy_from(o);
        }
        self.hum = o.hum;
        self.hum2.copy_from_slice(&o.hum2[..]);
    }

    /// True when `s` has the same switch positions (enums) as this path.
    pub fn same_switches(&self, s: &Settings) -> bool {
        let p = &self.settings;
        p.load == s.load
            && p.clip_shape == s.clip_shape
            && p.mains == s.mains
            && p.listen == s.listen
            && p.output == s.output
            && p.balanced == s.balanced
    }

    /// Takes `s`'s continuous values, keeping this path's switch positions.
    pub fn follow(&mut self, s: &Settings, rates: &Rates, table: &ColourTable) {
        let mut mine = *s;
        let p = &self.settings;
        (
            mine.load,
            mine.clip_shape,
            mine.mains,
            mine.listen,
            mine.output,
            mine.balanced,
        ) = (
            p.load,
            p.clip_shape,
            p.mains,
            p.listen,
            p.output,
            p.balanced,
        );
        self.settings = mine;
        self.coeffs = PathCoeffs::new(&mine, rates, table, Some(&self.coeffs));
        self.hum.retune(mine.mains.hz(), rates.coarse());
        self.hum.renormalise();
        for c in &mut self.channels {
            c.net.flush();
            c.rates.coarse.flush();
        }
    }
}
