//! Whole-machine CPU and memory for the client's `system_stats` gauges (docs/protocol.md §4.2),
//! computed the way psutil reports them: CPU busy share between two `/proc/stat` readings, and
//! memory used = MemTotal − MemAvailable from `/proc/meminfo`. Pure: the host reads the files
//! and hands their text in.

/// (busy, total) jiffies from the aggregate `cpu` line of `/proc/stat`.
pub fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    if fields.len() < 4 {
        return None;
    }
    let total: u64 = fields.iter().take(8).sum();
    // idle + iowait are not busy time.
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// (total, used) bytes; used = total − available, as psutil computes it.
pub fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb.saturating_mul(1024))
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:")?;
    Some((total, total.saturating_sub(available)))
}

/// CPU use between successive `/proc/stat` readings, in percent of all CPUs (one decimal).
#[derive(Debug, Default)]
pub struct CpuUse {
    last: Option<(u64, u64)>,
}

impl CpuUse {
    /// The share of busy time since the previous reading; 0 for the first one, or when the
    /// reading is missing or the counters did not advance.
    pub fn update(&mut self, reading: Option<(u64, u64)>) -> f64 {
        let Some(now) = reading else {
            return 0.0;
        };
        let pct = match self.last {
            Some((busy0, total0)) if now.1 > total0 => {
                (now.0.saturating_sub(busy0)) as f64 * 100.0 / (now.1 - total0) as f64
            }
            _ => 0.0,
        };
        self.last = Some(now);
        (pct * 10.0).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_busy_and_total() {
        let text = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(parse_proc_stat(text), Some((150, 1000)));
        assert_eq!(parse_proc_stat("nonsense"), None);
        assert_eq!(parse_proc_stat("cpu  1 2 3\n"), None);
    }

    #[test]
    fn meminfo_used_is_total_minus_available() {
        let text = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n";
        assert_eq!(parse_meminfo(text), Some((1_024_000, 614_400)));
        assert_eq!(parse_meminfo("MemTotal: x kB"), None);
        assert_eq!(parse_meminfo("MemTotal: 10 kB\n"), None);
    }

    #[test]
    fn busy_share_between_readings() {
        let mut c = CpuUse::default();
        assert_eq!(c.update(Some((100, 1000))), 0.0);
        assert_eq!(c.update(Some((150, 1200))), 25.0);
        // Counters that did not advance (or went back after a reset): no figure.
        assert_eq!(c.update(Some((150, 1200))), 0.0);
        assert_eq!(c.update(None), 0.0);
        assert_eq!(c.update(Some((1, 10))), 0.0);
        assert_eq!(c.update(Some((2, 13))), 33.3);
    }
}
