//! The RTC configuration the host serves at `/turn` and gives its own webrtcbin (docs/protocol.md
//! §1 "RTC-config source precedence", §2.3): an `--rtc_config_json` file (re-read when it
//! changes), a TURN-REST service (re-fetched every 60 s), or the settings' static / shared-secret
//! / STUN-only source. Building and parsing the documents is `selkies_proto::rtc_config`'s job.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use selkies_proto::config::Settings;
use selkies_proto::rtc_config::{RtcConfig, RtcSource, stun_only_config, webrtcbin_servers};
use tracing::{info, warn};

use crate::rest_client;
use crate::session::IceServers;

/// Where the current configuration came from.
enum Current {
    /// Generated from settings (a fresh HMAC credential per request in shared-secret mode).
    Source(RtcSource),
    /// A document from the file or TURN-REST, served byte for byte like the legacy host.
    Document { raw: String, parsed: RtcConfig },
}

pub struct RtcStore {
    current: RwLock<Current>,
    /// The user the host itself asks credentials for (`--turn_rest_username`).
    host_user: String,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl RtcStore {
    fn with(current: Current, host_user: String) -> Self {
        Self {
            current: RwLock::new(current),
            host_user,
        }
    }

    /// Google-STUN-style STUN-only configuration (tests and the no-TURN default).
    pub fn stun_only(host: &str, port: u16) -> Self {
        Self::with(
            Current::Source(RtcSource::StunOnly(stun_only_config(host, port))),
            String::new(),
        )
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        crate::sync::read(&self.current)
    }

    fn replace(&self, current: Current) {
        *crate::sync::write(&self.current) = current;
    }

    /// Pick the source by the legacy precedence and start the watchers it needs.
    pub async fn start(settings: &Settings) -> Self {
        let store = Self::with(
            Current::Source(RtcSource::from_settings(settings)),
            settings.turn_rest_username.clone(),
        );
        let from_file = read_file(&settings.rtc_config_json);
        if let Some(doc) = from_file {
            info!(file = %settings.rtc_config_json.display(), "RTC config from file");
            store.replace(doc);
        } else if let Some(uri) = &settings.turn_rest_uri {
            match rest_client::fetch_rtc_config(uri, &rest_request(settings)).await {
                Ok(doc) => {
                    info!(uri, "RTC config from TURN-REST");
                    store.replace(document(doc));
                }
                Err(e) => warn!(uri, "TURN-REST fetch failed, using the settings: {e}"),
            }
        }
        store
    }

    /// Keep the configuration fresh: watch the file, re-poll TURN-REST every 60 s.
    pub fn spawn_refresh(self: &Arc<Self>, settings: &Settings) {
        let file = settings.rtc_config_json.clone();
        let store = self.clone();
        tokio::spawn(async move { watch_file(store, file).await });
        if let Some(uri) = settings.turn_rest_uri.clone() {
            let store = self.clone();
            let req = rest_request(settings);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    match rest_client::fetch_rtc_config(&uri, &req).await {
                        Ok(doc) => store.replace(document(doc)),
                        Err(e) => warn!(uri, "TURN-REST refresh failed: {e}"),
                    }
                }
            });
        }
    }

    /// The `/turn` body. `user` is the request's auth-user header (shared-secret mode).
    pub fn json_for(&self, user: Option<&str>) -> Option<String> {
        Some(match &*self.read() {
            Current::Source(src) => src.config(user, now_unix()).to_json_pretty(),
            Current::Document { raw, .. } => raw.clone(),
        })
    }

    /// STUN/TURN servers for a new webrtcbin.
    pub fn webrtcbin_servers(&self) -> IceServers {
        let config = match &*self.read() {
            Current::Source(src) => src.config(Some(&self.host_user), now_unix()),
            Current::Document { parsed, .. } => parsed.clone(),
        };
        let servers = webrtcbin_servers(&config);
        if !servers.ignored.is_empty() {
            warn!(ignored = ?servers.ignored, "ICE servers webrtcbin cannot use");
        }
        IceServers {
            stun: servers.stun,
            turn: servers.turn,
        }
    }
}

fn document(parsed_raw: (String, RtcConfig)) -> Current {
    Current::Document {
        raw: parsed_raw.0,
        parsed: parsed_raw.1,
    }
}

fn rest_request(settings: &Settings) -> rest_client::RestRequest {
    rest_client::RestRequest {
        headers: vec![
            (
                settings.turn_rest_username_auth_header.clone(),
                settings.turn_rest_username.clone(),
            ),
            (
                settings.turn_rest_protocol_header.clone(),
                settings.turn_protocol.as_str().to_string(),
            ),
            (
                settings.turn_rest_tls_header.clone(),
                settings.turn_tls.to_string(),
            ),
        ],
    }
}

/// A valid document from the file, or None when it is absent or invalid (logged).
fn read_file(path: &PathBuf) -> Option<Current> {
    let raw = std::fs::read_to_string(path).ok()?;
    match RtcConfig::parse(&raw) {
        Ok(parsed) => Some(Current::Document { raw, parsed }),
        Err(e) => {
            warn!(file = %path.display(), "ignoring invalid RTC config file: {e}");
            None
        }
    }
}

/// Poll the file's mtime and size; polling needs no inotify and works on every filesystem.
async fn watch_file(store: Arc<RtcStore>, path: PathBuf) {
    let stamp = |p: &PathBuf| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().ok(), m.len()))
    };
    let mut last = stamp(&path);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = stamp(&path);
        if now != last
            && now.is_some()
            && let Some(doc) = read_file(&path)
        {
            info!(file = %path.display(), "RTC config file changed; reloaded");
            store.replace(doc);
        }
        last = now;
    }
}
