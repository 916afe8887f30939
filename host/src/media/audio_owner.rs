//! Who owns the host's audio encoder handle: the WebRTC audio peer and the WebSocket transport
//! each build their own `opusenc`, but the data channel's `ab` (audio bitrate) reaches "the"
//! encoder through the host. Each transport *claims* the handle with its encoder and holds an
//! [`Lease`] for as long as its pipeline lives; the newest live claim owns the handle. Dropping
//! a lease removes only that claim, so a transport that stops late (its teardown runs on the
//! blocking pool after the next transport started) can never clear or overwrite the new
//! owner's encoder — the race of a plain `set(Some)/set(None)` on a transport switch.

use std::sync::{Arc, Mutex};

use crate::sync::lock;

struct Claims<T> {
    next: u64,
    /// Live claims, oldest first; the last one owns the handle.
    live: Vec<(u64, T)>,
}

/// A handle with one owner at a time: the newest live [`Lease`].
pub struct Owned<T> {
    claims: Arc<Mutex<Claims<T>>>,
}

impl<T> Default for Owned<T> {
    fn default() -> Self {
        Self {
            claims: Arc::new(Mutex::new(Claims {
                next: 1,
                live: Vec::new(),
            })),
        }
    }
}

/// One transport's claim on an [`Owned`] handle; dropping it gives the claim up.
#[must_use = "the claim ends when the lease is dropped"]
pub struct Lease<T> {
    id: u64,
    claims: Arc<Mutex<Claims<T>>>,
}

impl<T> Owned<T> {
    /// Make `value` the handle until the lease drops or a newer claim arrives.
    pub fn claim(&self, value: T) -> Lease<T> {
        let mut c = lock(&self.claims);
        let id = c.next;
        c.next += 1;
        c.live.push((id, value));
        Lease {
            id,
            claims: self.claims.clone(),
        }
    }

    /// Run `f` on the current owner's value, if any.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        lock(&self.claims).live.last().map(|(_, v)| f(v))
    }

    /// How many claims are live (one, except for a moment during a hand-over).
    pub fn live_claims(&self) -> usize {
        lock(&self.claims).live.len()
    }
}

impl<T> Lease<T> {
    /// Whether this lease owns the handle now.
    pub fn owns(&self) -> bool {
        lock(&self.claims)
            .live
            .last()
            .is_some_and(|(id, _)| *id == self.id)
    }
}

impl<T> Drop for Lease<T> {
    fn drop(&mut self) {
        let removed = {
            let mut c = lock(&self.claims);
            let at = c.live.iter().position(|(id, _)| *id == self.id);
            at.map(|i| c.live.remove(i))
        };
        // The value (a GStreamer element reference) is released outside the lock.
        drop(removed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_release_of_the_old_owner_keeps_the_new_one() {
        let slot = Owned::default();
        let webrtc = slot.claim("webrtc");
        assert_eq!(slot.with(|v| *v), Some("webrtc"));
        // Fallback: the WebSocket session starts before the WebRTC peer's teardown ran.
        let ws = slot.claim("websocket");
        assert!(ws.owns() && !webrtc.owns());
        drop(webrtc);
        assert_eq!(slot.with(|v| *v), Some("websocket"));
        drop(ws);
        assert_eq!(slot.with(|v| *v), None);
    }

    #[test]
    fn a_newer_claim_that_ends_first_hands_back_to_the_older_one() {
        let slot = Owned::default();
        let ws = slot.claim("websocket");
        let webrtc = slot.claim("webrtc");
        drop(webrtc);
        assert!(ws.owns());
        assert_eq!(slot.with(|v| *v), Some("websocket"));
    }

    /// Transports switching back and forth from several threads, with teardowns in any order:
    /// the owner is always the newest live claim and nothing is left behind.
    #[test]
    fn repeated_switches_from_threads_leave_nothing() {
        let slot = Arc::new(Owned::default());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let slot = slot.clone();
                std::thread::spawn(move || {
                    let mut held = Vec::new();
                    for i in 0..500u64 {
                        held.push(slot.claim(t * 1000 + i));
                        assert!(slot.with(|_| ()).is_some());
                        if i % 3 != 0 {
                            // Drop an older lease first sometimes (a late teardown).
                            let at = (i as usize) % held.len();
                            drop(held.remove(at));
                        }
                    }
                    drop(held);
                })
            })
            .collect();
        for th in threads {
            th.join().expect("thread");
        }
        assert_eq!(slot.live_claims(), 0);
        assert_eq!(slot.with(|v| *v), None);
    }
}
