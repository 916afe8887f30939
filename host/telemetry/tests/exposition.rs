//! The rendered metrics must parse as Prometheus text exposition 0.0.4 under a strict parser
//! written here (line grammar, escaping, family grouping, histogram invariants), carry the legacy
//! names and ours, and be served over real TCP on any path.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::{HashMap, HashSet};

use selkies_telemetry::{Metrics, StatsKind};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

#[derive(Debug, Default)]
struct Family {
    kind: String,
    help: Option<String>,
    samples: Vec<Sample>,
}

fn is_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if s.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) => {
            s.parse().map_err(|e| format!("value {s:?}: {e}"))
        }
        _ => Err(format!("value {s:?}")),
    }
}

/// Labels from just after `{`; returns them and the rest after `}`.
type Labels = Vec<(String, String)>;

fn parse_labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let eq = s.find('=').ok_or("label without =")?;
        let name = &s[..eq];
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = s[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut value = String::new();
        let end = loop {
            let (i, c) = chars.next().ok_or("unterminated label value")?;
            match c {
                '"' => break eq + 1 + i + 1,
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                '\n' => return Err("raw newline in label value".into()),
                c => value.push(c),
            }
        };
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("duplicate label {name}"));
        }
        labels.push((name.to_owned(), value));
        s = &s[end..];
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// Family name a sample belongs to (histogram suffixes folded).
fn family_of<'a>(name: &'a str, families: &HashMap<String, Family>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix)
            && families.get(base).is_some_and(|f| f.kind == "histogram")
        {
            return base;
        }
    }
    name
}

fn parse(text: &str) -> Result<HashMap<String, Family>, String> {
    let mut families: HashMap<String, Family> = HashMap::new();
    let mut closed: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut seen_series = HashSet::new();
    if !text.ends_with('\n') {
        return Err("missing final newline".into());
    }
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if kw != "HELP" && kw != "TYPE" {
                continue;
            }
            if !is_metric_name(name) {
                return Err(err("bad family name".into()));
            }
            if current.as_deref() != Some(name) {
                if let Some(c) = current.take() {
                    closed.insert(c);
                }
                if closed.contains(name) {
                    return Err(err("family appears twice".into()));
                }
                current = Some(name.to_owned());
            }
            let fam = families.entry(name.to_owned()).or_default();
            let arg = parts.next().unwrap_or("").to_owned();
            if kw == "TYPE" {
                if !fam.kind.is_empty() || !fam.samples.is_empty() {
                    return Err(err("TYPE repeated or after samples".into()));
                }
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg.as_str())
                {
                    return Err(err("unknown type".into()));
                }
                fam.kind = arg;
            } else if fam.help.replace(arg).is_some() {
                return Err(err("HELP repeated".into()));
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            return Err(err("stray comment or blank line".into()));
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value".into()))?;
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(err("bad metric name".into()));
        }
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(l) => parse_labels(l).map_err(err)?,
            None => (Vec::new(), &line[name_end..]),
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before value".into()))?;
        let mut fields = rest.split(' ');
        let value = parse_value(fields.next().unwrap_or("")).map_err(err)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| err("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing fields".into()));
        }
        let fam_name = family_of(name, &families).to_owned();
        if current.as_deref() != Some(fam_name.as_str()) {
            return Err(err("sample outside its family block".into()));
        }
        let mut key = labels.clone();
        key.sort();
        if !seen_series.insert((name.to_owned(), key)) {
            return Err(err("duplicate series".into()));
        }
        let fam = families.entry(fam_name).or_default();
        if fam.kind.is_empty() {
            return Err(err("sample before TYPE".into()));
        }
        fam.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    for (name, fam) in &families {
        if fam.kind == "histogram" {
            check_histogram(name, fam)?;
        }
    }
    Ok(families)
}

