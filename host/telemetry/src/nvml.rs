//! NVIDIA GPU load and memory for the `gpu_stats` message (docs/protocol.md §4.2) and the
//! `gpu_utilization` metric, through NVML loaded at run time: hosts without the NVIDIA driver
//! simply get `None`, and nothing links against `libnvidia-ml`.
//!
//! Units follow GPUtil, which the legacy host used: `load` is the utilisation fraction 0..1,
//! memory is in MiB (GPUtil reports nvidia-smi's MiB and calls them MB).

use std::ffi::{OsStr, c_int, c_uint, c_ulonglong, c_void};
use std::sync::OnceLock;

use libloading::Library;
use tracing::debug;

/// The soname the NVIDIA driver installs.
pub const NVML_SONAME: &str = "libnvidia-ml.so.1";

/// One GPU's numbers as the `gpu_stats` message carries them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpuStats {
    /// Utilisation, 0..1.
    pub load: f64,
    /// MiB.
    pub memory_total: f64,
    /// MiB.
    pub memory_used: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum NvmlError {
    #[error("cannot load NVML: {0}")]
    Load(#[source] libloading::Error),
    #[error("NVML lacks {name}: {source}")]
    Symbol {
        name: &'static str,
        #[source]
        source: libloading::Error,
    },
    #[error("{call} failed with NVML status {code}")]
    Call { call: &'static str, code: c_int },
}

type Device = *mut c_void;

#[repr(C)]
#[derive(Default)]
struct Utilization {
    gpu: c_uint,
    memory: c_uint,
}

#[repr(C)]
#[derive(Default)]
struct Memory {
    total: c_ulonglong,
    free: c_ulonglong,
    used: c_ulonglong,
}

type InitFn = unsafe extern "C" fn() -> c_int;
type HandleFn = unsafe extern "C" fn(c_uint, *mut Device) -> c_int;
type UtilFn = unsafe extern "C" fn(Device, *mut Utilization) -> c_int;
type MemFn = unsafe extern "C" fn(Device, *mut Memory) -> c_int;

/// An initialised NVML; shut down on drop. NVML is documented thread-safe.
pub struct Nvml {
    handle_by_index: HandleFn,
    utilization: UtilFn,
    memory: MemFn,
    shutdown: Option<InitFn>,
    // Keeps the function pointers above valid; dropped last.
    _lib: Library,
}

fn symbol<T: Copy>(lib: &Library, name: &'static str) -> Result<T, NvmlError> {
    let cname = format!("{name}\0");
    // SAFETY: every `T` used with this helper is the exact C signature from nvml.h.
    unsafe { lib.get::<T>(cname.as_bytes()) }
        .map(|s| *s)
        .map_err(|source| NvmlError::Symbol { name, source })
}

fn check(call: &'static str, code: c_int) -> Result<(), NvmlError> {
    if code == 0 {
        Ok(())
    } else {
        Err(NvmlError::Call { call, code })
    }
}

const MIB: f64 = 1024.0 * 1024.0;

impl Nvml {
    /// Loads [`NVML_SONAME`] through the dynamic loader's search path.
    pub fn open() -> Result<Self, NvmlError> {
        Self::open_path(NVML_SONAME)
    }

    /// Loads NVML from a given file name or path and calls `nvmlInit_v2`.
    pub fn open_path(path: impl AsRef<OsStr>) -> Result<Self, NvmlError> {
        // SAFETY: loading runs the library's initialisers; NVML's are benign.
        let lib = unsafe { Library::new(path.as_ref()) }.map_err(NvmlError::Load)?;
        let init: InitFn = symbol(&lib, "nvmlInit_v2")?;
        let handle_by_index = symbol(&lib, "nvmlDeviceGetHandleByIndex_v2")?;
        let utilization = symbol(&lib, "nvmlDeviceGetUtilizationRates")?;
        let memory = symbol(&lib, "nvmlDeviceGetMemoryInfo")?;
        let shutdown = symbol::<InitFn>(&lib, "nvmlShutdown").ok();
        // SAFETY: nvmlInit_v2 takes no arguments.
        check("nvmlInit_v2", unsafe { init() })?;
        Ok(Self {
            handle_by_index,
            utilization,
            memory,
            shutdown,
            _lib: lib,
        })
    }

    /// Load and memory of GPU `index` (the `--gpu_id` numbering).
    pub fn device_stats(&self, index: u32) -> Result<GpuStats, NvmlError> {
        let mut dev: Device = std::ptr::null_mut();
        let mut util = Utilization::default();
        let mut mem = Memory::default();
        // SAFETY: out-pointers reference live, correctly laid out locals; `dev` comes from NVML.
        unsafe {
            check(
                "nvmlDeviceGetHandleByIndex_v2",
                (self.handle_by_index)(index, &mut dev),
            )?;
            check(
                "nvmlDeviceGetUtilizationRates",
                (self.utilization)(dev, &mut util),
            )?;
            check("nvmlDeviceGetMemoryInfo", (self.memory)(dev, &mut mem))?;
        }
        Ok(GpuStats {
            load: f64::from(util.gpu.min(100)) / 100.0,
            memory_total: mem.total as f64 / MIB,
            memory_used: mem.used as f64 / MIB,
        })
    }
}

impl Drop for Nvml {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown {
            // SAFETY: balanced with the nvmlInit_v2 of open_path; the library is still loaded.
            let _ = unsafe { shutdown() };
        }
    }
}

// SAFETY: Nvml holds only function pointers into a loaded library that stays loaded for its
// lifetime; NVML's API is thread-safe.
unsafe impl Send for Nvml {}
unsafe impl Sync for Nvml {}

/// Process-wide NVML, loaded on first use; `None` (logged once) where there is no NVIDIA driver.
pub fn shared_nvml() -> Option<&'static Nvml> {
    static NVML: OnceLock<Option<Nvml>> = OnceLock::new();
    NVML.get_or_init(|| match Nvml::open() {
        Ok(n) => Some(n),
        Err(e) => {
            debug!("no GPU statistics: {e}");
            None
        }
    })
    .as_ref()
}

/// `gpu_stats` for GPU `index`, or `None` when NVML or the device is absent. Blocking (NVML calls
/// take up to a few ms; the first one loads the library): call it from a blocking thread.
pub fn gpu_stats(index: u32) -> Option<GpuStats> {
    let nvml = shared_nvml()?;
    match nvml.device_stats(index) {
        Ok(s) => Some(s),
        Err(e) => {
            debug!("GPU {index}: {e}");
            None
        }
    }
}
