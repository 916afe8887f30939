//! Signalling state-machine tests with the docs/protocol.md §3 grammar and §12 vectors.

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
        [
            send(
                7,
                "ERROR peer '1' busy: another client is connected; only one viewer at a time"
            ),
            close(7, 1002, "invalid peer uid")
        ]
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
    let steps = [
        (1, "ROOM r1", vec![send(1, "ROOM_OK ")]),
        (
            2,
            "ROOM r1",
            vec![send(2, "ROOM_OK a"), send(1, "ROOM_PEER_JOINED b")],
        ),
        (
            3,
            "ROOM session",
            vec![send(3, "ERROR invalid room id 'session'")],
        ),
        (
            1,
            "ROOM_PEER_MSG b hello there",
            vec![send(2, "ROOM_PEER_MSG a hello there")],
        ),
        (
            1,
            "ROOM_PEER_MSG c hi",
            vec![send(1, "ERROR peer 'c' is not in the room")],
        ),
        (
            1,
            "ROOM_PEER_MSG zz hi",
            vec![send(1, "ERROR peer 'zz' not found")],
        ),
        (1, "ROOM_PEER_LIST", vec![send(1, "ROOM_PEER_LIST b")]),
        (
            1,
            "SESSION c",
            vec![send(1, "ERROR invalid msg, already in room")],
        ),
        (3, "SESSION a", vec![send(3, "ERROR peer 'a' busy")]),
    ];
    for (conn, text, want) in steps {
        assert_eq!(hub.on_message(conn, text), want, "{text}");
    }
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

fn hello_with_token(res: &str, token: Option<&str>) -> String {
    let mut meta = serde_json::json!({ "res": res, "scale": 1 });
    if let Some(t) = token {
        meta["token"] = t.into();
    }
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, meta.to_string());
    format!("HELLO 1 {b64}")
}

const TOKEN_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";

#[test]
fn second_claimant_is_refused_while_a_session_is_live() {
    let mut hub = Hub::new();
    hub.register_local(100, "0");
    hub.on_message(1, &hello_with_token("1920x1080", Some(TOKEN_A)));
    assert_eq!(hub.partner_of("0"), Some(1));
    // Any other uid asking for the host's peer: refused, the viewer keeps it.
    assert_eq!(hub.on_message(5, "HELLO 5"), [send(5, "HELLO")]);
    assert_eq!(
        hub.on_message(5, "SESSION 0"),
        [send(5, "ERROR peer '0' busy")]
    );
    // Another client as "1", without a token or with another token: refused with a reason.
    for (conn, token) in [(6, None), (7, Some(TOKEN_B))] {
        let actions = hub.on_message(conn, &hello_with_token("800x600", token));
        assert!(
            matches!(&actions[..], [Action::Send { text, .. }, Action::Close { code: 1002, .. }]
                if text.starts_with("ERROR peer '1' busy")),
            "{actions:?}"
        );
    }
    assert_eq!(hub.partner_of("0"), Some(1));
}

#[test]
fn same_client_token_takes_over_and_token_is_not_forwarded() {
    let mut hub = Hub::new();
    hub.register_local(100, "0");
    hub.on_message(1, &hello_with_token("1920x1080", Some(TOKEN_A)));
    // A new tab (or a reload while the old socket is not yet known dead) of the same browser.
    let actions = hub.on_message(2, &hello_with_token("800x600", Some(TOKEN_A)));
    let meta = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        r#"{"res": "800x600", "scale": 1}"#,
    );
    assert_eq!(
        actions,
        [
            Action::Close {
                conn: 1,
                code: CLOSE_TAKEN_OVER,
                reason: "taken over by a newer connection of the same client".into()
            },
            Action::SessionEnded {
                conn: 100,
                peer_uid: "1".into()
            },
            send(2, "HELLO"),
            send(100, &format!("SESSION_OK {meta}")),
        ]
    );
    // The old socket's late frames and its close change nothing.
    assert_eq!(hub.on_message(1, "{\"sdp\": {}}"), []);
    assert_eq!(hub.on_disconnect(1), []);
    assert_eq!(hub.partner_of("0"), Some(2));
}

