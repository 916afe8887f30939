//! The launcher's command line: its own few options are taken out, everything else is handed
//! to the host byte for byte and in order (legacy `--flag=value` / `--flag value` untouched).
//!
//! The launcher's names cannot collide with the host's legacy flags (`--help` excepted, which is
//! why the host's help is reached as `selkies-gstreamer-run -- --help`): after a `--`, nothing
//! is interpreted and the `--` itself is dropped.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// What the launcher was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Run,
    Probe { json: bool },
    Help,
    Version,
}

/// Parsed launcher options plus the host's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LauncherArgs {
    pub action: Action,
    /// Passed to the host unchanged.
    pub host_args: Vec<OsString>,
    /// Size of an Xvfb the launcher starts (`--xvfb_size=WxH`, default 1920x1080).
    pub xvfb_size: (u32, u32),
    pub start_xvfb: bool,
    pub start_pulseaudio: bool,
}

pub const DEFAULT_XVFB_SIZE: (u32, u32) = (1920, 1080);

/// Command-line errors, shown with a pointer to `--help`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error("--xvfb_size needs a value such as 1920x1080")]
    MissingSize,
    #[error("--xvfb_size {0:?}: expected WIDTHxHEIGHT, e.g. 1920x1080")]
    BadSize(String),
    #[error("--json only goes with --probe")]
    JsonWithoutProbe,
}

/// Parses `WIDTHxHEIGHT` (both 1..=16384).
pub fn parse_size(text: &str) -> Option<(u32, u32)> {
    let (w, h) = text.split_once(['x', 'X'])?;
    let w: u32 = w.parse().ok()?;
    let h: u32 = h.parse().ok()?;
    let ok = |v: u32| (1..=16384).contains(&v);
    (ok(w) && ok(h)).then_some((w, h))
}

/// Splits `args` (without argv[0]).
pub fn parse(args: &[OsString]) -> Result<LauncherArgs, ArgsError> {
    let mut out = LauncherArgs {
        action: Action::Run,
        host_args: Vec::with_capacity(args.len()),
        xvfb_size: DEFAULT_XVFB_SIZE,
        start_xvfb: true,
        start_pulseaudio: true,
    };
    let (mut probe, mut json, mut help, mut version) = (false, false, false, false);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_bytes() {
            b"--" => {
                out.host_args.extend(iter.by_ref().cloned());
                break;
            }
            b"--probe" => probe = true,
            b"--json" => json = true,
            b"--help" | b"-h" => help = true,
            b"--version" => version = true,
            b"--no_xvfb" => out.start_xvfb = false,
            b"--no_pulseaudio" => out.start_pulseaudio = false,
            b"--xvfb_size" => {
                let value = iter.next().ok_or(ArgsError::MissingSize)?;
                out.xvfb_size = size_arg(value)?;
            }
            bytes if bytes.starts_with(b"--xvfb_size=") => {
                out.xvfb_size = size_arg(OsStr::from_bytes(&bytes[b"--xvfb_size=".len()..]))?;
            }
            _ => out.host_args.push(arg.clone()),
        }
    }
    if json && !probe {
        return Err(ArgsError::JsonWithoutProbe);
    }
    out.action = if help {
        Action::Help
    } else if version {
        Action::Version
    } else if probe {
        Action::Probe { json }
    } else {
        Action::Run
    };
    Ok(out)
}

fn size_arg(value: &OsStr) -> Result<(u32, u32), ArgsError> {
    let text = value.to_string_lossy();
    parse_size(&text).ok_or_else(|| ArgsError::BadSize(text.into_owned()))
}

/// The encoder the user chose for the host, from `--encoder[=]X` or `SELKIES_ENCODER` (the flag
/// wins, as in the host's own precedence). `None` lets the launcher pick.
pub fn chosen_encoder(host_args: &[OsString], env_value: Option<&OsStr>) -> Option<String> {
    let mut iter = host_args.iter();
    let mut found = None;
    while let Some(arg) = iter.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--encoder" {
            found = iter.next().map(|v| v.to_string_lossy().into_owned());
        } else if let Some(v) = bytes.strip_prefix(b"--encoder=") {
            found = Some(String::from_utf8_lossy(v).into_owned());
        }
    }
    found
        .or_else(|| env_value.map(|v| v.to_string_lossy().into_owned()))
        .filter(|v| !v.trim().is_empty())
}

