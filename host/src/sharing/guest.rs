//! One sharing member's connection: the `/share/ws` socket, and for a guest its own
//! `webrtcbin` fed by the owner's stream ([`super::fanout`]). The first frame must be
//! `{"type":"hello"}`; a guest is then admitted by its link (or refused with an error notice
//! and a close code), gets the offer, answers, and sends data-channel messages that are
//! filtered by its current role before anything acts on them. An owner control connection
//! (no link, Basic auth passed) gets no media: it sees the roster and the links and sends
//! owner commands.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use selkies_proto::gamepad::GamepadMessage;
use selkies_proto::protocol::{ClientMessage, PointerEvent, parse_client_message};
use selkies_proto::sharing::wire::{Command, Notice, parse_command};
use selkies_proto::sharing::{Role, Verdict, filter};
use selkies_proto::signalling::Envelope;
use selkies_x11::InputCommand;
use tracing::{debug, info, warn};

use super::fanout::MemberMedia;
use super::{Joined, MemberEvent, Sharing, close};
use crate::host::Host;
use crate::media::offer;
use crate::session::{Session, SessionEvent, SessionOptions};

/// Time allowed for the first frame.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Ping period of the sharing socket.
const PING_EVERY: Duration = Duration::from_secs(10);
/// Silence after which a sharing socket is closed as dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// Longest wait for one send: a browser that stopped reading cannot hold the task.
const SEND_LIMIT: Duration = Duration::from_secs(10);
/// Stream id of a member's tracks.
const MSID: &str = "selkies-share";

/// Sends a text frame within [`SEND_LIMIT`]; false when the socket is gone or stuck.
async fn send_text(socket: &mut WebSocket, text: String) -> bool {
    matches!(
        tokio::time::timeout(SEND_LIMIT, socket.send(Message::Text(text.into()))).await,
        Ok(Ok(()))
    )
}

fn close_frame(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.chars().take(120).collect::<String>().into(),
    }))
}

async fn refuse(socket: &mut WebSocket, code: &str, close: u16, message: &str) {
    info!(code, "sharing: connection refused: {message}");
    if send_text(socket, Notice::error(code, message).to_json()).await {
        let _ = tokio::time::timeout(SEND_LIMIT, socket.send(close_frame(close, message))).await;
    }
    drain(socket).await;
}

/// After our close frame, wait (briefly) for the browser's: closing the TCP connection first
/// can reset it before the browser has read the close code.
async fn drain(socket: &mut WebSocket) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(msg)) = socket.recv().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

async fn read_hello(socket: &mut WebSocket) -> Result<String, &'static str> {
    let first = tokio::time::timeout(HELLO_TIMEOUT, socket.recv())
        .await
        .map_err(|_| "no hello within 10 s")?;
    let Some(Ok(Message::Text(text))) = first else {
        return Err("expected a hello message");
    };
    match parse_command(text.as_str()) {
        Ok(Some(Command::Hello { name })) => Ok(name),
        _ => Err("the first message must be {\"type\":\"hello\"}"),
    }
}

/// Serves one `/share/ws` connection; `token` is the link from the URL (None: owner).
pub async fn serve(mut socket: WebSocket, sharing: Arc<Sharing>, token: Option<String>) {
    let name = match read_hello(&mut socket).await {
        Ok(n) => n,
        Err(why) => return refuse(&mut socket, "protocol", close::PROTOCOL, why).await,
    };
    let joined = match &token {
        // Checked first so a guest who cannot be served never appears in the roster.
        Some(_) if !sharing.fanout.streaming() => {
            let why = "nobody streams the desktop yet (the owner is not connected); try again";
            return refuse(&mut socket, "not_streaming", close::NOT_STREAMING, why).await;
        }
        Some(t) => match sharing.join_guest(t, &name) {
            Ok(j) => j,
            Err(r) => return refuse(&mut socket, r.code, r.close, &r.message).await,
        },
        None => sharing.join_owner(&name),
    };
    let uid = joined.uid.clone();
    run(&mut socket, &sharing, joined, token.is_some()).await;
    sharing.leave(&uid);
}

struct Member {
    uid: String,
    role: Role,
    media: Option<(MemberMedia, Session)>,
    host: Option<Arc<Host>>,
    clipboard: selkies_proto::protocol::clipboard::ClipboardAssembler,
    /// The host pad this member's gamepad created, released when it leaves or loses the role.
    pad: Option<u8>,
}

