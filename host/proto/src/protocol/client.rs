//! Parsing of browser → host data-channel commands (docs/protocol.md §4.1).
//!
//! The legacy grammar is `<cmd>,<arg>[,<arg>…]`, split on every `,`. Fixed-arity commands reject
//! surplus fields (the legacy client never sends them, so they indicate a foreign or broken peer);
//! the `_stats_*` commands re-join everything after the first comma because their JSON payload
//! contains commas. Nothing here panics on peer input.

use base64::Engine;

use super::ProtocolError;
use crate::gamepad::{self, GamepadMessage};

/// A screen size in device pixels, written `<W>x<H>` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    pub width: u32,
    pub height: u32,
}

impl Resolution {
    /// Parses `<W>x<H>` with both sides positive decimal integers.
    pub fn parse(field: &'static str, text: &str) -> Result<Self, ProtocolError> {
        let bad = || ProtocolError::bad(field, text);
        let (w, h) = text.split_once('x').ok_or_else(bad)?;
        let width: u32 = w.parse().map_err(|_| bad())?;
        let height: u32 = h.parse().map_err(|_| bad())?;
        if width == 0 || height == 0 {
            return Err(bad());
        }
        Ok(Resolution { width, height })
    }

    /// The legacy host bumps odd sizes up by one before calling xrandr (§4.1 `r`).
    pub fn even_rounded(self) -> Self {
        Resolution {
            width: self.width + (self.width & 1),
            height: self.height + (self.height & 1),
        }
    }
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// Pointer state carried by `m` and `m2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointerEvent {
    /// Absolute remote-frame pixels for `m`; relative movement for `m2`.
    pub x: i32,
    pub y: i32,
    /// Browser button bitmask: bit 0 left, 1 middle, 2 right, 3 wheel down, 4 wheel up.
    pub mask: u32,
    /// Wheel magnitude (0 except for wheel messages).
    pub magnitude: u32,
}

/// One browser → host data-channel message.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `kd,<keysym>`: key press (also sent as auto-repeat).
    KeyDown { keysym: u32 },
    /// `ku,<keysym>`: key release.
    KeyUp { keysym: u32 },
    /// `kr`: release all modifiers/held keys.
    KeyReset,
    /// `m,<x>,<y>,<mask>,<mag>`: absolute pointer.
    MouseAbsolute(PointerEvent),
    /// `m2,<dx>,<dy>,<mask>,<mag>`: relative pointer (pointer lock).
    MouseRelative(PointerEvent),
    /// `p,<0|1>`: pointer lock state; `true` means locked (show the server-side pointer).
    PointerVisible(bool),
    /// `vb,<kbps>`.
    VideoBitrate { kbps: u32 },
    /// `ab,<bps>`.
    AudioBitrate { bps: u32 },
    /// `_arg_fps,<fps>`.
    Framerate { fps: u32 },
    /// `_arg_resize,<true|false>[,<W>x<H>]`.
    SetResize {
        enabled: bool,
        resolution: Option<Resolution>,
    },
    /// `r,<W>x<H>`.
    Resize(Resolution),
    /// `s,<ratio>`: device pixel ratio.
    Scale(f64),
    /// `cr`: send the host clipboard.
    ClipboardRead,
    /// `cw,<b64>`: decoded UTF-8 text to put on the host clipboard.
    ClipboardWrite(String),
    /// `cwp,<index>,<count>,<b64>`: one slice of a clipboard text too large for one `cw`
    /// message (our extension; see [`super::clipboard`]).
    ClipboardPart {
        index: u32,
        count: u32,
        bytes: Vec<u8>,
    },
    /// `cio`: this client takes `clipboard_image` messages (our extension, docs/protocol.md
    /// §13.3); the legacy client never sends it, so it never gets images.
    ClipboardImageOptIn,
    /// `_stages,<0|1>`: send (or stop sending) this client `video_stages`, the host's measured
    /// video stage times (our extension, docs/protocol.md §4.1).
    StageReports(bool),
    /// `cwip,<index>,<count>,<b64>`: one slice of a PNG image for the host clipboard.
    ClipboardImagePart {
        index: u32,
        count: u32,
        bytes: Vec<u8>,
    },
    /// `js,…`.
    Gamepad(GamepadMessage),
    /// `pong,<secs>`: client epoch seconds (the host measures latency from its own clock).
    Pong { client_time: f64 },
    /// `_f,<fps>`: client-measured frames per second.
    ClientFps(f64),
    /// `_l,<ms>`: client-computed latency in milliseconds.
    ClientLatency(f64),
    /// `_stats_video,<json array of RTCStats>`.
    StatsVideo(serde_json::Value),
    /// `_stats_audio,<json array of RTCStats>`.
    StatsAudio(serde_json::Value),
}

