//! A small CLAP host that can show a plugin's editor: just enough of a DAW to open and close the
//! window (CLAP gui extension, an X11 parent window, main-thread callbacks) while another thread
//! processes audio, and to save and load the plugin's state.
//!
//! The thread that creates an [`Instance`] is the host's main thread; `process` is called from
//! whichever thread calls [`Instance::process`], which the thread-check extension then reports as
//! the audio thread.

#![allow(dead_code)]

use clap_sys::audio_buffer::clap_audio_buffer;
use clap_sys::entry::clap_plugin_entry;
use clap_sys::events::{
    clap_event_header, clap_input_events, clap_output_events, CLAP_CORE_EVENT_SPACE_ID,
};
use clap_sys::ext::gui::{
    clap_host_gui, clap_plugin_gui, clap_window, clap_window_handle, CLAP_EXT_GUI,
    CLAP_WINDOW_API_X11,
};
use clap_sys::ext::latency::{clap_host_latency, CLAP_EXT_LATENCY};
use clap_sys::ext::params::{
    clap_host_params, clap_param_clear_flags, clap_param_rescan_flags, CLAP_EXT_PARAMS,
};
use clap_sys::ext::state::{clap_host_state, clap_plugin_state, CLAP_EXT_STATE};
use clap_sys::ext::thread_check::{clap_host_thread_check, CLAP_EXT_THREAD_CHECK};
use clap_sys::factory::plugin_factory::{clap_plugin_factory, CLAP_PLUGIN_FACTORY_ID};
use clap_sys::host::clap_host;
use clap_sys::id::clap_id;
use clap_sys::plugin::clap_plugin;
use clap_sys::process::clap_process;
use clap_sys::stream::{clap_istream, clap_ostream};
use clap_sys::version::CLAP_VERSION;
use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::ThreadId;

thread_local! {
    static IN_AUDIO: Cell<bool> = const { Cell::new(false) };
}

/// What the plugin asked of the host.
#[derive(Default)]
pub struct HostData {
    main_thread: Option<ThreadId>,
    pub callback_pending: AtomicBool,
    pub resize_requests: AtomicUsize,
    pub closed_by_plugin: AtomicUsize,
    pub gestures_begun: AtomicUsize,
    pub gestures_ended: AtomicUsize,
}

unsafe fn data<'a>(host: *const clap_host) -> &'a HostData {
    unsafe { &*((*host).host_data as *const HostData) }
}

unsafe extern "C" fn get_extension(_host: *const clap_host, id: *const c_char) -> *const c_void {
    let id = unsafe { CStr::from_ptr(id) };
    if id == CLAP_EXT_THREAD_CHECK {
        &THREAD_CHECK as *const _ as *const c_void
    } else if id == CLAP_EXT_GUI {
        &GUI as *const _ as *const c_void
    } else if id == CLAP_EXT_LATENCY {
        &LATENCY as *const _ as *const c_void
    } else if id == CLAP_EXT_PARAMS {
        &PARAMS as *const _ as *const c_void
    } else if id == CLAP_EXT_STATE {
        &STATE as *const _ as *const c_void
    } else {
        std::ptr::null()
    }
}

unsafe extern "C" fn request_nothing(_host: *const clap_host) {}
unsafe extern "C" fn request_callback(host: *const clap_host) {
    unsafe { data(host) }
        .callback_pending
        .store(true, Ordering::SeqCst);
}

static THREAD_CHECK: clap_host_thread_check = clap_host_thread_check {
    is_main_thread: Some(is_main_thread),
    is_audio_thread: Some(is_audio_thread),
};
unsafe extern "C" fn is_main_thread(host: *const clap_host) -> bool {
    !IN_AUDIO.with(|a| a.get())
        && unsafe { data(host) }.main_thread == Some(std::thread::current().id())
}
unsafe extern "C" fn is_audio_thread(_host: *const clap_host) -> bool {
    IN_AUDIO.with(|a| a.get())
}

