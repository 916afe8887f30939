//! Share-link tokens: `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))`, where
//! the payload is the ASCII text `v1:<link id>:<role>:<expiry, Unix seconds>`. The host keeps a
//! per-process secret (or `--share_secret`); a token is refused when its MAC does not match
//! (forged, or signed with a secret since rotated), when it has expired, or when its link id was
//! revoked. Nothing in a token is trusted before the MAC is checked, in constant time.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Role;

/// Longest token text accepted (a real one is about 90 characters).
pub const MAX_TOKEN_LEN: usize = 512;
/// Longest link id (minted ids are 12 hex digits).
pub const MAX_LINK_ID_LEN: usize = 32;

/// What a share link grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareToken {
    /// The link's id: what revocation names.
    pub link_id: String,
    pub role: Role,
    /// Unix seconds after which the link no longer admits anyone.
    pub expires: u64,
}

/// Why a token was refused. The texts are shown to the joining user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed share link")]
    Malformed,
    #[error("share link signature invalid (forged, or the host rotated its secret)")]
    BadSignature,
    #[error("share link expired")]
    Expired,
    #[error("share link revoked")]
    Revoked,
    #[error("share links cannot grant the owner role")]
    OwnerLink,
}

/// Signs and checks tokens with the host's secret and remembers revoked link ids.
#[derive(Clone)]
pub struct Signer {
    secret: Vec<u8>,
    revoked: HashSet<String>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("secret", &"<redacted>")
            .field("revoked", &self.revoked.len())
            .finish()
    }
}

fn valid_link_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LINK_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Signer {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
            revoked: HashSet::new(),
        }
    }

    /// HMAC takes keys of any length, so `None` does not happen; it is still an error, not a
    /// panic.
    fn mac(&self, payload: &[u8]) -> Result<Hmac<Sha256>, TokenError> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).map_err(|_| TokenError::Malformed)?;
        mac.update(payload);
        Ok(mac)
    }

    /// The token text for `t`. Owner links are refused: the owner is the Basic-auth user.
    pub fn sign(&self, t: &ShareToken) -> Result<String, TokenError> {
        if t.role == Role::Owner {
            return Err(TokenError::OwnerLink);
        }
        if !valid_link_id(&t.link_id) {
            return Err(TokenError::Malformed);
        }
        let payload = format!("v1:{}:{}:{}", t.link_id, t.role, t.expires);
        let tag = self.mac(payload.as_bytes())?.finalize().into_bytes();
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// Checks `text` at time `now` (Unix seconds).
    pub fn verify(&self, text: &str, now: u64) -> Result<ShareToken, TokenError> {
        if text.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let (p64, t64) = text.split_once('.').ok_or(TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(p64)
            .map_err(|_| TokenError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(t64)
            .map_err(|_| TokenError::Malformed)?;
        if payload.is_empty() || tag.len() != 32 {
            return Err(TokenError::Malformed);
        }
        self.mac(&payload)?
            .verify_slice(&tag)
            .map_err(|_| TokenError::BadSignature)?;
        let token = parse_payload(&payload)?;
        if self.revoked.contains(&token.link_id) {
            return Err(TokenError::Revoked);
        }
        if now >= token.expires {
            return Err(TokenError::Expired);
        }
        Ok(token)
    }

    /// Revokes one link: later joins with it fail; the host disconnects who used it.
    pub fn revoke(&mut self, link_id: &str) {
        self.revoked.insert(link_id.to_owned());
    }

    pub fn is_revoked(&self, link_id: &str) -> bool {
        self.revoked.contains(link_id)
    }

    /// Replaces the secret: every link signed so far stops working.
    pub fn rotate(&mut self, secret: impl Into<Vec<u8>>) {
        self.secret = secret.into();
        self.revoked.clear();
    }
}

fn parse_payload(payload: &[u8]) -> Result<ShareToken, TokenError> {
    let text = std::str::from_utf8(payload).map_err(|_| TokenError::Malformed)?;
    let mut it = text.split(':');
    let (Some("v1"), Some(id), Some(role), Some(exp), None) =
        (it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(TokenError::Malformed);
    };
    let role: Role = role.parse().map_err(|_| TokenError::Malformed)?;
    if role == Role::Owner {
        return Err(TokenError::OwnerLink);
    }
    if !valid_link_id(id) {
        return Err(TokenError::Malformed);
    }
    Ok(ShareToken {
        link_id: id.to_owned(),
        role,
        expires: exp.parse().map_err(|_| TokenError::Malformed)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(id: &str, expires: u64) -> ShareToken {
        ShareToken {
            link_id: id.into(),
            role: Role::Viewer,
            expires,
        }
    }

    #[test]
    fn known_vector() {
        // printf 'v1:abc123:viewer:2000000000' | openssl dgst -sha256 -hmac secret -binary | basenc --base64url
        let s = Signer::new(b"secret".to_vec());
        let t = s.sign(&viewer("abc123", 2_000_000_000)).unwrap();
        assert_eq!(
            t,
            "djE6YWJjMTIzOnZpZXdlcjoyMDAwMDAwMDAw.\
             4jXrv8_ojm7EuZqzrWvDJJ7y9UMlhrFIAkFUfqyfsc4"
        );
        assert_eq!(
            s.verify(&t, 1_999_999_999),
            Ok(viewer("abc123", 2_000_000_000))
        );
    }

    #[test]
    fn refusals() {
        let mut s = Signer::new(b"k1".to_vec());
        let t = s.sign(&viewer("l1", 100)).unwrap();
        assert_eq!(s.verify(&t, 100), Err(TokenError::Expired));
        assert_eq!(
            Signer::new(b"k2".to_vec()).verify(&t, 0),
            Err(TokenError::BadSignature)
        );
        // A payload edited to say controller keeps the old MAC.
        let (_, tag) = t.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("v1:l1:controller:100"));
        assert_eq!(s.verify(&forged, 0), Err(TokenError::BadSignature));
        for bad in ["", ".", "abc", "a.b.c", "!!.!!", &"A".repeat(600)] {
            assert_eq!(s.verify(bad, 0), Err(TokenError::Malformed), "{bad}");
        }
        s.revoke("l1");
        assert_eq!(s.verify(&t, 0), Err(TokenError::Revoked));
        s.rotate(b"k3".to_vec());
        assert_eq!(s.verify(&t, 0), Err(TokenError::BadSignature));
    }

    #[test]
    fn owner_links_and_bad_ids_are_not_minted() {
        let s = Signer::new(b"k".to_vec());
        let owner = ShareToken {
            link_id: "x".into(),
            role: Role::Owner,
            expires: 9,
        };
        assert_eq!(s.sign(&owner), Err(TokenError::OwnerLink));
        assert_eq!(s.sign(&viewer("a:b", 9)), Err(TokenError::Malformed));
        assert_eq!(s.sign(&viewer("", 9)), Err(TokenError::Malformed));
        // A correctly signed payload naming the owner is still refused.
        let payload = "v1:x:owner:9";
        let tag = s.mac(payload.as_bytes()).unwrap().finalize().into_bytes();
        let t = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        );
        assert_eq!(s.verify(&t, 0), Err(TokenError::OwnerLink));
    }

    #[test]
    fn player_links_carry_their_slot() {
        let s = Signer::new(b"k".to_vec());
        let t = ShareToken {
            link_id: "p".into(),
            role: Role::Player(1),
            expires: 50,
        };
        assert_eq!(s.verify(&s.sign(&t).unwrap(), 10), Ok(t));
    }
}
