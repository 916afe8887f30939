//! File names that come from a browser, made safe to create inside one directory: the last
//! path component only, no NUL or control characters, no leading dots (no hidden files, no
//! `..`, no clash with the host's own `.selkies-upload-*` partial files), at most 255 bytes
//! (cut on a character boundary, the extension kept), Unicode otherwise untouched. And the
//! " (1)", " (2)" … names tried when the plain one is taken, so nothing is ever overwritten.
//! Pure functions; the upload handler does the I/O.

/// Longest file name most Linux file systems accept, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// The name used when nothing usable is left of what the browser sent.
pub const FALLBACK_NAME: &str = "upload";
/// Prefix of the partial files of running uploads (hidden, never a sanitised name).
pub const PARTIAL_PREFIX: &str = ".selkies-upload-";

/// A name that can be joined to the upload directory and stays inside it.
pub fn sanitize(raw: &str) -> String {
    // Browsers send a base name, but a hostile client may send any path, in either style.
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            // Unicode line/paragraph separators and the BOM confuse file managers and shells.
            '\u{2028}' | '\u{2029}' | '\u{feff}' => ' ',
            c => c,
        })
        .collect();
    let trimmed = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() {
        return FALLBACK_NAME.to_owned();
    }
    truncate_keeping_extension(trimmed, MAX_NAME_BYTES)
}

/// `name` cut to at most `max` bytes on a character boundary; a short extension (≤ 16 bytes)
/// survives the cut, so `very…long.pdf` stays a PDF.
pub fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = split_extension(name);
    let ext = if ext.len() <= 16 { ext } else { "" };
    let keep = max.saturating_sub(ext.len());
    let mut out = floor_char(stem, keep).trim_end().to_owned();
    if out.is_empty() {
        out = floor_char(name, max).to_owned();
        return out;
    }
    out.push_str(ext);
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn floor_char(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `("report", ".tar.gz")`-style split at the last dot that is not the first character; the
/// extension includes its dot.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// The `n`-th name to try for `name`: `name` itself for 0, then `stem (n).ext`, still within
/// [`MAX_NAME_BYTES`].
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    let (stem, ext) = split_extension(name);
    let suffix = format!(" ({n}){ext}");
    let stem = floor_char(stem, MAX_NAME_BYTES.saturating_sub(suffix.len()));
    format!("{stem}{suffix}")
}

/// Whether `name` (from a download URL) names one entry directly inside the directory: no
/// separator, no NUL, not `.`/`..`, not hidden.
pub fn is_plain_entry(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_absolute_paths_keep_only_the_last_component() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("/etc/shadow"), "shadow");
        assert_eq!(sanitize("..\\..\\windows\\win.ini"), "win.ini");
        assert_eq!(sanitize("a/b/"), FALLBACK_NAME);
        assert_eq!(sanitize(".."), FALLBACK_NAME);
        assert_eq!(sanitize("."), FALLBACK_NAME);
        assert_eq!(sanitize(""), FALLBACK_NAME);
    }

    #[test]
    fn control_characters_and_hidden_names_go() {
        assert_eq!(sanitize("evil\0name.txt"), "evilname.txt");
        assert_eq!(sanitize("line\nbreak\r.txt"), "linebreak.txt");
        assert_eq!(sanitize("\u{1b}[31mred"), "[31mred");
        assert_eq!(sanitize(".bashrc"), "bashrc");
        assert_eq!(sanitize("...dots..."), "dots");
        assert_eq!(sanitize(".selkies-upload-x.part"), "selkies-upload-x.part");
        assert_eq!(sanitize("  spaced  .txt  "), "spaced  .txt");
    }

    #[test]
    fn unicode_is_kept() {
        assert_eq!(sanitize("Résumé – 履歴書 😀.pdf"), "Résumé – 履歴書 😀.pdf");
        assert_eq!(sanitize("a\u{2028}b"), "a b");
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let s = sanitize(&long);
        assert!(s.len() <= MAX_NAME_BYTES, "{}", s.len());
        assert!(s.ends_with("é.pdf"), "{s}");
        let emoji = "😀".repeat(100);
        let s = sanitize(&emoji);
        assert!(s.len() <= MAX_NAME_BYTES && s.chars().all(|c| c == '😀'));
        assert_eq!(s.len(), 252);
        // An absurd extension is not worth keeping.
        let s = sanitize(&format!("a.{}", "x".repeat(400)));
        assert!(s.len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn numbered_names() {
        assert_eq!(numbered("a.txt", 0), "a.txt");
        assert_eq!(numbered("a.txt", 1), "a (1).txt");
        assert_eq!(numbered("archive.tar.gz", 2), "archive.tar (2).gz");
        assert_eq!(numbered("README", 3), "README (3)");
        let long = "x".repeat(255);
        assert!(numbered(&long, 12).len() <= MAX_NAME_BYTES);
        assert!(numbered(&long, 12).ends_with(" (12)"));
    }

    #[test]
    fn download_entries() {
        assert!(is_plain_entry("report.pdf"));
        assert!(is_plain_entry("履歴書.pdf"));
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a\0b"] {
            assert!(!is_plain_entry(bad), "{bad:?}");
        }
    }
}
