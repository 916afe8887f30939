//! The private Xvfb server of a test, started and stopped by the test itself. One file for the
//! test suites of `selkies-x11` and `selkies-host` (the host's `tests/common` includes it by
//! path), so the fixture exists once.

#![allow(dead_code)] // each test binary uses a subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private Xvfb, stopped on drop.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// A 1920x1080 screen.
    pub fn start() -> Self {
        Self::start_with(1920, 1080, &[])
    }

    /// A `width`×`height` screen.
    pub fn sized(width: u32, height: u32) -> Self {
        Self::start_with(width, height, &[])
    }

    /// A screen of `size` (`"WxH"`).
    pub fn with_size(size: &str) -> Self {
        let (w, h) = size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .expect("size is WxH");
        Self::start_with(w, h, &[])
    }

    /// Starts Xvfb with extra server arguments (e.g. `-extension MIT-SHM`); returns once it
    /// accepts connections.
    ///
    /// `-displayfd`: Xvfb chooses a free display and prints its number once it accepts
    /// connections, so parallel tests (and other test runs on the machine) never race for a
    /// number, and lock files left by killed servers do not exhaust a fixed range. `-noreset`:
    /// a probe disconnecting must not regenerate the server (that would drop our resources and
    /// RandR modes).
    pub fn start_with(width: u32, height: u32, extra: &[&str]) -> Self {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                &format!("{width}x{height}x24"),
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (ci/install-deps)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        match (read, line.trim().parse::<u32>()) {
            (Ok(_), Ok(n)) => Xvfb {
                child,
                display: format!(":{n}"),
            },
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("Xvfb did not start (printed {line:?})");
            }
        }
    }

    /// Kill the server now (fault tests); dropping it afterwards is harmless.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM first: Xvfb then removes its lock file and socket, which SIGKILL leaves behind.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child, not yet reaped, so the pid cannot be reused.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
