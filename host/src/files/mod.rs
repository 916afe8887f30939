//! File transfer between the browser and the host over HTTP(S) (docs/files.md): resumable,
//! chunked uploads into the upload directory and streamed downloads from the download
//! directory. The routes live under `/files/` on the host's one port, behind the same Basic
//! auth as every other route (the router is nested inside `http.rs`'s auth layer), and answer
//! 404 to everything when `--enable_file_transfer` is off.

pub mod download;
pub mod names;
pub mod range;
pub mod upload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use selkies_proto::config::IntakeSettings;
use tracing::{info, warn};

use range::Pacer;
use upload::Upload;

/// Where the routes are mounted.
pub const PREFIX: &str = "/files";

/// The state of file transfer: directories, limits and the uploads in progress.
pub struct FileTransfer {
    pub upload_dir: PathBuf,
    pub download_dir: PathBuf,
    /// Bytes; `None`: unlimited.
    pub max_upload_bytes: Option<u64>,
    /// Shared by all uploads, so the limit holds for the host, not per connection.
    pacer: Option<Mutex<Pacer>>,
    uploads: Mutex<HashMap<String, Upload>>,
}

/// `~/Desktop` when it exists, else `~/Downloads` (the upload default).
pub fn default_upload_dir(home: &Path) -> PathBuf {
    let desktop = home.join("Desktop");
    if desktop.is_dir() {
        desktop
    } else {
        home.join("Downloads")
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

impl FileTransfer {
    /// `None` when file transfer is disabled. Removes partial files a previous run left behind
    /// (their uploads cannot be resumed: the bookkeeping lived in that process).
    pub fn from_settings(s: &IntakeSettings) -> Option<Arc<FileTransfer>> {
        if !s.enable_file_transfer {
            return None;
        }
        let home = home();
        let ft = FileTransfer {
            upload_dir: s
                .file_upload_dir
                .clone()
                .unwrap_or_else(|| default_upload_dir(&home)),
            download_dir: s
                .file_download_dir
                .clone()
                .unwrap_or_else(|| home.join("Downloads")),
            max_upload_bytes: s.file_upload_max_bytes,
            pacer: s.file_upload_rate_bps.map(|r| Mutex::new(Pacer::new(r))),
            uploads: Mutex::new(HashMap::new()),
        };
        upload::remove_stale_partials(&ft.upload_dir);
        info!(
            upload_dir = %ft.upload_dir.display(),
            download_dir = %ft.download_dir.display(),
            "file transfer enabled (docs/files.md)"
        );
        Some(Arc::new(ft))
    }

    fn uploads(&self) -> std::sync::MutexGuard<'_, HashMap<String, Upload>> {
        crate::sync::lock(&self.uploads)
    }

    /// How long to wait before more of an upload may be received (the rate limit).
    fn pace(&self, n: u64) -> std::time::Duration {
        self.pacer.as_ref().map_or(std::time::Duration::ZERO, |p| {
            crate::sync::lock(p).book(n, std::time::Instant::now())
        })
    }
}

/// The `/files` router: the real routes when enabled, else 404 for every path and method.
pub fn router(ft: Option<Arc<FileTransfer>>) -> Router {
    let Some(ft) = ft else {
        return Router::new().fallback(|| async { not_found() });
    };
    Router::new()
        .route("/list", get(download::list))
        .route("/download/{name}", get(download::download))
        .route("/upload", post(upload::start))
        .route(
            "/upload/{id}",
            get(upload::status)
                .head(upload::status)
                .put(upload::put_chunk)
                .delete(upload::cancel),
        )
        .fallback(|| async { not_found() })
        .with_state(ft)
}

pub(crate) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 NOT FOUND").into_response()
}

/// A JSON response with `status`.
pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// An I/O failure as a 500, logged once here.
pub(crate) fn io_failure(what: &str, e: &std::io::Error) -> Response {
    warn!("file transfer: {what}: {e}");
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        serde_json::json!({ "error": format!("{what}: {e}") }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_default_prefers_the_desktop() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(default_upload_dir(dir.path()), dir.path().join("Downloads"));
        std::fs::create_dir(dir.path().join("Desktop")).unwrap();
        assert_eq!(default_upload_dir(dir.path()), dir.path().join("Desktop"));
    }
}
