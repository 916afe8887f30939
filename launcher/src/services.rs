//! The desktop services the legacy launcher provided: an Xvfb when no X server answers on
//! `$DISPLAY`, a PulseAudio with a null sink when no PulseAudio socket answers. Both are host
//! programs, so they get the user's environment (never bundle paths).
//!
//! The launcher then execs the host, so nothing waits for these children: each is started with
//! `PR_SET_PDEATHSIG=SIGTERM`, which fires when the launcher's process — by then the host —
//! exits, and in its own process group so a terminal Ctrl-C reaches only the host, which then
//! shuts down in order and takes them with it.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::EnvMap;
use crate::vars;

/// The local display number of `$DISPLAY` (`:1`, `:1.0`, `unix:1`); `None` for a remote or
/// malformed display, which the launcher leaves alone.
pub fn local_display(display: &str) -> Option<u32> {
    let rest = display
        .strip_prefix("unix:")
        .or_else(|| display.strip_prefix(':'))?;
    let number = rest.split('.').next()?;
    number.parse().ok()
}

/// Whether an X server accepts connections on display `n` (abstract or filesystem socket).
pub fn x_answers(n: u32) -> bool {
    let path = format!("/tmp/.X11-unix/X{n}");
    if let Ok(addr) = SocketAddr::from_abstract_name(path.as_bytes())
        && UnixStream::connect_addr(&addr).is_ok()
    {
        return true;
    }
    UnixStream::connect(&path).is_ok()
}

/// Where the PulseAudio native socket is: `PULSE_SERVER` (`unix:/p` or `/p`), else
/// `$PULSE_RUNTIME_PATH/native`, else `$XDG_RUNTIME_DIR/pulse/native`, else `/tmp/pulse/native`
/// (the legacy launcher's defaults). `None` when PULSE_SERVER names a remote server.
pub fn pulse_socket(env: &EnvMap) -> Option<PathBuf> {
    let get = |k: &str| env.get(OsStr::new(k)).filter(|v| !v.is_empty());
    if let Some(server) = get(vars::PULSE_SERVER) {
        let bytes = server.as_bytes();
        let path = bytes.strip_prefix(b"unix:").unwrap_or(bytes);
        return path
            .starts_with(b"/")
            .then(|| PathBuf::from(OsStr::from_bytes(path)));
    }
    if let Some(runtime) = get(vars::PULSE_RUNTIME_PATH) {
        return Some(PathBuf::from(runtime).join("native"));
    }
    let base = get(vars::XDG_RUNTIME_DIR).map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    Some(base.join("pulse/native"))
}

/// Finds `program` on the user's `PATH`.
pub fn which(program: &str, env: &EnvMap) -> Option<PathBuf> {
    let path = env.get(OsStr::new(vars::PATH))?;
    path.as_bytes()
        .split(|b| *b == b':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(OsStr::from_bytes(d)).join(program))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| {
                    m.is_file()
                        && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
                })
                .unwrap_or(false)
        })
}

/// The smallest framebuffer the launcher gives Xvfb (see [`ensure_x`]).
pub const XVFB_MIN_FRAMEBUFFER: (u32, u32) = (3840, 2160);

/// Xvfb's command line (legacy extensions, a fixed screen of the requested size).
pub fn xvfb_args(display: u32, size: (u32, u32)) -> Vec<String> {
    let mut args = vec![
        format!(":{display}"),
        "-screen".into(),
        "0".into(),
        format!("{}x{}x24", size.0, size.1),
    ];
    for ext in [
        "COMPOSITE",
        "DAMAGE",
        "GLX",
        "RANDR",
        "RENDER",
        "MIT-SHM",
        "XFIXES",
        "XTEST",
    ] {
        args.push("+extension".into());
        args.push(ext.into());
    }
    args.extend(
        [
            "+iglx",
            "+render",
            "-nolisten",
            "tcp",
            "-ac",
            "-noreset",
            "-shmem",
            // The SECURITY extension refuses XFixes GetCursorImage (BadAccess) for cursors whose
            // creator has exited (a root cursor set by a short-lived tool), hiding them from
            // the browser; nothing in a single-user virtual desktop needs it.
            "-extension",
            "SECURITY",
        ]
        .map(String::from),
    );
    args
}

/// PulseAudio's command line: no default script, only a native socket at `socket` and a null
/// sink that the host's `pulsesrc` records from (its monitor).
pub fn pulseaudio_args(socket: &Path) -> Vec<OsString> {
    // Quoted: PulseAudio splits module arguments on spaces; `ensure_pulse` refuses '"'.
    let mut native = OsString::from("module-native-protocol-unix auth-anonymous=1 socket=\"");
    native.push(socket);
    native.push("\"");
    let mut args: Vec<OsString> = [
        "--daemonize=no",
        "--use-pid-file=no",
        "--exit-idle-time=-1",
        "--disallow-exit",
        "-n",
        "--load",
    ]
    .map(OsString::from)
    .to_vec();
    args.push(native);
    args.extend(
        [
            "--load",
            "module-null-sink sink_name=selkies_sink sink_properties=device.description=Selkies",
            "--load",
            "module-always-sink",
        ]
        .map(OsString::from),
    );
    args
}

/// A started service.
#[derive(Debug)]
pub struct Started {
    pub name: &'static str,
    pub pid: u32,
    pub log: PathBuf,
}

