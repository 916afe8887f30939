//! The PulseAudio virtual microphone (docs/microphone.md): a null sink `SelkiesMic` that the
//! host plays the browser's microphone into, and `selkies_mic`, its monitor remapped into an
//! ordinary source (applications list monitors apart, or hide them), made the default source so
//! desktop apps record from it with no configuration. Created when missing, removed at exit
//! (only the modules this process loaded). Talks to PulseAudio through `pactl`, like an
//! administrator would; the output parsers are pure and unit-tested.
//!
//! Making `selkies_mic` the default source would also make the host's own desktop-audio
//! capture (a `pulsesrc` on the default source) record the microphone; so the previous
//! default source is kept, and the audio pipeline names it explicitly ([`capture_device`]).

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

/// The null sink the decoded microphone is played into.
pub const SINK: &str = "SelkiesMic";
/// The source applications record from.
pub const SOURCE: &str = "selkies_mic";

/// Why PulseAudio could not be asked through `pactl` (here, and for the capture's pause in
/// `media/pulse_streams.rs`).
#[derive(Debug, thiserror::Error)]
pub enum PactlError {
    #[error("cannot run pactl: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("pactl {args} failed: {stderr}")]
    Pactl { args: String, stderr: String },
    #[error("pactl {args} did not answer within {limit:?} (ended)")]
    Timeout { args: String, limit: Duration },
}

/// How long one `pactl` call may take. It answers in milliseconds, but when the daemon dies in
/// the middle of a call, Debian's libpulse 16 can leave `pactl` spinning at full CPU forever
/// (seen in a CI run: the audio pause's listing never returned).
const PACTL_LIMIT: Duration = Duration::from_secs(5);

/// What this process changed in PulseAudio, undone by [`teardown`].
#[derive(Debug, Default)]
struct Loaded {
    modules: Vec<u32>,
    previous_default_source: Option<String>,
}

static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);
/// The source the desktop-audio capture must name once the default source is the microphone.
static CAPTURE_DEVICE: Mutex<Option<String>> = Mutex::new(None);

/// The `pulsesrc device=` for desktop audio: `None` keeps PulseAudio's default source.
pub fn capture_device() -> Option<String> {
    crate::sync::lock(&CAPTURE_DEVICE).clone()
}

/// Runs `pactl args` and returns its output. `LC_ALL=C`: its listings are translated, and the
/// parsers read the English keys. Ended after [`PACTL_LIMIT`].
pub(crate) fn pactl(args: &[&str]) -> Result<String, PactlError> {
    let mut cmd = Command::new("pactl");
    cmd.args(args).env("LC_ALL", "C");
    let Some(out) = run_bounded(cmd, PACTL_LIMIT)? else {
        return Err(PactlError::Timeout {
            args: args.join(" "),
            limit: PACTL_LIMIT,
        });
    };
    if !out.status.success() {
        return Err(PactlError::Pactl {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `cmd`'s output, or None when it ran longer than `limit` (it is then killed).
fn run_bounded(mut cmd: Command, limit: Duration) -> std::io::Result<Option<Output>> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read both pipes while waiting: a long listing would fill a pipe and stall the child.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    let bytes = |reader: std::thread::JoinHandle<Vec<u8>>| reader.join().unwrap_or_default();
    Ok(Some(Output {
        status,
        stdout: bytes(stdout),
        stderr: bytes(stderr),
    }))
}

/// Everything `pipe` yields, read on a thread of its own.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// The value of `key` (e.g. `Default Source`) in `pactl info` output.
pub fn info_field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key)
            .then(|| v.trim())
            .filter(|v| !v.is_empty())
    })
}

/// Whether `pactl list short sinks|sources` output has an entry named `name`.
pub fn listed(short_list: &str, name: &str) -> bool {
    listed_index(short_list, name).is_some()
}

/// The index of the entry named `name` in `pactl list short sinks|sources` (index, name,
/// driver, …).
pub fn listed_index(short_list: &str, name: &str) -> Option<u32> {
    short_list.lines().find_map(|l| {
        let mut cols = l.split('\t');
        let index = cols.next()?.trim().parse().ok()?;
        (cols.next()? == name).then_some(index)
    })
}

/// The sink's monitor: where the desktop audio is when the old default was our own device.
fn is_ours(source: &str) -> bool {
    source == SOURCE || source == format!("{SINK}.monitor")
}

