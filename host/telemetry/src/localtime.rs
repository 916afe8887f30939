//! Local wall-clock time (through libc `localtime_r`, so `TZ` is honoured as in the legacy
//! host's `datetime.now()`) and the two strftime spellings the statistics files use.

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A broken-down local time; `month` is 1..=12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl CivilTime {
    /// The local time now; falls back to UTC fields if the C library cannot convert.
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self::from_unix_local(secs)
    }

    pub fn from_unix_local(secs: u64) -> Self {
        let t = libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX);
        // SAFETY: `tm` is plain data; localtime_r only writes into it and reads `t`.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
        if !ok {
            return Self::from_unix_utc(secs);
        }
        Self {
            year: tm.tm_year + 1900,
            month: u32::try_from(tm.tm_mon + 1).unwrap_or(1),
            day: u32::try_from(tm.tm_mday).unwrap_or(1),
            hour: u32::try_from(tm.tm_hour).unwrap_or(0),
            minute: u32::try_from(tm.tm_min).unwrap_or(0),
            second: u32::try_from(tm.tm_sec).unwrap_or(0),
        }
    }

    /// UTC civil time (days-from-civil inverse, Howard Hinnant's algorithm).
    pub fn from_unix_utc(secs: u64) -> Self {
        let days = i64::try_from(secs / 86_400).unwrap_or(0);
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    /// `%d/%B/%Y:%H:%M:%S`, the `timestamp` column of the CSV rows.
    pub fn row_stamp(&self) -> String {
        let month = MONTHS
            .get(self.month.saturating_sub(1) as usize)
            .copied()
            .unwrap_or("January");
        format!(
            "{:02}/{month}/{:04}:{:02}:{:02}:{:02}",
            self.day, self.year, self.hour, self.minute, self.second
        )
    }

    /// `%Y-%m-%d:%H:%M:%S`, the timestamp in the CSV file names.
    pub fn file_stamp(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}:{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_conversion_and_spellings() {
        // 2023-11-14 22:13:20 UTC
        let t = CivilTime::from_unix_utc(1_700_000_000);
        assert_eq!(
            t,
            CivilTime {
                year: 2023,
                month: 11,
                day: 14,
                hour: 22,
                minute: 13,
                second: 20
            }
        );
        assert_eq!(t.row_stamp(), "14/November/2023:22:13:20");
        assert_eq!(t.file_stamp(), "2023-11-14:22:13:20");
        let leap = CivilTime::from_unix_utc(951_782_400); // 2000-02-29 00:00:00
        assert_eq!(leap.file_stamp(), "2000-02-29:00:00:00");
        assert_eq!(leap.row_stamp(), "29/February/2000:00:00:00");
        assert_eq!(
            CivilTime::from_unix_utc(0).row_stamp(),
            "01/January/1970:00:00:00"
        );
    }

    #[test]
    fn local_time_is_a_valid_date() {
        let t = CivilTime::now();
        assert!(t.year >= 2024 && (1..=12).contains(&t.month) && (1..=31).contains(&t.day));
        assert!(t.hour < 24 && t.minute < 60 && t.second <= 60);
    }
}
