//! The frame hub and its unix-socket server.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use selkies_v4l2_wire::frame::{CREDIT_LEN, FrameHeader, MAX_CREDITS, PixFmt, parse_credit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

/// Errors of the socket server.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("binding the webcam socket {path}: {source}")]
    Bind {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("frame rejected: {0}")]
    Frame(#[from] selkies_v4l2_wire::frame::WireError),
    #[error("frame of {got} bytes, its header says {expected}")]
    Length { got: usize, expected: u32 },
}

/// A frame older than this is not sent: the camera was turned off or the producer stalled,
/// and an application must not take an old picture for a live one.
const STALE_US: u64 = 1_000_000;

/// The size of the placeholder an application streams while the browser's camera is off: the
/// device exists whenever the host's webcam feature is on, because applications probe cameras
/// once at start-up. The application keeps the size it opened with; camera frames of another
/// size are scaled to it by the interposer.
pub const PLACEHOLDER_SIZE: (u32, u32) = (640, 480);
/// Placeholder frames per second (what the device reports in `G_PARM`).
const PLACEHOLDER_FPS: u64 = 30;

/// A black I420 frame (limited range: Y 16, U and V 128).
pub fn placeholder_frame(width: u32, height: u32) -> Vec<u8> {
    let y = width as usize * height as usize;
    let mut f = vec![16u8; y];
    f.resize(y + y / 2, 128);
    f
}

/// One published frame.
#[derive(Debug)]
pub struct Frame {
    pub header: FrameHeader,
    pub data: Vec<u8>,
}

/// Where frames are published and clients counted. Cheap to clone.
#[derive(Clone)]
pub struct FrameHub {
    latest: Arc<watch::Sender<Option<Arc<Frame>>>>,
    clients: Arc<AtomicUsize>,
    seq: Arc<AtomicU64>,
}

impl Default for FrameHub {
    fn default() -> Self {
        Self::new()
    }
}

/// Microseconds of CLOCK_MONOTONIC (what V4L2 buffer timestamps use).
pub fn monotonic_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

