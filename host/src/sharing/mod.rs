//! Desktop sharing on the host (docs/sharing.md): the shared state of everyone connected through
//! `/share/ws` (the roster, the link signer, the minted links, the drop counters) and the
//! channels to each member's task. The pure rules are `selkies_proto::sharing`'s; the media
//! fan-out is [`fanout`], a member's connection [`guest`], the HTTP surface [`http`].
//!
//! The legacy path is untouched: the browser on `/ws` (uids `1`/`3`) still owns the desktop and
//! the encoder, with the same takeover rules. Sharing members ride on its stream.

pub mod fanout;
pub mod guest;
pub mod http;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use selkies_proto::sharing::wire::{Command, LinkView, MemberView, Notice};
use selkies_proto::sharing::{Category, DropCounters, JoinError, Role, Roster, ShareToken, Signer};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::host::Host;
use crate::sync::lock;

pub use fanout::Fanout;

/// Close codes of the sharing socket (docs/protocol.md "Sharing").
pub mod close {
    /// The share link was refused (malformed, forged, expired, revoked).
    pub const BAD_LINK: u16 = 4003;
    /// `--max_viewers` reached, or the player slot is taken, or sharing is off.
    pub const FULL: u16 = 4004;
    /// Nobody streams the desktop yet (the owner is not connected); try again later.
    pub const NOT_STREAMING: u16 = 4005;
    /// The owner revoked the link, rotated the secret or removed this member.
    pub const REMOVED: u16 = 4006;
    /// A protocol error (no `hello`, bad message).
    pub const PROTOCOL: u16 = 4002;
}

/// Default lifetime of a minted link.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// Longest lifetime of a minted link.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// What a member's task is told.
#[derive(Debug)]
pub enum MemberEvent {
    /// Send this text on the socket.
    Notice(String),
    /// The owner changed this member's role.
    Role(Role),
    /// Leave: send this close and end.
    Close { code: u16, reason: String },
}

/// A refused join: the error notice and the close code.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub code: &'static str,
    pub close: u16,
    pub message: String,
}

/// A member that joined.
pub struct Joined {
    pub uid: String,
    pub role: Role,
    pub events: mpsc::UnboundedReceiver<MemberEvent>,
}

struct State {
    roster: Roster,
    signer: Signer,
    links: Vec<LinkView>,
    members: HashMap<String, mpsc::UnboundedSender<MemberEvent>>,
    drops: DropCounters,
    refused_joins: u64,
}

