//! The binary itself: refuses to start without its required settings (clear message, non-zero
//! exit), and serves a grant over real TCP with the host's request headers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_selkies-turn-rest");

fn command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().envs(env.iter().copied());
    cmd
}

#[test]
fn refuses_to_start_without_secret_or_host() {
    for (env, var) in [
        (
            vec![("TURN_HOST", "turn.example.org")],
            "TURN_SHARED_SECRET",
        ),
        (vec![("TURN_SHARED_SECRET", "s")], "TURN_HOST"),
        (
            vec![("TURN_SHARED_SECRET", "s"), ("TURN_HOST", "")],
            "TURN_HOST",
        ),
    ] {
        let out = command(&env).output().expect("run the binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{var} is not set")),
            "{env:?}: {stderr}"
        );
    }
    let out = command(&[
        ("TURN_SHARED_SECRET", "s"),
        ("TURN_HOST", "h"),
        ("TURN_PORT", "x"),
    ])
    .output()
    .expect("run the binary");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TURN_PORT=\"x\" is not a port number"));
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(port: u16, request: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn serves_a_grant_on_the_configured_port() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = command(&[
        ("TURN_SHARED_SECRET", "e2e-secret"),
        ("TURN_HOST", "127.0.0.1"),
        ("TURN_PORT", "3478"),
        ("TURN_REST_PORT", &port.to_string()),
        ("TURN_REST_BIND", "127.0.0.1"),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn");
    let _guard = Running(child);
    let request = "GET /?service=turn HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                   x-auth-user: e2e-host\r\nx-turn-protocol: udp\r\nx-turn-tls: false\r\n\r\n";
    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        if let Some(r) = get(port, request) {
            break r;
        }
        assert!(Instant::now() < deadline, "no answer on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(v["iceServers"][0]["urls"][0], "stun:127.0.0.1:3478");
    assert_eq!(
        v["iceServers"][1]["urls"][0],
        "turn:127.0.0.1:3478?transport=udp"
    );
    assert!(
        v["iceServers"][1]["username"]
            .as_str()
            .is_some_and(|u| u.ends_with(":e2e-host"))
    );
}
