//! VA-API probe: loads `libva.so.2` + `libva-drm.so.2` with libloading, opens each render node,
//! initialises VA on it (which loads the host's VA driver through libva) and lists the encode
//! entrypoints for H.264, H.265, VP9 and AV1. Runs only in the dynamic probe helper.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::os::fd::AsRawFd;
use std::path::Path;

use libloading::{Library, Symbol};

use super::{VaNodeReport, VaReport, devices};

pub const VA_LIB: &str = "libva.so.2";
pub const VA_DRM_LIB: &str = "libva-drm.so.2";

/// `VAEntrypointEncSlice` / `VAEntrypointEncSliceLP` (va.h).
const ENTRYPOINT_ENC_SLICE: c_int = 6;
const ENTRYPOINT_ENC_SLICE_LP: c_int = 8;

/// Codec → the VAProfile values that encode it (va.h: H264Main 6, H264High 7,
/// H264ConstrainedBaseline 13, HEVCMain 17, VP9Profile0 19, AV1Profile0 32).
pub const CODEC_PROFILES: &[(&str, &[c_int])] = &[
    ("h264", &[13, 6, 7]),
    ("h265", &[17]),
    ("vp9", &[19]),
    ("av1", &[32]),
];

type VaDisplay = *mut c_void;
type GetDisplayDrm = unsafe extern "C" fn(c_int) -> VaDisplay;
type Initialize = unsafe extern "C" fn(VaDisplay, *mut c_int, *mut c_int) -> c_int;
type Terminate = unsafe extern "C" fn(VaDisplay) -> c_int;
type QueryVendor = unsafe extern "C" fn(VaDisplay) -> *const c_char;
type MaxEntrypoints = unsafe extern "C" fn(VaDisplay) -> c_int;
type QueryEntrypoints = unsafe extern "C" fn(VaDisplay, c_int, *mut c_int, *mut c_int) -> c_int;
type ErrorStr = unsafe extern "C" fn(c_int) -> *const c_char;

struct Va {
    va: Library,
    drm: Library,
}

fn sym<'l, T>(lib: &'l Library, name: &str) -> Result<Symbol<'l, T>, String> {
    // SAFETY: every T used here is the C signature of `name` in va.h / va_drm.h.
    unsafe { lib.get::<T>(name.as_bytes()) }.map_err(|e| format!("{name}: {e}"))
}

fn load() -> Result<Va, String> {
    // SAFETY: loading libva runs its initialisers only; done in the helper process.
    let va = unsafe { Library::new(VA_LIB) }.map_err(|e| e.to_string())?;
    // SAFETY: as above.
    let drm = unsafe { Library::new(VA_DRM_LIB) }.map_err(|e| e.to_string())?;
    Ok(Va { va, drm })
}

/// Fills in `va` for every render node of `report` (found by [`devices::render_nodes`]).
pub fn probe(report: &mut VaReport, root: &Path) {
    let libs = match load() {
        Ok(l) => l,
        Err(e) => {
            report.libva_error = Some(e);
            return;
        }
    };
    report.libva_loaded = true;
    for node in &mut report.render_nodes {
        let file = devices::node_file(root, &node.path);
        node.va = Some(probe_node(&libs, &file).unwrap_or_else(|e| VaNodeReport {
            error: Some(e),
            ..VaNodeReport::default()
        }));
    }
}

fn status(libs: &Va, code: c_int) -> String {
    let text = sym::<ErrorStr>(&libs.va, "vaErrorStr").ok().and_then(|f| {
        // SAFETY: vaErrorStr returns a static string for any status.
        let p = unsafe { f(code) };
        // SAFETY: non-null static NUL-terminated string.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    });
    match text {
        Some(t) => format!("{t} ({code})"),
        None => format!("VAStatus {code}"),
    }
}

fn probe_node(libs: &Va, file: &Path) -> Result<VaNodeReport, String> {
    let fd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .map_err(|e| format!("open {}: {e}", file.display()))?;
    let get_display = sym::<GetDisplayDrm>(&libs.drm, "vaGetDisplayDRM")?;
    let initialize = sym::<Initialize>(&libs.va, "vaInitialize")?;
    let terminate = sym::<Terminate>(&libs.va, "vaTerminate")?;
    // SAFETY: the fd stays open until after vaTerminate (it is dropped at the end of scope).
    let dpy = unsafe { get_display(fd.as_raw_fd()) };
    if dpy.is_null() {
        return Err("vaGetDisplayDRM returned no display".to_owned());
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: dpy is a display from vaGetDisplayDRM; writes two ints.
    let rc = unsafe { initialize(dpy, &mut major, &mut minor) };
    if rc != 0 {
        // SAFETY: a display must be terminated even when initialisation failed.
        unsafe { terminate(dpy) };
        return Err(format!("vaInitialize: {}", status(libs, rc)));
    }
    let mut out = VaNodeReport {
        initialized: true,
        api_version: Some(format!("{major}.{minor}")),
        ..VaNodeReport::default()
    };
    let result = entrypoints(libs, dpy, &mut out);
    // SAFETY: initialised display, terminated exactly once.
    unsafe { terminate(dpy) };
    drop(fd);
    result.map(|()| out)
}

fn entrypoints(libs: &Va, dpy: VaDisplay, out: &mut VaNodeReport) -> Result<(), String> {
    if let Ok(f) = sym::<QueryVendor>(&libs.va, "vaQueryVendorString") {
        // SAFETY: initialised display; returns a string owned by the driver or null.
        let p = unsafe { f(dpy) };
        if !p.is_null() {
            // SAFETY: non-null NUL-terminated string valid until vaTerminate.
            out.vendor_string = Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned());
        }
    }
    let max = sym::<MaxEntrypoints>(&libs.va, "vaMaxNumEntrypoints")?;
    let query = sym::<QueryEntrypoints>(&libs.va, "vaQueryConfigEntrypoints")?;
    // SAFETY: initialised display.
    let cap = unsafe { max(dpy) }.clamp(0, 256);
    let mut list = vec![0 as c_int; cap.max(1) as usize];
    for (codec, profiles) in CODEC_PROFILES {
        let (mut full, mut low_power) = (false, false);
        for profile in *profiles {
            let mut n: c_int = 0;
            // SAFETY: list holds vaMaxNumEntrypoints entries, the documented bound.
            let rc = unsafe { query(dpy, *profile, list.as_mut_ptr(), &mut n) };
            if rc != 0 {
                continue; // VA_STATUS_ERROR_UNSUPPORTED_PROFILE: not this profile
            }
            let got = &list[..(n.clamp(0, cap) as usize)];
            full |= got.contains(&ENTRYPOINT_ENC_SLICE);
            low_power |= got.contains(&ENTRYPOINT_ENC_SLICE_LP);
        }
        if full {
            out.encode.push((*codec).to_owned());
        } else if low_power {
            out.encode_low_power.push((*codec).to_owned());
        }
    }
    Ok(())
}
