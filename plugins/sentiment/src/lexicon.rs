//! The word and emoji tables the scorer probes, compiled by `build.rs` from VADER 3.3.2's
//! `data/vader_lexicon.txt` and `data/emoji_utf8_lexicon.txt` plus the rule words of
//! [`crate::rules`]. Nothing is parsed or allocated at run time.
//!
//! Words sit in a perfect hash: one hash of the lower-cased token, one displacement, one
//! 16-byte slot that holds the first eight key bytes, so a probe, hit or miss, usually
//! reads one cache line of the table.

use crate::phf::{self, KEY_WORDS};

mod tables {
    include!(concat!(env!("OUT_DIR"), "/tables.rs"));
}

pub use tables::{LEXICON_WORDS, MAX_KEY, WORDS};

// The whole lexicon made it in, and the rule words on top.
const _: () = assert!(LEXICON_WORDS > 7400 && WORDS > LEXICON_WORDS && MAX_KEY <= 24);

/// What the table knows about one lower-cased token: four bytes, so that the scorer's
/// per-token records stay small.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Word {
    /// Rule roles, from [`crate::rules::flag`].
    pub flags: u16,
    /// Id of the word in VADER's multi-word phrases ([`crate::rules::idiom`]), or 0.
    pub idiom: u8,
    /// Valence in tenths; 0 for words outside the lexicon.
    tenths: i8,
}

impl Word {
    /// Whether the word has any of the roles in `f`.
    #[inline]
    pub fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    /// Valence on VADER's [-4, 4] scale when the word is in the lexicon
    /// ([`crate::rules::flag::LEXICON`]), else 0.
    #[inline]
    pub fn valence(&self) -> f64 {
        VALENCE[usize::from(self.tenths as u8)]
    }
}

/// A token lower-cased into zero-padded little-endian words, ready to hash.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    words: [u64; KEY_WORDS],
    len: usize,
}

/// Lower-cases the ASCII letters of eight bytes at once: adds 0x20 to each byte in
/// 'A'..='Z' (every byte must be below 0x80, so no sum carries into the next byte).
#[inline]
fn lower_ascii(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let from_a = w + ONES * u64::from(0x80 - b'A');
    let past_z = w + ONES * u64::from(0x80 - b'Z' - 1);
    w | ((from_a & !past_z & (ONES * 0x80)) >> 2)
}

impl Key {
    /// Lower-cases `token` as Python's `str.lower()` does; `None` when the result is
    /// longer than any word in the table, so it cannot be there.
    #[inline]
    pub fn new(token: &str) -> Option<Self> {
        Self::in_text(token, 0, token.len())
    }

    /// [`Key::new`] for `text[start..end]`. An ASCII token is read eight bytes at a time
    /// straight from `text`, reading past its end where `text` goes on and masking.
    #[inline]
    pub fn in_text(text: &str, start: usize, end: usize) -> Option<Self> {
        let token = text.get(start..end)?;
        if token.is_ascii() {
            Self::ascii_in_text(text.as_bytes(), start, end)
        } else {
            Self::unicode(token)
        }
    }

    /// [`Key::in_text`] for a token the caller knows to be ASCII.
    #[inline(always)]
    pub fn ascii_in_text(b: &[u8], start: usize, end: usize) -> Option<Self> {
        let len = end.checked_sub(start)?;
        (len <= MAX_KEY).then(|| Self::ascii_unchecked(b, start, len))
    }

    /// The words of `b[start..start + len]`, an ASCII key of at most [`MAX_KEY`] bytes.
    // Always inlined: returned through memory, the words cost a store-forwarding stall.
    #[inline(always)]
    fn ascii_unchecked(b: &[u8], start: usize, len: usize) -> Self {
        let word = |i: usize| {
            let p = start + 8 * i;
            let raw = match b.get(p..p + 8) {
                Some(eight) => <[u8; 8]>::try_from(eight).map_or(0, u64::from_le_bytes),
                None => phf::pack(b.get(p..start + len).unwrap_or_default())[0],
            };
            let left = len - 8 * i;
            lower_ascii(if left < 8 {
                raw & ((1u64 << (8 * left)) - 1)
            } else {
                raw
            })
        };
        let mut words = [0u64; KEY_WORDS];
        words[0] = word(0);
        // MAX_KEY is below 24, so three words always hold a key.
        if len > 8 {
            words[1] = word(1);
            if len > 16 {
                words[2] = word(2);
            }
        }
        Self { words, len }
    }

