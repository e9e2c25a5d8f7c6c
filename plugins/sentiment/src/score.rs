//! VADER 3.3.2's scoring (Hutto & Gilbert, 2014), rule for rule and quirk for quirk, so
//! that compound scores match Python's vaderSentiment: emoji become descriptions,
//! [`tokenize`](crate::tokenize) splits, each token is looked up once in the
//! [`lexicon`](crate::lexicon), and the rules below read the token flags.
//!
//! The quirks kept on purpose (agreement with the seed systems is the point): two-letter
//! words keep their punctuation ("no!" is not "no"); a single "I" counts as an ALL CAPS
//! word; upper-case lexicon entries ("O_o") never match; a word right after "so" or "this"
//! is scaled by 1.25 once three tokens precede it; and the "but" rule rescales by *value*
//! (Python's `list.index`), so repeated valences are rescaled in odd places.

use crate::lexicon::{self, Word};
use crate::rules::{self, B_DECR, B_INCR, C_INCR, N_SCALAR, flag};
use crate::tokenize::{Marks, expand_emoji, for_each_token, marks};

/// Emphasis per exclamation mark, counted up to [`MAX_EMARKS`].
pub const EMARK_INCR: f64 = 0.292;
/// Exclamation marks beyond this many add nothing.
pub const MAX_EMARKS: usize = 4;
/// Emphasis per question mark when there are two or three.
pub const QMARK_INCR: f64 = 0.18;
/// Emphasis for four or more question marks.
pub const MAX_QMARK_INCR: f64 = 0.96;
/// Default compound magnitude below which a text is neutral.
pub const DEFAULT_NEUTRAL_THRESHOLD: f64 = 0.05;

/// The sentiment class written to the `sentiment` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// compound >= threshold
    Positive,
    /// |compound| < threshold
    Neutral,
    /// compound <= -threshold
    Negative,
}

impl Label {
    /// Classifies a compound score with VADER's convention (threshold 0.05 by default).
    pub fn from_compound(compound: f64, threshold: f64) -> Self {
        if compound >= threshold {
            Label::Positive
        } else if compound <= -threshold {
            Label::Negative
        } else {
            Label::Neutral
        }
    }

    /// The column value: "positive", "neutral" or "negative".
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Neutral => "neutral",
            Label::Negative => "negative",
        }
    }
}

/// A token reduced to what the rules read.
#[derive(Debug, Clone, Copy, Default)]
struct Tok {
    word: Word,
    /// ALL CAPS, as Python's `isupper()`.
    upper: bool,
    /// VADER's `negated()`: in the negation list or containing "n't".
    negated: bool,
}

impl Tok {
    #[inline]
    fn has(&self, f: u16) -> bool {
        self.word.flags & f != 0
    }
}

/// Scores texts; keeps its buffers between calls, so scoring does not allocate once warm.
#[derive(Debug, Clone, Default)]
pub struct Scorer {
    tokens: Vec<Tok>,
    /// Positions of the tokens with a valence, then (position, valence) once scored:
    /// every other token contributes 0, and adding 0 changes no sum.
    scored: Vec<(usize, f64)>,
    /// The text with emoji replaced by their descriptions.
    expanded: String,
}

impl Scorer {
    /// A scorer over the compiled-in VADER tables.
    pub fn new() -> Self {
        Self {
            tokens: Vec::with_capacity(64),
            scored: Vec::with_capacity(16),
            expanded: String::with_capacity(256),
        }
    }

    /// VADER's compound score of `text`, in [-1, 1], before rounding to four decimals.
    pub fn compound(&mut self, text: &str) -> f64 {
        let mut expanded = std::mem::take(&mut self.expanded);
        let text = if !text.is_ascii() && expand_emoji(text, &mut expanded) {
            expanded.as_str()
        } else {
            text
        };
        let (tokens, scored) = (&mut self.tokens, &mut self.scored);
        tokens.clear();
        scored.clear();
        let (mut caps, mut but) = (0, None);
        for_each_token(text, |t| {
            let word = if t.ascii {
                lexicon::ascii_word_in(text.as_bytes(), t.start, t.start + t.text.len())
            } else {
                lexicon::lookup(t.text).unwrap_or_default()
            };
            if word.flags & flag::LEXICON != 0 {
                scored.push((tokens.len(), 0.0));
            }
            if word.flags & flag::BUT != 0 && but.is_none() {
                but = Some(tokens.len());
            }
            caps += usize::from(t.upper);
            tokens.push(Tok {
                word,
                upper: t.upper,
                negated: t.nt || word.flags & flag::NEGATE != 0,
            });
        });
        // VADER's `allcap_differential`: some tokens ALL CAPS, but not all.
        let cap_diff = caps > 0 && caps < tokens.len();
        for entry in scored.iter_mut() {
            entry.1 = valence_at(tokens, entry.0, cap_diff);
        }
        if let Some(bi) = but {
            but_check(scored, bi);
        }
        let mut sum = 0.0;
        for &(_, v) in scored.iter() {
            sum += v;
        }
        // Marks only amplify: a zero sum stays zero, and the text need not be counted.
        if sum > 0.0 {
            sum += punctuation_emphasis(marks(text));
        } else if sum < 0.0 {
            sum -= punctuation_emphasis(marks(text));
        }
        self.expanded = expanded;
        normalize(sum)
    }
}

