//! The service's settings, read once at startup from the legacy TURN-REST environment variables
//! (`TURN_SHARED_SECRET`, `TURN_HOST`, `TURN_PORT`, `STUN_HOST`, `STUN_PORT`, `TURN_PROTOCOL`,
//! `TURN_TLS`, `WEB_CONCURRENCY`). Pure: the environment is passed in as a lookup function so
//! every rule is unit-tested. Differences from the legacy service are listed in
//! docs/turn-rest.md: no public defaults, and a malformed port is an error instead of a silent
//! fallback.

use std::fmt;

use selkies_proto::config::TurnProtocol;

/// `TURN_PORT` when unset, as in the legacy service.
pub const DEFAULT_TURN_PORT: u16 = 443;
/// `WEB_CONCURRENCY` when unset (the legacy container's gunicorn thread count).
pub const DEFAULT_WORKERS: usize = 3;
/// Upper bound for `WEB_CONCURRENCY`: the service does one HMAC per request.
pub const MAX_WORKERS: usize = 64;

/// A setting the service cannot start with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{var} is not set. selkies-turn-rest has no public default: set {var} to {what} \
         (see docs/turn-rest.md)"
    )]
    Missing {
        var: &'static str,
        what: &'static str,
    },
    #[error("{var}={value:?} is not a port number (1-65535)")]
    BadPort { var: &'static str, value: String },
    #[error("{var}={value:?} must be a whole number from 1 to {max}")]
    BadCount {
        var: &'static str,
        value: String,
        max: usize,
    },
}

/// Everything a request needs besides its own inputs.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// coturn's `static-auth-secret`; never logged (see the `Debug` impl).
    pub secret: String,
    /// Lower-cased, as the legacy service did (the host name is also what the browser dials).
    pub turn_host: String,
    pub turn_port: u16,
    pub stun_host: String,
    pub stun_port: u16,
    /// Used when a request names no protocol.
    pub default_protocol: TurnProtocol,
    /// Used when a request says nothing about TLS.
    pub default_tls: bool,
    /// Runtime worker threads (`WEB_CONCURRENCY`).
    pub workers: usize,
}

impl fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("secret", &"<redacted>")
            .field("turn_host", &self.turn_host)
            .field("turn_port", &self.turn_port)
            .field("stun_host", &self.stun_host)
            .field("stun_port", &self.stun_port)
            .field("default_protocol", &self.default_protocol)
            .field("default_tls", &self.default_tls)
            .field("workers", &self.workers)
            .finish()
    }
}

impl ServiceConfig {
    /// Reads the settings through `lookup` (normally `std::env::var`). An empty variable counts
    /// as unset, so `-e STUN_HOST=` in a container means "same as TURN_HOST", not an empty host.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let secret = get("TURN_SHARED_SECRET").ok_or(ConfigError::Missing {
            var: "TURN_SHARED_SECRET",
            what: "coturn's static-auth-secret",
        })?;
        let turn_host = get("TURN_HOST")
            .ok_or(ConfigError::Missing {
                var: "TURN_HOST",
                what: "the TURN server's host name or IP address as browsers reach it",
            })?
            .trim()
            .to_lowercase();
        let turn_port = match get("TURN_PORT") {
            Some(v) => parse_port("TURN_PORT", &v)?,
            None => DEFAULT_TURN_PORT,
        };
        let stun_host = get("STUN_HOST")
            .map(|h| h.trim().to_lowercase())
            .unwrap_or_else(|| turn_host.clone());
        let stun_port = match get("STUN_PORT") {
            Some(v) => parse_port("STUN_PORT", &v)?,
            None => turn_port,
        };
        let default_protocol = get("TURN_PROTOCOL")
            .map(|p| TurnProtocol::from_legacy(&p))
            .unwrap_or(TurnProtocol::Udp);
        let default_tls = get("TURN_TLS").is_some_and(|t| is_true(&t));
        let workers = match get("WEB_CONCURRENCY") {
            Some(v) => parse_count("WEB_CONCURRENCY", &v, MAX_WORKERS)?,
            None => DEFAULT_WORKERS,
        };
        Ok(Self {
            secret,
            turn_host,
            turn_port,
            stun_host,
            stun_port,
            default_protocol,
            default_tls,
            workers,
        })
    }
}

/// The legacy TLS rule: `true` in any case is TLS, anything else is not.
pub fn is_true(value: &str) -> bool {
    value.eq_ignore_ascii_case("true")
}

