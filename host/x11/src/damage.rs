//! Screen-change tracking with the DAMAGE extension, so the host can stop capturing and
//! encoding an idle desktop. One thread with its own connection watches the root window and
//! records the time of the latest damage; readers only load an atomic, never block.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::protocol::Event;
use x11rb::protocol::damage::{self, ConnectionExt as _, ReportLevel};
use x11rb::protocol::xproto::ConnectionExt as _;

use crate::X11Error;

/// When the screen last changed, as seen by the damage thread.
#[derive(Debug, Clone)]
pub struct DamageWatch {
    epoch: Instant,
    /// Milliseconds after `epoch` of the latest damage, plus one (0 = none yet).
    last: Arc<AtomicU64>,
}

impl DamageWatch {
    /// Time of the latest damage event, if any.
    pub fn last_damage(&self) -> Option<Instant> {
        match self.last.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(self.epoch + Duration::from_millis(ms - 1)),
        }
    }
}

/// Start watching the root window of `display` (or `$DISPLAY`). The thread lives as long as the
/// X connection does; the host starts one for the whole process.
pub fn spawn_damage_watch(display: Option<&str>) -> Result<DamageWatch, X11Error> {
    let (conn, _, root) = crate::conn::connect(display)?;
    if conn
        .extension_information(damage::X11_EXTENSION_NAME)?
        .is_none()
    {
        return Err(X11Error::MissingExtension("DAMAGE"));
    }
    conn.damage_query_version(1, 1)?.reply()?;
    let id = conn.generate_id()?;
    conn.damage_create(id, root, ReportLevel::NON_EMPTY)?;
    conn.flush()?;
    // Fail now, not in the thread, when the server refuses the request.
    conn.get_input_focus()?.reply()?;

    let watch = DamageWatch {
        epoch: Instant::now(),
        last: Arc::new(AtomicU64::new(0)),
    };
    let shared = watch.clone();
    std::thread::Builder::new()
        .name("x11-damage".into())
        .spawn(move || run(conn, id, shared))
        .map_err(X11Error::Thread)?;
    Ok(watch)
}

fn run(conn: impl Connection, id: damage::Damage, watch: DamageWatch) {
    loop {
        let event = match conn.wait_for_event() {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("damage watch stopped: {e}");
                return;
            }
        };
        if let Event::DamageNotify(_) = event {
            let ms = watch.epoch.elapsed().as_millis() as u64 + 1;
            watch.last.store(ms, Ordering::Relaxed);
            // Re-arm: with NON_EMPTY the server reports again only after the region is cleared.
            if conn.damage_subtract(id, x11rb::NONE, x11rb::NONE).is_err() || conn.flush().is_err()
            {
                return;
            }
        }
    }
}
