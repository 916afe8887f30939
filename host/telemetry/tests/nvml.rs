//! NVML through libloading: the absent-library path, and the present path against a stand-in
//! `libnvidia-ml.so.1` compiled here with the system C compiler (this machine has no NVIDIA GPU),
//! exposing the four entry points with nvml.h's signatures and status codes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use selkies_telemetry::{GpuStats, Nvml, NvmlError};

/// One GPU at index 0: 37 % busy, 16 GiB total, 1.5 GiB used. Index ≥ 1 answers
/// NVML_ERROR_INVALID_ARGUMENT (2), like the real library for a missing device.
const FAKE_NVML: &str = r#"
#include <stdint.h>
typedef struct { unsigned int gpu; unsigned int memory; } nvmlUtilization_t;
typedef struct { unsigned long long total; unsigned long long free; unsigned long long used; } nvmlMemory_t;
typedef void *nvmlDevice_t;
static int inited = 0;
static int device0 = 7;
int nvmlInit_v2(void) { inited += 1; return 0; }
int nvmlShutdown(void) { inited -= 1; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *dev) {
    if (!inited) return 1; /* NVML_ERROR_UNINITIALIZED */
    if (index != 0) return 2;
    *dev = &device0;
    return 0;
}
int nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *u) {
    if (dev != &device0) return 2;
    u->gpu = 37; u->memory = 12;
    return 0;
}
int nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *m) {
    if (dev != &device0) return 2;
    m->total = 16ULL << 30; m->used = 1536ULL << 20; m->free = m->total - m->used;
    return 0;
}
"#;

/// A library that loads but lacks the entry points.
const NOT_NVML: &str = "int something_else(void) { return 0; }\n";

fn build(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let lib = dir.join(name);
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .output()
        .expect("a C compiler named cc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lib
}

#[test]
fn stand_in_library_gives_gpu_stats() {
    let dir = tempfile::tempdir().unwrap();
    let lib = build(dir.path(), "libnvidia-ml.so.1", FAKE_NVML);
    let nvml = Nvml::open_path(&lib).unwrap();
    assert_eq!(
        nvml.device_stats(0).unwrap(),
        GpuStats {
            load: 0.37,
            memory_total: 16384.0,
            memory_used: 1536.0,
        }
    );
    match nvml.device_stats(1) {
        Err(NvmlError::Call { call, code }) => {
            assert_eq!(call, "nvmlDeviceGetHandleByIndex_v2");
            assert_eq!(code, 2);
        }
        other => panic!("expected a failed call, got {other:?}"),
    }
}

#[test]
fn missing_or_wrong_library_is_an_error() {
    assert!(matches!(
        Nvml::open_path("/nonexistent/libnvidia-ml.so.1"),
        Err(NvmlError::Load(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let lib = build(dir.path(), "libnot-nvml.so", NOT_NVML);
    match Nvml::open_path(&lib) {
        Err(NvmlError::Symbol { name, .. }) => assert_eq!(name, "nvmlInit_v2"),
        other => panic!("expected a missing symbol, got {:?}", other.err()),
    }
}

/// The process-wide helper never panics and agrees with a direct load of the real soname: `None`
/// exactly when the driver's library cannot be loaded or has no GPU 0.
#[test]
fn shared_helper_matches_the_machine() {
    let direct = Nvml::open().ok().and_then(|n| n.device_stats(0).ok());
    let helper = selkies_telemetry::gpu_stats(0);
    assert_eq!(direct.is_some(), helper.is_some());
    if let Some(s) = helper {
        assert!((0.0..=1.0).contains(&s.load));
        assert!(s.memory_used <= s.memory_total && s.memory_total > 0.0);
    }
    assert_eq!(selkies_telemetry::gpu_stats(u32::MAX), None);
}
