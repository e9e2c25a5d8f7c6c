//! Event time without a date crate: one parser from date-time text (or an epoch number)
//! to a [`Timestamp`], with a [`Format`] of flags for the rules each caller needs, and
//! one formatter back to the UTC `YYYY-MM-DD hh:mm:ss` text ClickHouse reads as `DateTime`.
//!
//! Every form the parser accepts is ASCII, so it reads bytes with a cursor, never slices
//! a `&str`, and refuses (with `None`) anything else: it does not panic on any input.

use std::fmt::Write as _;

use crate::calendar::{civil_from_days, days_from_civil, days_in_month};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Epoch numbers of this magnitude and up are milliseconds, smaller ones seconds: 1e11 s
/// is the year 5138, while 1e11 ms is already 1973.
pub const EPOCH_MS_FROM: i64 = 100_000_000_000;

/// An instant in UTC: whole seconds since 1970-01-01 (rounded down) and the nanoseconds
/// past them, so that years 0000..=9999 keep nanosecond precision in 12 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    /// Always below one second.
    nanos: u32,
}

impl Timestamp {
    /// 0000-01-01 00:00:00 UTC: the first instant with a four-digit year.
    pub const MIN: Self = Self {
        secs: -62_167_219_200,
        nanos: 0,
    };
    /// The last nanosecond of 9999-12-31 UTC.
    pub const MAX: Self = Self {
        secs: 253_402_300_799,
        nanos: 999_999_999,
    };

    /// `secs` seconds after 1970-01-01 00:00:00 UTC (before it when negative).
    pub const fn from_secs(secs: i64) -> Self {
        Self { secs, nanos: 0 }
    }

    /// `ms` milliseconds after 1970-01-01 00:00:00 UTC (before it when negative).
    pub const fn from_millis(ms: i64) -> Self {
        Self {
            secs: ms.div_euclid(1_000),
            // rem_euclid is in 0..1000, so the cast is exact.
            nanos: ms.rem_euclid(1_000) as u32 * 1_000_000,
        }
    }

    /// Whole seconds since the epoch, rounded down (towards the past).
    pub const fn secs(self) -> i64 {
        self.secs
    }

    /// Nanoseconds past [`Self::secs`], below 1e9.
    pub const fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Milliseconds since the epoch, rounded down; saturates at the ends of `i64`, which
    /// only instants hundreds of millions of years away reach.
    pub const fn millis(self) -> i64 {
        let ms = self.secs as i128 * 1_000 + (self.nanos / 1_000_000) as i128;
        if ms > i64::MAX as i128 {
            i64::MAX
        } else if ms < i64::MIN as i128 {
            i64::MIN
        } else {
            ms as i64
        }
    }

    /// Nanoseconds since the epoch; `i128` holds every `Timestamp`.
    pub const fn nanos(self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nanos as i128
    }

    /// `Some(self)` when it falls in the years 0000..=9999, [`Self::MIN`]..=[`Self::MAX`]:
    /// the years a four-digit date (and a ClickHouse date column) can show.
    pub fn in_four_digit_years(self) -> Option<Self> {
        (Self::MIN..=Self::MAX).contains(&self).then_some(self)
    }
}

/// Reads an epoch integer: seconds when its magnitude is below [`EPOCH_MS_FROM`],
/// milliseconds from there up; `None` outside the years 0000..=9999.
pub fn from_epoch(n: i64) -> Option<Timestamp> {
    let t = if n.unsigned_abs() < EPOCH_MS_FROM.unsigned_abs() {
        Timestamp::from_secs(n)
    } else {
        Timestamp::from_millis(n)
    };
    t.in_four_digit_years()
}

/// Reads a fractional epoch number like [`from_epoch`]; the fraction becomes nanoseconds
/// (as near as `f64` holds it). `None` for NaN, infinities and outside years 0000..=9999.
pub fn from_epoch_f64(x: f64) -> Option<Timestamp> {
    if !x.is_finite() {
        return None;
    }
    let secs = if x.abs() < EPOCH_MS_FROM as f64 {
        x
    } else {
        x / 1_000.0
    };
    let whole = secs.floor();
    // Checked in floating point, before the cast could saturate.
    if whole < Timestamp::MIN.secs as f64 || whole > Timestamp::MAX.secs as f64 {
        return None;
    }
    let nanos = (((secs - whole) * 1e9) as u32).min(999_999_999);
    Some(Timestamp {
        secs: whole as i64,
        nanos,
    })
}

