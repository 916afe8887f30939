//! selkies_joystick_interposer: an `LD_PRELOAD` library that makes `/dev/input/js0..3` and
//! `/dev/input/event1000..1003` readable inside containers without `/dev/uinput`, by turning
//! their `open` into a connection to the host's unix sockets (docs/protocol.md §7).
//!
//! Module map:
//! - [`hooks`]: the exported `open*`/`fopen*`/`close`/`ioctl`/`read` hooks.
//! - [`device`]: socket connection, config handshake, fd table, record-aligned reads.
//! - [`answer`]: pure ioctl answers computed from the config record.
//! - [`real`]: the real libc functions (`dlsym(RTLD_NEXT)`, resolved once).
//! - [`log`]: opt-in diagnostics (`SELKIES_INTERPOSER_LOG`).
//!
//! `epoll_ctl`, `poll` and `select` are deliberately not hooked: the fd is a real socket, so
//! readiness works natively; the legacy branch hooked `epoll_ctl` only to force `O_NONBLOCK`,
//! which breaks applications that read blocking.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod answer;
pub mod device;
pub mod hooks;
pub mod log;
pub mod real;
