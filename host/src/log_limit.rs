//! Keeping log volume out of a client's hands: warnings caused by what a peer sends (unparsable
//! data-channel messages, refused values) are logged individually only for the first few in each
//! window; the rest are counted and summarised once per window ("ignored N bad messages in the
//! last 10 s, last: …"). Pure: the caller passes the clock in, so the policy is unit-tested.

use std::time::{Duration, Instant};

/// How long one window lasts.
pub const WINDOW: Duration = Duration::from_secs(10);
/// Lines logged individually per window before counting starts.
pub const BURST: u32 = 3;

/// Per-connection limiter of peer-caused warnings.
#[derive(Debug)]
pub struct Summariser {
    window: Duration,
    burst: u32,
    started: Option<Instant>,
    logged: u32,
    suppressed: u64,
    last: String,
}

impl Default for Summariser {
    fn default() -> Self {
        Self::new(WINDOW, BURST)
    }
}

impl Summariser {
    pub fn new(window: Duration, burst: u32) -> Self {
        Self {
            window,
            burst,
            started: None,
            logged: 0,
            suppressed: 0,
            last: String::new(),
        }
    }

    /// Note one incident at `now`. Returns the lines to log now, in order: a summary of the
    /// previous window when it has ended, then `what` itself unless this window's burst is used.
    pub fn note(&mut self, now: Instant, what: String) -> Vec<String> {
        let mut out: Vec<String> = self.flush(now).into_iter().collect();
        if self.started.is_none() {
            self.started = Some(now);
        }
        if self.logged < self.burst {
            self.logged += 1;
            out.push(what);
        } else {
            self.suppressed += 1;
            self.last = what;
        }
        out
    }

    /// The summary of a window that has ended by `now`, if anything was suppressed in it;
    /// called from the connection's periodic tick so a flood that stops is still reported.
    pub fn flush(&mut self, now: Instant) -> Option<String> {
        let started = self.started?;
        if now.saturating_duration_since(started) < self.window {
            return None;
        }
        self.started = None;
        self.logged = 0;
        let n = std::mem::take(&mut self.suppressed);
        let last = std::mem::take(&mut self.last);
        (n > 0).then(|| {
            format!(
                "ignored {n} more bad messages in the last {} s, last: {last}",
                self.window.as_secs()
            )
        })
    }
}

/// At most `max` characters of `text`, for quoting peer input in a log line.
pub fn quote(text: &str, max: usize) -> String {
    let mut s: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousand_bad_messages_make_a_handful_of_lines() {
        let mut s = Summariser::default();
        let t0 = Instant::now();
        let mut lines = Vec::new();
        for i in 0..10_000u32 {
            let now = t0 + Duration::from_micros(u64::from(i) * 100);
            lines.extend(s.note(now, format!("junk {i}")));
        }
        assert_eq!(lines, vec!["junk 0", "junk 1", "junk 2"]);
        assert_eq!(
            s.flush(t0 + Duration::from_secs(5)),
            None,
            "window still open"
        );
        let summary = s.flush(t0 + WINDOW).expect("summary once the window ends");
        assert_eq!(
            summary,
            "ignored 9997 more bad messages in the last 10 s, last: junk 9999"
        );
        assert_eq!(s.flush(t0 + WINDOW * 3), None, "nothing new to report");
    }

    #[test]
    fn a_new_window_logs_again_after_the_summary() {
        let mut s = Summariser::new(Duration::from_secs(10), 1);
        let t0 = Instant::now();
        assert_eq!(s.note(t0, "a".into()), vec!["a"]);
        assert!(s.note(t0, "b".into()).is_empty());
        let later = t0 + Duration::from_secs(11);
        assert_eq!(
            s.note(later, "c".into()),
            vec![
                "ignored 1 more bad messages in the last 10 s, last: b".to_string(),
                "c".to_string()
            ]
        );
    }

    #[test]
    fn quoting_is_bounded() {
        assert_eq!(quote("abc", 5), "abc");
        assert_eq!(quote("abcdef", 3), "abc…");
        assert_eq!(quote("ééé", 2), "éé…");
    }
}
