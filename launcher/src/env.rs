//! The environment of bundled processes, and the way back to the user's environment.
//!
//! Every variable the launcher sets or removes for the host is recorded: its name goes into
//! `SELKIES_BUNDLE_ENV` (colon list) and its previous value, if any, into `SELKIES_ORIG_<NAME>`.
//! [`user_env`] undoes exactly that, so programs started for the user (Xvfb, PulseAudio, apps,
//! by the launcher or later by the host) never see bundle paths — a bundled `GCONV_PATH` or
//! `GIO_MODULE_DIR` inside a host program breaks it (docs/bundle.md R3). The same undo
//! makes re-entry idempotent: the plugin scanner, spawned by the host through the launcher,
//! recomputes from the user's environment rather than stacking on the host's.
//! `LD_LIBRARY_PATH` is never exported: the loader gets `--library-path` instead.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::bundle::Bundle;
use crate::glibc::GlibcMode;
use crate::vars;

/// An environment as name → value, byte-exact.
pub type EnvMap = BTreeMap<OsString, OsString>;

/// Captures the current process environment.
pub fn current() -> EnvMap {
    std::env::vars_os().collect()
}

/// The environment the user started the launcher with, recovered from a bundled process's
/// environment. The host calls this (or does the same) before spawning any host program.
pub fn user_env(env: &EnvMap) -> EnvMap {
    let mut out = env.clone();
    let Some(list) = env.get(OsStr::new(vars::SELKIES_BUNDLE_ENV)) else {
        return out;
    };
    for name in list
        .as_bytes()
        .split(|b| *b == b':')
        .filter(|n| !n.is_empty())
    {
        let name = OsString::from_vec(name.to_vec());
        let orig = orig_key(&name);
        match env.get(&orig) {
            Some(value) => out.insert(name, value.clone()),
            None => out.remove(&name),
        };
        out.remove(&orig);
    }
    out.remove(OsStr::new(vars::SELKIES_BUNDLE_ENV));
    out
}

fn orig_key(name: &OsStr) -> OsString {
    let mut key = OsString::from(vars::SELKIES_ORIG_PREFIX);
    key.push(name);
    key
}

/// Records and applies changes on top of a user environment.
#[derive(Debug, Clone)]
pub struct BundleEnv {
    env: EnvMap,
    changed: Vec<OsString>,
}

impl BundleEnv {
    pub fn new(user: EnvMap) -> Self {
        Self {
            env: user,
            changed: Vec::new(),
        }
    }

    fn remember(&mut self, name: &OsStr) {
        if self.changed.iter().any(|n| n == name) {
            return;
        }
        if let Some(old) = self.env.get(name).cloned() {
            self.env.insert(orig_key(name), old);
        }
        self.changed.push(name.to_owned());
    }

    /// Sets `name` for bundled processes only.
    pub fn set(&mut self, name: &str, value: impl Into<OsString>) {
        self.remember(OsStr::new(name));
        self.env.insert(name.into(), value.into());
    }

    /// Removes `name` for bundled processes only (recorded only if it was set).
    pub fn unset(&mut self, name: &str) {
        if self.env.contains_key(OsStr::new(name)) {
            self.remember(OsStr::new(name));
            self.env.remove(OsStr::new(name));
        }
    }

    /// Sets `name` only when the user has not.
    pub fn default(&mut self, name: &str, value: impl Into<OsString>) {
        if !self.env.contains_key(OsStr::new(name)) {
            self.set(name, value);
        }
    }

    pub fn get(&self, name: &str) -> Option<&OsString> {
        self.env.get(OsStr::new(name))
    }

    /// The final map, with the bookkeeping variables.
    pub fn finish(mut self) -> EnvMap {
        if !self.changed.is_empty() {
            let list: Vec<OsString> = self.changed.clone();
            self.env.insert(
                vars::SELKIES_BUNDLE_ENV.into(),
                crate::bundle::join_colon(&list),
            );
        }
        self.env
    }
}

/// Host facts the bundle environment depends on, gathered by the caller (I/O stays outside).
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// The per-install registry file.
    pub registry: PathBuf,
    /// First existing CA bundle of the host, if any.
    pub ca_file: Option<PathBuf>,
    /// Existing host VA driver directories.
    pub libva_driver_dirs: Vec<PathBuf>,
    /// Whether `bin/gst-plugin-scanner` (a launcher link) exists.
    pub scanner_link: bool,
    /// A directory of links to the interposers when the bundle's own path cannot stand in
    /// `LD_PRELOAD` ([`preloadable`]); see [`preload_link_dir`].
    pub preload_links: Option<PathBuf>,
}

