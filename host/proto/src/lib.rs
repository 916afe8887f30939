//! selkies-proto (work in progress).
