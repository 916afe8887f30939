//! The `--json_config` overlay (docs/protocol.md §1): read once at start (six keys override
//! CLI/env) and rewritten whenever the browser changes a setting at runtime.
//!
//! Pure: this module parses the file's text and produces the text to write back; the host
//! reads and rewrites the file (`selkies_host::overlay_file`, atomically and under a random
//! temporary name built by [`temp_file_name`] from random bytes it supplies).
//!
//! Decisions: a missing or empty file means "no overlay" (the buggy legacy `main` branch leaves
//! an empty file behind); a corrupt file or a bad value is a *warning* and is ignored rather than
//! an error, because the file is a cache the host writes itself and must not stop the host from
//! starting. A rewrite keeps unknown keys and replaces a corrupt file with a fresh object.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::settings::Settings;
use crate::encoder::Encoder;

/// Why the overlay file's text cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
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

    /// The file's new text after `settings` (later entries win), from its current text
    /// (`None`: no file). Every other key is kept; a corrupt or non-object file is replaced by
    /// a fresh object. `path` only names the file in errors.
    pub fn updated_text(
        path: &Path,
        current: Option<&str>,
        settings: &[OverlaySetting],
    ) -> Result<String, OverlayError> {
        let mut map = current
            .and_then(|text| parse_object(path, text).ok().flatten())
            .unwrap_or_default();
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
        Ok(text)
    }
}

/// The file as a JSON object: `Ok(None)` when `text` is empty or blank; `path` only names the
/// file in errors.
pub fn parse_object(path: &Path, text: &str) -> Result<Option<Map<String, Value>>, OverlayError> {
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

/// The name of a temporary sibling of `path` to write through: `.<name>.<16 hex digits>.tmp`
/// from `random`, so another local user cannot plant a symlink under a predictable name in a
/// shared directory such as `/tmp` (the caller also creates it exclusively).
pub fn temp_file_name(path: &Path, random: [u8; 8]) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "selkies_config.json".to_owned());
    path.with_file_name(format!(".{name}.{:016x}.tmp", u64::from_le_bytes(random)))
}
