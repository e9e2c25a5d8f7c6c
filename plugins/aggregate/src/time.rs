//! Event time in UTC: parses the time field of an event into epoch milliseconds with the
//! SDK's RFC 3339 format, and formats window bounds as the `YYYY-MM-DD hh:mm:ss` text that
//! ClickHouse reads as `DateTime`.

use std::fmt::Write as _;

use sluice_plugin::time::{self, Format, Timestamp};

/// Earliest instant accepted, 0000-01-01 00:00:00 UTC, so that every window bound
/// formats with a four-digit year and no arithmetic nears `i64` limits.
pub const MIN_MS: i64 = Timestamp::MIN.millis();
/// Latest instant accepted, 9999-12-31 23:59:59.999 UTC.
pub const MAX_MS: i64 = Timestamp::MAX.millis();

/// An epoch integer (seconds below 1e11, else milliseconds) as epoch milliseconds,
/// or `None` outside years 0000..=9999.
pub fn from_epoch(n: i64) -> Option<i64> {
    time::from_epoch(n).map(Timestamp::millis)
}

/// Parses `YYYY-MM-DD hh:mm:ss` or ISO-8601 `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` into
/// epoch milliseconds. Either separator takes the optional fraction and zone; a time
/// without a zone is UTC. Digits past milliseconds are truncated.
pub fn parse_text(s: &str) -> Option<i64> {
    Format::RFC3339
        .parse(s)?
        .in_four_digit_years()
        .map(Timestamp::millis)
}

/// Appends `ms` as UTC `YYYY-MM-DD hh:mm:ss`, dropping milliseconds (window bounds
/// are whole seconds, and ClickHouse `DateTime` has none).
pub fn write_datetime(out: &mut String, ms: i64) {
    time::write_datetime(out, Timestamp::from_millis(ms));
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