/// Parses one data-channel text message.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, ProtocolError> {
    if text.trim().is_empty() {
        return Err(ProtocolError::Empty);
    }
    let (cmd, rest) = match text.split_once(',') {
        Some((c, r)) => (c, Some(r)),
        None => (text, None),
    };
    // The stats payload is JSON with commas: take it whole instead of splitting.
    match cmd {
        "_stats_video" => return stats(rest).map(ClientMessage::StatsVideo),
        "_stats_audio" => return stats(rest).map(ClientMessage::StatsAudio),
        _ => {}
    }
    let args: Vec<&str> = rest.map(|r| r.split(',').collect()).unwrap_or_default();
    let a = Args {
        cmd: static_name(cmd),
        args: &args,
    };
    Ok(match cmd {
        "kd" => {
            a.arity(1)?;
            ClientMessage::KeyDown {
                keysym: a.num(0, "keysym")?,
            }
        }
        "ku" => {
            a.arity(1)?;
            ClientMessage::KeyUp {
                keysym: a.num(0, "keysym")?,
            }
        }
        "kr" => {
            a.arity(0)?;
            ClientMessage::KeyReset
        }
        "m" => ClientMessage::MouseAbsolute(a.pointer()?),
        "m2" => ClientMessage::MouseRelative(a.pointer()?),
        "p" => {
            a.arity(1)?;
            ClientMessage::PointerVisible(match a.get(0, "pointer lock")? {
                "0" => false,
                "1" => true,
                other => return Err(ProtocolError::bad("pointer lock", other)),
            })
        }
        "vb" => {
            a.arity(1)?;
            ClientMessage::VideoBitrate {
                kbps: a.positive(0, "video bitrate")?,
            }
        }
        "ab" => {
            a.arity(1)?;
            ClientMessage::AudioBitrate {
                bps: a.positive(0, "audio bitrate")?,
            }
        }
        "_arg_fps" => {
            a.arity(1)?;
            ClientMessage::Framerate {
                fps: a.positive(0, "framerate")?,
            }
        }
        "_arg_resize" => {
            if args.len() > 2 {
                a.arity(2)?;
            }
            let flag = a.get(0, "resize enabled")?;
            let enabled =
                parse_bool(flag).ok_or_else(|| ProtocolError::bad("resize enabled", flag))?;
            let resolution = match args.get(1) {
                Some(r) if !r.is_empty() => Some(Resolution::parse("resolution", r)?),
                _ => None,
            };
            ClientMessage::SetResize {
                enabled,
                resolution,
            }
        }
        "r" => {
            a.arity(1)?;
            ClientMessage::Resize(Resolution::parse("resolution", a.get(0, "resolution")?)?)
        }
        "s" => {
            a.arity(1)?;
            ClientMessage::Scale(parse_ratio(a.get(0, "scale")?)?)
        }
        "cr" => {
            a.arity(0)?;
            ClientMessage::ClipboardRead
        }
        "cw" => {
            a.arity(1)?;
            let b64 = a.get(0, "clipboard")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| ProtocolError::bad("clipboard", b64))?;
            let text =
                String::from_utf8(bytes).map_err(|_| ProtocolError::bad("clipboard", b64))?;
            ClientMessage::ClipboardWrite(text)
        }
        "cwp" => {
            a.arity(3)?;
            let index: u32 = a.num(0, "part index")?;
            let count: u32 = a.num(1, "part count")?;
            if count == 0 || index >= count {
                return Err(ProtocolError::bad("part index", format!("{index}/{count}")));
            }
            let b64 = a.get(2, "clipboard part")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| ProtocolError::bad("clipboard part", b64))?;
            ClientMessage::ClipboardPart {
                index,
                count,
                bytes,
            }
        }
        "cio" => {
            a.arity(0)?;
            ClientMessage::ClipboardImageOptIn
        }
        "_stages" => {
            a.arity(1)?;
            ClientMessage::StageReports(match a.get(0, "stage reports")? {
                "0" => false,
                "1" => true,
                other => return Err(ProtocolError::bad("stage reports", other)),
            })
        }
        "cwip" => {
            a.arity(3)?;
            let index: u32 = a.num(0, "part index")?;
            let count: u32 = a.num(1, "part count")?;
            if count == 0 || index >= count {
                return Err(ProtocolError::bad("part index", format!("{index}/{count}")));
            }
            let b64 = a.get(2, "clipboard image part")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| ProtocolError::bad("clipboard image part", b64))?;
            ClientMessage::ClipboardImagePart {
                index,
                count,
                bytes,
            }
        }
        "js" => ClientMessage::Gamepad(gamepad::parse_js(&args)?),
        "pong" => {
            a.arity(1)?;
            ClientMessage::Pong {
                client_time: a.finite(0, "pong time")?,
            }
        }
        "_f" => {
            a.arity(1)?;
            ClientMessage::ClientFps(a.non_negative(0, "fps")?)
        }
        "_l" => {
            a.arity(1)?;
            ClientMessage::ClientLatency(a.non_negative(0, "latency")?)
        }
        other => return Err(ProtocolError::Unknown(truncate(other))),
    })
}

