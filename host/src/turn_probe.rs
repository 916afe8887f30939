//! Start-up reachability check of the configured TURN server (`--turn_host`/`--turn_port`).
//!
//! An unreachable TURN server does not stop a session — webrtcbin and the browser fall back to
//! host and STUN candidates — but it silently breaks every client that needed the relay. So the
//! host sends one STUN Binding request (RFC 5389 §6; TURN servers answer it) and logs a clear
//! warning when nothing answers. For `turns:` (TLS) only the TCP connection is checked.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket, lookup_host};

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const BINDING_REQUEST: [u8; 2] = [0x00, 0x01];
const BINDING_SUCCESS: [u8; 2] = [0x01, 0x01];
const BINDING_ERROR: [u8; 2] = [0x01, 0x11];

/// Why the TURN server was not reached.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no STUN answer within {0:?}")]
    Timeout(Duration),
    #[error("the answer is not a STUN Binding response")]
    NotStun,
}

/// How to reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    /// `turns:`: TCP connect only.
    Tls,
}

/// A 20-byte STUN Binding request with transaction id `txid`.
pub fn binding_request(txid: [u8; 12]) -> [u8; 20] {
    let mut m = [0u8; 20];
    m[0..2].copy_from_slice(&BINDING_REQUEST);
    // Message length 0: no attributes.
    m[4..8].copy_from_slice(&MAGIC_COOKIE);
    m[8..20].copy_from_slice(&txid);
    m
}

/// Whether `buf` is a Binding success or error response to `txid`: either proves a STUN/TURN
/// server is listening.
pub fn is_binding_response(buf: &[u8], txid: [u8; 12]) -> bool {
    buf.len() >= 20
        && (buf[0..2] == BINDING_SUCCESS || buf[0..2] == BINDING_ERROR)
        && buf[4..8] == MAGIC_COOKIE
        && buf[8..20] == txid
}

fn txid() -> [u8; 12] {
    // Uniqueness is enough here; the answer is only checked for the echo.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut t = [0u8; 12];
    t.copy_from_slice(&nanos.to_le_bytes()[0..12]);
    t
}

/// Probes `host:port` (host may be a bracketed IPv6 address), waiting at most `wait`.
pub async fn probe(
    host: &str,
    port: u16,
    transport: Transport,
    wait: Duration,
) -> Result<(), ProbeError> {
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let addr: SocketAddr = lookup_host((name, port))
        .await
        .map_err(|_| ProbeError::Resolve(host.to_owned()))?
        .next()
        .ok_or_else(|| ProbeError::Resolve(host.to_owned()))?;
    let id = txid();
    let attempt = async {
        match transport {
            Transport::Udp => {
                let local: SocketAddr = if addr.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    ([0u16; 8], 0).into()
                };
                let sock = UdpSocket::bind(local).await?;
                sock.connect(addr).await?;
                let mut buf = [0u8; 1500];
                // Three sends inside the wait: one lost datagram is not "unreachable".
                for round in 0..3u32 {
                    sock.send(&binding_request(id)).await?;
                    let slice = wait / 3;
                    match tokio::time::timeout(slice, sock.recv(&mut buf)).await {
                        Ok(Ok(n)) if is_binding_response(&buf[..n], id) => return Ok(()),
                        Ok(Ok(_)) => return Err(ProbeError::NotStun),
                        Ok(Err(e)) => return Err(e.into()),
                        Err(_) if round < 2 => continue,
                        Err(_) => break,
                    }
                }
                Err(ProbeError::Timeout(wait))
            }
            Transport::Tcp => {
                let mut s = TcpStream::connect(addr).await?;
                s.write_all(&binding_request(id)).await?;
                let mut buf = [0u8; 20];
                s.read_exact(&mut buf).await?;
                if is_binding_response(&buf, id) {
                    Ok(())
                } else {
                    Err(ProbeError::NotStun)
                }
            }
            Transport::Tls => {
                TcpStream::connect(addr).await?;
                Ok(())
            }
        }
    };
    tokio::time::timeout(wait, attempt)
        .await
        .unwrap_or(Err(ProbeError::Timeout(wait)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_request_and_response_shapes() {
        let id = [7u8; 12];
        let req = binding_request(id);
        assert_eq!(&req[0..4], &[0, 1, 0, 0]);
        assert_eq!(&req[4..8], &MAGIC_COOKIE);
        let mut resp = req;
        resp[0..2].copy_from_slice(&BINDING_SUCCESS);
        assert!(is_binding_response(&resp, id));
        resp[0..2].copy_from_slice(&BINDING_ERROR);
        assert!(is_binding_response(&resp, id));
        assert!(
            !is_binding_response(&req, id),
            "a request is not a response"
        );
        assert!(!is_binding_response(&resp, [8u8; 12]), "other transaction");
        assert!(!is_binding_response(&resp[..19], id));
        assert!(!is_binding_response(b"HTTP/1.1 400 Bad Request\r\n", id));
    }

    #[tokio::test]
    async fn closed_port_is_reported() {
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let err = probe("127.0.0.1", port, Transport::Udp, Duration::from_secs(1))
            .await
            .expect_err("nobody listens");
        assert!(
            matches!(err, ProbeError::Io(_) | ProbeError::Timeout(_)),
            "{err}"
        );
        let err = probe("127.0.0.1", port, Transport::Tcp, Duration::from_secs(1))
            .await
            .expect_err("nobody listens");
        assert!(matches!(err, ProbeError::Io(_)), "{err}");
    }
}
