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
            .filter_map(|p| map.iter().find(|(id, _, _)| id == p.id).map(|(_, ptr, _)| (p.id, *ptr)))
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
