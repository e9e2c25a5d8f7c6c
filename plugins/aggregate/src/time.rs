//! Event time in UTC without a date library: parses the time field of an event into
//! epoch milliseconds, and formats window bounds as the `YYYY-MM-DD hh:mm:ss` text that
//! ClickHouse reads as `DateTime`.

use std::fmt::Write as _;

use sluice_plugin::calendar::{civil_from_days, days_from_civil, days_in_month, digits};

/// Earliest instant accepted, 0000-01-01 00:00:00 UTC, so that every window bound
/// formats with a four-digit year and no arithmetic nears `i64` limits.
pub const MIN_MS: i64 = -62_167_219_200_000;
/// Latest instant accepted, 9999-12-31 23:59:59.999 UTC.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// Epoch integers below this magnitude are seconds, the rest milliseconds: 1e11 s is
/// the year 5138, while 1e11 ms is only 1973.
const EPOCH_MS_FROM: i64 = 100_000_000_000;

/// An epoch integer (seconds below 1e11, else milliseconds) as epoch milliseconds,
/// or `None` outside years 0000..=9999.
pub fn from_epoch(n: i64) -> Option<i64> {
    let ms = if n.unsigned_abs() < EPOCH_MS_FROM as u64 {
        n * 1000
    } else {
        n
    };
    (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
}

/// Parses `YYYY-MM-DD hh:mm:ss` or ISO-8601 `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` into
/// epoch milliseconds. Either separator takes the optional fraction and zone; a time
/// without a zone is UTC. Digits past milliseconds are truncated.
pub fn parse_text(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b' ' | b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for c in &tail[..n.min(3)] {
            millis = millis * 10 + i64::from(c - b'0');
        }
        for _ in n..3 {
            millis *= 10;
        }
        rest = &tail[n..];
    }
    let offset_min = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_min * 60;
    let ms = secs * 1000 + millis;
    (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
}

/// Appends `ms` as UTC `YYYY-MM-DD hh:mm:ss`, dropping milliseconds (window bounds
/// are whole seconds, and ClickHouse `DateTime` has none).
pub fn write_datetime(out: &mut String, ms: i64) {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let (h, m, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
    // Writing into a String cannot fail.
    let _ = write!(out, "{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}");
}

/// `ms` as UTC text with milliseconds when there are any; for rejection messages.
pub fn display_ms(ms: i64) -> String {
    let mut out = String::with_capacity(23);
    write_datetime(&mut out, ms);
    let frac = ms.rem_euclid(1000);
    if frac != 0 {
        let _ = write!(out, ".{frac:03}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ms: i64) -> String {
        let mut s = String::new();
        write_datetime(&mut s, ms);
        s
    }

    const NEW_YEAR_2026: i64 = 1_767_225_600_000;

    #[test]
    fn parses_both_text_forms() {
        assert_eq!(parse_text("2026-01-01 00:00:00"), Some(NEW_YEAR_2026));
        assert_eq!(parse_text("2026-01-01T00:00:00"), Some(NEW_YEAR_2026));
        assert_eq!(parse_text("2026-01-01T00:00:00Z"), Some(NEW_YEAR_2026));
        assert_eq!(
            parse_text("2026-01-01T00:00:01.5Z"),
            Some(NEW_YEAR_2026 + 1500)
        );
        assert_eq!(
            parse_text("2026-01-01T00:00:01.123456"),
            Some(NEW_YEAR_2026 + 1123)
        );
        assert_eq!(parse_text("2026-01-01T02:30:00+02:30"), Some(NEW_YEAR_2026));
        assert_eq!(parse_text("2025-12-31T19:00:00-05:00"), Some(NEW_YEAR_2026));
        assert_eq!(parse_text("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_text("2024-02-29 12:00:00"), Some(1_709_208_000_000));
    }

    #[test]
    fn refuses_malformed_or_impossible_times() {
        for s in [
            "",
            "2026-01-01",
            "2026-01-01 00:00",
            "2026/01/01 00:00:00",
            "2026-01-01X00:00:00",
            "2026-13-01 00:00:00",
            "2026-00-01 00:00:00",
            "2023-02-29 00:00:00",
            "2026-04-31 00:00:00",
            "2026-01-01 24:00:00",
            "2026-01-01 00:60:00",
            "2026-01-01 00:00:60",
            "2026-01-01T00:00:00.",
            "2026-01-01T00:00:00+0200",
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00Zjunk",
            "2026-01-01 00:00:00 ",
            "+026-01-01 00:00:00",
            "２026-01-01 00:00:00",
        ] {
            assert_eq!(parse_text(s), None, "{s:?}");
        }
    }

    #[test]
    fn epoch_integers_are_seconds_or_milliseconds() {
        assert_eq!(from_epoch(1_767_225_600), Some(NEW_YEAR_2026));
        assert_eq!(from_epoch(NEW_YEAR_2026), Some(NEW_YEAR_2026));
        assert_eq!(from_epoch(99_999_999_999), Some(99_999_999_999_000));
        assert_eq!(from_epoch(100_000_000_000), Some(100_000_000_000));
        assert_eq!(from_epoch(0), Some(0));
        assert_eq!(from_epoch(-60), Some(-60_000));
        assert_eq!(from_epoch(i64::MAX), None);
        assert_eq!(from_epoch(i64::MIN), None);
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(fmt(NEW_YEAR_2026), "2026-01-01 00:00:00");
        assert_eq!(fmt(NEW_YEAR_2026 - 1), "2025-12-31 23:59:59");
        assert_eq!(fmt(-1_000), "1969-12-31 23:59:59");
        assert_eq!(fmt(MIN_MS), "0000-01-01 00:00:00");
        assert_eq!(fmt(MAX_MS), "9999-12-31 23:59:59");
        assert_eq!(
            display_ms(NEW_YEAR_2026 + 30_250),
            "2026-01-01 00:00:30.250"
        );
        assert_eq!(display_ms(NEW_YEAR_2026), "2026-01-01 00:00:00");
        // Every day over four centuries survives format -> parse.
        let mut ms = NEW_YEAR_2026 - 200 * 365 * 86_400_000;
        while ms < NEW_YEAR_2026 + 200 * 365 * 86_400_000 {
            let t = ms + 45_296_000; // 12:34:56 into the day
            assert_eq!(parse_text(&fmt(t)), Some(t), "{}", fmt(t));
            ms += 86_400_000;
        }
    }
}
