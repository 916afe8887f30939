//! selkies-telemetry: Prometheus metrics (docs/protocol.md §9.1) and their HTTP exporter, the
//! WebRTC statistics CSV files (§9.2) fed by the client's `_stats_video`/`_stats_audio`, and
//! NVIDIA GPU statistics through NVML loaded at run time (`gpu_stats`, §4.2).
//!
//! Pure logic (flattening, exposition text, column merging, receiver deltas, /proc parsing, the
//! selected ICE pair of a stats report) lives in its own modules, unit-tested; I/O is confined to
//! `server`, `stats_csv`'s file handling, `nvml` and `process::ProcessStats::read`. See
//! docs/metrics.md and docs/connectivity.md.

use std::net::SocketAddr;
use std::path::PathBuf;

pub mod connectivity;
pub mod estimate;
pub mod exposition;
pub mod flatten;
pub mod ice_board;
pub mod localtime;
pub mod metrics;
pub mod nvml;
pub mod process;
pub mod server;
pub mod stages;
pub mod stats_csv;
pub mod system;

pub use connectivity::{Connectivity, selected_pair};
pub use estimate::{VideoReceiverStats, VideoStatsTracker};
pub use flatten::{FlatStats, flatten_stats};
pub use ice_board::{ConnectivityBoard, PeerConnectivity};
pub use metrics::Metrics;
pub use nvml::{GpuStats, Nvml, NvmlError, gpu_stats};
pub use server::{router, serve, serve_listener};
pub use stages::{Stage, StageHistograms};
pub use stats_csv::{CsvOutcome, StatsCsv, StatsKind};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("WebRTC statistics must be a JSON array of RTCStats reports, got {0}")]
    StatsNotArray(&'static str),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: reading back the statistics CSV: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("metrics exporter cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("metrics exporter: {0}")]
    Serve(#[source] std::io::Error),
}
