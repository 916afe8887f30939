//! Host statistics for the client's gauges (`system_stats`, docs/protocol.md §4.2): CPU use over
//! the last interval from /proc/stat and memory from /proc/meminfo, like psutil reports them.

use std::fs;

/// CPU use between two calls, in percent of all CPUs.
#[derive(Debug, Default)]
pub struct CpuSampler {
    last: Option<(u64, u64)>,
}

/// (busy, total) jiffies from the aggregate `cpu` line of /proc/stat.
fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
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

impl CpuSampler {
    pub fn sample(&mut self) -> f64 {
        let Some(now) = fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|t| parse_proc_stat(&t))
        else {
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

/// (total, used) bytes; used = total - available, as psutil computes it.
fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    let total = field("MemTotal:")?;
    let available = field("MemAvailable:")?;
    Some((total, total.saturating_sub(available)))
}

pub fn memory() -> (u64, u64) {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| parse_meminfo(&t))
        .unwrap_or((0, 0))
}

/// Seconds since the Unix epoch, as a float (the `ping` start_time).
pub fn epoch_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_busy_and_total() {
        let text = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(parse_proc_stat(text), Some((150, 1000)));
        assert_eq!(parse_proc_stat("nonsense"), None);
    }

    #[test]
    fn meminfo_used_is_total_minus_available() {
        let text = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n";
        assert_eq!(parse_meminfo(text), Some((1_024_000, 614_400)));
        assert_eq!(parse_meminfo("MemTotal: x kB"), None);
    }

    #[test]
    fn sampler_reports_a_percentage() {
        let mut s = CpuSampler::default();
        let _ = s.sample();
        let pct = s.sample();
        assert!((0.0..=100.0).contains(&pct));
    }
}