/// Whether `path` can stand in `LD_PRELOAD`: the dynamic loader splits that list at spaces and
/// colons and has no quoting, so a bundle extracted under such a path cannot be preloaded.
pub fn preloadable(path: &Path) -> bool {
    !path
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b' ' | b':' | b'\t' | b'\n'))
}

/// Where the launcher links the interposers for a bundle whose path is not [`preloadable`]:
/// beside the per-install registry in the user's cache (user-owned, one per install).
pub fn preload_link_dir(registry: &Path) -> PathBuf {
    registry.with_extension("preload")
}

/// The path to export for an interposer: the bundle's own file, or its link in
/// `facts.preload_links` when the bundle's path cannot be preloaded.
fn interposer_path(file: PathBuf, facts: &HostFacts) -> PathBuf {
    match (&facts.preload_links, file.file_name()) {
        (Some(dir), Some(name)) if !preloadable(&file) => dir.join(name),
        _ => file,
    }
}

/// Computes the environment for the bundled host (or a bundled tool) from the user's.
pub fn bundle_env(user: EnvMap, bundle: &Bundle, mode: GlibcMode, facts: &HostFacts) -> BundleEnv {
    let mut e = BundleEnv::new(user);
    e.set(vars::SELKIES_ROOT, bundle.root.as_os_str());
    // Only bundled plugins: host or ~/.local plugins are built against another GStreamer.
    e.set(
        vars::GST_PLUGIN_SYSTEM_PATH_1_0,
        bundle.plugin_dir().as_os_str(),
    );
    for stray in [
        vars::GST_PLUGIN_SYSTEM_PATH,
        vars::GST_PLUGIN_PATH_1_0,
        vars::GST_PLUGIN_PATH,
    ] {
        e.unset(stray);
    }
    if facts.scanner_link {
        e.set(
            vars::GST_PLUGIN_SCANNER_1_0,
            bundle.scanner_link().as_os_str(),
        );
    } else {
        // Without the link GStreamer scans in-process (slower, but it works).
        e.unset(vars::GST_PLUGIN_SCANNER_1_0);
    }
    e.unset(vars::GST_PLUGIN_SCANNER);
    e.set(vars::GST_REGISTRY_1_0, facts.registry.as_os_str());
    e.unset(vars::GST_REGISTRY);
    // Host GIO modules need the host GLib (GLIBC_2.38 / g_assertion_message_cmpint failures).
    e.set(vars::GIO_MODULE_DIR, bundle.gio_modules().as_os_str());
    e.unset(vars::GIO_EXTRA_MODULES);
    if mode == GlibcMode::Bundled {
        // The host's gconv modules use GLIBC_PRIVATE of another glibc.
        e.set(vars::GCONV_PATH, bundle.gconv().as_os_str());
        // A host preload library linked against the host glibc cannot load here.
        e.unset(vars::LD_PRELOAD);
    }
    if let Some(ca) = &facts.ca_file {
        e.default(vars::SSL_CERT_FILE, ca.as_os_str());
    }
    if !facts.libva_driver_dirs.is_empty() {
        let dirs: Vec<OsString> = facts
            .libva_driver_dirs
            .iter()
            .map(|d| d.clone().into_os_string())
            .collect();
        e.default(vars::LIBVA_DRIVERS_PATH, crate::bundle::join_colon(&dirs));
    }
    e.default(vars::SELKIES_WEB_ROOT, bundle.web_root().as_os_str());
    // For the desktop's start scripts: `LD_PRELOAD=$SELKIES_WEBCAM_INTERPOSER app` (the
    // interposers need only glibc 2.17, so they load into host applications).
    e.default(
        vars::SELKIES_JOYSTICK_INTERPOSER,
        interposer_path(bundle.joystick_interposer(), facts).as_os_str(),
    );
    e.default(
        vars::SELKIES_WEBCAM_INTERPOSER,
        interposer_path(bundle.webcam_interposer(), facts).as_os_str(),
    );
    e
}

/// The CA bundle locations Go's `root_linux.go` tries, in order.
pub const CA_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Host VA-API driver directories (Debian multiarch, RHEL, generic).
pub const LIBVA_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/dri",
    "/usr/lib64/dri",
    "/usr/lib/dri",
];

