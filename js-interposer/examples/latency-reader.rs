//! Benchmark reader for `ci/bench-interposer`: run under `LD_PRELOAD`, it reads
//! `/dev/input/event1000` like a game and measures, for each `ABS_X` event, the time from the
//! host stamping it (the `input_event` timestamp, taken when the service accepts the message)
//! to `read()` returning it here. Prints count, median, p99 and max in microseconds.
//!
//! Usage: latency-reader <events>

use std::ffi::c_void;
use std::time::{SystemTime, UNIX_EPOCH};

use selkies_js_wire::InputEvent;
use selkies_js_wire::event::EV_ABS;

fn main() {
    let want: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    // SAFETY: valid C string.
    let fd = unsafe { libc::open(c"/dev/input/event1000".as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        eprintln!("latency-reader: open: {}", std::io::Error::last_os_error());
        std::process::exit(1);
    }
    let mut lat_us: Vec<i64> = Vec::with_capacity(want);
    let mut buf = [0u8; 24 * 64];
    while lat_us.len() < want {
        // SAFETY: reading into an owned buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast::<c_void>(), buf.len()) };
        if n <= 0 {
            eprintln!("latency-reader: read: {}", std::io::Error::last_os_error());
            break;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let now_us = now.as_secs() as i64 * 1_000_000 + i64::from(now.subsec_micros());
        for rec in buf[..n as usize].chunks_exact(24) {
            let Some(ev) = InputEvent::decode(8, rec) else {
                continue;
            };
            // The initial state carries ABS_X = 0; the benchmark only sends ±16384.
            if ev.kind == EV_ABS && ev.code == 0 && ev.value != 0 {
                lat_us.push(now_us - (ev.sec * 1_000_000 + ev.usec));
            }
        }
    }
    lat_us.sort_unstable();
    if lat_us.is_empty() {
        eprintln!("latency-reader: no events");
        std::process::exit(1);
    }
    let pct = |p: f64| lat_us[((lat_us.len() - 1) as f64 * p).round() as usize];
    println!(
        "events {}  median {} us  p99 {} us  max {} us",
        lat_us.len(),
        pct(0.5),
        pct(0.99),
        lat_us[lat_us.len() - 1]
    );
}
