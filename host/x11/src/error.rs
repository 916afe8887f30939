//! The crate's error type. It wraps x11rb's errors without tying callers to a connection type.

use x11rb::errors::{ConnectError, ConnectionError, ReplyError, ReplyOrIdError};

/// Everything that can go wrong while injecting input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum X11Error {
    /// The X server could not be reached (bad `DISPLAY`, no socket, authorization refused).
    #[error("cannot connect to the X server: {0}")]
    Connect(#[from] ConnectError),
    /// The connection broke.
    #[error("X connection failed: {0}")]
    Connection(#[from] ConnectionError),
    /// A request was refused by the server or the connection broke while waiting for it.
    #[error("X request failed: {0}")]
    Request(#[from] ReplyError),
    /// The server's setup names no screen with the requested number.
    #[error("the X server has no screen {0}")]
    NoScreen(usize),
    /// XTest is what injects input; without it nothing can work.
    #[error("the X server lacks the XTEST extension")]
    NoXTest,
    /// A required X extension (DAMAGE, XFIXES, RANDR…) is not offered by the server.
    #[error("the X server lacks the {0} extension")]
    MissingExtension(&'static str),
    /// The OS refused to start the injector thread.
    #[error("cannot start an X11 thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The injector thread has exited (the X connection was lost).
    #[error("the X11 thread has stopped")]
    Stopped,
    /// [`crate::InputHandle::sync`] gave up waiting.
    #[error("timed out waiting for the X11 thread")]
    Timeout,
}

impl X11Error {
    /// Whether the connection is unusable (as opposed to one request being refused).
    pub(crate) fn is_fatal(&self) -> bool {
        !matches!(self, Self::Request(ReplyError::X11Error(_)))
    }
}

impl From<ReplyOrIdError> for X11Error {
    fn from(e: ReplyOrIdError) -> Self {
        match e {
            ReplyOrIdError::ConnectionError(c) => Self::Connection(c),
            ReplyOrIdError::X11Error(x) => Self::Request(ReplyError::X11Error(x)),
            // Running out of resource ids is a broken connection for our purposes.
            ReplyOrIdError::IdsExhausted => Self::Connection(ConnectionError::UnknownError),
        }
    }
}
