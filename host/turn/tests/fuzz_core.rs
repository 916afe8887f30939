//! Fuzz-style tests of the sans-IO core and the stream framing: random and mutated messages,
//! oversized attributes, wrong and expired credentials, and a thousand allocations from one
//! client must give errors or silence, never a panic, and the table must stay within its bounds.
//! Deterministic (a fixed-seed xorshift) so a failure reproduces.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use proptest::prelude::{Rng as _, RngExt as _};
use proptest::test_runner::{RngAlgorithm, TestRng};
use selkies_turn::framing::{MAX_FRAME, frame_len};
use selkies_turn::{ClientKey, Limits, Now, Output, RestAuth, Server, ServerConfig, Transport};
use turn_types::attribute::{ChannelNumber, Lifetime, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH};
use turn_types::stun::attribute::{ErrorCode, Nonce, Realm, Username};
use turn_types::stun::message::{
    IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageIntegrityCredentials, MessageWrite,
    MessageWriteExt, MessageWriteVec, Method, TransactionId,
};

const SECRET: &[u8] = b"fuzz";
const REALM: &str = "selkies";

fn now() -> Now {
    Now {
        mono: Instant::now(),
        unix: 1_700_000_000,
    }
}

fn key(port: u16) -> ClientKey {
    ClientKey {
        transport: Transport::Udp,
        client: SocketAddr::from(([127, 0, 0, 9], port)),
        server: SocketAddr::from(([127, 0, 0, 1], 3478)),
    }
}

fn server(limits: Limits) -> Server {
    Server::new(ServerConfig {
        auth: RestAuth::new(SECRET.to_vec(), REALM),
        limits,
        allowed_peers: vec![IpAddr::from([127, 0, 0, 1])],
    })
}

fn request(
    method: Method,
    username: &str,
    password: &str,
    nonce: &str,
    attrs: impl FnOnce(&mut MessageWriteVec, TransactionId),
) -> Vec<u8> {
    let mut msg = Message::builder_request(method, MessageWriteVec::new());
    let txn = msg.transaction_id();
    attrs(&mut msg, txn);
    msg.add_attribute(&Username::new(username).unwrap())
        .unwrap();
    msg.add_attribute(&Realm::new(REALM).unwrap()).unwrap();
    msg.add_attribute(&Nonce::new(nonce).unwrap()).unwrap();
    let creds: MessageIntegrityCredentials =
        LongTermKeyCredentials::new(username.into(), password.into(), REALM.into()).into();
    msg.add_message_integrity(&creds, IntegrityAlgorithm::Sha1)
        .unwrap();
    msg.add_fingerprint().unwrap();
    msg.finish()
}

fn reply_code(out: &[Output]) -> Option<u16> {
    out.iter().find_map(|o| match o {
        Output::ToClient(b) => Message::from_bytes(b)
            .ok()?
            .attribute::<ErrorCode>()
            .ok()
            .map(|e| e.code()),
        _ => None,
    })
}

/// The server's nonce, learnt from a 401 like a browser learns it.
fn learn_nonce(s: &mut Server) -> String {
    let msg = Message::builder_request(ALLOCATE, MessageWriteVec::new()).finish();
    let out = s.handle_client(key(1), &msg, now(), &mut |_| None);
    let Some(Output::ToClient(b)) = out.first() else {
        panic!("no challenge")
    };
    Message::from_bytes(b)
        .unwrap()
        .attribute::<Nonce>()
        .unwrap()
        .nonce()
        .to_owned()
}

/// Valid messages of every kind the server handles, to mutate.
fn corpus(s: &mut Server) -> Vec<Vec<u8>> {
    let creds = RestAuth::new(SECRET.to_vec(), REALM).mint("fuzz", now().unix, 600);
    let nonce = learn_nonce(s);
    let (u, p) = (creds.username.as_str(), creds.password.as_str());
    let peer = SocketAddr::from(([127, 0, 0, 1], 5000));
    vec![
        request(ALLOCATE, u, p, &nonce, |m, _| {
            m.add_attribute(&RequestedTransport::new(17)).unwrap();
        }),
        request(REFRESH, u, p, &nonce, |m, _| {
            m.add_attribute(&Lifetime::new(60)).unwrap();
        }),
        request(CREATE_PERMISSION, u, p, &nonce, |m, t| {
            m.add_attribute(&XorPeerAddress::new(peer, t)).unwrap();
        }),
        request(CHANNEL_BIND, u, p, &nonce, |m, t| {
            m.add_attribute(&ChannelNumber::new(0x4000)).unwrap();
            m.add_attribute(&XorPeerAddress::new(peer, t)).unwrap();
        }),
        vec![0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4],
    ]
}

