//! NVIDIA driver probe: loads the host driver's `libcuda.so.1` and `libnvidia-encode.so.1` with
//! libloading and asks them what they have (CUDA driver API version, devices, names, compute
//! capability; the highest NVENC API version). Runs only in the dynamic probe helper, under the
//! same loader and library path as the host, so the answer is what GStreamer's nvcodec will see.
//!
//! Only stable, ABI-trivial entry points are called (ints and char buffers); no CUDA context or
//! encode session is created, so a probe cannot hold the GPU or leak driver state.

use std::ffi::{c_char, c_int, c_uint};

use libloading::{Library, Symbol};

use super::{CudaDevice, CudaReport, NvencReport};

pub const CUDA_LIB: &str = "libcuda.so.1";
pub const NVENC_LIB: &str = "libnvidia-encode.so.1";

const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: c_int = 75;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: c_int = 76;

type CuInit = unsafe extern "C" fn(c_uint) -> c_int;
type CuIntOut = unsafe extern "C" fn(*mut c_int) -> c_int;
type CuDeviceGet = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
type CuDeviceGetName = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
type CuDeviceGetAttribute = unsafe extern "C" fn(*mut c_int, c_int, c_int) -> c_int;
type CuGetErrorName = unsafe extern "C" fn(c_int, *mut *const c_char) -> c_int;
type NvEncMaxVersion = unsafe extern "C" fn(*mut u32) -> c_int;

fn sym<'l, T>(lib: &'l Library, name: &str) -> Result<Symbol<'l, T>, String> {
    // SAFETY: every T used here is the documented C signature of `name` in the driver API.
    unsafe { lib.get::<T>(name.as_bytes()) }.map_err(|e| format!("{name}: {e}"))
}

/// `CUDA_ERROR_NO_DEVICE (100)`-style text for a CUresult.
fn cu_error(lib: &Library, code: c_int, call: &str) -> String {
    let name = sym::<CuGetErrorName>(lib, "cuGetErrorName")
        .ok()
        .and_then(|f| {
            let mut ptr: *const c_char = std::ptr::null();
            // SAFETY: cuGetErrorName writes a pointer to a static string or leaves it null.
            let rc = unsafe { f(code, &mut ptr) };
            (rc == 0 && !ptr.is_null())
                // SAFETY: non-null, NUL-terminated static string owned by the driver.
                .then(|| {
                    unsafe { std::ffi::CStr::from_ptr(ptr) }
                        .to_string_lossy()
                        .into_owned()
                })
        });
    match name {
        Some(n) => format!("{call} failed: {n} ({code})"),
        None => format!("{call} failed: CUresult {code}"),
    }
}

/// Loads a driver library, or leaves why not in `error`.
fn load(library: &str, error: &mut Option<String>) -> Option<Library> {
    // SAFETY: loading the driver runs its initialisers; that is the point of the probe, and it
    // happens in the helper process so a misbehaving driver cannot take the launcher down.
    unsafe { Library::new(library) }
        .map_err(|e| *error = Some(e.to_string()))
        .ok()
}

/// Loads libcuda and enumerates devices.
pub fn probe_cuda(library: &str) -> CudaReport {
    let mut report = CudaReport {
        library: library.to_owned(),
        ..CudaReport::default()
    };
    let Some(lib) = load(library, &mut report.error) else {
        return report;
    };
    report.loaded = true;
    if let Err(e) = cuda_details(&lib, &mut report) {
        report.error = Some(e);
    }
    report
}

