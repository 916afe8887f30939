//! glibc versions and the run-time choice between the host's loader + libc and the bundled ones.
//!
//! The version is read from the bytes of `libc.so.6` (its banner says `release version X.Y`),
//! never by running the host's `ld.so --version` (absent on 2.31) and never by dlopen (the
//! launcher is static). The rule is "newest wins" (docs/bundle.md R1): a host glibc at
//! least as new as the bundled one runs everything, so host drivers that need a newer glibc load.

use std::fmt;
use std::path::{Path, PathBuf};

/// A glibc `major.minor` release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct GlibcVersion {
    pub major: u32,
    pub minor: u32,
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl GlibcVersion {
    /// Parses `2.36` (extra components such as `2.36.1` are ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor_text: String = parts
            .next()?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let minor = minor_text.parse().ok()?;
        Some(Self { major, minor })
    }
}

/// Finds `release version X.Y` in the bytes of a libc.so.6 (the banner `__libc_print_version`
/// prints; present in every glibc from 2.3 to 2.41 that was checked: docs/bundle.md R8).
pub fn version_from_libc_bytes(bytes: &[u8]) -> Option<GlibcVersion> {
    const NEEDLE: &[u8] = b"release version ";
    let mut start = 0;
    while let Some(pos) = find(&bytes[start..], NEEDLE) {
        let at = start + pos + NEEDLE.len();
        let tail: Vec<u8> = bytes[at..]
            .iter()
            .take(16)
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .copied()
            .collect();
        if let Some(v) = std::str::from_utf8(&tail)
            .ok()
            .and_then(GlibcVersion::parse)
        {
            return Some(v);
        }
        start = at;
    }
    None
}

/// First occurrence of `needle`; jumps between occurrences of its first byte, which keeps the
/// scan of a 2 MB libc well under a millisecond.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(p) = haystack.get(from..)?.iter().position(|b| *b == first) {
        let at = from + p;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Where a host libc.so.6 lives on Debian-like, RHEL-like and plain layouts, in search order.
pub const HOST_LIBC_CANDIDATES: &[&str] = &[
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/libc.so.6",
    "/usr/lib64/libc.so.6",
    "/lib/libc.so.6",
    "/usr/lib/libc.so.6",
];

/// The x86_64 program interpreter every host glibc provides (PT_INTERP of all x86_64 ELFs).
pub const HOST_LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

/// Reads the glibc version of the first existing candidate file.
pub fn read_version(candidates: &[PathBuf]) -> Option<(PathBuf, GlibcVersion)> {
    candidates.iter().find_map(|path| {
        let bytes = std::fs::read(path).ok()?;
        version_from_libc_bytes(&bytes).map(|v| (path.clone(), v))
    })
}

/// Which loader + libc runs the bundled programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GlibcMode {
    /// The host's `/lib64/ld-linux-x86-64.so.2` and libc; `lib/glibc` stays off the path.
    Host,
    /// `lib/glibc/ld-linux-x86-64.so.2` with `lib/glibc` first on the library path.
    Bundled,
}

impl fmt::Display for GlibcMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Host => "host",
            Self::Bundled => "bundled",
        })
    }
}

/// The user's override, from `SELKIES_GLIBC_MODE` (`auto` when unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeOverride {
    Auto,
    Force(GlibcMode),
}

impl ModeOverride {
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("") | Some("auto") => Ok(Self::Auto),
            Some("host") => Ok(Self::Force(GlibcMode::Host)),
            Some("bundled") => Ok(Self::Force(GlibcMode::Bundled)),
            Some(other) => Err(format!(
                "SELKIES_GLIBC_MODE={other:?}: expected auto, host or bundled"
            )),
        }
    }
}

/// What the decision was based on, kept for the probe report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModeDecision {
    pub mode: GlibcMode,
    pub host: Option<GlibcVersion>,
    pub bundled: Option<GlibcVersion>,
    pub reason: String,
}

