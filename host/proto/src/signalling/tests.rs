//! Signalling state-machine tests with the §3 grammar and §12 vectors.

use super::*;

const META_B64: &str = "eyJyZXMiOiIxOTIweDEwODAiLCJzY2FsZSI6MX0=";
const META_PY_B64: &str = "eyJyZXMiOiAiMTkyMHgxMDgwIiwgInNjYWxlIjogMX0=";

fn send(to: ConnId, text: &str) -> Action {
    Action::Send {
        to,
        text: text.into(),
    }
}

fn close(conn: ConnId, code: u16, reason: &str) -> Action {
    Action::Close {
        conn,
        code,
        reason: reason.into(),
    }
}

#[test]
fn hello_and_external_host_session_with_reference_meta() {
    let mut hub = Hub::new();
    assert_eq!(hub.on_message(10, "HELLO 0"), [send(10, "HELLO")]);
    // §12: browser absent.
    assert_eq!(
        hub.on_message(10, "SESSION 1"),
        [send(10, "ERROR peer '1' not found")]
    );
    assert_eq!(
        hub.on_message(11, &format!("HELLO 1 {META_B64}")),
        [send(11, "HELLO")]
    );
    // §12: meta re-serialised with Python separators. No auto-session: 0 is not local.
    assert_eq!(
        hub.on_message(10, "SESSION 1"),
        [send(10, &format!("SESSION_OK {META_PY_B64}"))]
    );
    assert_eq!(hub.partner_of("0"), Some(11));
    assert_eq!(hub.partner_of("1"), Some(10));
}

#[test]
fn session_ok_without_meta_has_trailing_space() {
    let mut hub = Hub::new();
    hub.on_message(1, "HELLO a");
    hub.on_message(2, "HELLO b");
    assert_eq!(hub.on_message(1, "SESSION b"), [send(1, "SESSION_OK ")]);
}

#[test]
fn bad_hello_and_duplicate_uid() {
    let mut hub = Hub::new();
    assert_eq!(
        hub.on_message(1, "HI 1"),
        [close(1, 1002, "invalid protocol")]
    );
    // Late frames from a connection being closed are dropped.
    assert_eq!(hub.on_message(1, "HELLO 1"), []);
    assert_eq!(hub.on_disconnect(1), []);
    assert_eq!(
        hub.on_message(2, "HELLO"),
        [close(2, 1002, "invalid peer uid")]
    );
    assert_eq!(
        hub.on_message(3, "HELLO 1 !!!"),
        [close(3, 1002, "invalid meta")]
    );
    // Valid base64 ("not json") that is not JSON.
    assert_eq!(
        hub.on_message(4, "HELLO 1 bm90IGpzb24="),
        [close(4, 1002, "invalid meta")]
    );
    assert_eq!(hub.on_message(5, ""), [close(5, 1002, "invalid protocol")]);
    assert_eq!(hub.on_message(6, "HELLO 1"), [send(6, "HELLO")]);
    assert_eq!(
        hub.on_message(7, "HELLO 1"),
        [close(7, 1002, "invalid peer uid")]
    );
    assert_eq!(hub.uid_of(6), Some("1"));
    assert_eq!(hub.uid_of(7), None);
}

#[test]
fn busy_relay_and_ignored_frames() {
    let mut hub = Hub::new();
    for (c, uid) in [(1, "a"), (2, "b"), (3, "c")] {
        hub.on_message(c, &format!("HELLO {uid}"));
    }
    // Frames other than SESSION/ROOM before a session are ignored.
    assert_eq!(hub.on_message(1, "{\"sdp\": {}}"), []);
    assert_eq!(
        hub.on_message(1, "SESSION a"),
        [send(1, "ERROR peer 'a' busy")]
    );
    assert_eq!(hub.on_message(1, "SESSION b"), [send(1, "SESSION_OK ")]);
    assert_eq!(
        hub.on_message(3, "SESSION b"),
        [send(3, "ERROR peer 'b' busy")]
    );
    // Verbatim relay both ways, including text that looks like a command.
    let offer = r#"{"sdp": {"type": "offer", "sdp": "v=0\r\n"}}"#;
    assert_eq!(hub.on_message(1, offer), [send(2, offer)]);
    assert_eq!(hub.on_message(2, "SESSION c"), [send(1, "SESSION c")]);
    assert_eq!(
        hub.on_message(3, "SESSION"),
        [close(3, 1002, "invalid protocol")]
    );
}

#[test]
fn disconnect_closes_remote_partner() {
    let mut hub = Hub::new();
    hub.on_message(1, "HELLO 0");
    hub.on_message(2, "HELLO 1");
    hub.on_message(1, "SESSION 1");
    assert_eq!(hub.on_disconnect(2), [close(1, 1000, "")]);
    // The closed partner is unregistered at once, so its uid is free again.
    assert_eq!(hub.uid_of(1), None);
    assert_eq!(hub.on_message(1, "late"), []);
    assert_eq!(hub.on_disconnect(1), []);
    assert_eq!(hub.on_message(3, "HELLO 0"), [send(3, "HELLO")]);
}

