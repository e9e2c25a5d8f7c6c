//! Deliberately broken records for dead-letter tests: takes a freshly written JSON
//! value at the end of the batch buffer and breaks it in one of three realistic ways.

/// How a record gets broken; they rotate so every kind reaches the dead-letter table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakage {
    /// Cut off halfway, as when a producer dies mid-write.
    Truncated,
    /// A trailing comma before the closing brace, a classic hand-edited JSON slip.
    TrailingComma,
    /// Single quotes instead of double quotes, as a Python `str(dict)` producer writes.
    SingleQuotes,
}

impl Breakage {
    /// The breakage for the `nth` malformed record (0-based), rotating through all kinds.
    pub fn for_nth(nth: u64) -> Self {
        match nth % 3 {
            0 => Self::Truncated,
            1 => Self::TrailingComma,
            _ => Self::SingleQuotes,
        }
    }
}

/// Breaks the JSON object in `buf[start..]` in place; the result is never valid JSON
/// but stays valid UTF-8, so it still reads as text in the dead-letter table.
pub fn corrupt(buf: &mut Vec<u8>, start: usize, how: Breakage) {
    match how {
        Breakage::Truncated => {
            // Any proper prefix of an object lacks its closing brace.
            let mut cut = start + (buf.len() - start) / 2;
            while cut > start && !is_char_boundary(buf[cut]) {
                cut -= 1;
            }
            buf.truncate(cut.max(start + 1));
        }
        Breakage::TrailingComma => {
            if buf.last() == Some(&b'}') {
                buf.pop();
            }
            buf.extend_from_slice(b",}");
        }
        Breakage::SingleQuotes => {
            for b in &mut buf[start..] {
                if *b == b'"' {
                    *b = b'\'';
                }
            }
        }
    }
}

/// True unless `b` is a UTF-8 continuation byte.
fn is_char_boundary(b: u8) -> bool {
    (b as i8) >= -0x40
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"text":"café 😍 at the bar","n":1}"#;

    #[test]
    fn every_breakage_is_invalid_json_but_valid_utf8() {
        for nth in 0..3 {
            let how = Breakage::for_nth(nth);
            let mut buf = b"prefix".to_vec();
            buf.extend_from_slice(RECORD.as_bytes());
            corrupt(&mut buf, 6, how);
            assert_eq!(&buf[..6], b"prefix");
            let broken = std::str::from_utf8(&buf[6..]).expect("utf-8");
            assert!(
                serde_json::from_str::<serde_json::Value>(broken).is_err(),
                "{how:?}: {broken}"
            );
        }
    }

    #[test]
    fn truncation_never_splits_a_character() {
        for len in 2..RECORD.len() {
            if !RECORD.is_char_boundary(len) {
                continue;
            }
            let mut buf = RECORD.as_bytes()[..len].to_vec();
            corrupt(&mut buf, 0, Breakage::Truncated);
            assert!(std::str::from_utf8(&buf).is_ok(), "{len}");
            assert!(!buf.is_empty());
        }
    }

    #[test]
    fn breakages_rotate() {
        assert_eq!(Breakage::for_nth(0), Breakage::Truncated);
        assert_eq!(Breakage::for_nth(1), Breakage::TrailingComma);
        assert_eq!(Breakage::for_nth(2), Breakage::SingleQuotes);
        assert_eq!(Breakage::for_nth(3), Breakage::Truncated);
    }
}
