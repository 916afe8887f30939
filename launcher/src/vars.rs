//! Every environment variable the launcher reads, sets or removes, by name. Code refers to these
//! constants only, so a rename cannot miss a reader; [`DOCUMENTED`] lists the ones users and
//! packagers meet, and a test keeps docs/launcher.md naming each of them.

// Ours: the launcher's own inputs and the bookkeeping it leaves for the host.
/// Bundle root, exported because `/proc/self/exe` of a loader-started host is the loader.
pub const SELKIES_ROOT: &str = "SELKIES_ROOT";
/// Colon list of the variables the launcher changed (see `env::user_env`).
pub const SELKIES_BUNDLE_ENV: &str = "SELKIES_BUNDLE_ENV";
/// Prefix of the saved previous values: `SELKIES_ORIG_<NAME>`.
pub const SELKIES_ORIG_PREFIX: &str = "SELKIES_ORIG_";
/// `auto`, `host` or `bundled`: overrides the glibc choice.
pub const SELKIES_GLIBC_MODE: &str = "SELKIES_GLIBC_MODE";
/// Re-roots the probe's `/dev`, `/sys` and `/proc` reads (tests only).
pub const SELKIES_PROBE_ROOT: &str = "SELKIES_PROBE_ROOT";
/// The host's `--encoder`; the launcher sets the probe's choice when the user named none.
pub const SELKIES_ENCODER: &str = "SELKIES_ENCODER";
/// The host's `--web_root`; defaulted to the bundled web client.
pub const SELKIES_WEB_ROOT: &str = "SELKIES_WEB_ROOT";
/// Path of the bundled joystick interposer, for `LD_PRELOAD` of desktop applications.
pub const SELKIES_JOYSTICK_INTERPOSER: &str = "SELKIES_JOYSTICK_INTERPOSER";
/// Path of the bundled webcam interposer, for `LD_PRELOAD` of desktop applications.
pub const SELKIES_WEBCAM_INTERPOSER: &str = "SELKIES_WEBCAM_INTERPOSER";

// GStreamer core.
pub const GST_PLUGIN_SYSTEM_PATH_1_0: &str = "GST_PLUGIN_SYSTEM_PATH_1_0";
pub const GST_PLUGIN_SYSTEM_PATH: &str = "GST_PLUGIN_SYSTEM_PATH";
pub const GST_PLUGIN_PATH_1_0: &str = "GST_PLUGIN_PATH_1_0";
pub const GST_PLUGIN_PATH: &str = "GST_PLUGIN_PATH";
pub const GST_PLUGIN_SCANNER_1_0: &str = "GST_PLUGIN_SCANNER_1_0";
pub const GST_PLUGIN_SCANNER: &str = "GST_PLUGIN_SCANNER";
pub const GST_REGISTRY_1_0: &str = "GST_REGISTRY_1_0";
pub const GST_REGISTRY: &str = "GST_REGISTRY";

// GLib, glibc and the dynamic loader.
pub const GIO_MODULE_DIR: &str = "GIO_MODULE_DIR";
pub const GIO_EXTRA_MODULES: &str = "GIO_EXTRA_MODULES";
pub const GCONV_PATH: &str = "GCONV_PATH";
pub const LD_PRELOAD: &str = "LD_PRELOAD";
pub const LD_LIBRARY_PATH: &str = "LD_LIBRARY_PATH";

// Libraries of the bundle that look for host files.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
pub const LIBVA_DRIVERS_PATH: &str = "LIBVA_DRIVERS_PATH";

// The user's session: display, sound, directories.
pub const DISPLAY: &str = "DISPLAY";
pub const PULSE_SERVER: &str = "PULSE_SERVER";
pub const PULSE_RUNTIME_PATH: &str = "PULSE_RUNTIME_PATH";
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
pub const HOME: &str = "HOME";
pub const PATH: &str = "PATH";
/// Where the Xvfb and PulseAudio logs go (the legacy launcher's name).
pub const LOGDIR: &str = "LOGDIR";

/// The variables docs/launcher.md must describe: the launcher's own and every one it sets or
/// removes for the bundled processes.
pub const DOCUMENTED: &[&str] = &[
    SELKIES_ROOT,
    SELKIES_BUNDLE_ENV,
    SELKIES_GLIBC_MODE,
    SELKIES_PROBE_ROOT,
    SELKIES_ENCODER,
    SELKIES_WEB_ROOT,
    SELKIES_JOYSTICK_INTERPOSER,
    SELKIES_WEBCAM_INTERPOSER,
    GST_PLUGIN_SYSTEM_PATH_1_0,
    GST_PLUGIN_SCANNER_1_0,
    GST_REGISTRY_1_0,
    GIO_MODULE_DIR,
    GIO_EXTRA_MODULES,
    GCONV_PATH,
    LD_PRELOAD,
    LD_LIBRARY_PATH,
    SSL_CERT_FILE,
    LIBVA_DRIVERS_PATH,
    DISPLAY,
    PULSE_SERVER,
    PULSE_RUNTIME_PATH,
    XDG_RUNTIME_DIR,
    LOGDIR,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// `name` stands in `text` as a whole word (not as part of a longer variable name).
    fn names(text: &str, name: &str) -> bool {
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        text.match_indices(name).any(|(i, _)| {
            !word(text[..i].chars().next_back()) && !word(text[i + name.len()..].chars().next())
        })
    }

    #[test]
    fn launcher_doc_names_every_documented_variable() {
        let doc = include_str!("../../docs/launcher.md");
        let missing: Vec<&str> = DOCUMENTED
            .iter()
            .copied()
            .filter(|name| !names(doc, name))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/launcher.md does not describe {missing:?}"
        );
    }

    #[test]
    fn a_prefix_of_a_longer_name_does_not_count() {
        assert!(!names("`GST_PLUGIN_PATH_1_0`", GST_PLUGIN_PATH));
        assert!(names("`GST_PLUGIN_PATH` and more", GST_PLUGIN_PATH));
    }
}
