//! Resumable uploads (docs/files.md): `POST /files/upload?name=…&size=…` opens an upload,
//! `PUT /files/upload/{id}?offset=…` appends a chunk, `HEAD`/`GET` say how many bytes the host
//! has (`Upload-Offset`), `DELETE` cancels. The bytes go to a hidden partial file
//! (`.selkies-upload-<id>.part`) in the upload directory, written at explicit offsets, so a
//! chunk cut off by a disconnect leaves exactly the bytes that reached the disk and the client
//! resumes from the file's length. The complete file is renamed into place without ever
//! replacing an existing file (`renameat2(RENAME_NOREPLACE)`, the next " (n)" name on EEXIST).

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use tracing::{debug, info};

use super::names::{self, PARTIAL_PREFIX};
use super::range::{ChunkError, check_chunk};
use super::{FileTransfer, io_failure, json, not_found};

/// Uploads that may be open at once (a bound on the bookkeeping a client can make us keep).
pub const MAX_OPEN_UPLOADS: usize = 64;
/// An upload nobody touched for this long is dropped with its partial file.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Bytes gathered from the body before one positioned write.
const WRITE_BATCH: usize = 1 << 20;

/// One upload in progress.
pub struct Upload {
    /// The sanitised name it will get.
    name: String,
    size: u64,
    partial: PathBuf,
    /// A chunk is being received; a second one at the same time is refused.
    busy: bool,
    touched: Instant,
}

#[derive(Deserialize)]
pub struct StartQuery {
    name: String,
    size: u64,
}

#[derive(Deserialize)]
pub struct ChunkQuery {
    offset: u64,
}

fn partial_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{PARTIAL_PREFIX}{id}.part"))
}

