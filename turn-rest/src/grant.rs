//! One credential grant: the request's inputs (query string, form body, headers) resolved by the
//! legacy precedence into a user, protocol and TLS choice, and the RTC config JSON that carries
//! the time-limited TURN credential. Pure (the clock is a parameter); the HMAC scheme and the
//! document shape are `selkies_proto::rtc_config`'s, shared with the host's own shared-secret
//! mode so both always agree.

use selkies_proto::config::TurnProtocol;
use selkies_proto::rtc_config::{
    RtcConfig, TurnServer, hmac_credential, hmac_username, own_stun_urls, turn_config,
};

use crate::config::{ServiceConfig, is_true};

/// The user when a request names none (legacy).
pub const DEFAULT_USER: &str = "turn-rest";
/// Headers read after the `username` parameter, in this order.
pub const USER_HEADERS: [&str; 2] = ["x-auth-user", "x-turn-username"];
pub const PROTOCOL_HEADER: &str = "x-turn-protocol";
pub const TLS_HEADER: &str = "x-turn-tls";

/// What a request supplied. Parameters keep their order (query string first, then the form
/// body) and the first occurrence of a name wins; header names are compared case-insensitively.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Inputs {
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl Inputs {
    /// From the raw query string, an `application/x-www-form-urlencoded` body (if any) and the
    /// headers whose values are text.
    pub fn new(query: Option<&str>, form: Option<&[u8]>, headers: Vec<(String, String)>) -> Self {
        let mut params: Vec<(String, String)> = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if let Some(body) = form {
            params.extend(form_urlencoded::parse(body).into_owned());
        }
        Self { params, headers }
    }

    /// The first value of parameter `name`, if it is not empty. An empty first value does not
    /// look further (legacy: `request.values.get(name) or …`).
    fn param(&self, name: &str) -> Option<&str> {
        let (_, v) = self.params.iter().find(|(k, _)| k == name)?;
        Some(v.as_str()).filter(|v| !v.is_empty())
    }

    fn header(&self, name: &str) -> Option<&str> {
        let (_, v) = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))?;
        Some(v.as_str()).filter(|v| !v.is_empty())
    }
}

/// Who gets a credential, and for which transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Lower-cased, `:` replaced by `-` (the colon separates the expiry in the TURN username).
    pub user: String,
    pub protocol: TurnProtocol,
    pub tls: bool,
}

impl Grant {
    /// The legacy precedence: parameter, then header(s), then the service default.
    pub fn resolve(config: &ServiceConfig, inputs: &Inputs) -> Self {
        let user = inputs
            .param("username")
            .or_else(|| USER_HEADERS.iter().find_map(|h| inputs.header(h)))
            .unwrap_or(DEFAULT_USER)
            .to_lowercase()
            .replace(':', "-");
        let protocol = inputs
            .param("protocol")
            .or_else(|| inputs.header(PROTOCOL_HEADER))
            .map_or(config.default_protocol, TurnProtocol::from_legacy);
        let tls = inputs
            .param("tls")
            .or_else(|| inputs.header(TLS_HEADER))
            .map_or(config.default_tls, is_true);
        Self {
            user,
            protocol,
            tls,
        }
    }

    /// The RTC config for this grant at `now_unix`: STUN list, then the TURN URL with username
    /// `<now + 24h>:<user>` and credential `base64(HMAC-SHA1(secret, username))`.
    pub fn rtc_config(&self, config: &ServiceConfig, now_unix: u64) -> RtcConfig {
        let turn = TurnServer {
            host: config.turn_host.clone(),
            port: config.turn_port,
            protocol: self.protocol,
            tls: self.tls,
        };
        let username = hmac_username(&self.user, now_unix);
        let credential = hmac_credential(&config.secret, &username);
        let stun = own_stun_urls(&config.stun_host, config.stun_port, &turn);
        turn_config(stun, &turn, &username, &credential)
    }
}

/// The response body for a request: the legacy service's `json.dumps(config, indent=2)`.
pub fn response_body(config: &ServiceConfig, inputs: &Inputs, now_unix: u64) -> String {
    Grant::resolve(config, inputs)
        .rtc_config(config, now_unix)
        .to_json_pretty()
}

#[cfg(test)]
mod tests;