async fn run(socket: &mut WebSocket, sharing: &Arc<Sharing>, joined: Joined, guest: bool) {
    let Joined {
        uid,
        role,
        mut events,
    } = joined;
    let welcome = Notice::Welcome {
        uid: uid.clone(),
        role: role.to_string(),
        name: String::new(),
    };
    if socket
        .send(Message::Text(welcome.to_json().into()))
        .await
        .is_err()
    {
        return;
    }
    let mut m = Member {
        uid,
        role,
        media: None,
        host: sharing.host(),
        clipboard: Default::default(),
        pad: None,
    };
    if guest {
        match start_media(sharing, &m).await {
            Ok(media) => m.media = Some(media),
            Err(why) => {
                refuse(socket, "not_streaming", close::NOT_STREAMING, &why).await;
                return;
            }
        }
    }
    // Liveness as on `/ws`: pings every 10 s; 30 s without any frame (a pong included) is dead.
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut deadline = tokio::time::Instant::now() + SILENCE_LIMIT;
    let mut desktop = sharing.desktop_feed();
    loop {
        let session_ev = async {
            match m.media.as_mut() {
                Some((_, s)) => s.events.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            msg = socket.recv() => {
                deadline = tokio::time::Instant::now() + SILENCE_LIMIT;
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(reply) = on_text(sharing, &mut m, text.as_str())
                            && !send_text(socket, reply).await
                        {
                            break;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                }
            },
            _ = ping.tick() => {
                let sent = tokio::time::timeout(SEND_LIMIT, socket.send(Message::Ping(Vec::new().into()))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                info!(uid = m.uid, "sharing: no frame or pong for 30 s; closing");
                break;
            }
            ev = events.recv() => match ev {
                Some(MemberEvent::Notice(text)) => {
                    if !send_text(socket, text).await {
                        break;
                    }
                }
                Some(MemberEvent::Role(r)) => {
                    m.role = r;
                    release_pad(&mut m).await;
                    let n = Notice::Role { role: r.to_string() }.to_json();
                    if !send_text(socket, n).await {
                        break;
                    }
                }
                Some(MemberEvent::Close { code, reason }) => {
                    let _ = tokio::time::timeout(SEND_LIMIT, socket.send(close_frame(code, &reason))).await;
                    drain(socket).await;
                    break;
                }
                None => break,
            },
            msg = desktop.recv() => match msg {
                Ok(text) => {
                    if let Some((_, session)) = m.media.as_ref()
                        && selkies_proto::sharing::forwards_host_message(m.role, &text)
                    {
                        session.send_data(&text);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    debug!(uid = m.uid, n, "sharing: skipped desktop messages");
                }
                // The host is going away; the socket ends with it.
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            ev = session_ev => {
                if !on_session_event(sharing, &mut m, socket, ev).await {
                    break;
                }
            }
        }
    }
    release_pad(&mut m).await;
    stop_media(&mut m);
}

/// A player that leaves (or becomes something else) takes its pad with it, as `js,d` would.
async fn release_pad(m: &mut Member) {
    if let (Some(index), Some(host)) = (m.pad.take(), m.host.as_ref()) {
        host.gamepad(GamepadMessage::Disconnect { index }).await;
    }
}

fn stop_media(m: &mut Member) {
    if let Some((media, mut session)) = m.media.take() {
        tokio::task::spawn_blocking(move || {
            drop(media);
            session.shutdown();
        });
    }
}

async fn start_media(sharing: &Arc<Sharing>, m: &Member) -> Result<(MemberMedia, Session), String> {
    let host = m.host.clone().ok_or("the host is not ready")?;
    let fanout = sharing.fanout.clone();
    if !fanout.streaming() {
        return Err(
            "nobody streams the desktop yet (the owner is not connected); try again".into(),
        );
    }
    let ice = host.services.rtc.webrtcbin_servers();
    tokio::task::spawn_blocking(move || {
        let media = fanout.build_member().map_err(|e| e.to_string())?;
        let session = Session::start(
            media.pipeline.clone(),
            media.webrtc.clone(),
            SessionOptions {
                msid: MSID,
                data_channel: true,
                ice,
                fec_percent: 0,
                rtp_caps: None,
            },
        )
        .map_err(|e| e.to_string())?;
        media.connect();
        Ok((media, session))
    })
    .await
    .map_err(|e| format!("member start failed: {e}"))?
}

/// A text frame from the member: an SDP/ICE envelope for its session, or a command.
fn on_text(sharing: &Sharing, m: &mut Member, text: &str) -> Option<String> {
    match parse_command(text) {
        Ok(Some(cmd)) => {
            let role = sharing.role_of(&m.uid).unwrap_or(m.role);
            sharing.command(role, cmd).map(|n| n.to_json())
        }
        Ok(None) => {
            let Some((_, session)) = m.media.as_ref() else {
                return Some(
                    Notice::error("protocol", "no media session on this connection").to_json(),
                );
            };
            match Envelope::parse(text) {
                Ok(Envelope::Sdp(sdp)) => match session.set_answer(sdp.kind, &sdp.sdp) {
                    Ok(()) => None,
                    Err(e) => Some(Notice::error("bad_answer", e).to_json()),
                },
                Ok(Envelope::Ice(ice)) => {
                    session.add_ice_candidate(ice.sdp_mline_index.unwrap_or(0), &ice.candidate);
                    None
                }
                Err(e) => Some(Notice::error("protocol", e).to_json()),
            }
        }
        Err(e) => Some(Notice::error("protocol", e).to_json()),
    }
}

/// Returns false when the member's session is over.
async fn on_session_event(
    sharing: &Sharing,
    m: &mut Member,
    socket: &mut WebSocket,
    ev: Option<SessionEvent>,
) -> bool {
    let Some(ev) = ev else { return false };
    let Some((_, session)) = m.media.as_ref() else {
        return true;
    };
    match ev {
        SessionEvent::Offer(o) => {
            let Ok(text) = o.sdp().as_text() else {
                return false;
            };
            // The codec the owner's session runs (a fallback when its browser refused --encoder's).
            let (codec, fps) = match &m.host {
                Some(h) => (
                    sharing.fanout.codec().unwrap_or(h.encoder.spec.codec()),
                    h.live().framerate,
                ),
                None => return false,
            };
            let munged = offer::munge(&text, codec, fps, MSID);
            if !send_text(socket, Envelope::offer(munged).to_json()).await {
                return false;
            }
            session.set_local_offer(&o);
        }
        SessionEvent::IceCandidate { mline, candidate } => {
            let json = Envelope::candidate(candidate, mline).to_json();
            if !send_text(socket, json).await {
                return false;
            }
        }
        SessionEvent::DataChannelMessage(text) => {
            let role = sharing.role_of(&m.uid).unwrap_or(Role::Viewer);
            on_data(sharing, m, role, &text).await;
        }
        SessionEvent::DataChannelOpen => {
            debug!(uid = m.uid, "sharing: data channel open");
            // The current cursor shape, as the owner gets it in its first burst.
            if let Some(cursor) = m
                .host
                .as_ref()
                .and_then(|h| h.services.desktop.last_cursor())
            {
                session.send_data(
                    &selkies_proto::protocol::ServerMessage::Cursor(Some(cursor)).to_json(),
                );
            }
        }
        SessionEvent::DataChannelClosed => return false,
        SessionEvent::ConnectionState(state) => {
            debug!(uid = m.uid, state, "sharing: peer connection state");
            if ["Failed", "Closed"].contains(&state.as_str()) {
                return false;
            }
        }
        SessionEvent::Latency => session.on_latency(),
        SessionEvent::SourceLost(_) | SessionEvent::Stats(_) => {}
        SessionEvent::Error(e) => {
            info!(uid = m.uid, "sharing: member session ended: {e}");
            return false;
        }
    }
    true
}

/// A data-channel message from a member, filtered by its role.
async fn on_data(sharing: &Sharing, m: &mut Member, role: Role, text: &str) {
    let msg = match parse_client_message(text) {
        Ok(msg) => msg,
        Err(e) => {
            debug!(uid = m.uid, "sharing: ignoring a bad message: {e}");
            return;
        }
    };
    let msg = match filter(role, msg) {
        Verdict::Pass(msg) => msg,
        Verdict::Ignore => return,
        Verdict::Drop(cat) => {
            sharing.count_drop(cat);
            if let Some(h) = &m.host {
                h.services
                    .metrics
                    .set_sharing_dropped(cat.as_str(), sharing.drops().get(cat));
            }
            debug!(uid = m.uid, %role, category = cat.as_str(), "sharing: message dropped by role");
            return;
        }
    };
    let Some(host) = m.host.clone() else {
        return;
    };
    let input = |cmd: InputCommand| {
        if let Some(i) = &host.services.input
            && let Err(e) = i.send(cmd)
        {
            debug!("input not injected: {e}");
        }
    };
    let mouse = |relative: bool, p: PointerEvent| InputCommand::Mouse {
        relative,
        x: p.x,
        y: p.y,
        mask: (p.mask & 0xff) as u8,
        magnitude: p.magnitude,
    };
    match msg {
        ClientMessage::KeyDown { keysym } => input(InputCommand::Key { keysym, down: true }),
        ClientMessage::KeyUp { keysym } => input(InputCommand::Key {
            keysym,
            down: false,
        }),
        ClientMessage::KeyReset => input(InputCommand::ReleaseAll),
        ClientMessage::MouseAbsolute(p) => input(mouse(false, p)),
        ClientMessage::MouseRelative(p) => input(mouse(true, p)),
        ClientMessage::ClipboardRead => host.services.desktop.request_clipboard(),
        ClientMessage::ClipboardWrite(text) => host.services.desktop.write_clipboard(text),
        ClientMessage::ClipboardPart {
            index,
            count,
            bytes,
        } => match m.clipboard.push(index, count, &bytes) {
            Ok(Some(text)) => host.services.desktop.write_clipboard(text),
            Ok(None) => {}
            Err(e) => debug!("clipboard from a member dropped: {e}"),
        },
        ClientMessage::Gamepad(pad) => {
            match &pad {
                GamepadMessage::Connect { index, .. } => m.pad = Some(*index),
                GamepadMessage::Disconnect { .. } => m.pad = None,
                _ => {}
            }
            host.gamepad(pad).await;
        }
        ClientMessage::Pong { .. } => {}
        // Settings reach here only for an owner, who changes them on the legacy connection.
        other => {
            warn!(
                uid = m.uid,
                "sharing: {other:?} not handled on a sharing connection"
            );
        }
    }
}
