//! Unit tests of the sans-IO server: authentication, allocation, relaying, the allow-list.

use std::time::Duration;

use turn_types::stun::message::MessageType;

use super::*;

pub(crate) const REALM: &str = "selkies";
const SECRET: &[u8] = b"test-secret";

pub(crate) fn host_ip() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

fn key() -> ClientKey {
    ClientKey {
        transport: crate::state::Transport::Udp,
        client: SocketAddr::from(([127, 0, 0, 9], 40_000)),
        server: SocketAddr::from(([127, 0, 0, 1], 3478)),
    }
}

fn now() -> Now {
    Now {
        mono: Instant::now(),
        unix: 1_700_000_000,
    }
}

fn server() -> Server {
    Server::new(ServerConfig {
        auth: RestAuth::new(SECRET.to_vec(), REALM),
        limits: Limits::default(),
        allowed_peers: vec![host_ip()],
    })
}

/// A test TURN client: builds authenticated requests like a browser does.
pub(crate) struct Client {
    pub username: String,
    pub password: String,
    pub nonce: Option<String>,
}

impl Client {
    fn valid() -> Self {
        let creds = RestAuth::new(SECRET.to_vec(), REALM).mint("alice", now().unix, 3600);
        Self {
            username: creds.username,
            password: creds.password,
            nonce: None,
        }
    }

    pub(crate) fn request(
        &self,
        method: turn_types::stun::message::Method,
        attrs: impl FnOnce(&mut MessageWriteVec, TransactionId),
    ) -> Vec<u8> {
        let mut msg = Message::builder_request(method, MessageWriteVec::new());
        let txn = msg.transaction_id();
        attrs(&mut msg, txn);
        if let Some(nonce) = &self.nonce {
            msg.add_attribute(&Username::new(&self.username).unwrap())
                .unwrap();
            msg.add_attribute(&Realm::new(REALM).unwrap()).unwrap();
            msg.add_attribute(&Nonce::new(nonce).unwrap()).unwrap();
            let creds: MessageIntegrityCredentials = LongTermKeyCredentials::new(
                self.username.clone(),
                self.password.clone(),
                REALM.to_owned(),
            )
            .into();
            msg.add_message_integrity(&creds, IntegrityAlgorithm::Sha1)
                .unwrap();
        }
        msg.add_fingerprint().unwrap();
        msg.finish()
    }
}

fn no_bind(_: &ClientKey) -> Option<SocketAddr> {
    None
}

fn relay_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50_000))
}

fn reply(outputs: &[Output]) -> Message<'_> {
    let bytes = outputs
        .iter()
        .find_map(|o| match o {
            Output::ToClient(b) => Some(b),
            _ => None,
        })
        .expect("a reply to the client");
    Message::from_bytes(bytes).unwrap()
}

fn error_code(outputs: &[Output]) -> u16 {
    reply(outputs).attribute::<ErrorCode>().unwrap().code()
}

fn allocate_request(c: &Client) -> Vec<u8> {
    c.request(ALLOCATE, |m, _| {
        m.add_attribute(&RequestedTransport::new(UDP_PROTOCOL))
            .unwrap();
    })
}

/// Runs the 401 challenge and the authenticated Allocate; returns the client with its nonce.
fn allocated(s: &mut Server) -> Client {
    let mut c = Client::valid();
    let out = s.handle_client(key(), &allocate_request(&c), now(), &mut no_bind);
    assert_eq!(error_code(&out), 401);
    c.nonce = Some(reply(&out).attribute::<Nonce>().unwrap().nonce().to_owned());
    let out = s.handle_client(key(), &allocate_request(&c), now(), &mut |_| {
        Some(relay_addr())
    });
    let msg = reply(&out);
    assert_eq!(msg.class(), MessageClass::Success, "{out:?}");
    let relayed = msg.attribute::<XorRelayedAddress>().unwrap();
    assert_eq!(relayed.addr(msg.transaction_id()), relay_addr());
    let creds: MessageIntegrityCredentials =
        LongTermKeyCredentials::new(c.username.clone(), c.password.clone(), REALM.to_owned())
            .into();
    msg.validate_integrity(&creds).unwrap();
    c
}

#[test]
fn unauthenticated_allocate_gets_challenge_with_realm_and_nonce() {
    let mut s = server();
    let out = s.handle_client(
        key(),
        &allocate_request(&Client::valid()),
        now(),
        &mut no_bind,
    );
    let msg = reply(&out);
    assert_eq!(msg.attribute::<ErrorCode>().unwrap().code(), 401);
    assert_eq!(msg.attribute::<Realm>().unwrap().realm(), REALM);
    assert!(msg.has_attribute(Nonce::TYPE));
    assert!(s.table().is_empty());
}