fn cuda_details(lib: &Library, report: &mut CudaReport) -> Result<(), String> {
    let init = sym::<CuInit>(lib, "cuInit")?;
    // SAFETY: cuInit(0) is the documented first call; flags must be 0.
    let rc = unsafe { init(0) };
    if rc != 0 {
        return Err(cu_error(lib, rc, "cuInit"));
    }
    if let Ok(f) = sym::<CuIntOut>(lib, "cuDriverGetVersion") {
        let mut v: c_int = 0;
        // SAFETY: writes one int.
        if unsafe { f(&mut v) } == 0 {
            report.driver_api_version = Some(v);
        }
    }
    let count_fn = sym::<CuIntOut>(lib, "cuDeviceGetCount")?;
    let mut count: c_int = 0;
    // SAFETY: writes one int.
    let rc = unsafe { count_fn(&mut count) };
    if rc != 0 {
        return Err(cu_error(lib, rc, "cuDeviceGetCount"));
    }
    let get = sym::<CuDeviceGet>(lib, "cuDeviceGet")?;
    let name_fn = sym::<CuDeviceGetName>(lib, "cuDeviceGetName")?;
    let attr = sym::<CuDeviceGetAttribute>(lib, "cuDeviceGetAttribute")?;
    for index in 0..count.clamp(0, 64) {
        let mut dev: c_int = 0;
        // SAFETY: writes one CUdevice (an int) for an ordinal below the reported count.
        let rc = unsafe { get(&mut dev, index) };
        if rc != 0 {
            return Err(cu_error(lib, rc, "cuDeviceGet"));
        }
        let mut buf = [0 as c_char; 256];
        // SAFETY: the driver writes at most len bytes including the NUL.
        let rc = unsafe { name_fn(buf.as_mut_ptr(), buf.len() as c_int, dev) };
        let name = if rc == 0 {
            buf[buf.len() - 1] = 0;
            // SAFETY: NUL-terminated within buf (forced above).
            unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        } else {
            String::new()
        };
        let mut cc = [0 as c_int; 2];
        for (slot, which) in cc.iter_mut().zip([
            CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
            CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
        ]) {
            // SAFETY: writes one int.
            let rc = unsafe { attr(slot, which, dev) };
            if rc != 0 {
                return Err(cu_error(lib, rc, "cuDeviceGetAttribute"));
            }
        }
        report.devices.push(CudaDevice {
            index,
            name,
            compute_capability: cc,
        });
    }
    Ok(())
}

/// `(major << 4) | minor`, the encoding of `NvEncodeAPIGetMaxSupportedVersion`.
pub fn nvenc_version_text(raw: u32) -> String {
    format!("{}.{}", raw >> 4, raw & 0xf)
}

/// Loads libnvidia-encode and asks for its highest API version.
pub fn probe_nvenc(library: &str) -> NvencReport {
    let mut report = NvencReport {
        library: library.to_owned(),
        ..NvencReport::default()
    };
    let Some(lib) = load(library, &mut report.error) else {
        return report;
    };
    report.loaded = true;
    match sym::<NvEncMaxVersion>(&lib, "NvEncodeAPIGetMaxSupportedVersion") {
        Err(e) => report.error = Some(e),
        Ok(f) => {
            let mut v: u32 = 0;
            // SAFETY: writes one uint32_t.
            let rc = unsafe { f(&mut v) };
            if rc == 0 {
                report.max_api_version = Some(nvenc_version_text(v));
            } else {
                report.error = Some(format!(
                    "NvEncodeAPIGetMaxSupportedVersion: NVENCSTATUS {rc}"
                ));
            }
        }
    }
    if report.error.is_none() && sym::<*const ()>(&lib, "NvEncodeAPICreateInstance").is_err() {
        report.error = Some("NvEncodeAPICreateInstance missing".to_owned());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_encoding() {
        assert_eq!(nvenc_version_text((12 << 4) | 1), "12.1");
        assert_eq!(nvenc_version_text(11 << 4), "11.0");
    }

    #[test]
    fn missing_libraries_are_reported_not_fatal() {
        let cuda = probe_cuda("libselkies-no-such-cuda.so.1");
        assert!(!cuda.loaded);
        assert!(cuda.error.is_some());
        let enc = probe_nvenc("libselkies-no-such-nvenc.so.1");
        assert!(!enc.loaded);
        assert!(
            enc.error
                .as_deref()
                .is_some_and(|e| e.contains("libselkies-no-such-nvenc"))
        );
    }
}
