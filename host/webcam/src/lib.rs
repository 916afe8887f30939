//! selkies-webcam: the host's side of the webcam socket (docs/webcam.md). A [`FrameHub`] takes
//! decoded camera frames from whoever produces them (the host's WebRTC receive pipeline, or
//! `webcam-feed`'s test pattern) and serves them to every interposed application connected to
//! the unix socket: each client is told the format as soon as it is known, then gets the newest
//! frame for each credit it grants. A slow client skips frames; it never holds up the producer
//! or the other clients, and a client sending anything but credits is dropped.

pub mod hub;
pub mod loopback;
pub mod pattern;

pub use hub::{FrameHub, HubError};
