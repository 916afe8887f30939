//! The text of the offer sent to the browser: webrtcbin's offer with the legacy munging
//! (`selkies_proto::sdp::munge_offer`), the H.264 level raised to cover the screen size and
//! frame rate, a stream id per track, and `a=setup:active` so the host leads the DTLS handshake
//! (`host_dtls_client`). The unmunged offer stays webrtcbin's local description.

use selkies_proto::encoder::VideoCodec;
use selkies_proto::sdp::{
    ensure_msid, h264_level_idc, host_dtls_client, munge_offer, set_h264_level,
};
use tracing::debug;

/// Size assumed when the X screen cannot be asked (the e2e and benchmark size).
const FALLBACK_SIZE: (u32, u32) = (1920, 1080);

/// The offer text for the browser. The audio offer has no video section: the video codec and
/// level then change nothing.
pub fn munge(text: &str, codec: VideoCodec, framerate: u32, msid: &str) -> String {
    let is_h264_video = codec == VideoCodec::H264 && text.contains("m=video");
    let size = if is_h264_video {
        screen_size()
    } else {
        FALLBACK_SIZE
    };
    munge_for(text, codec, size, framerate, msid)
}

/// [`munge`] for a screen of `size`.
fn munge_for(
    text: &str,
    codec: VideoCodec,
    (w, h): (u32, u32),
    framerate: u32,
    msid: &str,
) -> String {
    let mut sdp = munge_offer(text, codec);
    if codec == VideoCodec::H264 {
        let level = h264_level_idc(w, h, framerate);
        debug!(
            width = w,
            height = h,
            framerate,
            level,
            "H.264 level announced"
        );
        sdp = set_h264_level(&sdp, level);
    }
    ensure_msid(&host_dtls_client(&sdp), msid)
}

fn screen_size() -> (u32, u32) {
    match selkies_x11::current_size(None) {
        Ok((w, h)) => (u32::from(w), u32::from(h)),
        Err(e) => {
            debug!("screen size for the H.264 level: {e}; assuming 1920x1080");
            FALLBACK_SIZE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_offer_gets_a_level_and_msid_audio_only_msid() {
        let video = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:video0\r\n\
                     a=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=1\r\n";
        // Before: the legacy 42e01f (level 3.1) whatever the screen.
        let out = munge_for(video, VideoCodec::H264, (1920, 1080), 60, "s");
        assert!(out.contains("profile-level-id=42e02a"), "{out}");
        assert!(out.contains("a=msid:s s-video0"), "{out}");
        let out = munge_for(video, VideoCodec::H264, (1920, 1080), 30, "s");
        assert!(out.contains("profile-level-id=42e028"), "{out}");
        let audio = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio0\r\na=rtpmap:111 OPUS/48000/2\r\n";
        let out = munge_for(audio, VideoCodec::H264, (1920, 1080), 60, "a");
        assert!(!out.contains("profile-level-id"), "{out}");
        assert!(out.contains("a=ptime:10"), "{out}");
    }
}
