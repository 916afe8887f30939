//! Test fixtures: a private Xvfb server started and stopped by the test itself, and the HELLO
//! frame of a browser.

use base64::Engine;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// Start Xvfb with the given screen size on a display number Xvfb picks itself.
    pub fn start(width: u32, height: u32) -> Xvfb {
        Self::start_with(width, height, &[])
    }

    /// [`Xvfb::start`] with extra server arguments (e.g. `-extension MIT-SHM`).
    ///
    /// `-displayfd`: Xvfb chooses a free display and prints its number once it accepts
    /// connections, so parallel tests (and other test runs on the machine) never race for a
    /// number, and lock files left by killed servers do not exhaust a fixed range.
    pub fn start_with(width: u32, height: u32, extra: &[&str]) -> Xvfb {
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
}

impl Xvfb {
    /// Kill the server now (fault tests); dropping it afterwards is harmless.
    #[allow(dead_code)]
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

/// A browser's `HELLO 1 <meta>` (docs/protocol.md §3.2), with our client's takeover token when
/// given (docs/security.md).
#[allow(dead_code)]
pub fn hello(token: Option<&str>) -> String {
    let mut meta = serde_json::json!({ "res": "1280x720", "scale": 1 });
    if let Some(t) = token {
        meta["token"] = t.into();
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(meta.to_string());
    format!("HELLO 1 {b64}")
}
