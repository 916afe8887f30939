//! Settings of the embedded TURN relay (`--turn_embedded*`): whether it runs, what address its
//! URIs advertise, which relay ports it binds, how long minted credentials live, and its
//! TURN-REST secret. Kept apart from the legacy flags, which it never changes.

use std::net::IpAddr;
use std::ops::RangeInclusive;

use super::ConfigError;
use super::args::Args;
use super::settings::invalid;

/// `--turn_embedded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedTurnMode {
    /// On unless another TURN source (`--turn_host`, `--turn_rest_uri`, Cloudflare) is set.
    Auto,
    On,
    Off,
}

/// Resolved embedded-relay settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedTurn {
    pub mode: EmbeddedTurnMode,
    pub external_ip: Option<IpAddr>,
    /// `None`: ephemeral relay ports.
    pub ports: Option<RangeInclusive<u16>>,
    pub credential_ttl_secs: u64,
    /// `None`: a random secret per process.
    pub secret: Option<String>,
}

/// Longest credential TTL accepted: a day, like common TURN-REST deployments.
const MAX_TTL_SECS: u64 = 86_400;

impl EmbeddedTurn {
    pub(super) fn from_args(a: &Args) -> Result<Self, ConfigError> {
        let mode = match a.turn_embedded.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => EmbeddedTurnMode::Auto,
            v => match crate::protocol::parse_bool(v) {
                Some(true) => EmbeddedTurnMode::On,
                Some(false) => EmbeddedTurnMode::Off,
                None => {
                    return Err(invalid(
                        "turn_embedded",
                        &a.turn_embedded,
                        "expected auto, true or false",
                    ));
                }
            },
        };
        let external_ip = match a.turn_embedded_external_ip.trim() {
            "" => None,
            v => Some(v.parse().map_err(|_| {
                invalid(
                    "turn_embedded_external_ip",
                    v,
                    "expected an IPv4 or IPv6 address",
                )
            })?),
        };
        let ports = parse_ports(a.turn_embedded_ports.trim())?;
        let ttl = a.turn_embedded_ttl.trim();
        let credential_ttl_secs = ttl
            .parse::<u64>()
            .ok()
            .filter(|t| (1..=MAX_TTL_SECS).contains(t))
            .ok_or_else(|| invalid("turn_embedded_ttl", ttl, "expected seconds, 1 to 86400"))?;
        let secret = (!a.turn_embedded_secret.is_empty()).then(|| a.turn_embedded_secret.clone());
        Ok(Self {
            mode,
            external_ip,
            ports,
            credential_ttl_secs,
            secret,
        })
    }

    /// Whether the relay runs, given whether another TURN source is configured.
    pub fn enabled(&self, other_turn_configured: bool) -> bool {
        match self.mode {
            EmbeddedTurnMode::On => true,
            EmbeddedTurnMode::Off => false,
            EmbeddedTurnMode::Auto => !other_turn_configured,
        }
    }
}

fn parse_ports(v: &str) -> Result<Option<RangeInclusive<u16>>, ConfigError> {
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || invalid("turn_embedded_ports", v, "expected LOW-HIGH, 1024-65535");
    let (lo, hi) = v.split_once('-').ok_or_else(bad)?;
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if lo < 1024 || lo > hi {
        return Err(bad());
    }
    Ok(Some(lo..=hi))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(extra: &[&str]) -> Result<EmbeddedTurn, ConfigError> {
        let mut argv = vec!["selkies-gstreamer"];
        argv.extend_from_slice(extra);
        EmbeddedTurn::from_args(&Args::parse_from(argv))
    }

    #[test]
    fn defaults_are_auto_ephemeral_short_ttl_random_secret() {
        let t = parse(&[]).unwrap();
        assert_eq!(t.mode, EmbeddedTurnMode::Auto);
        assert_eq!(t.ports, None);
        assert_eq!(t.external_ip, None);
        assert_eq!(t.credential_ttl_secs, 600);
        assert_eq!(t.secret, None);
        assert!(t.enabled(false));
        assert!(!t.enabled(true));
    }

    #[test]
    fn explicit_values() {
        let t = parse(&[
            "--turn_embedded",
            "--turn_embedded_external_ip=203.0.113.5",
            "--turn_embedded_ports=50000-50100",
            "--turn_embedded_ttl=60",
            "--turn_embedded_secret=s3",
        ])
        .unwrap();
        assert_eq!(t.mode, EmbeddedTurnMode::On);
        assert!(t.enabled(true));
        assert_eq!(t.external_ip, Some("203.0.113.5".parse().unwrap()));
        assert_eq!(t.ports, Some(50_000..=50_100));
        assert_eq!(t.credential_ttl_secs, 60);
        assert_eq!(t.secret.as_deref(), Some("s3"));
        assert!(!parse(&["--turn_embedded=false"]).unwrap().enabled(false));
    }

    #[test]
    fn bad_values_name_their_flag() {
        for (args, flag) in [
            (&["--turn_embedded=maybe"][..], "turn_embedded"),
            (
                &["--turn_embedded_external_ip=host.example"],
                "turn_embedded_external_ip",
            ),
            (&["--turn_embedded_ports=50000"], "turn_embedded_ports"),
            (
                &["--turn_embedded_ports=60000-50000"],
                "turn_embedded_ports",
            ),
            (&["--turn_embedded_ports=80-90"], "turn_embedded_ports"),
            (&["--turn_embedded_ttl=0"], "turn_embedded_ttl"),
            (&["--turn_embedded_ttl=100000"], "turn_embedded_ttl"),
        ] {
            match parse(args) {
                Err(ConfigError::Invalid { flag: f, .. }) => assert_eq!(f, flag, "{args:?}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
    }
}