static GUI: clap_host_gui = clap_host_gui {
    resize_hints_changed: Some(request_nothing),
    request_resize: Some(gui_request_resize),
    request_show: Some(gui_yes),
    request_hide: Some(gui_yes),
    closed: Some(gui_closed),
};
unsafe extern "C" fn gui_request_resize(host: *const clap_host, _w: u32, _h: u32) -> bool {
    unsafe { data(host) }
        .resize_requests
        .fetch_add(1, Ordering::SeqCst);
    true
}
unsafe extern "C" fn gui_yes(_host: *const clap_host) -> bool {
    true
}
unsafe extern "C" fn gui_closed(host: *const clap_host, _destroyed: bool) {
    unsafe { data(host) }
        .closed_by_plugin
        .fetch_add(1, Ordering::SeqCst);
}

static LATENCY: clap_host_latency = clap_host_latency {
    changed: Some(request_nothing),
};
static PARAMS: clap_host_params = clap_host_params {
    rescan: Some(params_rescan),
    clear: Some(params_clear),
    request_flush: Some(request_nothing),
};
unsafe extern "C" fn params_rescan(_host: *const clap_host, _flags: clap_param_rescan_flags) {}
unsafe extern "C" fn params_clear(
    _host: *const clap_host,
    _id: clap_id,
    _flags: clap_param_clear_flags,
) {
}
static STATE: clap_host_state = clap_host_state {
    mark_dirty: Some(request_nothing),
};

/// A loaded `.clap` file, initialised once and never unloaded (CLAP wants one init per load).
pub struct Bundle {
    _lib: libloading::Library,
    factory: *const clap_plugin_factory,
}
unsafe impl Send for Bundle {}
unsafe impl Sync for Bundle {}

pub fn load(path: &Path) -> &'static Bundle {
    let lib = unsafe { libloading::Library::new(path) }
        .unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()));
    let entry: *const clap_plugin_entry = unsafe {
        *lib.get::<*const clap_plugin_entry>(b"clap_entry\0")
            .expect("clap_entry")
    };
    let e = unsafe { &*entry };
    let c_path = CString::new(path.to_string_lossy().as_bytes()).unwrap();
    assert!(
        unsafe { (e.init.unwrap())(c_path.as_ptr()) },
        "clap_entry.init failed"
    );
    let factory = unsafe { (e.get_factory.unwrap())(CLAP_PLUGIN_FACTORY_ID.as_ptr()) }
        as *const clap_plugin_factory;
    assert!(!factory.is_null());
    Box::leak(Box::new(Bundle { _lib: lib, factory }))
}

/// One plugin instance with its host.
pub struct Instance {
    host: Box<clap_host>,
    pub data: Box<HostData>,
    plugin: *const clap_plugin,
    gui: *const clap_plugin_gui,
    state: *const clap_plugin_state,
    active: bool,
    processing: AtomicBool,
}

// The host calls the plugin from the threads CLAP allows; tests move the instance to its audio
// thread only while the main thread does not touch it, or share it as CLAP's threading rules say.
unsafe impl Send for Instance {}
unsafe impl Sync for Instance {}

static HOST_NAME: &CStr = c"outpath editor test host";
static HOST_VENDOR: &CStr = c"outpath";
static HOST_URL: &CStr = c"https://example.invalid";
static HOST_VERSION: &CStr = c"1.0";

impl Instance {
    pub fn new(bundle: &'static Bundle, id: &str) -> Instance {
        let mut data = Box::new(HostData {
            main_thread: Some(std::thread::current().id()),
            ..HostData::default()
        });
        let host = Box::new(clap_host {
            clap_version: CLAP_VERSION,
            host_data: &mut *data as *mut HostData as *mut c_void,
            name: HOST_NAME.as_ptr(),
            vendor: HOST_VENDOR.as_ptr(),
            url: HOST_URL.as_ptr(),
            version: HOST_VERSION.as_ptr(),
            get_extension: Some(get_extension),
            request_restart: Some(request_nothing),
            request_process: Some(request_nothing),
            request_callback: Some(request_callback),
        });
        let f = unsafe { &*bundle.factory };
        let c_id = CString::new(id).unwrap();
        let plugin = unsafe { (f.create_plugin.unwrap())(bundle.factory, &*host, c_id.as_ptr()) };
        assert!(!plugin.is_null(), "create_plugin({id}) failed");
        assert!(
            unsafe { ((*plugin).init.unwrap())(plugin) },
            "plugin init failed"
        );
        let ext = |id: &CStr| unsafe { ((*plugin).get_extension.unwrap())(plugin, id.as_ptr()) };
        let gui = ext(CLAP_EXT_GUI) as *const clap_plugin_gui;
        let state = ext(CLAP_EXT_STATE) as *const clap_plugin_state;
        Instance {
            host,
            data,
            plugin,
            gui,
            state,
            active: false,
            processing: AtomicBool::new(false),
        }
    }