#[test]
fn malformed_token_counts_as_none() {
    let mut hub = Hub::new();
    hub.register_local(100, "0");
    hub.on_message(1, &hello_with_token("8x8", Some("short")));
    let actions = hub.on_message(2, &hello_with_token("8x8", Some("short")));
    assert!(matches!(
        actions.last(),
        Some(Action::Close { code: 1002, .. })
    ));
}

#[test]
fn viewer_is_told_when_the_host_peer_is_held_by_another_uid() {
    let mut hub = Hub::new();
    hub.register_local(100, "0");
    hub.on_message(5, "HELLO 5");
    hub.on_message(5, "SESSION 0");
    let actions = hub.on_message(1, "HELLO 1");
    assert_eq!(
        actions,
        [
            send(1, "HELLO"),
            send(1, "ERROR peer '0' busy: another client holds the session")
        ]
    );
}

#[test]
fn the_browser_holding_the_video_peer_and_its_token_are_known() {
    let mut hub = Hub::new();
    hub.register_local(100, "0");
    assert_eq!(hub.remote_holder_token("1"), None);
    assert_eq!(
        hub.remote_holder_token("0"),
        None,
        "a host peer is not a browser"
    );
    use base64::Engine;
    let meta = base64::engine::general_purpose::STANDARD
        .encode(r#"{"res":"1920x1080","token":"0123456789abcdef0123"}"#);
    hub.on_message(1, &format!("HELLO 1 {meta}"));
    assert_eq!(
        hub.remote_holder_token("1"),
        Some(Some("0123456789abcdef0123"))
    );
    hub.on_disconnect(1);
    assert_eq!(hub.remote_holder_token("1"), None);
    hub.on_message(2, "HELLO 1");
    assert_eq!(hub.remote_holder_token("1"), Some(None));
}

fn hello_as(uid: &str, token: &str) -> String {
    use base64::Engine;
    let meta = base64::engine::general_purpose::STANDARD
        .encode(format!(r#"{{"res":"1920x1080","token":"{token}"}}"#));
    format!("HELLO {uid} {meta}")
}

#[test]
fn a_hello_is_read_for_its_uid_and_token_without_registering() {
    let token = "0123456789abcdef0123";
    assert_eq!(
        hello_claim(&hello_as("1", token)),
        Some(("1".to_owned(), Some(token.to_owned())))
    );
    assert_eq!(hello_claim("HELLO 3"), Some(("3".to_owned(), None)));
    assert_eq!(
        hello_claim("HELLO 1 not-base64!"),
        Some(("1".to_owned(), None))
    );
    assert_eq!(hello_claim("HELLO"), None);
    assert_eq!(hello_claim("SESSION 1"), None);
    assert_eq!(hello_claim(&hello_as("1", "short")).unwrap().1, None);
}

#[test]
fn a_stream_takes_over_only_the_same_browsers_webrtc_session() {
    let a = "0123456789abcdef0123";
    let b = "fedcba9876543210fedc";
    let mut hub = Hub::new();
    hub.register_local(100, "0");
    hub.register_local(102, "2");
    assert_eq!(
        hub.yield_to_stream(Some(a)),
        Some(vec![]),
        "nobody holds it"
    );
    hub.on_message(1, &hello_as("1", a));
    hub.on_message(3, &hello_as("3", a));
    assert_eq!(hub.yield_to_stream(Some(b)), None, "another browser");
    assert_eq!(hub.yield_to_stream(None), None, "no token, no takeover");
    assert_eq!(
        hub.remote_holder_token("1"),
        Some(Some(a)),
        "refusal changes nothing"
    );
    let actions = hub.yield_to_stream(Some(a)).expect("the same browser");
    for conn in [1, 3] {
        assert!(
            actions.contains(&close(
                conn,
                CLOSE_TAKEN_OVER,
                "taken over by a newer connection of the same client"
            )),
            "{actions:?}"
        );
    }
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::SessionEnded { conn: 100, .. })),
        "the host's video peer ends its session: {actions:?}"
    );
    assert_eq!(hub.remote_holder_token("1"), None);
    assert_eq!(hub.remote_holder_token("3"), None);
    // The closed sockets' late frames are dropped.
    assert_eq!(hub.on_message(1, "{}"), vec![]);
}