/// The valence token `i` contributes before the "but" rule (VADER's loop body and
/// `sentiment_valence`).
fn valence_at(toks: &[Tok], i: usize, cap_diff: bool) -> f64 {
    let t = &toks[i];
    let n = toks.len();
    if !t.has(flag::LEXICON)
        || t.has(flag::BOOST_UP | flag::BOOST_DOWN)
        || (i + 1 < n && t.has(flag::KIND) && toks[i + 1].has(flag::OF))
    {
        return 0.0;
    }
    let mut v = t.word.valence();
    // "no" before a lexicon word negates it instead of counting itself.
    if t.has(flag::NO) && i + 1 < n && toks[i + 1].has(flag::LEXICON) {
        v = 0.0;
    }
    if (i > 0 && toks[i - 1].has(flag::NO))
        || (i > 1 && toks[i - 2].has(flag::NO))
        || (i > 2 && toks[i - 3].has(flag::NO) && toks[i - 1].has(flag::OR_NOR))
    {
        v = t.word.valence() * N_SCALAR;
    }
    if t.upper && cap_diff {
        if v > 0.0 {
            v += C_INCR;
        } else {
            v -= C_INCR;
        }
    }
    for start in 0..3 {
        if i <= start {
            break;
        }
        let p = &toks[i - start - 1];
        if p.has(flag::LEXICON) {
            continue;
        }
        let mut s = scalar_inc_dec(p, v, cap_diff);
        if start == 1 {
            s *= 0.95;
        } else if start == 2 {
            s *= 0.9;
        }
        v += s;
        v = negation_check(v, toks, start, i);
        if start == 2 {
            v = special_idioms_check(v, toks, i);
        }
    }
    least_check(v, toks, i)
}