    fn p(&self) -> &clap_plugin {
        unsafe { &*self.plugin }
    }

    pub fn has_gui(&self) -> bool {
        !self.gui.is_null()
    }

    fn gui(&self) -> &clap_plugin_gui {
        assert!(self.has_gui(), "the plugin has no gui extension");
        unsafe { &*self.gui }
    }

    pub fn activate(&mut self, sample_rate: f64, max_frames: u32) {
        assert!(
            unsafe { (self.p().activate.unwrap())(self.plugin, sample_rate, 1, max_frames) },
            "activate failed"
        );
        self.active = true;
    }

    /// Runs everything the plugin asked to run on the main thread.
    pub fn pump(&self) {
        if self.data.callback_pending.swap(false, Ordering::SeqCst) {
            unsafe { (self.p().on_main_thread.unwrap())(self.plugin) };
        }
    }

    /// Processes one block of stereo audio in place (called on the audio thread).
    pub fn process(&self, left: &mut [f32], right: &mut [f32], steady_time: i64) {
        IN_AUDIO.with(|a| a.set(true));
        if !self.processing.swap(true, Ordering::SeqCst) {
            // start_processing is called once, from the first process call's thread.
            assert!(unsafe { (self.p().start_processing.unwrap())(self.plugin) });
        }
        let n = left.len().min(right.len());
        let mut inputs: [*mut f32; 2] = [left.as_mut_ptr(), right.as_mut_ptr()];
        let mut outputs: [*mut f32; 2] = [left.as_mut_ptr(), right.as_mut_ptr()];
        let input = clap_audio_buffer {
            data32: inputs.as_mut_ptr(),
            data64: std::ptr::null_mut(),
            channel_count: 2,
            latency: 0,
            constant_mask: 0,
        };
        let mut output = clap_audio_buffer {
            data32: outputs.as_mut_ptr(),
            data64: std::ptr::null_mut(),
            channel_count: 2,
            latency: 0,
            constant_mask: 0,
        };
        let in_events = clap_input_events {
            ctx: std::ptr::null_mut(),
            size: Some(no_events),
            get: Some(no_event),
        };
        let out_events = clap_output_events {
            ctx: &*self.data as *const HostData as *mut c_void,
            try_push: Some(push_event),
        };
        let process = clap_process {
            steady_time,
            frames_count: n as u32,
            transport: std::ptr::null(),
            audio_inputs: &input,
            audio_outputs: &mut output,
            audio_inputs_count: 1,
            audio_outputs_count: 1,
            in_events: &in_events,
            out_events: &out_events,
        };
        let status = unsafe { (self.p().process.unwrap())(self.plugin, &process) };
        IN_AUDIO.with(|a| a.set(false));
        assert!(
            status != clap_sys::process::CLAP_PROCESS_ERROR,
            "process failed"
        );
    }

    /// Stops processing (on the audio thread that processed).
    pub fn stop_processing(&self) {
        if self.processing.swap(false, Ordering::SeqCst) {
            IN_AUDIO.with(|a| a.set(true));
            unsafe { (self.p().stop_processing.unwrap())(self.plugin) };
            IN_AUDIO.with(|a| a.set(false));
        }
    }

