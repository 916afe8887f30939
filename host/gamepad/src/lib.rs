//! selkies-gamepad (work in progress).
