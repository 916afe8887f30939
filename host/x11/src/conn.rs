//! Opening a connection and finding the root window: the first steps of every X11 service in
//! this crate (input, damage, clipboard, cursor, resize, DPI).

use x11rb::connection::Connection;
use x11rb::protocol::xproto::Window;
use x11rb::rust_connection::RustConnection;

use crate::X11Error;

/// The root window of `screen`.
pub(crate) fn root_of(conn: &impl Connection, screen: usize) -> Result<Window, X11Error> {
    conn.setup()
        .roots
        .get(screen)
        .map(|s| s.root)
        .ok_or(X11Error::NoScreen(screen))
}

/// Connect to `display` (or `$DISPLAY`); returns the connection, its screen and root window.
pub(crate) fn connect(display: Option<&str>) -> Result<(RustConnection, usize, Window), X11Error> {
    let (conn, screen) = RustConnection::connect(display)?;
    let root = root_of(&conn, screen)?;
    Ok((conn, screen, root))
}
