//! The OS side of MIT-SHM capture: a System V shared-memory segment the X server writes screen
//! rows into, and waiting on the connection's socket (and a wake-up socket) with a timeout. The
//! only unsafe code of the crate lives here, behind a safe interface.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// A private segment, attached in this process; detached and removed on drop.
#[derive(Debug)]
pub(crate) struct ShmSegment {
    id: libc::c_int,
    ptr: *mut u8,
    len: usize,
    removed: bool,
}

// SAFETY: the mapping is plain memory owned by this value; it moves between threads with it.
unsafe impl Send for ShmSegment {}

impl ShmSegment {
    pub(crate) fn new(len: usize) -> io::Result<Self> {
        // SAFETY: shmget has no memory-safety preconditions.
        let id = unsafe { libc::shmget(libc::IPC_PRIVATE, len, libc::IPC_CREAT | 0o600) };
        if id < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: attaching a segment we just created, at an address the kernel chooses.
        let ptr = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        if ptr as isize == -1 {
            let err = io::Error::last_os_error();
            // SAFETY: removing the id we created; nothing is attached.
            unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
            return Err(err);
        }
        Ok(Self {
            id,
            ptr: ptr.cast(),
            len,
            removed: false,
        })
    }

    pub(crate) fn id(&self) -> u32 {
        self.id as u32
    }

    /// Mark the segment for removal once every attachment is gone. Call it after the X server
    /// has attached, so a crash of either side cannot leak it.
    pub(crate) fn remove_id(&mut self) {
        if !self.removed {
            // SAFETY: IPC_RMID on our own segment id.
            unsafe { libc::shmctl(self.id, libc::IPC_RMID, std::ptr::null_mut()) };
            self.removed = true;
        }
    }

    /// The segment's bytes, writable (the server writes them only while a `ShmGetImage` is in
    /// flight, and callers use them only after that request's reply; `&mut self` keeps other
    /// slices away meanwhile).
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` maps `len` bytes for as long as `self` lives; exclusive through `&mut`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        self.remove_id();
        // SAFETY: detaching the address shmat returned; no slices of it outlive `self`.
        unsafe { libc::shmdt(self.ptr.cast()) };
    }
}

/// Waits until `fd` or `other` is readable or `timeout` passes; says which are readable (none
/// on a timeout or a signal).
pub(crate) fn wait_readable_either(
    fd: &impl AsRawFd,
    other: Option<&dyn AsRawFd>,
    timeout: Duration,
) -> io::Result<(bool, bool)> {
    let poll_fd = |fd: libc::c_int| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let mut pfds = [
        poll_fd(fd.as_raw_fd()),
        // A negative descriptor is ignored by poll.
        poll_fd(other.map_or(-1, |o| o.as_raw_fd())),
    ];
    // ppoll, not poll: poll's whole milliseconds would end a sub-millisecond wait at once, and
    // the capture's pacing would spin until its frame is due.
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 10^9: fits every c_long.
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: two valid pollfds and one timespec for the duration of the call; no signal mask.
    let n = unsafe { libc::ppoll(pfds.as_mut_ptr(), 2, &ts, std::ptr::null()) };
    match n {
        n if n < 0 => {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                Ok((false, false))
            } else {
                Err(err)
            }
        }
        0 => Ok((false, false)),
        _ => Ok((pfds[0].revents != 0, pfds[1].revents != 0)),
    }
}
