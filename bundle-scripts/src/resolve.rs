//! The real [`Resolver`]: a soname is looked for first in local rebuilds (libnice without UPnP,
//! the gst-plugins-rs builds), then located on the build host only to learn which Debian package
//! ships it; the bytes always come from that package's downloaded `.deb`, never from the host.

use std::path::{Path, PathBuf};

use crate::apt::{Apt, AptError, path_aliases};
use crate::closure::{Found, Resolver};
use crate::elf::{self, ElfError};

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Apt(#[from] AptError),
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error("{soname}: package {package} does not contain {path}")]
    NotInPackage {
        soname: String,
        package: String,
        path: String,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Library directories ld.so searches by default on Debian x86_64.
const DEFAULT_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/usr/lib",
    "/lib",
];

pub struct DebResolver<'a> {
    pub apt: &'a mut Apt,
    /// Directories of locally built libraries that replace Debian's (searched first).
    pub overrides: Vec<PathBuf>,
}

/// Candidate host paths for a soname, in ld.so order: the requester's RUNPATH (absolute entries
/// only: `$ORIGIN` entries point into the build tree), then the default directories.
pub fn candidate_dirs(search_path: &[String]) -> Vec<String> {
    search_path
        .iter()
        .filter(|p| p.starts_with('/'))
        .cloned()
        .chain(DEFAULT_DIRS.iter().map(|s| s.to_string()))
        .collect()
}

/// Resolves `rel` inside an extracted package, following symlinks but refusing to leave it.
pub fn file_in_tree(root: &Path, rel: &str) -> Option<PathBuf> {
    let joined = root.join(rel.trim_start_matches('/'));
    let canon = std::fs::canonicalize(&joined).ok()?;
    let root = std::fs::canonicalize(root).ok()?;
    (canon.starts_with(&root) && canon.is_file()).then_some(canon)
}

impl DebResolver<'_> {
    fn find_override(&self, soname: &str) -> Result<Option<Found>, ResolveError> {
        for dir in &self.overrides {
            let candidate = dir.join(soname);
            if candidate.is_file() {
                let source = std::fs::canonicalize(&candidate)?;
                let info = elf::read(&source)?;
                let origin = format!("local build ({})", dir.display());
                return Ok(Some(Found {
                    source,
                    origin,
                    info,
                }));
            }
        }
        Ok(None)
    }
}

impl Resolver for DebResolver<'_> {
    type Error = ResolveError;

    fn resolve(
        &mut self,
        soname: &str,
        search_path: &[String],
    ) -> Result<Option<Found>, ResolveError> {
        if let Some(found) = self.find_override(soname)? {
            return Ok(Some(found));
        }
        for dir in candidate_dirs(search_path) {
            let host_path = format!("{dir}/{soname}");
            if !Path::new(&host_path).exists() {
                continue;
            }
            let Some(package) = self.apt.owner(&host_path) else {
                tracing::warn!(
                    soname,
                    host_path,
                    "on the host but owned by no package; skipped"
                );
                continue;
            };
            let extracted = self.apt.fetch(&package)?;
            let source = path_aliases(&host_path)
                .iter()
                .find_map(|p| file_in_tree(&extracted.root, p))
                .ok_or_else(|| ResolveError::NotInPackage {
                    soname: soname.to_string(),
                    package: package.clone(),
                    path: host_path.clone(),
                })?;
            let info = elf::read(&source)?;
            return Ok(Some(Found {
                source,
                origin: package,
                info,
            }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runpath_first_and_origin_entries_ignored() {
        let dirs = candidate_dirs(&[
            "$ORIGIN/../lib".to_string(),
            "/usr/lib/x86_64-linux-gnu/pulseaudio".to_string(),
        ]);
        assert_eq!(dirs[0], "/usr/lib/x86_64-linux-gnu/pulseaudio");
        assert_eq!(dirs[1], "/usr/lib/x86_64-linux-gnu");
        assert!(!dirs.iter().any(|d| d.contains("ORIGIN")));
    }

    #[test]
    fn symlinks_resolve_inside_the_tree_but_not_outside() {
        let tmp = tempfile::tempdir().expect("tmp");
        let lib = tmp.path().join("usr/lib");
        std::fs::create_dir_all(&lib).expect("mkdir");
        std::fs::write(lib.join("libz.so.1.2.13"), b"x").expect("write");
        std::os::unix::fs::symlink("libz.so.1.2.13", lib.join("libz.so.1")).expect("link");
        std::os::unix::fs::symlink("/etc/hostname", lib.join("libescape.so.1")).expect("link");
        let found = file_in_tree(tmp.path(), "/usr/lib/libz.so.1").expect("found");
        assert!(found.ends_with("libz.so.1.2.13"));
        assert_eq!(file_in_tree(tmp.path(), "/usr/lib/libescape.so.1"), None);
        assert_eq!(file_in_tree(tmp.path(), "/usr/lib/missing.so"), None);
    }
}