/// `true`/`false`, case-insensitive, like the legacy `.lower() == "true"` but strict about typos.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// The client sends `window.devicePixelRatio`; the legacy host accepts only `^\d+(\.\d+)?$`.
fn parse_ratio(s: &str) -> Result<f64, ProtocolError> {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let ok = match s.split_once('.') {
        Some((i, f)) => digits(i) && digits(f),
        None => digits(s),
    };
    match s.parse::<f64>() {
        Ok(v) if ok && v.is_finite() => Ok(v),
        _ => Err(ProtocolError::bad("scale", s)),
    }
}

fn stats(rest: Option<&str>) -> Result<serde_json::Value, ProtocolError> {
    let body = rest.ok_or(ProtocolError::MissingField("stats json"))?;
    serde_json::from_str(body).map_err(|_| ProtocolError::bad("stats json", truncate(body)))
}

/// Keeps error messages bounded when a peer sends a huge bogus token.
fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn static_name(cmd: &str) -> &'static str {
    match cmd {
        "kd" => "kd",
        "ku" => "ku",
        "kr" => "kr",
        "m" => "m",
        "m2" => "m2",
        "p" => "p",
        "vb" => "vb",
        "ab" => "ab",
        "_arg_fps" => "_arg_fps",
        "_arg_resize" => "_arg_resize",
        "r" => "r",
        "s" => "s",
        "cr" => "cr",
        "cw" => "cw",
        "cwp" => "cwp",
        "pong" => "pong",
        "_f" => "_f",
        "_l" => "_l",
        "_stages" => "_stages",
        _ => "command",
    }
}

struct Args<'a> {
    cmd: &'static str,
    args: &'a [&'a str],
}

impl<'a> Args<'a> {
    fn arity(&self, n: usize) -> Result<(), ProtocolError> {
        if self.args.len() > n {
            return Err(ProtocolError::ExtraFields {
                command: self.cmd,
                extra: truncate(&self.args[n..].join(",")),
            });
        }
        Ok(())
    }

    fn get(&self, i: usize, field: &'static str) -> Result<&'a str, ProtocolError> {
        self.args
            .get(i)
            .copied()
            .ok_or(ProtocolError::MissingField(field))
    }

    fn num<T: std::str::FromStr>(&self, i: usize, field: &'static str) -> Result<T, ProtocolError> {
        let s = self.get(i, field)?;
        s.parse()
            .map_err(|_| ProtocolError::bad(field, truncate(s)))
    }

    fn positive(&self, i: usize, field: &'static str) -> Result<u32, ProtocolError> {
        let v: u32 = self.num(i, field)?;
        if v == 0 {
            return Err(ProtocolError::bad(field, "0"));
        }
        Ok(v)
    }

    fn finite(&self, i: usize, field: &'static str) -> Result<f64, ProtocolError> {
        let v: f64 = self.num(i, field)?;
        if !v.is_finite() {
            return Err(ProtocolError::bad(field, truncate(self.args[i])));
        }
        Ok(v)
    }

    fn non_negative(&self, i: usize, field: &'static str) -> Result<f64, ProtocolError> {
        let v = self.finite(i, field)?;
        if v < 0.0 {
            return Err(ProtocolError::bad(field, truncate(self.args[i])));
        }
        Ok(v)
    }

    fn pointer(&self) -> Result<PointerEvent, ProtocolError> {
        self.arity(4)?;
        Ok(PointerEvent {
            x: self.num(0, "x")?,
            y: self.num(1, "y")?,
            mask: self.num(2, "button mask")?,
            magnitude: self.num(3, "wheel magnitude")?,
        })
    }
}
