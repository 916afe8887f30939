//! selkies-host library.
