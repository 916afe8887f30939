//! The `--enable_webrtc_statistics` CSV dump (docs/protocol.md §9.2): one video and one audio
//! file per connection, `<dir>/selkies-stats-{video,audio}-<%Y-%m-%d:%H:%M:%S>.csv`, a header row
//! `timestamp,<flattened keys…>` and one row per posted stats array.
//!
//! Header rules, legacy where it speaks and decided here where it is silent or buggy:
//! - arrays that flatten to fewer than 15 columns (timestamp included) are skipped, as legacy;
//! - the header is the union of every key seen so far. A row lacking some columns gets `NaN`
//!   there (no rewrite). A row bringing new columns makes us rewrite the file: new columns are
//!   placed after the key that precedes them in that row (so a report's fields stay together) and
//!   earlier rows get `NaN` in them, written to a temporary file and renamed over the old one;
//! - each file keeps its own header (legacy shared one header length between both files);
//! - files are created on the first row written, not at connection time; if names from the same
//!   second already exist, `-2`, `-3`… is appended before `.csv` instead of appending to them;
//! - quoting as Python's `csv` module (only when needed), `\r\n` line ends like it.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::TelemetryError;
use crate::flatten::{FlatStats, flatten_stats};
use crate::localtime::CivilTime;

/// Fewer columns than this (timestamp included) and the row is skipped, as legacy.
pub const MIN_COLUMNS: usize = 15;
const FILL: &str = "NaN";

/// Which peer connection a stats array came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsKind {
    Video,
    Audio,
}

/// What one [`StatsCsv::write`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvOutcome {
    /// A row was appended under the existing (or a fresh) header.
    Appended,
    /// New columns appeared: the file was rewritten with the wider header, then the row added.
    Rewritten,
    /// Too few columns (see [`MIN_COLUMNS`]); nothing written.
    Skipped,
}

/// Where the keys of a new row go in the header; `None` when the header already has them all.
pub fn merge_columns(header: &[String], keys: &[&str]) -> Option<Vec<String>> {
    let known: HashSet<&str> = header.iter().map(String::as_str).collect();
    if keys.iter().all(|k| known.contains(k)) {
        return None;
    }
    let mut merged: Vec<String> = header.to_vec();
    let mut in_merged: HashSet<String> = known.iter().map(|k| (*k).to_owned()).collect();
    // Insert each new key right after the previous key of the same row (or after `timestamp`).
    let mut anchor = merged
        .iter()
        .position(|c| c == "timestamp")
        .map_or(0, |p| p + 1);
    for key in keys {
        if in_merged.contains(*key) {
            if let Some(p) = merged.iter().position(|c| c == key) {
                anchor = p + 1;
            }
            continue;
        }
        merged.insert(anchor, (*key).to_owned());
        in_merged.insert((*key).to_owned());
        anchor += 1;
    }
    Some(merged)
}

/// The row for `header` (first column `timestamp`), `NaN` where `flat` lacks a column.
pub fn align_row(header: &[String], stamp: &str, flat: &FlatStats) -> Vec<String> {
    header
        .iter()
        .map(|c| {
            if c == "timestamp" {
                stamp.to_owned()
            } else {
                flat.get(c).unwrap_or(FILL).to_owned()
            }
        })
        .collect()
}

/// Re-lays `old_rows` (laid out as `old_header`) under `new_header`, filling new cells with `NaN`.
pub fn widen_rows(
    old_header: &[String],
    new_header: &[String],
    old_rows: Vec<Vec<String>>,
) -> Vec<Vec<String>> {
    let source: Vec<Option<usize>> = new_header
        .iter()
        .map(|c| old_header.iter().position(|o| o == c))
        .collect();
    old_rows
        .into_iter()
        .map(|row| {
            source
                .iter()
                .map(|s| {
                    s.and_then(|i| row.get(i).cloned())
                        .unwrap_or_else(|| FILL.to_owned())
                })
                .collect()
        })
        .collect()
}

/// Python `csv` minimal quoting.
fn csv_line(fields: &[String]) -> String {
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) {
            line.push('"');
            line.push_str(&f.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(f);
        }
    }
    line.push_str("\r\n");
    line
}

struct CsvFile {
    path: PathBuf,
    header: Option<Vec<String>>,
    file: Option<File>,
}