#[test]
fn allocate_and_refresh_zero_releases() {
    let mut s = server();
    let c = allocated(&mut s);
    assert_eq!(s.table().len(), 1);
    let out = s.handle_client(
        key(),
        &c.request(REFRESH, |m, _| {
            m.add_attribute(&Lifetime::new(0)).unwrap();
        }),
        now(),
        &mut no_bind,
    );
    assert_eq!(reply(&out).class(), MessageClass::Success);
    assert!(out.contains(&Output::Release(relay_addr())));
    assert!(s.table().is_empty());
}

#[test]
fn wrong_password_expired_user_and_stale_nonce_are_refused() {
    let mut s = server();
    let good = allocated(&mut s);
    let mut wrong = Client::valid();
    wrong.password = "not-it".into();
    wrong.nonce = good.nonce.clone();
    let other = ClientKey {
        client: SocketAddr::from(([127, 0, 0, 9], 40_001)),
        ..key()
    };
    let out = s.handle_client(other, &allocate_request(&wrong), now(), &mut no_bind);
    assert_eq!(error_code(&out), 401);

    let expired = RestAuth::new(SECRET.to_vec(), REALM).mint("alice", now().unix - 100, 10);
    let c = Client {
        username: expired.username,
        password: expired.password,
        nonce: good.nonce.clone(),
    };
    let out = s.handle_client(other, &allocate_request(&c), now(), &mut no_bind);
    assert_eq!(error_code(&out), 401);

    let mut stale = Client::valid();
    stale.nonce = Some("0123".into());
    let out = s.handle_client(other, &allocate_request(&stale), now(), &mut no_bind);
    assert_eq!(error_code(&out), 438);
    assert_eq!(s.table().len(), 1);
}

#[test]
fn tcp_relaying_is_refused() {
    let mut s = server();
    let mut c = Client::valid();
    c.nonce = Some(s.nonce.clone());
    let req = c.request(ALLOCATE, |m, _| {
        m.add_attribute(&RequestedTransport::new(6)).unwrap();
    });
    let out = s.handle_client(key(), &req, now(), &mut |_| Some(relay_addr()));
    assert_eq!(error_code(&out), 442);
}

#[test]
fn second_allocate_on_same_five_tuple_is_mismatch() {
    let mut s = server();
    let c = allocated(&mut s);
    let out = s.handle_client(key(), &allocate_request(&c), now(), &mut |_| {
        panic!("must not bind")
    });
    assert_eq!(error_code(&out), 437);
}

#[test]
fn permission_to_foreign_peer_is_forbidden_and_nothing_is_relayed() {
    let mut s = server();
    let c = allocated(&mut s);
    let stranger = SocketAddr::from(([198, 51, 100, 7], 9));
    let out = s.handle_client(
        key(),
        &c.request(CREATE_PERMISSION, |m, txn| {
            m.add_attribute(&XorPeerAddress::new(stranger, txn))
                .unwrap();
        }),
        now(),
        &mut no_bind,
    );
    assert_eq!(error_code(&out), 403);
    let out = s.handle_client(
        key(),
        &c.request(CHANNEL_BIND, |m, txn| {
            m.add_attribute(&ChannelNumber::new(0x4000)).unwrap();
            m.add_attribute(&XorPeerAddress::new(stranger, txn))
                .unwrap();
        }),
        now(),
        &mut no_bind,
    );
    assert_eq!(error_code(&out), 403);
    let send = send_indication(stranger, b"hello");
    assert!(
        s.handle_client(key(), &send, now(), &mut no_bind)
            .is_empty()
    );
    assert!(
        s.handle_peer(relay_addr(), stranger, b"in", now())
            .is_none()
    );
}

fn send_indication(peer: SocketAddr, data: &[u8]) -> Vec<u8> {
    let mut msg = Message::builder(
        MessageType::from_class_method(MessageClass::Indication, SEND),
        TransactionId::generate(),
        MessageWriteVec::new(),
    );
    let txn = msg.transaction_id();
    msg.add_attribute(&XorPeerAddress::new(peer, txn)).unwrap();
    msg.add_attribute(&Data::new(data)).unwrap();
    msg.finish()
}

