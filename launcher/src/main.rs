//! selkies-gstreamer-run (work in progress).
fn main() {}