impl CsvFile {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            header: None,
            file: None,
        }
    }

    fn io_err(&self, source: std::io::Error) -> TelemetryError {
        TelemetryError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn append(&mut self, fields: &[String]) -> Result<(), TelemetryError> {
        if self.file.is_none() {
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| self.io_err(e))?;
            self.file = Some(f);
        }
        let line = csv_line(fields);
        let res = match self.file.as_mut() {
            Some(f) => f.write_all(line.as_bytes()),
            None => Ok(()),
        };
        res.map_err(|e| self.io_err(e))
    }

    fn read_rows(&self) -> Result<Vec<Vec<String>>, TelemetryError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_path(&self.path)
            .map_err(|e| TelemetryError::Csv {
                path: self.path.clone(),
                source: e,
            })?;
        let mut rows = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(|e| TelemetryError::Csv {
                path: self.path.clone(),
                source: e,
            })?;
            rows.push(rec.iter().map(str::to_owned).collect());
        }
        Ok(rows)
    }

    fn rewrite(&mut self, old: &[String], new: &[String]) -> Result<(), TelemetryError> {
        let rows = widen_rows(old, new, self.read_rows()?);
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut text = csv_line(new);
        for row in &rows {
            text.push_str(&csv_line(row));
        }
        fs::write(&tmp, text).map_err(|e| self.io_err(e))?;
        self.file = None;
        fs::rename(&tmp, &self.path).map_err(|e| self.io_err(e))
    }

    fn write(&mut self, stamp: &str, flat: &FlatStats) -> Result<CsvOutcome, TelemetryError> {
        if flat.len() + 1 < MIN_COLUMNS {
            return Ok(CsvOutcome::Skipped);
        }
        let keys: Vec<&str> = flat.keys().collect();
        let (header, outcome) = match self.header.take() {
            None => {
                let mut h = vec!["timestamp".to_owned()];
                h.extend(keys.iter().map(|k| (*k).to_owned()));
                self.append(&h)?;
                (h, CsvOutcome::Appended)
            }
            Some(old) => match merge_columns(&old, &keys) {
                None => (old, CsvOutcome::Appended),
                Some(new) => {
                    if let Err(e) = self.rewrite(&old, &new) {
                        self.header = Some(old);
                        return Err(e);
                    }
                    (new, CsvOutcome::Rewritten)
                }
            },
        };
        let row = align_row(&header, stamp, flat);
        self.header = Some(header);
        self.append(&row)?;
        Ok(outcome)
    }
}

/// The pair of statistics files of one connection.
pub struct StatsCsv {
    video: CsvFile,
    audio: CsvFile,
}

impl StatsCsv {
    /// Names the files for a connection starting now (nothing is created until the first row).
    pub fn new(dir: &Path) -> Self {
        Self::with_stamp(dir, &CivilTime::now().file_stamp())
    }

    /// As [`StatsCsv::new`] with a given `%Y-%m-%d:%H:%M:%S` stamp.
    pub fn with_stamp(dir: &Path, stamp: &str) -> Self {
        let name = |kind: &str, n: u32| {
            let suffix = if n < 2 {
                String::new()
            } else {
                format!("-{n}")
            };
            dir.join(format!("selkies-stats-{kind}-{stamp}{suffix}.csv"))
        };
        let mut n = 1;
        while name("video", n).exists() || name("audio", n).exists() {
            n += 1;
        }
        Self {
            video: CsvFile::new(name("video", n)),
            audio: CsvFile::new(name("audio", n)),
        }
    }

    pub fn path(&self, kind: StatsKind) -> &Path {
        match kind {
            StatsKind::Video => &self.video.path,
            StatsKind::Audio => &self.audio.path,
        }
    }

    /// Adds one posted stats array, stamped with the local time now.
    pub fn write(&mut self, kind: StatsKind, stats: &Value) -> Result<CsvOutcome, TelemetryError> {
        let flat = flatten_stats(stats)?;
        self.write_flat(kind, &flat)
    }

    /// Adds an already flattened array (from [`crate::Metrics::observe_stats`]), stamped now.
    pub fn write_flat(
        &mut self,
        kind: StatsKind,
        flat: &FlatStats,
    ) -> Result<CsvOutcome, TelemetryError> {
        self.write_flat_at(kind, &CivilTime::now().row_stamp(), flat)
    }

    /// Adds an already flattened array with an explicit `timestamp` cell.
    pub fn write_flat_at(
        &mut self,
        kind: StatsKind,
        stamp: &str,
        flat: &FlatStats,
    ) -> Result<CsvOutcome, TelemetryError> {
        match kind {
            StatsKind::Video => self.video.write(stamp, flat),
            StatsKind::Audio => self.audio.write(stamp, flat),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn merge_keeps_report_fields_together() {
        let header = strings(&["timestamp", "a.x", "a.y", "b.x"]);
        assert_eq!(merge_columns(&header, &["a.x", "b.x"]), None);
        let merged = merge_columns(&header, &["a.x", "a.z", "b.x", "c.x"]).unwrap();
        assert_eq!(
            merged,
            strings(&["timestamp", "a.x", "a.z", "a.y", "b.x", "c.x"])
        );
        let front = merge_columns(&header, &["z.q", "a.x"]).unwrap();
        assert_eq!(front, strings(&["timestamp", "z.q", "a.x", "a.y", "b.x"]));
    }

    #[test]
    fn widen_fills_nan() {
        let old = strings(&["timestamp", "a.x", "b.x"]);
        let new = strings(&["timestamp", "a.x", "a.z", "b.x"]);
        let rows = vec![strings(&["t1", "1", "2"]), strings(&["t2", "3"])];
        assert_eq!(
            widen_rows(&old, &new, rows),
            vec![
                strings(&["t1", "1", "NaN", "2"]),
                strings(&["t2", "3", "NaN", "NaN"])
            ]
        );
    }

    #[test]
    fn quoting_like_python_csv() {
        let line = csv_line(&strings(&["plain", "a,b", "say \"hi\"", ""]));
        assert_eq!(line, "plain,\"a,b\",\"say \"\"hi\"\"\",\r\n");
    }
}
