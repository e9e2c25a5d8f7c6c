//! The word table the scorer and keyword extractor probe: valences from the shipped
//! `lexicon.tsv` plus the rule words (boosters, negations, "but", "least", ...).

use std::fmt;

use crate::hash::FastMap;

/// The valence list that ships with the plugin: `word<TAB>valence`, valence in [-4, 4].
pub const SHIPPED_TSV: &str = include_str!("lexicon.tsv");

/// How much a booster ("very", "extremely") adds to the magnitude of the next sentiment word.
pub const B_INCR: f64 = 0.293;
/// How much a dampener ("slightly", "barely") takes off the magnitude of the next sentiment word.
pub const B_DECR: f64 = -0.293;

/// Rule roles a word can play, as bits of [`Word::flags`]; one probe answers them all.
pub mod flag {
    /// Negates sentiment words up to three tokens later ("not", "never", "isnt").
    pub const NEGATION: u16 = 1 << 0;
    /// Splits the text: sentiment before it counts half, after it one and a half.
    pub const BUT: u16 = 1 << 1;
    /// "least good" reads as negation...
    pub const LEAST: u16 = 1 << 2;
    /// ...unless it is "at least" or "very least".
    pub const AT_OR_VERY: u16 = 1 << 3;
    /// "never so good" / "never this good" intensifies instead of negating.
    pub const NEVER: u16 = 1 << 4;
    /// Second word of "never so" / "never this".
    pub const SO_OR_THIS: u16 = 1 << 5;
    /// "without doubt" does not negate.
    pub const WITHOUT: u16 = 1 << 6;
    /// Second word of "without doubt".
    pub const DOUBT: u16 = 1 << 7;
    /// "kind of" / "sort of" dampen the next word and carry no sentiment themselves.
    pub const KIND_OR_SORT: u16 = 1 << 8;
    /// Second word of "kind of" / "sort of".
    pub const OF: u16 = 1 << 9;
}

/// Words that raise the magnitude of the sentiment word they precede.
const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormously",
    "entirely",
    "especially",
    "exceptionally",
    "extremely",
    "fabulously",
    "flippin",
    "flipping",
    "freaking",
    "freakin",
    "frickin",
    "fricking",
    "friggin",
    "frigging",
    "fuckin",
    "fucking",
    "fully",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredibly",
    "insanely",
    "intensely",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "super",
    "thoroughly",
    "totally",
    "tremendously",
    "truly",
    "uber",
    "unbelievably",
    "unusually",
    "utterly",
    "very",
    "wildly",
];

/// Words that lower the magnitude of the sentiment word they precede.
const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kinda",
    "kindof",
    "less",
    "little",
    "marginally",
    "mildly",
    "occasionally",
    "partly",
    "scarcely",
    "slightly",
    "somewhat",
    "sorta",
    "sortof",
];

/// Negations; any token with an "n't" in it negates as well ("don't", "WON'T").
const NEGATIONS: &[&str] = &[
    "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "dont", "hadnt",
    "hasnt", "havent", "isnt", "mightnt", "mustnt", "neednt", "neither", "never", "no", "nobody",
    "none", "nope", "nor", "not", "nothing", "nowhere", "oughtnt", "rarely", "seldom", "shant",
    "shouldnt", "wasnt", "werent", "without", "wont", "wouldnt",
];

/// Words with a role in a two-word rule, and that role.
const RULE_WORDS: &[(&str, u16)] = &[
    ("but", flag::BUT),
    ("least", flag::LEAST),
    ("at", flag::AT_OR_VERY),
    ("very", flag::AT_OR_VERY),
    ("never", flag::NEVER),
    ("so", flag::SO_OR_THIS),
    ("this", flag::SO_OR_THIS),
    ("without", flag::WITHOUT),
    ("doubt", flag::DOUBT),
    ("kind", flag::KIND_OR_SORT),
    ("sort", flag::KIND_OR_SORT),
    ("of", flag::OF),
];

