//! The start-up TURN check against Debian's coturn: a running server answers the STUN Binding
//! probe over UDP and TCP; once it is stopped the probe reports it unreachable.
//! Skipped (with a message) where coturn's `turnserver` is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use selkies_host::turn_probe::{Transport, probe};

fn free_port() -> u16 {
    let s = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

#[tokio::test]
async fn coturn_answers_and_a_stopped_one_is_reported() {
    if Command::new("turnserver")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        eprintln!("SKIP: coturn (turnserver) is not installed");
        return;
    }
    let port = free_port();
    let mut coturn = Command::new("turnserver")
        .args([
            "-n",
            "--listening-ip=127.0.0.1",
            &format!("--listening-port={port}"),
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--log-file=stdout",
            "--realm=test",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start coturn");
    let mut up = false;
    for _ in 0..50 {
        if probe(
            "127.0.0.1",
            port,
            Transport::Udp,
            Duration::from_millis(600),
        )
        .await
        .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let tcp = probe("127.0.0.1", port, Transport::Tcp, Duration::from_secs(2)).await;
    let _ = coturn.kill();
    let _ = coturn.wait();
    assert!(up, "coturn never answered the UDP Binding probe");
    tcp.expect("coturn answers over TCP");
    let gone = probe("127.0.0.1", port, Transport::Udp, Duration::from_secs(1)).await;
    assert!(gone.is_err(), "a stopped TURN server must be reported");
}
