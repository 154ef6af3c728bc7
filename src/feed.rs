//! Audio thread → editor (DESIGN §6): what the editor draws, handed over without the audio thread
//! ever waiting, locking or allocating.
//!
//! ```text
//! process() ──[SampleBlock by value]──► bounded channel (try_send: dropped when full) ──► spectrum
//!           ──[Meters merged, then published]──► atomics (seqlock + since-last-read peaks) ──► meters, warnings
//! ```
//!
//! - **Samples**: [`FEED_BLOCK`] mono-summed input and output samples in a fixed-size array,
//!   moved through a `crossbeam_channel` bounded to [`FEED_CAPACITY`] blocks. The channel's slots
//!   are allocated when it is made; sending an array by value copies it into a slot. When the
//!   editor stops reading, `try_send` fails and the block is dropped: the audio never waits.
//! - **Meters**: the engine's [`Meters`] are merged over about [`METER_INTERVAL_S`], turned into an
//!   [`OperatingPoint`] and stored in atomics. Levels of the latest interval travel under a
//!   sequence number (a seqlock: odd while written); peaks and event counts accumulate until the
//!   editor takes them, so a slow frame never hides a clip.
//! - **While the editor is closed** nothing is merged, summed or sent: [`FeedSender::is_open`]
//!   is false and the plugin only takes the engine's meters to start their next interval.
//!
//! The FFT, the smoothing and all drawing happen on the editor's thread.

use crate::dsp::meters::Meters;
use crate::model::{OperatingPoint, Settings};
use atomic_float::AtomicF64;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Samples per block sent to the editor: a quarter of its FFT, so the spectrum moves on every
/// block with 75 % overlap.
pub const FEED_BLOCK: usize = 1024;

/// Blocks the channel holds: 32 × 1024 samples is 0.68 s at 48 kHz, 85 ms at 384 kHz — more than
/// an editor frame, however slow the machine draws.
pub const FEED_CAPACITY: usize = 32;

/// Length of one published meter interval, s: about two display frames, short enough for the
/// meters to move smoothly, long enough for an RMS to mean something.
pub const METER_INTERVAL_S: f64 = 0.030;

/// One block of what went in and what came out, each summed to mono: (left + right) / 2.
#[derive(Clone, Copy)]
pub struct SampleBlock {
    /// What the host gave the plugin, full scale = 1.
    pub input: [f32; FEED_BLOCK],
    /// What the plugin gave back.
    pub output: [f32; FEED_BLOCK],
}

impl SampleBlock {
    pub const fn silent() -> SampleBlock {
        SampleBlock {
            input: [0.0; FEED_BLOCK],
            output: [0.0; FEED_BLOCK],
        }
    }
}

/// The meter values shared through atomics. Written only by the audio thread, read by the
/// editor.
#[derive(Default)]
pub struct MeterAtomics {
    /// Even when the interval fields below are consistent, odd while the audio thread writes them.
    seq: AtomicU64,
    /// Sample rate of the engine that measured, Hz.
    sample_rate: AtomicF64,
    seconds: AtomicF64,
    v_rms: AtomicF64,
    v_dc: AtomicF64,
    i_rms: AtomicF64,
    power: AtomicF64,
    /// NaN when the load makes no sound (a line input).
    spl: AtomicF64,
    /// Largest of each since the editor last took them; non-negative floats, kept as bits so that
    /// `fetch_max` on the integer orders them (IEEE 754 orders positive floats like their bits).
    v_peak_bits: AtomicU64,
    i_peak_bits: AtomicU64,
    input_peak_bits: AtomicU64,
    power_1s_max_bits: AtomicU64,
    /// Deepest reduction by the safety ceiling since the editor last took it, dB as a positive number.
    ceiling_reduction_bits: AtomicU64,
    /// Host samples with each event since the editor last took them.
    rail_clips: AtomicU64,
    current_limits: AtomicU64,
    receiver_overloads: AtomicU64,
    ceiling_events: AtomicU64,
}

