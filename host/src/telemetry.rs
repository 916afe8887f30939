//! Host statistics for the client's gauges (`system_stats`, docs/protocol.md §4.2): reads
//! `/proc/stat` and `/proc/meminfo` and hands them to the pure parsers of
//! `selkies_telemetry::system`.

use std::fs;

use selkies_telemetry::system::{CpuUse, parse_meminfo, parse_proc_stat};

/// CPU use between two calls, in percent of all CPUs.
#[derive(Debug, Default)]
pub struct CpuSampler {
    cpu: CpuUse,
}

impl CpuSampler {
    pub fn sample(&mut self) -> f64 {
        let reading = fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|t| parse_proc_stat(&t));
        self.cpu.update(reading)
    }
}

/// (total, used) bytes of memory; zeros when /proc/meminfo cannot be read.
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
    fn this_machine_is_readable() {
        let mut s = CpuSampler::default();
        let _ = s.sample();
        let pct = s.sample();
        assert!((0.0..=100.0).contains(&pct));
        let (total, used) = memory();
        assert!(total > 0 && used <= total);
    }
}
