//! Running bundled ELFs: always through a loader given explicitly (the host's or the bundled
//! `ld-linux-x86-64.so.2`) with `--library-path`, so no `LD_LIBRARY_PATH` is ever exported
//! and children of the host are untouched. `--argv0` keeps the program's name for its own
//! messages; the loader then becomes `/proc/self/exe`, which is why `SELKIES_ROOT` is exported.
//!
//! Also runs the probe helper as a child with a time limit: a hung or crashing GPU driver
//! costs the probe, never the launcher.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::EnvMap;
use crate::probe::GpuReport;

/// How to start a bundled program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loader {
    pub path: PathBuf,
    pub library_path: OsString,
}

impl Loader {
    /// The loader's arguments for running `target` as `argv0` with `args`.
    pub fn argv(&self, argv0: &OsStr, target: &Path, args: &[OsString]) -> Vec<OsString> {
        let mut out: Vec<OsString> = Vec::with_capacity(args.len() + 6);
        out.push("--library-path".into());
        out.push(self.library_path.clone());
        out.push("--argv0".into());
        out.push(argv0.to_owned());
        out.push(target.as_os_str().to_owned());
        out.extend(args.iter().cloned());
        out
    }

    fn command(&self, argv0: &OsStr, target: &Path, args: &[OsString], env: &EnvMap) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.args(self.argv(argv0, target, args))
            .env_clear()
            .envs(env);
        cmd
    }

    /// Replaces this process with `target`; returns only on failure.
    pub fn exec(
        &self,
        argv0: &OsStr,
        target: &Path,
        args: &[OsString],
        env: &EnvMap,
    ) -> std::io::Error {
        self.command(argv0, target, args, env).exec()
    }

    /// Runs the probe helper and parses its JSON report.
    pub fn run_probe_helper(
        &self,
        helper: &Path,
        env: &EnvMap,
        timeout: Duration,
    ) -> Result<GpuReport, String> {
        if !helper.is_file() {
            return Err(format!("{} is missing", helper.display()));
        }
        let mut child = self
            .command(OsStr::new("selkies-gpu-probe"), helper, &[], env)
            // stdin inherited, not /dev/null: a bare chroot may have no /dev.
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.path.display()))?;
        let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
        // Readers on their own threads so a chatty driver cannot fill a pipe and stall.
        let out = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        let err = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let deadline = Instant::now() + timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "probe helper timed out after {} s",
                        timeout.as_secs()
                    ));
                }
                Err(e) => return Err(format!("waiting for the probe helper: {e}")),
            }
        };
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        if !status.success() {
            let tail = String::from_utf8_lossy(&stderr);
            let tail = tail.trim();
            let tail = &tail[tail.len().saturating_sub(300)..];
            return Err(format!("probe helper failed ({status}): {tail}"));
        }
        serde_json::from_slice(&stdout).map_err(|e| format!("probe helper output: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn loader_argv_keeps_arguments_verbatim() {
        let loader = Loader {
            path: "/b/lib/glibc/ld-linux-x86-64.so.2".into(),
            library_path: "/b/lib/glibc:/b/lib".into(),
        };
        let args = vec![
            OsString::from("--addr=0.0.0.0"),
            OsString::from("two words"),
            OsString::from_vec(b"\xff".to_vec()),
            OsString::from("--library-path"),
        ];
        let argv = loader.argv(
            OsStr::new("selkies-gstreamer"),
            Path::new("/b/libexec/selkies-gstreamer"),
            &args,
        );
        assert_eq!(
            argv[..5],
            [
                OsString::from("--library-path"),
                "/b/lib/glibc:/b/lib".into(),
                "--argv0".into(),
                "selkies-gstreamer".into(),
                "/b/libexec/selkies-gstreamer".into(),
            ]
        );
        assert_eq!(
            argv[5..],
            args[..],
            "after the target, ld.so stops parsing options"
        );
    }
}
