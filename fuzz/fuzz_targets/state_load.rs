//! Fuzzes the plugin's state loading the way a host drives it: the input is the JSON body of a
//! CLAP state (the target adds nice-plug's 8-byte length prefix), loaded through the CLAP state
//! extension of the plugin linked into this binary (`outpath::clap_entry`), with the same
//! small host as the real-host tests (tests/clap_host/host.rs). That runs nice-plug's CLAP
//! wrapper and JSON state, Outpath's parameters and persisted editor fields, and the engine.
//!
//! For every input:
//! - refused: every parameter keeps its value, bit for bit;
//! - accepted: every parameter the host reads is finite and within its range; the state the
//!   plugin then saves loads again and saves the same bytes; 64 samples of audio come out
//!   finite and within 0 dBFS (the top of the ceiling's range);
//! - then the instance goes back to its default state for the next input.

#![no_main]

#[allow(dead_code)]
#[path = "../../tests/clap_host/host.rs"]
mod host;

use libfuzzer_sys::fuzz_target;
use outpath::model::settings::{ParamKind, PARAMS};
use std::cell::RefCell;

const PLUGIN_ID: &str = "org.outpath.outpath";

/// Inputs that hit the two state bugs reported with the robustness tests (an enum index
/// outside its options aborts the next save; a float beyond f32 becomes ±inf and is saved as
/// null) are still loaded and checked, but not saved. Set to false once Outpath filters the
/// state it loads (tests/clap_host/robust.rs: enum_index_out_of_range_in_a_state_survives_the_next_save,
/// float_beyond_f32_in_a_state_saves_a_state_that_reloads).
const SKIP_SAVE_ON_KNOWN_BUGS: bool = false;

struct Fixture {
    inst: host::Instance,
    baseline: Vec<u8>,
    ranges: Vec<(u32, f64, f64)>,
    input: [Vec<f32>; 2],
}

thread_local! {
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

fn with_prefix(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

impl Fixture {
    fn new() -> Fixture {
        // nice-plug logs every refused state; keep libFuzzer's output readable.
        if std::env::var_os("NICE_LOG").is_none() {
            std::env::set_var("NICE_LOG", "/dev/null");
        }
        let bundle = host::Bundle::linked(&outpath::clap_entry);
        let mut inst = bundle
            .create(PLUGIN_ID, host::HostOptions::default())
            .expect("the factory creates the plugin");
        let baseline = inst.save_state().expect("save");
        if let Some(dir) = std::env::var_os("OUTPATH_FUZZ_WRITE_SEEDS") {
            write_seeds(&inst, std::path::Path::new(&dir));
            assert!(inst.load_state(&baseline));
        }
        let ranges = inst
            .param_infos()
            .iter()
            .map(|i| (i.id, i.min, i.max))
            .collect();
        inst.activate(48_000.0, 1, 64);
        inst.start_processing();
        let input = [0, 1].map(|c| {
            (0..64)
                .map(|n| (0.9 * ((n as f32) * 0.3 + c as f32).sin()) as f32)
                .collect::<Vec<f32>>()
        });
        Fixture {
            inst,
            baseline,
            ranges,
            input,
        }
    }

    fn run(&mut self, body: &[u8]) {
        let before = self.inst.values();
        let known_bug = SKIP_SAVE_ON_KNOWN_BUGS && hits_known_bug(body);
        if self.inst.load_state(&with_prefix(body)) {
            for &(id, min, max) in &self.ranges {
                let v = self.inst.get_value(id).unwrap();
                assert!(
                    v.is_finite() && v >= min && v <= max,
                    "parameter {id:#x} reads {v}"
                );
            }
            if !known_bug {
                let saved = self.inst.save_state().expect("save after a load");
                assert!(
                    self.inst.load_state(&saved),
                    "the plugin refuses the state it saved: {}",
                    String::from_utf8_lossy(&saved[8..])
                );
                let again = self.inst.save_state().expect("save");
                assert!(again == saved, "saved → loaded → saved differs");
            }
            self.inst.reset();
            let mut buf = self.input.clone();
            let [a, b] = &mut buf;
            self.inst
                .process(&mut [&mut a[..], &mut b[..]], None, 64, &[]);
            for y in buf.iter().flatten() {
                assert!(y.is_finite() && y.abs() <= 1.001, "audio {y}");
            }
            assert!(self.inst.load_state(&self.baseline), "the default state");
        } else {
            let after = self.inst.values();
            assert!(
                before
                    .iter()
                    .zip(&after)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "a refused state changed parameters: {before:?} → {after:?}"
            );
        }
    }
}

/// Whether the body names an enum by an index outside its options, or a float beyond f32.
fn hits_known_bug(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let Some(params) = v.get("params").and_then(|p| p.as_object()) else {
        return false;
    };
    params.iter().any(|(id, value)| {
        let f = value.get("f32").and_then(|x| x.as_f64());
        if f.is_some_and(|x| (x as f32).is_infinite()) {
            return true;
        }
        let i = value.get("i32").and_then(|x| x.as_i64());
        match (
            PARAMS.iter().find(|p| p.id == id.as_str()).map(|p| p.kind),
            i,
        ) {
            (Some(ParamKind::Choice { options, .. }), Some(i)) => {
                i < 0 || i >= options.len() as i64
            }
            _ => false,
        }
    })
}

/// Writes the regression corpus's seeds: the default state and states with every parameter
/// away from its default (the way fuzz/corpus/state_load was made).
fn write_seeds(inst: &host::Instance, dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = host::Rng(2024);
    std::fs::write(dir.join("default.json"), &inst.save_state().unwrap()[8..]).unwrap();
    let infos = inst.param_infos();
    for k in 0..3 {
        let events: Vec<host::ParamEvent> = infos
            .iter()
            .map(|i| host::ParamEvent {
                time: 0,
                id: i.id,
                value: if i.max > 1.0 {
                    rng.below(i.max as u64 + 1) as f64
                } else {
                    rng.unit()
                },
            })
            .collect();
        inst.flush(&events);
        std::fs::write(
            dir.join(format!("random-{k}.json")),
            &inst.save_state().unwrap()[8..],
        )
        .unwrap();
    }
}

fuzz_target!(|data: &[u8]| {
    FIXTURE.with(|f| {
        let mut f = f.borrow_mut();
        f.get_or_insert_with(Fixture::new).run(data);
    })
});
