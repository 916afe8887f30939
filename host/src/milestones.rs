//! Session start-up milestones on the host side, logged at debug level with the time since the
//! browser's HELLO paired the peer (`SESSION_OK`): pipeline built and playing, offer sent, answer
//! applied, peer connection states (the DTLS handshake ends in `Connected`) and the first RTP
//! packet handed to webrtcbin. With the client's marks (web/src/milestones.ts, printed by
//! `ci/bench-e2e`) they show where the time to the first frame goes (docs/benchmarks.md,
//! "First frame"). Each peer's clock restarts at its next `SESSION_OK`; a mark without a
//! started clock is dropped.

use std::sync::Mutex;
use std::time::Instant;

use crate::sync::lock;

/// When each peer (by label) got its `SESSION_OK`.
static STARTED: Mutex<Vec<(&'static str, Instant)>> = Mutex::new(Vec::new());

/// Starts `peer`'s clock (its `SESSION_OK`).
pub fn start(peer: &'static str) {
    let mut s = lock(&STARTED);
    s.retain(|(p, _)| *p != peer);
    s.push((peer, Instant::now()));
}

/// ms since `peer`'s `SESSION_OK`, if its clock runs.
pub fn elapsed_ms(peer: &str) -> Option<f64> {
    lock(&STARTED)
        .iter()
        .find(|(p, _)| *p == peer)
        .map(|(_, t)| t.elapsed().as_secs_f64() * 1000.0)
}

/// Logs `what` with the time since `peer`'s `SESSION_OK`.
pub fn mark(peer: &str, what: &str) {
    if let Some(ms) = elapsed_ms(peer) {
        tracing::debug!(
            peer,
            ms = format_args!("{ms:.1}"),
            "start-up milestone: {what}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_runs_from_start_per_peer() {
        assert_eq!(elapsed_ms("unit-a"), None);
        start("unit-a");
        let first = elapsed_ms("unit-a").expect("started");
        assert!(first >= 0.0);
        assert_eq!(elapsed_ms("unit-b"), None);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(elapsed_ms("unit-a").expect("started") >= first + 5.0);
        // A new session restarts the clock.
        let before = elapsed_ms("unit-a").expect("started");
        start("unit-a");
        assert!(elapsed_ms("unit-a").expect("restarted") < before);
        mark("unit-a", "logged");
        mark("unit-c", "dropped");
    }
}
