//! SDP munging tests on offers shaped like webrtcbin 1.22 output (docs/testing.md G7).

use super::*;

fn crlf(lines: &[&str]) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}

const SESSION: [&str; 6] = [
    "v=0",
    "o=- 1234567890123456789 0 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=ice-options:trickle",
    "a=group:BUNDLE video0 application1",
];

fn h264_offer() -> String {
    let mut l = SESSION.to_vec();
    l.extend([
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "c=IN IP4 0.0.0.0",
        "a=setup:actpass",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:0123456789abcdef0123456789abcdef",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=sendrecv",
        "a=rtpmap:96 H264/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=rtcp-fb:96 ccm fir",
        "a=rtcp-fb:96 transport-cc",
        "a=fmtp:96 packetization-mode=1;profile-level-id=42c028;sprop-parameter-sets=Z0LAKNoB4AiflwFqAgICgAAAAwCAAAAeR4wZUA==,aM48gA==;level-asymmetry-allowed=1",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=ssrc-group:FID 3484078952 1106545026",
        "a=ssrc:3484078952 msid:user1@host-8e1b3c webrtctransceiver0",
        "a=ssrc:3484078952 cname:user1@host-8e1b3c",
        "a=mid:video0",
        "a=fingerprint:sha-256 AA:BB",
        "m=application 0 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=bundle-only",
        "a=setup:actpass",
        "a=mid:application1",
        "a=sctp-port:5000",
    ]);
    crlf(&l)
}

#[test]
fn h264_offer_is_munged_per_reference() {
    let out = munge_offer(&h264_offer(), VideoCodec::H264);
    let expected = h264_offer()
        .replace(
            "a=fmtp:96 packetization-mode=1;profile-level-id=42c028;",
            "a=fmtp:96 sps-pps-idr-in-keyframe=1;packetization-mode=1;profile-level-id=42e01f;",
        )
        .replace("a=fmtp:97 apt=96", "a=fmtp:97 apt=96;rtx-time=250");
    assert_eq!(out, expected);
    // Idempotent: munging twice changes nothing more.
    assert_eq!(munge_offer(&out, VideoCodec::H264), out);
}

#[test]
fn missing_h264_params_are_inserted_before_packetization_mode() {
    let offer = crlf(&[
        "v=0",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=rtpmap:96 H264/90000",
        "a=fmtp:96 packetization-mode=1",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96;rtx-time=3000",
    ]);
    let out = munge_offer(&offer, VideoCodec::H264);
    assert!(out.contains(
        "a=fmtp:96 profile-level-id=42e01f;level-asymmetry-allowed=1;sps-pps-idr-in-keyframe=1;packetization-mode=1\r\n"
    ));
    assert!(out.contains("a=fmtp:97 apt=96;rtx-time=250\r\n"));
}

#[test]
fn vp8_offer_only_gets_rtx_time() {
    let offer = crlf(&[
        "v=0",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack pli",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
    ]);
    let out = munge_offer(&offer, VideoCodec::Vp8);
    assert_eq!(out, offer.replace("apt=96", "apt=96;rtx-time=250"));
}

#[test]
fn h265_without_fmtp_gets_one() {
    let offer = "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 100\na=rtpmap:100 H265/90000\na=mid:video0\n";
    assert_eq!(
        munge_offer(offer, VideoCodec::H265),
        "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 100\na=rtpmap:100 H265/90000\na=fmtp:100 sps-pps-idr-in-keyframe=1\na=mid:video0\n"
    );
    // An H.264 payload in an H.265 pipeline's offer is left alone.
    let mixed = "m=video 9 RTP/AVP 96\na=rtpmap:96 H264/90000\na=fmtp:96 packetization-mode=1";
    assert_eq!(munge_offer(mixed, VideoCodec::H265), mixed);
}

#[test]
fn opus_offer_gets_ptime_after_fmtp() {
    let mut l = SESSION.to_vec();
    l.extend([
        "m=audio 9 UDP/TLS/RTP/SAVPF 96",
        "c=IN IP4 0.0.0.0",
        "a=sendrecv",
        "a=rtpmap:96 OPUS/48000/2",
        "a=rtcp-fb:96 transport-cc",
        "a=fmtp:96 sprop-maxcapturerate=48000;sprop-stereo=1",
        "a=mid:audio0",
    ]);
    let offer = crlf(&l);
    let out = munge_offer(&offer, VideoCodec::H264);
    assert_eq!(
        out,
        offer.replace("sprop-stereo=1\r\n", "sprop-stereo=1\r\na=ptime:10\r\n")
    );
    assert_eq!(munge_offer(&out, VideoCodec::H264), out);
    let existing = offer.replace("a=mid:audio0", "a=ptime:20\r\na=mid:audio0");
    assert!(munge_offer(&existing, VideoCodec::H264).contains("a=ptime:10\r\na=mid:audio0"));
}

#[test]
fn garbage_does_not_panic() {
    for s in [
        "",
        "m=",
        "a=rtpmap:",
        "a=fmtp:96",
        "a=rtpmap:96 \r\na=fmtp:96 ",
        "\r\n\r\n",
    ] {
        let _ = munge_offer(s, VideoCodec::H264);
    }
}

#[test]
fn msid_is_added_to_media_sections_only_once() {
    let sdp = "v=0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 97\r\na=sendonly\r\na=mid:video0\r\n\
               m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:application1\r\n";
    let out = super::ensure_msid(sdp, "selkies-video");
    assert!(
        out.contains("a=mid:video0\r\na=msid:selkies-video selkies-video-video0\r\n"),
        "{out}"
    );
    assert_eq!(out.matches("a=msid:").count(), 1, "{out}");
    assert_eq!(super::ensure_msid(&out, "selkies-video"), out);
}

#[test]
fn the_host_becomes_the_dtls_client_and_nothing_else_changes() {
    let offer = crlf(&[
        "v=0",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "a=setup:actpass",
        "a=mid:video0",
        "m=application 0 UDP/DTLS/SCTP webrtc-datachannel",
        "a=setup:actpass",
    ]);
    let out = host_dtls_client(&offer);
    assert_eq!(out.matches("a=setup:active\r\n").count(), 2, "{out}");
    assert!(!out.contains("actpass"), "{out}");
    assert_eq!(out.replace("a=setup:active", "a=setup:actpass"), offer);
    // An answer's setup (or none) is left alone, and so are bare-LF texts' line ends.
    assert_eq!(host_dtls_client("a=setup:passive\n"), "a=setup:passive\n");
    assert_eq!(
        host_dtls_client("v=0\na=setup:actpass"),
        "v=0\na=setup:active"
    );
}