/// Starts `program` with the user's environment, tied to this process's lifetime.
fn spawn(program: &Path, args: &[OsString], env: &EnvMap, log: &Path) -> io::Result<Child> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: only async-signal-safe calls (prctl, getppid, kill) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::kill(libc::getpid(), libc::SIGTERM);
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// Polls `ready` until it holds, the child exits, or `timeout` passes.
fn wait_ready(
    child: &mut Child,
    timeout: Duration,
    ready: impl Fn() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited early ({status})"));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("not ready after {} s", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn log_dir(env: &EnvMap) -> PathBuf {
    env.get(OsStr::new(vars::LOGDIR))
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

/// Starts Xvfb on `display` when nothing answers there; `Ok(None)` when not needed or not
/// installed (the host then reports the missing display itself).
pub fn ensure_x(num: u32, size: (u32, u32), env: &EnvMap) -> Result<Option<Started>, String> {
    if x_answers(num) {
        return Ok(None);
    }
    let Some(xvfb) = which("Xvfb", env) else {
        tracing::warn!("no X server answers on :{num} and Xvfb is not installed");
        return Ok(None);
    };
    let log = log_dir(env).join(format!("Xvfb_selkies-{num}.log"));
    // Xvfb cannot grow its framebuffer later: start it at least 4K so the host's remote resize
    // (RandR) has room, then shrink the visible screen to the requested size.
    let framebuffer = (
        size.0.max(XVFB_MIN_FRAMEBUFFER.0),
        size.1.max(XVFB_MIN_FRAMEBUFFER.1),
    );
    let args: Vec<OsString> = xvfb_args(num, framebuffer)
        .into_iter()
        .map(OsString::from)
        .collect();
    let mut child = spawn(&xvfb, &args, env, &log).map_err(|e| format!("Xvfb: {e}"))?;
    wait_ready(&mut child, Duration::from_secs(15), || x_answers(num))
        .map_err(|e| format!("Xvfb on :{num} {e}; see {}", log.display()))?;
    if framebuffer != size
        && let Err(e) = selkies_x11::resize::resize_screen(Some(&format!(":{num}")), size.0, size.1)
    {
        tracing::warn!(
            "Xvfb started at {}x{}; resizing to {}x{} failed: {e}",
            framebuffer.0,
            framebuffer.1,
            size.0,
            size.1
        );
    }
    Ok(Some(Started {
        name: "Xvfb",
        pid: child.id(),
        log,
    }))
}

/// Starts PulseAudio on `socket` when nothing answers there.
pub fn ensure_pulse(socket: &Path, env: &EnvMap) -> Result<Option<Started>, String> {
    if UnixStream::connect(socket).is_ok() {
        return Ok(None);
    }
    if socket.as_os_str().as_bytes().contains(&b'"') {
        return Err(format!(
            "PulseAudio socket path {} contains '\"'",
            socket.display()
        ));
    }
    let Some(pulse) = which("pulseaudio", env) else {
        tracing::warn!(
            "no PulseAudio at {} and pulseaudio is not installed",
            socket.display()
        );
        return Ok(None);
    };
    let dir = socket.parent().unwrap_or(Path::new("/tmp"));
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    // A stale socket file from a dead daemon blocks the bind.
    let _ = std::fs::remove_file(socket);
    let mut daemon_env = env.clone();
    daemon_env.insert(vars::PULSE_RUNTIME_PATH.into(), dir.as_os_str().to_owned());
    let log = log_dir(env).join("pulseaudio_selkies.log");
    let mut child = spawn(&pulse, &pulseaudio_args(socket), &daemon_env, &log)
        .map_err(|e| format!("pulseaudio: {e}"))?;
    wait_ready(&mut child, Duration::from_secs(15), || {
        UnixStream::connect(socket).is_ok()
    })
    .map_err(|e| {
        format!(
            "pulseaudio at {} {e}; see {}",
            socket.display(),
            log.display()
        )
    })?;
    Ok(Some(Started {
        name: "PulseAudio",
        pid: child.id(),
        log,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::map;

    #[test]
    fn displays() {
        assert_eq!(local_display(":0"), Some(0));
        assert_eq!(local_display(":12.0"), Some(12));
        assert_eq!(local_display("unix:3"), Some(3));
        assert_eq!(local_display("remote:0"), None);
        assert_eq!(local_display(":x"), None);
        assert_eq!(local_display(""), None);
    }

    #[test]
    fn pulse_socket_resolution() {
        assert_eq!(
            pulse_socket(&map(&[("PULSE_SERVER", "unix:/run/p/native")])),
            Some("/run/p/native".into())
        );
        assert_eq!(
            pulse_socket(&map(&[("PULSE_SERVER", "/s")])),
            Some("/s".into())
        );
        assert_eq!(
            pulse_socket(&map(&[("PULSE_SERVER", "tcp:host:4713")])),
            None
        );
        assert_eq!(
            pulse_socket(&map(&[("PULSE_RUNTIME_PATH", "/r")])),
            Some("/r/native".into())
        );
        assert_eq!(
            pulse_socket(&map(&[("XDG_RUNTIME_DIR", "/run/user/1")])),
            Some("/run/user/1/pulse/native".into())
        );
        assert_eq!(pulse_socket(&map(&[])), Some("/tmp/pulse/native".into()));
    }

    #[test]
    fn command_lines() {
        let x = xvfb_args(99, (1280, 720));
        assert_eq!(&x[..4], [":99", "-screen", "0", "1280x720x24"]);
        assert!(x.windows(2).any(|w| w == ["+extension", "XTEST"]));
        let p = pulseaudio_args(Path::new("/tmp/a b/native"));
        assert!(p.contains(&OsString::from(
            "module-native-protocol-unix auth-anonymous=1 socket=\"/tmp/a b/native\""
        )));
        assert!(p.contains(&OsString::from("-n")));
    }

    #[test]
    fn which_needs_an_executable_file() {
        let env = map(&[("PATH", "/nonexistent::/bin")]);
        assert!(which("sh", &env).is_some());
        assert!(which("selkies-surely-not-here", &env).is_none());
        assert!(which("sh", &map(&[])).is_none());
    }
}
