//! Munging of the host's SDP offer text (docs/protocol.md §5.6). The unmodified offer is what
//! webrtcbin keeps as its local description; only the text sent to the browser changes.
//!
//! The legacy host used whole-text regular expressions; this works per `a=fmtp` line of the
//! payload type that the `a=rtpmap` lines name, which gives the intended result where the legacy
//! one did nothing (H.265 has no `packetization-mode=` to insert before) or touched the wrong
//! codec. Per-track `msid` is not done here: it is set on the webrtcbin sink pads (the `msid`
//! pad property), which is reflected in every `a=msid`/`a=ssrc … msid:` line consistently.

mod h264_level;
#[cfg(test)]
mod tests;

pub use h264_level::{level_idc as h264_level_idc, profile_level_id, set_h264_level};

use crate::encoder::VideoCodec;

/// The retransmission window advertised for every RTX payload (ms). Legacy announces 125; Chromium
/// asks for a keyframe after 3 × this without a decodable frame, so 250 halves the keep-alive
/// frames a static screen needs (docs/protocol.md §5.6).
pub const RTX_TIME_MS: u32 = 250;
/// Advertised for Firefox compatibility although the stream is Main profile; the level (3.1
/// here) is then raised to cover the captured size and frame rate ([`set_h264_level`]).
pub const H264_PROFILE_LEVEL_ID: &str = "42e01f";
/// Opus packet time matching `opusenc frame-size=10`.
pub const OPUS_PTIME_MS: u32 = 10;

/// Applies §5.6 to an offer produced by webrtcbin for a pipeline encoding `codec`.
pub fn munge_offer(sdp: &str, codec: VideoCodec) -> String {
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let trailing = sdp.ends_with(eol);
    let mut sections = split_sections(sdp.lines());
    for section in &mut sections {
        munge_section(section, codec);
    }
    let mut out = sections.concat().join(eol);
    if trailing {
        out.push_str(eol);
    }
    out
}

