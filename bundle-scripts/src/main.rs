//! selkies-bundle (work in progress).
fn main() {}