fn check_histogram(name: &str, fam: &Family) -> Result<(), String> {
    let mut last = (f64::NEG_INFINITY, 0.0);
    let mut inf = None;
    for s in fam
        .samples
        .iter()
        .filter(|s| s.name == format!("{name}_bucket"))
    {
        let le = s
            .labels
            .iter()
            .find(|(k, _)| k == "le")
            .ok_or("bucket without le")?;
        let bound = parse_value(&le.1)?;
        if bound <= last.0 || s.value < last.1 {
            return Err(format!("{name}: buckets not ascending/cumulative"));
        }
        last = (bound, s.value);
        if bound == f64::INFINITY {
            inf = Some(s.value);
        }
    }
    let count = fam
        .samples
        .iter()
        .find(|s| s.name == format!("{name}_count"))
        .ok_or("no _count")?;
    fam.samples
        .iter()
        .find(|s| s.name == format!("{name}_sum"))
        .ok_or("no _sum")?;
    if inf != Some(count.value) {
        return Err(format!("{name}: +Inf bucket != _count"));
    }
    Ok(())
}

fn gauge(f: &HashMap<String, Family>, name: &str) -> f64 {
    f[name].samples[0].value
}

/// A `_stats_video` array with Chromium's field names (docs/testing.md G13), tricky label values
/// included.
fn video_stats(t: f64, frames: f64) -> Value {
    json!([
        {"id": "T01", "type": "transport", "timestamp": t, "selectedCandidatePairId": "CP1", "dtlsState": "connected"},
        {"id": "CP1", "type": "candidate-pair", "timestamp": t, "state": "succeeded", "nominated": true,
         "currentRoundTripTime": 0.006, "availableIncomingBitrate": 5_000_000},
        {"id": "CP2", "type": "candidate-pair", "timestamp": t, "state": "waiting", "nominated": false},
        {"id": "CIT01_96", "type": "codec", "mimeType": "video/H264",
         "sdpFmtpLine": "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
        {"id": "IT01V", "type": "inbound-rtp", "kind": "video", "timestamp": t, "codecId": "CIT01_96",
         "framesDecoded": frames, "framesReceived": frames, "framesDropped": 0, "frameWidth": 1920,
         "frameHeight": 1080, "framesPerSecond": 30, "jitterBufferDelay": frames * 0.006,
         "jitterBufferEmittedCount": frames, "jitterBufferTargetDelay": frames * 0.005,
         "jitterBufferMinimumDelay": frames * 0.005, "totalDecodeTime": frames * 0.0022,
         "totalProcessingDelay": frames * 0.009, "totalAssemblyTime": 0.1, "keyFramesDecoded": 1,
         "freezeCount": 0, "pauseCount": 0, "packetsLost": 0, "packetsReceived": frames * 4.0,
         "bytesReceived": frames * 4000.0, "nackCount": 0, "pliCount": 0, "firCount": 0},
        {"id": "D1", "type": "data-channel", "label": "in\"put\\\n", "state": "open"}
    ])
}

fn populated() -> Metrics {
    let m = Metrics::new();
    m.set_encoder("x264enc");
    m.set_video_bitrate_kbps(8000);
    m.set_audio_bitrate_bps(128_000);
    m.set_framerate(30);
    m.set_connected_clients(1);
    m.set_sharing_dropped("input", 3);
    m.set_sharing_dropped("settings", 1);
    m.set_sharing_dropped("input", 5);
    for fps in [59.0, 60.0, 30.0, 12.0] {
        m.set_fps(fps);
    }
    m.set_latency(42.0);
    m.set_gpu_utilization(37.0);
    m.observe_stats(StatsKind::Video, &video_stats(1000.0, 300.0))
        .unwrap();
    m.observe_stats(StatsKind::Video, &video_stats(2000.0, 330.0))
        .unwrap();
    m
}

#[test]
fn rendered_text_parses_and_carries_fps_and_encoder() {
    let text = populated().render();
    let f = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(f["fps"].kind, "gauge");
    assert_eq!(gauge(&f, "fps"), 12.0);
    assert_eq!(gauge(&f, "latency"), 42.0);
    assert_eq!(gauge(&f, "gpu_utilization"), 37.0);
    let hist = &f["fps_hist"];
    assert_eq!(hist.kind, "histogram");
    let buckets: Vec<(String, f64)> = hist
        .samples
        .iter()
        .filter(|s| s.name == "fps_hist_bucket")
        .map(|s| (s.labels[0].1.clone(), s.value))
        .collect();
    let expected: Vec<(String, f64)> = [
        ("0.0", 0.0),
        ("20.0", 1.0),
        ("40.0", 2.0),
        ("60.0", 4.0),
        ("+Inf", 4.0),
    ]
    .iter()
    .map(|(l, v)| ((*l).to_owned(), *v))
    .collect();
    assert_eq!(buckets, expected);
    assert!(f.contains_key("fps_hist_created"));
    let enc = &f["selkies_encoder_info"].samples[0];
    assert_eq!(enc.labels, [("encoder".to_owned(), "x264enc".to_owned())]);
    assert_eq!(gauge(&f, "selkies_video_bitrate_kbps"), 8000.0);
    assert_eq!(gauge(&f, "selkies_framerate"), 30.0);
    assert_eq!(gauge(&f, "selkies_connected_clients"), 1.0);
    let dropped = &f["selkies_sharing_dropped_total"];
    assert_eq!(dropped.kind, "counter");
    let by_category: Vec<(String, f64)> = dropped
        .samples
        .iter()
        .map(|s| (s.labels[0].1.clone(), s.value))
        .collect();
    assert_eq!(
        by_category,
        [("input".to_owned(), 5.0), ("settings".to_owned(), 1.0)]
    );
    assert!((gauge(&f, "selkies_client_rtt_ms") - 6.0).abs() < 1e-9);
    assert!((gauge(&f, "selkies_client_jitter_buffer_ms") - 6.0).abs() < 1e-9);
    // 33.33 (one frame at 30 fps) + 3 (RTT/2) + 9 (processing per frame)
    assert!((gauge(&f, "selkies_glass_to_glass_ms") - 45.333).abs() < 1e-2);
    assert!(f.contains_key("process_resident_memory_bytes"));
    assert_eq!(f["process_cpu_seconds_total"].kind, "counter");

    let info = &f["webrtc_statistics_info"].samples[0];
    assert_eq!(info.value, 1.0);
    let labels: HashMap<&str, &str> = info
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(labels["inbound_rtp_framesPerSecond"], "30");
    assert_eq!(labels["candidate_pair_CP2_state"], "waiting");
    assert_eq!(labels["data_channel_label"], "in\"put\\\n");
    assert_eq!(
        labels["codec_sdpFmtpLine"],
        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
    );
}

#[test]
fn fresh_metrics_parse_too() {
    let text = Metrics::new().render();
    let f = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(gauge(&f, "fps"), 0.0);
    assert!(f["webrtc_statistics_info"].samples[0].labels.is_empty());
    assert!(!f.contains_key("selkies_encoder_info"));
    assert!(!f.contains_key("selkies_glass_to_glass_ms"));
}

#[test]
fn the_parser_rejects_what_it_should() {
    for bad in [
        "fps 1.0\n",
        "# TYPE fps gauge\nfps{a-b=\"x\"} 1.0\n",
        "# TYPE fps gauge\nfps{a=\"x\\q\"} 1.0\n",
        "# TYPE fps gauge\nfps 1.0\nfps 2.0\n",
        "# TYPE fps gauge\nfps one\n",
        "# TYPE h histogram\nh_bucket{le=\"1.0\"} 2.0\nh_bucket{le=\"+Inf\"} 1.0\nh_count 1.0\nh_sum 0.5\n",
        "# TYPE a gauge\na 1.0\n# TYPE b gauge\nb 1.0\n# TYPE a gauge\n",
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

#[tokio::test]
async fn served_over_tcp_on_any_path() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = populated();
    let task = tokio::spawn(selkies_telemetry::serve_listener(listener, metrics.clone()));
    for path in ["/metrics", "/", "/anything/else"] {
        let (head, body) = http_get(addr, path).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        let f = parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        assert_eq!(f["selkies_encoder_info"].samples[0].labels[0].1, "x264enc");
    }
    // Values are live: a later setter shows up in the next scrape.
    metrics.set_fps(55.0);
    let (_, body) = http_get(addr, "/metrics").await;
    assert_eq!(gauge(&parse(&body).unwrap(), "fps"), 55.0);
    task.abort();
}

#[tokio::test]
async fn serve_reports_a_taken_port() {
    let holder = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = holder.local_addr().unwrap();
    let err = selkies_telemetry::serve(addr, Metrics::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
