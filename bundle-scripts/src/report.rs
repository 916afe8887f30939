//! The size breakdown printed at the end of every build: the largest files, a per-directory
//! summary, total unpacked and compressed, and the budget verdict. Pure formatting over a file
//! list, so regressions show up the same way everywhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One file of the bundle and its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub size: u64,
}

/// `12345678` → `11.8 MiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Decimal megabytes, the unit of the size budget: `30_000_000` → `30.0 MB`.
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The `n` largest files, largest first; ties broken by path so output is stable.
pub fn top(entries: &[Entry], n: usize) -> Vec<Entry> {
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
    sorted.truncate(n);
    sorted
}

/// Sizes grouped by directory (the file's parent), to see which part of the layout grew.
pub fn by_directory(entries: &[Entry]) -> BTreeMap<String, (usize, u64)> {
    let mut out: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for e in entries {
        let dir = e.path.rsplit_once('/').map_or(".", |(d, _)| d);
        let slot = out.entry(dir.to_string()).or_default();
        slot.0 += 1;
        slot.1 += e.size;
    }
    out
}

pub struct Summary<'a> {
    pub entries: &'a [Entry],
    pub compressed: u64,
    pub budget: u64,
    pub tarball: &'a str,
}

pub fn render(s: &Summary<'_>) -> String {
    let total: u64 = s.entries.iter().map(|e| e.size).sum();
    let mut out = String::new();
    let _ = writeln!(out, "size breakdown: top 15 contributors");
    for (i, e) in top(s.entries, 15).iter().enumerate() {
        let pct = if total == 0 {
            0.0
        } else {
            e.size as f64 * 100.0 / total as f64
        };
        let _ = writeln!(
            out,
            "  {:>2}. {:>10}  {pct:>4.1}%  {}",
            i + 1,
            human(e.size),
            e.path
        );
    }
    let _ = writeln!(out, "by directory:");
    let mut dirs: Vec<_> = by_directory(s.entries).into_iter().collect();
    dirs.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(&b.0)));
    for (dir, (count, size)) in dirs {
        let _ = writeln!(out, "  {:>10}  {count:>4} files  {dir}", human(size));
    }
    let _ = writeln!(
        out,
        "total: {} files, {} unpacked, {} compressed ({})",
        s.entries.len(),
        human(total),
        human(s.compressed),
        s.tarball
    );
    let verdict = if s.compressed <= s.budget {
        "within"
    } else {
        "OVER"
    };
    let _ = writeln!(
        out,
        "budget: {} compressed ({}), {verdict} the budget of {}",
        mb(s.compressed),
        human(s.compressed),
        mb(s.budget)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            size,
        }
    }

    #[test]
    fn human_units() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(31 * 1024 * 1024 + 300 * 1024), "31.3 MiB");
        assert_eq!(mb(30_000_000), "30.0 MB");
    }

    #[test]
    fn top_is_largest_first_and_stable() {
        let entries = [e("b", 5), e("a", 5), e("c", 9), e("d", 1)];
        let t = top(&entries, 3);
        assert_eq!(
            t.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["c", "a", "b"]
        );
    }

    #[test]
    fn directories_group_and_render_mentions_budget() {
        let entries = [
            e("lib/libx264.so.164", 2_000_000),
            e("lib/libvpx.so.7", 3_000_000),
            e("lib/glibc/libc.so.6", 1_900_000),
            e("selkies-gstreamer-run", 1_000_000),
        ];
        let dirs = by_directory(&entries);
        assert_eq!(dirs["lib"], (2, 5_000_000));
        assert_eq!(dirs["."], (1, 1_000_000));
        let text = render(&Summary {
            entries: &entries,
            compressed: 4_000_000,
            budget: 30 * 1000 * 1000,
            tarball: "x.tar.gz",
        });
        assert!(
            text.contains("1.    2.9 MiB  38.0%  lib/libvpx.so.7"),
            "{text}"
        );
        assert!(
            text.contains("4.0 MB compressed (3.8 MiB), within the budget of 30.0 MB"),
            "{text}"
        );
        let over = render(&Summary {
            entries: &entries,
            compressed: 40_000_000,
            budget: 30_000_000,
            tarball: "x.tar.gz",
        });
        assert!(over.contains("OVER the budget"), "{over}");
    }
}
