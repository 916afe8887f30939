//! A tiny ordered JSON writer that reproduces Python's `json.dumps` defaults byte for byte:
//! `", "` and `": "` separators, `ensure_ascii=True` (`\uXXXX`, lowercase hex, surrogate pairs)
//! and `repr(float)` number spelling (`60.0`, `1e-05`, `1e+16`).
//!
//! The legacy browser client may compare message text, so host → browser JSON goes through
//! here instead of `serde_json` (whose compact output has no spaces).

use std::fmt::Write;

/// A JSON value with object keys kept in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum PyJson {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<PyJson>),
    Object(Vec<(&'static str, PyJson)>),
    /// An object with run-time keys (e.g. re-serialised peer metadata).
    Map(Vec<(String, PyJson)>),
}

impl PyJson {
    /// Converts parsed JSON. `serde_json` maps iterate in key order, so objects come out with
    /// sorted keys (Python would keep the sender's order; receivers parse, never compare).
    pub fn from_value(v: &serde_json::Value) -> Self {
        use serde_json::Value;
        match v {
            Value::Null => PyJson::Null,
            Value::Bool(b) => PyJson::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => PyJson::Int(i),
                (None, Some(u)) => PyJson::Float(u as f64),
                _ => PyJson::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => PyJson::Str(s.clone()),
            Value::Array(a) => PyJson::Array(a.iter().map(PyJson::from_value).collect()),
            Value::Object(m) => PyJson::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), PyJson::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// Serialises like `json.dumps(value)` with default arguments.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            PyJson::Null => out.push_str("null"),
            PyJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            PyJson::Int(i) => {
                let _ = write!(out, "{i}");
            }
            PyJson::Float(f) => out.push_str(&float_repr(*f)),
            PyJson::Str(s) => write_str(s, out),
            PyJson::Array(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    item.write(out);
                }
                out.push(']');
            }
            PyJson::Object(fields) => {
                write_object(fields.iter().map(|(k, v)| (*k, v)), out);
            }
            PyJson::Map(fields) => {
                write_object(fields.iter().map(|(k, v)| (k.as_str(), v)), out);
            }
        }
    }
}

fn write_object<'a>(fields: impl Iterator<Item = (&'a str, &'a PyJson)>, out: &mut String) {
    out.push('{');
    for (n, (k, v)) in fields.enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        write_str(k, out);
        out.push_str(": ");
        v.write(out);
    }
    out.push('}');
}

/// Python `repr(float)`. Non-finite values become `null`: Python would emit `NaN`/`Infinity`,
/// which the browser's `JSON.parse` rejects, so the legacy spelling has no value to preserve.
pub fn float_repr(f: f64) -> String {
    if !f.is_finite() {
        return "null".to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits, like Python's repr.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let plain = format!("{f}");
        if plain.contains('.') {
            plain
        } else {
            plain + ".0"
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if !(0x20..=0x7e).contains(&(c as u32)) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        // Expected values from CPython `repr(float)`.
        let cases = [
            (60.0, "60.0"),
            (0.5, "0.5"),
            (-0.0, "-0.0"),
            (1700000000.123, "1700000000.123"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "null"),
        ];
        for (v, want) in cases {
            assert_eq!(float_repr(v), want, "{v:?}");
        }
    }

    #[test]
    fn strings_are_ascii_escaped_like_python() {
        // json.dumps("héllo \"q\"\n\u{1F600}\x01\x7f")
        let s = PyJson::Str("héllo \"q\"\n\u{1F600}\u{1}\u{7f}".into()).dumps();
        assert_eq!(
            s,
            "\"h\\u00e9llo \\\"q\\\"\\n\\ud83d\\ude00\\u0001\\u007f\""
        );
    }

    #[test]
    fn separators_have_spaces() {
        let v = PyJson::Object(vec![
            (
                "a",
                PyJson::Array(vec![PyJson::Int(1), PyJson::Bool(false)]),
            ),
            ("b", PyJson::Null),
        ]);
        assert_eq!(v.dumps(), r#"{"a": [1, false], "b": null}"#);
    }
}
