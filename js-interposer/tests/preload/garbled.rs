//! Garbled peers: truncated and silent hosts, and random records with random ioctl requests
//! whose answers must stay inside the caller's buffer.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use proptest::prelude::Rng as _;
use proptest::test_runner::{RngAlgorithm, TestRng};
use selkies_js_wire::ioctl as io;

use super::support::{Suite, close, ioctl_buf, open, read, serve};

pub fn garbled(s: &mut Suite) {
    // Truncated record then hang-up: the open fails like a missing device.
    let peer = serve("selkies_js1.sock", |mut c| {
        let _ = c.write_all(&[1u8; 100]);
    });
    s.eq(
        "truncated config: ENODEV",
        open("/dev/input/js1", libc::O_RDONLY),
        Err(libc::ENODEV),
    );
    let _ = peer.join();
    // Host accepts but never answers: the open gives up instead of hanging the game.
    let peer = serve("selkies_js1.sock", |_c| {
        thread::sleep(Duration::from_millis(2500))
    });
    let start = Instant::now();
    s.eq(
        "silent host: ENODEV",
        open("/dev/input/js1", libc::O_RDONLY),
        Err(libc::ENODEV),
    );
    s.check(
        "silent host: gives up within 2 s",
        start.elapsed() < Duration::from_secs(2),
    );
    let _ = peer.join();
    // Random records and random requests: answers stay inside the caller's buffer.
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut survived = 0;
    for round in 0..40 {
        let mut junk = vec![0u8; 1354 + 64];
        rng.fill_bytes(&mut junk);
        let (name, path) = if round % 2 == 0 {
            ("selkies_js1.sock", "/dev/input/js1")
        } else {
            ("selkies_event1001.sock", "/dev/input/event1001")
        };
        let peer = serve(name, move |mut c| {
            let _ = c.write_all(&junk);
            thread::sleep(Duration::from_millis(30));
        });
        if let Ok(fd) = open(path, libc::O_RDONLY | libc::O_NONBLOCK) {
            let mut buf = vec![0u8; 70_000];
            for _ in 0..200 {
                let ty = if rng.next_u64() & 1 == 0 { b'j' } else { b'E' };
                let dir = (rng.next_u64() % 4) as u32;
                let size = (rng.next_u64() % 2048) as usize;
                let req = io::ioc(dir, ty, rng.next_u64() as u8, size);
                let guard = buf.len() - 4096;
                buf[guard..].fill(0x5a);
                let _ = ioctl_buf(fd, req, &mut buf[..guard]);
                assert!(
                    buf[guard..].iter().all(|&x| x == 0x5a),
                    "ioctl {req:#x} wrote past its buffer"
                );
            }
            let _ = read(fd, &mut buf[..4096]);
            close(fd);
            survived += 1;
        }
        let _ = peer.join();
    }
    s.check(
        &format!("40 garbled devices x 200 random ioctls, no crash ({survived} opened)"),
        survived > 0,
    );
}
