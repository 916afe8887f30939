//! selkies-x11: X11 input injection (XTest) on a dedicated OS thread.
#![forbid(unsafe_code)]

pub mod keyboard;
pub mod keymap;
pub mod keysym;
pub mod mouse;
pub mod planner;
