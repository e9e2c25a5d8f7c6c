//! Event-time arithmetic and formatting: record index -> epoch milliseconds -> the
//! `YYYY-MM-DD hh:mm:ss` UTC text that ClickHouse parses as `DateTime`.

use sluice_plugin::time::{self, Timestamp};

/// Event time of record `index`: `start_ms + index * interval_ms`, truncated to whole
/// milliseconds and saturating rather than overflowing at the ends of `i64`.
pub fn event_ms(start_ms: i64, interval_ms: f64, index: u64) -> i64 {
    // `as` saturates for out-of-range floats, so a huge product cannot wrap.
    start_ms.saturating_add((index as f64 * interval_ms) as i64)
}

/// Writes `ms` (milliseconds since the Unix epoch) into `out` as UTC
/// `YYYY-MM-DD hh:mm:ss`; sub-second digits are dropped because `DateTime` has none.
pub fn write_datetime(out: &mut String, ms: i64) {
    time::write_datetime(out, Timestamp::from_millis(ms));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ms: i64) -> String {
        let mut s = String::new();
        write_datetime(&mut s, ms);
        s
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(fmt(0), "1970-01-01 00:00:00");
        assert_eq!(fmt(1_767_225_600_000), "2026-01-01 00:00:00");
        assert_eq!(fmt(1_767_225_600_999), "2026-01-01 00:00:00");
        assert_eq!(fmt(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(fmt(-1_000), "1969-12-31 23:59:59");
        assert_eq!(fmt(4_107_542_399_000), "2100-02-28 23:59:59");
    }

    #[test]
    fn leap_years_get_february_29th() {
        // 2024-02-28 23:59:59 plus one second.
        let ms = 1_709_164_799_000;
        assert_eq!(fmt(ms), "2024-02-28 23:59:59");
        assert_eq!(fmt(ms + 1_000), "2024-02-29 00:00:00");
        assert_eq!(fmt(ms + 86_400_000 + 1_000), "2024-03-01 00:00:00");
        // 2100 is not a leap year: the 28th rolls straight into March.
        assert_eq!(fmt(4_107_542_400_000), "2100-03-01 00:00:00");
    }

    #[test]
    fn records_roll_over_midnight_and_new_year() {
        // 2025-12-31 23:59:59.950, then records every 100 ms.
        let start = 1_767_225_599_950;
        assert_eq!(fmt(event_ms(start, 100.0, 0)), "2025-12-31 23:59:59");
        assert_eq!(fmt(event_ms(start, 100.0, 1)), "2026-01-01 00:00:00");
        assert_eq!(fmt(event_ms(start, 100.0, 36_001)), "2026-01-01 01:00:00");
    }

    #[test]
    fn fractional_intervals_truncate_to_milliseconds() {
        assert_eq!(event_ms(0, 0.5, 3), 1);
        assert_eq!(event_ms(0, 33.3, 3), 99);
        assert_eq!(event_ms(i64::MAX - 5, 100.0, 1), i64::MAX);
    }
}