/// What a booster or dampener before the word adds, signed like the word.
#[inline]
fn scalar_inc_dec(p: &Tok, v: f64, cap_diff: bool) -> f64 {
    let mut scalar = if p.has(flag::BOOST_UP) {
        B_INCR
    } else if p.has(flag::BOOST_DOWN) {
        B_DECR
    } else {
        return 0.0;
    };
    if v < 0.0 {
        scalar = -scalar;
    }
    if p.upper && cap_diff {
        if v > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

/// Negation by the token `start + 1` places back, with "never so/this" and "without
/// doubt". At three places back, Python's `a and b or c` makes a "so"/"this" right before
/// the word intensify on its own; kept.
fn negation_check(v: f64, toks: &[Tok], start: usize, i: usize) -> f64 {
    let at = |k: usize| &toks[k];
    match start {
        0 if at(i - 1).negated => v * N_SCALAR,
        1 if at(i - 2).has(flag::NEVER) && at(i - 1).has(flag::SO_OR_THIS) => v * 1.25,
        1 if at(i - 2).has(flag::WITHOUT) && at(i - 1).has(flag::DOUBT) => v,
        1 if at(i - 2).negated => v * N_SCALAR,
        2 if (at(i - 3).has(flag::NEVER) && at(i - 2).has(flag::SO_OR_THIS))
            || at(i - 1).has(flag::SO_OR_THIS) =>
        {
            v * 1.25
        }
        2 if at(i - 3).has(flag::WITHOUT)
            && (at(i - 2).has(flag::DOUBT) || at(i - 1).has(flag::DOUBT)) =>
        {
            v
        }
        2 if at(i - 3).negated => v * N_SCALAR,
        _ => v,
    }
}

/// VADER's special-case idioms ("the shit", "kiss of death") and two-word dampeners
/// ("kind of") around token `i`; only reached with three tokens before it.
fn special_idioms_check(mut v: f64, toks: &[Tok], i: usize) -> f64 {
    let id = |k: usize| toks[k].word.idiom;
    let (a, b, c, d) = (id(i - 3), id(i - 2), id(i - 1), id(i));
    if a | b | c | d == 0 {
        return v; // every phrase below includes one of these: the common case
    }
    let special = |seq: &[u8]| {
        rules::SPECIAL_CASES
            .iter()
            .find(|(p, _)| *p == seq)
            .map(|&(_, val)| val)
    };
    if let Some(val) = [&[c, d][..], &[b, c, d], &[b, c], &[a, b, c], &[a, b]]
        .into_iter()
        .find_map(special)
    {
        v = val;
    }
    if i + 1 < toks.len()
        && let Some(val) = special(&[d, id(i + 1)])
    {
        v = val;
    }
    if i + 2 < toks.len()
        && let Some(val) = special(&[d, id(i + 1), id(i + 2)])
    {
        v = val;
    }
    // No booster phrase has three words, so only the pairs can match.
    for pair in [[a, b], [b, c]] {
        if rules::BOOSTER_PHRASES.contains(&pair) {
            v += B_DECR;
        }
    }
    v
}

/// "least good" negates; "at least" and "very least" do not.
fn least_check(v: f64, toks: &[Tok], i: usize) -> f64 {
    let least = |k: usize| !toks[k].has(flag::LEXICON) && toks[k].has(flag::LEAST);
    if i > 1 && least(i - 1) {
        if !toks[i - 2].has(flag::AT_OR_VERY) {
            return v * N_SCALAR;
        }
    } else if i > 0 && least(i - 1) {
        return v * N_SCALAR;
    }
    v
}

/// VADER's `_but_check` over the (position, valence) of the scored tokens: valences
/// before the first "but" halve, after it grow by half. Python finds each value's place
/// with `list.index`, i.e. its *first equal* value, so a repeated valence rescales the
/// earlier copy; this replays that exactly (zeros never match and rescale to zero).
fn but_check(s: &mut [(usize, f64)], bi: usize) {
    for k in 0..s.len() {
        let v = s[k].1;
        if v == 0.0 {
            continue;
        }
        let first = s.iter().position(|&(_, x)| x == v).unwrap_or(k);
        let (pos, x) = &mut s[first];
        if *pos < bi {
            *x = v * 0.5;
        } else if *pos > bi {
            *x = v * 1.5;
        }
    }
}

/// Emphasis from '!' (up to four) and from two or more '?'.
pub fn punctuation_emphasis(marks: Marks) -> f64 {
    let q = match marks.questions {
        0 | 1 => 0.0,
        n @ (2 | 3) => n as f64 * QMARK_INCR,
        _ => MAX_QMARK_INCR,
    };
    marks.bangs.min(MAX_EMARKS) as f64 * EMARK_INCR + q
}

/// Maps a valence sum into [-1, 1]: sum / sqrt(sum² + 15), as VADER does.
pub fn normalize(sum: f64) -> f64 {
    if sum.abs() > 1e150 {
        // sum² would overflow (Python then returns 0); no text gets near, the limit is ±1.
        return sum.signum();
    }
    (sum / (sum * sum + rules::ALPHA).sqrt()).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> f64 {
        Scorer::new().compound(text)
    }

    fn r4(x: f64) -> f64 {
        (x * 10_000.0).round() / 10_000.0
    }

    /// The examples of vaderSentiment.py's demo, with the compound scores Python 3.3.2
    /// prints for them.
    const PYTHON: &[(&str, f64)] = &[
        ("VADER is smart, handsome, and funny.", 0.8316),
        ("VADER is smart, handsome, and funny!", 0.8439),
        ("VADER is very smart, handsome, and funny.", 0.8545),
        ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
        ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
        (
            "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
            0.9469,
        ),
        ("VADER is not smart, handsome, nor funny.", -0.7424),
        ("The book was good.", 0.4404),
        ("At least it isn't a horrible book.", 0.431),
        ("The book was only kind of good.", 0.3832),
        (
            "The plot was good, but the characters are uncompelling and the dialog is not great.",
            -0.7042,
        ),
        ("Today SUX!", -0.5461),
        ("Today only kinda sux! But I'll get by, lol", 0.5249),
        ("Make sure you :) or :D today!", 0.8633),
        ("Catch utf-8 emoji such as 💘 and 💋 and 😁", 0.875),
        ("Not bad at all", 0.431),
        ("Sentiment analysis has never been good.", -0.3412),
        ("Sentiment analysis has never been this good!", 0.5672),
        ("Most automated sentiment analysis tools are shit.", -0.5574),
        ("With VADER, sentiment analysis is the shit!", 0.6476),
        ("Other sentiment analysis tools can be quite bad.", -0.5849),
        ("On the other hand, VADER is quite bad ass", 0.802),
        ("VADER is such a badass!", 0.4003),
        ("Without a doubt, excellent idea.", 0.7013),
        (
            "Roger Dodger is one of the most compelling variations on this theme.",
            0.2944,
        ),
        (
            "Roger Dodger is at least compelling as a variation on the theme.",
            0.2263,
        ),
        (
            "Roger Dodger is one of the least compelling variations on this theme.",
            -0.1695,
        ),
        ("Not such a badass after all.", -0.2584),
    ];

    #[test]
    fn vader_demo_sentences_score_as_in_python() {
        let mut s = Scorer::new();
        for &(text, want) in PYTHON {
            assert_eq!(r4(s.compound(text)), want, "{text}");
        }
    }

    /// Quirks of Python VADER 3.3.2, each with Python's score.
    const QUIRKS: &[(&str, f64)] = &[
        // "no!" keeps its "!" (two letters), so it neither negates nor scores as "no".
        ("no! good", 0.4926),
        ("no good", -0.3412),
        // "no" before a lexicon word trades its own valence for the negated "no".
        ("no no good", -0.1326),
        // A lone "I" is ALL CAPS, so "GREAT" counts as emphasis; all-caps text does not.
        ("I think it is GREAT", 0.7034),
        ("I THINK IT IS GREAT", 0.6249),
        // "so" or "this" right before a word three tokens in scales it by 1.25.
        ("the movie is so good", 0.5777),
        ("we like this good movie", 0.7073),
        // "but" rescales by value: 1.0 after "but" is found where 2.0 was halved to 1.0.
        ("acceptance but abilities", 0.3612),
        ("good good but good", 0.775),
        ("good but good good", 0.8641),
        // "the shit", "kind of", "bus stop" idioms.
        ("that was the shit", 0.6124),
        ("that was kind of good", 0.3832),
        ("waiting at the bus stop", 0.0),
        // Emoji descriptions; the variation selector sticks to "heart".
        ("❤️", 0.0),
        ("❤", 0.6369),
        ("love it😂!!", 0.8264),
        // "n't" needs the ASCII apostrophe; "least" negates unless "at least".
        ("isn’t good", 0.4404),
        ("the least good", -0.3412),
    ];

    #[test]
    fn python_quirks_are_kept() {
        let mut s = Scorer::new();
        for &(text, want) in QUIRKS {
            assert_eq!(r4(s.compound(text)), want, "{text}");
        }
    }

    #[test]
    fn empty_and_wordless_texts_are_zero() {
        assert_eq!(c(""), 0.0);
        assert_eq!(c("   "), 0.0);
        assert_eq!(c("the table is in the kitchen"), 0.0);
        assert_eq!(c("hello!!!"), 0.0);
    }

    #[test]
    fn punctuation_amplifies() {
        assert!(c("good!") > c("good"));
        assert_eq!(c("good!!!!"), c("good!!!!!!!"));
        assert_eq!(c("good?"), c("good"));
        assert!(c("good??") > c("good"));
        let m = |bangs, questions| punctuation_emphasis(Marks { bangs, questions });
        assert_eq!(m(0, 6), MAX_QMARK_INCR);
        assert_eq!(m(1, 2), EMARK_INCR + 2.0 * QMARK_INCR);
    }

    #[test]
    fn compound_is_bounded() {
        let x = c(&"amazing wonderful GREAT perfect love ".repeat(200));
        assert!(x > 0.99 && x <= 1.0, "{x}");
        let x = c(&"horrible awful HATE ".repeat(200));
        assert!((-1.0..-0.99).contains(&x), "{x}");
        assert_eq!(normalize(1e300), 1.0);
        assert_eq!(normalize(-1e300), -1.0);
    }

    #[test]
    fn labels_follow_the_threshold() {
        let t = DEFAULT_NEUTRAL_THRESHOLD;
        assert_eq!(Label::from_compound(0.05, t), Label::Positive);
        assert_eq!(Label::from_compound(0.0499, t), Label::Neutral);
        assert_eq!(Label::from_compound(-0.05, t), Label::Negative);
        assert_eq!(Label::from_compound(0.3, 0.5), Label::Neutral);
        assert_eq!(Label::Negative.as_str(), "negative");
    }

    #[test]
    fn scoring_reuses_its_buffers() {
        let mut s = Scorer::new();
        let a = s.compound("what a great day 😀 but");
        let _ = s.compound("terrible terrible terrible news today, really bad 😡");
        assert_eq!(s.compound("what a great day 😀 but"), a);
    }
}
