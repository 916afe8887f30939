//! `selkies-gstreamer`: the host binary. Resolves the configuration, sets up the process
//! (allocator, logging, GStreamer, the X-server watch, the runtime) and runs the host of
//! `selkies_host::startup` until SIGINT/SIGTERM.

use std::time::Duration;

use anyhow::{Context, Result};
use selkies_proto::config::Args;
use tracing::warn;

fn main() -> Result<()> {
    limit_malloc_arenas();
    let settings = selkies_host::config_io::resolve(Args::parse_from_env())
        .context("invalid configuration")?;
    init_logging(settings.debug);
    no_huge_pages();
    for w in &settings.warnings {
        warn!("{w}");
    }
    gstreamer::init().context("GStreamer could not be initialised")?;
    // X gone = exit status 75 with our own log line (docs/reliability.md, "Media and peers").
    if let Err(e) = selkies_host::desktop::watch_x_server() {
        warn!("the loss of the X server will not be detected early: {e}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime
        .block_on(selkies_host::startup::run(settings, shutdown_signal()))
        .context("the host could not start");
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// GStreamer's many threads each get a glibc malloc arena, and arenas keep freed memory, so RSS
/// grows with every session (docs/testing.md G12). Two arenas keep it flat; `MALLOC_ARENA_MAX` set by
/// the user still wins.
///
/// Large blocks (frames, encoder buffers) always get their own mapping, returned to the kernel
/// when freed: glibc otherwise raises its mmap threshold after the first such free and serves
/// later frames from the heap, which fragments and cannot shrink (−15 MiB RSS while streaming,
/// −18 MiB after a session: docs/benchmarks.md "Memory"). `MALLOC_MMAP_THRESHOLD_` still wins.
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: as above.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        }
    }
}

/// x264 asks the kernel for transparent huge pages on its large buffers (`madvise(MADV_HUGEPAGE)`
/// on every block of 2 MiB or more), and a huge page is resident as a whole even where x264
/// touches only part of it: 5–8 MiB of a 1080p session's RSS were untouched parts of huge pages,
/// and x264 was no faster with them (docs/benchmarks.md "Memory: x264's huge pages").
/// `SELKIES_HUGE_PAGES=1` keeps the kernel's choice. The flag is inherited by the processes the
/// host starts, which is harmless for them.
fn no_huge_pages() {
    if std::env::var_os("SELKIES_HUGE_PAGES").is_some_and(|v| v == "1") {
        return;
    }
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process; the arguments are plain ints.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if rc != 0 {
        // Kernels before 3.15 lack it; nothing else depends on it.
        tracing::debug!(
            "transparent huge pages stay on: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// glibc's default starting threshold, made fixed.
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

fn init_logging(debug: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour codes only on a terminal: log files and CI tails stay readable.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
