//! Which data-channel messages each role may send. Everything a guest sends is parsed first
//! (`crate::protocol`), then passed, rewritten (a player's pad moves to its slot) or dropped;
//! drops of input, clipboard, settings and gamepad messages are counted per category so the
//! host can report them (`/metrics`). Telemetry a guest sends (`_f`, `_l`, `_stats_*`) is
//! ignored without counting: it would overwrite the owner's figures; what only concerns the
//! guest's own connection (`pong`, `_stages`) passes.

use crate::gamepad::GamepadMessage;
use crate::protocol::ClientMessage;

use super::Role;

/// The kinds of message a role may be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Input,
    Clipboard,
    Settings,
    Gamepad,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Input,
        Category::Clipboard,
        Category::Settings,
        Category::Gamepad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Input => "input",
            Category::Clipboard => "clipboard",
            Category::Settings => "settings",
            Category::Gamepad => "gamepad",
        }
    }
}

/// What to do with one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Act on it (possibly rewritten).
    Pass(ClientMessage),
    /// Refused: count it under this category.
    Drop(Category),
    /// Not acted on and not a violation (guest telemetry).
    Ignore,
}

/// Drops per category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounters {
    pub input: u64,
    pub clipboard: u64,
    pub settings: u64,
    pub gamepad: u64,
}

impl DropCounters {
    pub fn count(&mut self, c: Category) {
        let n = match c {
            Category::Input => &mut self.input,
            Category::Clipboard => &mut self.clipboard,
            Category::Settings => &mut self.settings,
            Category::Gamepad => &mut self.gamepad,
        };
        *n = n.saturating_add(1);
    }

    pub fn get(&self, c: Category) -> u64 {
        match c {
            Category::Input => self.input,
            Category::Clipboard => self.clipboard,
            Category::Settings => self.settings,
            Category::Gamepad => self.gamepad,
        }
    }

    pub fn total(&self) -> u64 {
        Category::ALL.iter().map(|c| self.get(*c)).sum()
    }
}

fn category(msg: &ClientMessage) -> Option<Category> {
    use ClientMessage as M;
    Some(match msg {
        M::KeyDown { .. }
        | M::KeyUp { .. }
        | M::KeyReset
        | M::MouseAbsolute(_)
        | M::MouseRelative(_) => Category::Input,
        M::ClipboardRead
        | M::ClipboardWrite(_)
        | M::ClipboardPart { .. }
        | M::ClipboardImageOptIn
        | M::ClipboardImagePart { .. } => Category::Clipboard,
        M::PointerVisible(_)
        | M::VideoBitrate { .. }
        | M::AudioBitrate { .. }
        | M::Framerate { .. }
        | M::SetResize { .. }
        | M::Resize(_)
        | M::Scale(_) => Category::Settings,
        M::Gamepad(_) => Category::Gamepad,
        M::Pong { .. }
        | M::StageReports(_)
        | M::ClientFps(_)
        | M::ClientLatency(_)
        | M::StatsVideo(_)
        | M::StatsAudio(_) => {
            return None;
        }
    })
}

fn pad_index(msg: &GamepadMessage) -> u8 {
    match msg {
        GamepadMessage::Connect { index, .. }
        | GamepadMessage::Disconnect { index }
        | GamepadMessage::Button { index, .. }
        | GamepadMessage::Axis { index, .. } => *index,
    }
}

fn with_pad_index(mut msg: GamepadMessage, slot: u8) -> GamepadMessage {
    match &mut msg {
        GamepadMessage::Connect { index, .. }
        | GamepadMessage::Disconnect { index }
        | GamepadMessage::Button { index, .. }
        | GamepadMessage::Axis { index, .. } => *index = slot,
    }
    msg
}

/// The verdict on `msg` from a member in `role`. A player's browser pad 0 (its first pad)
/// becomes host pad `N`; its other pads are dropped, so one guest never drives two slots.
pub fn filter(role: Role, msg: ClientMessage) -> Verdict {
    let Some(cat) = category(&msg) else {
        return match msg {
            // Per connection: the guest's own ping and its own stage reports.
            ClientMessage::Pong { .. } | ClientMessage::StageReports(_) => Verdict::Pass(msg),
            _ if role == Role::Owner => Verdict::Pass(msg),
            _ => Verdict::Ignore,
        };
    };
    let allowed = match cat {
        Category::Input => role.may_type(),
        Category::Clipboard => role.may_use_clipboard(),
        Category::Settings => role.may_change_settings(),
        Category::Gamepad => matches!(role, Role::Owner | Role::Player(_)),
    };
    if !allowed {
        return Verdict::Drop(cat);
    }
    match (role, msg) {
        (Role::Player(slot), ClientMessage::Gamepad(pad)) => {
            if pad_index(&pad) == 0 {
                Verdict::Pass(ClientMessage::Gamepad(with_pad_index(pad, slot)))
            } else {
                Verdict::Drop(Category::Gamepad)
            }
        }
        (_, msg) => Verdict::Pass(msg),
    }
}