#[test]
fn send_and_data_indications_relay_to_permitted_host_peer() {
    let mut s = server();
    let c = allocated(&mut s);
    let peer = SocketAddr::from((host_ip(), 5000));
    let send = send_indication(peer, b"hello");
    assert!(
        s.handle_client(key(), &send, now(), &mut no_bind)
            .is_empty(),
        "no permission yet"
    );
    let out = s.handle_client(
        key(),
        &c.request(CREATE_PERMISSION, |m, txn| {
            m.add_attribute(&XorPeerAddress::new(peer, txn)).unwrap();
        }),
        now(),
        &mut no_bind,
    );
    assert_eq!(reply(&out).class(), MessageClass::Success);
    let out = s.handle_client(key(), &send, now(), &mut no_bind);
    assert_eq!(
        out,
        vec![Output::ToPeer {
            relay: relay_addr(),
            peer,
            data: b"hello".to_vec()
        }]
    );
    let (to, bytes) = s.handle_peer(relay_addr(), peer, b"back", now()).unwrap();
    assert_eq!(to, key());
    let msg = Message::from_bytes(&bytes).unwrap();
    assert_eq!(msg.method(), DATA);
    assert_eq!(msg.attribute::<Data>().unwrap().data(), b"back");
    assert_eq!(
        msg.attribute::<XorPeerAddress>()
            .unwrap()
            .addr(msg.transaction_id()),
        peer
    );
    let later = Now {
        mono: now().mono + Duration::from_secs(301),
        ..now()
    };
    assert!(s.handle_peer(relay_addr(), peer, b"late", later).is_none());
}

#[test]
fn channel_data_both_ways() {
    let mut s = server();
    let c = allocated(&mut s);
    let peer = SocketAddr::from((host_ip(), 5001));
    let out = s.handle_client(
        key(),
        &c.request(CHANNEL_BIND, |m, txn| {
            m.add_attribute(&ChannelNumber::new(0x4001)).unwrap();
            m.add_attribute(&XorPeerAddress::new(peer, txn)).unwrap();
        }),
        now(),
        &mut no_bind,
    );
    assert_eq!(reply(&out).class(), MessageClass::Success);
    // Padded as it would arrive over TCP: the padding is not payload.
    let frame = [0x40, 0x01, 0x00, 0x03, b'a', b'b', b'c', 0];
    assert_eq!(
        s.handle_client(key(), &frame, now(), &mut no_bind),
        vec![Output::ToPeer {
            relay: relay_addr(),
            peer,
            data: b"abc".to_vec()
        }]
    );
    let (_, bytes) = s.handle_peer(relay_addr(), peer, b"xy", now()).unwrap();
    assert_eq!(bytes, vec![0x40, 0x01, 0x00, 0x02, b'x', b'y']);
    // Unbound channel and truncated frames go nowhere.
    assert!(
        s.handle_client(key(), &[0x40, 0x02, 0, 1, 9], now(), &mut no_bind)
            .is_empty()
    );
    assert!(
        s.handle_client(key(), &[0x40, 0x01, 0, 9, 9], now(), &mut no_bind)
            .is_empty()
    );
}

#[test]
fn binding_request_returns_mapped_address() {
    let mut s = server();
    let req = Message::builder_request(BINDING, MessageWriteVec::new()).finish();
    let out = s.handle_client(key(), &req, now(), &mut no_bind);
    let msg = reply(&out);
    assert_eq!(
        msg.attribute::<XorMappedAddress>()
            .unwrap()
            .addr(msg.transaction_id()),
        key().client
    );
}

#[test]
fn no_relay_port_means_insufficient_capacity() {
    let mut s = server();
    let mut c = Client::valid();
    c.nonce = Some(s.nonce.clone());
    let out = s.handle_client(key(), &allocate_request(&c), now(), &mut no_bind);
    assert_eq!(error_code(&out), 508);
    assert!(s.table().is_empty());
}

#[test]
fn expired_username_keeps_its_allocation_alive_but_cannot_allocate_anew() {
    let mut s = server();
    let c = allocated(&mut s);
    let much_later = Now {
        mono: now().mono + Duration::from_secs(500),
        unix: now().unix + 7200,
    };
    let out = s.handle_client(
        key(),
        &c.request(REFRESH, |m, _| {
            m.add_attribute(&Lifetime::new(600)).unwrap();
        }),
        much_later,
        &mut no_bind,
    );
    assert_eq!(reply(&out).class(), MessageClass::Success, "{out:?}");
    let other = ClientKey {
        client: SocketAddr::from(([127, 0, 0, 9], 40_002)),
        ..key()
    };
    let out = s.handle_client(other, &allocate_request(&c), much_later, &mut |_| {
        panic!("expired username allocated")
    });
    assert_eq!(error_code(&out), 401);
}
