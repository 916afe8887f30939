//! Test scaffolding: compiles the C fixtures with the system C compiler, builds fake bundle
//! trees (under paths with spaces and non-ASCII names), fake device trees, and parses what the
//! fake host recorded.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The launcher under test: the cargo-built one, or `SELKIES_TEST_LAUNCHER` (CI points it at
/// the static release build).
pub fn launcher() -> PathBuf {
    std::env::var_os("SELKIES_TEST_LAUNCHER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_selkies-gstreamer-run")))
}

pub fn probe_helper() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_selkies-gpu-probe"))
}

/// A fresh scratch directory whose path has a space and non-ASCII characters.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "selkies launcher ü {}-{}",
        name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir scratch");
    dir
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Compiles a fixture; `shared` builds a shared object with the given soname.
pub fn cc(source: &str, out: &Path, soname: Option<&str>) {
    let mut cmd = Command::new("cc");
    cmd.arg("-O1")
        .arg("-Wall")
        .arg("-o")
        .arg(out)
        .arg(fixture(source));
    if let Some(so) = soname {
        cmd.args(["-shared", "-fPIC"])
            .arg(format!("-Wl,-soname,{so}"));
    }
    let status = cmd.status().expect("run cc");
    assert!(status.success(), "cc {source} failed");
}

/// Builds fake libcuda.so.1, libnvidia-encode.so.1, libva.so.2, libva-drm.so.2 in `dir`.
pub fn fake_driver_libs(dir: &Path, nvidia: bool, va: bool) {
    std::fs::create_dir_all(dir).expect("mkdir libs");
    if nvidia {
        cc(
            "fake_cuda.c",
            &dir.join("libcuda.so.1"),
            Some("libcuda.so.1"),
        );
        cc(
            "fake_nvenc.c",
            &dir.join("libnvidia-encode.so.1"),
            Some("libnvidia-encode.so.1"),
        );
    }
    if va {
        cc("fake_va.c", &dir.join("libva.so.2"), Some("libva.so.2"));
        cc(
            "fake_va.c",
            &dir.join("libva-drm.so.2"),
            Some("libva-drm.so.2"),
        );
    }
}

fn write(path: &Path, data: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, data).expect("write");
}

/// A device tree with an NVIDIA GPU and an Intel render node.
pub fn fake_devices(root: &Path) {
    write(&root.join("dev/nvidia0"), "");
    write(&root.join("dev/nvidiactl"), "");
    write(
        &root.join("proc/driver/nvidia/version"),
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n",
    );
    write(&root.join("dev/dri/renderD128"), "");
    write(
        &root.join("sys/class/drm/renderD128/device/vendor"),
        "0x8086\n",
    );
    std::os::unix::fs::symlink(
        "../../../bus/pci/drivers/i915",
        root.join("sys/class/drm/renderD128/device/driver"),
    )
    .expect("symlink");
}

/// A bundle tree at `root`: the launcher, the probe helper, the fake host under
/// `libexec/selkies-gstreamer` and `libexec/gst-plugin-scanner`, plugin files named by
/// `plugins`, `bin/gst-plugin-scanner` linked to the launcher.
pub fn fake_bundle(root: &Path, plugins: &[&str]) {
    for d in [
        "libexec",
        "lib/gstreamer-1.0",
        "lib/gio/modules",
        "bin",
        "share/selkies-web",
    ] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir bundle");
    }
    std::fs::copy(launcher(), root.join("selkies-gstreamer-run")).expect("copy launcher");
    std::fs::copy(probe_helper(), root.join("libexec/selkies-gpu-probe")).expect("copy helper");
    cc("fakehost.c", &root.join("libexec/selkies-gstreamer"), None);
    std::fs::copy(
        root.join("libexec/selkies-gstreamer"),
        root.join("libexec/gst-plugin-scanner"),
    )
    .expect("copy scanner");
    std::os::unix::fs::symlink(
        "../selkies-gstreamer-run",
        root.join("bin/gst-plugin-scanner"),
    )
    .expect("scanner link");
    for p in plugins {
        write(&root.join(format!("lib/gstreamer-1.0/libgst{p}.so")), "");
    }
}

/// Copies this machine's loader and the libraries the test programs need into `lib/glibc`,
/// so the bundled-loader path runs for real.
pub fn bundle_glibc(root: &Path) {
    let dir = root.join("lib/glibc");
    std::fs::create_dir_all(&dir).expect("mkdir glibc");
    for lib in [
        "ld-linux-x86-64.so.2",
        "libc.so.6",
        "libm.so.6",
        "libgcc_s.so.1",
    ] {
        let src = Path::new("/lib/x86_64-linux-gnu").join(lib);
        std::fs::copy(&src, dir.join(lib))
            .unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    }
}

/// What the fake host recorded.
#[derive(Debug, Default)]
pub struct Recorded {
    pub pid: u32,
    pub exe: OsString,
    pub argv: Vec<OsString>,
    pub env: BTreeMap<OsString, OsString>,
}

impl Recorded {
    pub fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let mut r = Recorded::default();
        for rec in bytes.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let (tag, value) = rec.split_at(rec.iter().position(|b| *b == b'=').expect("tag") + 1);
            match tag {
                b"pid=" => r.pid = String::from_utf8_lossy(value).parse().expect("pid"),
                b"exe=" => r.exe = OsString::from_vec(value.to_vec()),
                b"arg=" => r.argv.push(OsString::from_vec(value.to_vec())),
                b"env=" => {
                    let eq = value.iter().position(|b| *b == b'=').unwrap_or(value.len());
                    let val = value.get(eq + 1..).unwrap_or_default();
                    r.env.insert(
                        OsString::from_vec(value[..eq].to_vec()),
                        OsString::from_vec(val.to_vec()),
                    );
                }
                _ => panic!("unknown record"),
            }
        }
        r
    }

    pub fn var(&self, name: &str) -> Option<String> {
        self.env
            .get(&OsString::from(name))
            .map(|v| v.to_string_lossy().into_owned())
    }
}

/// A clean base environment for launcher runs (no inherited bundle or display variables).
pub fn base_env(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .env("RUST_LOG", "info");
}