/// Makes the offerer (the host) the DTLS client: `a=setup:actpass` → `a=setup:active`, so the
/// browser answers `passive` and webrtcbin, whose own description keeps `actpass`, starts the
/// handshake itself the moment its ICE transport connects. With the browser as client, its
/// ClientHello goes out as soon as its first check succeeds, before the host (the controlling
/// agent, regular nomination) has nominated the pair and started its DTLS transport, and the
/// handshake then waits for the browser's retransmission timer: ICE connected → DTLS connected
/// took 42–88 ms against 17–26 ms with the host leading (docs/benchmarks.md "First frame: the
/// host leads DTLS again").
pub fn host_dtls_client(sdp: &str) -> String {
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let trailing = sdp.ends_with(eol);
    let mut out = sdp
        .lines()
        .map(|l| {
            if l.trim_end() == "a=setup:actpass" {
                "a=setup:active"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join(eol);
    if trailing {
        out.push_str(eol);
    }
    out
}

/// Gives every audio/video section without one an `a=msid:<stream> <stream>-<mid>` line.
///
/// An offer created from codec preferences (before the first buffer) carries no ssrc/msid
/// lines; naming the stream explicitly keeps each track in its own stream, so Chromium never
/// lip-syncs one track to another (docs/testing.md G6).
pub fn ensure_msid(sdp: &str, stream: &str) -> String {
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let trailing = sdp.ends_with(eol);
    let mut sections = split_sections(sdp.lines());
    for section in sections.iter_mut().skip(1) {
        let is_media = section
            .first()
            .is_some_and(|m| m.starts_with("m=audio") || m.starts_with("m=video"));
        if !is_media || section.iter().any(|l| l.starts_with("a=msid:")) {
            continue;
        }
        let Some(pos) = section.iter().position(|l| l.starts_with("a=mid:")) else {
            continue;
        };
        let mid = section[pos].trim_start_matches("a=mid:").trim().to_owned();
        section.insert(pos + 1, format!("a=msid:{stream} {stream}-{mid}"));
    }
    let mut out = sections.concat().join(eol);
    if trailing {
        out.push_str(eol);
    }
    out
}

/// Splits into the session part and one part per `m=` line.
fn split_sections<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<Vec<String>> {
    let mut sections = vec![Vec::new()];
    for line in lines {
        if line.starts_with("m=") {
            sections.push(Vec::new());
        }
        if let Some(last) = sections.last_mut() {
            last.push(line.to_owned());
        }
    }
    sections
}

/// `a=rtpmap:<pt> <name>/<clock>…` → (pt, upper-case name).
fn rtpmap(line: &str) -> Option<(&str, String)> {
    let rest = line.strip_prefix("a=rtpmap:")?;
    let (pt, enc) = rest.split_once(' ')?;
    let name = enc.split('/').next()?.trim().to_ascii_uppercase();
    Some((pt, name))
}

fn fmtp_pt(line: &str) -> Option<&str> {
    line.strip_prefix("a=fmtp:")?.split(' ').next()
}

fn munge_section(lines: &mut Vec<String>, codec: VideoCodec) {
    let codecs: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| rtpmap(l).map(|(pt, n)| (pt.to_owned(), n)))
        .collect();
    let name_of = |pt: &str| {
        codecs
            .iter()
            .find(|(p, _)| p == pt)
            .map(|(_, n)| n.as_str())
    };
    let mut wanted: Vec<(String, Vec<(&str, String)>)> = Vec::new();
    for (pt, name) in &codecs {
        let params: Vec<(&str, String)> = match (name.as_str(), codec) {
            ("RTX", _) => vec![("rtx-time", RTX_TIME_MS.to_string())],
            ("H264", VideoCodec::H264) => vec![
                ("profile-level-id", H264_PROFILE_LEVEL_ID.to_owned()),
                ("level-asymmetry-allowed", "1".to_owned()),
                ("sps-pps-idr-in-keyframe", "1".to_owned()),
            ],
            ("H265", VideoCodec::H265) => vec![("sps-pps-idr-in-keyframe", "1".to_owned())],
            _ => continue,
        };
        wanted.push((pt.clone(), params));
    }
    for (pt, params) in &wanted {
        match lines.iter().position(|l| fmtp_pt(l) == Some(pt)) {
            Some(i) => lines[i] = set_fmtp_params(&lines[i], params),
            // RTX without `apt` is meaningless: only codec payloads get a new fmtp line.
            None if name_of(pt) != Some("RTX") => {
                if let Some(i) = lines
                    .iter()
                    .position(|l| rtpmap(l).is_some_and(|r| r.0 == pt))
                {
                    let list: Vec<String> =
                        params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    lines.insert(i + 1, format!("a=fmtp:{pt} {}", list.join(";")));
                }
            }
            None => {}
        }
    }
    if let Some((pt, _)) = codecs.iter().find(|(_, n)| n == "OPUS" || n == "MULTIOPUS") {
        set_ptime(lines, pt);
    }
}

/// Sets each `key=value` in an fmtp line: rewrites existing keys, inserts missing ones before
/// `packetization-mode` (legacy placement) or appends them.
fn set_fmtp_params(line: &str, params: &[(&str, String)]) -> String {
    let Some((head, body)) = line.split_once(' ') else {
        return line.to_owned();
    };
    let mut items: Vec<String> = body
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for (key, value) in params {
        let kv = format!("{key}={value}");
        let existing = items.iter().position(|i| {
            i.split('=')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
        });
        match existing {
            Some(i) => items[i] = kv,
            None => {
                let at = items
                    .iter()
                    .position(|i| i.starts_with("packetization-mode="))
                    .unwrap_or(items.len());
                items.insert(at, kv);
            }
        }
    }
    format!("{head} {}", items.join(";"))
}

/// Ensures `a=ptime:10` in an Opus section: rewrites an existing `a=ptime`, else adds it after
/// the Opus fmtp (or rtpmap) line.
fn set_ptime(lines: &mut Vec<String>, opus_pt: &str) {
    let ptime = format!("a=ptime:{OPUS_PTIME_MS}");
    if let Some(l) = lines.iter_mut().find(|l| l.starts_with("a=ptime:")) {
        *l = ptime;
        return;
    }
    let anchor = lines
        .iter()
        .position(|l| fmtp_pt(l) == Some(opus_pt))
        .or_else(|| {
            lines
                .iter()
                .position(|l| rtpmap(l).is_some_and(|r| r.0 == opus_pt))
        });
    if let Some(i) = anchor {
        lines.insert(i + 1, ptime);
    }
}
