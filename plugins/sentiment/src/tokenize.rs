//! Splits text into the tokens VADER 3.3.2 scores, in one pass over the bytes and
//! without allocation: Python's `str.split()` (Unicode whitespace), then each piece loses
//! its leading and trailing ASCII punctuation unless two characters or fewer would be left
//! (":)", "<3", and also "it!!!" and "no!", which VADER keeps whole). The same pass
//! records each token's case (Python's `str.isupper()`); [`marks`] counts '!' and '?'.
//!
//! Emoji are replaced by their descriptions before this ([`expand_emoji`]), as VADER
//! does. [`for_each_chunk`] is the plain whitespace split the keyword extractor uses.

use crate::lexicon;

/// One token of the text, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The token after punctuation stripping.
    pub text: &'a str,
    /// Where `text` starts in the text.
    pub start: usize,
    /// All ASCII.
    pub ascii: bool,
    /// Python's `text.isupper()`: at least one cased letter and no lower-case one.
    pub upper: bool,
    /// Contains "n't" in any case, which VADER reads as a negation.
    pub nt: bool,
}

/// The '!' and '?' of a text, which amplify its score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    /// Number of '!'.
    pub bangs: usize,
    /// Number of '?'.
    pub questions: usize,
}

/// Byte classes for the bytes the word-at-a-time scan hands back.
mod class {
    /// Python's ASCII whitespace: `str.split()` also splits on the separators 0x1C-0x1F.
    pub const SPACE: u8 = 1 << 0;
    pub const UPPER: u8 = 1 << 1;
    pub const LOWER: u8 = 1 << 2;
    /// `string.punctuation`, which VADER strips from token edges.
    pub const PUNCT: u8 = 1 << 3;
    /// A character beyond ASCII.
    pub const WIDE: u8 = 1 << 4;
    /// The ASCII apostrophe, without which no "n't".
    pub const APOSTROPHE: u8 = 1 << 5;
}

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c >= 0x80 {
            class::WIDE
        } else if matches!(c, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | 0x1C..=0x1F | b' ') {
            class::SPACE
        } else if c.is_ascii_uppercase() {
            class::UPPER
        } else if c.is_ascii_lowercase() {
            class::LOWER
        } else if c == b'\'' {
            class::PUNCT | class::APOSTROPHE
        } else if c.is_ascii_punctuation() {
            class::PUNCT
        } else {
            0
        };
        b += 1;
    }
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = ONES * 0x80;

/// High bit of each byte of `w` in `lo..=hi` (both below 0x80); bytes of 0x80 and above
/// may also flag the byte after them, which callers never read past a stop.
#[inline(always)]
fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
    let from_lo = w.wrapping_add(ONES * u64::from(0x80 - lo));
    let past_hi = w.wrapping_add(ONES * u64::from(0x7F - hi));
    from_lo & !past_hi & HIGHS
}

/// High bit of each byte that ends the fast scan: below '!' (whitespace and control
/// characters) or above '~' (DEL and every byte of a wide character). Exact up to the
/// first flagged byte, which is all the scan reads.
#[inline(always)]
fn stops(w: u64) -> u64 {
    let below = w.wrapping_sub(ONES * 0x21) & !w;
    let above = w.wrapping_add(ONES);
    (below | above | w) & HIGHS
}

/// Title-case letters (category Lt), which make Python's `isupper()` false like lower case.
#[inline]
fn is_titlecase(c: char) -> bool {
    matches!(c as u32,
        0x01C5 | 0x01C8 | 0x01CB | 0x01F2 | 0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF
        | 0x1FBC | 0x1FCC | 0x1FFC)
}

/// The character at byte `i` of `text` (a char boundary): its length and the case bits it
/// adds to a token, or `None` for Unicode whitespace.
#[inline]
fn wide_char(text: &str, i: usize) -> (usize, Option<u8>) {
    let Some(ch) = text.get(i..).and_then(|rest| rest.chars().next()) else {
        return (1, None);
    };
    let bits = if ch.is_whitespace() {
        None
    } else if ch.is_lowercase() || is_titlecase(ch) {
        Some(class::WIDE | class::LOWER)
    } else if ch.is_uppercase() {
        Some(class::WIDE | class::UPPER)
    } else {
        Some(class::WIDE)
    };
    (ch.len_utf8(), bits)
}