/// Appends `t` as UTC `YYYY-MM-DD hh:mm:ss`, dropping any fraction (ClickHouse `DateTime`
/// has none). Years outside 0000..=9999 print with more digits or a sign.
pub fn write_datetime(out: &mut String, t: Timestamp) {
    let (year, month, day) = civil_from_days(t.secs.div_euclid(DAY));
    let sod = t.secs.rem_euclid(DAY);
    let (h, m, s) = (sod / 3_600, sod % 3_600 / 60, sod % 60);
    // Writing into a String cannot fail.
    let _ = write!(out, "{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}");
}

/// Which date-time texts [`Format::parse`] accepts. Every format reads
/// `YYYY-MM-DD hh:mm:ss` and `YYYY-MM-DDThh:mm:ss`, each with an optional `.fff…`
/// fraction and an optional `Z` or `±hh:mm` zone, with impossible dates and times refused
/// and a missing zone read as UTC; each flag accepts one more spelling. Start from a preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// Skip whitespace (as `str::trim` sees it) around the text.
    pub trim: bool,
    /// Read a bare `YYYY-MM-DD` as its midnight, UTC.
    pub date_only: bool,
    /// Read a text of only digits (after an optional `-`) as an epoch number, as
    /// [`from_epoch`] does.
    pub epoch_text: bool,
    /// Accept a lowercase `t` between date and time.
    pub lowercase_t: bool,
    /// Accept a lowercase `z` for UTC.
    pub lowercase_z: bool,
    /// Accept `,` before the fraction as well as `.`.
    pub comma_fraction: bool,
    /// Accept a `.` with no digits after it.
    pub empty_fraction: bool,
    /// Most fraction digits accepted, `None` for any number; digits past nanoseconds are
    /// read and dropped either way.
    pub max_fraction_digits: Option<u8>,
    /// Accept second 60, a leap second, read as second 0 of the next minute.
    pub leap_second: bool,
    /// Accept a `±hhmm` zone.
    pub zone_hhmm: bool,
    /// Accept a `±hh` zone.
    pub zone_hh: bool,
}

impl Format {
    /// Only the forms every format reads, in upper case, with at most nine fraction
    /// digits: the `validate` plugin's rule, where a strange spelling is a finding.
    pub const STRICT: Self = Self {
        trim: false,
        date_only: false,
        epoch_text: false,
        lowercase_t: false,
        lowercase_z: false,
        comma_fraction: false,
        empty_fraction: false,
        max_fraction_digits: Some(9),
        leap_second: false,
        zone_hhmm: false,
        zone_hh: false,
    };

    /// RFC 3339 with the zone optional: `T` or `t` (or a space), `Z` or `z`, any number
    /// of fraction digits. The `aggregate` plugin's event times.
    pub const RFC3339: Self = Self {
        lowercase_t: true,
        lowercase_z: true,
        max_fraction_digits: None,
        ..Self::STRICT
    };

    /// Whatever a producer plausibly writes: surrounding whitespace, a bare date, epoch
    /// seconds or milliseconds as text, `,` fractions, `±hh` and `±hhmm` zones. The
    /// `enrich` plugin's rule, which derives fields and should not be picky.
    pub const LENIENT: Self = Self {
        trim: true,
        date_only: true,
        epoch_text: true,
        comma_fraction: true,
        zone_hhmm: true,
        zone_hh: true,
        ..Self::RFC3339
    };

    /// What the host's ClickHouse sink reads into `DateTime` and `DateTime64` columns:
    /// surrounding whitespace, a bare date, `T` or a space (no `t`), `Z` or `z`, any
    /// number of fraction digits (a `.` alone too), a leap second, `±hh:mm` and `±hhmm`.
    pub const CLICKHOUSE: Self = Self {
        trim: true,
        date_only: true,
        lowercase_z: true,
        empty_fraction: true,
        max_fraction_digits: None,
        leap_second: true,
        zone_hhmm: true,
        ..Self::STRICT
    };

    /// Parses `text` in this format; `None` if it is not one of the accepted forms or
    /// names an impossible date or time.
    pub fn parse(self, text: &str) -> Option<Timestamp> {
        let text = if self.trim { text.trim() } else { text };
        self.read(text.as_bytes())
    }

    /// Parses raw bytes like [`Format::parse`]; bytes that are not UTF-8 never parse,
    /// since every accepted form is ASCII.
    pub fn parse_bytes(self, bytes: &[u8]) -> Option<Timestamp> {
        if self.trim {
            // Trimming Unicode whitespace needs characters.
            std::str::from_utf8(bytes).ok().and_then(|s| self.parse(s))
        } else {
            self.read(bytes)
        }
    }

