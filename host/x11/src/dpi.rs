//! DPI and cursor size for whatever desktop runs on the display (docs/protocol.md §4.1 `s`, §5.9).
//!
//! The legacy host only knew XFCE (`xfconf-query`). Here the settings go where every toolkit
//! looks without a desktop-specific daemon:
//! - `Xft.dpi` and `Xcursor.size` in the root window's `RESOURCE_MANAGER` property (what
//!   `xrdb -merge` writes): read by Xlib/Xft, Qt, GTK without an XSETTINGS manager, Chromium,
//!   Firefox, and libXcursor; other resources in the property are kept byte for byte;
//! - the screen's physical size through RandR, so the core-protocol DPI (`xdpyinfo`, Java, old
//!   Xt applications) matches (what `xrandr --dpi` does).
//!
//! An XSETTINGS manager (XFCE, GNOME, xsettingsd) overrides `Xft.dpi` for GTK. Its
//! `_XSETTINGS_SETTINGS` property belongs to the manager, which rewrites it at will, so we
//! only read it and report what it publishes; changing it is the desktop's business
//! (docs/desktop.md says how for each).

mod resources;
mod xsettings;

use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::errors::{ConnectError, ConnectionError, ReplyError};
use x11rb::protocol::randr::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, PropMode, Window};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

pub use resources::merge_resources;
pub use xsettings::{XSetting, parse_xsettings};

use crate::X11Error;

/// What [`set_dpi`] found besides what it wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct DpiReport {
    /// Whether RandR accepted the new physical screen size (false without RandR 1.2).
    pub physical_size_set: bool,
    /// Whether an XSETTINGS manager owns `_XSETTINGS_S<screen>`.
    pub xsettings_manager: bool,
    /// The `Xft/DPI` the manager publishes, in dots per inch (the wire value is ×1024);
    /// `None` when no manager runs, it publishes none, or its property cannot be parsed.
    pub xsettings_dpi: Option<f64>,
}

/// Why [`set_dpi`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DpiError {
    /// Connecting or talking to the X server failed.
    #[error(transparent)]
    X11(#[from] X11Error),
    /// A DPI of 0 or above 10000 (or such a cursor size) would break every client.
    #[error("refusing DPI {dpi} / cursor size {cursor_size:?}")]
    OutOfRange {
        /// Requested DPI.
        dpi: u32,
        /// Requested cursor size.
        cursor_size: Option<u32>,
    },
}

impl From<ConnectError> for DpiError {
    fn from(e: ConnectError) -> Self {
        Self::X11(e.into())
    }
}

impl From<ConnectionError> for DpiError {
    fn from(e: ConnectionError) -> Self {
        Self::X11(e.into())
    }
}

impl From<ReplyError> for DpiError {
    fn from(e: ReplyError) -> Self {
        Self::X11(e.into())
    }
}

/// Sets `Xft.dpi` (and `Xcursor.size` when given) in `RESOURCE_MANAGER`, and the screen's
/// physical size to match `dpi`, on `display` (or `$DISPLAY`). The host calls it for `s,<ratio>`
/// with `dpi = 96 × ratio` and `cursor_size = 16 × ratio`. Applications started afterwards
/// pick the values up; running ones mostly keep theirs.
pub fn set_dpi(
    display: Option<&str>,
    dpi: u32,
    cursor_size: Option<u32>,
) -> Result<DpiReport, DpiError> {
    if !(1..=10_000).contains(&dpi) || cursor_size.is_some_and(|c| !(1..=1024).contains(&c)) {
        return Err(DpiError::OutOfRange { dpi, cursor_size });
    }
    let (conn, screen, root) = crate::conn::connect(display)?;

    let mut updates = vec![("Xft.dpi", dpi.to_string())];
    if let Some(size) = cursor_size {
        updates.push(("Xcursor.size", size.to_string()));
    }
    {
        // Read-modify-write of a property other clients (xrdb, session managers) also write.
        conn.grab_server()?;
        let written = write_resources(&conn, root, &updates);
        let released = conn.ungrab_server().map(drop).and_then(|()| conn.flush());
        written?;
        released?;
    }

    let physical_size_set = set_physical_dpi(&conn, root, dpi)?;
    let (xsettings_manager, xsettings_dpi) = read_xsettings_dpi(&conn, screen)?;
    if xsettings_manager {
        let wanted = f64::from(dpi);
        match xsettings_dpi {
            Some(published) if (published - wanted).abs() < 0.5 => {}
            Some(published) => tracing::warn!(
                "an XSETTINGS manager publishes Xft/DPI {published}: GTK applications use it \
                 rather than Xft.dpi {dpi}; set the DPI in the desktop's settings"
            ),
            None => tracing::info!("an XSETTINGS manager runs without Xft/DPI; Xft.dpi applies"),
        }
    }
    tracing::info!(dpi, ?cursor_size, physical_size_set, "DPI set");
    Ok(DpiReport {
        physical_size_set,
        xsettings_manager,
        xsettings_dpi,
    })
}

