//! The launcher running a fake bundle whose "host" is a small C program that records its pid,
//! `/proc/self/exe`, argv and environment. Paths contain spaces and non-ASCII; the launcher is
//! reached through a symlink; the bundle is moved between runs. The real Xvfb and PulseAudio
//! are started by the launcher and inspected through /proc.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn wait_for(path: &Path, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn host_args() -> Vec<OsString> {
    vec![
        OsString::from("--addr=0.0.0.0"),
        OsString::from("--basic_auth_password"),
        OsString::from("two  words"),
        OsString::from(""),
        OsString::from_vec(b"--x=\xff\xfe".to_vec()),
        OsString::from("--probe_like_but_not"),
    ]
}

/// The env the user starts the launcher with in these tests.
fn user_cmd(exe: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(exe);
    base_env(&mut cmd, home);
    cmd.env("DISPLAY", ":0")
        .env("GST_PLUGIN_PATH", "/user/plugins")
        .env("SSL_CERT_FILE", "/user/ca.pem");
    cmd
}

#[test]
fn argv_is_byte_exact_env_is_set_and_the_bundle_can_move() {
    let dir = scratch("run-move");
    let root = dir.join("first place").join("selkies-gstreamer");
    fake_bundle(&root, &["x264"]);
    let link = dir.join("run link");
    std::os::unix::fs::symlink(root.join("selkies-gstreamer-run"), &link).expect("symlink");
    let out = dir.join("host.out");

    let mut child = user_cmd(&link, &dir)
        .args(host_args())
        .args(["--no_xvfb", "--no_pulseaudio"])
        .env("FAKEHOST_OUT", &out)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn launcher");
    let pid = child.id();
    let status = child.wait().expect("wait");
    assert!(status.success());
    let rec = Recorded::read(&out);
    assert_eq!(
        rec.pid, pid,
        "exec: the host replaced the launcher, no wrapper process"
    );
    let exe = PathBuf::from(&rec.exe);
    assert!(
        exe.file_name()
            .is_some_and(|n| n.as_bytes().starts_with(b"ld-linux")),
        "started through the host loader: {exe:?}"
    );
    let mut expected = vec![OsString::from("selkies-gstreamer")];
    expected.extend(host_args());
    assert_eq!(rec.argv, expected, "arguments byte for byte");

    let root_s = root.to_string_lossy().into_owned();
    assert_eq!(rec.var("SELKIES_ROOT").as_deref(), Some(root_s.as_str()));
    assert_eq!(
        rec.var("GST_PLUGIN_SYSTEM_PATH_1_0"),
        Some(format!("{root_s}/lib/gstreamer-1.0"))
    );
    assert_eq!(
        rec.var("GST_PLUGIN_SCANNER_1_0"),
        Some(format!("{root_s}/bin/gst-plugin-scanner"))
    );
    assert_eq!(
        rec.var("GIO_MODULE_DIR"),
        Some(format!("{root_s}/lib/gio/modules"))
    );
    assert_eq!(
        rec.var("SELKIES_WEB_ROOT"),
        Some(format!("{root_s}/share/selkies-web"))
    );
    assert_eq!(
        rec.var("GST_PLUGIN_PATH"),
        None,
        "user plugin dirs are not mixed in"
    );
    assert_eq!(
        rec.var("SELKIES_ORIG_GST_PLUGIN_PATH").as_deref(),
        Some("/user/plugins")
    );
    assert_eq!(
        rec.var("SSL_CERT_FILE").as_deref(),
        Some("/user/ca.pem"),
        "user value kept"
    );
    assert_eq!(rec.var("LD_LIBRARY_PATH"), None, "never exported");
    assert_eq!(
        rec.var("SELKIES_ENCODER").as_deref(),
        Some("x264enc"),
        "chosen by the probe"
    );
    let registry = rec.var("GST_REGISTRY_1_0").expect("registry");
    let cache = format!(
        "{}/.cache/selkies-gstreamer/registry-",
        dir.to_string_lossy()
    );
    assert!(registry.starts_with(&cache), "{registry}");
    assert!(
        Path::new(&registry).parent().is_some_and(Path::is_dir),
        "cache dir created"
    );

    // The plugin scanner: GStreamer spawns the link with the host's environment; the launcher
    // must recompute from the user's environment, not stack on the host's.
    let scan_out = dir.join("scanner.out");
    let status = Command::new(root.join("bin/gst-plugin-scanner"))
        .env_clear()
        .envs(&rec.env)
        .env("FAKEHOST_OUT", &scan_out)
        .args(["-l", "/some/exe"])
        .status()
        .expect("run scanner link");
    assert!(status.success());
    let scan = Recorded::read(&scan_out);
    assert_eq!(
        scan.argv,
        ["gst-plugin-scanner", "-l", "/some/exe"].map(OsString::from)
    );
    assert_eq!(
        scan.var("SELKIES_ORIG_GST_PLUGIN_PATH").as_deref(),
        Some("/user/plugins")
    );
    assert_eq!(
        scan.var("GST_PLUGIN_SYSTEM_PATH_1_0"),
        rec.var("GST_PLUGIN_SYSTEM_PATH_1_0")
    );
    assert_eq!(
        scan.var("SELKIES_ENCODER"),
        None,
        "only the host gets the encoder choice"
    );

    // Move the whole tree; the old symlink dangles, the launcher at the new place still works.
    let moved = dir.join("moved ☃ elsewhere");
    std::fs::rename(dir.join("first place"), &moved).expect("move bundle");
    let new_root = moved.join("selkies-gstreamer");
    let out2 = dir.join("host2.out");
    let status = user_cmd(&new_root.join("selkies-gstreamer-run"), &dir)
        .args(["--no_xvfb", "--no_pulseaudio", "--encoder=openh264enc"])
        .env("FAKEHOST_OUT", &out2)
        .status()
        .expect("run moved");
    assert!(status.success());
    let rec2 = Recorded::read(&out2);
    let new_s = new_root.to_string_lossy().into_owned();
    assert_eq!(rec2.var("SELKIES_ROOT").as_deref(), Some(new_s.as_str()));
    assert_eq!(
        rec2.var("GST_PLUGIN_SYSTEM_PATH_1_0"),
        Some(format!("{new_s}/lib/gstreamer-1.0"))
    );
    assert_ne!(
        rec2.var("GST_REGISTRY_1_0"),
        Some(registry),
        "a moved bundle gets its own registry"
    );
    assert_eq!(
        rec2.var("SELKIES_ENCODER"),
        None,
        "the user's --encoder is not overridden"
    );
    assert_eq!(rec2.argv[1..], [OsString::from("--encoder=openh264enc")]);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn bundled_loader_runs_the_host() {
    let dir = scratch("run-bundled");
    let root = dir.join("selkies-gstreamer");
    fake_bundle(&root, &["x264"]);
    bundle_glibc(&root);
    let out = dir.join("host.out");
    let status = user_cmd(&root.join("selkies-gstreamer-run"), &dir)
        .args(["--no_xvfb", "--no_pulseaudio", "--encoder", "x264enc"])
        .env("SELKIES_GLIBC_MODE", "bundled")
        .env("LD_PRELOAD", "/nonexistent/host-preload.so")
        .env("FAKEHOST_OUT", &out)
        .status()
        .expect("run");
    assert!(status.success());
    let rec = Recorded::read(&out);
    assert_eq!(
        PathBuf::from(&rec.exe),
        root.join("lib/glibc/ld-linux-x86-64.so.2")
    );
    let root_s = root.to_string_lossy().into_owned();
    assert_eq!(rec.var("GCONV_PATH"), Some(format!("{root_s}/lib/gconv")));
    assert_eq!(rec.var("LD_PRELOAD"), None, "a host preload is moved aside");
    assert_eq!(
        rec.var("SELKIES_ORIG_LD_PRELOAD").as_deref(),
        Some("/nonexistent/host-preload.so")
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// Direct children of `pid` as (pid, comm).
fn children(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let comm = stat[stat.find('(').map_or(0, |o| o + 1)..close].to_owned();
        let ppid = stat[close + 2..]
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push((p, comm));
        }
    }
    out
}

fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .is_some_and(|t| t.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn starts_xvfb_and_pulseaudio_without_bundle_env_and_stops_them_with_the_host() {
    let dir = scratch("run-services");
    let root = dir.join("selkies-gstreamer");
    fake_bundle(&root, &["x264"]);
    let display = (200..400)
        .map(|n| n + std::process::id() % 200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .expect("a free display");
    let runtime = dir.join("run time");
    let (out, release) = (dir.join("host.out"), dir.join("release"));
    let child = user_cmd(&root.join("selkies-gstreamer-run"), &dir)
        .args(["--xvfb_size=1280x720", "--encoder=x264enc"])
        .env("DISPLAY", format!(":{display}"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("LOGDIR", &dir)
        .env("FAKEHOST_OUT", &out)
        .env("FAKEHOST_WAIT", &release)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for(&out, 60);
    let rec = Recorded::read(&out);
    let kids = children(rec.pid);
    let find = |name: &str| kids.iter().find(|(_, c)| c == name).map(|(p, _)| *p);
    let (Some(xvfb), Some(pulse)) = (find("Xvfb"), find("pulseaudio")) else {
        let _ = std::fs::write(&release, b"");
        panic!("children of the host: {kids:?}");
    };
    for (name, pid) in [("Xvfb", xvfb), ("pulseaudio", pulse)] {
        let env = environ(pid);
        for leaked in [
            "SELKIES_ROOT=",
            "GST_PLUGIN_SYSTEM_PATH_1_0=",
            "GIO_MODULE_DIR=",
            "SELKIES_BUNDLE_ENV=",
        ] {
            assert!(
                !env.iter().any(|v| v.starts_with(leaked)),
                "{name} got {leaked}: {env:?}"
            );
        }
        assert!(
            env.iter().any(|v| v == "GST_PLUGIN_PATH=/user/plugins"),
            "{name} keeps user env"
        );
    }
    let socket = runtime.join("pulse/native");
    assert_eq!(rec.var("DISPLAY"), Some(format!(":{display}")));
    assert_eq!(
        rec.var("PULSE_SERVER"),
        Some(format!("unix:{}", socket.to_string_lossy()))
    );
    assert!(
        std::os::unix::net::UnixStream::connect(&socket).is_ok(),
        "PulseAudio answers"
    );
    assert!(std::os::unix::net::UnixStream::connect(format!("/tmp/.X11-unix/X{display}")).is_ok());

    std::fs::write(&release, b"").expect("release host");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains(&format!("started Xvfb on :{display} (1280x720")),
        "{log}"
    );
    assert!(log.contains("started PulseAudio at"), "{log}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(xvfb) || alive(pulse) {
        assert!(
            Instant::now() < deadline,
            "Xvfb/PulseAudio outlived the host"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
