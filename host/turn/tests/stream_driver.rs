//! The stream driver on a non-TCP byte stream (what the host hands over after TLS): requests
//! split across writes are reassembled, replies come back framed, and bytes that are neither
//! STUN nor ChannelData end the connection with a framing error instead of being buffered.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::{IpAddr, SocketAddr};

use selkies_turn::{Relay, RelayConfig, RelayError, RestAuth};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use turn_types::message::ALLOCATE;
use turn_types::stun::attribute::{ErrorCode, XorMappedAddress};
use turn_types::stun::message::{BINDING, Message, MessageClass, MessageWrite, MessageWriteVec};

fn client_addr() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 7], 50_123))
}

type Started = (
    Relay,
    DuplexStream,
    tokio::task::JoinHandle<Result<(), RelayError>>,
);

fn start() -> Started {
    start_with(Vec::new())
}

/// `initial`: bytes the host already read to recognise TURN (the first byte after TLS).
fn start_with(initial: Vec<u8>) -> Started {
    let host = IpAddr::from([127, 0, 0, 1]);
    let relay = Relay::start(RelayConfig::new(
        RestAuth::random("selkies"),
        host,
        vec![host],
    ));
    let (ours, theirs) = tokio::io::duplex(4096);
    let r = relay.clone();
    let task = tokio::spawn(async move {
        r.serve_stream(theirs, &initial, client_addr(), SocketAddr::new(host, 8443))
            .await
    });
    (relay, ours, task)
}

async fn read_message(s: &mut DuplexStream) -> Vec<u8> {
    let mut header = [0u8; 20];
    s.read_exact(&mut header).await.unwrap();
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let mut msg = header.to_vec();
    msg.resize(20 + len, 0);
    s.read_exact(&mut msg[20..]).await.unwrap();
    msg
}

#[tokio::test]
async fn split_requests_are_reassembled_and_answered() {
    let (relay, mut s, _task) = start();
    let binding = Message::builder_request(BINDING, MessageWriteVec::new()).finish();
    let allocate = Message::builder_request(ALLOCATE, MessageWriteVec::new()).finish();
    // Both requests in one buffer, cut in the middle of the first header.
    let both = [binding.clone(), allocate].concat();
    s.write_all(&both[..7]).await.unwrap();
    s.flush().await.unwrap();
    tokio::task::yield_now().await;
    s.write_all(&both[7..]).await.unwrap();

    let reply = read_message(&mut s).await;
    let msg = Message::from_bytes(&reply).unwrap();
    assert_eq!(msg.class(), MessageClass::Success);
    assert_eq!(
        msg.attribute::<XorMappedAddress>()
            .unwrap()
            .addr(msg.transaction_id()),
        client_addr()
    );
    let reply = read_message(&mut s).await;
    let msg = Message::from_bytes(&reply).unwrap();
    assert_eq!(msg.attribute::<ErrorCode>().unwrap().code(), 401);
    assert_eq!(relay.allocations(), 0);
}

#[tokio::test]
async fn bytes_read_by_the_demux_are_not_lost() {
    let binding = Message::builder_request(BINDING, MessageWriteVec::new()).finish();
    let (_relay, mut s, _task) = start_with(binding[..1].to_vec());
    s.write_all(&binding[1..]).await.unwrap();
    let reply = read_message(&mut s).await;
    let msg = Message::from_bytes(&reply).unwrap();
    assert_eq!(msg.class(), MessageClass::Success);
    assert_eq!(
        msg.transaction_id(),
        Message::from_bytes(&binding).unwrap().transaction_id()
    );
}

#[tokio::test]
async fn garbage_ends_the_connection() {
    let (_relay, mut s, task) = start();
    s.write_all(b"\x80not turn at all").await.unwrap();
    match task.await.unwrap() {
        Err(RelayError::Framing(_)) => {}
        other => panic!("expected a framing error, got {other:?}"),
    }
}

#[tokio::test]
async fn closing_the_stream_ends_the_handler_cleanly() {
    let (_relay, s, task) = start();
    drop(s);
    assert!(task.await.unwrap().is_ok());
}