#[test]
fn mutated_and_random_messages_never_panic() {
    let mut s = server(Limits::default());
    let corpus = corpus(&mut s);
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut relay_port = 20_000u16;
    for i in 0..20_000 {
        let mut msg = corpus[rng.random_range(0..corpus.len())].clone();
        match rng.random_range(0..4) {
            0 => {
                for _ in 0..=rng.random_range(0..8) {
                    let at = rng.random_range(0..msg.len());
                    msg[at] = rng.next_u64() as u8;
                }
            }
            1 => msg.truncate(rng.random_range(0..msg.len() + 1)),
            2 => msg.extend((0..rng.random_range(0..64)).map(|_| rng.next_u64() as u8)),
            _ => {
                msg = (0..rng.random_range(0..200))
                    .map(|_| rng.next_u64() as u8)
                    .collect()
            }
        }
        let k = key(1 + (i % 50) as u16);
        let _ = s.handle_client(k, &msg, now(), &mut |_| {
            relay_port = relay_port.wrapping_add(1);
            Some(SocketAddr::from(([127, 0, 0, 1], relay_port)))
        });
        let _ = s.handle_peer(
            SocketAddr::from(([127, 0, 0, 1], relay_port)),
            SocketAddr::from(([127, 0, 0, 1], 5000)),
            &msg,
            now(),
        );
        assert!(s.table().len() <= Limits::default().max_allocations);
    }
}

#[test]
fn oversized_attributes_are_rejected_without_panic() {
    let mut s = server(Limits::default());
    let _ = learn_nonce(&mut s);
    // A USERNAME attribute claiming 4000 bytes in a message whose header says otherwise, and
    // one that is really that long: neither parses into an allocation.
    let mut msg = Message::builder_request(ALLOCATE, MessageWriteVec::new()).finish();
    msg.extend_from_slice(&[0x00, 0x06, 0x0F, 0xA0]);
    msg.extend(std::iter::repeat_n(b'a', 4000));
    let len = (msg.len() - 20) as u16;
    msg[2..4].copy_from_slice(&len.to_be_bytes());
    let out = s.handle_client(key(7), &msg, now(), &mut |_| panic!("must not allocate"));
    assert!(out.is_empty() || reply_code(&out).is_some());
    msg[2..4].copy_from_slice(&0xFFFCu16.to_be_bytes());
    assert!(
        s.handle_client(key(7), &msg, now(), &mut |_| None)
            .is_empty()
    );
    // A 64 KiB ChannelData frame with a lying length goes nowhere.
    let mut cd = vec![0x40, 0x00, 0xFF, 0xFF];
    cd.extend(std::iter::repeat_n(0u8, 100));
    assert!(
        s.handle_client(key(7), &cd, now(), &mut |_| None)
            .is_empty()
    );
    assert!(s.table().is_empty());
}

#[test]
fn wrong_and_expired_credentials_never_allocate() {
    let mut s = server(Limits::default());
    let nonce = learn_nonce(&mut s);
    let auth = RestAuth::new(SECRET.to_vec(), REALM);
    let good = auth.mint("u", now().unix, 600);
    let expired = auth.mint("u", now().unix - 601, 600);
    let other_secret = RestAuth::new(b"other".to_vec(), REALM).mint("u", now().unix, 600);
    let cases = [
        (good.username.clone(), "wrong".to_owned()),
        (expired.username, expired.password),
        (other_secret.username, other_secret.password),
        ("no-expiry".to_owned(), good.password.clone()),
        (format!("{}:u", u64::MAX), good.password),
    ];
    for (user, pass) in cases {
        let msg = request(ALLOCATE, &user, &pass, &nonce, |m, _| {
            m.add_attribute(&RequestedTransport::new(17)).unwrap();
        });
        let out = s.handle_client(key(3), &msg, now(), &mut |_| panic!("{user} allocated"));
        assert_eq!(reply_code(&out), Some(401), "{user}");
    }
    assert!(s.table().is_empty());
}

#[test]
fn thousand_allocations_from_one_client_hit_the_quota() {
    let limits = Limits::default();
    let mut s = server(limits.clone());
    let nonce = learn_nonce(&mut s);
    let creds = RestAuth::new(SECRET.to_vec(), REALM).mint("greedy", now().unix, 600);
    let mut bound = 0usize;
    let mut refused = 0usize;
    for port in 0..1000u16 {
        let msg = request(
            ALLOCATE,
            &creds.username,
            &creds.password,
            &nonce,
            |m, _| {
                m.add_attribute(&RequestedTransport::new(17)).unwrap();
            },
        );
        let out = s.handle_client(key(10_000 + port), &msg, now(), &mut |_| {
            bound += 1;
            Some(SocketAddr::from(([127, 0, 0, 1], 30_000 + port)))
        });
        match reply_code(&out) {
            None => {}
            Some(486) => refused += 1,
            Some(code) => panic!("unexpected {code}"),
        }
    }
    let cap = limits
        .max_allocations_per_user
        .min(limits.max_allocations_per_client_ip);
    assert_eq!(s.table().len(), cap);
    assert_eq!(
        bound, cap,
        "a relay socket is bound only for granted allocations"
    );
    assert_eq!(refused, 1000 - cap);
}

#[test]
fn random_streams_frame_or_fail_never_overrun() {
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    for _ in 0..20_000 {
        let buf: Vec<u8> = (0..rng.random_range(0..300))
            .map(|_| rng.next_u64() as u8)
            .collect();
        if let Ok(Some(len)) = frame_len(&buf) {
            assert!(len <= buf.len() && (4..=MAX_FRAME).contains(&len));
        }
    }
}
