//! Test fixture for the resize and DPI tests: a private Xvfb with a framebuffer of a chosen
//! size, on a display number Xvfb picks itself (`-displayfd`), killed on drop.

#![allow(dead_code)] // each test binary uses a subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An Xvfb server started for one test.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// Starts `Xvfb -screen 0 <size>x24`; returns once it accepts connections.
    pub fn start(size: &str) -> Self {
        let mut child = Command::new("Xvfb")
            // -displayfd: Xvfb picks a free display and prints its number when ready, so
            // parallel tests never race for a number. -noreset: a probe disconnecting must not
            // regenerate the server (that would drop our resources and RandR modes).
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                &format!("{size}x24"),
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (apt install xvfb)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read Xvfb's display number");
        let number: u32 = line.trim().parse().expect("Xvfb printed a display number");
        Self {
            child,
            display: format!(":{number}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM lets Xvfb remove its lock file and socket; SIGKILL would leave them behind.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child's pid; it has not been reaped yet, so the pid
            // cannot have been reused.
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

/// Runs an X client tool against `display` and returns its stdout, or `None` when the tool
/// is not installed (x11-utils / x11-xserver-utils are optional on CI machines).
pub fn tool_output(tool: &str, args: &[&str], display: &str) -> Option<String> {
    let out = Command::new(tool)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .ok()?;
    assert!(out.status.success(), "{tool} {args:?} failed: {out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
