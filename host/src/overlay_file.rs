//! The `--json_config` file on disk: reading it, and rewriting it atomically with the text that
//! `selkies_proto::config::JsonOverlay` computes (the parsing and the read-modify-write logic
//! are pure and live there).
//!
//! A rewrite goes through a temporary sibling created exclusively (`O_EXCL`, random name, mode
//! 0600), is fsynced, renamed over the target, and the directory is fsynced: a crash never
//! leaves a truncated file, and another local user cannot plant a symlink under a predictable
//! name in a shared directory such as `/tmp`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use selkies_proto::config::{JsonOverlay, OverlayError, OverlaySetting, temp_file_name};

/// Why the overlay file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OverlayFileError {
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Content(#[from] OverlayError),
}

/// The file's text; `Ok(None)` when it does not exist.
pub fn read_text(path: &Path) -> Result<Option<String>, OverlayFileError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(OverlayFileError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// The overriding values in `path`; `Ok(None)` when it does not exist or is empty.
pub fn load(path: &Path) -> Result<Option<JsonOverlay>, OverlayFileError> {
    match read_text(path)? {
        None => Ok(None),
        Some(text) => Ok(JsonOverlay::parse(path, &text)?),
    }
}

/// Sets one key in the file, keeping every other key; creates the file if needed. Blocking
/// I/O: call it off the async runtime.
pub fn persist(path: &Path, setting: OverlaySetting) -> Result<(), OverlayFileError> {
    persist_all(path, &[setting])
}

/// [`persist`] for several changes in one read-modify-write (later entries win), so a writer
/// that coalesces a burst of slider changes touches the disk once. An unreadable or corrupt
/// file is replaced by a fresh object.
pub fn persist_all(path: &Path, settings: &[OverlaySetting]) -> Result<(), OverlayFileError> {
    let current = read_text(path).ok().flatten();
    let text = JsonOverlay::updated_text(path, current.as_deref(), settings)?;
    write_atomically(path, text.as_bytes())
}

/// A temporary file that nobody else can have created: a random name, `O_EXCL` (which also
/// refuses to follow a symlink planted under that name) and mode 0600.
fn create_temp(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = None;
    for _ in 0..8 {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = temp_file_name(path, r);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// Write to an exclusively created sibling temporary file, fsync, rename over the target, then
/// fsync the directory so the rename itself survives a power loss.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OverlayFileError> {
    let io = |source| OverlayFileError::Io {
        path: path.to_owned(),
        source,
    };
    let (tmp, mut f) = create_temp(path).map_err(io)?;
    let result = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Best effort: some file systems refuse fsync on a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_is_read_modify_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cfg.json");
        persist(&path, OverlaySetting::VideoBitrate(4000)).expect("create");
        persist(&path, OverlaySetting::Framerate(30)).expect("update");
        persist(&path, OverlaySetting::EnableResize(true)).expect("update");
        persist(&path, OverlaySetting::AudioBitrate(96000)).expect("update");
        let loaded = load(&path).expect("read").expect("exists");
        assert_eq!(loaded.video_bitrate, Some(4000));
        assert_eq!(loaded.framerate, Some(30));
        assert_eq!(loaded.enable_resize, Some(true));
        assert_eq!(loaded.audio_bitrate, Some(96000));

        // Unknown keys survive; a corrupt file is replaced.
        std::fs::write(&path, r#"{"custom": "keep"}"#).expect("write");
        persist(&path, OverlaySetting::Framerate(15)).expect("update");
        let text = std::fs::read_to_string(&path).expect("read");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            (v["custom"].as_str(), v["framerate"].as_u64()),
            (Some("keep"), Some(15))
        );
        std::fs::write(&path, "garbage").expect("write");
        persist(&path, OverlaySetting::Framerate(20)).expect("replace");
        assert_eq!(
            load(&path).expect("read").and_then(|o| o.framerate),
            Some(20)
        );
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");

        let err = persist(
            Path::new("/nonexistent-dir/x.json"),
            OverlaySetting::Framerate(1),
        );
        assert!(matches!(err, Err(OverlayFileError::Io { .. })));
        assert!(
            load(Path::new("/nonexistent-dir/x.json"))
                .expect("missing")
                .is_none()
        );
    }

    #[test]
    fn persist_never_follows_a_planted_symlink() {
        // A writer using `.<name>.<pid>.tmp` with File::create would overwrite the target of
        // a symlink planted under that name.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cfg.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").expect("write");
        let planted = dir
            .path()
            .join(format!(".cfg.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).expect("symlink");
        persist(&path, OverlaySetting::Framerate(30)).expect("persist");
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious");
        assert_eq!(
            load(&path).expect("read").and_then(|o| o.framerate),
            Some(30)
        );
    }

    #[test]
    fn persist_all_applies_a_burst_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cfg.json");
        persist_all(
            &path,
            &[
                OverlaySetting::VideoBitrate(1000),
                OverlaySetting::Framerate(30),
                OverlaySetting::VideoBitrate(3000),
            ],
        )
        .expect("persist");
        let o = load(&path).expect("read").expect("exists");
        assert_eq!((o.video_bitrate, o.framerate), (Some(3000), Some(30)));
        std::fs::write(&path, "").expect("write");
        assert!(load(&path).expect("empty").is_none());
    }
}