fn parse_port(var: &'static str, value: &str) -> Result<u16, ConfigError> {
    match value.trim().parse::<u16>() {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(ConfigError::BadPort {
            var,
            value: value.to_owned(),
        }),
    }
}

fn parse_count(var: &'static str, value: &str, max: usize) -> Result<usize, ConfigError> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::BadCount {
            var,
            value: value.to_owned(),
            max,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<ServiceConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServiceConfig::from_env(|k| map.get(k).cloned())
    }

    const REQUIRED: [(&str, &str); 2] = [
        ("TURN_SHARED_SECRET", "s"),
        ("TURN_HOST", "Turn.Example.ORG"),
    ];

    #[test]
    fn refuses_to_start_without_secret_or_host() {
        let missing = |v: &str| match from(
            &REQUIRED
                .iter()
                .copied()
                .filter(|(k, _)| *k != v)
                .collect::<Vec<_>>(),
        ) {
            Err(ConfigError::Missing { var, .. }) => var,
            other => panic!("expected Missing for {v}, got {other:?}"),
        };
        assert_eq!(missing("TURN_SHARED_SECRET"), "TURN_SHARED_SECRET");
        assert_eq!(missing("TURN_HOST"), "TURN_HOST");
        // Empty or blank is the same as unset: no silent empty host or secret.
        assert!(matches!(
            from(&[("TURN_SHARED_SECRET", "  "), ("TURN_HOST", "h")]),
            Err(ConfigError::Missing {
                var: "TURN_SHARED_SECRET",
                ..
            })
        ));
        let msg = from(&[]).unwrap_err().to_string();
        assert!(msg.contains("TURN_SHARED_SECRET is not set"), "{msg}");
        assert!(msg.contains("no public default"), "{msg}");
    }

    #[test]
    fn legacy_defaults_follow_the_turn_endpoint() {
        let c = from(&REQUIRED).expect("config");
        assert_eq!(c.turn_host, "turn.example.org", "lower-cased like legacy");
        assert_eq!(c.turn_port, 443);
        assert_eq!(
            (c.stun_host.as_str(), c.stun_port),
            ("turn.example.org", 443)
        );
        assert_eq!(c.default_protocol, TurnProtocol::Udp);
        assert!(!c.default_tls);
        assert_eq!(c.workers, 3);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("\"s\""),
            "secret leaked into Debug: {shown}"
        );
    }

    #[test]
    fn explicit_settings() {
        let mut env = REQUIRED.to_vec();
        env.extend([
            ("TURN_PORT", "3478"),
            ("STUN_HOST", "STUN.example.org"),
            ("STUN_PORT", "19302"),
            ("TURN_PROTOCOL", "TCP"),
            ("TURN_TLS", "True"),
            ("WEB_CONCURRENCY", "8"),
        ]);
        let c = from(&env).expect("config");
        assert_eq!(c.turn_port, 3478);
        assert_eq!(
            (c.stun_host.as_str(), c.stun_port),
            ("stun.example.org", 19302)
        );
        assert_eq!(c.default_protocol, TurnProtocol::Tcp);
        assert!(c.default_tls);
        assert_eq!(c.workers, 8);
        // STUN_PORT follows an explicit TURN_PORT when unset.
        let c = from(&[REQUIRED[0], REQUIRED[1], ("TURN_PORT", "5349")]).expect("config");
        assert_eq!(c.stun_port, 5349);
    }

    #[test]
    fn malformed_numbers_are_errors_not_fallbacks() {
        for (var, value) in [
            ("TURN_PORT", "abc"),
            ("TURN_PORT", "0"),
            ("TURN_PORT", "65536"),
            ("STUN_PORT", "-1"),
        ] {
            let mut env = REQUIRED.to_vec();
            env.push((var, value));
            assert_eq!(
                from(&env),
                Err(ConfigError::BadPort {
                    var: if var == "TURN_PORT" {
                        "TURN_PORT"
                    } else {
                        "STUN_PORT"
                    },
                    value: value.into()
                })
            );
        }
        for value in ["0", "65", "x"] {
            let mut env = REQUIRED.to_vec();
            env.push(("WEB_CONCURRENCY", value));
            assert!(
                matches!(from(&env), Err(ConfigError::BadCount { .. })),
                "{value}"
            );
        }
    }

    #[test]
    fn tls_rule_is_case_insensitive_true_only() {
        assert!(is_true("TRUE") && is_true("true") && is_true("tRuE"));
        assert!(!is_true("1") && !is_true("yes") && !is_true(" true") && !is_true(""));
    }
}
