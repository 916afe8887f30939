//! Downloads (docs/files.md): `GET /files/list` lists the regular, non-hidden files directly
//! inside the download directory; `GET /files/download/{name}` streams one of them in 64 KiB
//! reads (never the whole file in memory), honouring a single `Range`. Symbolic links and
//! anything but a plain name are refused, so nothing outside the directory can be reached.

use std::io::SeekFrom;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::names::is_plain_entry;
use super::range::{RangeRequest, parse_range};
use super::{FileTransfer, io_failure, json, not_found};

/// Most entries `list` returns (a directory with more is cut, sorted by name).
pub const MAX_LISTED: usize = 5000;
const READ_SIZE: usize = 64 * 1024;

/// `GET /files/list`.
pub async fn list(State(ft): State<Arc<FileTransfer>>) -> Response {
    let dir = ft.download_dir.clone();
    let listed = tokio::task::spawn_blocking(move || {
        let mut files = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            // A download directory that does not exist (yet) is an empty one.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
            Err(e) => return Err(e),
        };
        for e in entries.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let Ok(meta) = e.metadata() else { continue };
            if !is_plain_entry(&name) || !meta.file_type().is_file() {
                continue;
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            files.push((name, meta.len(), modified));
        }
        files.sort();
        files.truncate(MAX_LISTED);
        Ok(files)
    })
    .await;
    let files = match listed {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return io_failure("cannot list the download directory", &e),
        Err(e) => return io_failure("cannot list", &std::io::Error::other(e)),
    };
    let files: Vec<_> = files
        .into_iter()
        .map(|(name, size, modified)| json!({ "name": name, "size": size, "modified": modified }))
        .collect();
    let mut resp = json(
        StatusCode::OK,
        json!({ "files": files, "max_upload_bytes": ft.max_upload_bytes }),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `attachment; filename*=UTF-8''…` with every byte outside RFC 5987's attr-char encoded.
pub fn content_disposition(name: &str) -> String {
    let mut out = String::from("attachment; filename*=UTF-8''");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET`/`HEAD /files/download/{name}`.
pub async fn download(
    State(ft): State<Arc<FileTransfer>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if !is_plain_entry(&name) {
        return not_found();
    }
    let path = ft.download_dir.join(&name);
    // `symlink_metadata`: a link planted in the directory could point anywhere.
    match tokio::fs::symlink_metadata(&path).await {
        Ok(m) if m.file_type().is_file() => {}
        _ => return not_found(),
    }
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(_) => return not_found(),
    };
    let len = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => return io_failure("cannot stat the file", &e),
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, count) = match parse_range(range, len) {
        RangeRequest::Whole => (StatusCode::OK, 0, len),
        RangeRequest::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => {
            let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return resp;
        }
    };
    if start > 0
        && let Err(e) = file.seek(SeekFrom::Start(start)).await
    {
        return io_failure("cannot seek", &e);
    }
    let mut resp = Response::new(Body::from_stream(stream(file.take(count))));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    let mime = crate::http::mime_for(&path);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&count.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let end = start + count - 1;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    resp
}

/// The reader as a stream of chunks: one buffer in flight, however large the file.
fn stream<R>(reader: R) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    futures::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let mut buf = vec![0u8; READ_SIZE];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(reader)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_encodes_everything_risky() {
        assert_eq!(
            content_disposition("a b\".txt"),
            "attachment; filename*=UTF-8''a%20b%22.txt"
        );
        assert_eq!(
            content_disposition("é;\r\n"),
            "attachment; filename*=UTF-8''%C3%A9%3B%0D%0A"
        );
    }
}