/// The latest interval's levels, with everything that happened since the previous reading.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MeterReading {
    /// The feed's sequence counter when read: pass it back to [`FeedReceiver::take_meters`].
    pub seq: u64,
    /// The engine's sample rate, Hz (0 before anything was published).
    pub sample_rate: f64,
    /// RMS, DC, current, power and SPL of the latest interval; peaks, maxima and event counts
    /// since the previous reading.
    pub op: OperatingPoint,
}

/// The audio thread's end of the feed. Owned by the plugin; every method is free of allocation,
/// locks and system calls.
pub struct FeedSender {
    blocks: Sender<SampleBlock>,
    meters: Arc<MeterAtomics>,
    open: Arc<AtomicBool>,
    /// The block being filled, and how far.
    block: SampleBlock,
    fill: usize,
    /// Meters merged since the last publication.
    merged: Meters,
    /// Blocks dropped because the channel was full (for tests and curiosity).
    dropped: u64,
}

/// The editor's end of the feed. Cloneable: every editor window gets one.
#[derive(Clone)]
pub struct FeedReceiver {
    blocks: Receiver<SampleBlock>,
    meters: Arc<MeterAtomics>,
    open: Arc<AtomicBool>,
}

/// A connected pair of ends.
pub fn feed() -> (FeedSender, FeedReceiver) {
    let (tx, rx) = crossbeam_channel::bounded(FEED_CAPACITY);
    let meters = Arc::new(MeterAtomics::default());
    let open = Arc::new(AtomicBool::new(false));
    (
        FeedSender {
            blocks: tx,
            meters: meters.clone(),
            open: open.clone(),
            block: SampleBlock::silent(),
            fill: 0,
            merged: Meters::default(),
            dropped: 0,
        },
        FeedReceiver {
            blocks: rx,
            meters,
            open,
        },
    )
}

/// Mono sum of sample `n` over the channels: (left + right) / 2, or the one channel.
#[inline]
pub fn mono(channels: &[&mut [f32]], n: usize) -> f32 {
    match channels {
        [] => 0.0,
        [c] => c[n],
        [l, r, ..] => 0.5 * (l[n] + r[n]),
    }
}

impl FeedSender {
    /// Whether an editor is open and reading. While it is not, the plugin sends nothing.
    #[inline]
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    /// Blocks dropped so far because the editor did not read them in time.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Appends one input/output pair; sends the block when it is full. Never blocks.
    #[inline]
    pub fn push(&mut self, input: f32, output: f32) {
        self.block.input[self.fill] = input;
        self.block.output[self.fill] = output;
        self.fill += 1;
        if self.fill == FEED_BLOCK {
            self.fill = 0;
            // A full channel means the editor is behind or gone: this block is not needed.
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                self.blocks.try_send(self.block)
            {
                self.dropped += 1;
            }
        }
    }

    /// Forgets a half-filled block (the editor closed, or the engine was reset).
    pub fn restart(&mut self) {
        self.fill = 0;
        self.merged = Meters::default();
    }

    /// Merges one block's meters; once they cover [`METER_INTERVAL_S`] they are published with
    /// settings `s` (for the SPL) at `sample_rate`.
    pub fn merge_meters(&mut self, m: &Meters, s: &Settings, sample_rate: f64) {
        self.merged.merge(m);
        if (self.merged.host_samples as f64) < METER_INTERVAL_S * sample_rate {
            return;
        }
        let op = self.merged.operating_point(s, sample_rate);
        self.publish(&op, sample_rate);
        self.merged = Meters::default();
    }

