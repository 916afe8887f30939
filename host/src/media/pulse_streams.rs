//! What plays on the PulseAudio sink whose monitor the desktop audio captures, asked of
//! PulseAudio through `pactl` like [`crate::mic::device`] does: `pactl subscribe` reports every
//! change of the server's objects as one line, and `pactl list` says which playback streams
//! (sink-inputs) exist, on which sink, and whether they are corked. [`super::audio_idle`] pauses
//! the capture while nothing plays.
//!
//! The parsers are pure and unit-tested; `pactl` runs with `LC_ALL=C` because its long listings
//! are translated (`crate::mic::device::pactl` runs the one-shot commands).

use std::process::Stdio;

use crate::mic::device::{PactlError, info_field, listed_index, pactl};

/// Why PulseAudio could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum StreamsError {
    #[error(transparent)]
    Pactl(#[from] PactlError),
    #[error("the listing task failed: {0}")]
    Task(String),
}

impl StreamsError {
    /// `pactl` itself could not run (not installed): nothing will change by retrying.
    pub fn pactl_missing(&self) -> bool {
        matches!(self, Self::Pactl(PactlError::Spawn(_)))
    }
}

/// What happened to a server object (`pactl subscribe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    Change,
    Remove,
}

/// The kind of object an event is about (the ones the watch reacts to; the rest are `Other`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facility {
    /// A playback stream.
    SinkInput,
    /// A sink (its state, or a new/removed one).
    Sink,
    /// Server settings: the default sink or source changed.
    Server,
    /// Sources, recording streams (our own capture among them), clients, modules, cards.
    Other,
}

/// One line of `pactl subscribe`: `Event 'new' on sink-input #12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub change: Change,
    pub facility: Facility,
    pub index: Option<u32>,
}

/// Parse one `pactl subscribe` line; `None` for anything else (pactl's own messages).
pub fn parse_event(line: &str) -> Option<Event> {
    let rest = line.trim().strip_prefix("Event '")?;
    let (change, rest) = rest.split_once('\'')?;
    let change = match change {
        "new" => Change::New,
        "change" => Change::Change,
        "remove" => Change::Remove,
        _ => return None,
    };
    let rest = rest.trim_start().strip_prefix("on ")?;
    let (facility, index) = match rest.split_once(" #") {
        Some((f, i)) => (f, i.trim().parse().ok()),
        None => (rest.trim(), None),
    };
    let facility = match facility {
        "sink-input" => Facility::SinkInput,
        "sink" => Facility::Sink,
        "server" => Facility::Server,
        _ => Facility::Other,
    };
    Some(Event {
        change,
        facility,
        index,
    })
}

/// One playback stream of `pactl list sink-inputs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkInput {
    pub index: u32,
    /// Index of the sink it plays into.
    pub sink: u32,
    /// Paused by its client: the sink renders nothing from it.
    pub corked: bool,
}

/// The streams of `LC_ALL=C pactl list sink-inputs`. A block whose sink cannot be read is left
/// out; one whose cork state cannot be read counts as playing (capturing is the safe side).
pub fn parse_sink_inputs(long: &str) -> Vec<SinkInput> {
    // (index, sink, corked) of the block being read.
    type Block = (u32, Option<u32>, bool);
    fn flush(c: Option<Block>, out: &mut Vec<SinkInput>) {
        if let Some((index, Some(sink), corked)) = c {
            out.push(SinkInput {
                index,
                sink,
                corked,
            });
        }
    }
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for line in long.lines() {
        if let Some(n) = line.strip_prefix("Sink Input #") {
            flush(current.take(), &mut out);
            current = n.trim().parse().ok().map(|i| (i, None, false));
            continue;
        }
        let Some(cur) = current.as_mut() else {
            continue;
        };
        // Fields are one tab in; properties (two tabs, `key = "value"`) never match.
        let Some((key, value)) = line.strip_prefix('\t').and_then(|l| l.split_once(':')) else {
            continue;
        };
        match key {
            "Sink" => cur.1 = value.trim().parse().ok(),
            "Corked" => cur.2 = value.trim() == "yes",
            _ => {}
        }
    }
    flush(current, &mut out);
    out
}

/// The sink whose monitor the capture records: `device` is the `pulsesrc device=` in use
/// (`None` is the default source), `info` is `pactl info`. `None` when the capture is not a
/// sink's monitor (a microphone, a remapped source): then what plays cannot be known.
pub fn monitored_sink(device: Option<&str>, info: &str) -> Option<String> {
    let source = match device {
        None | Some("@DEFAULT_SOURCE@") => info_field(info, "Default Source")?,
        Some("@DEFAULT_MONITOR@") => return info_field(info, "Default Sink").map(str::to_owned),
        Some(name) => name,
    };
    source
        .strip_suffix(".monitor")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Whether any uncorked stream plays into sink `sink`.
pub fn plays(inputs: &[SinkInput], sink: u32) -> bool {
    inputs.iter().any(|i| i.sink == sink && !i.corked)
}

/// What the capture is listening to now, from [`playing_now`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playing {
    /// The monitored sink and whether an uncorked stream plays into it.
    Sink { name: String, playing: bool },
    /// The capture is not a known sink's monitor (named source, missing sink): always capture.
    Unknown(String),
}

