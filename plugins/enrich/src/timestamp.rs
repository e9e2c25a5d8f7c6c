//! Event times for `time_parts`: text or epoch numbers in, through the SDK's lenient
//! format (producers write times many ways, and this plugin only derives fields from
//! them), Unix seconds out, then UTC hour, ISO weekday and date.

use sluice_plugin::calendar::civil_from_days;
use sluice_plugin::time::{self, Format, Timestamp};

/// Seconds in a day.
const DAY: i64 = 86_400;
/// Unix seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years a date column holds.
const MIN_SECS: i64 = Timestamp::MIN.secs();
const MAX_SECS: i64 = Timestamp::MAX.secs();

/// The calendar fields of one instant, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// Year, 0..=9999.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, 1..=31.
    pub day: u8,
    /// Hour, 0..=23.
    pub hour: u8,
    /// ISO day of week: 1 = Monday .. 7 = Sunday.
    pub day_of_week: u8,
}

impl Parts {
    /// The calendar fields of `unix` seconds; `None` outside the years 0..=9999.
    pub fn from_unix(unix: i64) -> Option<Self> {
        if !(MIN_SECS..=MAX_SECS).contains(&unix) {
            return None;
        }
        let days = unix.div_euclid(DAY);
        let (year, month, day) = civil_from_days(days);
        Some(Self {
            year,
            // Both are in range (1..=12, 1..=31) for every day count.
            month: month as u8,
            day: day as u8,
            hour: (unix.rem_euclid(DAY) / 3600) as u8,
            // 1970-01-01 (day 0) was a Thursday, ISO day 4.
            day_of_week: ((days + 3).rem_euclid(7) + 1) as u8,
        })
    }

    /// The date as `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Parses timestamp text: `YYYY-MM-DD hh:mm:ss`, ISO 8601 `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`
/// (either separator, fraction and zone on both), a bare `YYYY-MM-DD` (midnight), or an
/// integer of epoch seconds or milliseconds. Times without a zone are UTC. Returns Unix seconds.
pub fn parse_text(text: &str) -> Option<i64> {
    Format::LENIENT.parse(text).map(Timestamp::secs)
}

/// Interprets an integer as epoch seconds (magnitude below 1e11) or milliseconds.
pub fn from_epoch_int(n: i64) -> Option<i64> {
    time::from_epoch(n).map(Timestamp::secs)
}

/// Interprets a fractional epoch number like [`from_epoch_int`], dropping the fraction.
pub fn from_epoch_float(x: f64) -> Option<i64> {
    time::from_epoch_f64(x).map(Timestamp::secs)
}

#[cfg(test)]
mod tests {
    use sluice_plugin::calendar::{civil_from_days, days_from_civil, days_in_month};

    use super::*;

    fn parts(text: &str) -> Option<(String, u8, u8)> {
        let p = Parts::from_unix(parse_text(text)?)?;
        Some((p.date(), p.hour, p.day_of_week))
    }

    #[test]
    fn known_weekdays() {
        // Checked against `date -u -d <day> +%u`.
        let cases = [
            ("1970-01-01", 4),
            ("2000-01-01", 6),
            ("2000-02-29", 2),
            ("2023-01-01", 7),
            ("2024-02-29", 4),
            ("2025-12-29", 1),
            ("2026-01-01", 4),
            ("2026-03-15", 7),
            ("1969-12-31", 3),
            ("1900-03-01", 4),
        ];
        for (date, dow) in cases {
            assert_eq!(parts(date), Some((date.to_owned(), 0, dow)), "{date}");
        }
    }

    #[test]
    fn space_and_iso_formats_agree() {
        let want = Some(("2026-01-01".to_owned(), 13, 4));
        for text in [
            "2026-01-01 13:05:09",
            "2026-01-01T13:05:09",
            "2026-01-01T13:05:09Z",
            "2026-01-01t13:05:09z",
            "2026-01-01T13:05:09.123Z",
            "2026-01-01 13:05:09.123456",
            "2026-01-01T13:05:09,5+00:00",
            "2026-01-01T13:05:09-0000",
            "  2026-01-01 13:05:09 ",
        ] {
            assert_eq!(parts(text), want, "{text}");
        }
        assert_eq!(parse_text("2026-01-01T00:00:00Z"), Some(1_767_225_600));
    }

