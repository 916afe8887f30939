//! Browser-facing hardening of the HTTP port (docs/security.md): the `Origin` check of the
//! signalling WebSocket (cross-site WebSocket hijacking with cached Basic credentials), the
//! per-IP limit of failed logins, and the security headers sent with the client's pages.
//! Pure decisions; `http.rs` applies them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use selkies_proto::config::normalize_origin;

/// Which `Origin`s may open the signalling WebSocket.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Normalised extra origins (`--allowed_origins`); `*` allows every origin.
    extra: Vec<String>,
}

impl OriginPolicy {
    pub fn new(extra: Vec<String>) -> Self {
        Self { extra }
    }

    /// `origin`: the request's `Origin` header; `host`: its `Host` header. A request without
    /// `Origin` is not from a browser page (browsers always send it on WebSocket upgrades) and
    /// is allowed: it had to pass Basic auth with its own credentials. Otherwise the origin's
    /// authority must be the host's own (`Host`, so it also holds behind a TLS-terminating
    /// proxy that keeps `Host`), or be listed.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if self.extra.iter().any(|o| o == "*") {
            return true;
        }
        let Some(origin) = normalize_origin(origin) else {
            // `null` (sandboxed frames, file: pages) and anything malformed.
            return false;
        };
        if self.extra.contains(&origin) {
            return true;
        }
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        let Some(host) = host.map(|h| h.trim().to_ascii_lowercase()) else {
            return false;
        };
        let default_port = if scheme == "http" { ":80" } else { ":443" };
        let host = host.strip_suffix(default_port).unwrap_or(&host);
        !host.is_empty() && host == authority
    }
}

/// Failed logins allowed per client IP within [`LOGIN_WINDOW`] before it gets 429.
pub const MAX_LOGIN_FAILURES: usize = 10;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);
// Bound on tracked addresses, so a spoofed-address flood cannot grow the table without end.
const MAX_TRACKED: usize = 10_000;

/// Per-IP record of recent failed Basic-auth attempts.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
}

impl LoginLimiter {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Vec<Instant>>> {
        crate::sync::lock(&self.failures)
    }

    /// `Some(retry_after)` when `ip` has used up its failures in the window.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let mut table = self.table();
        let times = table.get_mut(&ip)?;
        times.retain(|t| now.duration_since(*t) < LOGIN_WINDOW);
        if times.len() < MAX_LOGIN_FAILURES {
            if times.is_empty() {
                table.remove(&ip);
            }
            return None;
        }
        let oldest = times.first().copied().unwrap_or(now);
        Some(LOGIN_WINDOW.saturating_sub(now.duration_since(oldest)))
    }

    pub fn record_failure(&self, ip: IpAddr, now: Instant) {
        let mut table = self.table();
        if table.len() >= MAX_TRACKED && !table.contains_key(&ip) {
            table.retain(|_, times| {
                times.retain(|t| now.duration_since(*t) < LOGIN_WINDOW);
                !times.is_empty()
            });
            if table.len() >= MAX_TRACKED {
                return;
            }
        }
        let times = table.entry(ip).or_default();
        times.push(now);
        // Only the newest failures matter for the decision.
        if times.len() > MAX_LOGIN_FAILURES {
            let extra = times.len() - MAX_LOGIN_FAILURES;
            times.drain(..extra);
        }
    }

    /// A successful login clears the address's record.
    pub fn record_success(&self, ip: IpAddr) {
        self.table().remove(&ip);
    }
}

/// Content-Security-Policy for the bundled web client: no inline scripts or styles (it has
/// none; style changes go through the CSSOM, which CSP does not restrict), cursor images as
/// `data:` URLs, the video/audio as `MediaStream`s, signalling and `/turn` on the same origin,
/// and no framing by other sites.
pub const CLIENT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; \
worker-src 'self'; manifest-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; \
form-action 'self'; frame-ancestors 'self'";

/// Headers for every response: `(name, value)`.
pub fn common_headers(csp: bool) -> Vec<(&'static str, &'static str)> {
    let mut h = vec![
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "SAMEORIGIN"),
    ];
    if csp {
        h.push(("content-security-policy", CLIENT_CSP));
    } else {
        // A web root other than our client (e.g. the legacy one, with inline scripts) keeps
        // working; framing by other sites is still refused.
        h.push(("content-security-policy", "frame-ancestors 'self'"));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_match_host_or_the_allow_list() {
        let p = OriginPolicy::default();
        assert!(p.allows(None, Some("desk:8080")), "non-browser clients");
        assert!(p.allows(Some("http://desk:8080"), Some("desk:8080")));
        assert!(p.allows(Some("http://DESK:8080"), Some("desk:8080")));
        // TLS terminated by a proxy that keeps Host.
        assert!(p.allows(Some("https://desk.example.com"), Some("desk.example.com")));
        assert!(p.allows(
            Some("https://desk.example.com"),
            Some("desk.example.com:443")
        ));
        assert!(!p.allows(Some("http://evil.example"), Some("desk:8080")));
        assert!(!p.allows(Some("http://desk:8081"), Some("desk:8080")));
        assert!(!p.allows(Some("http://desk:8080.evil"), Some("desk:8080")));
        assert!(!p.allows(Some("null"), Some("desk:8080")));
        assert!(!p.allows(Some("http://desk:8080"), None));
        let p = OriginPolicy::new(vec!["https://proxy.example".into()]);
        assert!(p.allows(Some("https://proxy.example"), Some("127.0.0.1:8080")));
        assert!(p.allows(Some("https://proxy.example:443/"), Some("127.0.0.1:8080")));
        assert!(!p.allows(Some("http://proxy.example"), Some("127.0.0.1:8080")));
        let p = OriginPolicy::new(vec!["*".into()]);
        assert!(p.allows(Some("http://evil.example"), Some("desk:8080")));
    }

    #[test]
    fn login_failures_block_after_ten_in_a_minute() {
        let l = LoginLimiter::default();
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let t0 = Instant::now();
        for i in 0..MAX_LOGIN_FAILURES {
            assert_eq!(l.blocked(ip, t0), None, "attempt {i}");
            l.record_failure(ip, t0 + Duration::from_secs(i as u64));
        }
        let now = t0 + Duration::from_secs(20);
        assert_eq!(l.blocked(ip, now), Some(Duration::from_secs(40)));
        assert_eq!(l.blocked(other, now), None);
        // The oldest failure leaves the window.
        assert_eq!(l.blocked(ip, t0 + Duration::from_secs(60)), None);
        l.record_failure(ip, t0 + Duration::from_secs(60));
        assert!(l.blocked(ip, t0 + Duration::from_secs(60)).is_some());
        l.record_success(ip);
        assert_eq!(l.blocked(ip, t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn headers() {
        let strict = common_headers(true);
        assert!(strict.contains(&("content-security-policy", CLIENT_CSP)));
        assert!(CLIENT_CSP.contains("frame-ancestors 'self'"));
        assert!(!CLIENT_CSP.contains("unsafe-inline"));
        assert!(common_headers(false).contains(&("x-content-type-options", "nosniff")));
    }
}
