//! Timestamp parsing and civil-calendar arithmetic, by hand so the plugin needs no date
//! crate: text or epoch numbers in, Unix seconds out, then UTC hour, ISO weekday and date.

/// Days since 1970-01-01 of a date; shared with every plugin through the SDK.
pub use sluice_plugin::calendar::days_from_civil;
use sluice_plugin::calendar::{self, days_in_month};

/// Seconds in a day.
const DAY: i64 = 86_400;
/// Epoch numbers at or above this magnitude are milliseconds (1e11 s is the year 5138).
const MS_THRESHOLD: i64 = 100_000_000_000;
/// Unix seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years a date column holds.
const MIN_SECS: i64 = -62_167_219_200;
const MAX_SECS: i64 = 253_402_300_799;

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
            month,
            day,
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
    let b = text.trim().as_bytes();
    let digits_from = usize::from(b.first() == Some(&b'-'));
    if b.len() > digits_from && b[digits_from..].iter().all(u8::is_ascii_digit) {
        return from_epoch_int(text.trim().parse().ok()?);
    }
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = num(b, 0, 4)?;
    let month = num(b, 5, 2)?;
    let day = num(b, 8, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * DAY;
    if b.len() == 10 {
        return Some(secs);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(b, 11, 2)?, num(b, 14, 2)?, num(b, 17, 2)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    secs += hour * 3600 + minute * 60 + second;
    let mut rest = &b[19..];
    if let [b'.' | b',', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &tail[n..];
    }
    let offset = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (h, m) = match zone {
                [_, _] => (num(zone, 0, 2)?, 0),
                [_, _, b':', _, _] => (num(zone, 0, 2)?, num(zone, 3, 2)?),
                [_, _, _, _] => (num(zone, 0, 2)?, num(zone, 2, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let offset = h * 3600 + m * 60;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    // Local time minus its offset from UTC is UTC.
    Some(secs - offset)
}

/// Interprets an integer as epoch seconds (magnitude below 1e11) or milliseconds.
pub fn from_epoch_int(n: i64) -> Option<i64> {
    if n.unsigned_abs() < MS_THRESHOLD as u64 {
        Some(n)
    } else {
        Some(n.div_euclid(1000))
    }
}

/// Interprets a fractional epoch number like [`from_epoch_int`], dropping the fraction.
pub fn from_epoch_float(x: f64) -> Option<i64> {
    // Beyond ±1e17 ms the year is far outside 0..=9999 anyway; bail before the cast saturates.
    if !x.is_finite() || x.abs() >= 1e17 {
        return None;
    }
    let secs = if x.abs() < MS_THRESHOLD as f64 {
        x
    } else {
        x / 1000.0
    };
    Some(secs.floor() as i64)
}

/// Reads `len` ASCII digits of `b` at `at` as a number.
fn num(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let digits = b.get(at..at + len)?;
    digits.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// The date of a day count since 1970-01-01; inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let (year, month, day) = calendar::civil_from_days(days);
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
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
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
            assert!(i64::from(d) <= days_in_month(y, i64::from(m)));
            let dow = Parts::from_unix(days * DAY).map(|p| p.day_of_week);
            if let (Some(p), Some(dow)) = (prev, dow) {
                assert_eq!(dow, p % 7 + 1, "day {days}");
            }
            prev = dow;
        }
    }
}
