//! Micro-benchmark of the capture's colour conversion (`selkies_x11::yuv`): BGRx → NV12 and
//! I420 of a 1920×1080 frame and of a 64-row band, the SIMD path (`dcv-color-primitives`)
//! against the scalar reference, plus the plain row copy the BGRx capture did before.
//! Prints the median CPU time (one thread) per conversion; numbers in docs/benchmarks.md.
//!
//! `cargo run --release -p selkies-x11 --example yuv_bench [iterations]`

use std::time::Duration;

use selkies_x11::yuv::{BandConverter, FrameFormat, FrameLayout, Matrix, scalar};

const W: u16 = 1920;
const H: u16 = 1080;

/// CPU time this thread has run so far (the machine is shared: wall time would count the
/// time other processes ran).
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Median CPU time of `iters` runs of `f`.
fn time(iters: usize, mut f: impl FnMut()) -> Duration {
    let mut runs: Vec<Duration> = (0..iters)
        .map(|_| {
            let t = cpu_now();
            f();
            cpu_now().saturating_sub(t)
        })
        .collect();
    runs.sort_unstable();
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let iters: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    // A screen-like image: flat areas, gradients and noise.
    let mut seed = 0x1234_5678u32;
    let src: Vec<u8> = (0..usize::from(W) * usize::from(H) * 4)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            if (i / 4096) % 3 == 0 {
                (i % 251) as u8
            } else {
                (seed >> 9) as u8
            }
        })
        .collect();
    println!("BGRx → YUV 4:2:0 at {W}x{H}, median CPU time of {iters} runs, one thread");
    for format in [FrameFormat::Nv12, FrameFormat::I420, FrameFormat::Bgrx] {
        let layout = FrameLayout::new(format, W, H);
        let conv = BandConverter::new(layout, Matrix::Bt709);
        let mut frame = vec![0u8; layout.size];
        let band = 64u16;
        let band_src = &src[..usize::from(band) * usize::from(W) * 4];
        let fast_full = time(iters, || {
            let _ = conv.convert(&src, 0..H, &mut frame);
        });
        let fast_band = time(iters * 10, || {
            let _ = conv.convert(band_src, 500..500 + band, &mut frame);
        });
        let slow_full = time(iters.div_ceil(5), || {
            let _ = scalar::convert(&conv, &src, 0..H, &mut frame);
        });
        let slow_band = time(iters, || {
            let _ = scalar::convert(&conv, band_src, 500..500 + band, &mut frame);
        });
        println!(
            "{:>4}: full frame SIMD {} scalar {} | {band}-row band SIMD {} scalar {}",
            format.caps_name(),
            ms(fast_full),
            ms(slow_full),
            ms(fast_band),
            ms(slow_band),
        );
    }
}
