//! The editor (DESIGN §6): one resizable egui window laid out as the signal travels.
//!
//! ```text
//!  ┌ DAC ┐→┌ output stage ┐→┌ cable ┐→┌ load ┐→┌ listener ┐     A/B, copy A→B
//!  ├ meters (levels, peak hold, lamps) ─┬─ spectrum (in, out, predicted |H(f)|) ┤
//!  ├ warnings (held, newest on top) ────┴─ parameters: source · cable · load · listening ┤
//! ```
//!
//! Everything the editor shows comes from three places: the parameters (read directly), the
//! [`crate::feed`] (meters and sample blocks from the audio thread) and the device library (read
//! once when the plugin builds its editor). Everything it changes goes through the host as
//! parameter gestures, so it is automatable, undoable and saved with the session.
//!
//! The window's size and the A/B slots are `#[persist]` fields of the parameters ([`state`]).
//! Because nice-plug-egui's `EguiEditorState` can neither be saved nor resized after it is made,
//! [`OutpathEditor`] makes a fresh egui editor from the saved size each time the window opens.

mod app;
mod chain;
mod host;
mod meters;
mod panels;
mod spectrum;
pub mod state;
mod theme;
mod warnings_list;

pub use spectrum::{Analyser, FFT_SIZE};

use crate::devices::Library;
use crate::feed::FeedReceiver;
use crate::params::OutpathParams;
use app::EditorApp;
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::{LogicalSize, NativeSize, Size};
use nice_plug::editor::{
    Editor, EditorHandle, HostMethods, Modifiers, ParentWindowHandle, ResizeHint, SpawnedEditor,
    VirtualKeyCode,
};
use nice_plug::plugin::TrackInfo;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorHandle, EguiEditorState, EguiNiceSettings,
    RepaintNotifier,
};
use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What every window of the editor shares: made once by the plugin, kept for its lifetime.
#[derive(Clone)]
pub struct Shared {
    pub params: Arc<OutpathParams>,
    pub feed: FeedReceiver,
    /// The device library, read when the editor was built (never on the audio thread).
    pub library: Arc<Library>,
}

/// The plugin's editor: a new egui window each time the host opens it, at the saved size.
pub struct OutpathEditor {
    shared: Shared,
    /// The egui editor of the window open now (or last open), for its size.
    current: Mutex<Option<EguiEditor<EditorApp>>>,
}

/// Builds the editor. Reads the device library (factory and the user's folder) here, once.
pub fn create(params: Arc<OutpathParams>, feed: FeedReceiver) -> OutpathEditor {
    let library = Arc::new(Library::load(crate::devices::user_dir().as_deref()));
    OutpathEditor {
        shared: Shared {
            params,
            feed,
            library,
        },
        current: Mutex::new(None),
    }
}

impl OutpathEditor {
    fn resize_hint_for() -> ResizeHint {
        ResizeHint::resizable().with_min_logical_size(LogicalSize::new(
            state::MIN_WIDTH as f32,
            state::MIN_HEIGHT as f32,
        ))
    }
}

impl Editor for OutpathEditor {
    type Handle = OutpathEditorHandle;

    fn spawn(
        &self,
        parent: Option<ParentWindowHandle>,
        wait_for_parent: bool,
        fallback_scale_factor: Option<f64>,
        gui_context: GuiContext,
        host: Option<HostMethods>,
    ) -> Result<SpawnedEditor<Self::Handle>, Box<dyn Error>> {
        let size = self.shared.params.editor_state.size();
        let egui_state = EguiEditorState::from_size(
            Size::Logical(LogicalSize::new(size.width as f64, size.height as f64)),
            1.0,
        );
        let settings = EguiNiceSettings::new()
            .with_tile("Outpath")
            .with_resize_hint(Self::resize_hint_for());
        let app = EditorApp::new(self.shared.clone());
        let editor = create_egui_editor(egui_state, RepaintNotifier::new(), settings, app)
            .ok_or("the egui editor could not be made")?;
        // Stale blocks from before the window opened would draw a spectrum of the past.
        self.shared.feed.drain();
        let spawned = editor.spawn(
            parent,
            wait_for_parent,
            fallback_scale_factor,
            gui_context,
            host,
        )?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(editor);
        let open = self.shared.feed.open_flag();
        open.store(true, Ordering::Relaxed);
        Ok(SpawnedEditor {
            handle: OutpathEditorHandle {
                inner: spawned.handle,
                open,
            },
            window: spawned.window,
        })
    }

    fn size(&self) -> NativeSize<u32> {
        if let Some(e) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            return e.size();
        }
        let s = self.shared.params.editor_state.size();
        NativeSize::from_size(
            Size::Logical(LogicalSize::new(s.width as f64, s.height as f64)),
            1.0,
        )
    }

    fn resize_hint(&self) -> ResizeHint {
        Self::resize_hint_for()
    }

    fn track_info_updated(&self, info: TrackInfo) {
        if let Some(e) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            e.track_info_updated(info);
        }
    }
}

/// The open window. Dropping it (the host closed the editor) tells the audio thread to stop
/// sending.
pub struct OutpathEditorHandle {
    inner: EguiEditorHandle,
    open: Arc<AtomicBool>,
}

impl Drop for OutpathEditorHandle {
    fn drop(&mut self) {
        self.open.store(false, Ordering::Relaxed);
    }
}

impl EditorHandle for OutpathEditorHandle {
    type Window = <EguiEditorHandle as EditorHandle>::Window;
    type Error = <EguiEditorHandle as EditorHandle>::Error;

    fn run_until_closed(window: Self::Window) -> Result<(), Self::Error> {
        EguiEditorHandle::run_until_closed(window)
    }

    fn set_parent(
        &self,
        parent: ParentWindowHandle,
        window: &Self::Window,
    ) -> Result<(), Self::Error> {
        self.inner.set_parent(parent, window)
    }

    fn show(&self, window: &Self::Window) -> Result<(), Self::Error> {
        self.inner.show(window)
    }

    fn hide(&self, window: &Self::Window) -> Result<(), Self::Error> {
        self.inner.hide(window)
    }

    fn set_size(
        &self,
        new_size: NativeSize<u32>,
        window: &Self::Window,
    ) -> Result<(), Self::Error> {
        self.inner.set_size(new_size, window)
    }

    fn host_main_thread_callback(&self, window: &Self::Window) {
        self.inner.host_main_thread_callback(window)
    }

    fn adjust_size(
        &self,
        new_size: NativeSize<u32>,
        window: &Self::Window,
    ) -> Option<NativeSize<u32>> {
        self.inner.adjust_size(new_size, window)
    }

    fn set_fallback_scale_factor(
        &self,
        scale_factor: f64,
        window: &Self::Window,
    ) -> Result<(), Self::Error> {
        self.inner.set_fallback_scale_factor(scale_factor, window)
    }

    fn on_virtual_key_from_host(
        &self,
        key_code: VirtualKeyCode,
        is_down: bool,
        modifiers: Modifiers,
    ) -> bool {
        self.inner
            .on_virtual_key_from_host(key_code, is_down, modifiers)
    }

    fn state_changed(&self) {
        self.inner.state_changed()
    }

    fn param_value_changed(&self, id: &str, normalized_value: f32) {
        self.inner.param_value_changed(id, normalized_value)
    }

    fn param_modulation_changed(&self, id: &str, modulation_offset: f32) {
        self.inner.param_modulation_changed(id, modulation_offset)
    }
}
