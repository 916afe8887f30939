//! The tokio side of the relay: a UDP listener loop, a handler for one TCP connection the host
//! demultiplexed to TURN, one task per relay socket, and the lifetime ticker. All protocol
//! decisions are the sans-IO [`Server`]'s; this module only moves bytes and owns sockets. It
//! also lists the host's own addresses: the only peers the relay may send to (so it is never an
//! open relay), one of which carries the relay sockets.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::{debug, info, warn};

use crate::auth::{MintedCredentials, RestAuth};
use crate::framing::{FrameBuffer, FramingError, MAX_FRAME, pad_for_stream};
use crate::server::{Now, Output, Server, ServerConfig};
use crate::state::{ClientKey, Limits, Transport};

/// How the host wants its relay run.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub auth: RestAuth,
    pub limits: Limits,
    /// Peer IPs relayed traffic may reach: the host's own addresses.
    pub allowed_peers: Vec<IpAddr>,
    /// Address relay sockets are bound on (one of the host's).
    pub relay_ip: IpAddr,
    /// Relay ports to use; `None` lets the kernel pick ephemeral ones.
    pub port_range: Option<RangeInclusive<u16>>,
    /// A TCP connection that sends nothing for this long is closed.
    pub tcp_idle_timeout: Duration,
}