    /// Stores an operating point in the atomics: levels under the sequence number, peaks and
    /// counts added to what the editor has not taken yet.
    pub fn publish(&self, op: &OperatingPoint, sample_rate: f64) {
        let a = &*self.meters;
        let r = Ordering::Relaxed;
        let seq = a.seq.load(r);
        a.seq.store(seq.wrapping_add(1), r);
        fence(Ordering::Release);
        a.sample_rate.store(sample_rate, r);
        a.seconds.store(op.seconds, r);
        a.v_rms.store(op.v_rms, r);
        a.v_dc.store(op.v_dc, r);
        a.i_rms.store(op.i_rms, r);
        a.power.store(op.power, r);
        a.spl.store(op.spl.unwrap_or(f64::NAN), r);
        a.seq.store(seq.wrapping_add(2), Ordering::Release);

        let max = |cell: &AtomicU64, v: f64| {
            if v > 0.0 && v.is_finite() {
                cell.fetch_max(v.to_bits(), r);
            }
        };
        max(&a.v_peak_bits, op.v_peak);
        max(&a.i_peak_bits, op.i_peak);
        max(&a.input_peak_bits, 10f64.powf(op.input_peak_dbfs / 20.0));
        max(&a.power_1s_max_bits, op.power_1s_max);
        max(&a.ceiling_reduction_bits, -op.ceiling_db);
        a.rail_clips.fetch_add(op.rail_clips, r);
        a.current_limits.fetch_add(op.current_limits, r);
        a.receiver_overloads.fetch_add(op.receiver_overloads, r);
        a.ceiling_events.fetch_add(op.ceiling_events, r);
    }
}

