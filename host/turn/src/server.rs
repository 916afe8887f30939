//! The sans-IO TURN server: turns one datagram (or one TCP frame) from a client into replies,
//! relayed payloads and released relay addresses, and one datagram from a peer into what the
//! client must receive. STUN encoding, MESSAGE-INTEGRITY and FINGERPRINT come from the
//! `stun-types`/`turn-types` crates; authentication policy and allocation state are ours
//! (`auth`, `state`).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use tracing::debug;
use turn_types::attribute::{
    ChannelNumber, Data, Lifetime, RequestedTransport, XorPeerAddress, XorRelayedAddress,
};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH, SEND};
use turn_types::stun::attribute::{
    AttributeStaticType, ErrorCode, MessageIntegrity, MessageIntegritySha256, Nonce, Realm,
    Software, Username, XorMappedAddress,
};
use turn_types::stun::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass,
    MessageIntegrityCredentials, MessageWrite, MessageWriteExt, MessageWriteVec, TransactionId,
};

use crate::auth::RestAuth;
use crate::state::{ClientKey, Limits, Table, TableError};

/// Wall-clock and monotonic time of one event: the monotonic one drives lifetimes, the Unix one
/// checks TURN-REST username expiry.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub mono: Instant,
    pub unix: u64,
}

impl Now {
    pub fn system() -> Self {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self {
            mono: Instant::now(),
            unix,
        }
    }
}

/// What the driver must do after handing the core a client message.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes back to the client (a STUN response).
    ToClient(Vec<u8>),
    /// Send `data` from the relay socket bound at `relay` to `peer`.
    ToPeer {
        relay: SocketAddr,
        peer: SocketAddr,
        data: Vec<u8>,
    },
    /// Close the relay socket bound at this address.
    Release(SocketAddr),
}

/// Configuration of the core.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub auth: RestAuth,
    pub limits: Limits,
    /// The only peer IPs relayed traffic may go to (the host's own addresses).
    pub allowed_peers: Vec<IpAddr>,
}

/// At most this many XOR-PEER-ADDRESS attributes are looked at in one CreatePermission.
const MAX_PEERS_PER_REQUEST: usize = 16;
const UDP_PROTOCOL: u8 = 17;

#[derive(Debug)]
pub struct Server {
    auth: RestAuth,
    table: Table,
    nonce: String,
}

/// An authenticated request's username and the key its responses are signed with.
struct Authed {
    username: String,
    creds: MessageIntegrityCredentials,
}

/// What every authenticated TURN request handler works from.
struct Request<'a, 'm> {
    key: ClientKey,
    msg: &'a Message<'m>,
    authed: &'a Authed,
    now: Now,
}

impl Request<'_, '_> {
    /// A success response to this request, signed with its credentials.
    fn success(&self, attrs: impl FnOnce(&mut MessageWriteVec)) -> Vec<u8> {
        success(self.msg, &self.authed.creds, attrs)
    }
}

