//! selkies_v4l2_interposer: an `LD_PRELOAD` library that presents a webcam at `/dev/video0`
//! (`SELKIES_WEBCAM_DEVICE`) to V4L2 applications without any kernel module, fed with the
//! browser's camera by the host over a unix socket (`SELKIES_WEBCAM_SOCKET`); docs/webcam.md.
//!
//! Module map:
//! - [`hooks`]: the exported `open*`/`close`/`ioctl`/`read`/`mmap*`/`stat*` hooks.
//! - [`device`]: the fd table and the I/O each ioctl outcome needs (buffers, credits, frames).
//! - [`state`]: the pure V4L2 state machine (formats, buffers, queue, answers).
//! - [`io`]: the socket: connect, credits, whole-record receive with deadlines.
//! - [`real`]: the real libc functions (`dlsym(RTLD_NEXT)`, resolved once).
//! - [`log`]: opt-in diagnostics (`SELKIES_WEBCAM_LOG`).
//!
//! The fd an application gets is the connected socket itself, so `poll`, `select` and `epoll`
//! work natively: it is readable when a granted frame has arrived, which is when `DQBUF` or
//! `read` will not block. `munmap` needs no hook: the buffers are mappings of a memfd.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod device;
pub mod hooks;
pub mod io;
pub mod log;
pub mod real;
pub mod state;
