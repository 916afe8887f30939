//! Supervision of the host's long-lived tasks (docs/reliability.md, "Supervision"): a task body
//! that panics is logged with its panic message and run again after a backoff, while the state
//! it borrows (for a host peer: its signalling-hub registration and inboxes) outlives the panic.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;
use tracing::error;

/// Restart delays after successive panics: 1 s, doubling up to 30 s; a peer that then ran a
/// minute without panicking starts again at 1 s.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
    last: Option<Instant>,
}

impl Backoff {
    pub fn next(&mut self, now: Instant) -> Duration {
        if self
            .last
            .is_some_and(|l| now.saturating_duration_since(l) > Duration::from_secs(60))
        {
            self.failures = 0;
        }
        self.last = Some(now);
        let delay = Duration::from_secs(1 << self.failures.min(5)).min(Duration::from_secs(30));
        self.failures += 1;
        delay
    }
}

/// The text of a panic payload, for the log line that says why a peer restarted.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Run `body` until it returns; when it panics, log why and run it again after a backoff.
/// `state` (the peer's hub registration and inboxes) outlives each run, so the signalling hub
/// never holds the host's uid with a dead channel (docs/reliability.md, "Supervision").
pub async fn supervise<S>(
    label: &str,
    state: &mut S,
    mut body: impl for<'a> FnMut(&'a mut S) -> futures::future::BoxFuture<'a, ()>,
) {
    let mut backoff = Backoff::default();
    loop {
        match AssertUnwindSafe(body(state)).catch_unwind().await {
            Ok(()) => return,
            Err(payload) => {
                let delay = backoff.next(Instant::now());
                error!(
                    peer = label,
                    "peer task panicked ({}); its session was dropped; restarting in {} s",
                    panic_message(payload.as_ref()),
                    delay.as_secs()
                );
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Test-only fault injection (docs/testing.md, "Peer task failure"): the environment variable a
/// test sets, before starting a host, to a signalling text that makes the peer receiving it panic.
/// Unset, as in every deployment, it does nothing.
pub const INJECT_PANIC_ENV: &str = "SELKIES_TEST_PEER_PANIC";

/// Panic when `text` is the test's trigger, so that the supervision above runs against a whole
/// host; read once, since a host's peers share the process environment.
pub fn injected_panic(text: &str) {
    static TRIGGER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let trigger = TRIGGER.get_or_init(|| {
        std::env::var(INJECT_PANIC_ENV)
            .ok()
            .filter(|t| !t.is_empty())
    });
    if trigger.as_deref() == Some(text) {
        panic!("fault injected through {INJECT_PANIC_ENV}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_and_reset_after_a_quiet_minute() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        let delays: Vec<u64> = (0..7)
            .map(|i| b.next(t0 + Duration::from_secs(i)).as_secs())
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(b.next(t0 + Duration::from_secs(200)).as_secs(), 1);
    }
}
