//! Coalescing of keyframe requests. Every peer's webrtcbin asks for a keyframe when it joins and
//! whenever its browser reports loss (PLI/FIR); with one encoder for all peers, each request
//! would force a keyframe on everyone. The gate lets at most one request through per interval;
//! a request inside the interval is remembered and served once it ends, so a late joiner still
//! gets its keyframe within one interval.

use std::time::{Duration, Instant};

/// Default interval between forced keyframes (docs/sharing.md says why).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct KeyframeGate {
    interval: Duration,
    last: Option<Instant>,
    pending: bool,
    /// Requests answered by an earlier or later forced keyframe instead of their own.
    coalesced: u64,
}

impl KeyframeGate {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
            pending: false,
            coalesced: 0,
        }
    }

    /// A peer asks for a keyframe at `now`: true when the encoder should be asked now.
    pub fn request(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => {
                if self.pending {
                    self.coalesced += 1;
                }
                self.pending = true;
                false
            }
            _ => {
                if self.pending {
                    self.coalesced += 1;
                }
                self.pending = false;
                self.last = Some(now);
                true
            }
        }
    }

    /// Called periodically: true when a remembered request is due now.
    pub fn poll(&mut self, now: Instant) -> bool {
        let due = self.pending
            && self
                .last
                .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            self.pending = false;
            self.last = Some(now);
        }
        due
    }

    /// When the remembered request, if any, becomes due.
    pub fn due_at(&self) -> Option<Instant> {
        self.pending
            .then(|| self.last.map(|l| l + self.interval))
            .flatten()
    }

    pub fn coalesced(&self) -> u64 {
        self.coalesced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_keyframe_per_interval() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut g = KeyframeGate::new(Duration::from_millis(500));
        assert!(g.request(ms(0)));
        // Four peers ask within the interval: none forced now, one remembered.
        for t in [10, 20, 30, 40] {
            assert!(!g.request(ms(t)));
        }
        assert_eq!(g.due_at(), Some(ms(500)));
        assert!(!g.poll(ms(499)));
        assert!(g.poll(ms(500)));
        assert!(!g.poll(ms(600)), "served once");
        assert_eq!(g.coalesced(), 3);
        assert!(!g.request(ms(700)));
        assert!(
            g.request(ms(1000)),
            "a request after the interval goes through"
        );
        assert_eq!(g.due_at(), None);
    }
}
