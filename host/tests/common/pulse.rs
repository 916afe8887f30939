//! PulseAudio fixtures for the audio tests: a private daemon with a `vsink` null sink on a
//! socket in the test's directory (started, killed and restarted by the test itself), the
//! environment that points `pulsesrc` at it, and a bounded wait for a condition.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use selkies_host::media::audio_source;

/// A `pulseaudio` daemon owned by the test; killed when dropped.
pub struct Pulse(Child);

impl Pulse {
    /// Starts a daemon on `dir/native` and waits until it answers.
    pub fn start(dir: &Path) -> Pulse {
        super::watchdog::step("starting PulseAudio");
        let sock = dir.join("native");
        let _ = std::fs::remove_file(&sock);
        let child = Command::new("pulseaudio")
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--use-pid-file=no",
                &format!(
                    "--load=module-native-protocol-unix auth-anonymous=1 socket={}",
                    sock.display()
                ),
                "--load=module-null-sink sink_name=vsink",
            ])
            .env("HOME", dir)
            .env("XDG_RUNTIME_DIR", dir)
            .env("PULSE_RUNTIME_PATH", dir.join("runtime"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pulseaudio must be installed (ci/install-deps)");
        let pulse = Pulse(child);
        for _ in 0..100 {
            if sock.exists() && audio_source::pulse_available().is_ok() {
                return pulse;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("PulseAudio did not start");
    }

    /// Kills the daemon now (a crash, as far as its clients can tell).
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Points PulseAudio clients of this process (`pulsesrc`, `pactl`) at the daemon [`Pulse::start`]
/// runs on `dir`. Call it first, before any thread of the test binary reads the environment (one
/// test per binary).
pub fn use_daemon_in(dir: &Path) {
    // SAFETY: see above; nothing else runs yet.
    unsafe {
        std::env::set_var(
            "PULSE_SERVER",
            format!("unix:{}", dir.join("native").display()),
        );
    }
}

/// Waits (bounded, generously) until `cond` holds.
pub async fn until(what: &str, secs: u64, cond: impl Fn() -> bool) {
    super::watchdog::step(what);
    for _ in 0..secs * 20 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within {secs} s");
}
