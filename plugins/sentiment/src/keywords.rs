//! Keyword extraction for the `keywords` column: the lower-cased words of a text, minus
//! the shipped English stop-words, URLs and @mentions; hashtags count without their '#'.

use crate::hash::FastSet;
use crate::tokenize::for_each_chunk;

/// The stop-word list that ships with the plugin, one lower-case word a line.
pub const SHIPPED_STOPWORDS: &str = include_str!("stopwords.txt");

/// Shorter words ("ok", "go") say little about a tweet's topic.
pub const MIN_KEYWORD_CHARS: usize = 3;

/// Keywords of one text, stored in one buffer so that extraction does not allocate per word.
#[derive(Debug, Clone, Default)]
pub struct KeywordList {
    text: String,
    ends: Vec<usize>,
}

impl KeywordList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the list, keeping its buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Number of keywords.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The keywords, in order of first appearance.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(s, e)| &self.text[s..e])
    }

    /// Whether `word` is already listed (the lists are short: a linear scan wins).
    fn contains(&self, word: &str) -> bool {
        self.iter().any(|k| k == word)
    }
}

/// Extracts keywords with a stop-word set built once.
#[derive(Debug, Clone)]
pub struct Keywords {
    stop: FastSet<&'static str>,
}

impl Keywords {
    /// An extractor with the shipped stop-word list.
    pub fn shipped() -> Self {
        Self::with_stopwords(SHIPPED_STOPWORDS)
    }

    /// An extractor that drops the words of `list` (one a line).
    pub fn with_stopwords(list: &'static str) -> Self {
        Self {
            stop: list
                .lines()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .collect(),
        }
    }

    /// Whether `word` (lower case) is a stop-word.
    pub fn is_stopword(&self, word: &str) -> bool {
        self.stop.contains(word)
    }

    /// Appends the keywords of `text` to `out`, in order of first appearance, skipping
    /// any already in `out`.
    pub fn extract(&self, text: &str, out: &mut KeywordList) {
        for_each_chunk(text, |chunk, ascii| {
            if is_url(chunk) {
                return;
            }
            let mut start = None;
            if ascii {
                for (i, &c) in chunk.as_bytes().iter().enumerate() {
                    if c.is_ascii_alphanumeric() || c == b'_' || c == b'\'' {
                        start.get_or_insert(i);
                    } else if let Some(s) = start.take() {
                        self.keep(chunk, s, i, out);
                    }
                }
            } else {
                for (i, c) in chunk.char_indices() {
                    if is_word_char(c) {
                        start.get_or_insert(i);
                    } else if let Some(s) = start.take() {
                        self.keep(chunk, s, i, out);
                    }
                }
            }
            if let Some(s) = start {
                self.keep(chunk, s, chunk.len(), out);
            }
        });
    }

    /// Adds `chunk[start..end]` to `out` if it makes a keyword.
    fn keep(&self, chunk: &str, start: usize, end: usize, out: &mut KeywordList) {
        if start > 0 && chunk.as_bytes()[start - 1] == b'@' {
            return; // a mention, or the domain of an e-mail address
        }
        let word = trim_word(&chunk[start..end]);
        let at = out.text.len();
        if word.is_ascii() {
            let b = word.as_bytes();
            if b.len() < MIN_KEYWORD_CHARS || b.iter().all(|&c| c.is_ascii_digit() || c == b'_') {
                return;
            }
            out.text.push_str(word);
            out.text[at..].make_ascii_lowercase();
        } else {
            if word.chars().count() < MIN_KEYWORD_CHARS
                || word.chars().all(|c| c.is_numeric() || c == '_')
            {
                return;
            }
            for c in word.chars() {
                if c == '’' {
                    out.text.push('\'');
                } else {
                    out.text.extend(c.to_lowercase());
                }
            }
        }
        // The lower-cased word now sits at the end of the buffer; keep it only if it passes.
        let new = &out.text[at..];
        if self.stop.contains(new) || out.contains(new) {
            out.text.truncate(at);
        } else {
            out.ends.push(out.text.len());
        }
    }
}

/// Trims edge apostrophes and underscores and a possessive "'s" ("Apple's" -> "Apple").
fn trim_word(word: &str) -> &str {
    if word.is_ascii() {
        let b = word.as_bytes();
        let edge = |c: u8| c == b'\'' || c == b'_';
        let (mut s, mut e) = (0, b.len());
        while s < e && edge(b[s]) {
            s += 1;
        }
        while e > s && edge(b[e - 1]) {
            e -= 1;
        }
        if e - s > 2 && b[e - 2] == b'\'' && b[e - 1] | 0x20 == b's' {
            e -= 2;
        }
        return &word[s..e];
    }
    let mut word = word.trim_matches(|c| is_apostrophe(c) || c == '_');
    for suffix in ["'s", "'S", "’s", "’S"] {
        word = word.strip_suffix(suffix).unwrap_or(word);
    }
    word
}

/// Letters, digits and '_' make words; apostrophes join contractions ("don't").
#[inline]
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || is_apostrophe(c)
}

#[inline]
fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '’'
}

/// Links carry no topic words worth keeping.
fn is_url(chunk: &str) -> bool {
    let b = chunk.as_bytes();
    (b.len() >= 4 && b[..4].eq_ignore_ascii_case(b"www.")) || b.windows(3).any(|w| w == b"://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(text: &str) -> Vec<String> {
        let mut out = KeywordList::new();
        Keywords::shipped().extract(text, &mut out);
        out.iter().map(str::to_owned).collect()
    }

    #[test]
    fn lowercases_and_drops_stopwords_and_short_words() {
        assert_eq!(
            kw("I love this new Phone, it is SO fast"),
            ["love", "phone", "fast"]
        );
    }

    #[test]
    fn hashtags_lose_their_hash_and_mentions_and_urls_go() {
        assert_eq!(
            kw("@bob check https://t.co/xyz and www.example.com #MachineLearning rocks (via @ann)"),
            ["check", "machinelearning", "rocks"]
        );
    }

    #[test]
    fn deduplicates_in_order_of_first_appearance() {
        assert_eq!(
            kw("Coffee, coffee and more COFFEE. Tea? tea!"),
            ["coffee", "tea"]
        );
    }

    #[test]
    fn handles_contractions_possessives_and_numbers() {
        assert_eq!(
            kw("Don't touch Apple's 2026 roadmap’s pages ok? x9z"),
            ["touch", "apple", "roadmap", "pages", "x9z"]
        );
    }

    #[test]
    fn keeps_unicode_words_and_skips_emoji() {
        assert_eq!(kw("Café crème 😍🔥 naïve"), ["café", "crème", "naïve"]);
    }

    #[test]
    fn stopword_list_is_sorted_lower_case_and_unique() {
        let words: Vec<&str> = SHIPPED_STOPWORDS.lines().collect();
        assert!(
            words.windows(2).all(|w| w[0] < w[1]),
            "stopwords.txt must stay sorted and unique"
        );
        assert!(
            words
                .iter()
                .all(|w| !w.is_empty() && *w == w.to_lowercase())
        );
        assert!(Keywords::shipped().is_stopword("the"));
    }

    #[test]
    fn list_appends_and_clears() {
        let k = Keywords::shipped();
        let mut out = KeywordList::new();
        k.extract("coffee time", &mut out);
        k.extract("more coffee please, tea", &mut out);
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            ["coffee", "time", "please", "tea"]
        );
        assert_eq!(out.len(), 4);
        out.clear();
        assert!(out.is_empty());
    }
}