/// Whether a host → browser data-channel message the owner receives goes to a member in `role`
/// too: cursor shapes to everyone who sees the desktop, the host's clipboard text to those who may
/// use the clipboard. Statistics, pings and clipboard images stay the owner's (docs/sharing.md).
pub fn forwards_host_message(role: Role, text: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    match v.get("type").and_then(serde_json::Value::as_str) {
        Some("cursor") => true,
        Some("clipboard" | "clipboard_part") => role.may_use_clipboard(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_client_message;

    fn verdict(role: Role, text: &str) -> Verdict {
        filter(role, parse_client_message(text).unwrap())
    }

    /// Each row: a message, then the verdict for owner, controller, viewer, player1.
    /// P = pass unchanged, D = dropped, I = ignored, R = passed rewritten to pad 1.
    const TABLE: &[(&str, [char; 4])] = &[
        ("kd,97", ['P', 'P', 'D', 'D']),
        ("ku,97", ['P', 'P', 'D', 'D']),
        ("kr", ['P', 'P', 'D', 'D']),
        ("m,10,20,1,0", ['P', 'P', 'D', 'D']),
        ("m2,1,-1,0,0", ['P', 'P', 'D', 'D']),
        ("cr", ['P', 'P', 'D', 'D']),
        ("cw,aGk=", ['P', 'P', 'D', 'D']),
        ("vb,4000", ['P', 'D', 'D', 'D']),
        ("ab,64000", ['P', 'D', 'D', 'D']),
        ("_arg_fps,30", ['P', 'D', 'D', 'D']),
        ("r,1280x720", ['P', 'D', 'D', 'D']),
        ("s,1.5", ['P', 'D', 'D', 'D']),
        ("p,1", ['P', 'D', 'D', 'D']),
        ("js,b,0,1,1", ['P', 'D', 'D', 'R']),
        ("js,a,0,0,-1", ['P', 'D', 'D', 'R']),
        ("js,b,2,1,1", ['P', 'D', 'D', 'D']),
        ("pong,1700000000.5", ['P', 'P', 'P', 'P']),
        ("_stages,1", ['P', 'P', 'P', 'P']),
        ("_f,60", ['P', 'I', 'I', 'I']),
        ("_l,12", ['P', 'I', 'I', 'I']),
    ];

    #[test]
    fn verdict_table() {
        let roles = [Role::Owner, Role::Controller, Role::Viewer, Role::Player(1)];
        for (text, expected) in TABLE {
            for (role, want) in roles.iter().zip(expected) {
                let msg = parse_client_message(text).unwrap();
                let got = filter(*role, msg.clone());
                let ok = match (want, &got) {
                    ('P', Verdict::Pass(m)) => *m == msg,
                    ('D', Verdict::Drop(_)) | ('I', Verdict::Ignore) => true,
                    ('R', Verdict::Pass(ClientMessage::Gamepad(pad))) => pad_index(pad) == 1,
                    _ => false,
                };
                assert!(ok, "{text} as {role}: expected {want}, got {got:?}");
            }
        }
    }

    #[test]
    fn drops_are_counted_by_category() {
        let mut c = DropCounters::default();
        for text in ["kd,97", "m,1,1,0,0", "cw,aGk=", "vb,100", "js,b,0,1,1"] {
            if let Verdict::Drop(cat) = verdict(Role::Viewer, text) {
                c.count(cat);
            }
        }
        assert_eq!(
            c,
            DropCounters {
                input: 2,
                clipboard: 1,
                settings: 1,
                gamepad: 1
            }
        );
        assert_eq!(c.total(), 5);
    }

    #[test]
    fn a_player_connect_names_its_slot() {
        let Verdict::Pass(ClientMessage::Gamepad(GamepadMessage::Connect { index, .. })) =
            verdict(Role::Player(3), "js,c,0,UGFk,4,16")
        else {
            panic!("connect refused");
        };
        assert_eq!(index, 3);
    }

    #[test]
    fn host_messages_reach_members_by_role() {
        let cursor = r#"{"type": "cursor", "data": {"curdata": "", "handle": 1}}"#;
        let clip = r#"{"type": "clipboard", "data": {"content": "aGk="}}"#;
        let part =
            r#"{"type": "clipboard_part", "data": {"index": 0, "count": 2, "content": "aA=="}}"#;
        let stats = r#"{"type": "system_stats", "data": {}}"#;
        let image =
            r#"{"type": "clipboard_image", "data": {"index": 0, "count": 1, "content": ""}}"#;
        for role in [Role::Controller, Role::Viewer, Role::Player(1)] {
            assert!(forwards_host_message(role, cursor), "{role}: cursor");
            assert!(!forwards_host_message(role, stats), "{role}: stats");
            assert!(!forwards_host_message(role, image), "{role}: image");
        }
        assert!(forwards_host_message(Role::Controller, clip));
        assert!(forwards_host_message(Role::Controller, part));
        assert!(!forwards_host_message(Role::Viewer, clip));
        assert!(!forwards_host_message(Role::Player(1), part));
        assert!(!forwards_host_message(Role::Controller, "not json"));
        assert!(!forwards_host_message(Role::Controller, r#"{"type": 7}"#));
    }
}