impl RelayConfig {
    pub fn new(auth: RestAuth, relay_ip: IpAddr, allowed_peers: Vec<IpAddr>) -> Self {
        Self {
            auth,
            limits: Limits::default(),
            allowed_peers,
            relay_ip,
            port_range: None,
            tcp_idle_timeout: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("TURN socket I/O: {0}")]
    Io(#[from] io::Error),
    #[error("TURN stream framing lost: {0}")]
    Framing(#[from] FramingError),
    #[error("TURN TCP connection idle for {0:?}")]
    Idle(Duration),
}

/// A relay socket and the task that reads peer datagrams from it.
struct RelaySocket {
    socket: Arc<UdpSocket>,
    reader: AbortHandle,
}

struct Inner {
    core: Mutex<Server>,
    config: RelayConfig,
    relays: Mutex<HashMap<SocketAddr, RelaySocket>>,
    udp_listeners: Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>,
    tcp_clients: Mutex<HashMap<ClientKey, mpsc::Sender<Vec<u8>>>>,
}

/// Handle to the embedded relay; cheap to clone, shared by every listener and connection.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

/// A poisoned lock only means another task panicked mid-update; the maps stay usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const TCP_QUEUE: usize = 256;
/// Socket buffers of the UDP listener and relay sockets: the kernel default (~208 KiB) holds
/// about 100 ms of one 8 Mbit/s video stream, too little to ride out a scheduling stall on a
/// loaded host. The kernel caps the request at net.core.{r,w}mem_max.
const UDP_BUFFER: usize = 1 << 20;

fn enlarge_buffers(socket: &impl std::os::fd::AsFd) {
    use nix::sys::socket::{setsockopt, sockopt};
    if let Err(e) = setsockopt(socket, sockopt::RcvBuf, &UDP_BUFFER)
        .and_then(|()| setsockopt(socket, sockopt::SndBuf, &UDP_BUFFER))
    {
        debug!(%e, "cannot enlarge TURN UDP socket buffers");
    }
}
const EXPIRY_TICK: Duration = Duration::from_secs(5);

impl Relay {
    /// Creates the relay and starts its lifetime ticker; must be called inside a tokio runtime.
    pub fn start(config: RelayConfig) -> Self {
        let core = Server::new(ServerConfig {
            auth: config.auth.clone(),
            limits: config.limits.clone(),
            allowed_peers: config.allowed_peers.clone(),
        });
        let inner = Arc::new(Inner {
            core: Mutex::new(core),
            config,
            relays: Mutex::default(),
            udp_listeners: Mutex::default(),
            tcp_clients: Mutex::default(),
        });
        tokio::spawn(expiry_ticker(Arc::downgrade(&inner)));
        Self { inner }
    }

    /// Credentials for a browser, valid for `ttl_secs`.
    pub fn mint(&self, user: &str, ttl_secs: u64) -> MintedCredentials {
        self.inner
            .config
            .auth
            .mint(user, Now::system().unix, ttl_secs)
    }

    pub fn realm(&self) -> &str {
        self.inner.config.auth.realm()
    }

    /// Number of live allocations (for metrics and tests).
    pub fn allocations(&self) -> usize {
        lock(&self.inner.core).table().len()
    }

    /// The client (5-tuple) of the allocation relayed at `relayed`: how a relayed browser
    /// reached the relay, for the host's connectivity report. IPv4-mapped addresses match
    /// their IPv4 form.
    pub fn client_of(&self, relayed: SocketAddr) -> Option<ClientKey> {
        let canonical = SocketAddr::new(relayed.ip().to_canonical(), relayed.port());
        let core = lock(&self.inner.core);
        core.table()
            .client_of(relayed)
            .or_else(|| core.table().client_of(canonical))
            .copied()
    }

    /// Serves TURN-over-UDP on `socket` until it fails.
    pub async fn serve_udp(&self, socket: UdpSocket) -> Result<(), RelayError> {
        enlarge_buffers(&socket);
        let socket = Arc::new(socket);
        let local = socket.local_addr()?;
        lock(&self.inner.udp_listeners).insert(local, socket.clone());
        info!(%local, "TURN relay listening on UDP");
        let mut buf = vec![0u8; 65_536];
        let result = loop {
            let (n, from) = match socket.recv_from(&mut buf).await {
                Ok(r) => r,
                // ICMP port unreachable from an earlier send surfaces here on Linux; not fatal.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => break Err(e.into()),
            };
            let key = ClientKey {
                transport: Transport::Udp,
                client: from,
                server: local,
            };
            self.client_message(key, &buf[..n]).await;
        };
        lock(&self.inner.udp_listeners).remove(&local);
        result
    }

    /// Serves one TCP connection whose first byte [`crate::is_turn_first_byte`] accepted. The
    /// peeked bytes must still be unread on `stream`. Returns when the client goes away.
    pub async fn serve_tcp(&self, stream: TcpStream) -> Result<(), RelayError> {
        let client = stream.peer_addr()?;
        let server = stream.local_addr()?;
        // Relayed media is many small writes: Nagle plus delayed ACKs would add milliseconds.
        stream.set_nodelay(true)?;
        self.serve_stream(stream, &[], client, server).await
    }

    /// Like [`Self::serve_tcp`] for any byte stream, e.g. the decrypted side of a TLS
    /// connection (`turns:`) on the host's HTTPS port. `initial` are bytes the caller already
    /// read from `stream` to recognise TURN (a TLS stream cannot be peeked); they are handled
    /// first. The caller sets TCP_NODELAY on the underlying socket.
    pub async fn serve_stream<S>(
        &self,
        stream: S,
        initial: &[u8],
        client: SocketAddr,
        server: SocketAddr,
    ) -> Result<(), RelayError>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let key = ClientKey {
            transport: Transport::Tcp,
            client,
            server,
        };
        let (mut rd, mut wr) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(TCP_QUEUE);
        lock(&self.inner.tcp_clients).insert(key, tx);
        let writer = tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if wr.write_all(&pad_for_stream(msg)).await.is_err() {
                    break;
                }
            }
        });
        let idle = self.inner.config.tcp_idle_timeout;
        let mut frames = FrameBuffer::default();
        frames.push(initial);
        let mut chunk = vec![0u8; 16_384];
        let result = loop {
            match frames.next_frame() {
                Err(e) => break Err(e.into()),
                Ok(Some(frame)) => {
                    self.client_message(key, &frame).await;
                    continue;
                }
                Ok(None) => {}
            }
            let n = match tokio::time::timeout(idle, rd.read(&mut chunk)).await {
                Err(_) => break Err(RelayError::Idle(idle)),
                Ok(Err(e)) => break Err(e.into()),
                Ok(Ok(0)) => break Ok(()),
                Ok(Ok(n)) => n,
            };
            debug_assert!(frames.buffered() < MAX_FRAME);
            frames.push(&chunk[..n]);
        };
        lock(&self.inner.tcp_clients).remove(&key);
        let released = lock(&self.inner.core).client_closed(&key);
        if let Some(relay) = released {
            self.release(relay);
        }
        writer.abort();
        debug!(client = %key.client, ?result, "TURN TCP connection closed");
        result
    }

    async fn client_message(&self, key: ClientKey, data: &[u8]) {
        let mut bound: Vec<(SocketAddr, UdpSocket)> = Vec::new();
        let outputs = {
            let mut bind = |_: &ClientKey| match self.bind_relay() {
                Ok(sock) => {
                    let addr = sock.local_addr().ok()?;
                    bound.push((addr, sock));
                    Some(addr)
                }
                Err(e) => {
                    warn!(%e, "cannot bind a TURN relay socket");
                    None
                }
            };
            lock(&self.inner.core).handle_client(key, data, Now::system(), &mut bind)
        };
        for (addr, socket) in bound {
            self.register_relay(addr, socket);
        }
        for out in outputs {
            match out {
                Output::ToClient(bytes) => self.to_client(key, bytes).await,
                Output::ToPeer { relay, peer, data } => {
                    let socket = lock(&self.inner.relays)
                        .get(&relay)
                        .map(|r| r.socket.clone());
                    if let Some(socket) = socket
                        && let Err(e) = socket.send_to(&data, peer).await
                    {
                        debug!(%relay, %peer, %e, "relay send failed");
                    }
                }
                Output::Release(relay) => self.release(relay),
            }
        }
    }

    async fn to_client(&self, key: ClientKey, bytes: Vec<u8>) {
        match key.transport {
            Transport::Udp => {
                let socket = lock(&self.inner.udp_listeners).get(&key.server).cloned();
                if let Some(socket) = socket
                    && let Err(e) = socket.send_to(&bytes, key.client).await
                {
                    debug!(client = %key.client, %e, "TURN reply send failed");
                }
            }
            Transport::Tcp => {
                let tx = lock(&self.inner.tcp_clients).get(&key).cloned();
                // A full queue means the client does not read; dropping is what UDP would do.
                if let Some(tx) = tx {
                    let _ = tx.try_send(bytes);
                }
            }
        }
    }

    fn bind_relay(&self) -> io::Result<UdpSocket> {
        let ip = self.inner.config.relay_ip;
        let std_sock = match &self.inner.config.port_range {
            None => std::net::UdpSocket::bind((ip, 0))?,
            Some(range) => {
                let (lo, hi) = (*range.start(), *range.end());
                let span = u32::from(hi.saturating_sub(lo)) + 1;
                let start = rand::random::<u32>() % span;
                let mut found = None;
                for i in 0..span {
                    let port = lo + ((start + i) % span) as u16;
                    if let Ok(s) = std::net::UdpSocket::bind((ip, port)) {
                        found = Some(s);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    io::Error::new(io::ErrorKind::AddrInUse, "relay port range exhausted")
                })?
            }
        };
        std_sock.set_nonblocking(true)?;
        enlarge_buffers(&std_sock);
        UdpSocket::from_std(std_sock)
    }

    fn register_relay(&self, addr: SocketAddr, socket: UdpSocket) {
        let socket = Arc::new(socket);
        let reader = tokio::spawn(relay_reader(
            Arc::downgrade(&self.inner),
            addr,
            socket.clone(),
        ))
        .abort_handle();
        lock(&self.inner.relays).insert(addr, RelaySocket { socket, reader });
    }

    fn release(&self, relay: SocketAddr) {
        release(&self.inner, relay);
    }
}