/// A handler's answer: what to send and release, or the STUN error code and reason to refuse with.
type Handled = Result<Vec<Output>, (u16, &'static str)>;

impl Server {
    pub fn new(config: ServerConfig) -> Self {
        let nonce: [u8; 12] = rand::random();
        Self {
            auth: config.auth,
            table: Table::new(config.limits, config.allowed_peers),
            nonce: nonce.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn auth(&self) -> &RestAuth {
        &self.auth
    }

    /// One message from a client. `bind` reserves a relay socket for a new allocation and
    /// returns its address (`None`: none available).
    pub fn handle_client(
        &mut self,
        key: ClientKey,
        data: &[u8],
        now: Now,
        bind: &mut dyn FnMut(&ClientKey) -> Option<SocketAddr>,
    ) -> Vec<Output> {
        match data.first() {
            Some(0x40..=0x7F) => self.channel_data(key, data, now).into_iter().collect(),
            Some(0x00..=0x3F) => match Message::from_bytes(data) {
                Ok(msg) => self.stun(key, &msg, now, bind),
                Err(err) => {
                    debug!(client = %key.client, %err, "dropping unparsable STUN message");
                    Vec::new()
                }
            },
            _ => Vec::new(),
        }
    }

    /// One datagram from `peer` on the relay socket `relay`: the client to forward to and the
    /// bytes (ChannelData when a channel is bound, a Data indication otherwise).
    pub fn handle_peer(
        &self,
        relay: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        now: Now,
    ) -> Option<(ClientKey, Vec<u8>)> {
        let (key, channel) = self.table.inbound(relay, peer, now.mono)?;
        if let Some(num) = channel {
            let len = u16::try_from(data.len()).ok()?;
            let mut out = Vec::with_capacity(4 + data.len());
            out.extend_from_slice(&num.to_be_bytes());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(data);
            return Some((key, out));
        }
        let mut msg = Message::builder(
            turn_types::stun::message::MessageType::from_class_method(
                MessageClass::Indication,
                DATA,
            ),
            TransactionId::generate(),
            MessageWriteVec::with_capacity(data.len() + 40),
        );
        msg.add_attribute(&XorPeerAddress::new(peer, msg.transaction_id()))
            .ok()?;
        msg.add_attribute(&Data::new(data)).ok()?;
        Some((key, msg.finish()))
    }

    /// Lifetimes: drops what expired and returns the relay sockets to close.
    pub fn expire(&mut self, now: Now) -> Vec<SocketAddr> {
        self.table.expire(now.mono)
    }

    /// A TCP client went away: its allocation goes with it (RFC 8656 §3.1).
    pub fn client_closed(&mut self, key: &ClientKey) -> Option<SocketAddr> {
        self.table.remove_client(key)
    }

    fn channel_data(&self, key: ClientKey, data: &[u8], now: Now) -> Option<Output> {
        let header = data.get(..4)?;
        let channel = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let payload = data.get(4..4 + len)?;
        let (relay, peer) = self.table.outbound_by_channel(&key, channel, now.mono)?;
        Some(Output::ToPeer {
            relay,
            peer,
            data: payload.to_vec(),
        })
    }

    fn stun(
        &mut self,
        key: ClientKey,
        msg: &Message<'_>,
        now: Now,
        bind: &mut dyn FnMut(&ClientKey) -> Option<SocketAddr>,
    ) -> Vec<Output> {
        let class = msg.class();
        let method = msg.method();
        if class == MessageClass::Indication && method == SEND {
            return self.send_indication(key, msg, now).into_iter().collect();
        }
        if class != MessageClass::Request {
            return Vec::new();
        }
        if method == BINDING {
            let mut out = Message::builder_success(msg, MessageWriteVec::new());
            let txn = out.transaction_id();
            let _ = out.add_attribute(&XorMappedAddress::new(key.client, txn));
            let _ = out.add_fingerprint();
            return vec![Output::ToClient(out.finish())];
        }
        if ![ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND].contains(&method) {
            return vec![Output::ToClient(error(msg, 400, "Bad Request", None))];
        }
        let authed = match self.authenticate(msg, now) {
            Ok(a) => a,
            Err(reply) => return vec![Output::ToClient(reply)],
        };
        let req = Request {
            key,
            msg,
            authed: &authed,
            now,
        };
        let result = if method == ALLOCATE {
            self.allocate(&req, bind)
        } else if method == REFRESH {
            self.refresh(&req)
        } else if method == CREATE_PERMISSION {
            self.create_permission(&req)
        } else {
            self.channel_bind(&req)
        };
        match result {
            Ok(outputs) => outputs,
            Err((code, reason)) => {
                debug!(client = %key.client, method = %method, code, reason, "TURN request refused");
                vec![Output::ToClient(error(
                    msg,
                    code,
                    reason,
                    Some(&authed.creds),
                ))]
            }
        }
    }

    fn challenge(&self, msg: &Message<'_>, code: u16, reason: &str) -> Vec<u8> {
        let mut out = Message::builder_error(msg, MessageWriteVec::new());
        let _ = ErrorCode::new(code, reason).map(|e| out.add_attribute(&e));
        let _ = Realm::new(self.auth.realm()).map(|r| out.add_attribute(&r));
        let _ = Nonce::new(&self.nonce).map(|n| out.add_attribute(&n));
        let _ = out.add_fingerprint();
        out.finish()
    }

    /// Long-term credential check (RFC 8489 §9.2.4) with TURN-REST passwords.
    fn authenticate(&self, msg: &Message<'_>, now: Now) -> Result<Authed, Vec<u8>> {
        if !msg.has_attribute(MessageIntegrity::TYPE)
            && !msg.has_attribute(MessageIntegritySha256::TYPE)
        {
            return Err(self.challenge(msg, 401, "Unauthorized"));
        }
        let (Ok(user), Ok(realm), Ok(nonce)) = (
            msg.attribute::<Username>(),
            msg.attribute::<Realm>(),
            msg.attribute::<Nonce>(),
        ) else {
            return Err(error(msg, 400, "Bad Request", None));
        };
        if nonce.nonce() != self.nonce {
            return Err(self.challenge(msg, 438, "Stale Nonce"));
        }
        if realm.realm() != self.auth.realm() {
            return Err(self.challenge(msg, 401, "Unauthorized"));
        }
        // Expiry gates new allocations only; see `RestAuth::key_for_existing`.
        let checked = if msg.method() == ALLOCATE {
            self.auth.key_for(user.username(), now.unix)
        } else {
            self.auth.key_for_existing(user.username())
        };
        let key: LongTermKeyCredentials = match checked {
            Ok(k) => k,
            Err(err) => {
                debug!(username = user.username(), %err, "TURN credentials refused");
                return Err(self.challenge(msg, 401, "Unauthorized"));
            }
        };
        let creds = MessageIntegrityCredentials::from(key);
        if msg.validate_integrity(&creds).is_err() {
            debug!(
                username = user.username(),
                "TURN message integrity check failed"
            );
            return Err(self.challenge(msg, 401, "Unauthorized"));
        }
        Ok(Authed {
            username: user.username().to_owned(),
            creds,
        })
    }

    fn allocate(
        &mut self,
        req: &Request<'_, '_>,
        bind: &mut dyn FnMut(&ClientKey) -> Option<SocketAddr>,
    ) -> Handled {
        let transport = req
            .msg
            .attribute::<RequestedTransport>()
            .map_err(|_| (400, "Bad Request"))?;
        if transport.protocol() != UDP_PROTOCOL {
            return Err((442, "Unsupported Transport Protocol"));
        }
        self.table
            .can_allocate(&req.key, &req.authed.username)
            .map_err(table_error)?;
        let lifetime = self
            .table
            .grant_lifetime(req.msg.attribute::<Lifetime>().ok().map(|l| l.seconds()));
        let relay = bind(&req.key).ok_or((508, "Insufficient Capacity"))?;
        if let Err(err) =
            self.table
                .allocate(req.key, &req.authed.username, relay, lifetime, req.now.mono)
        {
            return Ok(vec![
                Output::Release(relay),
                Output::ToClient(error(
                    req.msg,
                    err.stun_code(),
                    "Refused",
                    Some(&req.authed.creds),
                )),
            ]);
        }
        let txn = req.msg.transaction_id();
        let reply = req.success(|out| {
            let _ = out.add_attribute(&XorRelayedAddress::new(relay, txn));
            let _ = out.add_attribute(&Lifetime::new(secs(lifetime)));
            let _ = out.add_attribute(&XorMappedAddress::new(req.key.client, txn));
        });
        Ok(vec![Output::ToClient(reply)])
    }

    fn refresh(&mut self, req: &Request<'_, '_>) -> Handled {
        let lifetime = self
            .table
            .grant_lifetime(req.msg.attribute::<Lifetime>().ok().map(|l| l.seconds()));
        let released = self
            .table
            .refresh(&req.key, &req.authed.username, lifetime, req.now.mono)
            .map_err(table_error)?;
        let reply = req.success(|out| {
            let _ = out.add_attribute(&Lifetime::new(secs(lifetime)));
        });
        let mut outputs = vec![Output::ToClient(reply)];
        outputs.extend(released.map(Output::Release));
        Ok(outputs)
    }

    fn create_permission(&mut self, req: &Request<'_, '_>) -> Handled {
        let txn = req.msg.transaction_id();
        let peers: Vec<IpAddr> = (0..MAX_PEERS_PER_REQUEST)
            .map_while(|n| req.msg.nth_attribute::<XorPeerAddress>(n).ok())
            .map(|a| a.addr(txn).ip())
            .collect();
        if peers.is_empty() {
            return Err((400, "Bad Request"));
        }
        self.table
            .create_permission(&req.key, &req.authed.username, &peers, req.now.mono)
            .map_err(table_error)?;
        Ok(vec![Output::ToClient(req.success(|_| {}))])
    }

    fn channel_bind(&mut self, req: &Request<'_, '_>) -> Handled {
        let txn = req.msg.transaction_id();
        let (Ok(channel), Ok(peer)) = (
            req.msg.attribute::<ChannelNumber>(),
            req.msg.attribute::<XorPeerAddress>(),
        ) else {
            return Err((400, "Bad Request"));
        };
        self.table
            .channel_bind(
                &req.key,
                &req.authed.username,
                channel.channel(),
                peer.addr(txn),
                req.now.mono,
            )
            .map_err(table_error)?;
        Ok(vec![Output::ToClient(req.success(|_| {}))])
    }

    fn send_indication(&self, key: ClientKey, msg: &Message<'_>, now: Now) -> Option<Output> {
        let peer = msg
            .attribute::<XorPeerAddress>()
            .ok()?
            .addr(msg.transaction_id());
        let data = msg.attribute::<Data>().ok()?;
        let relay = self.table.outbound_by_peer(&key, peer, now.mono)?;
        Some(Output::ToPeer {
            relay,
            peer,
            data: data.data().to_vec(),
        })
    }
}

fn table_error(err: TableError) -> (u16, &'static str) {
    let reason = match err {
        TableError::AllocationMismatch | TableError::NoAllocation => "Allocation Mismatch",
        TableError::WrongUser => "Wrong Credentials",
        TableError::Quota => "Allocation Quota Reached",
        TableError::Capacity => "Insufficient Capacity",
        TableError::Forbidden => "Forbidden",
        TableError::BadChannel => "Bad Request",
    };
    (err.stun_code(), reason)
}

fn secs(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

fn success(
    msg: &Message<'_>,
    creds: &MessageIntegrityCredentials,
    attrs: impl FnOnce(&mut MessageWriteVec),
) -> Vec<u8> {
    let mut out = Message::builder_success(msg, MessageWriteVec::new());
    attrs(&mut out);
    if let Ok(sw) = Software::new("selkies-turn") {
        let _ = out.add_attribute(&sw);
    }
    let _ = out.add_message_integrity(creds, IntegrityAlgorithm::Sha1);
    let _ = out.add_fingerprint();
    out.finish()
}

fn error(
    msg: &Message<'_>,
    code: u16,
    reason: &str,
    creds: Option<&MessageIntegrityCredentials>,
) -> Vec<u8> {
    let mut out = Message::builder_error(msg, MessageWriteVec::new());
    let _ = ErrorCode::new(code, reason).map(|e| out.add_attribute(&e));
    if let Some(creds) = creds {
        let _ = out.add_message_integrity(creds, IntegrityAlgorithm::Sha1);
    }
    let _ = out.add_fingerprint();
    out.finish()
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
