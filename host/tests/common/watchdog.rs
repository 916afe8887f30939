//! A deadline for the integration tests that drive real daemons (PulseAudio, Xvfb) through
//! blocking GStreamer state changes. A test stuck in one of those never fails by itself: libtest
//! only says "running for over 60 seconds", and a panic does not help either, because the async
//! test's runtime waits for its blocking tasks when it is dropped. CI once spent its whole time
//! limit that way (docs/testing.md, "Hangs").
//!
//! [`Watchdog::arm`] starts a thread that, when the limit passes, prints the test's last
//! [`step`] and every thread's stack (through `gdb`, when installed), then exits the process with
//! a failure. [`Watchdog::done`] at the end of the test's body and a drop while the test panics
//! both leave it armed for a short grace: the runtime's teardown, which waits for the blocking
//! tasks, comes after either and has hung too (a `pactl` that never returned). Arm it only in a
//! binary with one test, since it ends the whole process.

use std::io::Write;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a finished or panicking test may take to tear down before the watchdog ends it.
const TEARDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long `gdb` may take to print the stacks.
const GDB_LIMIT: Duration = Duration::from_secs(60);

/// What the test was doing last (printed when the watchdog fires).
static STEP: Mutex<String> = Mutex::new(String::new());

/// Record what the test does now (the bounded waits of the fixtures call it too).
pub fn step(what: &str) {
    let mut s = STEP.lock().unwrap_or_else(|p| p.into_inner());
    s.clear();
    s.push_str(what);
}

fn last_step() -> String {
    STEP.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// An armed deadline; see the module header.
pub struct Watchdog {
    tx: Option<mpsc::Sender<()>>,
}

impl Watchdog {
    /// End the process if `test` is still running after `limit`.
    pub fn arm(test: &'static str, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("test-watchdog".into())
            .spawn(move || {
                let mut deadline = Instant::now() + limit;
                loop {
                    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(()) => {
                            deadline = Instant::now() + TEARDOWN_GRACE;
                            step("tearing down (the runtime waits for its blocking tasks)");
                        }
                        // The process is ending.
                        Err(RecvTimeoutError::Disconnected) => return,
                        Err(RecvTimeoutError::Timeout) => fire(test, limit),
                    }
                }
            })
            .expect("watchdog thread");
        Watchdog { tx: Some(tx) }
    }

    /// The test's body finished: only its teardown is left.
    pub fn done(self) {
        drop(self);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(());
            // The sender outlives the teardown, or the thread would read a disconnect and stop.
            std::mem::forget(tx);
        }
    }
}

/// A line straight to the process's stderr: libtest captures `eprintln!` of a test's threads and
/// would never show it, since the process ends without returning to the harness.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "watchdog: {line}");
}

fn fire(test: &str, limit: Duration) -> ! {
    say(&format!(
        "{test} did not finish within {limit:?}, or its teardown within \
         {TEARDOWN_GRACE:?}; last step: {:?}",
        last_step()
    ));
    print_stacks();
    say("ending the test process");
    // Not `exit`: its atexit handlers could wait on a lock a stuck thread holds.
    // SAFETY: _exit ends the process at once; nothing of it is used afterwards.
    unsafe { libc::_exit(101) }
}

/// Every thread's stack, through `gdb` attached to this process; a note when it cannot.
fn print_stacks() {
    // Under Yama's ptrace_scope=1 only an allowed tracer may attach to this (its parent) process.
    // SAFETY: prctl with these arguments only changes who may trace this process.
    unsafe {
        libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY, 0, 0, 0);
    }
    let gdb = std::process::Command::new("gdb")
        .args(["-batch", "-nx", "-p"])
        .arg(std::process::id().to_string())
        .args(["-ex", "thread apply all bt"])
        .stdin(std::process::Stdio::null())
        .spawn();
    let Ok(mut gdb) = gdb else {
        say("no gdb to print the threads' stacks (apt-get install gdb)");
        return;
    };
    let until = Instant::now() + GDB_LIMIT;
    while Instant::now() < until {
        if let Ok(Some(_)) = gdb.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = gdb.kill();
    let _ = gdb.wait();
    say(&format!("gdb did not finish within {GDB_LIMIT:?}"));
}