    /// The rare non-ASCII token ("CAFÉ", or a Kelvin sign that lower-cases to "k").
    fn unicode(token: &str) -> Option<Self> {
        let mut buf = [0u8; 8 * KEY_WORDS];
        let mut len = 0;
        for c in token.chars().flat_map(char::to_lowercase) {
            let n = c.len_utf8();
            if len + n > MAX_KEY {
                return None;
            }
            c.encode_utf8(&mut buf[len..len + n]);
            len += n;
        }
        Some(Self {
            words: phf::pack(&buf[..len]),
            len,
        })
    }
}

/// Valences by tenths: `VALENCE[t as u8]` is `t / 10`, exactly the double Python parses
/// from the lexicon's one-decimal text ("1.9" -> 1.9).
static VALENCE: [f64; 256] = {
    let mut v = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        v[i] = (i as u8 as i8) as f64 / 10.0;
        i += 1;
    }
    v
};

/// Probes the table for a lower-cased token; [`Word::default`] when it is not there.
///
/// Branch-free but for long keys: hits and misses are mixed unpredictably in text, and a
/// mispredicted branch costs more than reading the slot of a miss.
#[inline(always)]
fn probe(key: &Key) -> Word {
    let h = phf::hash(&key.words, key.len, tables::SEED);
    let d = tables::DISP[phf::bucket(h, tables::BUCKET_BITS)];
    let s = phf::slot(h, d, (1 << tables::SLOT_BITS) - 1);
    let (first, meta) = (tables::SLOTS[2 * s], tables::SLOTS[2 * s + 1]);
    let mut same = (first == key.words[0]) & ((meta & 0xFF) as usize == key.len);
    if key.len > 8 {
        let off = (meta >> 40) as usize;
        let more = key.len.div_ceil(8) - 1;
        same &= tables::REST.get(off..off + more) == key.words.get(1..1 + more);
    }
    let meta = meta & u64::from(same).wrapping_neg();
    Word {
        flags: (meta >> 24) as u16,
        idiom: (meta >> 16) as u8,
        tenths: (meta >> 8) as u8 as i8,
    }
}

/// Looks a lower-cased token up; `None` when it has neither valence nor rule role.
#[inline]
pub fn word(key: &Key) -> Option<Word> {
    Some(probe(key)).filter(|w| w.flags != 0)
}

/// Looks up `text[start..end]`, an ASCII token, in any case; [`Word::default`] when it
/// is not in the table.
#[inline(always)]
pub fn ascii_word_in(text: &[u8], start: usize, end: usize) -> Word {
    match end.checked_sub(start) {
        Some(len) if len <= MAX_KEY => probe(&Key::ascii_unchecked(text, start, len)),
        _ => Word::default(),
    }
}

/// Looks a token up in any case ("GOOD" finds "good").
pub fn lookup(token: &str) -> Option<Word> {
    Key::new(token).and_then(|k| word(&k))
}

/// VADER's text description of a single-code-point emoji ("😀" -> "grinning face").
#[inline]
pub fn emoji(c: char) -> Option<&'static str> {
    let i = tables::EMOJI.binary_search(&(c as u32)).ok()?;
    let d = tables::EMOJI_DESC[i];
    let (off, len) = ((d >> 8) as usize, (d & 0xFF) as usize);
    tables::EMOJI_TEXT.get(off..off + len)
}

