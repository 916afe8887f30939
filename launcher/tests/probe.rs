//! `selkies-gstreamer-run --probe --json` against fake driver libraries built here (fake
//! libcuda.so.1, libnvidia-encode.so.1, libva.so.2, libva-drm.so.2 on the library path) and a
//! fake device tree, so every NVIDIA/VA branch runs on a machine without a GPU.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

const ALL_PLUGINS: &[&str] = &["nvcodec", "va", "x264", "vpx"];

struct Case<'a> {
    libs: Option<&'a Path>,
    devices: Option<&'a Path>,
    extra_env: &'a [(&'a str, &'a str)],
}

fn probe(root: &Path, home: &Path, case: &Case) -> Value {
    let mut cmd = Command::new(root.join("selkies-gstreamer-run"));
    base_env(&mut cmd, home);
    cmd.args(["--probe", "--json"]);
    if let Some(libs) = case.libs {
        cmd.env("LD_LIBRARY_PATH", libs);
    }
    // Without a fake tree, point at an empty one: CI machines may have real /dev/dri nodes.
    cmd.env("SELKIES_PROBE_ROOT", case.devices.unwrap_or(home));
    for (k, v) in case.extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run launcher");
    assert!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn encoder<'v>(report: &'v Value, name: &str) -> &'v Value {
    report["encoders"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no row {name}"))
}

/// A scratch directory with a fake bundle (every plugin), NVIDIA driver libraries (and the VA
/// driver when `va`), and device files: (dir, bundle root, libraries, device root).
fn fake_machine(name: &str, va: bool) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let dir = scratch(name);
    let (root, libs, devices) = (
        dir.join("selkies-gstreamer"),
        dir.join("libs"),
        dir.join("devroot"),
    );
    fake_bundle(&root, ALL_PLUGINS);
    fake_driver_libs(&libs, true, va);
    fake_devices(&devices);
    (dir, root, libs, devices)
}

