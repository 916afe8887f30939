//! TURN-REST long-term credentials ("use-auth-secret" scheme shared with coturn and the
//! `selkies-turn-rest` service): the username is `<expiry-unix>:<user>`, the password is
//! `base64(HMAC-SHA1(secret, username))`. The relay never stores users: any username whose
//! expiry is in the future and whose MESSAGE-INTEGRITY was made with the derived password is
//! accepted, so credentials minted by the host (or by a TURN-REST service sharing the secret)
//! work without coordination.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use turn_types::stun::message::LongTermKeyCredentials;

/// Why a username was refused before its integrity was even checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("username is not of the form <expiry-unix>[:<user>]")]
    Malformed,
    #[error("username expired at {expiry} (now {now})")]
    Expired { expiry: u64, now: u64 },
}

/// The shared secret and realm the relay authenticates against.
#[derive(Clone)]
pub struct RestAuth {
    secret: Vec<u8>,
    realm: String,
}

impl std::fmt::Debug for RestAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret must never reach a log line.
        f.debug_struct("RestAuth")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// A username/password pair as handed to a browser in its RTC configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedCredentials {
    pub username: String,
    pub password: String,
}

impl RestAuth {
    pub fn new(secret: impl Into<Vec<u8>>, realm: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            realm: realm.into(),
        }
    }

    /// A process-lifetime random secret, for when the operator gave none: credentials then only
    /// come from this process.
    pub fn random(realm: impl Into<String>) -> Self {
        let secret: [u8; 32] = rand::random();
        Self::new(secret.to_vec(), realm)
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The TURN-REST password for `username`.
    pub fn password_for(&self, username: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail; fall back to an unusable
        // password rather than panicking if the library ever changes that.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.secret) else {
            return String::new();
        };
        mac.update(username.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    /// Credentials valid until `now_unix + ttl_secs` for `user`.
    pub fn mint(&self, user: &str, now_unix: u64, ttl_secs: u64) -> MintedCredentials {
        let expiry = now_unix.saturating_add(ttl_secs);
        let username = if user.is_empty() {
            expiry.to_string()
        } else {
            format!("{expiry}:{user}")
        };
        let password = self.password_for(&username);
        MintedCredentials { username, password }
    }

    /// Checks the expiry part of a TURN-REST username and returns the long-term key material
    /// its MESSAGE-INTEGRITY must have been made with.
    pub fn key_for(
        &self,
        username: &str,
        now_unix: u64,
    ) -> Result<LongTermKeyCredentials, CredentialError> {
        self.key_checked(username, Some(now_unix))
    }

    /// Like [`Self::key_for`] without the expiry check: for requests on an allocation that was
    /// made while the username was valid (Refresh, CreatePermission, ChannelBind), so a short
    /// TTL limits who can *start* relaying without cutting running sessions off.
    pub fn key_for_existing(
        &self,
        username: &str,
    ) -> Result<LongTermKeyCredentials, CredentialError> {
        self.key_checked(username, None)
    }

    fn key_checked(
        &self,
        username: &str,
        now_unix: Option<u64>,
    ) -> Result<LongTermKeyCredentials, CredentialError> {
        let expiry = parse_expiry(username)?;
        if let Some(now_unix) = now_unix
            && expiry <= now_unix
        {
            return Err(CredentialError::Expired {
                expiry,
                now: now_unix,
            });
        }
        Ok(LongTermKeyCredentials::new(
            username.to_owned(),
            self.password_for(username),
            self.realm.clone(),
        ))
    }
}

/// The expiry of `<expiry>[:<user>]`; coturn also accepts a bare timestamp.
fn parse_expiry(username: &str) -> Result<u64, CredentialError> {
    let head = username.split(':').next().unwrap_or_default();
    if head.is_empty() || head.len() > 20 || !head.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CredentialError::Malformed);
    }
    head.parse().map_err(|_| CredentialError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_matches_known_vector() {
        // printf '%s' '1700000000:alice' | openssl dgst -sha1 -hmac secret -binary | base64
        let auth = RestAuth::new(b"secret".to_vec(), "selkies");
        assert_eq!(
            auth.password_for("1700000000:alice"),
            "d8soP47RbdIKLDUOpnJPVQyq5Ts="
        );
    }

    #[test]
    fn mint_then_key_round_trips() {
        let auth = RestAuth::new(b"k".to_vec(), "r");
        let creds = auth.mint("bob", 1_000, 60);
        assert_eq!(creds.username, "1060:bob");
        let key = auth.key_for(&creds.username, 1_059).unwrap();
        assert_eq!(key.password(), creds.password);
        assert_eq!(key.realm(), "r");
    }

    #[test]
    fn expired_and_malformed_usernames_are_refused() {
        let auth = RestAuth::new(b"k".to_vec(), "r");
        assert_eq!(
            auth.key_for("1060:bob", 1_060).unwrap_err(),
            CredentialError::Expired {
                expiry: 1060,
                now: 1060
            }
        );
        for bad in [
            "",
            "bob",
            ":bob",
            "12a:bob",
            "999999999999999999999999:x",
            "-5:x",
        ] {
            assert_eq!(
                auth.key_for(bad, 0).unwrap_err(),
                CredentialError::Malformed,
                "{bad}"
            );
        }
        assert!(auth.key_for("2000", 1_000).is_ok());
        assert!(auth.key_for_existing("1060:bob").is_ok());
        assert_eq!(
            auth.key_for_existing("bob").unwrap_err(),
            CredentialError::Malformed
        );
    }

    #[test]
    fn debug_hides_secret() {
        let auth = RestAuth::new(b"topsecret".to_vec(), "r");
        assert!(!format!("{auth:?}").contains("topsecret"));
    }
}