/// The pure decision. `host_loader_present` is whether `/lib64/ld-linux-x86-64.so.2` exists;
/// `bundled` is `None` when the bundle carries no `lib/glibc` (a host-glibc-only bundle).
pub fn decide(
    host: Option<GlibcVersion>,
    host_loader_present: bool,
    bundled: Option<GlibcVersion>,
    over: ModeOverride,
) -> ModeDecision {
    let (mode, reason) = match (over, bundled) {
        (ModeOverride::Force(GlibcMode::Bundled), Some(_)) => (
            GlibcMode::Bundled,
            "forced by SELKIES_GLIBC_MODE".to_owned(),
        ),
        (ModeOverride::Force(GlibcMode::Host), _) => {
            (GlibcMode::Host, "forced by SELKIES_GLIBC_MODE".to_owned())
        }
        (ModeOverride::Force(GlibcMode::Bundled), None) => (
            GlibcMode::Host,
            "SELKIES_GLIBC_MODE=bundled ignored: the bundle has no lib/glibc".to_owned(),
        ),
        (ModeOverride::Auto, None) => (
            GlibcMode::Host,
            "the bundle carries no glibc of its own".to_owned(),
        ),
        (ModeOverride::Auto, Some(b)) => match host {
            Some(h) if host_loader_present && h >= b => (
                GlibcMode::Host,
                format!("host glibc {h} is at least the bundled {b}"),
            ),
            Some(h) if host_loader_present => (
                GlibcMode::Bundled,
                format!("host glibc {h} is older than the bundled {b}"),
            ),
            Some(_) => (GlibcMode::Bundled, format!("host has no {HOST_LOADER}")),
            None => (GlibcMode::Bundled, "no host glibc found".to_owned()),
        },
    };
    ModeDecision {
        mode,
        host,
        bundled,
        reason,
    }
}

/// The host candidates, re-rooted under `root` (tests point it at a fake tree; normally `/`).
pub fn host_candidates(root: &Path) -> Vec<PathBuf> {
    HOST_LIBC_CANDIDATES
        .iter()
        .map(|p| root.join(p.trim_start_matches('/')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u32, minor: u32) -> GlibcVersion {
        GlibcVersion { major, minor }
    }

    #[test]
    fn parses_versions_and_orders_numerically() {
        assert_eq!(GlibcVersion::parse("2.36"), Some(v(2, 36)));
        assert_eq!(GlibcVersion::parse("2.17.1"), Some(v(2, 17)));
        assert_eq!(GlibcVersion::parse("2"), None);
        assert_eq!(GlibcVersion::parse("x.1"), None);
        // 2.9 < 2.17 < 2.36: numeric, not lexicographic.
        assert!(v(2, 9) < v(2, 17));
        assert!(v(2, 17) < v(2, 36));
        assert!(v(2, 41) > v(2, 36));
    }

    #[test]
    fn finds_the_banner_in_libc_bytes() {
        let banner = b"\0\x7fELF junk GNU C Library (Debian GLIBC 2.36-9+deb12u9) stable release version 2.36.\nCopyright";
        assert_eq!(version_from_libc_bytes(banner), Some(v(2, 36)));
        let rhel = b"GNU C Library (GNU libc) stable release version 2.17, by Roland McGrath";
        assert_eq!(version_from_libc_bytes(rhel), Some(v(2, 17)));
        // A first match without digits must not stop the scan.
        let two = b"release version X; GNU C Library release version 2.31.";
        assert_eq!(version_from_libc_bytes(two), Some(v(2, 31)));
        assert_eq!(version_from_libc_bytes(b"no banner here"), None);
    }

    #[test]
    fn reads_this_machines_libc() {
        let found = read_version(&host_candidates(Path::new("/")));
        let (_, version) = found.expect("a Debian 12 host has a libc.so.6 with a banner");
        assert!(version >= v(2, 17), "{version}");
    }

    #[test]
    fn newest_wins() {
        let b = Some(v(2, 36));
        let d = decide(Some(v(2, 41)), true, b, ModeOverride::Auto);
        assert_eq!(d.mode, GlibcMode::Host);
        let d = decide(Some(v(2, 36)), true, b, ModeOverride::Auto);
        assert_eq!(d.mode, GlibcMode::Host, "equal versions use the host");
        let d = decide(Some(v(2, 31)), true, b, ModeOverride::Auto);
        assert_eq!(d.mode, GlibcMode::Bundled);
        assert!(d.reason.contains("older"), "{}", d.reason);
        let d = decide(Some(v(2, 41)), false, b, ModeOverride::Auto);
        assert_eq!(d.mode, GlibcMode::Bundled, "no host loader");
        let d = decide(None, false, b, ModeOverride::Auto);
        assert_eq!(d.mode, GlibcMode::Bundled, "pure chroot");
        let d = decide(Some(v(2, 17)), true, None, ModeOverride::Auto);
        assert_eq!(d.mode, GlibcMode::Host, "nothing bundled to fall back on");
    }

    #[test]
    fn overrides() {
        let b = Some(v(2, 36));
        let forced = ModeOverride::parse(Some("bundled")).expect("valid");
        assert_eq!(
            decide(Some(v(2, 41)), true, b, forced).mode,
            GlibcMode::Bundled
        );
        assert_eq!(
            decide(Some(v(2, 41)), true, None, forced).mode,
            GlibcMode::Host
        );
        let host = ModeOverride::parse(Some("host")).expect("valid");
        assert_eq!(decide(Some(v(2, 31)), true, b, host).mode, GlibcMode::Host);
        assert_eq!(ModeOverride::parse(None), Ok(ModeOverride::Auto));
        assert!(ModeOverride::parse(Some("newest")).is_err());
    }
}
