//! The I/O half of configuration: gathers what `selkies_proto::config` resolves the settings
//! from — the environment (`$USER`, `$XCURSOR_SIZE`), the kernel host name, the text of the
//! `--json_config` file and random bytes for a generated Basic-auth password — so resolution
//! itself stays pure (docs/architecture.md, "Start-up").

use selkies_proto::config::{Args, ConfigError, HostFacts, OverlayInput, RANDOM_BYTES, Settings};

/// This machine's facts for `args` (the overlay named by `--json_config` is read here).
pub fn gather(args: &Args) -> HostFacts {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "localhost".to_owned());
    let overlay = match crate::overlay_file::read_text(std::path::Path::new(&args.json_config)) {
        Ok(Some(text)) => OverlayInput::Text(text),
        Ok(None) => OverlayInput::Missing,
        // Resolution names the file itself.
        Err(crate::overlay_file::OverlayFileError::Io { source, .. }) => {
            OverlayInput::Unreadable(source.to_string())
        }
        Err(e) => OverlayInput::Unreadable(e.to_string()),
    };
    let mut random = vec![0u8; RANDOM_BYTES];
    if let Err(e) = getrandom::fill(&mut random) {
        // Resolution then generates no password, and start-up refuses Basic auth without one.
        tracing::warn!("no random bytes for a generated password: {e}");
        random.clear();
    }
    HostFacts {
        user: std::env::var("USER").ok(),
        hostname,
        xcursor_size: std::env::var("XCURSOR_SIZE").ok(),
        overlay,
        random,
    }
}

/// Validates `args` against this machine (command line, environment, `--json_config`).
pub fn resolve(args: Args) -> Result<Settings, ConfigError> {
    let facts = gather(&args);
    Settings::resolve_with(args, &facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn the_overlay_file_and_randomness_reach_resolution() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cfg.json");
        std::fs::write(&path, r#"{"framerate": 24}"#).expect("write");
        let argv = [
            "selkies-gstreamer",
            &format!("--json_config={}", path.display()),
        ];
        let s = resolve(Args::parse_from(argv)).expect("resolve");
        assert_eq!(s.framerate, 24);
        assert!(s.password_generated);
        assert_eq!(s.basic_auth_password.len(), 16);
        let other = resolve(Args::parse_from(argv)).expect("resolve");
        assert_ne!(s.basic_auth_password, other.basic_auth_password);
        let missing = ["x", "--json_config=/nonexistent/cfg.json"];
        assert_eq!(
            gather(&Args::parse_from(missing)).overlay,
            OverlayInput::Missing
        );
    }
}
