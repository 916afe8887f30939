//! The statistics CSV files of docs/protocol.md §9.2, written into a real directory from
//! realistic `_stats_video`/`_stats_audio` arrays (Chromium field names, docs/testing.md G13) and read
//! back with a CSV reader.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;

use selkies_telemetry::{CsvOutcome, StatsCsv, StatsKind};
use serde_json::{Value, json};

fn video(t: f64, frames: u64, extra_pair: bool, with_fps: bool) -> Value {
    let mut inbound = json!({
        "id": "IT01V", "type": "inbound-rtp", "kind": "video", "timestamp": t, "ssrc": 1234,
        "codecId": "CIT01_96", "framesDecoded": frames, "framesReceived": frames,
        "framesDropped": 0, "frameWidth": 1920, "frameHeight": 1080,
        "jitterBufferDelay": frames as f64 * 0.006, "jitterBufferEmittedCount": frames,
        "totalDecodeTime": frames as f64 * 0.002, "keyFramesDecoded": 1, "freezeCount": 0,
        "packetsLost": 0, "packetsReceived": frames * 4, "bytesReceived": frames * 4000,
        "nackCount": 0, "pliCount": 0, "firCount": 0
    });
    if with_fps && let Some(o) = inbound.as_object_mut() {
        o.insert("framesPerSecond".into(), json!(30));
    }
    let mut reports = vec![
        json!({"id": "CP1", "type": "candidate-pair", "timestamp": t, "state": "succeeded",
               "nominated": true, "currentRoundTripTime": 0.003}),
        inbound,
        json!({"id": "D1", "type": "data-channel", "label": "in,put", "state": "open"}),
    ];
    if extra_pair {
        reports.insert(
            1,
            json!({"id": "CP2", "type": "candidate-pair", "timestamp": t, "state": "waiting"}),
        );
    }
    Value::Array(reports)
}

fn audio(t: f64) -> Value {
    json!([
        {"id": "IT01A", "type": "inbound-rtp", "kind": "audio", "timestamp": t, "ssrc": 99,
         "packetsReceived": 50, "packetsLost": 0, "jitter": 0.001, "bytesReceived": 8000,
         "jitterBufferDelay": 1.5, "jitterBufferEmittedCount": 48000, "totalSamplesReceived": 48000,
         "concealedSamples": 0, "audioLevel": 0.01, "totalAudioEnergy": 0.0001}
    ])
}

fn read(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with("\r\n"));
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn col<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no {name}"));
    &row[i]
}

/// `%d/%B/%Y:%H:%M:%S`, e.g. `14/November/2023:22:13:20`.
fn is_row_stamp(s: &str) -> bool {
    let parts: Vec<&str> = s.split(['/', ':']).collect();
    parts.len() == 6
        && parts[0].len() == 2
        && parts[1].chars().all(|c| c.is_ascii_alphabetic())
        && parts[1].len() >= 3
        && parts[2].len() == 4
        && parts
            .iter()
            .enumerate()
            .all(|(i, p)| i == 1 || p.chars().all(|c| c.is_ascii_digit()))
}

