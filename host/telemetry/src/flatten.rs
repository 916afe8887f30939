//! Flattening of a client-posted RTCStats array (`_stats_video` / `_stats_audio`, docs/protocol.md
//! §4.1) into ordered `<type>.<field>` → text pairs, the shape both the Prometheus
//! `webrtc_statistics` Info metric and the CSV files of §9.2 are built from.
//!
//! Legacy rule (`Metrics.sanitize_json_stats`): the first report of a given `type` keeps the plain
//! type as prefix; every later report of the same type is prefixed `<type>-<id>`. Values are
//! stringified. Where legacy would crash (no `id`) or is silent, we decide here: a missing `type`
//! reads `unknown`, a missing `id` falls back to the report's index, entries that are not objects
//! are skipped, and a key produced twice keeps its first position and its last value (like the
//! Python `OrderedDict`).

use std::collections::HashMap;

use serde_json::Value;

use crate::TelemetryError;

/// Ordered key/value pairs of one flattened stats array.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlatStats {
    entries: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl FlatStats {
    fn insert(&mut self, key: String, value: String) {
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&i| self.entries[i].1.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Pairs in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

/// A JSON value as text: strings bare, everything else in its JSON spelling (`true`, `null`,
/// `0.25`, compact objects). Legacy used Python `str()` (`True`, `None`); we keep JSON so the CSV
/// and labels read the same as the browser's own stats dump.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Flattens the posted array; anything but a JSON array is an error.
pub fn flatten_stats(stats: &Value) -> Result<FlatStats, TelemetryError> {
    let reports = stats
        .as_array()
        .ok_or(TelemetryError::StatsNotArray(json_kind(stats)))?;
    let mut seen_types: Vec<&str> = Vec::new();
    let mut flat = FlatStats::default();
    for (i, report) in reports.iter().enumerate() {
        let Some(obj) = report.as_object() else {
            continue;
        };
        let ty = obj.get("type").and_then(Value::as_str).unwrap_or("unknown");
        let prefix = if seen_types.contains(&ty) {
            let id = obj.get("id").map_or_else(|| i.to_string(), value_text);
            format!("{ty}-{id}")
        } else {
            seen_types.push(ty);
            ty.to_owned()
        };
        for (field, v) in obj {
            flat.insert(format!("{prefix}.{field}"), value_text(v));
        }
    }
    Ok(flat)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_type_plain_later_ones_with_id() {
        let stats = json!([
            {"id": "CPa", "type": "candidate-pair", "state": "succeeded", "nominated": true},
            {"id": "IT01V", "type": "inbound-rtp", "kind": "video", "framesPerSecond": 30},
            {"id": "CPb", "type": "candidate-pair", "state": "failed", "currentRoundTripTime": 0.004},
        ]);
        let flat = flatten_stats(&stats).unwrap();
        // Field order inside a report follows serde_json's map (sorted unless `preserve_order`
        // is on somewhere in the build); the report order is ours and must hold.
        let prefixes: Vec<&str> = flat
            .keys()
            .map(|k| k.rsplit_once('.').map_or(k, |(p, _)| p))
            .collect();
        let mut groups = prefixes.clone();
        groups.dedup();
        assert_eq!(
            groups,
            ["candidate-pair", "inbound-rtp", "candidate-pair-CPb"]
        );
        assert_eq!(prefixes.len(), 12);
        let mut keys: Vec<&str> = flat.keys().collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "candidate-pair-CPb.currentRoundTripTime",
                "candidate-pair-CPb.id",
                "candidate-pair-CPb.state",
                "candidate-pair-CPb.type",
                "candidate-pair.id",
                "candidate-pair.nominated",
                "candidate-pair.state",
                "candidate-pair.type",
                "inbound-rtp.framesPerSecond",
                "inbound-rtp.id",
                "inbound-rtp.kind",
                "inbound-rtp.type",
            ]
        );
        assert_eq!(flat.get("candidate-pair.nominated"), Some("true"));
        assert_eq!(flat.get("inbound-rtp.framesPerSecond"), Some("30"));
        assert_eq!(
            flat.get("candidate-pair-CPb.currentRoundTripTime"),
            Some("0.004")
        );
    }

    #[test]
    fn odd_entries_do_not_crash() {
        let stats = json!([
            42,
            {"foo": {"a": [1, 2]}},
            {"type": "codec", "mimeType": "video/H264"},
            {"type": "codec", "mimeType": "audio/opus"},
        ]);
        let flat = flatten_stats(&stats).unwrap();
        assert_eq!(flat.get("unknown.foo"), Some(r#"{"a":[1,2]}"#));
        assert_eq!(flat.get("codec.mimeType"), Some("video/H264"));
        assert_eq!(flat.get("codec-3.mimeType"), Some("audio/opus"));
    }

    #[test]
    fn non_array_is_an_error() {
        assert!(flatten_stats(&json!({"type": "x"})).is_err());
        assert!(flatten_stats(&json!("[]")).is_err());
        assert!(flatten_stats(&json!([])).unwrap().is_empty());
    }
}
