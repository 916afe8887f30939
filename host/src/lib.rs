//! selkies-host: the `selkies-gstreamer` server, wire-compatible with the legacy Python host.
//!
//! Module map (data flows top to bottom):
//! - [`http`]: axum router with Basic auth, static web root, `/health`, `/turn`, WebSocket upgrade.
//! - [`server`]: accept loop with per-IP limits, header-read timeout and a shutdown deadline.
//! - [`security`]: Origin policy, failed-login limiter, security headers.
//! - [`tls`]: rustls configuration and a concurrent-handshake listener for `--enable_https`.
//! - [`ws`]: socket glue around the pure signalling hub of `selkies_proto`.
//! - [`ws_transport`]: streaming over the signalling WebSocket when WebRTC cannot connect.
//! - [`rest_client`]: the TURN-REST GET (hyper's HTTP/1.1 client over TCP or rustls).
//! - [`rtc`]: STUN/TURN configuration sources (static, HMAC, rtc.json file, TURN-REST).
//! - [`turn_probe`]: start-up STUN Binding check that the configured TURN server answers.
//! - [`peer`]: the host's in-process signalling peers that run one session per browser.
//! - [`peer_open`]: building and starting one session's pipeline on the blocking pool.
//! - [`session`]: one webrtcbin peer connection: offer, ICE, data channel, bus.
//! - [`ice_report`]: the connectivity report: webrtcbin stats → selected pair, logged and stored.
//! - [`sharing`]: several browsers on one desktop with roles: share links, roster, fan-out.
//! - [`supervise`]: restarting a panicked peer task with its state intact.
//! - [`sync`]: the one lock-recovery helper for poisoned std locks.
//! - [`media`]: codec caps and payloaders, pipeline construction from the encoder registry.
//! - [`mic`]: the browser's microphone into a PulseAudio virtual source.
//! - [`control`]: what each data-channel message does.
//! - [`log_limit`]: rate-limited, summarised warnings for what peers send.
//! - [`files`]: file transfer routes under `/files` (resumable uploads, streamed downloads).
//! - [`desktop`]: clipboard, cursor shapes, resize and DPI policy over `selkies_x11`.
//! - [`config_io`]: what settings resolution needs from the machine (env, files, randomness).
//! - [`startup`]: assembling and running a whole host from its settings ([`startup::run`]).
//! - [`host`]: shared context and live settings.
//! - [`persist`]: the one coalescing writer of `--json_config`.
//! - [`overlay_file`]: reading and atomically rewriting the `--json_config` file.
//! - [`telemetry`]: CPU/memory numbers for the client.
//! - [`uinput_mouse`]: pointer-lock mouse as msgpack datagrams (`--uinput_mouse_socket`).

pub mod config_io;
pub mod control;
pub mod desktop;
pub mod files;
pub mod host;
pub mod http;
pub mod ice_report;
pub mod log_limit;
pub mod media;
pub mod mic;
pub mod milestones;
pub mod overlay_file;
pub mod peer;
pub mod peer_open;
pub mod persist;
pub mod rest_client;
pub mod rtc;
pub mod security;
pub mod server;
pub mod session;
pub mod sharing;
pub mod startup;
pub mod supervise;
pub mod sync;
pub mod telemetry;
pub mod tls;
pub mod turn_probe;
pub mod turn_relay;
pub mod uinput_mouse;
pub mod webcam;
pub mod ws;
pub mod ws_transport;
