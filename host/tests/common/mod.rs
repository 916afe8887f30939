//! Test fixtures: a private Xvfb server started and stopped by the test itself.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// Start Xvfb on the first free display from :80 with the given screen size.
    pub fn start(width: u32, height: u32) -> Xvfb {
        Self::start_with(width, height, &[])
    }

    /// [`Xvfb::start`] with extra server arguments (e.g. `-extension MIT-SHM`).
    pub fn start_with(width: u32, height: u32, extra: &[&str]) -> Xvfb {
        for n in 80..120 {
            if Path::new(&format!("/tmp/.X{n}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .arg(format!(":{n}"))
                .args([
                    "-screen",
                    "0",
                    &format!("{width}x{height}x24"),
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb must be installed (ci/install-deps)");
            let socket = format!("/tmp/.X11-unix/X{n}");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if Path::new(&socket).exists() {
                    return Xvfb {
                        child,
                        display: format!(":{n}"),
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("Xvfb :{n} did not start");
        }
        panic!("no free X display number");
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
