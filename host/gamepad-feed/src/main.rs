//! gamepad-feed: drives the host's gamepad path from `js,…` data-channel lines on stdin, exactly
//! as the data channel would (used by the interposer checks and the latency benchmark).
//!
//! Lines that are not `js,…` are ignored, except `sleep,<ms>` (pauses, for scripted tests) and
//! `wait,<index>,<clients>` (waits until that many interposer clients are connected). On EOF
//! (or SIGINT/SIGTERM) all sockets are removed.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use selkies_gamepad::GamepadService;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Parser)]
#[command(about = "Feed js,… data-channel messages to the gamepad service")]
struct Args {
    /// Socket directory (the host's --js_socket_path).
    #[arg(long = "js_socket_path", default_value = "/tmp")]
    js_socket_path: PathBuf,
    /// Create uinput devices instead of sockets when /dev/uinput is writable.
    #[arg(long)]
    uinput: bool,
}

async fn wait_clients(service: &GamepadService, index: u8, want: usize) {
    for _ in 0..1000 {
        if service.client_count(index).await >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::warn!(index, want, "timed out waiting for interposer clients");
}

async fn run(service: &GamepadService) -> Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.context("reading stdin")? {
        let fields: Vec<&str> = line.trim().split(',').collect();
        match fields.as_slice() {
            ["js", rest @ ..] => match selkies_proto::gamepad::parse_js(rest) {
                Ok(msg) => service.handle(msg).await,
                Err(e) => tracing::warn!("ignoring {line:?}: {e}"),
            },
            ["sleep", ms] => {
                tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await
            }
            ["wait", index, n] => {
                wait_clients(service, index.parse().unwrap_or(0), n.parse().unwrap_or(1)).await
            }
            _ => tracing::debug!("ignoring {line:?}"),
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let service = GamepadService::with_uinput(args.js_socket_path, args.uinput);
    println!("mode: {}", service.mode());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("SIGTERM handler")?;
    let result = tokio::select! {
        r = run(&service) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    };
    service.shutdown().await;
    result
}