/// FNV-1a, for a stable registry file name per (root, version, mode, hostname).
pub fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(std::iter::once(&0u8)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// `$XDG_CACHE_HOME/selkies-gstreamer/registry-<hash>.bin` (`$HOME/.cache` by default). Each
/// bundle location gets its own file: a moved bundle or the host's GStreamer never thrashes it,
/// and the scan is per host, so GPU elements appear where the GPU is.
pub fn registry_path(user: &EnvMap, root: &[u8], mode: GlibcMode, hostname: &[u8]) -> PathBuf {
    let cache = match (
        user.get(OsStr::new(vars::XDG_CACHE_HOME)),
        user.get(OsStr::new(vars::HOME)),
    ) {
        (Some(x), _) if x.as_bytes().starts_with(b"/") => PathBuf::from(x),
        (_, Some(h)) if h.as_bytes().starts_with(b"/") => PathBuf::from(h).join(".cache"),
        // SAFETY: getuid has no preconditions and cannot fail.
        _ => PathBuf::from(format!("/tmp/selkies-cache-{}", unsafe { libc::getuid() })),
    };
    let hash = fnv1a64(&[
        root,
        env!("CARGO_PKG_VERSION").as_bytes(),
        mode.to_string().as_bytes(),
        hostname,
    ]);
    cache
        .join("selkies-gstreamer")
        .join(format!("registry-{hash:016x}.bin"))
}

/// An environment from string pairs, for tests.
#[cfg(test)]
pub(crate) fn map(pairs: &[(&str, &str)]) -> EnvMap {
    pairs
        .iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> HostFacts {
        HostFacts {
            registry: PathBuf::from("/c/r.bin"),
            ca_file: Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")),
            libva_driver_dirs: vec![PathBuf::from("/usr/lib64/dri"), PathBuf::from("/d")],
            scanner_link: true,
            preload_links: None,
        }
    }

    #[test]
    fn interposers_of_a_bundle_under_a_path_with_spaces_are_exported_through_links() {
        let bundle = Bundle {
            root: PathBuf::from("/x/my bundle"),
        };
        let links = PathBuf::from("/home/u/.cache/selkies-gstreamer/registry-1.preload");
        let f = HostFacts {
            preload_links: Some(links.clone()),
            ..facts()
        };
        let e = bundle_env(map(&[("HOME", "/home/u")]), &bundle, GlibcMode::Host, &f);
        let get = |k: &str| e.get(k).map(|v| v.to_string_lossy().into_owned());
        assert_eq!(
            get("SELKIES_WEBCAM_INTERPOSER").as_deref(),
            Some("/home/u/.cache/selkies-gstreamer/registry-1.preload/selkies_v4l2_interposer.so")
        );
        assert_eq!(
            get("SELKIES_JOYSTICK_INTERPOSER").as_deref(),
            Some(
                "/home/u/.cache/selkies-gstreamer/registry-1.preload/selkies_joystick_interposer.so"
            )
        );
        // A preloadable bundle path is exported as it is, links or not.
        let plain = Bundle {
            root: PathBuf::from("/opt/selkies"),
        };
        let e = bundle_env(map(&[]), &plain, GlibcMode::Host, &f);
        assert_eq!(
            e.get("SELKIES_WEBCAM_INTERPOSER")
                .map(|v| v.to_string_lossy().into_owned())
                .as_deref(),
            Some("/opt/selkies/lib/selkies_v4l2_interposer.so")
        );
    }

    #[test]
    fn preloadable_paths_have_no_loader_separators() {
        assert!(preloadable(Path::new("/opt/selkies/lib/x.so")));
        assert!(preloadable(Path::new("/opt/sélkies-ü/lib/x.so")));
        assert!(!preloadable(Path::new("/opt/my bundle/lib/x.so")));
        assert!(!preloadable(Path::new("/opt/a:b/lib/x.so")));
        assert_eq!(
            preload_link_dir(Path::new("/c/selkies-gstreamer/registry-00ff.bin")),
            PathBuf::from("/c/selkies-gstreamer/registry-00ff.preload")
        );
    }

    #[test]
    fn bundled_mode_sets_everything_and_round_trips() {
        let user = map(&[
            ("HOME", "/home/u"),
            ("GST_PLUGIN_PATH", "/home/u/plugins"),
            ("GCONV_PATH", "/usr/lib/gconv"),
            ("LD_PRELOAD", "/usr/lib/libvglfaker.so"),
            ("LD_LIBRARY_PATH", "/opt/cuda/lib64"),
            ("SELKIES_WEB_ROOT", "/srv/web"),
        ]);
        let b = Bundle {
            root: PathBuf::from("/x/my bundle"),
        };
        let env = bundle_env(user.clone(), &b, GlibcMode::Bundled, &facts()).finish();
        let get = |k: &str| {
            env.get(OsStr::new(k))
                .map(|v| v.to_string_lossy().into_owned())
        };
        assert_eq!(get("SELKIES_ROOT").as_deref(), Some("/x/my bundle"));
        assert_eq!(
            get("GST_PLUGIN_SYSTEM_PATH_1_0").as_deref(),
            Some("/x/my bundle/lib/gstreamer-1.0")
        );
        assert_eq!(
            get("GST_PLUGIN_SCANNER_1_0").as_deref(),
            Some("/x/my bundle/bin/gst-plugin-scanner")
        );
        assert_eq!(get("GST_REGISTRY_1_0").as_deref(), Some("/c/r.bin"));
        assert_eq!(
            get("GIO_MODULE_DIR").as_deref(),
            Some("/x/my bundle/lib/gio/modules")
        );
        assert_eq!(get("GCONV_PATH").as_deref(), Some("/x/my bundle/lib/gconv"));
        assert_eq!(get("GST_PLUGIN_PATH"), None);
        assert_eq!(get("LD_PRELOAD"), None);
        assert_eq!(
            get("LIBVA_DRIVERS_PATH").as_deref(),
            Some("/usr/lib64/dri:/d")
        );
        assert_eq!(
            get("SSL_CERT_FILE").as_deref(),
            Some("/etc/ssl/certs/ca-certificates.crt")
        );
        // The user's own choices win where the launcher only supplies defaults.
        assert_eq!(get("SELKIES_WEB_ROOT").as_deref(), Some("/srv/web"));
        assert_eq!(
            get("SELKIES_WEBCAM_INTERPOSER").as_deref(),
            Some("/x/my bundle/lib/selkies_v4l2_interposer.so")
        );
        assert_eq!(
            get("SELKIES_JOYSTICK_INTERPOSER").as_deref(),
            Some("/x/my bundle/lib/selkies_joystick_interposer.so")
        );
        // Never exported: the loader gets --library-path; the user's value stays for children.
        assert_eq!(get("LD_LIBRARY_PATH").as_deref(), Some("/opt/cuda/lib64"));
        assert_eq!(
            user_env(&env),
            user,
            "the undo restores the user's env exactly"
        );
    }

    #[test]
    fn host_mode_leaves_gconv_and_preload_alone() {
        let user = map(&[("GCONV_PATH", "/g"), ("LD_PRELOAD", "/p.so")]);
        let b = Bundle {
            root: PathBuf::from("/b"),
        };
        let mut f = facts();
        f.scanner_link = false;
        f.ca_file = None;
        f.libva_driver_dirs.clear();
        let env = bundle_env(user.clone(), &b, GlibcMode::Host, &f).finish();
        assert_eq!(
            env.get(OsStr::new("GCONV_PATH")),
            Some(&OsString::from("/g"))
        );
        assert_eq!(
            env.get(OsStr::new("LD_PRELOAD")),
            Some(&OsString::from("/p.so"))
        );
        assert!(!env.contains_key(OsStr::new("GST_PLUGIN_SCANNER_1_0")));
        assert!(!env.contains_key(OsStr::new("SSL_CERT_FILE")));
        assert!(!env.contains_key(OsStr::new("LIBVA_DRIVERS_PATH")));
        assert_eq!(user_env(&env), user);
    }

    #[test]
    fn reentry_is_idempotent_and_non_utf8_survives() {
        let weird = OsString::from_vec(b"/tmp/\xff\xfe dir".to_vec());
        let mut user = map(&[("HOME", "/h")]);
        user.insert("GST_PLUGIN_PATH".into(), weird.clone());
        let b = Bundle {
            root: PathBuf::from(OsString::from_vec(b"/r/\xc3\xa9 x".to_vec())),
        };
        let once = bundle_env(user.clone(), &b, GlibcMode::Bundled, &facts()).finish();
        let twice = bundle_env(user_env(&once), &b, GlibcMode::Bundled, &facts()).finish();
        assert_eq!(once, twice);
        assert_eq!(
            user_env(&twice).get(OsStr::new("GST_PLUGIN_PATH")),
            Some(&weird)
        );
    }

    #[test]
    fn registry_is_per_location_and_under_the_cache() {
        let user = map(&[("HOME", "/home/u")]);
        let a = registry_path(&user, b"/a", GlibcMode::Host, b"h");
        let b = registry_path(&user, b"/b", GlibcMode::Host, b"h");
        let c = registry_path(&user, b"/a", GlibcMode::Bundled, b"h");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with("/home/u/.cache/selkies-gstreamer"), "{a:?}");
        let xdg = map(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/xc")]);
        assert!(registry_path(&xdg, b"/a", GlibcMode::Host, b"h").starts_with("/xc"));
        // Known FNV-1a vector: empty input hashes to the offset basis mixed with one 0 byte.
        assert_eq!(fnv1a64(&[]), 0xcbf2_9ce4_8422_2325);
    }
}
