//! The accept loop of the HTTP(S) port, with the limits `axum::serve` lacks: a per-IP cap on
//! open connections, a header-read timeout (slow-header clients are dropped), TLS handshakes
//! off the accept path, and a shutdown with a deadline — on the signal the listener closes,
//! browsers are told (WebSocket close 1001 through [`Signalling::shutdown`]), idle keep-alive
//! connections end, and whatever is still open after `--shutdown_timeout` is abandoned.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::{debug, info, warn};

use crate::turn_relay::{self, TurnRelay};
use crate::ws::Signalling;

/// Limits of the listener (`--header_read_timeout`, `--max_connections_per_ip`,
/// `--shutdown_timeout`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    /// `None`: unlimited.
    pub max_connections_per_ip: Option<u32>,
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections_per_ip: Some(64),
            shutdown_timeout: Duration::from_secs(3),
        }
    }
}

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections per client address. A slot is released when its guard drops, whatever
/// way the connection ended.
#[derive(Default)]
struct PerIp {
    open: Mutex<HashMap<IpAddr, u32>>,
}

struct Slot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn acquire(self: &Arc<Self>, ip: IpAddr, max: Option<u32>) -> Option<Slot> {
        let mut open = crate::sync::lock(&self.open);
        let n = open.entry(ip).or_insert(0);
        if max.is_some_and(|m| *n >= m) {
            return None;
        }
        *n += 1;
        Some(Slot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = crate::sync::lock(&self.table.open);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// A connection's byte stream carrying its per-IP slot: the slot lives as long as the socket,
/// also after an upgrade hands the socket to a WebSocket task.
/// `pending` is a first byte already read to decide TURN vs HTTP under TLS (a TLS stream
/// cannot be peeked); it is handed out before the rest.
struct SlotIo<I> {
    io: I,
    _slot: Slot,
    pending: Option<u8>,
}

impl<I: AsyncRead + Unpin> AsyncRead for SlotIo<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let me = self.get_mut();
        if let Some(b) = me.pending
            && buf.remaining() > 0
        {
            buf.put_slice(&[b]);
            me.pending = None;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut me.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for SlotIo<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Serves `app` on `tcp` (TLS when `tls` is given) until `shutdown` resolves, then drains for at
/// most `limits.shutdown_timeout`.
pub async fn serve(
    tcp: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    signalling: Arc<Signalling>,
    limits: Limits,
    turn: Option<TurnRelay>,
    shutdown: impl Future<Output = ()>,
) {
    let per_ip = Arc::new(PerIp::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let tls = tls.map(TlsAcceptor::from);
    let mut refused: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = tcp.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    debug!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = per_ip.acquire(addr.ip(), limits.max_connections_per_ip) else {
            refused += 1;
            // One line per power of two, so a flood cannot flood the log.
            if refused.is_power_of_two() {
                warn!(ip = %addr.ip(), refused, "connection refused: --max_connections_per_ip reached");
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        let stop = stop_rx.clone();
        let turn = turn.clone();
        tokio::spawn(async move {
            // One port for everything: STUN/TURN framing (first byte 0x00-0x01) goes to the
            // embedded relay, the rest to TLS or HTTP (docs/connectivity.md).
            if let Some(turn) = &turn
                && first_byte_is_turn(&stream, limits.header_read_timeout).await
            {
                if let Err(e) = turn_relay::serve_tcp(turn, stream).await {
                    debug!(%addr, "TURN over TCP ended: {e:#}");
                }
                drop(slot);
                return;
            }
            match tls {
                None => {
                    serve_conn(
                        SlotIo {
                            io: stream,
                            _slot: slot,
                            pending: None,
                        },
                        addr,
                        app,
                        limits,
                        stop,
                    )
                    .await
                }
                Some(acceptor) => {
                    let local = stream.local_addr();
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(mut s)) => {
                            let mut pending = None;
                            if let (Some(turn), Ok(local)) = (&turn, local) {
                                let mut b = [0u8; 1];
                                match tokio::time::timeout(
                                    limits.header_read_timeout,
                                    s.read(&mut b),
                                )
                                .await
                                {
                                    Ok(Ok(1)) if turn_relay::is_turn_first_byte(b[0]) => {
                                        // `turns:`: TURN inside TLS on the same port.
                                        if let Err(e) =
                                            turn_relay::serve_stream(turn, s, &b, addr, local).await
                                        {
                                            debug!(%addr, "TURN over TLS ended: {e:#}");
                                        }
                                        drop(slot);
                                        return;
                                    }
                                    Ok(Ok(1)) => pending = Some(b[0]),
                                    // Closed, failed or silent past the header-read timeout.
                                    _ => return,
                                }
                            }
                            let io = SlotIo {
                                io: s,
                                _slot: slot,
                                pending,
                            };
                            serve_conn(io, addr, app, limits, stop).await
                        }
                        Ok(Err(e)) => debug!(%addr, "TLS handshake failed: {e}"),
                        Err(_) => debug!(%addr, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(tcp);
    // Only the connections' receivers may keep the drain below waiting.
    drop(stop_rx);
    info!("listener closed; telling sessions and draining connections");
    signalling.shutdown();
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_timeout, stop_tx.closed()).await;
    if drained.is_err() {
        info!(
            open = stop_tx.receiver_count(),
            "connections still open after --shutdown_timeout; exiting anyway"
        );
    }
}

/// Waits (at most `timeout`) for the connection's first byte without consuming it. A client
/// that says nothing is left to the HTTP path, whose header-read timeout closes it.
async fn first_byte_is_turn(stream: &tokio::net::TcpStream, timeout: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(timeout, stream.peek(&mut byte)).await,
        Ok(Ok(1)) if turn_relay::is_turn_first_byte(byte[0])
    )
}

async fn serve_conn<I>(
    io: I,
    addr: SocketAddr,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(addr));
        app.clone().oneshot(req)
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                debug!(%addr, "connection ended: {e}");
            }
            return;
        }
        _ = stop.wait_for(|s| *s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_slots_are_capped_and_released() {
        let table = Arc::new(PerIp::default());
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let s1 = table.acquire(a, Some(2)).expect("first");
        let _s2 = table.acquire(a, Some(2)).expect("second");
        assert!(table.acquire(a, Some(2)).is_none());
        assert!(table.acquire(b, Some(2)).is_some());
        drop(s1);
        assert!(table.acquire(a, Some(2)).is_some());
        assert!(table.acquire(a, None).is_some());
    }
}
