//! A whole host started in-process through `selkies_host::startup`: loopback address, an
//! ephemeral port, x264enc, no auth, no resize, a loopback STUN server and no TURN, its web root
//! and config files in a temporary directory, serving until the test stops or drops it.

// Not every test binary that shares `common` starts a host.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use selkies_host::host::Host;
use selkies_host::startup::{self, Started};
use selkies_proto::config::Settings;
use tokio::sync::oneshot;

pub struct TestHost {
    pub addr: SocketAddr,
    pub host: Arc<Host>,
    /// The `--json_config` file the host persists settings to.
    pub json_config: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// Starts a host with the flags above plus `extra` (`--name=value` each).
pub async fn start_host(extra: &[&str]) -> TestHost {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<!doctype html>").expect("index");
    let json_config = dir.path().join("selkies.json");
    let mut flags = vec![
        "--addr=127.0.0.1".to_owned(),
        "--port=0".to_owned(),
        "--encoder=x264enc".to_owned(),
        "--enable_basic_auth=false".to_owned(),
        "--enable_resize=false".to_owned(),
        "--stun_host=127.0.0.1".to_owned(),
        "--stun_port=3478".to_owned(),
        "--turn_host=".to_owned(),
        format!("--json_config={}", json_config.display()),
        format!("--web_root={}", dir.path().display()),
        format!(
            "--rtc_config_json={}",
            dir.path().join("rtc.json").display()
        ),
    ];
    flags.extend(extra.iter().map(|a| (*a).to_owned()));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let settings = Settings::from_flags(&flags).expect("settings");
    let started: Started = startup::start(settings).await.expect("host starts");
    let (addr, host) = (started.addr, started.host.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(started.serve(async {
        let _ = stopped.await;
    }));
    TestHost {
        addr,
        host,
        json_config,
        stop: Some(stop),
        done,
        _dir: dir,
    }
}

impl TestHost {
    /// Stops serving and waits (up to 30 s) for the serve task to end.
    pub async fn stop(mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        tokio::time::timeout(Duration::from_secs(30), &mut self.done)
            .await
            .expect("the host stops")
            .expect("serve task");
    }
}