impl FeedReceiver {
    /// Tells the audio thread whether an editor is reading.
    pub fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::Relaxed);
    }

    /// The flag the plugin reads, for an editor handle that clears it when the window goes.
    pub fn open_flag(&self) -> Arc<AtomicBool> {
        self.open.clone()
    }

    /// The next block waiting, if any. Never blocks — and because the editor never waits on the
    /// channel, the audio thread's `try_send` never has a sleeper to wake (no system call).
    pub fn try_block(&self) -> Option<SampleBlock> {
        self.blocks.try_recv().ok()
    }

    /// Throws away every block waiting (a window that opens should not draw stale audio).
    pub fn drain(&self) {
        while self.blocks.try_recv().is_ok() {}
    }

    /// The latest interval's levels and everything since the previous call; None when nothing
    /// new was published since the reading with sequence number `last_seq`.
    pub fn take_meters(&self, last_seq: u64) -> Option<MeterReading> {
        let a = &*self.meters;
        let r = Ordering::Relaxed;
        // The writer holds the sequence odd for a few stores; a handful of tries always succeeds.
        let mut reading = MeterReading::default();
        let mut consistent = false;
        for _ in 0..64 {
            let s1 = a.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            if s1 == last_seq {
                return None;
            }
            reading.seq = s1;
            reading.sample_rate = a.sample_rate.load(r);
            reading.op.seconds = a.seconds.load(r);
            reading.op.v_rms = a.v_rms.load(r);
            reading.op.v_dc = a.v_dc.load(r);
            reading.op.i_rms = a.i_rms.load(r);
            reading.op.power = a.power.load(r);
            let spl = a.spl.load(r);
            reading.op.spl = spl.is_finite().then_some(spl);
            fence(Ordering::Acquire);
            if a.seq.load(r) == s1 {
                consistent = true;
                break;
            }
        }
        if !consistent {
            return None;
        }
        let take = |cell: &AtomicU64| f64::from_bits(cell.swap(0, r));
        reading.op.v_peak = take(&a.v_peak_bits);
        reading.op.i_peak = take(&a.i_peak_bits);
        reading.op.input_peak_dbfs = 20.0 * take(&a.input_peak_bits).max(1e-10).log10();
        reading.op.power_1s_max = take(&a.power_1s_max_bits);
        reading.op.ceiling_db = -take(&a.ceiling_reduction_bits);
        reading.op.rail_clips = a.rail_clips.swap(0, r);
        reading.op.current_limits = a.current_limits.swap(0, r);
        reading.op.receiver_overloads = a.receiver_overloads.swap(0, r);
        reading.op.ceiling_events = a.ceiling_events.swap(0, r);
        Some(reading)
    }

    /// The raw sequence counter, to pass back to [`Self::take_meters`].
    pub fn raw_seq(&self) -> u64 {
        self.meters.seq.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_audio_side_never_blocks_when_the_editor_stops_reading() {
        let (mut tx, rx) = feed();
        rx.set_open(true);
        assert!(tx.is_open());
        // The editor reads two blocks, then stops. The audio side goes on for 10 s of audio at
        // 48 kHz (470 blocks, far more than the channel holds).
        for n in 0..2 * FEED_BLOCK {
            tx.push(n as f32, -(n as f32));
        }
        let first = rx.try_block().expect("a block was sent");
        assert_eq!(first.input[5], 5.0);
        assert_eq!(first.output[5], -5.0);
        assert!(rx.try_block().is_some());
        // The pushes run on their own thread: a send that blocked would never finish, and the
        // test fails after a generous minute instead of hanging (a guard, not a speed test).
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let pusher = std::thread::spawn(move || {
            for n in 0..480_000 {
                tx.push(n as f32, 0.0);
            }
            let _ = done_tx.send(());
            tx
        });
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a push blocked");
        let tx = pusher.join().expect("the pushing thread");
        let sent = 480_000 / FEED_BLOCK;
        assert_eq!(
            tx.dropped(),
            (sent - FEED_CAPACITY) as u64,
            "only what the channel holds is kept"
        );
        // The editor comes back and finds the oldest blocks it did not read, then nothing.
        let mut got = 0;
        while rx.try_block().is_some() {
            got += 1;
        }
        assert_eq!(got, FEED_CAPACITY);
    }

    #[test]
    fn the_audio_side_never_blocks_when_the_editor_is_gone() {
        let (mut tx, rx) = feed();
        drop(rx);
        for n in 0..10 * FEED_BLOCK {
            tx.push(n as f32, 0.0);
        }
        assert_eq!(tx.dropped(), 10);
    }

    #[test]
    fn peaks_and_counts_wait_for_the_editor() {
        let (tx, rx) = feed();
        let op = |v_peak: f64, clips: u64| OperatingPoint {
            seconds: 0.03,
            v_peak,
            v_rms: v_peak / 2.0,
            rail_clips: clips,
            input_peak_dbfs: -6.0,
            ceiling_db: -1.5,
            spl: Some(90.0),
            ..OperatingPoint::default()
        };
        assert!(rx.take_meters(rx.raw_seq()).is_none());
        let before = rx.raw_seq();
        // Three intervals published between two editor frames: the louder first one still shows.
        tx.publish(&op(4.0, 3), 48_000.0);
        tx.publish(&op(1.0, 0), 48_000.0);
        tx.publish(&op(2.0, 2), 48_000.0);
        let r = rx.take_meters(before).expect("new intervals");
        assert_eq!(r.op.v_peak, 4.0);
        assert_eq!(r.op.v_rms, 1.0, "levels are the latest interval's");
        assert_eq!(r.op.rail_clips, 5);
        assert_eq!(r.op.spl, Some(90.0));
        assert!((r.op.input_peak_dbfs + 6.0).abs() < 1e-9);
        assert!((r.op.ceiling_db + 1.5).abs() < 1e-12);
        assert_eq!(r.sample_rate, 48_000.0);
        // Taken: nothing new until the next interval.
        assert!(rx.take_meters(rx.raw_seq()).is_none());
        let seq = rx.raw_seq();
        tx.publish(&op(0.5, 0), 48_000.0);
        let r = rx.take_meters(seq).unwrap();
        assert_eq!((r.op.v_peak, r.op.rail_clips), (0.5, 0));
    }

    #[test]
    fn meters_are_published_per_interval() {
        let (mut tx, rx) = feed();
        let s = Settings::default();
        let block = Meters {
            samples: 8 * 480,
            host_samples: 480,
            peak_v: 1.0,
            sum_v2: [8.0 * 480.0 * 0.25, 0.0],
            ..Meters::default()
        };
        let seq = rx.raw_seq();
        tx.merge_meters(&block, &s, 48_000.0); // 10 ms: not yet an interval
        assert!(rx.take_meters(seq).is_none());
        tx.merge_meters(&block, &s, 48_000.0);
        tx.merge_meters(&block, &s, 48_000.0); // 30 ms
        let r = rx.take_meters(seq).expect("published after 30 ms");
        assert!((r.op.v_rms - 0.5).abs() < 1e-12);
        assert!((r.op.seconds - 0.03).abs() < 1e-12);
    }
}