#[test]
fn files_header_rows_and_column_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = StatsCsv::new(dir.path());
    let vpath = csv.path(StatsKind::Video).to_owned();
    let name = vpath.file_name().unwrap().to_str().unwrap().to_owned();
    let stamp = name
        .strip_prefix("selkies-stats-video-")
        .and_then(|s| s.strip_suffix(".csv"))
        .unwrap();
    // %Y-%m-%d:%H:%M:%S
    assert_eq!(stamp.len(), 19, "{name}");
    assert_eq!(
        csv.path(StatsKind::Audio)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap(),
        format!("selkies-stats-audio-{stamp}.csv")
    );

    // Too few columns: skipped, nothing created.
    let tiny = json!([{"id": "T", "type": "transport", "bytesReceived": 1}]);
    assert_eq!(
        csv.write(StatsKind::Video, &tiny).unwrap(),
        CsvOutcome::Skipped
    );
    assert!(!vpath.exists());

    assert_eq!(
        csv.write(StatsKind::Video, &video(1000.0, 30, false, true))
            .unwrap(),
        CsvOutcome::Appended
    );
    assert_eq!(
        csv.write(StatsKind::Video, &video(2000.0, 60, false, true))
            .unwrap(),
        CsvOutcome::Appended
    );
    let (header, rows) = read(&vpath);
    assert_eq!(header[0], "timestamp");
    assert_eq!(rows.len(), 2);
    assert!(is_row_stamp(&rows[0][0]), "{}", rows[0][0]);
    assert_eq!(col(&header, &rows[1], "inbound-rtp.framesDecoded"), "60");
    assert_eq!(col(&header, &rows[1], "inbound-rtp.framesPerSecond"), "30");
    assert_eq!(col(&header, &rows[1], "candidate-pair.nominated"), "true");
    assert_eq!(col(&header, &rows[0], "data-channel.label"), "in,put");
    let width = header.len();

    // A column missing from one array: NaN, no rewrite.
    assert_eq!(
        csv.write(StatsKind::Video, &video(3000.0, 90, false, false))
            .unwrap(),
        CsvOutcome::Appended
    );
    let (header, rows) = read(&vpath);
    assert_eq!(header.len(), width);
    assert_eq!(col(&header, &rows[2], "inbound-rtp.framesPerSecond"), "NaN");
    assert_eq!(col(&header, &rows[2], "inbound-rtp.framesDecoded"), "90");

    // A second candidate pair appears: the file is rewritten with the wider header, earlier rows
    // get NaN there, and the new columns sit next to the report they follow.
    assert_eq!(
        csv.write(StatsKind::Video, &video(4000.0, 120, true, true))
            .unwrap(),
        CsvOutcome::Rewritten
    );
    let (header, rows) = read(&vpath);
    assert_eq!(header.len(), width + 4);
    assert_eq!(rows.len(), 4);
    for row in &rows[..3] {
        assert_eq!(col(&header, row, "candidate-pair-CP2.state"), "NaN");
    }
    assert_eq!(
        col(&header, &rows[3], "candidate-pair-CP2.state"),
        "waiting"
    );
    assert_eq!(col(&header, &rows[0], "inbound-rtp.framesDecoded"), "30");
    assert_eq!(col(&header, &rows[2], "inbound-rtp.framesPerSecond"), "NaN");
    let pos = |n: &str| header.iter().position(|h| h == n).unwrap();
    assert!(pos("candidate-pair-CP2.state") > pos("candidate-pair.type"));
    assert!(pos("candidate-pair-CP2.state") < pos("inbound-rtp.framesDecoded"));
    assert!(is_row_stamp(&rows[0][0]));

    // Audio keeps its own file and header.
    assert_eq!(
        csv.write(StatsKind::Audio, &audio(1000.0)).unwrap(),
        CsvOutcome::Appended
    );
    let (aheader, arows) = read(csv.path(StatsKind::Audio));
    assert_eq!(arows.len(), 1);
    assert_eq!(col(&aheader, &arows[0], "inbound-rtp.kind"), "audio");
    assert!(!aheader.iter().any(|h| h.starts_with("candidate-pair")));

    // Not an array: an error, the files untouched.
    assert!(csv.write(StatsKind::Video, &json!({"type": "x"})).is_err());
    assert_eq!(read(&vpath).1.len(), 4);

    // A second connection in the same second gets its own files.
    let again = StatsCsv::with_stamp(dir.path(), stamp);
    assert_eq!(
        again
            .path(StatsKind::Video)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap(),
        format!("selkies-stats-video-{stamp}-2.csv")
    );
}

#[test]
fn unwritable_directory_is_an_error() {
    let mut csv = StatsCsv::new(Path::new("/nonexistent/selkies-stats-dir"));
    let err = csv
        .write(StatsKind::Video, &video(1.0, 1, false, true))
        .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/selkies-stats-dir"),
        "{err}"
    );
}

#[test]
fn flattened_once_for_metrics_and_csv_exact_bytes() {
    // Fields in sorted order so the columns are the same with or without serde_json's
    // `preserve_order` feature.
    let stats = json!([
        {"a01": 1, "a02": 2, "a03": 3, "a04": 4, "a05": 5, "a06": 6, "a07": 7, "a08": 8,
         "a09": "x,y", "a10": "say \"hi\"", "id": "IT01A", "kind": "audio", "type": "inbound-rtp"},
        {"id": "IT02A", "kind": "audio", "type": "inbound-rtp"}
    ]);
    let metrics = selkies_telemetry::Metrics::new();
    let flat = metrics.observe_stats(StatsKind::Audio, &stats).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = StatsCsv::with_stamp(dir.path(), "2023-11-14:22:13:20");
    let stamp = "14/November/2023:22:13:20";
    assert_eq!(
        csv.write_flat_at(StatsKind::Audio, stamp, &flat).unwrap(),
        CsvOutcome::Appended
    );
    assert_eq!(
        csv.write_flat(StatsKind::Audio, &flat).unwrap(),
        CsvOutcome::Appended
    );
    let path = dir
        .path()
        .join("selkies-stats-audio-2023-11-14:22:13:20.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "timestamp,inbound-rtp.a01,inbound-rtp.a02,inbound-rtp.a03,inbound-rtp.a04,\
         inbound-rtp.a05,inbound-rtp.a06,inbound-rtp.a07,inbound-rtp.a08,inbound-rtp.a09,\
         inbound-rtp.a10,inbound-rtp.id,inbound-rtp.kind,inbound-rtp.type,\
         inbound-rtp-IT02A.id,inbound-rtp-IT02A.kind,inbound-rtp-IT02A.type"
    );
    assert_eq!(
        lines.next().unwrap(),
        "14/November/2023:22:13:20,1,2,3,4,5,6,7,8,\"x,y\",\"say \"\"hi\"\"\",IT01A,audio,\
         inbound-rtp,IT02A,audio,inbound-rtp"
    );
    assert!(is_row_stamp(
        lines.next().unwrap().split(',').next().unwrap()
    ));
    assert_eq!(lines.next(), Some(""));
    assert!(
        !dir.path()
            .join("selkies-stats-video-2023-11-14:22:13:20.csv")
            .exists()
    );
}