#[test]
fn local_peer_auto_session_and_cascade() {
    let mut hub = Hub::new();
    assert_eq!(hub.register_local(100, "0"), []);
    assert_eq!(hub.register_local(102, "2"), []);
    assert_eq!(
        hub.register_local(103, "0"),
        [close(103, 1002, "invalid peer uid")]
    );
    assert_eq!(
        hub.on_message(1, &format!("HELLO 1 {META_B64}")),
        [
            send(1, "HELLO"),
            send(100, &format!("SESSION_OK {META_PY_B64}"))
        ]
    );
    assert_eq!(
        hub.on_message(3, "HELLO 3"),
        [send(3, "HELLO"), send(102, "SESSION_OK ")]
    );
    assert_eq!(
        hub.on_message(100, "{\"ice\": {}}"),
        [send(1, "{\"ice\": {}}")]
    );
    assert_eq!(
        hub.on_message(1, "{\"sdp\": {}}"),
        [send(100, "{\"sdp\": {}}")]
    );
    // Browser leaves: the local peer's pipeline ends, it stays registered and idle.
    assert_eq!(
        hub.on_disconnect(1),
        [Action::SessionEnded {
            conn: 100,
            peer_uid: "1".into()
        }]
    );
    assert_eq!(hub.uid_of(100), Some("0"));
    assert_eq!(hub.partner_of("0"), None);
    // Browser returns: paired again immediately.
    assert_eq!(
        hub.on_message(4, "HELLO 1"),
        [send(4, "HELLO"), send(100, "SESSION_OK ")]
    );
    // The host tears down its local peer: the browser socket is closed.
    assert_eq!(hub.on_disconnect(100), [close(4, 1000, "")]);
}

#[test]
fn local_peer_registering_after_browser_starts_session() {
    let mut hub = Hub::new();
    hub.on_message(1, "HELLO 1");
    assert_eq!(hub.register_local(100, "0"), [send(100, "SESSION_OK ")]);
    // A browser uid without a local partner is not auto-paired.
    let mut hub = Hub::new();
    hub.on_message(1, "HELLO 1");
    assert_eq!(hub.on_message(2, "HELLO 0"), [send(2, "HELLO")]);
}

#[test]
fn legacy_host_can_still_send_session_to_a_local_hub() {
    // A legacy host connected over the socket as "0" while the in-process peers are absent.
    let mut hub = Hub::new();
    hub.on_message(5, "HELLO 0");
    hub.on_message(6, "HELLO 1");
    assert_eq!(hub.on_message(5, "SESSION 1"), [send(5, "SESSION_OK ")]);
}

#[test]
fn rooms() {
    let mut hub = Hub::new();
    for (c, uid) in [(1, "a"), (2, "b"), (3, "c")] {
        hub.on_message(c, &format!("HELLO {uid}"));
    }
    assert_eq!(hub.on_message(1, "ROOM r1"), [send(1, "ROOM_OK ")]);
    assert_eq!(
        hub.on_message(2, "ROOM r1"),
        [send(2, "ROOM_OK a"), send(1, "ROOM_PEER_JOINED b")]
    );
    assert_eq!(
        hub.on_message(3, "ROOM session"),
        [send(3, "ERROR invalid room id 'session'")]
    );
    assert_eq!(
        hub.on_message(1, "ROOM_PEER_MSG b hello there"),
        [send(2, "ROOM_PEER_MSG a hello there")]
    );
    assert_eq!(
        hub.on_message(1, "ROOM_PEER_MSG c hi"),
        [send(1, "ERROR peer 'c' is not in the room")]
    );
    assert_eq!(
        hub.on_message(1, "ROOM_PEER_MSG zz hi"),
        [send(1, "ERROR peer 'zz' not found")]
    );
    assert_eq!(
        hub.on_message(1, "ROOM_PEER_LIST"),
        [send(1, "ROOM_PEER_LIST b")]
    );
    assert_eq!(
        hub.on_message(1, "SESSION c"),
        [send(1, "ERROR invalid msg, already in room")]
    );
    assert_eq!(
        hub.on_message(3, "SESSION a"),
        [send(3, "ERROR peer 'a' busy")]
    );
    assert_eq!(hub.on_disconnect(1), [send(2, "ROOM_PEER_LEFT a")]);
    assert_eq!(hub.on_disconnect(2), []);
}

#[test]
fn random_frames_never_panic() {
    let words = [
        "HELLO",
        "SESSION",
        "ROOM",
        "ROOM_PEER_MSG",
        "ROOM_PEER_LIST",
        "0",
        "1",
        "2",
        "3",
        "x",
        META_B64,
        "!!",
        " ",
        "\t",
        "é",
        "",
    ];
    let mut hub = Hub::new();
    hub.register_local(1000, "0");
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let conn = next() % 6;
        if next() % 10 == 0 {
            hub.on_disconnect(conn);
            continue;
        }
        let n = next() % 4;
        let text: Vec<&str> = (0..n)
            .map(|_| words[(next() % words.len() as u64) as usize])
            .collect();
        for action in hub.on_message(conn, &text.join(" ")) {
            if let Action::Send { to, .. } = action {
                assert!(to == 1000 || to < 6, "message to unknown conn {to}");
            }
        }
    }
}
