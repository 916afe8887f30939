//! `selkies-turn-rest`: reads the legacy TURN-REST environment, refuses to start without
//! `TURN_SHARED_SECRET` and `TURN_HOST`, and serves credential grants on port 8008 (or
//! `--port` / `TURN_REST_PORT`) until SIGINT or SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use selkies_turn_rest::config::ServiceConfig;
use selkies_turn_rest::service;
use tracing::info;
use tracing_subscriber::filter::LevelFilter;

/// Hands out time-limited TURN credentials (coturn `use-auth-secret`) as an RTC config JSON.
///
/// Settings come from the environment like the legacy service: TURN_SHARED_SECRET and
/// TURN_HOST (both required), TURN_PORT (443), STUN_HOST (= TURN_HOST), STUN_PORT (=
/// TURN_PORT), TURN_PROTOCOL (udp), TURN_TLS (false), WEB_CONCURRENCY (3 threads).
#[derive(Debug, Parser)]
#[command(name = "selkies-turn-rest", version)]
struct Cli {
    /// TCP port to listen on
    #[arg(long, env = "TURN_REST_PORT", default_value_t = 8008)]
    port: u16,
    /// Address to listen on (the legacy container listened on every interface)
    #[arg(long, env = "TURN_REST_BIND", default_value = "0.0.0.0")]
    bind: IpAddr,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match ServiceConfig::from_env(|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("selkies-turn-rest: {e}");
            return ExitCode::from(2);
        }
    };
    match run(cli, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("selkies-turn-rest: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `RUST_LOG` is one level (`error` … `trace`, default `info`): per-module directives would
/// need tracing-subscriber's regex-based filter, which doubles the binary in the tarball.
fn init_logging() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli, config: ServiceConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.workers)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(SocketAddr::new(cli.bind, cli.port), config))
}

async fn serve(addr: SocketAddr, config: ServiceConfig) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    info!(
        %addr,
        turn = %format!("{}:{}", config.turn_host, config.turn_port),
        stun = %format!("{}:{}", config.stun_host, config.stun_port),
        protocol = %config.default_protocol.as_str(),
        tls = config.default_tls,
        "selkies-turn-rest listening"
    );
    axum::serve(listener, service::router(Arc::new(config)))
        .with_graceful_shutdown(shutdown())
        .await
        .context("HTTP server failed")?;
    info!("selkies-turn-rest stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM (containers stop with SIGTERM).
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