/// Reads a whole property as bytes (any type), `None` when it does not exist.
fn read_property(
    conn: &RustConnection,
    window: Window,
    property: u32,
) -> Result<Option<Vec<u8>>, X11Error> {
    let mut data = Vec::new();
    loop {
        // Offsets and lengths are in 4-byte units; 64 KiB a round trip.
        let offset = u32::try_from(data.len() / 4).unwrap_or(u32::MAX);
        let reply = conn
            .get_property(false, window, property, AtomEnum::ANY, offset, 16_384)?
            .reply()?;
        if reply.type_ == x11rb::NONE {
            return Ok(None);
        }
        data.extend_from_slice(&reply.value);
        if reply.bytes_after == 0 || reply.value.is_empty() {
            return Ok(Some(data));
        }
    }
}

fn write_resources(
    conn: &RustConnection,
    root: Window,
    updates: &[(&str, String)],
) -> Result<(), DpiError> {
    let atom = u32::from(AtomEnum::RESOURCE_MANAGER);
    let existing = read_property(conn, root, atom)?.unwrap_or_default();
    let merged = merge_resources(&existing, updates);
    conn.change_property8(PropMode::REPLACE, root, atom, AtomEnum::STRING, &merged)?
        .check()?;
    Ok(())
}

/// Sets the screen's millimetre size so that its core DPI is `dpi`; false without RandR 1.2.
fn set_physical_dpi(conn: &RustConnection, root: Window, dpi: u32) -> Result<bool, DpiError> {
    if conn
        .extension_information(randr::X11_EXTENSION_NAME)?
        .is_none()
    {
        return Ok(false);
    }
    let version = conn.randr_query_version(1, 6)?.reply()?;
    if (version.major_version, version.minor_version) < (1, 2) {
        return Ok(false);
    }
    let geometry = conn.get_geometry(root)?.reply()?;
    let mm = |px: u16| ((f64::from(px) * 25.4 / f64::from(dpi)).round() as u32).max(1);
    conn.randr_set_screen_size(
        root,
        geometry.width,
        geometry.height,
        mm(geometry.width),
        mm(geometry.height),
    )?
    .check()?;
    Ok(true)
}

/// (manager present, its Xft/DPI in dots per inch).
fn read_xsettings_dpi(
    conn: &RustConnection,
    screen: usize,
) -> Result<(bool, Option<f64>), DpiError> {
    let intern = |name: &str| -> Result<u32, DpiError> {
        Ok(conn.intern_atom(false, name.as_bytes())?.reply()?.atom)
    };
    let selection = intern(&format!("_XSETTINGS_S{screen}"))?;
    let owner = conn.get_selection_owner(selection)?.reply()?.owner;
    if owner == x11rb::NONE {
        return Ok((false, None));
    }
    let settings_atom = intern("_XSETTINGS_SETTINGS")?;
    // The manager may exit between the two requests: its window is then gone (BadWindow).
    let data = match read_property(conn, owner, settings_atom) {
        Ok(data) => data,
        Err(X11Error::Request(e)) => {
            tracing::debug!("XSETTINGS manager window vanished: {e}");
            return Ok((false, None));
        }
        Err(e) => return Err(e.into()),
    };
    let dpi = data
        .and_then(|d| match parse_xsettings(&d) {
            Ok(settings) => Some(settings),
            Err(e) => {
                tracing::debug!("unreadable _XSETTINGS_SETTINGS: {e}");
                None
            }
        })
        .and_then(|settings| {
            settings.into_iter().find_map(|(name, value)| match value {
                XSetting::Integer(v) if name == "Xft/DPI" => Some(f64::from(v) / 1024.0),
                _ => None,
            })
        });
    Ok((true, dpi))
}