/// Deletes the partial files of uploads a previous run left behind.
pub fn remove_stale_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PARTIAL_PREFIX) && name.ends_with(".part") {
            debug!(%name, "removing a partial upload of a previous run");
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Bytes of the partial file on disk: the truth about what was received.
async fn received(path: &Path) -> std::io::Result<u64> {
    Ok(tokio::fs::metadata(path).await?.len())
}

fn offset_response(status: StatusCode, have: u64, size: u64, extra: serde_json::Value) -> Response {
    let mut body = json!({ "offset": have, "size": size });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let mut resp = json(status, body);
    if let Ok(v) = HeaderValue::from_str(&have.to_string()) {
        resp.headers_mut().insert("upload-offset", v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `POST /files/upload?name=…&size=…`: opens an upload; answers its id.
pub async fn start(State(ft): State<Arc<FileTransfer>>, q: Query<StartQuery>) -> Response {
    if ft.max_upload_bytes.is_some_and(|max| q.size > max) {
        return json(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({ "error": "file larger than the upload limit", "max": ft.max_upload_bytes }),
        );
    }
    let name = names::sanitize(&q.name);
    if let Err(e) = tokio::fs::create_dir_all(&ft.upload_dir).await {
        return io_failure("cannot create the upload directory", &e);
    }
    let mut random = [0u8; 64];
    if let Err(e) = getrandom::fill(&mut random) {
        return io_failure("no upload id", &std::io::Error::other(e.to_string()));
    }
    let Some(id) = selkies_proto::config::password_from_random(&random) else {
        return io_failure(
            "no upload id",
            &std::io::Error::other("too few random bytes"),
        );
    };
    let partial = partial_path(&ft.upload_dir, &id);
    {
        let mut uploads = ft.uploads();
        let now = Instant::now();
        let abandoned: Vec<String> = uploads
            .iter()
            .filter(|(_, u)| !u.busy && now.duration_since(u.touched) > ABANDONED_AFTER)
            .map(|(id, _)| id.clone())
            .collect();
        for old in abandoned {
            if let Some(u) = uploads.remove(&old) {
                let _ = std::fs::remove_file(&u.partial);
            }
        }
        if uploads.len() >= MAX_OPEN_UPLOADS {
            return json(
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "error": "too many uploads in progress" }),
            );
        }
        uploads.insert(
            id.clone(),
            Upload {
                name: name.clone(),
                size: q.size,
                partial: partial.clone(),
                busy: false,
                touched: now,
            },
        );
    }
    let created = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .await;
    if let Err(e) = created {
        ft.uploads().remove(&id);
        return io_failure("cannot create the partial file", &e);
    }
    info!(%name, size = q.size, "upload started");
    if q.size == 0 {
        return finish(&ft, &id).await;
    }
    offset_response(
        StatusCode::CREATED,
        0,
        q.size,
        json!({ "id": id, "name": name }),
    )
}

/// `HEAD`/`GET /files/upload/{id}`: how many bytes the host has.
pub async fn status(State(ft): State<Arc<FileTransfer>>, UrlPath(id): UrlPath<String>) -> Response {
    let Some((partial, size, busy)) = ft
        .uploads()
        .get(&id)
        .map(|u| (u.partial.clone(), u.size, u.busy))
    else {
        return not_found();
    };
    match received(&partial).await {
        Ok(have) => offset_response(StatusCode::OK, have, size, json!({ "busy": busy })),
        Err(e) => io_failure("cannot read the partial file", &e),
    }
}

/// `DELETE /files/upload/{id}`: drops the upload and its partial file.
pub async fn cancel(State(ft): State<Arc<FileTransfer>>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(u) = ft.uploads().remove(&id) else {
        return not_found();
    };
    let _ = tokio::fs::remove_file(&u.partial).await;
    StatusCode::NO_CONTENT.into_response()
}

/// Marks the upload idle again however the chunk's handler ends, the handler future being
/// dropped by a disconnect included, once no write of it is in flight.
struct Busy {
    ft: Arc<FileTransfer>,
    id: String,
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(u) = self.ft.uploads().get_mut(&self.id) {
            u.busy = false;
            u.touched = Instant::now();
        }
    }
}

/// `PUT /files/upload/{id}?offset=N`: appends the body at `N`, which must be the number of
/// bytes received so far (else 409 with the right offset).
pub async fn put_chunk(
    State(ft): State<Arc<FileTransfer>>,
    UrlPath(id): UrlPath<String>,
    q: Query<ChunkQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (partial, size) = {
        let mut uploads = ft.uploads();
        let Some(u) = uploads.get_mut(&id) else {
            return not_found();
        };
        if u.busy {
            return json(
                StatusCode::CONFLICT,
                json!({ "error": "a chunk of this upload is being received", "busy": true }),
            );
        }
        u.busy = true;
        (u.partial.clone(), u.size)
    };
    // Shared with every write in flight: a write the dropped handler leaves behind keeps the
    // upload busy until it has landed, so the offset a client is told never grows afterwards.
    let busy = Arc::new(Busy {
        ft: ft.clone(),
        id: id.clone(),
    });
    let have = match received(&partial).await {
        Ok(h) => h,
        Err(e) => return io_failure("cannot read the partial file", &e),
    };
    match check_chunk(q.offset, len, have, size) {
        Ok(()) => {}
        Err(e @ ChunkError::Offset { .. }) => {
            return offset_response(
                StatusCode::CONFLICT,
                have,
                size,
                json!({ "error": e.to_string() }),
            );
        }
        Err(e @ ChunkError::TooLong { .. }) => {
            return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "error": e.to_string() }),
            );
        }
    }
    let file = match std::fs::OpenOptions::new().write(true).open(&partial) {
        Ok(f) => Arc::new(f),
        Err(e) => return io_failure("cannot open the partial file", &e),
    };
    let written = receive(&ft, file, body, have, size, &busy).await;
    let have = match written {
        Ok(h) => h,
        Err(Receive::TooLong) => {
            return json(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "error": "chunk goes past the announced size" }),
            );
        }
        Err(Receive::Io(e)) => return io_failure("cannot write the partial file", &e),
        Err(Receive::Body(have)) => {
            // The client went away mid-chunk; what reached the disk stays for the resume.
            debug!(id, have, "upload chunk cut off");
            return offset_response(StatusCode::BAD_REQUEST, have, size, json!({}));
        }
    };
    if have == size {
        drop(busy);
        return finish(&ft, &id).await;
    }
    offset_response(StatusCode::OK, have, size, json!({}))
}

enum Receive {
    TooLong,
    Io(std::io::Error),
    /// The body ended in an error after this many bytes were on disk.
    Body(u64),
}

