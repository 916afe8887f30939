//! Options for what the browser sends *into* the desktop: the microphone and file transfer
//! (docs/microphone.md, docs/files.md). Both are off by default because they touch privacy:
//! a host operator opts in with `--enable_microphone` / `--enable_file_transfer`.
//!
//! The raw flags ([`IntakeArgs`], flattened into [`super::Args`]) follow the legacy style:
//! `--name`, `SELKIES_NAME`, string values. [`IntakeSettings`] holds the typed values; the
//! `--json_config` overlay may override every key of the same name.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::ConfigError;
use super::settings::invalid;

legacy_flags! {
    /// Raw values of the microphone and file-transfer flags.
    #[derive(Debug, Clone, clap::Args)]
    pub struct IntakeArgs {
        /// Accept the browser's microphone and play it into the PulseAudio virtual source "selkies_mic"
        enable_microphone: switch("SELKIES_ENABLE_MICROPHONE", "false"),

        /// Make the microphone's virtual source PulseAudio's default source
        microphone_default_source: switch("SELKIES_MICROPHONE_DEFAULT_SOURCE", "true"),

        /// Upload files from the browser and download files from the host over HTTP(S)
        enable_file_transfer: switch("SELKIES_ENABLE_FILE_TRANSFER", "false"),

        /// Directory uploads go to [default: ~/Desktop if it exists, else ~/Downloads]
        file_upload_dir: maybe("SELKIES_FILE_UPLOAD_DIR"),

        /// Directory whose files the browser may list and download [default: ~/Downloads]
        file_download_dir: maybe("SELKIES_FILE_DOWNLOAD_DIR"),

        /// Largest upload in MiB; 0 = unlimited
        file_upload_max_mb: text("SELKIES_FILE_UPLOAD_MAX_MB", "10240"),

        /// Upload rate limit in KiB/s over all uploads together; 0 = unlimited
        file_upload_rate_kib: text("SELKIES_FILE_UPLOAD_RATE_KIB", "0"),
    }
}

/// Typed microphone and file-transfer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeSettings {
    pub enable_microphone: bool,
    pub microphone_default_source: bool,
    pub enable_file_transfer: bool,
    /// `None`: the host's default (`~/Desktop` or `~/Downloads`).
    pub file_upload_dir: Option<PathBuf>,
    /// `None`: the host's default (`~/Downloads`).
    pub file_download_dir: Option<PathBuf>,
    /// Bytes; `None` for unlimited.
    pub file_upload_max_bytes: Option<u64>,
    /// Bytes per second; `None` for unlimited.
    pub file_upload_rate_bps: Option<u64>,
}

fn boolean(flag: &'static str, v: &str) -> Result<bool, ConfigError> {
    crate::protocol::parse_bool(v.trim()).ok_or_else(|| invalid(flag, v, "expected true or false"))
}

/// A count of `unit`-byte units; 0 means unlimited (`None`).
fn limit(flag: &'static str, v: &str, unit: u64) -> Result<Option<u64>, ConfigError> {
    let n: u64 = v
        .trim()
        .parse()
        .map_err(|_| invalid(flag, v, "expected a whole number, 0 for unlimited"))?;
    match n {
        0 => Ok(None),
        n => n
            .checked_mul(unit)
            .map(Some)
            .ok_or_else(|| invalid(flag, v, "too large")),
    }
}

fn dir(v: Option<&str>) -> Option<PathBuf> {
    let t = v?.trim();
    (!t.is_empty()).then(|| PathBuf::from(t))
}

impl IntakeSettings {
    pub fn from_args(a: &IntakeArgs) -> Result<Self, ConfigError> {
        Ok(IntakeSettings {
            enable_microphone: boolean("enable_microphone", &a.enable_microphone)?,
            microphone_default_source: boolean(
                "microphone_default_source",
                &a.microphone_default_source,
            )?,
            enable_file_transfer: boolean("enable_file_transfer", &a.enable_file_transfer)?,
            file_upload_dir: dir(a.file_upload_dir.as_deref()),
            file_download_dir: dir(a.file_download_dir.as_deref()),
            file_upload_max_bytes: limit("file_upload_max_mb", &a.file_upload_max_mb, 1 << 20)?,
            file_upload_rate_bps: limit("file_upload_rate_kib", &a.file_upload_rate_kib, 1024)?,
        })
    }