    /// Opens the editor into the X11 window `parent` and shows it; returns its size.
    pub fn open_editor(&self, parent: u32) -> (u32, u32) {
        let g = self.gui();
        assert!(unsafe {
            (g.is_api_supported.unwrap())(self.plugin, CLAP_WINDOW_API_X11.as_ptr(), false)
        });
        assert!(
            unsafe { (g.create.unwrap())(self.plugin, CLAP_WINDOW_API_X11.as_ptr(), false) },
            "gui.create failed"
        );
        let (mut w, mut h) = (0, 0);
        assert!(unsafe { (g.get_size.unwrap())(self.plugin, &mut w, &mut h) });
        let window = clap_window {
            api: CLAP_WINDOW_API_X11.as_ptr(),
            specific: clap_window_handle { x11: parent as _ },
        };
        assert!(
            unsafe { (g.set_parent.unwrap())(self.plugin, &window) },
            "gui.set_parent failed"
        );
        assert!(unsafe { (g.show.unwrap())(self.plugin) }, "gui.show failed");
        (w, h)
    }

    /// The editor's size as the plugin reports it (gui.get_size), opening nothing.
    pub fn editor_size_while_open(&self) -> (u32, u32) {
        let (mut w, mut h) = (0, 0);
        assert!(unsafe { (self.gui().get_size.unwrap())(self.plugin, &mut w, &mut h) });
        (w, h)
    }

    pub fn can_resize(&self) -> bool {
        unsafe { (self.gui().can_resize.unwrap())(self.plugin) }
    }

    pub fn close_editor(&self) {
        let g = self.gui();
        unsafe {
            (g.hide.unwrap())(self.plugin);
            (g.destroy.unwrap())(self.plugin);
        }
    }

    /// The plugin's state as saved by the host.
    pub fn save_state(&self) -> Vec<u8> {
        assert!(!self.state.is_null());
        let mut buf: Vec<u8> = Vec::new();
        let stream = clap_ostream {
            ctx: &mut buf as *mut Vec<u8> as *mut c_void,
            write: Some(ostream_write),
        };
        assert!(
            unsafe { ((*self.state).save.unwrap())(self.plugin, &stream) },
            "state.save failed"
        );
        buf
    }

    pub fn load_state(&self, bytes: &[u8]) {
        let mut cursor = (bytes, 0usize);
        let stream = clap_istream {
            ctx: &mut cursor as *mut (&[u8], usize) as *mut c_void,
            read: Some(istream_read),
        };
        assert!(
            unsafe { ((*self.state).load.unwrap())(self.plugin, &stream) },
            "state.load failed"
        );
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        unsafe {
            self.stop_processing();
            if self.active {
                (self.p().deactivate.unwrap())(self.plugin);
            }
            (self.p().destroy.unwrap())(self.plugin);
        }
    }
}

unsafe extern "C" fn no_events(_list: *const clap_input_events) -> u32 {
    0
}
unsafe extern "C" fn no_event(
    _list: *const clap_input_events,
    _index: u32,
) -> *const clap_event_header {
    std::ptr::null()
}
unsafe extern "C" fn push_event(
    list: *const clap_output_events,
    event: *const clap_event_header,
) -> bool {
    let d = unsafe { &*((*list).ctx as *const HostData) };
    let h = unsafe { &*event };
    if h.space_id == CLAP_CORE_EVENT_SPACE_ID {
        match h.type_ {
            clap_sys::events::CLAP_EVENT_PARAM_GESTURE_BEGIN => {
                d.gestures_begun.fetch_add(1, Ordering::SeqCst)
            }
            clap_sys::events::CLAP_EVENT_PARAM_GESTURE_END => {
                d.gestures_ended.fetch_add(1, Ordering::SeqCst)
            }
            _ => 0,
        };
    }
    true
}
unsafe extern "C" fn ostream_write(
    stream: *const clap_ostream,
    buffer: *const c_void,
    size: u64,
) -> i64 {
    let buf = unsafe { &mut *((*stream).ctx as *mut Vec<u8>) };
    buf.extend_from_slice(unsafe {
        std::slice::from_raw_parts(buffer as *const u8, size as usize)
    });
    size as i64
}
unsafe extern "C" fn istream_read(
    stream: *const clap_istream,
    buffer: *mut c_void,
    size: u64,
) -> i64 {
    let (bytes, pos) = unsafe { &mut *((*stream).ctx as *mut (&[u8], usize)) };
    let n = (size as usize).min(bytes.len() - *pos);
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().add(*pos), buffer as *mut u8, n) };
    *pos += n;
    n as i64
}