/// What the table knows about one lower-cased token.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Word {
    /// Sentiment of the word on VADER's [-4, 4] scale; 0 when it carries none.
    pub valence: f64,
    /// Amount added to the next sentiment word's magnitude ([`B_INCR`], [`B_DECR`] or 0).
    pub booster: f64,
    /// Rule roles, from [`flag`].
    pub flags: u16,
}

/// Why the valence list did not load; only a broken build can cause it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexiconError {
    /// 1-based line of the list.
    pub line: usize,
    /// What is wrong with that line.
    pub reason: &'static str,
}

impl fmt::Display for LexiconError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lexicon line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for LexiconError {}

/// Lower-cased token -> [`Word`]; built once per plugin instance.
#[derive(Debug, Clone)]
pub struct Lexicon {
    words: FastMap<&'static [u8], Word>,
}

/// Longest ASCII token lower-cased on the stack; longer ones are not in the table anyway.
const MAX_STACK_WORD: usize = 48;

impl Lexicon {
    /// The lexicon that ships with the plugin.
    pub fn shipped() -> Result<Self, LexiconError> {
        Self::parse(SHIPPED_TSV)
    }

    /// Builds a table from `word<TAB>valence` lines (lower-case words) plus the rule words.
    pub fn parse(tsv: &'static str) -> Result<Self, LexiconError> {
        let mut words: FastMap<&'static [u8], Word> = FastMap::default();
        words.reserve(tsv.len() / 10 + 128);
        for (n, line) in tsv.lines().enumerate() {
            let line_no = n + 1;
            if line.is_empty() {
                continue;
            }
            let err = |reason| LexiconError {
                line: line_no,
                reason,
            };
            let (word, valence) = line
                .split_once('\t')
                .ok_or(err("expected word<TAB>valence"))?;
            let valence: f64 = valence
                .trim()
                .parse()
                .map_err(|_| err("valence is not a number"))?;
            if !(-4.0..=4.0).contains(&valence) || valence == 0.0 {
                return Err(err("valence must be non-zero and within [-4, 4]"));
            }
            if word.is_empty() || word.len() > MAX_STACK_WORD {
                return Err(err("word must have 1 to 48 bytes"));
            }
            if word.chars().any(|c| c.is_uppercase() || c.is_whitespace()) {
                return Err(err("word must be lower-case and without spaces"));
            }
            if words
                .insert(
                    word.as_bytes(),
                    Word {
                        valence,
                        ..Word::default()
                    },
                )
                .is_some()
            {
                return Err(err("word listed twice"));
            }
        }
        for &w in BOOSTERS_UP {
            words.entry(w.as_bytes()).or_default().booster = B_INCR;
        }
        for &w in BOOSTERS_DOWN {
            words.entry(w.as_bytes()).or_default().booster = B_DECR;
        }
        for &w in NEGATIONS {
            words.entry(w.as_bytes()).or_default().flags |= flag::NEGATION;
        }
        for &(w, f) in RULE_WORDS {
            words.entry(w.as_bytes()).or_default().flags |= f;
        }
        Ok(Self { words })
    }

    /// Number of words with a valence (rule-only words not counted).
    pub fn sentiment_words(&self) -> usize {
        self.words.values().filter(|w| w.valence != 0.0).count()
    }

    /// Looks a token up exactly as given (emoji, already lower-cased words).
    #[inline]
    pub fn get_exact(&self, token: &str) -> Option<&Word> {
        self.words.get(token.as_bytes())
    }

    /// Looks a token up case-insensitively; lower-cases ASCII on the stack, so no allocation.
    #[inline]
    pub fn get(&self, token: &str) -> Option<&Word> {
        let b = token.as_bytes();
        if b.is_ascii() {
            let upper = b.iter().any(u8::is_ascii_uppercase);
            return self.get_ascii(b, upper);
        }
        if let Some(w) = self.words.get(b) {
            return Some(w);
        }
        if token.chars().any(char::is_uppercase) {
            return self.words.get(token.to_lowercase().as_bytes());
        }
        None
    }

