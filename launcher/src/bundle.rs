//! The bundle on disk: finding its root from `/proc/self/exe`, the paths of its parts, and the
//! `--library-path` handed to the loader.
//!
//! Everything is computed from where the launcher really is at run time (symlinks resolved by
//! the kernel), so the tree can be extracted anywhere, renamed, moved, or reached through a
//! symlink. Paths stay `OsString`/`PathBuf` end to end: spaces and non-UTF-8 names survive.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::glibc::GlibcMode;

/// Errors locating the bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read /proc/self/exe (is /proc mounted?)")]
    SelfExe(#[source] std::io::Error),
    #[error("no bundle around {0}: expected libexec/ next to the launcher or one level up")]
    NotFound(PathBuf),
}

/// The extracted `selkies-gstreamer/` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub root: PathBuf,
}

impl Bundle {
    /// The bundle that contains the running executable.
    pub fn locate() -> Result<Self, BundleError> {
        let exe = std::fs::read_link("/proc/self/exe").map_err(BundleError::SelfExe)?;
        Self::around(&exe)
    }

    /// The bundle root for an executable at `exe`: its directory, or the parent when the
    /// launcher sits in `bin/` (the top-level name may be a hard link or a copy).
    pub fn around(exe: &Path) -> Result<Self, BundleError> {
        let dir = exe.parent().unwrap_or(Path::new("/"));
        for candidate in [Some(dir), dir.parent()].into_iter().flatten() {
            if candidate.join("libexec").is_dir() {
                return Ok(Self {
                    root: candidate.to_path_buf(),
                });
            }
        }
        Err(BundleError::NotFound(exe.to_path_buf()))
    }

    pub fn lib(&self) -> PathBuf {
        self.root.join("lib")
    }
    pub fn glibc_dir(&self) -> PathBuf {
        self.root.join("lib/glibc")
    }
    pub fn gcc_dir(&self) -> PathBuf {
        self.root.join("lib/gcc")
    }
    pub fn bundled_loader(&self) -> PathBuf {
        self.glibc_dir().join("ld-linux-x86-64.so.2")
    }
    pub fn bundled_libc(&self) -> PathBuf {
        self.glibc_dir().join("libc.so.6")
    }
    pub fn plugin_dir(&self) -> PathBuf {
        self.root.join("lib/gstreamer-1.0")
    }
    pub fn gio_modules(&self) -> PathBuf {
        self.root.join("lib/gio/modules")
    }
    pub fn gconv(&self) -> PathBuf {
        self.root.join("lib/gconv")
    }
    pub fn web_root(&self) -> PathBuf {
        self.root.join("share/selkies-web")
    }
    /// The joystick interposer (bundle-scripts' `layout::INTERPOSER`).
    pub fn joystick_interposer(&self) -> PathBuf {
        self.root.join("lib/selkies_joystick_interposer.so")
    }
    /// The webcam interposer (bundle-scripts' `layout::WEBCAM_INTERPOSER`).
    pub fn webcam_interposer(&self) -> PathBuf {
        self.root.join("lib/selkies_v4l2_interposer.so")
    }
    /// The real host binary.
    pub fn host(&self) -> PathBuf {
        self.libexec("selkies-gstreamer")
    }
    /// A real ELF under `libexec/`.
    pub fn libexec(&self, name: &str) -> PathBuf {
        self.root.join("libexec").join(name)
    }
    /// The launcher link GStreamer spawns as its plugin scanner (`bin/gst-plugin-scanner` →
    /// `../selkies-gstreamer-run`), so the scanner runs under the same loader.
    pub fn scanner_link(&self) -> PathBuf {
        self.root.join("bin/gst-plugin-scanner")
    }
    /// The dlopen-capable probe helper (dynamic, run through the loader).
    pub fn probe_helper(&self) -> PathBuf {
        self.libexec("selkies-gpu-probe")
    }
}

/// Directories of host libraries that Debian's ld.so does not search by default (RHEL, HPC).
pub const HOST_EXTRA_LIB_DIRS: &[&str] = &["/usr/lib64", "/lib64"];

/// The loader's `--library-path`: `[lib/glibc] : lib : [lib/gcc]`, then the user's own
/// `LD_LIBRARY_PATH` (the loader option replaces it for this process, so HPC driver paths would
/// otherwise be lost), then `/usr/lib64:/lib64` so RHEL-located drivers resolve too.
pub fn library_path(
    bundle: &Bundle,
    mode: GlibcMode,
    use_gcc_dir: bool,
    user_ld_library_path: Option<&OsString>,
) -> OsString {
    let mut dirs: Vec<OsString> = Vec::new();
    if mode == GlibcMode::Bundled {
        dirs.push(bundle.glibc_dir().into_os_string());
    }
    dirs.push(bundle.lib().into_os_string());
    if use_gcc_dir {
        dirs.push(bundle.gcc_dir().into_os_string());
    }
    if let Some(user) = user_ld_library_path {
        dirs.extend(
            user.as_bytes()
                .split(|b| *b == b':')
                .filter(|d| !d.is_empty())
                .map(|d| OsString::from_vec(d.to_vec())),
        );
    }
    dirs.extend(HOST_EXTRA_LIB_DIRS.iter().map(OsString::from));
    join_colon(&dirs)
}

