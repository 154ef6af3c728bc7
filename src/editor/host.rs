//! Writing values through the host. Everything the editor changes — one slider, a device, a
//! scenario — goes through the host's parameter gestures (begin, set, end), so it is recorded as
//! automation, can be undone, and is saved with the session like any other change.

use crate::model::settings::PARAMS;
use crate::model::Settings;
use crate::params::OutpathParams;
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::{ParamPtr, Params};

/// The host parameters by table id, in the order of the table.
pub struct HostParams {
    ptrs: Vec<(&'static str, ParamPtr)>,
}

// ParamPtr points into the `Arc<OutpathParams>` the editor holds for as long as it holds this.
unsafe impl Send for HostParams {}

impl HostParams {
    pub fn new(params: &OutpathParams) -> HostParams {
        let map = params.param_map();
        let ptrs = PARAMS
            .iter()
            .filter_map(|p| {
                map.iter()
                    .find(|(id, _, _)| id == p.id)
                    .map(|(_, ptr, _)| (p.id, *ptr))
            })
            .collect();
        HostParams { ptrs }
    }

    fn ptr(&self, id: &str) -> Option<ParamPtr> {
        self.ptrs.iter().find(|(i, _)| *i == id).map(|(_, p)| *p)
    }

    /// Writes the values of `ids` from `target` as one gesture: every parameter's begin, then
    /// every set, then every end, so a host that groups simultaneous gestures undoes them as one.
    /// Parameters that already hold their value are left alone.
    pub fn write(&self, ctx: &GuiContext, target: &Settings, ids: &[&str]) -> usize {
        let changes: Vec<(ParamPtr, f32)> = ids
            .iter()
            .filter_map(|id| {
                let ptr = self.ptr(id)?;
                let n = unsafe { ptr.preview_normalized(target.get(id)? as f32) };
                (unsafe { ptr.unmodulated_normalized_value() } != n).then_some((ptr, n))
            })
            .collect();
        unsafe {
            for (p, _) in &changes {
                ctx.raw_begin_set_parameter(*p);
            }
            for (p, n) in &changes {
                ctx.raw_set_parameter_normalized(*p, *n);
            }
            for (p, _) in &changes {
                ctx.raw_end_set_parameter(*p);
            }
        }
        changes.len()
    }

    /// Writes every parameter of the table from `target`.
    pub fn write_all(&self, ctx: &GuiContext, target: &Settings) -> usize {
        let ids: Vec<&str> = PARAMS.iter().map(|p| p.id).collect();
        self.write(ctx, target, &ids)
    }

    /// Sets one parameter to `value` as a complete gesture (a picked option, a toggled box).
    pub fn set_one(&self, ctx: &GuiContext, id: &str, value: f64) {
        if let Some(ptr) = self.ptr(id) {
            unsafe {
                let n = ptr.preview_normalized(value as f32);
                ctx.raw_begin_set_parameter(ptr);
                ctx.raw_set_parameter_normalized(ptr, n);
                ctx.raw_end_set_parameter(ptr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::Library;
    use crate::editor::state::ScenarioSlots;
    use nice_plug::context::gui::GuiContextInner;
    use nice_plug::context::PluginApi;
    use nice_plug::prelude::PluginState;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    /// What a host would see of the editor's writes, applied to the parameters as a host does.
    #[derive(Default)]
    struct RecordingHost {
        calls: Mutex<Vec<(char, ParamPtr, f32)>>,
    }

    impl GuiContextInner for RecordingHost {
        fn plugin_api(&self) -> PluginApi {
            PluginApi::Clap
        }
        unsafe fn raw_begin_set_parameter(&self, param: ParamPtr) {
            self.calls.lock().unwrap().push(('b', param, 0.0));
        }
        unsafe fn raw_set_parameter_normalized(&self, param: ParamPtr, normalized: f32) {
            self.calls.lock().unwrap().push(('s', param, normalized));
            unsafe { param._internal_set_normalized_value(normalized) };
        }
        unsafe fn raw_end_set_parameter(&self, param: ParamPtr) {
            self.calls.lock().unwrap().push(('e', param, 0.0));
        }
        fn get_state(&self) -> PluginState {
            PluginState {
                version: String::new(),
                params: BTreeMap::new(),
                fields: BTreeMap::new(),
            }
        }
        fn set_state(&self, _state: PluginState) {}
        fn request_restart(&self) {}
    }

    /// Every parameter a device sets is begun, set and ended, the begins before the sets and the
    /// ends after them, and afterwards the parameters hold the device's values: the block shows
    /// the device's name.
    #[test]
    fn a_device_is_written_as_one_gesture() {
        let params = Arc::new(OutpathParams::default());
        let host = HostParams::new(&params);
        let recorder = Arc::new(RecordingHost::default());
        let ctx = GuiContext::new(recorder.clone());
        let library = Library::factory();
        let device = library.get("qsc-gx3").expect("a factory power amp");
        let mut target = params.settings();
        device.apply(&mut target);
        let ids: Vec<&str> = device.set.keys().map(|k| k.as_str()).collect();
        let n = host.write(&ctx, &target, &ids);
        assert!(n > 3, "{n}");
        let calls = recorder.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 3 * n);
        let kinds: String = calls.iter().map(|c| c.0).collect();
        assert_eq!(
            kinds,
            format!("{}{}{}", "b".repeat(n), "s".repeat(n), "e".repeat(n))
        );
        for k in 0..n {
            assert_eq!(calls[k].1, calls[n + k].1);
            assert_eq!(calls[k].1, calls[2 * n + k].1);
        }
        let now = params.settings();
        assert_eq!(
            library
                .matching(crate::devices::DeviceSide::Output, &now)
                .map(|d| d.id.as_str()),
            Some("qsc-gx3")
        );
        // Writing the same device again changes nothing and sends nothing.
        recorder.calls.lock().unwrap().clear();
        assert_eq!(host.write(&ctx, &target, &ids), 0);
        assert!(recorder.calls.lock().unwrap().is_empty());
    }

    #[test]
    fn flipping_scenarios_writes_them_through_the_host() {
        let params = Arc::new(OutpathParams::default());
        let host = HostParams::new(&params);
        let ctx = GuiContext::new(Arc::new(RecordingHost::default()));
        let a = params.settings();
        let mut slots = ScenarioSlots::default();
        // On B, change the gain and the load through the host, then flip back to A and forth.
        let b_start = slots.flip(&a);
        host.write_all(&ctx, &b_start);
        host.set_one(&ctx, "gain", -20.0);
        host.set_one(&ctx, "load", 3.0);
        let b = params.settings();
        assert_eq!(
            (b.gain, b.load),
            (-20.0, crate::model::LoadKind::PassiveSpeaker)
        );
        host.write_all(&ctx, &slots.flip(&b));
        assert_eq!(params.settings(), a);
        host.write_all(&ctx, &slots.flip(&a));
        assert_eq!(params.settings(), b);
    }
}
