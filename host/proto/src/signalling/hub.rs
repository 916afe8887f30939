//! [`Hub`]: peers, sessions and rooms of the legacy signalling grammar.

use std::collections::{BTreeSet, HashMap, HashSet};

use base64::Engine;

use super::{AUTO_SESSIONS, Action, CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR, ConnId};
use crate::protocol::PyJson;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Idle,
    Session(ConnId),
    Room(String),
}

#[derive(Debug)]
struct Peer {
    uid: String,
    meta: Option<serde_json::Value>,
    /// The client's takeover token from its HELLO meta (see [`super::TOKEN_KEY`]).
    token: Option<String>,
    local: bool,
    status: Status,
}

/// The signalling state: one entry per registered connection.
#[derive(Debug, Default)]
pub struct Hub {
    peers: HashMap<ConnId, Peer>,
    by_uid: HashMap<String, ConnId>,
    rooms: HashMap<String, BTreeSet<ConnId>>,
    /// Connections we asked the glue to close; their late frames are dropped.
    closing: HashSet<ConnId>,
}

fn send(to: ConnId, text: impl Into<String>) -> Action {
    Action::Send {
        to,
        text: text.into(),
    }
}

fn protocol_close(conn: ConnId, reason: &str) -> Action {
    Action::Close {
        conn,
        code: CLOSE_PROTOCOL_ERROR,
        reason: reason.to_owned(),
    }
}