/// Joins path entries with `:`. A ':' inside a bundle path cannot be expressed in a loader
/// path list; `check_path_list_safe` reports it before anything is run.
pub fn join_colon(parts: &[OsString]) -> OsString {
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        out.extend_from_slice(part.as_bytes());
    }
    OsString::from_vec(out)
}

/// Loader path lists and GStreamer's plugin path are colon-separated: a root containing ':'
/// would silently split. Refuse it with a clear message instead.
pub fn check_path_list_safe(root: &Path) -> Result<(), String> {
    if root.as_os_str().as_bytes().contains(&b':') {
        return Err(format!(
            "the bundle path {} contains ':', which library and plugin path lists cannot carry; \
             move the directory",
            root.display()
        ));
    }
    Ok(())
}

/// The highest `GLIBCXX_3.4.N` a libstdc++ defines (0 when none): linuxdeploy's checkrt rule
/// keeps the bundled C++ runtime only when it is newer than the host's.
pub fn max_glibcxx_minor(bytes: &[u8]) -> u32 {
    const NEEDLE: &[u8] = b"GLIBCXX_3.4.";
    let mut best = 0;
    let mut i = 0;
    while i + NEEDLE.len() <= bytes.len() {
        if &bytes[i..i + NEEDLE.len()] == NEEDLE {
            let digits: Vec<u8> = bytes[i + NEEDLE.len()..]
                .iter()
                .take(4)
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            if let Some(n) = std::str::from_utf8(&digits)
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
            {
                best = best.max(n);
            }
            i += NEEDLE.len();
        } else {
            i += 1;
        }
    }
    best
}

/// Whether `lib/gcc` goes on the path: always with the bundled glibc (the host's C++ runtime
/// may need a newer libc), otherwise only when the bundled libstdc++ is newer than the host's.
pub fn use_gcc_dir(mode: GlibcMode, bundled: Option<u32>, host: Option<u32>) -> bool {
    match (mode, bundled) {
        (_, None) => false,
        (GlibcMode::Bundled, Some(_)) => true,
        (GlibcMode::Host, Some(b)) => host.is_none_or(|h| b > h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_next_to_or_above_the_launcher() {
        let tmp = std::env::temp_dir().join(format!("sl-bundle-{}", std::process::id()));
        let root = tmp.join("a dir/sélkies");
        std::fs::create_dir_all(root.join("libexec")).expect("mkdir");
        std::fs::create_dir_all(root.join("bin")).expect("mkdir");
        let top = Bundle::around(&root.join("selkies-gstreamer-run")).expect("top");
        assert_eq!(top.root, root);
        let nested = Bundle::around(&root.join("bin/gst-plugin-scanner")).expect("bin");
        assert_eq!(nested.root, root);
        assert!(Bundle::around(&tmp.join("elsewhere/x")).is_err());
        std::fs::remove_dir_all(&tmp).expect("cleanup");
    }

    #[test]
    fn library_path_order() {
        let b = Bundle {
            root: PathBuf::from("/opt/my bundle"),
        };
        let user = OsString::from("/hpc/cuda/lib::/x");
        let lp = library_path(&b, GlibcMode::Bundled, true, Some(&user));
        assert_eq!(
            lp,
            OsString::from(
                "/opt/my bundle/lib/glibc:/opt/my bundle/lib:/opt/my bundle/lib/gcc:\
                 /hpc/cuda/lib:/x:/usr/lib64:/lib64"
            )
        );
        let lp = library_path(&b, GlibcMode::Host, false, None);
        assert_eq!(lp, OsString::from("/opt/my bundle/lib:/usr/lib64:/lib64"));
    }

    #[test]
    fn colon_in_root_is_refused() {
        assert!(check_path_list_safe(Path::new("/tmp/a:b")).is_err());
        assert!(check_path_list_safe(Path::new("/tmp/a b/ü")).is_ok());
    }

    #[test]
    fn glibcxx_newest_wins() {
        let bundled = b"..GLIBCXX_3.4.29\0GLIBCXX_3.4.30\0GLIBCXX_3.4.9\0CXXABI_1.3";
        let host = b"GLIBCXX_3.4.33\0";
        assert_eq!(max_glibcxx_minor(bundled), 30);
        assert_eq!(max_glibcxx_minor(host), 33);
        assert_eq!(max_glibcxx_minor(b"nothing"), 0);
        assert!(!use_gcc_dir(GlibcMode::Host, Some(30), Some(33)));
        assert!(use_gcc_dir(GlibcMode::Host, Some(30), Some(28)));
        assert!(use_gcc_dir(GlibcMode::Host, Some(30), None));
        assert!(use_gcc_dir(GlibcMode::Bundled, Some(30), Some(33)));
        assert!(!use_gcc_dir(GlibcMode::Bundled, None, Some(33)));
    }
}
