//! Test fixtures: a private Xvfb server started and stopped by the test itself (the one fixture
//! of `host/x11/tests/common/xvfb.rs`), the HELLO frame of a browser, an HTTP status line, the HTTP state of a test host, and a video session as the
//! host's video peer starts it, the audio peer's session; a whole host started in-process
//! (`in_process.rs`); a private PulseAudio daemon (`pulse.rs`); a deadline that ends a hung test
//! with every thread's stack (`watchdog.rs`).

use base64::Engine;

#[path = "../../x11/tests/common/xvfb.rs"]
mod xvfb;
#[allow(unused_imports)] // not every test binary starts an X server
pub use xvfb::Xvfb;
mod in_process;
#[allow(unused_imports)] // not every test binary starts a host
pub use in_process::{TestHost, start_host};
#[allow(dead_code)] // only the audio tests start PulseAudio
pub mod pulse;
#[allow(dead_code)] // only the tests that drive daemons through blocking state changes arm it
pub mod watchdog;

/// A browser's `HELLO 1 <meta>` (docs/protocol.md §3.2), with our client's takeover token when
/// given (docs/security.md).
#[allow(dead_code)]
pub fn hello(token: Option<&str>) -> String {
    let mut meta = serde_json::json!({ "res": "1280x720", "scale": 1 });
    if let Some(t) = token {
        meta["token"] = t.into();
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(meta.to_string());
    format!("HELLO 1 {b64}")
}

/// A session on `video` with the options the host's video peer uses (data channel, no ICE
/// servers, no FEC).
#[allow(dead_code)]
pub fn video_session(
    video: &selkies_host::media::pipeline::VideoPipeline,
) -> selkies_host::session::Session {
    peer_session(
        &video.pipeline,
        &video.webrtc,
        "selkies-video",
        true,
        video.rtp_caps(),
    )
}

/// The status code of an HTTP response's head.
#[allow(dead_code)]
pub fn status_code(head: &str) -> u16 {
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"))
}

/// The HTTP state of a host serving `root`, with Basic auth (`user`/`mypasswd`) when `auth`.
#[allow(dead_code)]
pub fn http_state(
    root: std::path::PathBuf,
    auth: bool,
    rtc: selkies_host::rtc::RtcStore,
) -> selkies_host::http::HttpState {
    selkies_host::http::HttpState {
        turn: None,
        port: 8080,
        https: false,
        connectivity: Default::default(),
        auth: auth.then(|| selkies_host::http::BasicAuth {
            user: "user".into(),
            password: "mypasswd".into(),
        }),
        web_root: std::sync::Arc::new(root),
        rtc: std::sync::Arc::new(rtc),
        signalling: selkies_host::ws::Signalling::new(),
        turn_user_header: "x-auth-user".into(),
        security: Default::default(),
    }
}

/// The stereo 64 kb/s Opus pipeline the host builds by default (no expected packet loss, no silence cut).
#[allow(dead_code)]
pub fn audio_pipeline() -> selkies_host::media::pipeline::AudioPipeline {
    selkies_host::media::pipeline::build_audio(&selkies_host::media::pipeline::AudioParams {
        bitrate_bps: 64000,
        channels: 2,
        packetloss_percent: 0.0,
        silence_ms: 0,
    })
    .expect("audio pipeline")
}

/// A session on `audio` with the options the host's audio peer uses (no data channel, no ICE
/// servers, no FEC). Blocks on state changes: call it off the async workers.
#[allow(dead_code)]
pub fn audio_session(
    audio: &selkies_host::media::pipeline::AudioPipeline,
) -> selkies_host::session::Session {
    peer_session(
        &audio.pipeline,
        &audio.webrtc,
        "selkies-audio",
        false,
        audio.rtp_caps(),
    )
}

/// A session as the host's peers start one: no ICE servers, no FEC.
#[allow(dead_code)]
fn peer_session(
    pipeline: &gstreamer::Pipeline,
    webrtc: &gstreamer::Element,
    msid: &'static str,
    data_channel: bool,
    rtp_caps: Option<gstreamer::Caps>,
) -> selkies_host::session::Session {
    selkies_host::session::Session::start(
        pipeline.clone(),
        webrtc.clone(),
        selkies_host::session::SessionOptions {
            msid,
            data_channel,
            ice: selkies_host::session::IceServers::default(),
            fec_percent: 0,
            rtp_caps,
        },
    )
    .expect("session starts")
}

/// The first `SourceLost` the session reports within `secs` (panics on an error or a timeout).
#[allow(dead_code)]
pub async fn source_lost(session: &mut selkies_host::session::Session, secs: u64) -> String {
    use selkies_host::session::SessionEvent;
    watchdog::step("waiting for the session to report the source lost");
    tokio::time::timeout(std::time::Duration::from_secs(secs), async {
        loop {
            match session.events.recv().await {
                Some(SessionEvent::SourceLost(e)) => return e,
                Some(SessionEvent::Error(e)) => panic!("the session failed instead: {e}"),
                Some(_) => {}
                None => panic!("session gone"),
            }
        }
    })
    .await
    .expect("the source loss is reported")
}
