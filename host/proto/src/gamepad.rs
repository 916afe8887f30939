//! Browser gamepad messages (`js,…` on the data channel, docs/protocol.md §4.1): parsing
//! only; the mapping to joystick events lives in the `selkies-gamepad` crate.
//!
//! Only pads 0–3 exist on the host (four interposer devices), so other indexes are rejected
//! here rather than deep in the service. Values must be finite numbers; their range is not
//! checked here because the mapping saturates them.

use base64::Engine;

use crate::protocol::ProtocolError;

/// One `js,…` message from the browser.
#[derive(Debug, Clone, PartialEq)]
pub enum GamepadMessage {
    /// `js,c,<idx>,<b64name>,<numAxes>,<numButtons>` (axes before buttons).
    Connect {
        index: u8,
        name: String,
        num_axes: u32,
        num_buttons: u32,
    },
    /// `js,d,<idx>`.
    Disconnect { index: u8 },
    /// `js,b,<idx>,<btn>,<value>` with value 0..1.
    Button { index: u8, button: u32, value: f64 },
    /// `js,a,<idx>,<axis>,<value>` with value −1..1.
    Axis { index: u8, axis: u32, value: f64 },
}

fn field<'a>(fields: &[&'a str], i: usize, name: &'static str) -> Result<&'a str, ProtocolError> {
    fields
        .get(i)
        .copied()
        .ok_or(ProtocolError::MissingField(name))
}

fn num<T: std::str::FromStr>(
    fields: &[&str],
    i: usize,
    name: &'static str,
) -> Result<T, ProtocolError> {
    let s = field(fields, i, name)?;
    s.trim().parse().map_err(|_| ProtocolError::bad(name, s))
}

/// Pads the host serves (`Gamepad.index` 0–3).
pub const MAX_PADS: u8 = 4;

fn finite(fields: &[&str], i: usize, name: &'static str) -> Result<f64, ProtocolError> {
    let v: f64 = num(fields, i, name)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ProtocolError::bad(name, fields[i]))
    }
}

/// Parses the fields that follow `js` (e.g. `["b", "0", "1", "0.5"]`).
pub fn parse_js(fields: &[&str]) -> Result<GamepadMessage, ProtocolError> {
    let kind = field(fields, 0, "js kind")?;
    let index: u8 = num(fields, 1, "js index")?;
    if index >= MAX_PADS {
        return Err(ProtocolError::bad("js index", fields[1]));
    }
    let expected = match kind {
        "c" => 5,
        "d" => 2,
        _ => 4,
    };
    if let Some(extra) = fields.get(expected..).filter(|e| !e.is_empty()) {
        return Err(ProtocolError::ExtraFields {
            command: "js",
            extra: extra.join(","),
        });
    }
    match kind {
        "c" => {
            let raw = field(fields, 2, "js name")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|_| ProtocolError::bad("js name", raw))?;
            Ok(GamepadMessage::Connect {
                index,
                name: String::from_utf8_lossy(&bytes).into_owned(),
                num_axes: num(fields, 3, "js num_axes")?,
                num_buttons: num(fields, 4, "js num_buttons")?,
            })
        }
        "d" => Ok(GamepadMessage::Disconnect { index }),
        "b" => Ok(GamepadMessage::Button {
            index,
            button: num(fields, 2, "js button")?,
            value: finite(fields, 3, "js value")?,
        }),
        "a" => Ok(GamepadMessage::Axis {
            index,
            axis: num(fields, 2, "js axis")?,
            value: finite(fields, 3, "js value")?,
        }),
        other => Err(ProtocolError::bad("js kind", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(
            parse_js(&["c", "0", "WGJveA==", "4", "17"]),
            Ok(GamepadMessage::Connect {
                index: 0,
                name: "Xbox".into(),
                num_axes: 4,
                num_buttons: 17
            })
        );
        assert_eq!(
            parse_js(&["d", "2"]),
            Ok(GamepadMessage::Disconnect { index: 2 })
        );
        assert_eq!(
            parse_js(&["a", "1", "3", "-0.5"]),
            Ok(GamepadMessage::Axis {
                index: 1,
                axis: 3,
                value: -0.5
            })
        );
        assert!(matches!(
            parse_js(&["b", "x"]),
            Err(ProtocolError::BadField { .. })
        ));
    }

    #[test]
    fn rejects_malformed_messages() {
        assert_eq!(
            parse_js(&["b", "0", "16", "1"]),
            Ok(GamepadMessage::Button {
                index: 0,
                button: 16,
                value: 1.0
            })
        );
        assert!(matches!(
            parse_js(&["b", "4", "0", "1"]),
            Err(ProtocolError::BadField {
                field: "js index",
                ..
            })
        ));
        assert!(matches!(
            parse_js(&["a", "0", "1", "NaN"]),
            Err(ProtocolError::BadField { .. })
        ));
        assert!(matches!(
            parse_js(&["a", "0", "1", "inf"]),
            Err(ProtocolError::BadField { .. })
        ));
        assert!(matches!(
            parse_js(&["a", "0", "1"]),
            Err(ProtocolError::MissingField(_))
        ));
        assert!(matches!(
            parse_js(&["d", "0", "x"]),
            Err(ProtocolError::ExtraFields { .. })
        ));
        assert!(matches!(
            parse_js(&["c", "0", "!!", "4", "17"]),
            Err(ProtocolError::BadField { .. })
        ));
        assert!(matches!(
            parse_js(&["x", "0"]),
            Err(ProtocolError::BadField { .. })
        ));
        assert!(matches!(parse_js(&[]), Err(ProtocolError::MissingField(_))));
    }
}