    /// The one pass over the bytes.
    fn read(self, b: &[u8]) -> Option<Timestamp> {
        let mut c = Cursor { b, at: 0 };
        // A leading run of digits is the year, or an epoch number when it is all the text.
        let negative = self.epoch_text && c.eat(b'-');
        let (len, value) = c.number(negative);
        if c.done() {
            return if self.epoch_text && len > 0 {
                from_epoch(value?)
            } else {
                None
            };
        }
        if negative || len != 4 {
            return None;
        }
        let year = value?;
        c.expect(b'-')?;
        let month = c.digits(2)?;
        c.expect(b'-')?;
        let day = c.digits(2)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let midnight = days_from_civil(year, month, day) * DAY;
        let Some(separator) = c.next() else {
            return self.date_only.then_some(Timestamp::from_secs(midnight));
        };
        if !(separator == b' ' || separator == b'T' || (self.lowercase_t && separator == b't')) {
            return None;
        }
        let hour = c.digits(2)?;
        c.expect(b':')?;
        let minute = c.digits(2)?;
        c.expect(b':')?;
        let second = c.digits(2)?;
        let last_second = if self.leap_second { 60 } else { 59 };
        if hour > 23 || minute > 59 || second > last_second {
            return None;
        }
        let nanos = if c.eat(b'.') || (self.comma_fraction && c.eat(b',')) {
            self.fraction(&mut c)?
        } else {
            0
        };
        let offset = self.zone(&mut c)?;
        // Local time minus its offset from UTC is UTC.
        let secs = midnight + hour * 3_600 + minute * 60 + second - offset;
        Some(Timestamp { secs, nanos })
    }

    /// Reads the digits after the fraction separator as nanoseconds.
    fn fraction(self, c: &mut Cursor<'_>) -> Option<u32> {
        let mut nanos = 0;
        let mut scale = 100_000_000;
        let mut count = 0usize;
        while let Some(d) = c.digit() {
            nanos += d * scale;
            scale /= 10;
            count += 1;
        }
        let too_many = self
            .max_fraction_digits
            .is_some_and(|max| count > usize::from(max));
        (!too_many && (count > 0 || self.empty_fraction)).then_some(nanos)
    }

    /// Reads the zone, which must end the text, as seconds east of UTC.
    fn zone(self, c: &mut Cursor<'_>) -> Option<i64> {
        let sign = match c.next() {
            None => return Some(0),
            Some(b'Z') => return c.done().then_some(0),
            Some(b'z') if self.lowercase_z => return c.done().then_some(0),
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(_) => return None,
        };
        let hours = c.digits(2)?;
        let minutes = if c.done() && self.zone_hh {
            0
        } else if c.eat(b':') || self.zone_hhmm {
            c.digits(2)?
        } else {
            return None;
        };
        (c.done() && hours <= 23 && minutes <= 59).then_some(sign * (hours * 3_600 + minutes * 60))
    }
}