    #[test]
    fn offsets_shift_hour_and_date() {
        // 01:30 in UTC+02:00 is 23:30 UTC the day before (a Wednesday).
        assert_eq!(
            parts("2026-01-01T01:30:00+02:00"),
            Some(("2025-12-31".into(), 23, 3))
        );
        // 22:00 in UTC-05:00 is 03:00 UTC the next day.
        assert_eq!(
            parts("2026-01-01T22:00:00-05:00"),
            Some(("2026-01-02".into(), 3, 5))
        );
        // Half-hour zones, and an offset across a year and a leap day.
        assert_eq!(
            parts("2026-06-01T05:00:00+0530"),
            Some(("2026-05-31".into(), 23, 7))
        );
        assert_eq!(
            parts("2024-03-01T00:30:00+01"),
            Some(("2024-02-29".into(), 23, 4))
        );
        assert_eq!(
            parts("2025-12-31T23:00:00-02:00"),
            Some(("2026-01-01".into(), 1, 4))
        );
    }

    #[test]
    fn leap_days() {
        assert_eq!(
            parts("2024-02-29 12:00:00"),
            Some(("2024-02-29".into(), 12, 4))
        );
        assert_eq!(
            parts("2000-02-29 00:00:00"),
            Some(("2000-02-29".into(), 0, 2))
        );
        assert_eq!(parse_text("2023-02-29 00:00:00"), None);
        assert_eq!(parse_text("1900-02-29 00:00:00"), None);
        // The day after a leap day.
        let leap = parse_text("2024-02-29T23:59:59Z").map(|s| s + 1);
        assert_eq!(leap, parse_text("2024-03-01T00:00:00Z"));
    }

    #[test]
    fn epoch_seconds_and_milliseconds() {
        assert_eq!(from_epoch_int(1_767_225_600), Some(1_767_225_600));
        assert_eq!(from_epoch_int(1_767_225_600_123), Some(1_767_225_600));
        assert_eq!(from_epoch_int(99_999_999_999), Some(99_999_999_999));
        assert_eq!(from_epoch_int(100_000_000_000), Some(100_000_000));
        assert_eq!(from_epoch_int(-1), Some(-1));
        assert_eq!(from_epoch_int(-1_500), Some(-1_500));
        assert_eq!(from_epoch_int(-100_000_001_500), Some(-100_000_002));
        assert_eq!(from_epoch_float(1_767_225_600.9), Some(1_767_225_600));
        assert_eq!(from_epoch_float(1_767_225_600_999.0), Some(1_767_225_600));
        assert_eq!(from_epoch_float(-0.5), Some(-1));
        assert_eq!(from_epoch_float(f64::NAN), None);
        assert_eq!(from_epoch_float(1e300), None);
        assert_eq!(parse_text("1767225600"), Some(1_767_225_600));
        assert_eq!(parse_text("1767225600000"), Some(1_767_225_600));
        let p = Parts::from_unix(-1);
        assert_eq!(
            p.map(|p| (p.date(), p.hour, p.day_of_week)),
            Some(("1969-12-31".into(), 23, 3))
        );
    }

    #[test]
    fn years_outside_0_to_9999_have_no_parts() {
        assert!(Parts::from_unix(MIN_SECS).is_some_and(|p| p.date() == "0000-01-01"));
        assert!(Parts::from_unix(MAX_SECS).is_some_and(|p| p.date() == "9999-12-31"));
        assert_eq!(Parts::from_unix(MIN_SECS - 1), None);
        assert_eq!(Parts::from_unix(MAX_SECS + 1), None);
        assert_eq!(parse_text("9999999999999999999"), None);
    }

    #[test]
    fn malformed_text_is_refused() {
        for text in [
            "",
            "-",
            "yesterday",
            "2026-1-01 00:00:00",
            "2026/01/01 00:00:00",
            "2026-13-01 00:00:00",
            "2026-00-10 00:00:00",
            "2026-04-31 00:00:00",
            "2026-01-01 24:00:00",
            "2026-01-01 23:60:00",
            "2026-01-01 23:59:60",
            "2026-01-01 23:59",
            "2026-01-01X23:59:59",
            "2026-01-01 23:59:59.",
            "2026-01-01 23:59:59 UTC",
            "2026-01-01 23:59:59+2",
            "2026-01-01 23:59:59+24:00",
            "2026-01-01 23:59:59+01:60",
            "2026-01-01 23:59:59Zjunk",
            "2026-01-01 1a:00:00",
            "+2026-01-01",
            "20260101T000000Z",
            "2026-01-01\u{e9}",
        ] {
            assert_eq!(parse_text(text), None, "{text:?}");
        }
    }

    #[test]
    fn calendar_round_trips_and_weekdays_advance() {
        let start = days_from_civil(1600, 1, 1);
        let end = days_from_civil(2400, 12, 31);
        let mut prev = None;
        for days in start..=end {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!(d <= days_in_month(y, m));
            let dow = Parts::from_unix(days * DAY).map(|p| p.day_of_week);
            if let (Some(p), Some(dow)) = (prev, dow) {
                assert_eq!(dow, p % 7 + 1, "day {days}");
            }
            prev = dow;
        }
    }
}
