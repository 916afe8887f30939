//! Micro-benchmark of a full-screen capture through MIT-SHM (`selkies_x11::shm_capture`): how
//! long one 1920×1080 change takes from the first fetch to a converted NV12 frame, split into
//! the X server's copies alone and fetch + conversion together, so that the overlap of the two
//! can be judged. Prints the median wall time per frame; numbers in docs/benchmarks.md.
//!
//! Needs an X server with MIT-SHM on `$DISPLAY` (e.g. `Xvfb :97 -screen 0 1920x1080x24`):
//! `DISPLAY=:97 cargo run --release -p selkies-x11 --example capture_bench [frames]`

use std::time::{Duration, Instant};

use selkies_x11::shm_capture::ShmCapture;
use selkies_x11::yuv::{BandConverter, FrameFormat, FrameLayout, Matrix};

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let frames: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let mut cap = ShmCapture::open(None)?;
    let (w, h) = (cap.width(), cap.height());
    let layout = FrameLayout::new(FrameFormat::Nv12, w, h);
    let conv = BandConverter::new(layout, Matrix::for_height(h));
    let mut frame = vec![0u8; layout.size];
    let all_rows = 0..h;
    let whole = std::slice::from_ref(&all_rows);
    let mut fetch_only = Vec::with_capacity(frames);
    let mut fetch_convert = Vec::with_capacity(frames);
    for _ in 0..frames {
        let t = Instant::now();
        cap.fetch_rows(whole, 0..w, |_, _| Ok::<(), ()>(()))?
            .map_err(|()| "sink")?;
        fetch_only.push(t.elapsed());
        let t = Instant::now();
        cap.fetch_rows(whole, 0..w, |rows, bgrx| {
            conv.convert_cols(bgrx, rows, 0..w, &mut frame)
        })??;
        fetch_convert.push(t.elapsed());
    }
    let mut convert_only = Vec::with_capacity(frames);
    let src = vec![0x40u8; usize::from(w) * usize::from(h) * 4];
    for _ in 0..frames {
        let t = Instant::now();
        conv.convert(&src, 0..h, &mut frame)?;
        convert_only.push(t.elapsed());
    }
    // A 1280×720 window in the middle of the screen: the span the capture converts for it.
    let (c0, r0) = (w / 6 / 32 * 32, h / 6 / 2 * 2);
    let (cols, rows) = (c0..c0 + w * 2 / 3, r0..r0 + h * 2 / 3);
    let mut span_only = Vec::with_capacity(frames);
    for _ in 0..frames {
        let t = Instant::now();
        conv.convert_cols(&src, rows.clone(), cols.clone(), &mut frame)?;
        span_only.push(t.elapsed());
    }
    println!(
        "{w}x{h}, {frames} frames, pieces of {} rows: fetch only {:.2} ms, conversion only {:.2} ms, \
         fetch + conversion {:.2} ms; conversion of a {}x{} span {:.2} ms (median wall time per frame)",
        cap.chunk_rows(),
        median(fetch_only),
        median(convert_only),
        median(fetch_convert),
        cols.len(),
        rows.len(),
        median(span_only),
    );
    Ok(())
}