/// A read position in the text.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.at >= self.b.len()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = *self.b.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    /// Steps over `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.b.get(self.at) == Some(&byte);
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// The next byte's value if it is an ASCII digit.
    fn digit(&mut self) -> Option<u32> {
        let d = self.b.get(self.at).filter(|c| c.is_ascii_digit())?;
        self.at += 1;
        Some(u32::from(d - b'0'))
    }

    /// Exactly `n` digits as a number.
    fn digits(&mut self, n: usize) -> Option<i64> {
        (0..n).try_fold(0, |acc, _| Some(acc * 10 + i64::from(self.digit()?)))
    }

    /// A run of digits: how many, and their value (negated when `negative`), or `None`
    /// as the value if it overflows `i64`.
    fn number(&mut self, negative: bool) -> (usize, Option<i64>) {
        let mut len = 0;
        let mut value = Some(0i64);
        while let Some(d) = self.digit() {
            len += 1;
            let d = i64::from(d);
            value = value.and_then(|v| v.checked_mul(10)).and_then(|v| {
                if negative {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            });
        }
        (len, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01 00:00:00 UTC.
    const NEW_YEAR_2026: i64 = 1_767_225_600;

    const PRESETS: [(&str, Format); 4] = [
        ("STRICT", Format::STRICT),
        ("RFC3339", Format::RFC3339),
        ("LENIENT", Format::LENIENT),
        ("CLICKHOUSE", Format::CLICKHOUSE),
    ];

    fn at(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs, nanos }
    }

    /// Which presets accept a text, as the letters S, R, L and C; `-` for none.
    fn accepted_by(text: &str) -> String {
        let letters: String = PRESETS
            .iter()
            .filter(|(_, f)| f.parse(text).is_some())
            .map(|(name, _)| &name[..1])
            .collect();
        if letters.is_empty() {
            "-".into()
        } else {
            letters
        }
    }

    /// Each preset's rules: the text, the presets that accept it, and the instant they read.
    #[test]
    fn each_preset_accepts_its_forms_and_reads_the_same_instant() {
        let ny = NEW_YEAR_2026;
        let cases: &[(&str, &str, Timestamp)] = &[
            // Every preset.
            ("2026-01-01 00:00:00", "SRLC", at(ny, 0)),
            ("2026-01-01T00:00:00", "SRLC", at(ny, 0)),
            ("2026-01-01T00:00:00Z", "SRLC", at(ny, 0)),
            ("2026-01-01 00:00:01.5", "SRLC", at(ny + 1, 500_000_000)),
            ("2026-01-01T00:00:01.250", "SRLC", at(ny + 1, 250_000_000)),
            (
                "2026-01-01T00:00:01.123456789Z",
                "SRLC",
                at(ny + 1, 123_456_789),
            ),
            ("2026-01-01T02:30:00+02:30", "SRLC", at(ny, 0)),
            ("2026-01-01T01:00:01+01:00", "SRLC", at(ny + 1, 0)),
            ("2025-12-31T19:00:00-05:00", "SRLC", at(ny, 0)),
            ("1970-01-01 00:00:00", "SRLC", at(0, 0)),
            ("1969-12-31 23:59:59.999", "SRLC", at(-1, 999_000_000)),
            ("2024-02-29 12:00:00", "SRLC", at(1_709_208_000, 0)),
            ("2000-02-29 00:00:00", "SRLC", at(951_782_400, 0)),
            ("0000-01-01 00:00:00", "SRLC", Timestamp::MIN),
            ("9999-12-31 23:59:59.999999999", "SRLC", Timestamp::MAX),
            // Lower case and long fractions: all but STRICT, and no `t` for ClickHouse.
            ("2026-01-01t00:00:00", "RL", at(ny, 0)),
            ("2026-01-01t13:05:09z", "RL", at(ny + 47_109, 0)),
            ("2026-01-01T00:00:00z", "RLC", at(ny, 0)),
            (
                "2026-01-01 00:00:01.1234567891",
                "RLC",
                at(ny + 1, 123_456_789),
            ),
            (
                "2026-01-01T00:00:01.123456Z",
                "SRLC",
                at(ny + 1, 123_456_000),
            ),
            // Whitespace, bare dates and `±hhmm` zones: LENIENT and CLICKHOUSE.
            ("  2026-01-01 13:05:09 ", "LC", at(ny + 47_109, 0)),
            ("\u{3000}2026-01-01 00:00:00\n", "LC", at(ny, 0)),
            ("2026-01-01", "LC", at(ny, 0)),
            ("1970-01-02", "LC", at(86_400, 0)),
            ("2026-01-01 ", "LC", at(ny, 0)),
            ("2026-06-01T05:00:00+0530", "LC", at(1_780_270_200, 0)),
            ("2026-01-01T13:05:09-0000", "LC", at(ny + 47_109, 0)),
            // Epoch text, `,` fractions and `±hh` zones: LENIENT only.
            ("1767225600", "L", at(ny, 0)),
            ("1767225600123", "L", at(ny, 123_000_000)),
            (" -1 ", "L", at(-1, 0)),
            ("0", "L", at(0, 0)),
            ("2026", "L", at(2026, 0)),
            (
                "2026-01-01T13:05:09,5+00:00",
                "L",
                at(ny + 47_109, 500_000_000),
            ),
            ("2024-03-01T00:30:00+01", "L", at(1_709_249_400, 0)),
            // Leap seconds and a bare `.`: CLICKHOUSE only, as the sink has always read them.
            ("2026-01-01 23:59:60", "C", at(ny + 86_400, 0)),
            ("2026-01-01 00:00:00.", "C", at(ny, 0)),
            ("2026-01-01T00:00:00.Z", "C", at(ny, 0)),
            (
                "2026-01-01 23:59:60.123456789123-0930",
                "C",
                at(ny + 86_400 + 34_200, 123_456_789),
            ),
        ];
        for (text, presets, want) in cases {
            assert_eq!(accepted_by(text), *presets, "{text:?}");
            for (name, format) in PRESETS {
                if let Some(t) = format.parse(text) {
                    assert_eq!(t, *want, "{name} {text:?}");
                }
            }
        }
    }

    /// Malformed or impossible texts, refused by every preset, including the ones the
    /// sink's old parser let through (2026-02-31, signed fields, zones like `+99:99`).
    #[test]
    fn every_preset_refuses_malformed_and_impossible_times() {
        for text in [
            "",
            " ",
            "-",
            "yesterday",
            "2026-01",
            "2026-01-01 00:00",
            "2026-01-01T",
            "2026-01-01 1a:00:00",
            "2026/01/01 00:00:00",
            "2026-1-01 00:00:00",
            "26-01-01 00:00:00",
            "20260101T000000Z",
            "2026-01-01X00:00:00",
            "2026-01-01_00:00:00",
            "2026-01-01Z",
            // Impossible dates and times.
            "2026-02-31",
            "2026-02-31 00:00:00",
            "2023-02-29 00:00:00",
            "1900-02-29 00:00:00",
            "2026-04-31 00:00:00",
            "2026-13-01 00:00:00",
            "2026-00-01 00:00:00",
            "2026-01-00 00:00:00",
            "2026-01-32",
            "2026-01-01 24:00:00",
            "2026-01-01 00:60:00",
            "2026-01-01 00:00:61",
            // Signs inside fields, which `str::parse` would take.
            "+026-01-01 00:00:00",
            "-001-01-01 00:00:00",
            "+2026-01-01",
            "2026-+1-01 00:00:00",
            "2026-01-+1 00:00:00",
            "2026-01-01 -1:00:00",
            "2026-01-01 00:+1:00",
            // Zones.
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00+01:60",
            "2026-01-01T00:00:00+99:99",
            "2026-01-01T00:00:00+0:100",
            "2026-01-01T00:00:00+01::00",
            "2026-01-01T00:00:00+:0100",
            "2026-01-01T00:00:00+-1:00",
            "2026-01-01T00:00:00+2",
            "2026-01-01T00:00:00+01:",
            "2026-01-01T00:00:00+01:000",
            "2026-01-01T00:00:00+010",
            "2026-01-01T00:00:00Zjunk",
            "2026-01-01T00:00:00ZZ",
            "2026-01-01T00:00:00 Z",
            "2026-01-01 00:00:00 UTC",
            "2026-01-01T00:00:00.5.5",
            // Not ASCII digits, and multi-byte characters across every field boundary.
            "２026-01-01 00:00:00",
            "２０２６-01-01 00:00:00",
            "2026-01-😀01T00:00:01Z",
            "2026-01-0é",
            "2026-01-01\u{e9}",
            "2026-01-01 00:00:0é",
            "2026-01-01T00:00:01+1é2",
            "2026-01-01T00:00:01.5é",
            "2026-01-01\u{0}00:00:00",
            // Epoch text that overflows, or is signed the other way.
            "9999999999999999999",
            "+1767225600",
            "--1",
            "1767225600.5",
        ] {
            assert_eq!(accepted_by(text), "-", "{text:?}");
        }
    }

    /// Every case the sink's own tests pin on its `parse_datetime` (host
    /// `sink/rowbinary.rs`: `dates_and_times`, `multi_byte_characters_in_times_are_refused`
    /// and the bases of `arb::time_text`), read by [`Format::CLICKHOUSE`] as nanoseconds.
    #[test]
    fn clickhouse_reads_what_the_sink_tests_pin() {
        let ch = |text: &str| Format::CLICKHOUSE.parse(text).map(Timestamp::nanos);
        let s = |secs: i64| i128::from(secs) * 1_000_000_000;
        assert_eq!(ch("2026-01-01 00:00:01"), Some(s(1_767_225_601)));
        assert_eq!(ch("2026-01-01T00:00:01Z"), Some(s(1_767_225_601)));
        assert_eq!(ch("2026-01-01T01:00:01+01:00"), Some(s(1_767_225_601)));
        assert_eq!(
            ch("2026-01-01 00:00:01.250"),
            Some(s(1_767_225_601) + 250_000_000)
        );
        assert_eq!(
            ch("2026-01-01T00:00:01.250"),
            Some(s(1_767_225_601) + 250_000_000)
        );
        assert_eq!(ch("1970-01-02"), Some(s(86_400)));
        assert_eq!(ch("1970-01-01"), Some(0));
        assert_eq!(ch("2026-01-01"), Some(s(1_767_225_600)));
        assert_eq!(
            ch("2026-01-01 23:59:60.123456789123-0930"),
            Some(s(1_767_225_600 + 86_400 + 34_200) + 123_456_789)
        );
        // Epoch numbers, which the sink scales itself: seconds, and milliseconds detected.
        assert_eq!(
            from_epoch(1_767_225_601).map(Timestamp::secs),
            Some(1_767_225_601)
        );
        assert_eq!(
            from_epoch(1_767_225_601_500).map(Timestamp::nanos),
            Some(s(1_767_225_601) + 500_000_000)
        );
        for text in [
            "yesterday",
            "2026-13-01 00:00:00",
            "00000000-0000-0001-0000-000000000002",
            "2026-01-😀01T00:00:01Z",
            "2026-01-0é",
            "2026-01-01 00:00:0é",
            "2026-01-01T00:00:01+1é2",
            // Accepted by the sink's old parser: day 31 of a 30-day month, February 30.
            "2026-02-31 00:00:00",
            "2026-04-31",
        ] {
            assert_eq!(ch(text), None, "{text:?}");
        }
    }

    #[test]
    fn strict_refuses_what_only_the_others_accept() {
        for text in [
            "2026-01-01T00:00:00z",
            "2026-01-01t00:00:00",
            "2026-01-01T00:00:00.1234567890",
            "2026-01-01T00:00:00.",
            "2026-01-01T00:00:00+0100",
            "2026-01-01 00:00:00 ",
            "2026-01-01",
            "1767225600",
        ] {
            assert_eq!(Format::STRICT.parse(text), None, "{text:?}");
        }
        // A flag at a time widens exactly one spelling.
        let comma = Format {
            comma_fraction: true,
            ..Format::STRICT
        };
        assert_eq!(
            comma.parse("2026-01-01 00:00:00,25"),
            Some(at(NEW_YEAR_2026, 250_000_000))
        );
        let few = Format {
            max_fraction_digits: Some(3),
            ..Format::STRICT
        };
        assert!(few.parse("2026-01-01 00:00:00.123").is_some());
        assert_eq!(few.parse("2026-01-01 00:00:00.1234"), None);
    }

    #[test]
    fn bytes_parse_like_text_and_non_utf8_never_does() {
        for (_, format) in PRESETS {
            assert_eq!(
                format.parse_bytes(b"2026-01-01 00:00:00"),
                Some(at(NEW_YEAR_2026, 0))
            );
            assert_eq!(format.parse_bytes(b"2026-01-01 00:00:00\xff"), None);
            assert_eq!(format.parse_bytes(b"\xff2026-01-01 00:00:00"), None);
            assert_eq!(format.parse_bytes(b" \xc3"), None);
        }
    }

    #[test]
    fn epoch_integers_are_seconds_below_1e11_else_milliseconds() {
        let ms = |n| from_epoch(n).map(Timestamp::millis);
        assert_eq!(ms(1_767_225_600), Some(1_767_225_600_000));
        assert_eq!(ms(1_767_225_600_123), Some(1_767_225_600_123));
        assert_eq!(ms(99_999_999_999), Some(99_999_999_999_000));
        assert_eq!(ms(100_000_000_000), Some(100_000_000_000));
        assert_eq!(ms(0), Some(0));
        assert_eq!(ms(-1), Some(-1_000));
        assert_eq!(ms(-60), Some(-60_000));
        assert_eq!(ms(-62_167_219_200), Some(Timestamp::MIN.millis()));
        assert_eq!(ms(-62_167_219_201), None);
        // The threshold is on the magnitude: large negative numbers are milliseconds too.
        assert_eq!(ms(-100_000_000_000), Some(-100_000_000_000));
        let secs = |n| from_epoch(n).map(Timestamp::secs);
        assert_eq!(secs(-1_500), Some(-1_500));
        assert_eq!(secs(-100_000_001_500), Some(-100_000_002));
        assert_eq!(secs(1_767_225_600_999), Some(1_767_225_600));
        // Outside years 0000..=9999.
        assert_eq!(from_epoch(Timestamp::MIN.millis()), Some(Timestamp::MIN));
        assert_eq!(from_epoch(Timestamp::MIN.millis() - 1), None);
        assert_eq!(
            from_epoch(Timestamp::MAX.millis()),
            Some(at(Timestamp::MAX.secs, 999_000_000))
        );
        assert_eq!(from_epoch(Timestamp::MAX.millis() + 1), None);
        assert_eq!(from_epoch(i64::MAX), None);
        assert_eq!(from_epoch(i64::MIN), None);
    }

    #[test]
    fn epoch_floats_keep_their_fraction() {
        let secs = |x| from_epoch_f64(x).map(Timestamp::secs);
        assert_eq!(secs(1_767_225_600.9), Some(1_767_225_600));
        assert_eq!(secs(1_767_225_600_999.0), Some(1_767_225_600));
        assert_eq!(secs(-0.5), Some(-1));
        assert_eq!(
            from_epoch_f64(1.5).map(Timestamp::subsec_nanos),
            Some(500_000_000)
        );
        assert_eq!(from_epoch_f64(-62_167_219_200.0), Some(Timestamp::MIN));
        assert_eq!(from_epoch_f64(-62_167_219_200.5), None);
        assert_eq!(from_epoch_f64(253_402_300_800_000.0), None);
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e300,
            1.8e19,
        ] {
            assert_eq!(from_epoch_f64(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps_convert_between_units() {
        assert_eq!(Timestamp::from_millis(-1), at(-1, 999_000_000));
        assert_eq!(Timestamp::from_millis(-1).millis(), -1);
        assert_eq!(Timestamp::from_millis(i64::MIN).millis(), i64::MIN);
        assert_eq!(Timestamp::from_millis(i64::MAX).millis(), i64::MAX);
        assert_eq!(Timestamp::from_secs(i64::MAX).millis(), i64::MAX);
        assert_eq!(Timestamp::from_secs(i64::MIN).millis(), i64::MIN);
        assert_eq!(at(-1, 5).nanos(), -999_999_995);
        assert_eq!(Timestamp::MIN.millis(), -62_167_219_200_000);
        assert_eq!(Timestamp::MAX.millis(), 253_402_300_799_999);
        assert_eq!(Timestamp::MIN.in_four_digit_years(), Some(Timestamp::MIN));
        assert_eq!(
            at(Timestamp::MIN.secs - 1, 999_999_999).in_four_digit_years(),
            None
        );
        assert_eq!(at(Timestamp::MAX.secs + 1, 0).in_four_digit_years(), None);
    }

    fn fmt(t: Timestamp) -> String {
        let mut s = String::new();
        write_datetime(&mut s, t);
        s
    }

    #[test]
    fn formats_known_instants() {
        let ms = |ms| fmt(Timestamp::from_millis(ms));
        assert_eq!(ms(0), "1970-01-01 00:00:00");
        assert_eq!(ms(1_767_225_600_000), "2026-01-01 00:00:00");
        assert_eq!(ms(1_767_225_600_999), "2026-01-01 00:00:00");
        assert_eq!(ms(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(ms(-1), "1969-12-31 23:59:59");
        assert_eq!(ms(-1_000), "1969-12-31 23:59:59");
        assert_eq!(ms(4_107_542_399_000), "2100-02-28 23:59:59");
        assert_eq!(ms(4_107_542_400_000), "2100-03-01 00:00:00");
        assert_eq!(fmt(Timestamp::MIN), "0000-01-01 00:00:00");
        assert_eq!(fmt(Timestamp::MAX), "9999-12-31 23:59:59");
        // Outside four-digit years it still prints, never panics.
        assert_eq!(fmt(at(Timestamp::MAX.secs + 1, 0)), "10000-01-01 00:00:00");
        assert_eq!(fmt(at(Timestamp::MIN.secs - 1, 0)), "-001-12-31 23:59:59");
        fmt(Timestamp::from_millis(i64::MIN));
        fmt(Timestamp::from_millis(i64::MAX));
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let noon = 45_296; // 12:34:56 into the day
        let mut day = NEW_YEAR_2026 - 200 * 365 * DAY;
        while day < NEW_YEAR_2026 + 200 * 365 * DAY {
            let t = Timestamp::from_secs(day + noon);
            for (name, format) in PRESETS {
                assert_eq!(format.parse(&fmt(t)), Some(t), "{name} {}", fmt(t));
            }
            day += DAY;
        }
    }

    use proptest::prelude::*;

    /// An instant anywhere in years 0000..=9999.
    fn instant() -> impl Strategy<Value = Timestamp> {
        (
            Timestamp::MIN.secs..=Timestamp::MAX.secs,
            0u32..1_000_000_000,
        )
            .prop_map(|(secs, nanos)| at(secs, nanos))
    }

    /// Texts near a date-time: the accepted forms with a few characters inserted,
    /// replaced or removed, as producers and fuzzers mangle them.
    fn near_miss() -> impl Strategy<Value = String> {
        let base = prop::sample::select(vec![
            "2026-01-01",
            "2026-01-01 00:00:01",
            "2026-01-01T00:00:01Z",
            "2026-01-01T00:00:01.250",
            "2026-01-01T01:00:01+01:00",
            "2026-01-01t00:00:01,5-0130",
            "2026-01-01 23:59:60.123456789123-0930",
            "2024-02-29T23:59:59z",
            "1970-01-01",
            "1767225600123",
            "-1",
        ]);
        let edit = (
            any::<prop::sample::Index>(),
            0u8..3,
            prop::sample::select(vec![
                'é', '😀', '-', ':', '.', ',', '+', ' ', 'T', 't', 'Z', 'z', '0', '9', '\0', 'ß',
                '\u{3000}',
            ]),
        );
        (base, prop::collection::vec(edit, 0..4)).prop_map(|(base, edits)| {
            let mut chars: Vec<char> = base.chars().collect();
            for (at, kind, c) in edits {
                let i = at.index(chars.len() + 1);
                match kind {
                    0 => chars.insert(i, c),
                    1 if i < chars.len() => chars[i] = c,
                    _ if i < chars.len() => {
                        chars.remove(i);
                    }
                    _ => {}
                }
            }
            chars.into_iter().collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// format -> parse is the identity on whole seconds, in every preset, with either
        /// separator; and a fraction and a zone added to the text come back exactly.
        #[test]
        fn format_then_parse_round_trips(
            t in instant(),
            zone_minutes in -(23 * 60 + 59)..=(23 * 60 + 59i64),
            separator in prop::sample::select(vec![" ", "T"]),
        ) {
            let whole = Timestamp::from_secs(t.secs);
            for (name, format) in PRESETS {
                prop_assert_eq!(format.parse(&fmt(whole)), Some(whole), "{}", name);
            }
            // The same instant as local time in a zone `zone_minutes` east of UTC.
            let local = Timestamp::from_secs(t.secs + zone_minutes * 60);
            let sign = if zone_minutes < 0 { '-' } else { '+' };
            let (h, m) = (zone_minutes.abs() / 60, zone_minutes.abs() % 60);
            let text = fmt(local).replacen(' ', separator, 1)
                + &format!(".{:09}{sign}{h:02}:{m:02}", t.nanos);
            let in_range = local.in_four_digit_years().is_some();
            for (name, format) in PRESETS {
                let want = in_range.then_some(t);
                prop_assert_eq!(format.parse(&text), want, "{} {}", name, text);
            }
        }

        /// Anything at all: every preset returns, as text or as bytes, and agrees with itself.
        #[test]
        fn never_panics_on_any_bytes_or_text(
            bytes in prop::collection::vec(any::<u8>(), 0..40),
            text in "\\PC{0,40}",
            near in near_miss(),
        ) {
            for (_, format) in PRESETS {
                let _ = format.parse_bytes(&bytes);
                for s in [text.as_str(), near.as_str()] {
                    let parsed = format.parse(s);
                    prop_assert_eq!(format.parse_bytes(s.as_bytes()), parsed);
                    if let Some(t) = parsed {
                        prop_assert!(t.nanos < 1_000_000_000);
                        prop_assert!(t.secs.abs() < 300_000_000_000, "{:?} from {:?}", t, s);
                    }
                }
            }
        }

        /// The presets nest where their rules do: what STRICT reads, RFC3339 and
        /// CLICKHOUSE read the same way, and what RFC3339 reads, LENIENT does.
        #[test]
        fn looser_presets_read_what_stricter_ones_do(text in near_miss()) {
            if let Some(t) = Format::STRICT.parse(&text) {
                prop_assert_eq!(Format::RFC3339.parse(&text), Some(t));
                prop_assert_eq!(Format::CLICKHOUSE.parse(&text), Some(t));
            }
            if let Some(t) = Format::RFC3339.parse(&text) {
                prop_assert_eq!(Format::LENIENT.parse(&text), Some(t));
            }
        }

        /// Epoch integers: milliseconds from 1e11 in magnitude, and `None` exactly outside
        /// years 0000..=9999.
        #[test]
        fn epoch_integers_read_in_their_unit(n in prop_oneof![any::<i64>(), -200_000_000_000i64..200_000_000_000]) {
            let ms = if n.unsigned_abs() < 100_000_000_000 { i128::from(n) * 1_000 } else { i128::from(n) };
            let in_range = (i128::from(Timestamp::MIN.millis())..=i128::from(Timestamp::MAX.millis())).contains(&ms);
            let got = from_epoch(n);
            prop_assert_eq!(got.is_some(), in_range);
            if let Some(t) = got {
                prop_assert_eq!(i128::from(t.millis()), ms);
                prop_assert_eq!(Format::LENIENT.parse(&n.to_string()), Some(t));
            }
        }
    }
}
