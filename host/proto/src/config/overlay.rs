//! The `--json_config` overlay (docs/protocol.md §1): read once at start (six keys override
//! CLI/env) and rewritten whenever the browser changes a setting at runtime.
//!
//! Decisions: a missing or empty file means "no overlay" (the buggy legacy `main` branch leaves
//! an empty file behind); a corrupt file or a bad value is a *warning* and is ignored rather than
//! an error, because the file is a cache the host writes itself and must not stop the host from
//! starting. Writes are read-modify-write through a temporary file and `rename`, so a crash never
//! leaves a truncated file (the legacy bug) and unknown keys are preserved. The temporary file is
//! created exclusively (`O_EXCL`, random name, mode 0600) next to the target, so another local
//! user cannot plant a symlink under a predictable name in a shared directory such as `/tmp`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::settings::Settings;
use crate::encoder::Encoder;

/// Why the overlay file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} does not hold a JSON object")]
    NotObject { path: PathBuf },
}

/// A runtime change to persist (data-channel `_arg_fps`, `vb`, `ab`, `_arg_resize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlaySetting {
    Framerate(u32),
    /// kbit/s.
    VideoBitrate(u32),
    /// bit/s.
    AudioBitrate(u32),
    EnableResize(bool),
}

impl OverlaySetting {
    fn key_value(self) -> (&'static str, Value) {
        match self {
            OverlaySetting::Framerate(v) => ("framerate", v.into()),
            OverlaySetting::VideoBitrate(v) => ("video_bitrate", v.into()),
            OverlaySetting::AudioBitrate(v) => ("audio_bitrate", v.into()),
            OverlaySetting::EnableResize(v) => ("enable_resize", v.into()),
        }
    }
}

/// The overriding values found in the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsonOverlay {
    pub framerate: Option<u32>,
    pub video_bitrate: Option<u32>,
    pub audio_bitrate: Option<u32>,
    pub enable_resize: Option<bool>,
    pub encoder: Option<Encoder>,
    /// `allowed_origins`: a string (comma-separated) or an array of strings.
    pub allowed_origins: Option<Vec<String>>,
    /// `transport`: `auto`, `webrtc` or `websocket`.
    pub transport: Option<crate::ws_stream::Transport>,
    /// `max_viewers` (0 allowed: sharing off).
    pub max_viewers: Option<u32>,
    /// `enable_webcam` (docs/webcam.md).
    pub enable_webcam: Option<bool>,
    /// Keys present with unusable values (ignored).
    pub warnings: Vec<String>,
}

/// Legacy `int(value)`: accepts a JSON integer or a decimal string; must be > 0.
fn positive(v: &Value) -> Option<u32> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    u32::try_from(n).ok().filter(|n| *n > 0)
}

/// Legacy `str(value).lower() == "true"`, but strict: JSON bools or `true`/`false` strings.
fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => crate::protocol::parse_bool(s.trim()),
        _ => None,
    }
}