/// Ask PulseAudio whether anything plays on the monitored sink. Blocking (runs `pactl` three
/// times, a few ms each): call it off the async workers.
pub fn playing_now() -> Result<Playing, StreamsError> {
    let device = crate::mic::device::capture_device();
    let info = pactl(&["info"])?;
    let Some(name) = monitored_sink(device.as_deref(), &info) else {
        return Ok(Playing::Unknown(
            device.unwrap_or_else(|| "the default source".to_owned()),
        ));
    };
    let Some(index) = listed_index(&pactl(&["list", "short", "sinks"])?, &name) else {
        return Ok(Playing::Unknown(format!("{name}.monitor")));
    };
    let inputs = parse_sink_inputs(&pactl(&["list", "sink-inputs"])?);
    Ok(Playing::Sink {
        playing: plays(&inputs, index),
        name,
    })
}

/// Start `pactl subscribe` (killed when the returned child is dropped); its stdout has one
/// line per event until PulseAudio goes away.
pub fn subscribe() -> Result<tokio::process::Child, StreamsError> {
    Ok(tokio::process::Command::new("pactl")
        .arg("subscribe")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(PactlError::Spawn)?)
}

/// Watches a `pactl subscribe` for the one way it fails without ending: when PulseAudio dies in
/// the middle of an event, Debian's libpulse 16 can leave `pactl` spinning at full CPU forever
/// (seen with `pactl list`: docs/testing.md, "Hangs"), its stdout neither yielding lines nor
/// closing. Sampled every few seconds from `/proc`; no process is started for it.
#[derive(Debug)]
pub struct SpinCheck {
    stat: Option<std::path::PathBuf>,
    last: Option<(std::time::Instant, u64)>,
}

impl SpinCheck {
    /// For the process `pid` (None: never busy).
    pub fn new(pid: Option<u32>) -> Self {
        Self {
            stat: pid.map(|p| format!("/proc/{p}/stat").into()),
            last: None,
        }
    }

    /// Whether the process used more than half a core since the previous call.
    pub fn busy(&mut self) -> bool {
        let Some(ticks) = self
            .stat
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|s| cpu_ticks(&s))
        else {
            return false;
        };
        let now = std::time::Instant::now();
        let prev = self.last.replace((now, ticks));
        // SAFETY: sysconf only reads a configuration value.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        prev.is_some_and(|(then, before)| {
            let used = ticks.saturating_sub(before) as f64 / per_second;
            used > 0.5 * now.duration_since(then).as_secs_f64()
        })
    }
}

