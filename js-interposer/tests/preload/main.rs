//! The interposer loaded for real: this program re-executes itself with
//! `LD_PRELOAD=libselkies_joystick_interposer.so` and then, as the child, opens
//! `/dev/input/js*` and `/dev/input/event100*` through every entry point against scripted
//! socket peers: ioctl answers, short and split reads, non-blocking reads, `openat`/`open64`/
//! `fopen`, close/reopen, host-absent behaviour and garbled records.
//!
//! The peer speaks the wire format from `selkies-js-wire` so it can misbehave on purpose (split
//! records, garbage); the real host is exercised by `ci/checks/50-interposer.sh` with jstest and
//! evtest. Set `SELKIES_INTERPOSER_SO` to test another build of the library.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use selkies_js_wire::DeviceConfig;
use selkies_js_wire::event::{EV_KEY, InputEvent};
use selkies_js_wire::ioctl::{
    self as io, EVIOCGID, EVIOCGRAB, JSIOCGAXES, JSIOCGAXMAP, JSIOCGBTNMAP, JSIOCGBUTTONS,
    JSIOCGCORR, JSIOCGVERSION, JSIOCSCORR,
};

const CHILD_ENV: &str = "SELKIES_PRELOAD_TEST_CHILD";
const DIR_ENV: &str = "SELKIES_INTERPOSER_SOCKET_PATH";