/// Creates the sink and source when missing and (with `make_default`) makes the source the
/// default. Idempotent: a second call finds them. Blocking (runs `pactl`).
pub fn ensure(make_default: bool) -> Result<(), PactlError> {
    let mut guard = crate::sync::lock(&LOADED);
    let loaded = guard.get_or_insert_with(Loaded::default);
    let info = pactl(&["info"])?;
    let default_source = info_field(&info, "Default Source").map(str::to_owned);
    if !listed(&pactl(&["list", "short", "sinks"])?, SINK) {
        let default_sink = info_field(&info, "Default Sink").map(str::to_owned);
        let id = load(&[
            "module-null-sink",
            &format!("sink_name={SINK}"),
            "rate=48000",
            "channels=1",
            "sink_properties=device.description=Selkies-Microphone-Sink",
        ])?;
        loaded.modules.push(id);
        // A fresh sink may become the default one (no other sink, or a policy module): desktop
        // sound must not go into the microphone.
        if let Some(sink) = default_sink
            && sink != SINK
        {
            let _ = pactl(&["set-default-sink", &sink]);
        }
    }
    if !listed(&pactl(&["list", "short", "sources"])?, SOURCE) {
        let id = load(&[
            "module-remap-source",
            &format!("master={SINK}.monitor"),
            &format!("source_name={SOURCE}"),
            "source_properties=device.description=Selkies-Microphone",
        ])?;
        loaded.modules.push(id);
    }
    if make_default && default_source.as_deref() != Some(SOURCE) {
        if let Some(prev) = default_source.filter(|s| !is_ours(s)) {
            *crate::sync::lock(&CAPTURE_DEVICE) = Some(prev.clone());
            loaded.previous_default_source.get_or_insert(prev);
        } else {
            *crate::sync::lock(&CAPTURE_DEVICE) = Some("@DEFAULT_MONITOR@".to_owned());
        }
        pactl(&["set-default-source", SOURCE])?;
    } else if make_default {
        // Already the default (a previous run that did not exit cleanly): desktop audio is
        // the default sink's monitor.
        *crate::sync::lock(&CAPTURE_DEVICE) = Some("@DEFAULT_MONITOR@".to_owned());
    }
    info!(sink = SINK, source = SOURCE, "virtual microphone ready");
    Ok(())
}

fn load(args: &[&str]) -> Result<u32, PactlError> {
    let mut full = vec!["load-module"];
    full.extend_from_slice(args);
    let out = pactl(&full)?;
    out.trim().parse().map_err(|_| PactlError::Pactl {
        args: full.join(" "),
        stderr: format!("unexpected output {out:?}"),
    })
}

/// Unloads the modules this process loaded and restores the default source. Blocking.
pub fn teardown() {
    let Some(loaded) = crate::sync::lock(&LOADED).take() else {
        return;
    };
    if let Some(prev) = &loaded.previous_default_source
        && let Err(e) = pactl(&["set-default-source", prev])
    {
        debug!("restoring the default source: {e}");
    }
    // Remap source first: it depends on the sink's monitor.
    for id in loaded.modules.iter().rev() {
        if let Err(e) = pactl(&["unload-module", &id.to_string()]) {
            warn!("removing the virtual microphone: {e}");
        }
    }
    *crate::sync::lock(&CAPTURE_DEVICE) = None;
    if !loaded.modules.is_empty() {
        info!("virtual microphone removed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "Server String: /run/pulse/native\nLibrary Protocol Version: 35\n\
Default Sink: vsink\nDefault Source: vsink.monitor\nCookie: 1234:abcd\n";

    #[test]
    fn commands_are_bounded_and_their_output_is_drained() {
        // More than a pipe holds (64 KiB): read while waiting, or the child would stall.
        let mut long = Command::new("seq");
        long.args(["1", "100000"]);
        let out = run_bounded(long, Duration::from_secs(20))
            .expect("seq runs")
            .expect("in time");
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 588_895);
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo oops >&2; exit 3"]);
        let out = run_bounded(failing, Duration::from_secs(20))
            .expect("sh runs")
            .expect("in time");
        assert_eq!(
            (out.status.code(), out.stderr.as_slice()),
            (Some(3), &b"oops\n"[..])
        );
        // A child that never answers is ended at the limit.
        let started = Instant::now();
        let mut stuck = Command::new("sleep");
        stuck.arg("30");
        assert!(
            run_bounded(stuck, Duration::from_millis(300))
                .expect("sleep runs")
                .is_none()
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn pactl_info_fields() {
        assert_eq!(info_field(INFO, "Default Sink"), Some("vsink"));
        assert_eq!(info_field(INFO, "Default Source"), Some("vsink.monitor"));
        assert_eq!(info_field(INFO, "Default Monitor"), None);
        assert_eq!(info_field("Default Source: \n", "Default Source"), None);
    }

    #[test]
    fn short_lists() {
        let sinks = "0\tvsink\tmodule-null-sink.c\ts16le 2ch 44100Hz\tRUNNING\n\
1\tSelkiesMic\tmodule-null-sink.c\ts16le 1ch 48000Hz\tIDLE\n";
        assert!(listed(sinks, "SelkiesMic"));
        assert!(listed(sinks, "vsink"));
        assert!(!listed(sinks, "Selkies"));
        assert!(!listed("", "vsink"));
    }

    #[test]
    fn our_own_devices() {
        assert!(is_ours("selkies_mic") && is_ours("SelkiesMic.monitor"));
        assert!(!is_ours("vsink.monitor"));
    }
}