/// User plus system CPU time, in clock ticks, from the text of `/proc/PID/stat`. The command
/// name (in parentheses) may itself hold spaces and parentheses, so fields are counted from the
/// last `)`: `utime` and `stime` are the 14th and 15th fields.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_ascii_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_from_proc_stat() {
        let stat = "31866 (pactl) R 31789 31789 1 0 -1 4194304 120 0 0 0 17521 1340 0 0 39 19 \
                    1 0 4780212 283795456 1357 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(17521 + 1340));
        // A name with spaces and parentheses does not shift the fields.
        let odd = "7 (a (b) c) S 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 9 0 0 0";
        assert_eq!(cpu_ticks(odd), Some(11));
        assert_eq!(cpu_ticks("garbage"), None);
        assert_eq!(cpu_ticks("1 (x) S 1 2"), None);
        // This test's own process is alive and mostly idle between two close samples.
        let mut me = SpinCheck::new(Some(std::process::id()));
        assert!(!me.busy(), "the first sample has nothing to compare with");
        let mut gone = SpinCheck::new(None);
        assert!(!gone.busy() && !gone.busy());
    }

    #[test]
    fn a_spinning_process_is_told_from_a_waiting_one() {
        let spawn = |script: &str| {
            std::process::Command::new("sh")
                .args(["-c", script])
                .spawn()
                .expect("sh")
        };
        let (mut spinner, mut sleeper) = (spawn("while :; do :; done"), spawn("sleep 30"));
        let (mut spinning, mut sleeping) = (
            SpinCheck::new(Some(spinner.id())),
            SpinCheck::new(Some(sleeper.id())),
        );
        let (_, _) = (spinning.busy(), sleeping.busy());
        // Several windows, so a busy test machine cannot starve the spinner in all of them.
        let mut seen_busy = false;
        for _ in 0..6 {
            std::thread::sleep(std::time::Duration::from_millis(300));
            seen_busy |= spinning.busy();
            assert!(!sleeping.busy(), "a sleeping process counted as spinning");
        }
        for child in [&mut spinner, &mut sleeper] {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(seen_busy, "a busy loop was never seen spinning");
    }

    #[test]
    fn subscribe_lines() {
        assert_eq!(
            parse_event("Event 'new' on sink-input #12"),
            Some(Event {
                change: Change::New,
                facility: Facility::SinkInput,
                index: Some(12)
            })
        );
        let remove = parse_event("Event 'remove' on sink-input #0\n").expect("event");
        assert_eq!(
            (remove.change, remove.facility),
            (Change::Remove, Facility::SinkInput)
        );
        let sink = parse_event("Event 'change' on sink #3").expect("event");
        assert_eq!(
            (sink.change, sink.facility),
            (Change::Change, Facility::Sink)
        );
        let server = parse_event("Event 'change' on server").expect("event");
        assert_eq!((server.facility, server.index), (Facility::Server, None));
        assert_eq!(
            parse_event("Event 'new' on source-output #3").map(|e| e.facility),
            Some(Facility::Other)
        );
        assert_eq!(
            parse_event("Event 'change' on sample-cache #1").map(|e| e.facility),
            Some(Facility::Other)
        );
        for junk in [
            "",
            "Got SIGINT, exiting.",
            "Event 'new'",
            "Event 'exploded' on sink #1",
            "Event new on sink #1",
        ] {
            assert_eq!(parse_event(junk), None, "{junk:?}");
        }
    }

    const INPUTS: &str = "Sink Input #1\n\tDriver: protocol-native.c\n\tOwner Module: 0\n\
\tClient: 13\n\tSink: 0\n\tSample Specification: s16le 2ch 44100Hz\n\tCorked: no\n\tMute: no\n\
\tProperties:\n\t\tapplication.name = \"pacat\"\n\t\tmedia.name = \"Corked: yes\"\n\n\
Sink Input #7\n\tDriver: protocol-native.c\n\tSink: 2\n\tCorked: yes\n\tMute: no\n\n\
Sink Input #9\n\tSink: 0\n\tCorked: yes\n";

    #[test]
    fn sink_input_listing() {
        let inputs = parse_sink_inputs(INPUTS);
        assert_eq!(
            inputs,
            vec![
                SinkInput {
                    index: 1,
                    sink: 0,
                    corked: false
                },
                SinkInput {
                    index: 7,
                    sink: 2,
                    corked: true
                },
                SinkInput {
                    index: 9,
                    sink: 0,
                    corked: true
                },
            ]
        );
        assert!(plays(&inputs, 0), "input #1 plays into sink 0");
        assert!(!plays(&inputs, 2), "sink 2 has only a corked input");
        assert!(!plays(&inputs, 5), "nothing on sink 5");
        assert!(parse_sink_inputs("").is_empty());
        // A block without its sink is left out; one without a cork state plays.
        let odd = parse_sink_inputs("Sink Input #x\n\tSink: 0\nSink Input #4\n\tSink: 1\n");
        assert_eq!(
            odd,
            vec![SinkInput {
                index: 4,
                sink: 1,
                corked: false
            }]
        );
    }

    #[test]
    fn sink_indices() {
        let sinks = "0\tvsink\tmodule-null-sink.c\ts16le 2ch 44100Hz\tIDLE\n\
4\tSelkiesMic\tmodule-null-sink.c\ts16le 1ch 48000Hz\tRUNNING\n";
        assert_eq!(listed_index(sinks, "vsink"), Some(0));
        assert_eq!(listed_index(sinks, "SelkiesMic"), Some(4));
        assert_eq!(listed_index(sinks, "Selkies"), None);
        assert_eq!(listed_index("garbage\n", "garbage"), None);
    }

    #[test]
    fn the_monitored_sink() {
        let info = "Default Sink: vsink\nDefault Source: vsink.monitor\n";
        assert_eq!(monitored_sink(None, info).as_deref(), Some("vsink"));
        assert_eq!(
            monitored_sink(Some("@DEFAULT_MONITOR@"), info).as_deref(),
            Some("vsink")
        );
        assert_eq!(
            monitored_sink(Some("other.monitor"), info).as_deref(),
            Some("other")
        );
        // A microphone or a remapped source is no sink's monitor.
        assert_eq!(monitored_sink(Some("alsa_input.usb"), info), None);
        assert_eq!(
            monitored_sink(None, "Default Sink: vsink\nDefault Source: selkies_mic\n"),
            None
        );
        assert_eq!(monitored_sink(Some(".monitor"), info), None);
        assert_eq!(monitored_sink(None, ""), None);
    }
}
