//! The H.264 level the offer announces in `profile-level-id`. The legacy value, 3.1, is below
//! what a 1920x1080 desktop at 30 fps needs (level 4.0); a receiver may size its decoder or
//! refuse streams by the announced level, so the offer states a level that covers the captured
//! size and frame rate (ITU-T H.264 Table A-1 limits).

use super::{fmtp_pt, rtpmap, split_sections};

/// The profile part of `profile-level-id` (constrained baseline, for Firefox compatibility).
pub const H264_PROFILE: &str = "42e0";
/// Never announce less than the legacy level 3.1.
pub const MIN_LEVEL_IDC: u8 = 31;

/// (level_idc, max macroblocks per second, max frame size in macroblocks).
const LEVELS: [(u8, u64, u64); 12] = [
    (31, 108_000, 3_600),
    (32, 216_000, 5_120),
    (40, 245_760, 8_192),
    (41, 245_760, 8_192),
    (42, 522_240, 8_704),
    (50, 589_824, 22_080),
    (51, 983_040, 36_864),
    (52, 2_073_600, 36_864),
    (60, 4_177_920, 139_264),
    (61, 8_355_840, 139_264),
    (62, 16_711_680, 139_264),
    (62, u64::MAX, u64::MAX),
];

/// The lowest level (≥ 3.1) whose frame-size and macroblock-rate limits cover `width`x`height`
/// at `fps`; 6.2 beyond the table.
pub fn level_idc(width: u32, height: u32, fps: u32) -> u8 {
    let mbs = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
    let rate = mbs * u64::from(fps.max(1));
    // A frame side may not exceed sqrt(8 × max frame size) macroblocks.
    let side = u64::from(width.div_ceil(16).max(height.div_ceil(16)));
    LEVELS
        .iter()
        .find(|(_, max_rate, max_fs)| {
            mbs <= *max_fs && rate <= *max_rate && side * side <= max_fs.saturating_mul(8)
        })
        .map_or(62, |(idc, _, _)| *idc)
        .max(MIN_LEVEL_IDC)
}

/// `profile-level-id` for `level_idc`, e.g. `42e028` for level 4.0.
pub fn profile_level_id(level_idc: u8) -> String {
    format!("{H264_PROFILE}{level_idc:02x}")
}

/// Rewrites `profile-level-id` on every H.264 `a=fmtp` line to announce `level_idc` (the
/// profile part is kept).
pub fn set_h264_level(sdp: &str, level_idc: u8) -> String {
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let trailing = sdp.ends_with(eol);
    let mut sections = split_sections(sdp.lines());
    for section in &mut sections {
        let h264: Vec<String> = section
            .iter()
            .filter_map(|l| {
                rtpmap(l)
                    .filter(|(_, n)| n == "H264")
                    .map(|(pt, _)| pt.to_owned())
            })
            .collect();
        for line in section.iter_mut() {
            if fmtp_pt(line).is_some_and(|pt| h264.iter().any(|p| p == pt)) {
                *line = with_level(line, level_idc);
            }
        }
    }
    let mut out = sections.concat().join(eol);
    if trailing {
        out.push_str(eol);
    }
    out
}

fn with_level(line: &str, level_idc: u8) -> String {
    let Some((head, body)) = line.split_once(' ') else {
        return line.to_owned();
    };
    let items: Vec<String> = body
        .split(';')
        .map(|item| match item.trim().split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("profile-level-id") && v.len() == 6 => {
                format!("{k}={}{level_idc:02x}", &v[..4])
            }
            _ => item.trim().to_owned(),
        })
        .collect();
    format!("{head} {}", items.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_cover_size_and_rate() {
        // 1080p30 needs 4.0 (8160 MBs, 244800 MB/s); 1080p60 needs 4.2.
        assert_eq!(level_idc(1920, 1080, 30), 40);
        assert_eq!(level_idc(1920, 1080, 60), 42);
        // 720p30 fits 3.1; small screens still get the legacy floor.
        assert_eq!(level_idc(1280, 720, 30), 31);
        assert_eq!(level_idc(640, 480, 30), 31);
        // 1440p60 and 4K: level 5.x.
        assert_eq!(level_idc(2560, 1440, 60), 51);
        assert_eq!(level_idc(3840, 2160, 30), 51);
        assert_eq!(level_idc(3840, 2160, 60), 52);
        // Beyond the table: the highest level.
        assert_eq!(level_idc(16384, 16384, 240), 62);
        assert_eq!(profile_level_id(40), "42e028");
    }

    #[test]
    fn rewrites_only_h264_fmtp_lines() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 97 98\r\na=rtpmap:97 H264/90000\r\n\
                   a=fmtp:97 packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1\r\n\
                   a=rtpmap:98 VP8/90000\r\na=fmtp:98 profile-level-id=42e01f\r\n";
        let out = set_h264_level(sdp, 40);
        assert!(out.contains(
            "a=fmtp:97 packetization-mode=1;profile-level-id=42e028;level-asymmetry-allowed=1\r\n"
        ));
        assert!(out.contains("a=fmtp:98 profile-level-id=42e01f\r\n"));
        assert!(out.ends_with("\r\n"));
        assert_eq!(set_h264_level("v=0\n", 40), "v=0\n");
    }
}