#[test]
fn fake_nvidia_and_va_are_reported_and_nvenc_wins() {
    let (dir, root, libs, devices) = fake_machine("probe-all", true);
    let case = Case {
        libs: Some(&libs),
        devices: Some(&devices),
        extra_env: &[],
    };
    let r = probe(&root, &dir, &case);
    assert_eq!(r["default_encoder"], "nvh264enc", "{r:#}");
    let nv = &r["gpu"]["nvidia"];
    assert_eq!(
        nv["device_nodes"],
        serde_json::json!(["/dev/nvidia0", "/dev/nvidiactl"])
    );
    assert_eq!(nv["kernel_driver_version"], "550.54.14");
    assert_eq!(nv["cuda"]["devices"][0]["name"], "Fake RTX 4090");
    assert_eq!(
        nv["cuda"]["devices"][0]["compute_capability"],
        serde_json::json!([8, 9])
    );
    assert_eq!(nv["cuda"]["driver_api_version"], 12020);
    assert_eq!(nv["nvenc"]["max_api_version"], "12.1");
    let node = &r["gpu"]["va"]["render_nodes"][0];
    assert_eq!(node["vendor"], "Intel");
    assert_eq!(node["kernel_driver"], "i915");
    assert_eq!(node["va"]["vendor_string"], "Fake VA driver 1.0");
    assert_eq!(node["va"]["encode"], serde_json::json!(["h264"]));
    assert_eq!(node["va"]["encode_low_power"], serde_json::json!(["h265"]));
    assert_eq!(
        encoder(&r, "nvav1enc")["usable"],
        true,
        "sm_89 has AV1 NVENC"
    );
    assert_eq!(encoder(&r, "vah264enc")["usable"], true);
    assert_eq!(
        encoder(&r, "vaav1enc")["usable"],
        false,
        "AV1 is decode-only here"
    );
    assert_eq!(r["glibc"]["mode"], "host");
    assert_eq!(r["gpu"]["libraries_probed"], true);

    // The text rendering of the same facts.
    let mut cmd = Command::new(root.join("selkies-gstreamer-run"));
    base_env(&mut cmd, &dir);
    let out = cmd
        .arg("--probe")
        .env("LD_LIBRARY_PATH", &libs)
        .env("SELKIES_PROBE_ROOT", &devices)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("GPU 0: Fake RTX 4090 (compute 8.9)"),
        "{text}"
    );
    assert!(
        text.contains("default  nvh264enc (NVIDIA GPU with NVENC)"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn va_only_picks_vah264enc_and_broken_cuda_is_explained() {
    let (dir, root, libs, devices) = fake_machine("probe-va", true);
    let case = Case {
        libs: Some(&libs),
        devices: Some(&devices),
        extra_env: &[("FAKE_CUDA_INIT_RESULT", "100")],
    };
    let r = probe(&root, &dir, &case);
    assert_eq!(r["default_encoder"], "vah264enc", "{r:#}");
    assert_eq!(
        r["gpu"]["nvidia"]["cuda"]["error"],
        "cuInit failed: CUDA_ERROR_NO_DEVICE (100)"
    );
    assert!(
        encoder(&r, "nvh264enc")["note"]
            .as_str()
            .is_some_and(|n| n.contains("CUDA_ERROR_NO_DEVICE")),
        "{r:#}"
    );

    // A GPU too old for HEVC NVENC, and a VA driver that does not initialise.
    let case = Case {
        libs: Some(&libs),
        devices: Some(&devices),
        extra_env: &[("FAKE_CUDA_CC", "3.5"), ("FAKE_VA_INIT_FAIL", "1")],
    };
    let r = probe(&root, &dir, &case);
    assert_eq!(r["default_encoder"], "nvh264enc");
    assert_eq!(encoder(&r, "nvh265enc")["usable"], false);
    let va = &r["gpu"]["va"]["render_nodes"][0]["va"];
    assert_eq!(va["initialized"], false);
    assert!(
        va["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("vaInitialize")),
        "{va}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn no_gpu_picks_x264enc() {
    let dir = scratch("probe-none");
    let root = dir.join("selkies-gstreamer");
    fake_bundle(&root, ALL_PLUGINS);
    let case = Case {
        libs: None,
        devices: None,
        extra_env: &[],
    };
    let r = probe(&root, &dir, &case);
    assert_eq!(r["default_encoder"], "x264enc", "{r:#}");
    assert_eq!(r["gpu"]["nvidia"]["device_nodes"], serde_json::json!([]));
    assert_eq!(r["gpu"]["nvidia"]["cuda"]["loaded"], false);
    assert_eq!(
        r["plugins"],
        serde_json::json!(["nvcodec", "va", "vpx", "x264"])
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn bundled_loader_runs_the_probe_helper() {
    let (dir, root, libs, devices) = fake_machine("probe-bundled", false);
    bundle_glibc(&root);
    let case = Case {
        libs: Some(&libs),
        devices: Some(&devices),
        extra_env: &[("SELKIES_GLIBC_MODE", "bundled")],
    };
    let r = probe(&root, &dir, &case);
    assert_eq!(r["glibc"]["mode"], "bundled", "{r:#}");
    assert_eq!(
        r["glibc"]["bundled"], r["glibc"]["host"],
        "a copy of this machine's glibc"
    );
    assert_eq!(
        r["default_encoder"], "nvh264enc",
        "dlopen works under the bundled loader"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn missing_helper_still_reports_device_files() {
    let dir = scratch("probe-nohelper");
    let (root, devices) = (dir.join("selkies-gstreamer"), dir.join("devroot"));
    fake_bundle(&root, ALL_PLUGINS);
    fake_devices(&devices);
    std::fs::remove_file(root.join("libexec/selkies-gpu-probe")).expect("rm helper");
    let case = Case {
        libs: None,
        devices: Some(&devices),
        extra_env: &[],
    };
    let r = probe(&root, &dir, &case);
    assert_eq!(r["gpu"]["libraries_probed"], false);
    assert!(
        r["gpu"]["probe_error"]
            .as_str()
            .is_some_and(|e| e.contains("missing")),
        "{r:#}"
    );
    assert_eq!(r["gpu"]["nvidia"]["kernel_driver_version"], "550.54.14");
    assert_eq!(r["default_encoder"], "x264enc");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