impl FrameHub {
    pub fn new() -> FrameHub {
        FrameHub {
            latest: Arc::new(watch::channel(None).0),
            clients: Arc::new(AtomicUsize::new(0)),
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Publishes a tightly packed frame. Callable from any thread (GStreamer's streaming
    /// thread included): it never blocks.
    pub fn publish(
        &self,
        format: PixFmt,
        width: u32,
        height: u32,
        data: Vec<u8>,
    ) -> Result<(), HubError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let header = FrameHeader::frame(format, width, height, seq, monotonic_us())?;
        if data.len() != header.payload_len as usize {
            return Err(HubError::Length {
                got: data.len(),
                expected: header.payload_len,
            });
        }
        self.latest
            .send_replace(Some(Arc::new(Frame { header, data })));
        Ok(())
    }

    /// Applications connected right now.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::Relaxed)
    }

    /// Frames published so far.
    pub fn published(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// Binds `path` (replacing a stale socket file) and serves clients until the task is
    /// dropped. The socket is readable and writable by the user only.
    pub async fn serve(self, path: PathBuf) -> Result<(), HubError> {
        let listener = bind(&path)?;
        info!(path = %path.display(), "webcam socket listening");
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let hub = self.clone();
                    tokio::spawn(async move {
                        hub.clients.fetch_add(1, Ordering::Relaxed);
                        if let Err(e) = hub.client(stream).await {
                            debug!("webcam client ended: {e}");
                        }
                        hub.clients.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                Err(e) => {
                    warn!("webcam socket accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn client(&self, stream: UnixStream) -> std::io::Result<()> {
        let (mut rd, mut wr) = stream.into_split();
        let mut rx = self.latest.subscribe();
        let mut credits: u32 = 0;
        let mut last_sent: Option<u64> = None;
        // The client's size is fixed at connect: the camera's if it is on, else the placeholder's.
        let first = rx.borrow_and_update().clone();
        let live = |f: &Option<Arc<Frame>>| {
            f.clone()
                .filter(|f| monotonic_us().saturating_sub(f.header.timestamp_us) < STALE_US)
        };
        let (width, height) = live(&first)
            .map(|f| (f.header.width, f.header.height))
            .unwrap_or(PLACEHOLDER_SIZE);
        let ann = FrameHeader::frame(PixFmt::I420, width, height, 0, monotonic_us())
            .map_err(std::io::Error::other)?;
        let announce = FrameHeader {
            payload_len: 0,
            ..ann
        };
        wr.write_all(&announce.encode()).await?;
        // Credits are read on their own task: read_exact is not cancel-safe inside select!.
        let (credit_tx, mut credits_rx) = mpsc::unbounded_channel::<u32>();
        let reader = tokio::spawn(async move {
            let mut rec = [0u8; CREDIT_LEN];
            while rd.read_exact(&mut rec).await.is_ok() {
                match parse_credit(&rec) {
                    Ok(n) => {
                        if credit_tx.send(n).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        warn!("webcam client sent garbage ({e}); dropping it");
                        break;
                    }
                }
            }
        });
        let period = std::time::Duration::from_micros(1_000_000 / PLACEHOLDER_FPS);
        let mut next_placeholder = tokio::time::Instant::now();
        let mut black: Option<Vec<u8>> = None;
        let result = loop {
            let frame = live(&rx.borrow_and_update().clone());
            if credits > 0 {
                let sent = match &frame {
                    Some(f) if last_sent != Some(f.header.seq) => {
                        last_sent = Some(f.header.seq);
                        Some(self.send(&mut wr, &f.header, &f.data).await)
                    }
                    None if tokio::time::Instant::now() >= next_placeholder => {
                        next_placeholder = tokio::time::Instant::now() + period;
                        let data = black.get_or_insert_with(|| placeholder_frame(width, height));
                        let header = FrameHeader {
                            seq: self.seq.load(Ordering::Relaxed),
                            timestamp_us: monotonic_us(),
                            ..ann
                        };
                        Some(self.send(&mut wr, &header, data).await)
                    }
                    _ => None,
                };
                match sent {
                    Some(Ok(())) => credits -= 1,
                    Some(Err(e)) => break Err(e),
                    None => {}
                }
            }
            // With a frame wanted, wake for the next placeholder, or when the frame sent last
            // goes stale (the camera was turned off: placeholders resume).
            let wake = match &frame {
                _ if credits == 0 => None,
                None => Some(next_placeholder),
                Some(f) => {
                    let age = monotonic_us().saturating_sub(f.header.timestamp_us);
                    let left = std::time::Duration::from_micros(STALE_US.saturating_sub(age));
                    Some(tokio::time::Instant::now() + left)
                }
            };
            tokio::select! {
                n = credits_rx.recv() => match n {
                    Some(n) => credits = (credits + n).min(MAX_CREDITS),
                    None => break Ok(()),
                },
                changed = rx.changed() => if changed.is_err() { break Ok(()) },
                _ = tokio::time::sleep_until(wake.unwrap_or(next_placeholder)), if wake.is_some() => {}
            }
        };
        reader.abort();
        result
    }
}

impl FrameHub {
    async fn send(
        &self,
        wr: &mut tokio::net::unix::OwnedWriteHalf,
        header: &FrameHeader,
        data: &[u8],
    ) -> std::io::Result<()> {
        wr.write_all(&header.encode()).await?;
        wr.write_all(data).await
    }
}

fn bind(path: &Path) -> Result<UnixListener, HubError> {
    let err = |source| HubError::Bind {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use selkies_v4l2_wire::frame::{HEADER_LEN, encode_credit};

    /// A client of the hub at `path`, once the spawned server listens.
    async fn connect(path: &std::path::Path) -> UnixStream {
        loop {
            match UnixStream::connect(path).await {
                Ok(s) => return s,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }

    async fn read_header(s: &mut UnixStream) -> FrameHeader {
        let mut h = [0u8; HEADER_LEN];
        s.read_exact(&mut h).await.unwrap();
        FrameHeader::parse(&h).unwrap()
    }

    #[tokio::test]
    async fn a_client_gets_the_format_then_one_frame_per_credit() {
        let dir = std::env::temp_dir().join(format!("selkies-webcam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.sock");
        let hub = FrameHub::new();
        let server = tokio::spawn(hub.clone().serve(path.clone()));
        let frame = |v: u8| vec![v; 4 * 2 * 3 / 2];
        hub.publish(PixFmt::I420, 4, 2, frame(1)).unwrap();
        let mut s = connect(&path).await;
        let ann = read_header(&mut s).await;
        assert!(ann.is_announcement());
        assert_eq!((ann.width, ann.height), (4, 2));
        s.write_all(&encode_credit(1)).await.unwrap();
        let h = read_header(&mut s).await;
        assert_eq!(h.payload_len, 12);
        let mut data = [0u8; 12];
        s.read_exact(&mut data).await.unwrap();
        assert_eq!(data, [1; 12]);
        // Without a credit the next frame is not sent; with one it is.
        hub.publish(PixFmt::I420, 4, 2, frame(2)).unwrap();
        s.write_all(&encode_credit(1)).await.unwrap();
        let h2 = read_header(&mut s).await;
        assert!(h2.seq > h.seq);
        s.read_exact(&mut data).await.unwrap();
        assert_eq!(data, [2; 12]);
        assert_eq!(hub.clients(), 1);
        // Garbage instead of a credit: the host drops the client.
        s.write_all(b"garbage!").await.unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        assert!(hub.publish(PixFmt::I420, 4, 2, vec![0; 3]).is_err());
        server.abort();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn before_the_camera_a_client_streams_placeholders_then_the_camera() {
        let dir = std::env::temp_dir().join(format!("selkies-webcam-ph-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.sock");
        let hub = FrameHub::new();
        let server = tokio::spawn(hub.clone().serve(path.clone()));
        let mut s = connect(&path).await;
        // No camera yet: the device still exists, at the placeholder size.
        let ann = read_header(&mut s).await;
        assert!(ann.is_announcement());
        assert_eq!((ann.width, ann.height), PLACEHOLDER_SIZE);
        let (w, h) = PLACEHOLDER_SIZE;
        let size = (w * h * 3 / 2) as usize;
        s.write_all(&encode_credit(2)).await.unwrap();
        let mut data = vec![0u8; size];
        for _ in 0..2 {
            let ph = read_header(&mut s).await;
            assert_eq!((ph.width, ph.height, ph.payload_len as usize), (w, h, size));
            s.read_exact(&mut data).await.unwrap();
            assert_eq!(data, placeholder_frame(w, h));
        }
        // The camera starts in another size: its frames come as they are (the interposer
        // scales them to the size the client opened with).
        hub.publish(PixFmt::I420, 4, 2, vec![9; 12]).unwrap();
        s.write_all(&encode_credit(1)).await.unwrap();
        let mut got = read_header(&mut s).await;
        // A placeholder may have been on its way when the frame was published.
        while got.width == w {
            s.read_exact(&mut data).await.unwrap();
            s.write_all(&encode_credit(1)).await.unwrap();
            got = read_header(&mut s).await;
        }
        assert_eq!((got.width, got.height, got.payload_len), (4, 2, 12));
        let mut frame = [0u8; 12];
        s.read_exact(&mut frame).await.unwrap();
        assert_eq!(frame, [9; 12]);
        server.abort();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