fn main() -> ExitCode {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child();
    }
    let so = std::env::var_os("SELKIES_INTERPOSER_SO")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("current_exe");
            // The lib is also an rlib so that cargo builds the cdylib for this test, next to
            // the test binary in target/<profile>/deps/.
            exe.parent()
                .expect("deps dir")
                .join("libselkies_joystick_interposer.so")
        });
    assert!(so.exists(), "{} not built", so.display());
    let dir = std::env::temp_dir().join(format!("selkies-preload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let status = Command::new(std::env::current_exe().expect("current_exe"))
        .env(CHILD_ENV, "1")
        .env("LD_PRELOAD", &so)
        .env(DIR_ENV, &dir)
        .status()
        .expect("spawn child");
    let _ = std::fs::remove_dir_all(&dir);
    println!("preload suite with {}: {status}", so.display());
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

mod garbled;
mod support;

use support::*;

fn child() -> ExitCode {
    let mut s = Suite { failures: 0 };
    host_absent(&mut s);
    js_device(&mut s);
    entry_points(&mut s);
    event_device(&mut s);
    garbled::garbled(&mut s);
    passthrough(&mut s);
    println!("{} failure(s)", s.failures);
    if s.failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn host_absent(s: &mut Suite) {
    let start = Instant::now();
    s.eq(
        "no socket: open js3 fails with ENOENT",
        open("/dev/input/js3", libc::O_RDONLY),
        Err(libc::ENOENT),
    );
    s.check(
        "no socket: fails fast",
        start.elapsed() < Duration::from_millis(200),
    );
    // A socket file nobody listens on (host crashed): ENODEV, also fast.
    let path = dir().join("selkies_js2.sock");
    drop(UnixListener::bind(&path).expect("bind"));
    let start = Instant::now();
    s.eq(
        "stale socket: open js2 fails with ENODEV",
        open("/dev/input/js2", libc::O_RDONLY),
        Err(libc::ENODEV),
    );
    s.check(
        "stale socket: fails fast",
        start.elapsed() < Duration::from_millis(500),
    );
    let _ = std::fs::remove_file(path);
}

fn js_device(s: &mut Suite) {
    let peer = serve("selkies_js0.sock", |mut c| {
        write_split(&mut c, &DeviceConfig::xpad_js().encode_js(), 700);
        thread::sleep(Duration::from_millis(100));
        // One event split across writes, then two at once.
        write_split(&mut c, &js_event(3, 1), 3);
        let mut two = js_event(4, 1).to_vec();
        two.extend_from_slice(&js_event(5, 1));
        c.write_all(&two).expect("write");
        thread::sleep(Duration::from_millis(300));
    });
    let fd = match open("/dev/input/js0", libc::O_RDONLY) {
        Ok(fd) => fd,
        Err(e) => {
            s.check(
                &format!("open js0 with config split in two (errno {e})"),
                false,
            );
            return;
        }
    };
    s.check("open js0 with config split in two", true);
    let mut b = [0u8; 2048];
    s.eq(
        "JSIOCGVERSION",
        ioctl_buf(fd, JSIOCGVERSION, &mut b).map(|_| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        Ok(0x020100),
    );
    s.eq(
        "JSIOCGAXES",
        ioctl_buf(fd, JSIOCGAXES, &mut b).map(|_| b[0]),
        Ok(8),
    );
    s.eq(
        "JSIOCGBUTTONS",
        ioctl_buf(fd, JSIOCGBUTTONS, &mut b).map(|_| b[0]),
        Ok(11),
    );
    let r = ioctl_buf(fd, io::jsiocgname(128), &mut b);
    s.eq(
        "JSIOCGNAME(128)",
        (r, &b[..19]),
        (Ok(19), &b"Selkies Controller\0"[..]),
    );
    b.fill(0xaa);
    let r = ioctl_buf(fd, io::jsiocgname(7), &mut b);
    s.eq(
        "JSIOCGNAME(7) honours the length",
        (r, &b[..8]),
        (Ok(7), &b"Selkies\xaa"[..]),
    );
    let r = ioctl_buf(fd, JSIOCGAXMAP, &mut b);
    s.eq(
        "JSIOCGAXMAP",
        (r, &b[..8]),
        (Ok(64), &[0, 1, 2, 3, 4, 5, 0x10, 0x11][..]),
    );
    let r = ioctl_buf(fd, JSIOCGBTNMAP, &mut b);
    s.eq(
        "JSIOCGBTNMAP",
        (r, u16::from_ne_bytes([b[20], b[21]])),
        (Ok(1024), 0x13e),
    );
    b.fill(0xaa);
    s.eq(
        "JSIOCGCORR zeroes one js_corr per axis",
        (
            ioctl_buf(fd, JSIOCGCORR, &mut b),
            b[..288].iter().all(|&x| x == 0),
            b[288],
        ),
        (Ok(0), true, 0xaa),
    );
    s.eq(
        "JSIOCSCORR accepted",
        ioctl_buf(fd, JSIOCSCORR, &mut b),
        Ok(0),
    );
    s.eq(
        "unknown 'j' request: EINVAL",
        ioctl_buf(fd, io::ioc(io::IOC_READ, b'j', 0x7f, 4), &mut b),
        Err(libc::EINVAL),
    );
    s.eq(
        "evdev request on js fd: EINVAL",
        ioctl_buf(fd, EVIOCGID, &mut b),
        Err(libc::EINVAL),
    );
    let mut small = [0u8; 4];
    s.eq(
        "read smaller than a js_event: EINVAL",
        read(fd, &mut small),
        Err(libc::EINVAL),
    );
    let mut ev = [0u8; 20];
    let n = read(fd, &mut ev);
    s.eq("split event read whole", (n, ev[7], ev[4]), (Ok(8), 3, 1));
    thread::sleep(Duration::from_millis(50));
    let n = read(fd, &mut ev);
    s.eq(
        "read of 20 bytes returns 2 whole events",
        (n, ev[7], ev[15]),
        (Ok(16), 4, 5),
    );
    let _ = peer.join();
    s.eq(
        "host gone: read fails with ENODEV",
        read(fd, &mut ev),
        Err(libc::ENODEV),
    );
    close(fd);
}

fn hold_open(name: &str, rec: Vec<u8>, ms: u64) -> JoinHandle<()> {
    serve(name, move |mut c| {
        c.write_all(&rec).expect("write");
        thread::sleep(Duration::from_millis(ms));
    })
}

fn entry_points(s: &mut Suite) {
    let rec = DeviceConfig::xpad_js().encode_js().to_vec();
    // Non-blocking, then close and reopen on the same socket path.
    let peer = hold_open("selkies_js1.sock", rec.clone(), 300);
    let fd = open("/dev/input/js1", libc::O_RDONLY | libc::O_NONBLOCK);
    let mut ev = [0u8; 8];
    s.eq(
        "O_NONBLOCK honoured: empty read gives EAGAIN",
        fd.and_then(|fd| read(fd, &mut ev)),
        Err(libc::EAGAIN),
    );
    if let Ok(fd) = fd {
        close(fd);
        let mut b = [0u8; 4];
        s.eq(
            "after close the fd is not answered",
            ioctl_buf(fd, JSIOCGAXES, &mut b),
            Err(libc::EBADF),
        );
    }
    let _ = peer.join();
    let peer = hold_open("selkies_js1.sock", rec.clone(), 300);
    let fd = open("/dev/input/js1", libc::O_RDONLY);
    let mut b = [0u8; 4];
    s.eq(
        "reopen after close",
        fd.and_then(|fd| ioctl_buf(fd, JSIOCGBUTTONS, &mut b))
            .map(|_| b[0]),
        Ok(11),
    );
    let blocking = fd.map(|fd| {
        // SAFETY: fcntl on our own fd.
        unsafe { libc::fcntl(fd, libc::F_GETFL) & libc::O_NONBLOCK }
    });
    s.eq("blocking open stays blocking", blocking, Ok(0));
    fd.map(close).ok();
    let _ = peer.join();

    let peer = hold_open("selkies_js1.sock", rec.clone(), 300);
    let p = cpath("/dev/input/js1");
    // SAFETY: valid C string.
    let fd = unsafe { libc::openat(libc::AT_FDCWD, p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    s.eq(
        "openat",
        fd >= 0 && ioctl_buf(fd, JSIOCGAXES, &mut b).is_ok(),
        true,
    );
    // SAFETY: fcntl on our own fd.
    s.eq(
        "O_CLOEXEC honoured",
        unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC,
        libc::FD_CLOEXEC,
    );
    close(fd);
    let _ = peer.join();

    let peer = hold_open("selkies_js1.sock", rec.clone(), 300);
    // SAFETY: valid C string.
    let fd = unsafe { libc::open64(p.as_ptr(), libc::O_RDONLY) };
    s.eq(
        "open64",
        fd >= 0 && ioctl_buf(fd, JSIOCGAXES, &mut b).is_ok(),
        true,
    );
    close(fd);
    let _ = peer.join();

    let peer = hold_open("selkies_js1.sock", rec, 300);
    let mode = cpath("r");
    // SAFETY: valid C strings.
    let file = unsafe { libc::fopen(p.as_ptr(), mode.as_ptr()) };
    s.check("fopen", !file.is_null());
    if !file.is_null() {
        // SAFETY: a FILE we own.
        let fd = unsafe { libc::fileno(file) };
        s.eq(
            "fopen fd answers ioctls",
            ioctl_buf(fd, JSIOCGAXES, &mut b).map(|_| b[0]),
            Ok(8),
        );
        // SAFETY: closing the FILE we opened.
        unsafe { libc::fclose(file) };
    }
    let _ = peer.join();
}

fn event_device(s: &mut Suite) {
    let peer = serve("selkies_event1001.sock", |mut c| {
        write_split(&mut c, &DeviceConfig::xpad_event(1).encode_event(), 1300);
        let mut word = [0u8; 1];
        if c.read_exact(&mut word).is_err() {
            return;
        }
        let ev = InputEvent {
            sec: 1,
            usec: 2,
            kind: EV_KEY,
            code: 0x130,
            value: 1,
        };
        let bytes = ev.encode_with_syn(usize::from(word[0]));
        write_split(&mut c, &bytes, 10);
        thread::sleep(Duration::from_millis(200));
    });
    let Ok(fd) = open("/dev/input/event1001", libc::O_RDONLY) else {
        s.check("open event1001", false);
        return;
    };
    s.check("open event1001 (word-size byte sent back)", true);
    let mut b = [0u8; 256];
    let r = ioctl_buf(fd, io::eviocgname(256), &mut b);
    s.eq(
        "EVIOCGNAME",
        (r, &b[..21]),
        (Ok(21), &b"Selkies Controller 2\0"[..]),
    );
    s.eq(
        "EVIOCGVERSION",
        ioctl_buf(fd, io::EVIOCGVERSION, &mut b)
            .map(|_| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        Ok(0x010001),
    );
    b.fill(0xaa);
    let r = ioctl_buf(fd, io::ioc(io::IOC_READ, b'E', 0x09, 64), &mut b);
    s.eq(
        "EVIOCGPROP: empty, long-sized",
        (r, &b[..9]),
        (Ok(8), &[0, 0, 0, 0, 0, 0, 0, 0, 0xaa][..]),
    );
    b.fill(0xaa);
    let r = ioctl_buf(fd, io::ioc(io::IOC_READ, b'E', 0x18, 96), &mut b);
    s.eq(
        "EVIOCGKEY: all released",
        (r, b[..96].iter().all(|&x| x == 0)),
        (Ok(96), true),
    );
    let r = ioctl_buf(fd, io::eviocgbit(0x15, 16), &mut b);
    s.eq(
        "EVIOCGBIT(EV_FF): no effects",
        (r, b[..16].iter().all(|&x| x == 0)),
        (Ok(16), true),
    );
    s.eq(
        "EVIOCGREP: ENOSYS (no autorepeat)",
        ioctl_buf(fd, io::ioc(io::IOC_READ, b'E', 0x03, 8), &mut b),
        Err(libc::ENOSYS),
    );
    s.eq(
        "EVIOCGID",
        ioctl_buf(fd, EVIOCGID, &mut b).map(|_| b[..8].to_vec()),
        Ok(vec![6, 0, 0x5e, 4, 0x8e, 2, 1, 0]),
    );
    s.eq(
        "EVIOCGBIT(0)",
        ioctl_buf(fd, io::eviocgbit(0, 4), &mut b).map(|n| (n, b[0])),
        Ok((4, 0b1011)),
    );
    let r = ioctl_buf(fd, io::eviocgbit(1, 96), &mut b);
    s.eq(
        "EVIOCGBIT(EV_KEY)",
        (r, b[..96].iter().map(|x| x.count_ones()).sum::<u32>()),
        (Ok(96), 11),
    );
    let r = ioctl_buf(fd, io::eviocgabs(5), &mut b);
    let range = (
        i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        i32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
    );
    s.eq("EVIOCGABS(ABS_RZ) is 0..255", (r, range), (Ok(0), (0, 255)));
    let r = ioctl_buf(fd, io::eviocgabs(0x10), &mut b);
    let range = (
        i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        i32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
    );
    s.eq(
        "EVIOCGABS(ABS_HAT0X) is -1..1",
        (r, range),
        (Ok(0), (-1, 1)),
    );
    s.eq(
        "EVIOCGRAB accepted",
        ioctl_buf(fd, EVIOCGRAB, &mut b),
        Ok(0),
    );
    s.eq(
        "EVIOCGPHYS: ENOENT",
        ioctl_buf(fd, io::ioc(io::IOC_READ, b'E', 0x07, 64), &mut b),
        Err(libc::ENOENT),
    );
    s.eq(
        "EVIOCGEFFECTS: 0",
        ioctl_buf(fd, io::EVIOCGEFFECTS, &mut b).map(|_| b[0]),
        Ok(0),
    );
    s.eq(
        "js request on event fd: EINVAL",
        ioctl_buf(fd, JSIOCGAXES, &mut b),
        Err(libc::EINVAL),
    );
    let mut evs = [0u8; 24 * 4];
    let n = read(fd, &mut evs);
    let first = InputEvent::decode(8, &evs).map(|e| (e.kind, e.code, e.value));
    s.eq(
        "split input_event read whole (record-aligned short read)",
        (n, first),
        (Ok(24), Some((EV_KEY, 0x130, 1))),
    );
    let n = read(fd, &mut evs);
    let syn = InputEvent::decode(8, &evs).map(|e| (e.kind, e.code, e.value));
    s.eq("then its SYN_REPORT", (n, syn), (Ok(24), Some((0, 0, 0))));
    close(fd);
    let _ = peer.join();
}

fn passthrough(s: &mut Suite) {
    let fd = open("/dev/null", libc::O_RDONLY);
    let mut b = [0u8; 4];
    s.eq(
        "other paths reach the real open",
        fd.and_then(|fd| read(fd, &mut b)),
        Ok(0),
    );
    fd.map(close).ok();
    let mut fds = [0; 2];
    // SAFETY: pipe writes two fds.
    unsafe { libc::pipe(fds.as_mut_ptr()) };
    // SAFETY: writing 3 bytes from a static buffer.
    unsafe { libc::write(fds[1], b"abc".as_ptr().cast(), 3) };
    s.eq(
        "other fds reach the real read (partial reads allowed)",
        read(fds[0], &mut b),
        Ok(3),
    );
    close(fds[0]);
    close(fds[1]);
}