/// The sharing service of one host.
pub struct Sharing {
    state: Mutex<State>,
    pub fanout: Arc<Fanout>,
    host: OnceLock<Weak<Host>>,
    /// The owner's desktop messages (cursor shapes, host clipboard) for the members' tasks, which
    /// pick what their role may see ([`selkies_proto::sharing::forwards_host_message`]).
    desktop: tokio::sync::broadcast::Sender<Arc<str>>,
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_id() -> String {
    let mut b = [0u8; 6];
    if getrandom_fill(&mut b).is_err() {
        // The clock is a poor but unique-enough fallback for a link id (not a secret).
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("{:012x}", n & 0xffff_ffff_ffff);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn getrandom_fill(b: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(b)
}

fn random_secret() -> Vec<u8> {
    let mut b = vec![0u8; 32];
    if let Err(e) = getrandom_fill(&mut b) {
        warn!("sharing: no /dev/urandom ({e}); share links are signed with a time-derived key");
        let n = now_unix().to_le_bytes();
        b[..8].copy_from_slice(&n);
    }
    b
}

fn join_refusal(e: JoinError) -> Refusal {
    let (code, close) = match e {
        JoinError::Disabled => ("disabled", close::FULL),
        JoinError::Full { .. } => ("full", close::FULL),
        JoinError::SlotTaken(_) => ("slot_taken", close::FULL),
    };
    Refusal {
        code,
        close,
        message: e.to_string(),
    }
}

impl Sharing {
    /// `max_viewers`: `--max_viewers`; `secret`: `--share_secret` (None: random).
    pub fn new(max_viewers: u32, secret: Option<&str>) -> Arc<Self> {
        let signer = match secret {
            Some(s) => Signer::new(s.as_bytes().to_vec()),
            None => Signer::new(random_secret()),
        };
        Arc::new(Self {
            state: Mutex::new(State {
                roster: Roster::new(max_viewers as usize),
                signer,
                links: Vec::new(),
                members: HashMap::new(),
                drops: DropCounters::default(),
                refused_joins: 0,
            }),
            fanout: Fanout::new(),
            host: OnceLock::new(),
            // A member that falls this far behind skips to the newest (cursor shapes and
            // clipboard text are state: the latest wins).
            desktop: tokio::sync::broadcast::channel(64).0,
        })
    }

    /// Hands the owner's desktop messages to the members (none connected: dropped).
    pub fn forward_desktop(&self, msgs: &[String]) {
        if self.desktop.receiver_count() == 0 {
            return;
        }
        for m in msgs {
            let _ = self.desktop.send(Arc::from(m.as_str()));
        }
    }

    /// A member task's feed of [`Sharing::forward_desktop`].
    pub fn desktop_feed(&self) -> tokio::sync::broadcast::Receiver<Arc<str>> {
        self.desktop.subscribe()
    }

    /// Gives the members' tasks the host (input, gamepads, ICE servers).
    pub fn bind(&self, host: &Arc<Host>) {
        let _ = self.host.set(Arc::downgrade(host));
    }

    pub fn host(&self) -> Option<Arc<Host>> {
        self.host.get().and_then(Weak::upgrade)
    }

    /// Whether `token` is a link that admits someone now.
    pub fn verify(&self, token: &str) -> Result<ShareToken, selkies_proto::sharing::TokenError> {
        lock(&self.state).signer.verify(token, now_unix())
    }

    /// The owner's session ended: the stream the guests ride on is gone. They are closed with
    /// [`close::NOT_STREAMING`] and rejoin when the owner is back.
    pub fn owner_stopped(&self) {
        self.fanout.detach();
        let mut st = lock(&self.state);
        let uids = st.roster.all_guests();
        for uid in &uids {
            if let Some(tx) = st.members.remove(uid) {
                let _ = tx.send(MemberEvent::Notice(
                    Notice::error(
                        "not_streaming",
                        "the owner left; waiting for them to return",
                    )
                    .to_json(),
                ));
                let _ = tx.send(MemberEvent::Close {
                    code: close::NOT_STREAMING,
                    reason: "the owner left".into(),
                });
            }
            st.roster.leave(uid);
        }
        if !uids.is_empty() {
            broadcast_roster(&st);
        }
    }

    /// Serves remembered keyframe requests; runs for the life of the host.
    pub async fn poll_keyframes(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            self.fanout.poll_keyframes();
        }
    }

    /// A browser presents `token`.
    pub fn join_guest(&self, token: &str, name: &str) -> Result<Joined, Refusal> {
        let mut st = lock(&self.state);
        let verified = st.signer.verify(token, now_unix());
        let t = match verified {
            Ok(t) => t,
            Err(e) => {
                st.refused_joins += 1;
                return Err(Refusal {
                    code: "bad_link",
                    close: close::BAD_LINK,
                    message: e.to_string(),
                });
            }
        };
        let uid = match st.roster.join_guest(t.role, &t.link_id, name) {
            Ok(uid) => uid,
            Err(e) => {
                st.refused_joins += 1;
                return Err(join_refusal(e));
            }
        };
        let (tx, events) = mpsc::unbounded_channel();
        st.members.insert(uid.clone(), tx);
        info!(uid, role = %t.role, link = t.link_id, "sharing: guest joined");
        broadcast_roster(&st);
        Ok(Joined {
            uid,
            role: t.role,
            events,
        })
    }

    /// The Basic-auth user opens a control connection.
    pub fn join_owner(&self, name: &str) -> Joined {
        let mut st = lock(&self.state);
        let uid = st.roster.join_owner(name);
        let (tx, events) = mpsc::unbounded_channel();
        let _ = tx.send(MemberEvent::Notice(links_notice(&st).to_json()));
        st.members.insert(uid.clone(), tx);
        broadcast_roster(&st);
        Joined {
            uid,
            role: Role::Owner,
            events,
        }
    }

    pub fn leave(&self, uid: &str) {
        let mut st = lock(&self.state);
        st.members.remove(uid);
        if st.roster.leave(uid).is_some() {
            info!(uid, "sharing: member left");
            broadcast_roster(&st);
        }
    }

    /// The current role of `uid` (None once it was removed).
    pub fn role_of(&self, uid: &str) -> Option<Role> {
        lock(&self.state).roster.get(uid).map(|m| m.role)
    }

    /// A guest's message was refused by its role.
    pub fn count_drop(&self, cat: Category) {
        let mut st = lock(&self.state);
        st.drops.count(cat);
    }

    pub fn drops(&self) -> DropCounters {
        lock(&self.state).drops
    }

    /// Mints a link for `role` valid `ttl` (clamped to [`MAX_TTL`]).
    pub fn mint(&self, role: &str, ttl: Option<Duration>) -> Result<Notice, Refusal> {
        let bad = |message: String| Refusal {
            code: "bad_request",
            close: 0,
            message,
        };
        let role: Role = role.parse().map_err(|e| bad(format!("{e}")))?;
        let ttl = ttl
            .unwrap_or(DEFAULT_TTL)
            .min(MAX_TTL)
            .max(Duration::from_secs(1));
        let t = ShareToken {
            link_id: random_id(),
            role,
            expires: now_unix() + ttl.as_secs(),
        };
        let mut st = lock(&self.state);
        let token = st.signer.sign(&t).map_err(|e| bad(e.to_string()))?;
        st.links.retain(|l| l.expires > now_unix() && !l.revoked);
        st.links.push(LinkView {
            id: t.link_id.clone(),
            role: role.to_string(),
            expires: t.expires,
            revoked: false,
        });
        info!(link = t.link_id, %role, secs = ttl.as_secs(), "sharing: link minted");
        broadcast_links(&st);
        Ok(Notice::Link {
            id: t.link_id,
            role: role.to_string(),
            expires: t.expires,
            token,
        })
    }

    /// Revokes a link and disconnects who joined with it; returns how many were.
    pub fn revoke(&self, link_id: &str) -> usize {
        let mut st = lock(&self.state);
        st.signer.revoke(link_id);
        for l in st.links.iter_mut().filter(|l| l.id == link_id) {
            l.revoked = true;
        }
        let uids = st.roster.joined_with(link_id);
        info!(
            link = link_id,
            members = uids.len(),
            "sharing: link revoked"
        );
        remove(&mut st, &uids, "share link revoked");
        broadcast_links(&st);
        uids.len()
    }

    /// Replaces the secret: every link dies and every guest is disconnected.
    pub fn rotate(&self) -> usize {
        let mut st = lock(&self.state);
        st.signer.rotate(random_secret());
        for l in st.links.iter_mut() {
            l.revoked = true;
        }
        let uids = st.roster.all_guests();
        info!(members = uids.len(), "sharing: secret rotated");
        remove(&mut st, &uids, "the host rotated its share secret");
        broadcast_links(&st);
        uids.len()
    }

    /// `by` asks to give `target` the role `role`.
    pub fn set_role(&self, by: Role, target: &str, role: &str) -> Result<(), Refusal> {
        let refuse = |message: String| Refusal {
            code: "refused",
            close: 0,
            message,
        };
        let role: Role = role.parse().map_err(|e| refuse(format!("{e}")))?;
        let mut st = lock(&self.state);
        st.roster
            .set_role(by, target, role)
            .map_err(|e| refuse(e.to_string()))?;
        info!(uid = target, %role, "sharing: role changed");
        if let Some(tx) = st.members.get(target) {
            let _ = tx.send(MemberEvent::Role(role));
        }
        broadcast_roster(&st);
        Ok(())
    }

    /// Disconnects `uid` (owner command).
    pub fn kick(&self, by: Role, uid: &str) -> Result<(), Refusal> {
        if !by.may_administer() {
            return Err(Refusal {
                code: "refused",
                close: 0,
                message: "only the owner can remove members".into(),
            });
        }
        let mut st = lock(&self.state);
        remove(&mut st, &[uid.to_owned()], "removed by the owner");
        Ok(())
    }

    /// Carries out an owner command from `uid` in `role`; returns the reply to send.
    pub fn command(&self, role: Role, cmd: Command) -> Option<Notice> {
        if !role.may_administer() && !matches!(cmd, Command::Hello { .. }) {
            self.count_drop(Category::Settings);
            return Some(Notice::error(
                "not_owner",
                "only the owner can hand out roles and links",
            ));
        }
        let refused = |r: Refusal| Some(Notice::error(r.code, r.message));
        match cmd {
            Command::Hello { .. } => None,
            Command::SetRole { uid, role: to } => {
                self.set_role(role, &uid, &to).err().and_then(refused)
            }
            Command::Mint { role: r, ttl } => match self.mint(&r, ttl.map(Duration::from_secs)) {
                Ok(n) => Some(n),
                Err(r) => refused(r),
            },
            Command::Revoke { link } => {
                self.revoke(&link);
                None
            }
            Command::Rotate => {
                self.rotate();
                None
            }
            Command::Kick { uid } => self.kick(role, &uid).err().and_then(refused),
        }
    }

    /// The whole state as JSON for `GET /share/api/state`.
    pub fn state_json(&self) -> serde_json::Value {
        let st = lock(&self.state);
        serde_json::json!({
            "members": st.roster.members().map(MemberView::from).collect::<Vec<_>>(),
            "links": st.links,
            "max_viewers": st.roster.max_guests(),
            "dropped": selkies_proto::sharing::wire::DropView::from(st.drops),
            "refused_joins": st.refused_joins,
            "keyframes": self.fanout.keyframe_stats(),
            "streaming": self.fanout.streaming(),
        })
    }

    /// The host is going away: close every member.
    pub fn shutdown(&self) {
        let st = lock(&self.state);
        for tx in st.members.values() {
            let _ = tx.send(MemberEvent::Close {
                code: 1001,
                reason: "host shutting down".into(),
            });
        }
    }
}

fn remove(st: &mut State, uids: &[String], why: &str) {
    for uid in uids {
        if let Some(tx) = st.members.remove(uid) {
            let _ = tx.send(MemberEvent::Notice(Notice::error("removed", why).to_json()));
            let _ = tx.send(MemberEvent::Close {
                code: close::REMOVED,
                reason: why.to_owned(),
            });
        }
        st.roster.leave(uid);
    }
    if !uids.is_empty() {
        broadcast_roster(st);
    }
}

fn roster_notice(st: &State) -> Notice {
    Notice::Roster {
        members: st.roster.members().map(MemberView::from).collect(),
        max_viewers: st.roster.max_guests(),
        dropped: st.drops.into(),
    }
}

fn links_notice(st: &State) -> Notice {
    Notice::Links {
        links: st.links.clone(),
    }
}

fn broadcast_roster(st: &State) {
    let text = roster_notice(st).to_json();
    for tx in st.members.values() {
        let _ = tx.send(MemberEvent::Notice(text.clone()));
    }
}

/// Links go to owners only.
fn broadcast_links(st: &State) {
    let text = links_notice(st).to_json();
    for (uid, tx) in &st.members {
        if st.roster.get(uid).is_some_and(|m| m.role == Role::Owner) {
            let _ = tx.send(MemberEvent::Notice(text.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_of(n: Notice) -> (String, String) {
        match n {
            Notice::Link { id, token, .. } => (id, token),
            other => panic!("not a link: {other:?}"),
        }
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<MemberEvent>) -> Vec<MemberEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn links_admit_until_revoked_and_revocation_closes_their_members() {
        let s = Sharing::new(2, Some("k"));
        let (id, token) = token_of(s.mint("viewer", None).unwrap());
        let mut a = s.join_guest(&token, "a").unwrap();
        assert_eq!(a.role, Role::Viewer);
        let (_, other) = token_of(s.mint("player1", Some(Duration::from_secs(60))).unwrap());
        let b = s.join_guest(&other, "b").unwrap();
        let full = s.join_guest(&token, "c").err().unwrap();
        assert_eq!((full.code, full.close), ("full", close::FULL));
        assert_eq!(s.revoke(&id), 1);
        let events = drain(&mut a.events);
        assert!(events.iter().any(|e| matches!(
            e,
            MemberEvent::Close {
                code: close::REMOVED,
                ..
            }
        )));
        let refused = s.join_guest(&token, "again").err().unwrap();
        assert_eq!(refused.close, close::BAD_LINK);
        assert_eq!(refused.message, "share link revoked");
        assert_eq!(s.role_of(&b.uid), Some(Role::Player(1)));
        assert_eq!(s.rotate(), 1, "rotation closes the remaining guest");
        assert_eq!(
            s.join_guest(&other, "b").err().unwrap().code,
            "bad_link",
            "old links die with the secret"
        );
    }

    #[test]
    fn only_the_owner_administers_and_roles_change_live() {
        let s = Sharing::new(4, Some("k"));
        let (_, token) = token_of(s.mint("viewer", None).unwrap());
        let mut g = s.join_guest(&token, "g").unwrap();
        let reply = s.command(Role::Viewer, Command::Rotate);
        assert!(matches!(reply, Some(Notice::Error { ref code, .. }) if code == "not_owner"));
        assert_eq!(s.drops().settings, 1);
        assert!(s.mint("owner", None).is_err());
        assert!(s.mint("root", None).is_err());
        let set = Command::SetRole {
            uid: g.uid.clone(),
            role: "controller".into(),
        };
        assert_eq!(s.command(Role::Owner, set), None);
        assert_eq!(s.role_of(&g.uid), Some(Role::Controller));
        assert!(
            drain(&mut g.events)
                .iter()
                .any(|e| matches!(e, MemberEvent::Role(Role::Controller)))
        );
        s.leave(&g.uid);
        assert_eq!(s.role_of(&g.uid), None);
    }

    #[test]
    fn forged_tokens_are_counted_as_refused_joins() {
        let s = Sharing::new(4, None);
        for t in ["", "x.y", "djE6YTp2aWV3ZXI6OTk5OTk5OTk5OQ.AAAA"] {
            assert_eq!(s.join_guest(t, "").err().unwrap().close, close::BAD_LINK);
        }
        assert_eq!(s.state_json()["refused_joins"], 3);
    }
}
