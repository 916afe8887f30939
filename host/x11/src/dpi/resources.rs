//! Pure merging of X resources (the text of `RESOURCE_MANAGER`), the way `xrdb -merge` treats
//! a few entries: replace those given, keep every other line byte for byte.

/// Returns `existing` with each `(name, value)` of `updates` set: the first entry whose
/// specifier is exactly `name` becomes `name:\tvalue`, later duplicates are dropped, names not
/// present are appended. Comments (`!`), continuation lines (`\` at the end) and text that is
/// not UTF-8 (the property is Latin-1 `STRING`) pass through unchanged.
pub fn merge_resources(existing: &[u8], updates: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(existing.len() + 64);
    let mut done = vec![false; updates.len()];
    for entry in logical_lines(existing) {
        let hit = specifier(entry)
            .and_then(|spec| updates.iter().position(|(name, _)| name.as_bytes() == spec));
        match hit {
            Some(i) if done[i] => {}
            Some(i) => {
                done[i] = true;
                push_entry(&mut out, updates[i].0, &updates[i].1);
            }
            None => {
                out.extend_from_slice(entry);
                out.push(b'\n');
            }
        }
    }
    for (i, (name, value)) in updates.iter().enumerate() {
        if !done[i] {
            push_entry(&mut out, name, value);
        }
    }
    out
}

fn push_entry(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b":\t");
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// Splits at newlines that are not escaped by an odd number of backslashes; the pieces keep
/// their inner escaped newlines. Empty lines are dropped (xrdb writes none).
fn logical_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut backslashes = 0usize;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'\\' => backslashes += 1,
            b'\n' => {
                if backslashes.is_multiple_of(2) {
                    lines.push(&text[start..i]);
                    start = i + 1;
                }
                backslashes = 0;
            }
            _ => backslashes = 0,
        }
    }
    lines.push(&text[start..]);
    lines.retain(|l| !l.iter().all(u8::is_ascii_whitespace));
    lines
}

/// The resource specifier of an entry (`Xft.dpi` in `Xft.dpi:\t96`), without surrounding
/// blanks; `None` for comments, `#include`-style directives and lines without a colon.
fn specifier(entry: &[u8]) -> Option<&[u8]> {
    let first = entry.iter().position(|b| !matches!(b, b' ' | b'\t'))?;
    if matches!(entry[first], b'!' | b'#') {
        return None;
    }
    let colon = entry.iter().position(|&b| b == b':')?;
    let spec = entry.get(first..colon)?;
    let end = spec
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |p| p + 1);
    Some(&spec[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(existing: &str, updates: &[(&str, &str)]) -> String {
        let updates: Vec<(&str, String)> =
            updates.iter().map(|&(n, v)| (n, v.to_owned())).collect();
        String::from_utf8(merge_resources(existing.as_bytes(), &updates)).expect("utf-8")
    }

    #[test]
    fn empty_property_gets_the_entries() {
        assert_eq!(
            merge("", &[("Xft.dpi", "144"), ("Xcursor.size", "32")]),
            "Xft.dpi:\t144\nXcursor.size:\t32\n"
        );
    }

    #[test]
    fn replaces_in_place_and_keeps_the_rest() {
        let existing = "*background:\tgrey\nXft.dpi:\t96\nXft.antialias:\t1\n";
        assert_eq!(
            merge(existing, &[("Xft.dpi", "144")]),
            "*background:\tgrey\nXft.dpi:\t144\nXft.antialias:\t1\n"
        );
    }

    #[test]
    fn blanks_around_the_specifier_and_duplicates() {
        let existing = "  Xft.dpi : 96\nXft.dpi:\t120\nXterm*font: fixed\n";
        assert_eq!(
            merge(existing, &[("Xft.dpi", "192")]),
            "Xft.dpi:\t192\nXterm*font: fixed\n"
        );
    }

    #[test]
    fn similar_names_comments_and_continuations_are_untouched() {
        let existing = "! Xft.dpi: 1\nXft*dpi: 72\nXft.dpix: 3\n\
                        *text: one \\\nXft.dpi: not an entry\nlast: x";
        assert_eq!(
            merge(existing, &[("Xft.dpi", "144")]),
            "! Xft.dpi: 1\nXft*dpi: 72\nXft.dpix: 3\n\
             *text: one \\\nXft.dpi: not an entry\nlast: x\nXft.dpi:\t144\n"
        );
    }

    #[test]
    fn latin1_bytes_pass_through() {
        let existing = b"*title:\tcaf\xe9\nXft.dpi:\t96\n";
        let merged = merge_resources(existing, &[("Xft.dpi", "144".to_owned())]);
        assert_eq!(merged, b"*title:\tcaf\xe9\nXft.dpi:\t144\n");
    }
}
