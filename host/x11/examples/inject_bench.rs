//! Throughput and latency of the injector against the X server on `$DISPLAY`; prints numbers.
//!
//! Run with: `xvfb-run -a cargo run --release -p selkies-x11 --example inject_bench`

use std::time::{Duration, Instant};

use selkies_x11::{InputCommand, InputInjector};

const WAIT: Duration = Duration::from_secs(60);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let input = InputInjector::spawn(None)?;

    let moves = 50_000;
    let start = Instant::now();
    for i in 0..moves {
        input.send(InputCommand::Mouse {
            relative: false,
            x: i % 1920,
            y: (i / 1920) % 1080,
            mask: 0,
            magnitude: 0,
        })?;
    }
    input.sync(WAIT)?;
    report("absolute moves", moves, start.elapsed());

    let taps = 5_000;
    let start = Instant::now();
    for _ in 0..taps {
        for down in [true, false] {
            input.send(InputCommand::Key { keysym: 0x41, down })?; // 'A': Shift + a
        }
    }
    input.sync(WAIT)?;
    report("shifted key taps", taps, start.elapsed());

    // Distinct CJK characters: every tap rebinds a spare keycode.
    let start = Instant::now();
    for i in 0..taps {
        let keysym = 0x0100_4e00 + u32::try_from(i)?;
        for down in [true, false] {
            input.send(InputCommand::Key { keysym, down })?;
        }
    }
    input.sync(WAIT)?;
    report("unmapped key taps (rebinding)", taps, start.elapsed());

    let mut samples: Vec<Duration> = (0..1000)
        .map(|i| {
            let start = Instant::now();
            input.send(InputCommand::Mouse {
                relative: false,
                x: i % 100,
                y: 0,
                mask: 0,
                magnitude: 0,
            })?;
            input.sync(WAIT)?;
            Ok(start.elapsed())
        })
        .collect::<Result<_, selkies_x11::X11Error>>()?;
    samples.sort();
    println!(
        "send+sync latency: p50 {:?}  p99 {:?}",
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100]
    );
    Ok(())
}

fn report(what: &str, n: i32, took: Duration) {
    println!(
        "{what}: {n} in {took:.2?} = {:.0}/s",
        f64::from(n) / took.as_secs_f64()
    );
}