/// Number of emoji with a description.
pub fn emoji_count() -> usize {
    tables::EMOJI.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::flag;

    const LEXICON: &str = include_str!("../data/vader_lexicon.txt");

    #[test]
    fn every_lower_case_lexicon_word_is_found_with_its_valence() {
        // Python's dict keeps the last of a duplicated word.
        let mut want = std::collections::HashMap::new();
        for line in LEXICON.lines() {
            let mut f = line.split('\t');
            if let (Some(w), Some(v)) = (f.next(), f.next()) {
                want.insert(w, v.parse::<f64>().expect("valence"));
            }
        }
        let mut found = 0;
        for (w, v) in &want {
            // Tokens lose edge punctuation unless two characters or fewer remain.
            let stripped = w.trim_matches(|c: char| c.is_ascii_punctuation());
            let reachable = w.to_lowercase() == *w
                && !w.contains(' ')
                && (stripped == *w || stripped.chars().count() <= 2);
            if reachable {
                let got = lookup(w).filter(|x| x.has(flag::LEXICON));
                assert_eq!(got.map(|x| x.valence()), Some(*v), "{w}");
                found += 1;
            }
        }
        assert_eq!(found, LEXICON_WORDS);
        // Later duplicates win, as in Python: "lol" is listed with 2.9, then 1.8.
        assert_eq!(lookup("lol").map(|w| w.valence()), Some(1.8));
    }

    #[test]
    fn eight_letters_lower_at_once() {
        for w in [*b"AZaz@[`{", *b"Hello, W", *b"\0\x7f09 -_~"] {
            let want = w.map(|c| c.to_ascii_lowercase());
            assert_eq!(lower_ascii(u64::from_le_bytes(w)).to_le_bytes(), want);
        }
    }

    #[test]
    fn keys_read_from_text_match_keys_built_alone() {
        let text = "so VERY GOOD, extraordinarily!! ok";
        for (s, e) in [(0, 2), (3, 7), (8, 12), (14, 29), (14, 31), (32, 34)] {
            let a = Key::in_text(text, s, e).map(|k| (k.words, k.len));
            let b = Key::new(&text[s..e].to_lowercase()).map(|k| (k.words, k.len));
            assert_eq!(a, b, "{:?}", &text[s..e]);
        }
    }

    #[test]
    fn lookups_ignore_case_and_miss_cleanly() {
        let good = lookup("good").map(|w| w.valence());
        assert!(good.is_some_and(|v| v > 0.0));
        assert_eq!(lookup("GOOD").map(|w| w.valence()), good);
        assert_eq!(lookup("Good").map(|w| w.valence()), good);
        assert_eq!(lookup("zzzqqq"), None);
        assert_eq!(lookup(""), None);
        assert_eq!(lookup(&"a".repeat(200)), None);
        // VADER looks up `token.lower()`: ":D" finds ":d", and upper-case entries such
        // as "O_o" are never found (but "o_o" is listed).
        assert_eq!(lookup(":D"), lookup(":d"));
        assert!(lookup(":D").is_some());
        assert!(lookup(":)").is_some_and(|w| w.valence() > 0.0));
        // The Kelvin sign lower-cases to an ASCII "k".
        assert_eq!(lookup("\u{212A}iss"), lookup("kiss"));
    }

    #[test]
    fn rule_words_carry_their_roles() {
        let has = |w: &str, f: u16| lookup(w).is_some_and(|x| x.has(f));
        assert!(has("very", flag::BOOST_UP) && has("very", flag::AT_OR_VERY));
        assert!(has("slightly", flag::BOOST_DOWN));
        assert!(has("not", flag::NEGATE) && has("never", flag::NEGATE | flag::NEVER));
        assert!(has("But", flag::BUT));
        assert!(has("no", flag::NO) && has("no", flag::LEXICON));
        assert!(has("kind", flag::KIND) && has("kind", flag::LEXICON));
        assert_eq!(
            lookup("shit").map(|w| w.idiom),
            Some(crate::rules::idiom::SHIT)
        );
    }

    #[test]
    fn emoji_have_descriptions() {
        assert_eq!(emoji('😀'), Some("grinning face"));
        assert_eq!(emoji('🔛'), Some("ON! arrow"));
        assert_eq!(emoji('a'), None);
        // Variation selectors and joiners are not in VADER's table.
        assert_eq!(emoji('\u{FE0F}'), None);
        assert_eq!(emoji('\u{200D}'), None);
        assert!(emoji_count() > 1000);
    }
}
