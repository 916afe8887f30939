//! The standard `process_*` metrics (the legacy exporter's default process collector): CPU
//! seconds, resident/virtual memory, start time and file descriptors of this process, read from
//! `/proc/self`. Parsing is pure; [`ProcessStats::read`] does the I/O.

use std::fs;

use crate::exposition::{Exposition, MetricType};

/// One reading of this process's numbers; fields are `None` where /proc did not tell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: Option<f64>,
    pub virtual_bytes: Option<f64>,
    pub resident_bytes: Option<f64>,
    pub start_time: Option<f64>,
    pub open_fds: Option<f64>,
    pub max_fds: Option<f64>,
}

/// The fields of `/proc/<pid>/stat` we use: (utime+stime ticks, starttime ticks, vsize, rss pages).
pub fn parse_pid_stat(text: &str) -> Option<(u64, u64, u64, u64)> {
    // `comm` is parenthesised and may hold spaces or parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state), so field N is rest[N - 3].
    let num = |n: usize| f.get(n - 3)?.parse::<u64>().ok();
    Some((num(14)? + num(15)?, num(22)?, num(23)?, num(24)?))
}

/// `btime` (boot time, Unix seconds) from `/proc/stat`.
pub fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft "Max open files" limit from `/proc/<pid>/limits`.
pub fn parse_max_fds(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl ProcessStats {
    pub fn read() -> Self {
        // SAFETY: sysconf has no memory-safety preconditions.
        let (tick, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let tick = if tick > 0 { tick as f64 } else { 100.0 };
        let page = if page > 0 { page as f64 } else { 4096.0 };
        let mut s = Self::default();
        if let Some((cpu, start, vsize, rss)) = fs::read_to_string("/proc/self/stat")
            .ok()
            .as_deref()
            .and_then(parse_pid_stat)
        {
            s.cpu_seconds = Some(cpu as f64 / tick);
            s.virtual_bytes = Some(vsize as f64);
            s.resident_bytes = Some(rss as f64 * page);
            s.start_time = fs::read_to_string("/proc/stat")
                .ok()
                .as_deref()
                .and_then(parse_boot_time)
                .map(|b| b as f64 + start as f64 / tick);
        }
        s.open_fds = fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as f64);
        s.max_fds = fs::read_to_string("/proc/self/limits")
            .ok()
            .as_deref()
            .and_then(parse_max_fds)
            .map(|v| v as f64);
        s
    }

    /// Writes the families we have values for, with `prometheus_client`'s names and help.
    pub fn write(&self, exp: &mut Exposition) {
        let gauges = [
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                self.virtual_bytes,
            ),
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                self.resident_bytes,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                self.start_time,
            ),
        ];
        for (name, help, v) in gauges {
            if let Some(v) = v {
                exp.gauge(name, help, v);
            }
        }
        if let Some(v) = self.cpu_seconds {
            let name = "process_cpu_seconds_total";
            exp.family(
                name,
                "Total user and system CPU time spent in seconds.",
                MetricType::Counter,
            );
            exp.sample(name, [], v);
        }
        if let Some(v) = self.open_fds {
            exp.gauge("process_open_fds", "Number of open file descriptors.", v);
        }
        if let Some(v) = self.max_fds {
            exp.gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                v,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_awkward_comm() {
        let line = "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    150 50 0 0 20 0 9 0 123456 987654321 2048 18446744073709551615";
        assert_eq!(parse_pid_stat(line), Some((200, 123456, 987654321, 2048)));
        assert_eq!(parse_pid_stat("garbage"), None);
        assert_eq!(parse_pid_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn boot_time_and_limits() {
        assert_eq!(
            parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024));
        assert_eq!(
            parse_max_fds("Max open files unlimited unlimited files"),
            None
        );
    }

    #[test]
    fn this_process_is_readable() {
        let s = ProcessStats::read();
        assert!(s.resident_bytes.unwrap_or(0.0) > 0.0);
        assert!(s.open_fds.unwrap_or(0.0) >= 3.0);
        assert!(s.start_time.unwrap_or(0.0) > 1_600_000_000.0);
    }
}