impl JsonOverlay {
    /// Parses the text of a `--json_config` file (read by the caller): `Ok(None)` when it is
    /// empty; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Option<Self>, OverlayError> {
        Ok(parse_object(path, text)?.map(|map| JsonOverlay::from_map(&map)))
    }

    /// Reads `path`; `Ok(None)` when it does not exist or is empty.
    pub fn load(path: &Path) -> Result<Option<Self>, OverlayError> {
        match read_object(path)? {
            None => Ok(None),
            Some(map) => Ok(Some(JsonOverlay::from_map(&map))),
        }
    }

    /// Extracts the six overriding keys from a parsed file.
    pub fn from_map(map: &Map<String, Value>) -> Self {
        let mut o = JsonOverlay::default();
        let mut take = |key: &str, ok: bool| {
            if !ok {
                o.warnings.push(format!(
                    "ignoring invalid {key:?} in --json_config: {}",
                    map[key]
                ));
            }
        };
        if let Some(v) = map.get("framerate") {
            o.framerate = positive(v);
            take("framerate", o.framerate.is_some());
        }
        if let Some(v) = map.get("video_bitrate") {
            o.video_bitrate = positive(v);
            take("video_bitrate", o.video_bitrate.is_some());
        }
        if let Some(v) = map.get("audio_bitrate") {
            o.audio_bitrate = positive(v);
            take("audio_bitrate", o.audio_bitrate.is_some());
        }
        if let Some(v) = map.get("enable_resize") {
            o.enable_resize = boolean(v);
            take("enable_resize", o.enable_resize.is_some());
        }
        if let Some(v) = map.get("encoder") {
            o.encoder = v.as_str().and_then(|s| s.parse().ok());
            take("encoder", o.encoder.is_some());
        }
        if let Some(v) = map.get("transport") {
            o.transport = v.as_str().and_then(|s| s.parse().ok());
            take("transport", o.transport.is_some());
        }
        if let Some(v) = map.get("allowed_origins") {
            o.allowed_origins = origins(v);
            take("allowed_origins", o.allowed_origins.is_some());
        }
        if let Some(v) = map.get("max_viewers") {
            o.max_viewers = positive(v).or_else(|| (v.as_u64() == Some(0)).then_some(0));
            take("max_viewers", o.max_viewers.is_some());
        }
        if let Some(v) = map.get("enable_webcam") {
            o.enable_webcam = boolean(v);
            take("enable_webcam", o.enable_webcam.is_some());
        }
        o
    }

    /// Overrides the CLI/env values and forwards warnings.
    pub fn apply(&self, s: &mut Settings) {
        if let Some(v) = self.framerate {
            s.framerate = v;
        }
        if let Some(v) = self.video_bitrate {
            s.video_bitrate = v;
        }
        if let Some(v) = self.audio_bitrate {
            s.audio_bitrate = v;
        }
        if let Some(v) = self.enable_resize {
            s.enable_resize = v;
        }
        if let Some(v) = self.encoder {
            s.encoder = v;
        }
        if let Some(v) = &self.allowed_origins {
            s.allowed_origins.clone_from(v);
        }
        if let Some(v) = self.transport {
            s.transport = v;
        }
        if let Some(v) = self.max_viewers {
            s.max_viewers = v;
        }
        if let Some(v) = self.enable_webcam {
            s.enable_webcam = v;
        }
        s.warnings.extend(self.warnings.iter().cloned());
    }

    /// Sets one key in the file, keeping every other key; creates the file if needed. A corrupt
    /// existing file is replaced by a fresh object. Blocking I/O: call it off the async runtime.
    pub fn persist(path: &Path, setting: OverlaySetting) -> Result<(), OverlayError> {
        JsonOverlay::persist_all(path, &[setting])
    }

    /// [`JsonOverlay::persist`] for several changes in one read-modify-write (later entries
    /// win), so a writer that coalesces a burst of slider changes touches the disk once.
    pub fn persist_all(path: &Path, settings: &[OverlaySetting]) -> Result<(), OverlayError> {
        let mut map = read_object(path).ok().flatten().unwrap_or_default();
        for setting in settings {
            let (key, value) = setting.key_value();
            map.insert(key.to_owned(), value);
        }
        let mut text = serde_json::to_string_pretty(&Value::Object(map)).map_err(|source| {
            OverlayError::Json {
                path: path.to_owned(),
                source,
            }
        })?;
        text.push('\n');
        write_atomically(path, text.as_bytes())
    }
}

pub(super) fn read_object(path: &Path) -> Result<Option<Map<String, Value>>, OverlayError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(OverlayError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    parse_object(path, &text)
}

fn parse_object(path: &Path, text: &str) -> Result<Option<Map<String, Value>>, OverlayError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(_) => Err(OverlayError::NotObject {
            path: path.to_owned(),
        }),
        Err(source) => Err(OverlayError::Json {
            path: path.to_owned(),
            source,
        }),
    }
}

fn origins(v: &Value) -> Option<Vec<String>> {
    let joined = match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?
            .join(","),
        _ => return None,
    };
    super::settings::parse_origins(&joined).ok()
}

/// A temporary file that nobody else can have created: a random name, `O_EXCL` (which also
/// refuses to follow a symlink planted under that name) and mode 0600.
fn create_temp(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "selkies_config.json".to_owned());
    let mut last = None;
    for _ in 0..8 {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = path.with_file_name(format!(".{name}.{:016x}.tmp", u64::from_le_bytes(r)));
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
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OverlayError> {
    let io = |source| OverlayError::Io {
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