/// Calls `f` with each VADER token of `text`, in order.
///
/// Tokens are scanned eight bytes at a time: one test finds the next byte that is not
/// plain printable ASCII, two more say whether upper- and lower-case letters came before
/// it. Whitespace, wide characters and control bytes go through the byte table.
#[inline]
pub fn for_each_token<'a>(text: &'a str, mut f: impl FnMut(Token<'a>)) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = CLASS[usize::from(b[i])];
        if c & class::SPACE != 0 {
            i += 1;
            continue;
        }
        if c & class::WIDE != 0 {
            let (len, bits) = wide_char(text, i);
            if bits.is_none() {
                i += len;
                continue;
            }
        }
        // A token starts at `i`: run to the next whitespace, gathering case bits.
        let start = i;
        let mut seen = 0u8;
        loop {
            if let Some(eight) = b.get(i..i + 8) {
                let w = <[u8; 8]>::try_from(eight).map_or(0, u64::from_le_bytes);
                let stop = stops(w);
                // Bytes before the first stop are printable ASCII: read their case at once.
                let keep = if stop == 0 {
                    u64::MAX
                } else {
                    (stop & stop.wrapping_neg()) - 1
                };
                let (upper, lower) = (in_range(w, b'A', b'Z'), in_range(w, b'a', b'z'));
                let x = w ^ (ONES * u64::from(b'\''));
                let apostrophe = x.wrapping_sub(ONES) & !x & HIGHS;
                seen |= if upper & keep != 0 { class::UPPER } else { 0 }
                    | if lower & keep != 0 { class::LOWER } else { 0 }
                    | if apostrophe & keep != 0 {
                        class::APOSTROPHE
                    } else {
                        0
                    };
                if stop == 0 {
                    i += 8;
                    continue;
                }
                i += stop.trailing_zeros() as usize / 8;
            } else {
                // The last few bytes of the text.
                while i < b.len() && (0x21..0x7F).contains(&b[i]) {
                    seen |= CLASS[usize::from(b[i])];
                    i += 1;
                }
            }
            let Some(&byte) = b.get(i) else {
                break;
            };
            let c = CLASS[usize::from(byte)];
            if c & class::SPACE != 0 {
                break;
            }
            if c & class::WIDE != 0 {
                let (len, bits) = wide_char(text, i);
                let Some(bits) = bits else {
                    break;
                };
                seen |= bits;
                i += len;
            } else {
                i += 1; // a control byte or DEL: part of the token, no case
            }
        }
        let raw = &b[start..i];
        // Edge punctuation is ASCII, so both cut points are char boundaries.
        let punct = |c: u8| CLASS[usize::from(c)] & class::PUNCT != 0;
        let (mut s, mut e) = (0, raw.len());
        while s < e && punct(raw[s]) {
            s += 1;
        }
        while e > s && punct(raw[e - 1]) {
            e -= 1;
        }
        let kept = if seen & class::WIDE == 0 {
            e - s
        } else {
            // Python counts characters: every byte that does not continue one starts one.
            raw[s..e].iter().filter(|&&c| c & 0xC0 != 0x80).count()
        };
        let (ts, te) = if kept <= 2 {
            (start, i)
        } else {
            (start + s, start + e)
        };
        // Stripped punctuation has no case and cannot hold an "n't", so the raw
        // piece's case and apostrophes are the token's.
        let token = &text[ts..te];
        f(Token {
            text: token,
            start: ts,
            ascii: seen & class::WIDE == 0,
            upper: seen & class::UPPER != 0 && seen & class::LOWER == 0,
            nt: seen & class::APOSTROPHE != 0 && has_nt(token.as_bytes()),
        });
    }
}

/// Counts the '!' and '?' of `text`, which amplify a score that is not zero; eight bytes
/// at a time, with an exact per-byte equality test and a population count.
#[inline]
pub fn marks(text: &str) -> Marks {
    /// High bit of each byte of `w` equal to `c`, exactly (no borrow between bytes).
    #[inline(always)]
    fn equal(w: u64, c: u8) -> u64 {
        let x = w ^ (ONES * u64::from(c));
        !(((x & !HIGHS) + !HIGHS) | x) & HIGHS
    }
    let b = text.as_bytes();
    let (mut bangs, mut questions) = (0, 0);
    let mut words = b.chunks_exact(8);
    for eight in &mut words {
        let w = <[u8; 8]>::try_from(eight).map_or(0, u64::from_le_bytes);
        bangs += equal(w, b'!').count_ones() as usize;
        questions += equal(w, b'?').count_ones() as usize;
    }
    for &c in words.remainder() {
        bangs += usize::from(c == b'!');
        questions += usize::from(c == b'?');
    }
    Marks { bangs, questions }
}

/// "n't" in any case ("don't", "WON'T"); only the ASCII apostrophe counts, as in VADER.
#[inline]
fn has_nt(b: &[u8]) -> bool {
    // The apostrophe sits inside, after an 'n': look for it from the second byte on.
    let mut rest = b;
    while let Some(p) = rest.iter().skip(1).position(|&c| c == b'\'') {
        let p = p + 1;
        if rest[p - 1] | 0x20 == b'n' && rest.get(p + 1).is_some_and(|&c| c | 0x20 == b't') {
            return true;
        }
        rest = &rest[p..];
    }
    false
}

/// Writes `text` into `out` with each emoji of VADER's table replaced by its description,
/// spaced from the text before it as VADER does ("love😍!" -> "love smiling face with
/// heart-eyes!"). Returns whether anything was replaced.
///
/// Only wide characters can be emoji, and VADER adds a space unless the character before
/// is one (a replaced emoji never is), so ASCII runs are skipped eight bytes at a time.
pub fn expand_emoji(text: &str, out: &mut String) -> bool {
    out.clear();
    let b = text.as_bytes();
    let (mut i, mut copied, mut replaced) = (0, 0, false);
    while i < b.len() {
        if let Some(eight) = b.get(i..i + 8)
            && <[u8; 8]>::try_from(eight).map_or(0, u64::from_le_bytes) & HIGHS == 0
        {
            i += 8;
            continue;
        }
        if b[i] < 0x80 {
            i += 1;
            continue;
        }
        let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        if let Some(desc) = lexicon::emoji(c) {
            out.push_str(&text[copied..i]);
            if i > 0 && b[i - 1] != b' ' {
                out.push(' ');
            }
            out.push_str(desc);
            copied = i + c.len_utf8();
            replaced = true;
        }
        i += c.len_utf8();
    }
    if replaced {
        out.push_str(&text[copied..]);
    }
    replaced
}

