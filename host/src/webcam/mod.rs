//! The browser's camera on the host (`--enable_webcam`, docs/webcam.md). Started once at
//! start-up: where a writable v4l2loopback device exists the camera is written there, otherwise
//! the frame socket of `selkies-webcam` is served for the webcam interposer. Each audio session
//! whose client opted in (HELLO metadata `"webcam": true`; docs/protocol.md §16 says why the
//! audio connection) gets a receive-only video transceiver
//! whose decoded frames go to that sink ([`receive`]).

pub mod receive;

use std::path::PathBuf;
use std::sync::Arc;

use selkies_webcam::FrameHub;
use tracing::{info, warn};

/// Where decoded camera frames go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// The frame socket for interposed applications.
    Interposer { socket: PathBuf },
    /// A writable v4l2loopback device, written with `v4l2sink`.
    Loopback { device: PathBuf },
}

/// The host's webcam service.
pub struct Webcam {
    pub hub: FrameHub,
    pub sink: Sink,
}

impl Webcam {
    /// Picks the sink and, for the interposer, starts serving the socket. Must run inside the
    /// tokio runtime.
    pub fn start(socket: PathBuf) -> Arc<Webcam> {
        let hub = FrameHub::new();
        let sink = match selkies_webcam::loopback::find_writable() {
            Some(device) => {
                info!(device = %device.display(), "webcam: writing the browser's camera to v4l2loopback");
                Sink::Loopback { device }
            }
            None => {
                let h = hub.clone();
                let path = socket.clone();
                tokio::spawn(async move {
                    if let Err(e) = h.serve(path).await {
                        warn!("webcam socket: {e}");
                    }
                });
                info!(
                    socket = %socket.display(),
                    "webcam: serving the browser's camera to the interposer \
                     (LD_PRELOAD=libselkies_v4l2_interposer.so SELKIES_WEBCAM_SOCKET=…)"
                );
                Sink::Interposer { socket }
            }
        };
        Arc::new(Webcam { hub, sink })
    }
}

impl Drop for Webcam {
    fn drop(&mut self) {
        if let Sink::Interposer { socket } = &self.sink {
            let _ = std::fs::remove_file(socket);
        }
    }
}