/// Python `repr(str)` for the ASCII-ish ids used in error messages: single quotes unless the
/// text contains one and no double quote.
fn py_repr(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

fn decode_meta(b64: &str) -> Option<serde_json::Value> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Removes the takeover token from the meta (it is for the hub only, never forwarded) and
/// returns it if it is well-formed; a malformed token counts as none.
fn take_token(meta: &mut Option<serde_json::Value>) -> Option<String> {
    let token = meta.as_mut()?.as_object_mut()?.remove(super::TOKEN_KEY)?;
    let token = token.as_str()?;
    let ok = (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| token.to_owned())
}

/// A browser's `HELLO <uid> [meta]` read without registering anything: its uid and takeover
/// token. The WebSocket transport (docs/protocol.md §13.1) decides with them whether a WebRTC
/// session may start while a browser streams over the WebSocket. None for anything else.
pub fn hello_claim(text: &str) -> Option<(String, Option<String>)> {
    let mut it = text.split_whitespace();
    if it.next() != Some("HELLO") {
        return None;
    }
    let uid = it.next()?.to_owned();
    let mut meta = it.next().and_then(decode_meta);
    Some((uid, take_token(&mut meta)))
}

impl Hub {
    pub fn new() -> Self {
        Hub::default()
    }

    /// Registers an in-process host peer (uid "0" video / "2" audio) like a HELLO without meta.
    /// If its browser partner is already waiting, the session starts at once. An empty or
    /// already registered uid is refused with the same `Close` a remote peer would get.
    pub fn register_local(&mut self, conn: ConnId, uid: &str) -> Vec<Action> {
        if uid.is_empty() || uid.split_whitespace().ne([uid]) || self.by_uid.contains_key(uid) {
            return vec![protocol_close(conn, "invalid peer uid")];
        }
        self.insert(conn, uid, None, None, true);
        self.auto_session(uid)
    }

    /// One text frame from `conn`.
    pub fn on_message(&mut self, conn: ConnId, text: &str) -> Vec<Action> {
        if self.closing.contains(&conn) {
            return Vec::new();
        }
        let Some(peer) = self.peers.get(&conn) else {
            return self.hello(conn, text);
        };
        match peer.status.clone() {
            Status::Session(other) => vec![send(other, text)],
            Status::Room(room) => self.room_message(conn, &room, text),
            Status::Idle => self.idle_message(conn, text),
        }
    }

    /// `conn` went away (socket closed, or a local peer shut down).
    pub fn on_disconnect(&mut self, conn: ConnId) -> Vec<Action> {
        self.closing.remove(&conn);
        let Some(peer) = self.peers.remove(&conn) else {
            return Vec::new();
        };
        self.by_uid.remove(&peer.uid);
        match peer.status {
            Status::Idle => Vec::new(),
            Status::Session(other) => self.end_session_of(other, &peer.uid),
            Status::Room(room) => self.leave_room(conn, &peer.uid, &room),
        }
    }

    /// The uid registered on `conn`, if any (for logging).
    pub fn uid_of(&self, conn: ConnId) -> Option<&str> {
        self.peers.get(&conn).map(|p| p.uid.as_str())
    }

    /// Whether a browser (a remote peer) holds `uid`, and with which takeover token: the
    /// WebSocket transport refuses another browser while one streams over WebRTC.
    pub fn remote_holder_token(&self, uid: &str) -> Option<Option<&str>> {
        let peer = self.peers.get(self.by_uid.get(uid)?)?;
        (!peer.local).then_some(peer.token.as_deref())
    }

    /// The connection of `uid`'s current session partner, if any.
    pub fn partner_of(&self, uid: &str) -> Option<ConnId> {
        let conn = self.by_uid.get(uid)?;
        match self.peers.get(conn)?.status {
            Status::Session(other) => Some(other),
            _ => None,
        }
    }

    /// A WebSocket streaming socket with takeover `token` wants the stream: None when another
    /// browser holds a browser uid ("1"/"3"); else the actions that end the same client's
    /// WebRTC session (it switched transports, or reloaded), so one transport streams at a time.
    pub fn yield_to_stream(&mut self, token: Option<&str>) -> Option<Vec<Action>> {
        let holders: Vec<ConnId> = AUTO_SESSIONS
            .iter()
            .filter_map(|(_, browser)| self.by_uid.get(*browser).copied())
            .filter(|c| self.peers.get(c).is_some_and(|p| !p.local))
            .collect();
        let same = |p: &Peer| token.is_some() && p.token.as_deref() == token;
        if holders.iter().any(|c| !self.peers.get(c).is_some_and(same)) {
            return None;
        }
        let mut actions = Vec::new();
        for holder in holders {
            actions.extend(self.takeover(holder, token).unwrap_or_default());
        }
        Some(actions)
    }

    fn insert(
        &mut self,
        conn: ConnId,
        uid: &str,
        meta: Option<serde_json::Value>,
        token: Option<String>,
        local: bool,
    ) {
        self.by_uid.insert(uid.to_owned(), conn);
        self.peers.insert(
            conn,
            Peer {
                uid: uid.to_owned(),
                meta,
                token,
                local,
                status: Status::Idle,
            },
        );
    }

    fn hello(&mut self, conn: ConnId, text: &str) -> Vec<Action> {
        // Python `split(maxsplit=2)`: the meta token is the untrimmed-inside remainder.
        let mut it = text.split_whitespace();
        if it.next() != Some("HELLO") {
            self.closing.insert(conn);
            return vec![protocol_close(conn, "invalid protocol")];
        }
        let uid = it.next().unwrap_or_default();
        if uid.is_empty() {
            self.closing.insert(conn);
            return vec![protocol_close(conn, "invalid peer uid")];
        }
        let rest = text
            .trim_start()
            .strip_prefix("HELLO")
            .map(|r| r.trim_start())
            .and_then(|r| r.strip_prefix(uid))
            .map(str::trim)
            .unwrap_or_default();
        let mut meta = if rest.is_empty() {
            None
        } else {
            match decode_meta(rest) {
                Some(m) => Some(m),
                None => {
                    self.closing.insert(conn);
                    return vec![protocol_close(conn, "invalid meta")];
                }
            }
        };
        let token = take_token(&mut meta);
        let mut actions = Vec::new();
        if let Some(&holder) = self.by_uid.get(uid) {
            match self.takeover(holder, token.as_deref()) {
                Some(mut taken) => actions.append(&mut taken),
                None => return self.refuse_duplicate(conn, uid),
            }
        }
        self.insert(conn, uid, meta, token, false);
        actions.push(send(conn, "HELLO"));
        actions.extend(self.auto_session(uid));
        if let Some(partner) = self.busy_auto_partner(uid) {
            // Our client waits for a session that will not come: say why.
            actions.push(send(
                conn,
                format!(
                    "ERROR peer {} busy: another client holds the session",
                    py_repr(&partner)
                ),
            ));
        }
        actions
    }

    /// `uid` is registered on `holder`: a remote holder presenting the same takeover token is
    /// the same client (a new tab, a reload, or a dead socket not yet timed out) and is replaced;
    /// anything else is a second claimant. Returns the actions of the replacement.
    fn takeover(&mut self, holder: ConnId, token: Option<&str>) -> Option<Vec<Action>> {
        let peer = self.peers.get(&holder)?;
        if peer.local || token.is_none() || peer.token.as_deref() != token {
            return None;
        }
        let mut actions = vec![Action::Close {
            conn: holder,
            code: super::CLOSE_TAKEN_OVER,
            reason: "taken over by a newer connection of the same client".to_owned(),
        }];
        actions.extend(self.on_disconnect(holder));
        self.closing.insert(holder);
        Some(actions)
    }

    /// A second claimant of a registered uid: a readable reason, then the legacy close.
    fn refuse_duplicate(&mut self, conn: ConnId, uid: &str) -> Vec<Action> {
        self.closing.insert(conn);
        vec![
            send(
                conn,
                format!(
                    "ERROR peer {} busy: another client is connected; only one viewer at a time",
                    py_repr(uid)
                ),
            ),
            protocol_close(conn, "invalid peer uid"),
        ]
    }

    /// The local partner of browser uid `uid` when it is in a session with someone else.
    fn busy_auto_partner(&self, uid: &str) -> Option<String> {
        let (local, _) = AUTO_SESSIONS.iter().find(|(_, b)| *b == uid)?;
        let lc = self.by_uid.get(*local)?;
        let me = self.by_uid.get(uid)?;
        match self.peers.get(lc)?.status {
            Status::Session(other) if other != *me => Some((*local).to_owned()),
            _ => None,
        }
    }

    /// Starts local ↔ browser sessions when both halves of an [`AUTO_SESSIONS`] pair are idle.
    fn auto_session(&mut self, uid: &str) -> Vec<Action> {
        for (local, browser) in AUTO_SESSIONS {
            if uid != local && uid != browser {
                continue;
            }
            let (Some(&lc), Some(&bc)) = (self.by_uid.get(local), self.by_uid.get(browser)) else {
                continue;
            };
            let ready = |c| {
                self.peers
                    .get(&c)
                    .is_some_and(|p: &Peer| p.status == Status::Idle)
            };
            if self.peers.get(&lc).is_some_and(|p| p.local) && ready(lc) && ready(bc) {
                return self.start_session(lc, bc);
            }
        }
        Vec::new()
    }

    /// `caller` sent `SESSION <callee uid>` (or the hub does it on a local peer's behalf).
    fn start_session(&mut self, caller: ConnId, callee: ConnId) -> Vec<Action> {
        let meta64 = self
            .peers
            .get(&callee)
            .and_then(|p| p.meta.as_ref())
            .filter(|m| !is_falsy(m))
            .map(|m| {
                base64::engine::general_purpose::STANDARD.encode(PyJson::from_value(m).dumps())
            })
            .unwrap_or_default();
        for (a, b) in [(caller, callee), (callee, caller)] {
            if let Some(p) = self.peers.get_mut(&a) {
                p.status = Status::Session(b);
            }
        }
        vec![send(caller, format!("SESSION_OK {meta64}"))]
    }

    fn idle_message(&mut self, conn: ConnId, text: &str) -> Vec<Action> {
        let (cmd, arg) = match text.trim_start().split_once(char::is_whitespace) {
            Some((c, a)) => (c, a.trim()),
            None => (text.trim(), ""),
        };
        match cmd {
            "SESSION" | "ROOM" if arg.is_empty() => {
                self.closing.insert(conn);
                vec![protocol_close(conn, "invalid protocol")]
            }
            "SESSION" => {
                let Some(&callee) = self.by_uid.get(arg) else {
                    return vec![send(conn, format!("ERROR peer {} not found", py_repr(arg)))];
                };
                let busy = callee == conn
                    || self
                        .peers
                        .get(&callee)
                        .is_some_and(|p| p.status != Status::Idle);
                if busy {
                    return vec![send(conn, format!("ERROR peer {} busy", py_repr(arg)))];
                }
                self.start_session(conn, callee)
            }
            "ROOM" => self.join_room(conn, arg),
            // Legacy: anything else before a session is logged and ignored.
            _ => Vec::new(),
        }
    }

    fn join_room(&mut self, conn: ConnId, room: &str) -> Vec<Action> {
        if room == "session" || room.split_whitespace().ne([room]) {
            return vec![send(
                conn,
                format!("ERROR invalid room id {}", py_repr(room)),
            )];
        }
        let uid = self.uid_of(conn).unwrap_or_default().to_owned();
        let members = self.rooms.entry(room.to_owned()).or_default();
        let uids: Vec<&str> = members
            .iter()
            .filter_map(|c| self.peers.get(c).map(|p| p.uid.as_str()))
            .collect();
        let mut actions = vec![send(conn, format!("ROOM_OK {}", uids.join(" ")))];
        for &member in members.iter() {
            actions.push(send(member, format!("ROOM_PEER_JOINED {uid}")));
        }
        members.insert(conn);
        if let Some(p) = self.peers.get_mut(&conn) {
            p.status = Status::Room(room.to_owned());
        }
        actions
    }

    fn room_message(&mut self, conn: ConnId, room: &str, text: &str) -> Vec<Action> {
        let uid = self.uid_of(conn).unwrap_or_default().to_owned();
        if text == "ROOM_PEER_LIST" {
            let others: Vec<&str> = self
                .rooms
                .get(room)
                .into_iter()
                .flatten()
                .filter(|c| **c != conn)
                .filter_map(|c| self.peers.get(c).map(|p| p.uid.as_str()))
                .collect();
            return vec![send(conn, format!("ROOM_PEER_LIST {}", others.join(" ")))];
        }
        let Some(rest) = text.strip_prefix("ROOM_PEER_MSG") else {
            return vec![send(conn, "ERROR invalid msg, already in room")];
        };
        let mut parts = rest.trim_start().splitn(2, char::is_whitespace);
        let (Some(target), Some(msg)) = (parts.next().filter(|t| !t.is_empty()), parts.next())
        else {
            return vec![send(conn, "ERROR invalid msg, already in room")];
        };
        let Some(&tc) = self.by_uid.get(target) else {
            return vec![send(
                conn,
                format!("ERROR peer {} not found", py_repr(target)),
            )];
        };
        if self.peers.get(&tc).map(|p| &p.status) != Some(&Status::Room(room.to_owned())) {
            return vec![send(
                conn,
                format!("ERROR peer {} is not in the room", py_repr(target)),
            )];
        }
        vec![send(
            tc,
            format!("ROOM_PEER_MSG {uid} {}", msg.trim_start()),
        )]
    }

    fn leave_room(&mut self, conn: ConnId, uid: &str, room: &str) -> Vec<Action> {
        let Some(members) = self.rooms.get_mut(room) else {
            return Vec::new();
        };
        members.remove(&conn);
        let actions = members
            .iter()
            .map(|&m| send(m, format!("ROOM_PEER_LEFT {uid}")))
            .collect();
        if members.is_empty() {
            self.rooms.remove(room);
        }
        actions
    }

    /// The partner of a departed peer: a remote one is closed and unregistered (legacy), a
    /// local one returns to idle and may be paired again at once.
    fn end_session_of(&mut self, other: ConnId, departed: &str) -> Vec<Action> {
        let Some(peer) = self.peers.get_mut(&other) else {
            return Vec::new();
        };
        if peer.local {
            peer.status = Status::Idle;
            let uid = peer.uid.clone();
            let mut actions = vec![Action::SessionEnded {
                conn: other,
                peer_uid: departed.to_owned(),
            }];
            actions.extend(self.auto_session(&uid));
            actions
        } else {
            let uid = peer.uid.clone();
            self.peers.remove(&other);
            self.by_uid.remove(&uid);
            self.closing.insert(other);
            vec![Action::Close {
                conn: other,
                code: CLOSE_NORMAL,
                reason: String::new(),
            }]
        }
    }
}

/// Python truthiness of the stored meta (`if meta:`): empty objects/strings send no meta.
fn is_falsy(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}
