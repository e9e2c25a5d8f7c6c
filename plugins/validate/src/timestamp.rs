//! Reads the timestamps a `timestamp` rule accepts, from event fields and config bounds,
//! into UTC epoch milliseconds, with the SDK's strict format: a rule that checks event
//! times should not let odd spellings through.

use sluice_plugin::time::{self, Format, Timestamp};

/// Epoch integers below this magnitude are seconds and from it up milliseconds: 1e11 s is
/// the year 5138, while 1e11 ms is already 1973.
pub const MS_THRESHOLD: i64 = time::EPOCH_MS_FROM;

/// What a timestamp may look like, for error messages.
pub const FORMATS: &str = "\"YYYY-MM-DD hh:mm:ss\", ISO-8601 \"YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]\", or epoch seconds/ms";

/// Parses `YYYY-MM-DD hh:mm:ss` or ISO-8601 `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` into
/// epoch milliseconds; a string without a zone is UTC, as ClickHouse reads it. Digits
/// past milliseconds are truncated, as DateTime64(3) does.
pub fn parse_str(s: &str) -> Option<i64> {
    Format::STRICT.parse(s).map(Timestamp::millis)
}

/// Reads an epoch integer: seconds below [`MS_THRESHOLD`] in magnitude, milliseconds from
/// there up; `None` outside the years 0000..=9999.
pub fn from_epoch(n: i64) -> Option<i64> {
    time::from_epoch(n).map(Timestamp::millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y2K_MS: i64 = 946_684_800_000;

    #[test]
    fn both_layouts_read_as_utc() {
        assert_eq!(parse_str("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_str("2000-01-01 00:00:00"), Some(Y2K_MS));
        assert_eq!(parse_str("2000-01-01T00:00:00"), Some(Y2K_MS));
        assert_eq!(parse_str("2000-01-01T00:00:00Z"), Some(Y2K_MS));
        assert_eq!(parse_str("1969-12-31 23:59:59"), Some(-1_000));
        assert_eq!(parse_str("2026-03-01 12:34:56"), Some(1_772_368_496_000));
    }

    #[test]
    fn fractions_and_offsets() {
        assert_eq!(parse_str("2000-01-01T00:00:00.5Z"), Some(Y2K_MS + 500));
        assert_eq!(
            parse_str("2000-01-01T00:00:00.123456789Z"),
            Some(Y2K_MS + 123)
        );
        assert_eq!(parse_str("2000-01-01T01:30:00+01:30"), Some(Y2K_MS));
        assert_eq!(parse_str("1999-12-31T19:00:00-05:00"), Some(Y2K_MS));
        assert_eq!(parse_str("2000-01-01 00:00:00.250"), Some(Y2K_MS + 250));
    }

    #[test]
    fn calendar_is_checked() {
        assert!(parse_str("2024-02-29 00:00:00").is_some());
        assert!(parse_str("2000-02-29 00:00:00").is_some());
        assert_eq!(parse_str("2023-02-29 00:00:00"), None);
        assert_eq!(parse_str("1900-02-29 00:00:00"), None);
        assert_eq!(parse_str("2024-04-31 00:00:00"), None);
        assert_eq!(parse_str("2024-13-01 00:00:00"), None);
        assert_eq!(parse_str("2024-00-01 00:00:00"), None);
        assert_eq!(parse_str("2024-01-00 00:00:00"), None);
        assert_eq!(parse_str("2024-01-01 24:00:00"), None);
        assert_eq!(parse_str("2024-01-01 23:60:00"), None);
        assert_eq!(parse_str("2024-01-01 23:59:60"), None);
    }

    #[test]
    fn malformed_strings_are_refused() {
        for s in [
            "",
            "2024-01-01",
            "2024/01/01 00:00:00",
            "2024-01-01_00:00:00",
            "24-01-01 00:00:00",
            "2024-1-01 00:00:00",
            "2024-01-01 00:00:00 ",
            "2024-01-01T00:00:00.",
            "2024-01-01T00:00:00.1234567890",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00z",
            "２０２４-01-01 00:00:00",
            "+024-01-01 00:00:00",
        ] {
            assert_eq!(parse_str(s), None, "{s:?}");
        }
    }

    #[test]
    fn epoch_integers_switch_unit_at_1e11() {
        assert_eq!(from_epoch(946_684_800), Some(Y2K_MS));
        assert_eq!(from_epoch(Y2K_MS), Some(Y2K_MS));
        assert_eq!(
            from_epoch(MS_THRESHOLD - 1),
            Some((MS_THRESHOLD - 1) * 1_000)
        );
        assert_eq!(from_epoch(MS_THRESHOLD), Some(MS_THRESHOLD));
        assert_eq!(from_epoch(-1), Some(-1_000));
        assert_eq!(from_epoch(i64::MIN), None);
    }
}
