//! selkies-x11 (work in progress).
