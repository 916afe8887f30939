//! Faults of the parts the host depends on, against the real binary (docs/reliability.md,
//! "Media and peers"): the X server killed under a running host ends it with our own log line
//! and exit status 75; a missing encoder element falls back with one log line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[test]
fn x_server_killed_exits_75_with_our_own_line_and_fallback_said_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut x = common::Xvfb::sized(640, 480);
    let mut host = Command::new(env!("CARGO_BIN_EXE_selkies-gstreamer"))
        .args([
            "--addr=127.0.0.1",
            &format!("--port={}", free_port()),
            "--enable_basic_auth=false",
            // Not installed on the test machine: the host falls back to a software encoder.
            "--encoder=nvh264enc",
            &format!("--json_config={}", dir.path().join("s.json").display()),
            &format!("--js_socket_path={}", dir.path().display()),
        ])
        .env("DISPLAY", &x.display)
        .env("RUST_LOG", "info")
        .env_remove("SELKIES_ENCODER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("host binary runs");
    // Ready once it prints where to connect.
    let stdout = host.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.any(|l| l.is_ok_and(|l| l.contains("open http")));
    if !ready {
        let _ = host.kill();
        let _ = host.wait();
        panic!("the host did not start");
    }

    x.kill();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = host.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = host.kill();
            let _ = host.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    let _ = host.stderr.take().expect("stderr").read_to_string(&mut log);
    let status = status.unwrap_or_else(|| panic!("still running 20 s after X died:\n{log}"));
    assert_eq!(status.code(), Some(75), "exit status; log:\n{log}");
    assert!(log.contains("the X server went away"), "{log}");
    assert_eq!(
        log.matches("encoder fallback").count(),
        1,
        "fallback said exactly once:\n{log}"
    );
}