/// `--help` text: the launcher's own options, then where the host's are.
pub fn help_text() -> String {
    format!(
        "selkies-gstreamer-run {version}: runs the portable selkies-gstreamer bundle on this machine.

Usage: selkies-gstreamer-run [LAUNCHER OPTIONS] [HOST OPTIONS...] [-- HOST OPTIONS...]

Launcher options (everything else goes to the host byte for byte):
  --probe            print the GPU/encoder/glibc report and exit
  --probe --json     the same report as JSON, for scripts
  --xvfb_size=WxH    size of the Xvfb started when no X server answers (default 1920x1080)
  --no_xvfb          never start Xvfb
  --no_pulseaudio    never start PulseAudio
  --version          print the launcher version and exit
  -h, --help         print this help and exit
  --                 pass every following argument to the host, uninterpreted

Environment:
  SELKIES_GLIBC_MODE=auto|host|bundled   override the glibc choice (default auto: newest wins)
  SELKIES_ENCODER / --encoder            skip the automatic choice (NVENC > VA-API > x264enc)
  RUST_LOG                               launcher log level (default info)

The host's own options (legacy selkies-gstreamer flags such as --addr, --port, --encoder):
  selkies-gstreamer-run -- --help",
        version = env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn host_args_pass_through_in_order() {
        let raw = vec![
            OsString::from("--addr=0.0.0.0"),
            OsString::from("--basic_auth_password"),
            OsString::from("pa ss word"),
            OsString::from_vec(b"--x=\xff\xfe".to_vec()),
            OsString::from(""),
        ];
        let parsed = parse(&raw).expect("valid");
        assert_eq!(parsed.action, Action::Run);
        assert_eq!(parsed.host_args, raw);
    }

    #[test]
    fn launcher_options_are_removed_everywhere_before_double_dash() {
        let parsed = parse(&os(&[
            "--port=8080",
            "--xvfb_size",
            "1280x720",
            "--no_pulseaudio",
            "--",
            "--help",
            "--probe",
            "--",
        ]))
        .expect("valid");
        assert_eq!(parsed.action, Action::Run);
        assert_eq!(
            parsed.host_args,
            os(&["--port=8080", "--help", "--probe", "--"])
        );
        assert_eq!(parsed.xvfb_size, (1280, 720));
        assert!(!parsed.start_pulseaudio);
        assert!(parsed.start_xvfb);
    }

    #[test]
    fn actions() {
        assert_eq!(
            parse(&os(&["--probe"])).map(|a| a.action),
            Ok(Action::Probe { json: false })
        );
        assert_eq!(
            parse(&os(&["--json", "--probe"])).map(|a| a.action),
            Ok(Action::Probe { json: true })
        );
        assert_eq!(
            parse(&os(&["--probe", "-h"])).map(|a| a.action),
            Ok(Action::Help)
        );
        assert_eq!(
            parse(&os(&["--version"])).map(|a| a.action),
            Ok(Action::Version)
        );
        assert_eq!(parse(&os(&["--json"])), Err(ArgsError::JsonWithoutProbe));
        assert_eq!(parse(&os(&["--xvfb_size"])), Err(ArgsError::MissingSize));
        assert!(matches!(
            parse(&os(&["--xvfb_size=big"])),
            Err(ArgsError::BadSize(_))
        ));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1920x1080"), Some((1920, 1080)));
        assert_eq!(parse_size("800X600"), Some((800, 600)));
        assert_eq!(parse_size("0x600"), None);
        assert_eq!(parse_size("99999x600"), None);
        assert_eq!(parse_size("1920"), None);
    }

    #[test]
    fn encoder_choice_detection() {
        assert_eq!(
            chosen_encoder(&os(&["--encoder=vah264enc"]), None).as_deref(),
            Some("vah264enc")
        );
        assert_eq!(
            chosen_encoder(
                &os(&["--encoder", "x264enc"]),
                Some(OsStr::new("nvh264enc"))
            )
            .as_deref(),
            Some("x264enc")
        );
        assert_eq!(
            chosen_encoder(&os(&["--port=1"]), Some(OsStr::new("nvh264enc"))).as_deref(),
            Some("nvh264enc")
        );
        assert_eq!(
            chosen_encoder(&os(&["--port=1"]), Some(OsStr::new(""))),
            None
        );
        assert_eq!(chosen_encoder(&[], None), None);
    }
}