/// Streams `body` into `file` from `have`, in positioned writes of up to [`WRITE_BATCH`],
/// paced by the rate limit. Returns the bytes on disk afterwards.
async fn receive(
    ft: &FileTransfer,
    file: Arc<std::fs::File>,
    body: Body,
    mut have: u64,
    size: u64,
    busy: &Arc<Busy>,
) -> Result<u64, Receive> {
    let mut stream = body.into_data_stream();
    let mut batch: Vec<u8> = Vec::with_capacity(WRITE_BATCH);
    loop {
        let (frame, end, failed) = match stream.next().await {
            Some(Ok(bytes)) => (Some(bytes), false, false),
            Some(Err(_)) => (None, true, true),
            None => (None, true, false),
        };
        if let Some(bytes) = frame {
            if have + (batch.len() + bytes.len()) as u64 > size {
                return Err(Receive::TooLong);
            }
            batch.extend_from_slice(&bytes);
            let wait = ft.pace(bytes.len() as u64);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        if batch.len() >= WRITE_BATCH || (end && !batch.is_empty()) {
            let data = std::mem::replace(&mut batch, Vec::with_capacity(WRITE_BATCH));
            let f = file.clone();
            let at = have;
            let n = data.len() as u64;
            let held = busy.clone();
            // A positioned write: should this future be dropped, the write still lands at the
            // same place, and a resend of the same bytes there changes nothing.
            tokio::task::spawn_blocking(move || {
                let written = f.write_all_at(&data, at);
                drop(held);
                written
            })
            .await
            .map_err(|e| Receive::Io(std::io::Error::other(e)))?
            .map_err(Receive::Io)?;
            have += n;
        }
        if end {
            return if failed {
                Err(Receive::Body(have))
            } else {
                Ok(have)
            };
        }
    }
}

/// Moves a complete upload into place under its sanitised name, or the first free " (n)" one.
async fn finish(ft: &Arc<FileTransfer>, id: &str) -> Response {
    let Some(u) = ft.uploads().remove(id) else {
        return not_found();
    };
    let dir = ft.upload_dir.clone();
    let (partial, name, size) = (u.partial, u.name, u.size);
    let placed =
        tokio::task::spawn_blocking(move || place(&dir, &partial, &name).map_err(|e| (e, partial)))
            .await;
    match placed {
        Ok(Ok(final_name)) => {
            info!(name = %final_name, size, "upload complete");
            offset_response(
                StatusCode::OK,
                size,
                size,
                json!({ "done": true, "name": final_name }),
            )
        }
        Ok(Err((e, partial))) => {
            let _ = std::fs::remove_file(partial);
            io_failure("cannot move the upload into place", &e)
        }
        Err(e) => io_failure(
            "cannot move the upload into place",
            &std::io::Error::other(e),
        ),
    }
}

/// Renames `partial` to `dir/name` (or `name (n)`) without replacing anything.
fn place(dir: &Path, partial: &Path, name: &str) -> std::io::Result<String> {
    for n in 0..10_000 {
        let candidate = names::numbered(name, n);
        match rename_noreplace(partial, &dir.join(&candidate)) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free name"))
}

/// `rename` that fails with `AlreadyExists` instead of replacing the target. Falls back to
/// `link` + `unlink` on file systems without `RENAME_NOREPLACE`.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: both paths are NUL-terminated C strings that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EINVAL) {
        std::fs::hard_link(from, to)?;
        return std::fs::remove_file(from);
    }
    Err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placing_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.txt"), "old").unwrap();
        std::fs::write(d.join("a (1).txt"), "old1").unwrap();
        std::fs::write(d.join(".p1"), "new").unwrap();
        assert_eq!(place(d, &d.join(".p1"), "a.txt").unwrap(), "a (2).txt");
        assert_eq!(std::fs::read_to_string(d.join("a.txt")).unwrap(), "old");
        assert_eq!(std::fs::read_to_string(d.join("a (2).txt")).unwrap(), "new");
        assert!(!d.join(".p1").exists());
    }

    #[test]
    fn stale_partials_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(partial_path(d, "abc"), "x").unwrap();
        std::fs::write(d.join("keep.part"), "x").unwrap();
        remove_stale_partials(d);
        assert!(!partial_path(d, "abc").exists());
        assert!(d.join("keep.part").exists());
    }
}