fn release(inner: &Inner, relay: SocketAddr) {
    if let Some(r) = lock(&inner.relays).remove(&relay) {
        r.reader.abort();
    }
}

/// Forwards peer datagrams arriving on one relay socket to the owning client.
async fn relay_reader(inner: Weak<Inner>, addr: SocketAddr, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
            Err(e) => {
                debug!(%addr, %e, "relay socket failed");
                return;
            }
        };
        let Some(inner) = inner.upgrade() else { return };
        let routed = lock(&inner.core).handle_peer(addr, peer, &buf[..n], Now::system());
        if let Some((key, bytes)) = routed {
            Relay { inner }.to_client(key, bytes).await;
        }
    }
}

async fn expiry_ticker(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(EXPIRY_TICK);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let released = lock(&inner.core).expire(Now::system());
        for relay in released {
            debug!(%relay, "TURN allocation expired");
            release(&inner, relay);
        }
    }
}

/// Every address configured on the host's interfaces, loopback included (the host's own
/// webrtcbin may gather loopback candidates in tests and single-machine setups).
pub fn local_addresses() -> io::Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    for ifa in nix::ifaddrs::getifaddrs().map_err(io::Error::from)? {
        let Some(addr) = ifa.address else { continue };
        let ip = if let Some(v4) = addr.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            IpAddr::V6(v6.ip())
        } else {
            continue;
        };
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// Where relay sockets are bound: the listen address when it is a specific one, else the first
/// non-loopback IPv4 address (what the host's webrtcbin gathers first), else loopback.
pub fn pick_relay_ip(listen: IpAddr, local: &[IpAddr]) -> IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    local
        .iter()
        .copied()
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

#[cfg(test)]
mod addr_tests {
    use super::*;

    #[test]
    fn loopback_is_among_local_addresses() {
        let addrs = local_addresses().unwrap();
        assert!(
            addrs.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)),
            "{addrs:?}"
        );
    }

    #[test]
    fn relay_ip_choice() {
        let lan: IpAddr = "192.0.2.10".parse().unwrap();
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        assert_eq!(pick_relay_ip(lan, &[lo]), lan);
        assert_eq!(pick_relay_ip(any, &[lo, v6, lan]), lan);
        assert_eq!(pick_relay_ip(any, &[lo, v6]), lo);
    }
}