    /// Applies the keys of a `--json_config` file (same names as the flags); a value of the
    /// wrong shape is a warning, like the other overlay keys.
    pub fn apply_overlay(&mut self, map: &Map<String, Value>, warnings: &mut Vec<String>) {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let mut args = self.to_args();
        for key in KEYS {
            let Some(v) = map.get(key) else { continue };
            let Some(t) = text(v) else {
                warnings.push(format!("ignoring invalid {key:?} in --json_config: {v}"));
                continue;
            };
            // Validate each key on its own so one bad value does not discard the others.
            let mut candidate = args.clone();
            set(&mut candidate, key, t);
            match IntakeSettings::from_args(&candidate) {
                Ok(_) => args = candidate,
                Err(e) => warnings.push(format!("ignoring {key:?} in --json_config: {e}")),
            }
        }
        if let Ok(s) = IntakeSettings::from_args(&args) {
            *self = s;
        }
    }

    /// The settings back as raw flag values (for the overlay's per-key validation).
    fn to_args(&self) -> IntakeArgs {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        IntakeArgs {
            enable_microphone: self.enable_microphone.to_string(),
            microphone_default_source: self.microphone_default_source.to_string(),
            enable_file_transfer: self.enable_file_transfer.to_string(),
            file_upload_dir: path(&self.file_upload_dir),
            file_download_dir: path(&self.file_download_dir),
            file_upload_max_mb: self
                .file_upload_max_bytes
                .map_or(0, |b| b >> 20)
                .to_string(),
            file_upload_rate_kib: self
                .file_upload_rate_bps
                .map_or(0, |b| b / 1024)
                .to_string(),
        }
    }
}

/// The overlay keys, named like the flags.
const KEYS: [&str; 7] = [
    "enable_microphone",
    "microphone_default_source",
    "enable_file_transfer",
    "file_upload_dir",
    "file_download_dir",
    "file_upload_max_mb",
    "file_upload_rate_kib",
];

fn set(args: &mut IntakeArgs, key: &str, value: String) {
    match key {
        "enable_microphone" => args.enable_microphone = value,
        "microphone_default_source" => args.microphone_default_source = value,
        "enable_file_transfer" => args.enable_file_transfer = value,
        "file_upload_dir" => args.file_upload_dir = Some(value),
        "file_download_dir" => args.file_download_dir = Some(value),
        "file_upload_max_mb" => args.file_upload_max_mb = value,
        _ => args.file_upload_rate_kib = value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(words: &[&str]) -> Result<IntakeSettings, ConfigError> {
        let mut argv = vec!["selkies-gstreamer"];
        argv.extend_from_slice(words);
        let args = crate::config::Args::try_parse_from(argv).map_err(|e| ConfigError::Invalid {
            flag: "argv",
            value: String::new(),
            reason: e.to_string(),
        })?;
        IntakeSettings::from_args(&args.intake)
    }

    #[test]
    fn privacy_defaults_are_off() {
        let s = settings(&[]).unwrap();
        assert!(!s.enable_microphone && !s.enable_file_transfer);
        assert!(s.microphone_default_source);
        assert_eq!(s.file_upload_dir, None);
        assert_eq!(s.file_upload_max_bytes, Some(10240 << 20));
        assert_eq!(s.file_upload_rate_bps, None);
    }

    #[test]
    fn flags_parse_in_legacy_style() {
        let s = settings(&[
            "--enable_microphone",
            "--enable_file_transfer=true",
            "--file_upload_dir=/tmp/up",
            "--file_upload_max_mb=0",
            "--file_upload_rate_kib=512",
        ])
        .unwrap();
        assert!(s.enable_microphone && s.enable_file_transfer);
        assert_eq!(s.file_upload_dir, Some(PathBuf::from("/tmp/up")));
        assert_eq!(s.file_upload_max_bytes, None);
        assert_eq!(s.file_upload_rate_bps, Some(512 * 1024));
        let e = settings(&["--file_upload_max_mb=lots"]).unwrap_err();
        assert!(e.to_string().contains("--file_upload_max_mb"), "{e}");
        assert!(settings(&["--enable_file_transfer=maybe"]).is_err());
    }

    #[test]
    fn overlay_overrides_per_key_and_skips_bad_values() {
        let mut s = settings(&[]).unwrap();
        let map = serde_json::json!({
            "enable_file_transfer": true,
            "file_download_dir": "/srv/out",
            "file_upload_max_mb": "nonsense",
            "enable_microphone": [1],
        });
        let mut warnings = Vec::new();
        s.apply_overlay(map.as_object().unwrap(), &mut warnings);
        assert!(s.enable_file_transfer);
        assert_eq!(s.file_download_dir, Some(PathBuf::from("/srv/out")));
        assert_eq!(s.file_upload_max_bytes, Some(10240 << 20));
        assert!(!s.enable_microphone);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }
}