/// Calls `f` with each whitespace-separated chunk of `text` and whether it is ASCII.
///
/// Splits on ASCII whitespace byte by byte (the common case); chunks with non-ASCII
/// bytes are split again on Unicode whitespace (no-break space, ideographic space...).
#[inline]
pub fn for_each_chunk<'a>(text: &'a str, mut f: impl FnMut(&'a str, bool)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == bytes.len() {
            return;
        }
        let start = i;
        let mut ascii = true;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            ascii &= bytes[i].is_ascii();
            i += 1;
        }
        // Both ends sit on ASCII bytes (or the end), so they are char boundaries.
        let chunk = &text[start..i];
        if ascii {
            f(chunk, true);
        } else {
            for sub in chunk.split_whitespace() {
                f(sub, sub.is_ascii());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_token(s, |t| out.push(t.text));
        out
    }

    fn upper(s: &str) -> Vec<bool> {
        let mut out = Vec::new();
        for_each_token(s, |t| out.push(t.upper));
        out
    }

    // Expected tokens are Python vaderSentiment 3.3.2's `SentiText(s).words_and_emoticons`.

    #[test]
    fn strips_edge_punctuation_unless_two_characters_or_fewer_remain() {
        assert_eq!(
            texts("I love it!!! (really), a lot."),
            ["I", "love", "it!!!", "really", "a", "lot"]
        );
        assert_eq!(
            texts("ok. no! it!!! :) :-( <3 :D x"),
            ["ok.", "no!", "it!!!", ":)", ":-(", "<3", ":D", "x"]
        );
        assert_eq!(texts("don't... STOP"), ["don't", "STOP"]);
        assert_eq!(
            texts("((hi)) ...!!! #love @bob https://t.co/abc"),
            ["((hi))", "...!!!", "love", "bob", "https://t.co/abc"]
        );
    }

    #[test]
    fn splits_on_python_whitespace_and_counts_characters_not_bytes() {
        assert_eq!(
            texts("good\u{a0}day\u{3000}ok \t\n fine\u{1c}x"),
            ["good", "day", "ok", "fine", "x"]
        );
        assert_eq!(texts("ab! éé!! ééé!"), ["ab!", "éé!!", "ééé"]);
        assert_eq!(
            texts("café naïve — “quoted”"),
            ["café", "naïve", "—", "“quoted”"]
        );
        assert_eq!(texts(""), Vec::<&str>::new());
        assert_eq!(texts("  \n "), Vec::<&str>::new());
    }

    #[test]
    fn case_follows_python_isupper() {
        assert_eq!(
            upper("I GREAT :D :) 123 ÉTÉ Été ǅA"),
            [true, true, true, false, false, true, false, false]
        );
    }

    #[test]
    fn contractions_are_flagged_with_the_ascii_apostrophe_only() {
        let mut nts = Vec::new();
        for_each_token("don't WON'T isn’t can't! n't", |t| nts.push(t.nt));
        assert_eq!(nts, [true, true, false, true, true]);
    }

    #[test]
    fn marks_are_counted() {
        assert_eq!(
            marks("!!!!!!!!?!?!?!?!???"),
            Marks {
                bangs: 12,
                questions: 7
            }
        );
        let m = marks("what?! no!! ok? ¿");
        assert_eq!(
            m,
            Marks {
                bangs: 3,
                questions: 2
            }
        );
    }

    #[test]
    fn emoji_become_descriptions_spaced_like_vader() {
        let mut out = String::new();
        assert!(expand_emoji("love😍!", &mut out));
        assert_eq!(out, "love smiling face with heart-eyes!");
        assert!(expand_emoji("😂😂 ok", &mut out));
        assert_eq!(out, "face with tears of joy face with tears of joy ok");
        // The variation selector is not in VADER's table and sticks to the last word.
        assert!(expand_emoji("❤️ café", &mut out));
        assert_eq!(out, "red heart\u{fe0f} café");
        // Nothing to replace: the caller keeps the text it has.
        assert!(!expand_emoji("café € 7", &mut out));
        assert!(expand_emoji("a long ASCII run before it 😀", &mut out));
        assert_eq!(out, "a long ASCII run before it grinning face");
    }

    #[test]
    fn chunks_split_on_unicode_whitespace_too() {
        let mut chunks = Vec::new();
        for_each_chunk("  ab  cé\u{2003}d  ", |c, ascii| chunks.push((c, ascii)));
        assert_eq!(chunks, [("ab", true), ("cé", false), ("d", true)]);
    }
}
