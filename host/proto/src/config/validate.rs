//! Checks that span several options, run at the end of [`Settings::resolve_with`]: the ones
//! that make the host unusable are [`ConfigError`]s, the ones the legacy host tolerated (it
//! silently fell back to STUN only) are warnings, so existing deployments keep starting.
//! Each option's own range is checked where it is parsed (`settings.rs`).

use std::net::IpAddr;

use super::{ConfigError, Settings};

/// `--addr`-style value: an IP address, IPv6 optionally in brackets.
fn is_ip(v: &str) -> bool {
    let bare = v
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(v);
    bare.parse::<IpAddr>().is_ok()
}

impl Settings {
    /// The combinations a host cannot start with. [`Settings::resolve_with`] calls it; the
    /// host calls it again for settings that tests build or change by hand.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_ip(&self.addr) {
            return Err(super::settings::invalid(
                "addr",
                &self.addr,
                "must be an IP address",
            ));
        }
        if self.enable_metrics_http
            && let Some(addr) = self.metrics_http_addr.as_deref().filter(|a| !is_ip(a))
        {
            return Err(super::settings::invalid(
                "metrics_http_addr",
                addr,
                "must be an IP address",
            ));
        }
        if self.enable_basic_auth && self.basic_auth_password.is_empty() {
            return Err(ConfigError::Requires {
                when: "--enable_basic_auth=true",
                needs: "a non-empty --basic_auth_password (none was given and no random bytes \
                        were available to generate one)",
            });
        }
        if self.enable_https && self.https_cert.as_os_str().is_empty() {
            return Err(ConfigError::Requires {
                when: "--enable_https=true",
                needs: "--https_cert",
            });
        }
        Ok(())
    }

    /// Combinations that are accepted but do not do what their author probably meant.
    pub(super) fn combination_warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.enable_cloudflare_turn {
            w.push(
                "--enable_cloudflare_turn is not supported; STUN/TURN come from the other sources"
                    .to_owned(),
            );
        }
        match (&self.turn_host, self.turn_port) {
            (Some(host), None) => w.push(format!(
                "--turn_host={host} without --turn_port: the TURN server is not offered"
            )),
            (None, Some(port)) => w.push(format!(
                "--turn_port={port} without --turn_host: the TURN server is not offered"
            )),
            _ => {}
        }
        if self.turn_username.is_some() != self.turn_password.is_some() {
            w.push(
                "--turn_username and --turn_password go together; the one given is ignored"
                    .to_owned(),
            );
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Args, HostFacts, RANDOM_BYTES};
    use super::*;

    fn resolve(words: &[&str], random: bool) -> Result<Settings, ConfigError> {
        use clap::{CommandFactory, FromArgMatches};
        let cmd = Args::command().mut_args(|a| a.env(None::<&str>));
        let mut argv = vec!["x", "--json_config=/nonexistent/x.json"];
        argv.extend_from_slice(words);
        let m = cmd.try_get_matches_from(argv).expect("parse");
        let facts = HostFacts {
            random: if random {
                vec![7; RANDOM_BYTES]
            } else {
                vec![]
            },
            ..HostFacts::default()
        };
        Settings::resolve_with(Args::from_arg_matches(&m).expect("args"), &facts)
    }

    #[test]
    fn addresses_must_be_ip_addresses() {
        for (words, ok) in [
            (&["--addr=0.0.0.0"][..], true),
            (&["--addr=::1"], true),
            (&["--addr=[::1]"], true),
            (&["--addr=localhost"], false),
            (&["--addr="], false),
            (&["--addr=1.2.3.4:80"], false),
            (&["--metrics_http_addr=nope"], true),
            (
                &["--enable_metrics_http", "--metrics_http_addr=nope"],
                false,
            ),
            (
                &["--enable_metrics_http", "--metrics_http_addr=127.0.0.1"],
                true,
            ),
            (&["--enable_metrics_http"], true),
        ] {
            assert_eq!(resolve(words, true).is_ok(), ok, "{words:?}");
        }
        let e = resolve(&["--addr=localhost"], true).expect_err("hostname");
        assert_eq!(
            e.to_string(),
            "invalid value \"localhost\" for --addr: must be an IP address"
        );
    }

    #[test]
    fn basic_auth_needs_a_password_and_https_a_certificate() {
        assert!(resolve(&[], true).is_ok());
        let e = resolve(&[], false).expect_err("no random bytes");
        assert!(
            e.to_string()
                .starts_with("--enable_basic_auth=true needs a non-empty --basic_auth_password"),
            "{e}"
        );
        assert!(resolve(&["--basic_auth_password=pw"], false).is_ok());
        assert!(resolve(&["--enable_basic_auth=false"], false).is_ok());
        let e = resolve(&["--enable_https", "--https_cert="], true).expect_err("no certificate");
        assert_eq!(e.to_string(), "--enable_https=true needs --https_cert");
        assert!(resolve(&["--https_cert="], true).is_ok());
        assert!(resolve(&["--enable_https"], true).is_ok());
    }

    #[test]
    fn half_given_pairs_are_warnings() {
        let warnings = |words: &[&str]| resolve(words, true).expect("ok").warnings;
        assert!(warnings(&[]).is_empty());
        for words in [
            &["--turn_host=turn.example"][..],
            &["--turn_port=3478"],
            &[
                "--turn_host=turn.example",
                "--turn_port=3478",
                "--turn_username=u",
            ],
            &["--turn_password=p"],
            &["--enable_cloudflare_turn"],
        ] {
            assert_eq!(warnings(words).len(), 1, "{words:?}");
        }
        assert!(
            warnings(&[
                "--turn_host=turn.example",
                "--turn_port=3478",
                "--turn_username=u",
                "--turn_password=p",
            ])
            .is_empty()
        );
        // Settings changed by hand are checked again.
        let mut s = resolve(&[], true).expect("ok");
        s.addr = "not-an-ip".into();
        assert!(s.validate().is_err());
    }
}