    /// [`Lexicon::get`] for an ASCII token whose caller already knows if it has capitals.
    #[inline]
    pub fn get_ascii(&self, token: &[u8], has_upper: bool) -> Option<&Word> {
        let mut buf = [0u8; MAX_STACK_WORD];
        let key = if has_upper {
            if token.len() > MAX_STACK_WORD {
                return None; // longer than any word in the table
            }
            let key = &mut buf[..token.len()];
            for (k, c) in key.iter_mut().zip(token) {
                *k = c.to_ascii_lowercase();
            }
            &*key
        } else {
            token
        };
        match self.words.get(key) {
            Some(w) => Some(w),
            None if is_stretched_so(key) => self.words.get(&b"so"[..]),
            None => None,
        }
    }
}

/// "sooo", "SOOOO": Twitter's stretched "so" boosts like "so".
fn is_stretched_so(lower: &[u8]) -> bool {
    lower.len() >= 3 && lower[0] == b's' && lower[1..].iter().all(|&c| c == b'o')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::shipped().expect("shipped lexicon parses")
    }

    #[test]
    fn shipped_lexicon_is_large_and_parses() {
        let lex = lex();
        assert!(
            lex.sentiment_words() >= 1500,
            "only {} words",
            lex.sentiment_words()
        );
    }

    #[test]
    fn shipped_lexicon_is_sorted_and_has_no_rule_words() {
        let keys: Vec<&str> = SHIPPED_TSV
            .lines()
            .filter_map(|l| l.split('\t').next())
            .collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "lexicon.tsv must stay sorted"
        );
        // A word that is both booster/negation and sentiment word would be scored twice.
        for w in BOOSTERS_UP.iter().chain(BOOSTERS_DOWN).chain(NEGATIONS) {
            assert!(
                keys.binary_search(w).is_err(),
                "`{w}` is a rule word and must not carry a valence"
            );
        }
    }

    #[test]
    fn lookups_ignore_case() {
        let lex = lex();
        let good = lex.get("good").map(|w| w.valence);
        assert!(good.is_some_and(|v| v > 0.0));
        assert_eq!(lex.get("GOOD").map(|w| w.valence), good);
        assert_eq!(lex.get("Good").map(|w| w.valence), good);
        assert_eq!(
            lex.get(":D").map(|w| w.valence),
            lex.get(":d").map(|w| w.valence)
        );
        assert!(lex.get("zzzqqq").is_none());
    }

    #[test]
    fn rule_words_carry_their_roles() {
        let lex = lex();
        assert_eq!(lex.get("very").map(|w| w.booster), Some(B_INCR));
        assert_eq!(lex.get("slightly").map(|w| w.booster), Some(B_DECR));
        assert_eq!(lex.get("Sooooo").map(|w| w.booster), Some(B_INCR));
        assert!(
            lex.get("not")
                .is_some_and(|w| w.flags & flag::NEGATION != 0)
        );
        assert!(lex.get("never").is_some_and(
            |w| w.flags & (flag::NEGATION | flag::NEVER) == flag::NEGATION | flag::NEVER
        ));
        assert!(lex.get("But").is_some_and(|w| w.flags & flag::BUT != 0));
    }

    #[test]
    fn bad_lines_are_rejected_with_their_line_number() {
        assert_eq!(
            Lexicon::parse("good\t2\nbad").map(|_| ()),
            Err(LexiconError {
                line: 2,
                reason: "expected word<TAB>valence"
            })
        );
        assert!(Lexicon::parse("good\tx").is_err());
        assert!(Lexicon::parse("good\t9").is_err());
        assert!(Lexicon::parse("Good\t1").is_err());
        assert!(Lexicon::parse("good\t1\ngood\t2").is_err());
    }
}
