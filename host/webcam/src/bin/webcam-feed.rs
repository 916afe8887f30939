//! webcam-feed: serves a moving I420 test pattern on the webcam socket, exactly as the host
//! serves the browser's camera, so the interposer can be checked and measured without a
//! browser (ci/checks/55-webcam.sh). Prints `serving WxH at N fps on PATH` once listening.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use selkies_v4l2_wire::frame::PixFmt;
use selkies_webcam::{FrameHub, pattern};

#[derive(Parser)]
#[command(about = "Serve a test pattern on the webcam socket")]
struct Args {
    /// The unix socket to serve on.
    #[arg(long, default_value = selkies_v4l2_wire::DEFAULT_SOCKET)]
    socket: PathBuf,
    #[arg(long, default_value_t = 640)]
    width: u32,
    #[arg(long, default_value_t = 480)]
    height: u32,
    #[arg(long, default_value_t = 30)]
    fps: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let hub = FrameHub::new();
    // Publish the first frame before listening, so the first client learns the format at once.
    hub.publish(
        PixFmt::I420,
        args.width,
        args.height,
        pattern::frame(args.width, args.height, 0),
    )
    .context("frame size")?;
    let server = tokio::spawn(hub.clone().serve(args.socket.clone()));
    println!(
        "serving {}x{} at {} fps on {}",
        args.width,
        args.height,
        args.fps,
        args.socket.display()
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1) / args.fps.max(1));
    let mut n = 1u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            r = tokio::signal::ctrl_c() => { r?; break; }
        }
        if server.is_finished() {
            break;
        }
        let f = pattern::frame(args.width, args.height, n);
        hub.publish(PixFmt::I420, args.width, args.height, f)?;
        n += 1;
    }
    server.abort();
    match server.await {
        Ok(Err(e)) => Err(e).context("webcam socket"),
        _ => Ok(()),
    }
}
