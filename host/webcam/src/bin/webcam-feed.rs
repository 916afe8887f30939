//! webcam-feed: serves a moving I420 test pattern on the webcam socket, exactly as the host
//! serves the browser's camera, so the interposer can be checked and measured without a
//! browser (ci/checks/55-webcam.sh). Prints `serving WxH at N fps on PATH` once listening.
//! `--delay-ms` listens that long before the first frame (the host's placeholder until then, as
//! with a browser camera turned on late); `--resize-after` switches to `--resize-to` after that
//! many frames (a camera changing size while applications stream).

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
    /// Serve this long with no frame before the pattern starts.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Switch size after this many frames (0: never).
    #[arg(long, default_value_t = 0)]
    resize_after: u64,
    /// The size switched to, as WxH.
    #[arg(long, default_value = "640x360", value_parser = parse_size)]
    resize_to: (u32, u32),
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once('x').ok_or("expected WxH")?;
    let n = |v: &str| v.parse::<u32>().map_err(|e| e.to_string());
    Ok((n(w)?, n(h)?))
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
    if args.delay_ms == 0 {
        hub.publish(
            PixFmt::I420,
            args.width,
            args.height,
            pattern::frame(args.width, args.height, 0),
        )
        .context("frame size")?;
    }
    let server = tokio::spawn(hub.clone().serve(args.socket.clone()));
    println!(
        "serving {}x{} at {} fps on {}",
        args.width,
        args.height,
        args.fps,
        args.socket.display()
    );
    tokio::time::sleep(Duration::from_millis(args.delay_ms)).await;
    let mut tick = tokio::time::interval(Duration::from_secs(1) / args.fps.max(1));
    let (mut w, mut h) = (args.width, args.height);
    let mut n = 1u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            r = tokio::signal::ctrl_c() => { r?; break; }
        }
        if server.is_finished() {
            break;
        }
        if args.resize_after > 0 && n == args.resize_after {
            (w, h) = args.resize_to;
            println!("resized to {w}x{h}");
        }
        hub.publish(PixFmt::I420, w, h, pattern::frame(w, h, n))?;
        n += 1;
    }
    server.abort();
    match server.await {
        Ok(Err(e)) => Err(e).context("webcam socket"),
        _ => Ok(()),
    }
}
