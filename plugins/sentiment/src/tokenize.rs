//! Splits tweet text into the tokens the scorer looks up, without regex or allocation:
//! whitespace-separated words with edge punctuation trimmed, emoticons kept whole, and
//! each emoji (with its skin tone, variation selector or ZWJ tail) as its own token.

/// One token of the text, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    /// The token with edge punctuation trimmed ("good!!" -> "good"), or the raw
    /// piece when trimming would leave one character or less (":)", "<3").
    pub text: &'a str,
    /// The piece before trimming, tried when `text` is not in the lexicon ("<33").
    pub raw: &'a str,
    /// An emoji's base character(s), looked up as is.
    pub emoji: bool,
}

/// Calls `f` with each token of `text`, in order.
#[inline]
pub fn for_each_piece<'a>(text: &'a str, mut f: impl FnMut(Piece<'a>)) {
    for_each_chunk(text, |chunk, ascii| {
        if ascii {
            ascii_word_piece(chunk, &mut f);
        } else {
            split_emoji(chunk, &mut f);
        }
    });
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

/// Splits a non-ASCII chunk around its emoji ("love😍😍" -> "love", "😍", "😍").
fn split_emoji<'a>(chunk: &'a str, f: &mut impl FnMut(Piece<'a>)) {
    let mut start = 0;
    let mut chars = chunk.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_emoji(c) {
            continue;
        }
        if start < i {
            word_piece(&chunk[start..i], f);
        }
        let base_end = i + c.len_utf8();
        let mut end = base_end;
        let mut regional = is_regional_indicator(c);
        while let Some(&(j, m)) = chars.peek() {
            if is_modifier(m) || (regional && is_regional_indicator(m)) {
                regional = false;
                chars.next();
                end = j + m.len_utf8();
            } else if m == '\u{200D}' {
                // Zero-width joiner: the joined emoji is part of this one ("❤️‍🔥" scores as "❤").
                chars.next();
                end = j + m.len_utf8();
                if let Some((k, n)) = chars.next() {
                    end = k + n.len_utf8();
                }
            } else {
                break;
            }
        }
        f(Piece {
            text: &chunk[i..base_end],
            raw: &chunk[i..end],
            emoji: true,
        });
        start = end;
    }
    if start < chunk.len() {
        word_piece(&chunk[start..], f);
    }
}

/// Emits a word (or emoticon) piece; single characters ("I", "a", "-") are dropped.
#[inline]
fn word_piece<'a>(raw: &'a str, f: &mut impl FnMut(Piece<'a>)) {
    if raw.is_ascii() {
        return ascii_word_piece(raw, f);
    }
    let trimmed = raw.trim_matches(is_edge_punctuation);
    let text = if trimmed.len() <= 1 { raw } else { trimmed };
    f(Piece {
        text,
        raw,
        emoji: false,
    });
}

/// [`word_piece`] for ASCII, trimming bytes instead of decoding chars.
#[inline]
fn ascii_word_piece<'a>(raw: &'a str, f: &mut impl FnMut(Piece<'a>)) {
    let b = raw.as_bytes();
    if b.len() <= 1 {
        return;
    }
    let (mut s, mut e) = (0, b.len());
    while s < e && b[s].is_ascii_punctuation() {
        s += 1;
    }
    while e > s && b[e - 1].is_ascii_punctuation() {
        e -= 1;
    }
    let text = if e - s <= 1 { raw } else { &raw[s..e] };
    f(Piece {
        text,
        raw,
        emoji: false,
    });
}

/// Punctuation trimmed from word edges: ASCII plus typographic quotes, dashes and ellipses.
#[inline]
fn is_edge_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{2010}'..='\u{2027}' | '\u{00AB}' | '\u{00BB}' | '\u{00A1}' | '\u{00BF}'
        )
}

/// Pictographic ranges that hold the emoji people type; enough for scoring, not a full
/// Unicode emoji property table.
#[inline]
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1F3FA | 0x1F400..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF
        | 0x2300..=0x23FF | 0x2190..=0x21FF | 0x2934 | 0x2935 | 0x3030 | 0x303D | 0x3297 | 0x3299)
}

/// Characters that only modify the emoji before them: skin tones, variation selectors, keycap.
#[inline]
fn is_modifier(c: char) -> bool {
    matches!(c as u32, 0x1F3FB..=0x1F3FF | 0xFE0E | 0xFE0F | 0x20E3 | 0xE0020..=0xE007F)
}

/// Flags are pairs of regional indicator letters.
#[inline]
fn is_regional_indicator(c: char) -> bool {
    matches!(c as u32, 0x1F1E6..=0x1F1FF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_piece(s, |p| out.push(p.text));
        out
    }

    #[test]
    fn trims_edge_punctuation_and_drops_single_characters() {
        assert_eq!(
            texts("I love it!!! (really), a lot."),
            ["love", "it", "really", "lot"]
        );
        assert_eq!(texts("don't... STOP"), ["don't", "STOP"]);
    }

    #[test]
    fn keeps_emoticons_whole() {
        assert_eq!(
            texts("ok :) :-( <3 :D :/ x"),
            ["ok", ":)", ":-(", "<3", ":D", ":/"]
        );
    }

    #[test]
    fn splits_emoji_from_words_and_each_other() {
        assert_eq!(texts("love😍😍 it"), ["love", "😍", "😍", "it"]);
        // Variation selector, skin tone and ZWJ tails stay with their base emoji.
        assert_eq!(texts("❤️ 👍🏽 ❤️‍🔥ok"), ["❤", "👍", "❤", "ok"]);
        let mut raws = Vec::new();
        for_each_piece("👍🏽", |p| raws.push((p.raw, p.emoji)));
        assert_eq!(raws, [("👍🏽", true)]);
    }

    #[test]
    fn splits_on_unicode_whitespace_too() {
        assert_eq!(
            texts("good\u{00A0}day\u{3000}ok \t\n fine"),
            ["good", "day", "ok", "fine"]
        );
        let mut chunks = Vec::new();
        for_each_chunk("  ab  cé\u{2003}d  ", |c, ascii| chunks.push((c, ascii)));
        assert_eq!(chunks, [("ab", true), ("cé", false), ("d", true)]);
    }

    #[test]
    fn non_emoji_unicode_words_stay_words() {
        assert_eq!(
            texts("café naïve — “quoted”"),
            ["café", "naïve", "—", "quoted"]
        );
    }
}
