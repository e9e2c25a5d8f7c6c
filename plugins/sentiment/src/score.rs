//! VADER-style scoring: looks each token of a text up in the [`Lexicon`], applies the
//! booster, negation, caps, "but", "least" and punctuation rules of Hutto & Gilbert (2014),
//! and normalizes the sum to a compound score in [-1, 1].

use crate::lexicon::{B_DECR, Lexicon, Word, flag};
use crate::tokenize::{Piece, for_each_piece};

/// Added to a sentiment word's magnitude when it is in ALL CAPS in mixed-case text.
pub const C_INCR: f64 = 0.733;
/// Factor applied to a sentiment word that a negation precedes.
pub const NEGATION_SCALAR: f64 = -0.74;
/// Emphasis per exclamation mark, counted up to [`MAX_EMARKS`].
pub const EMARK_INCR: f64 = 0.292;
/// Exclamation marks beyond this many add nothing.
pub const MAX_EMARKS: usize = 4;
/// Emphasis per question mark when there are two or three.
pub const QMARK_INCR: f64 = 0.18;
/// Emphasis for four or more question marks.
pub const MAX_QMARK_INCR: f64 = 0.96;
/// Normalization constant: the sum that maps to a compound of about ±0.71.
pub const ALPHA: f64 = 15.0;
/// Default compound magnitude below which a text is neutral.
pub const DEFAULT_NEUTRAL_THRESHOLD: f64 = 0.05;

/// Booster weight by distance from the sentiment word (1, 2 or 3 tokens before it).
const DISTANCE_DAMPING: [f64; 3] = [1.0, 0.95, 0.9];

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

/// A token reduced to what the rules need.
#[derive(Debug, Clone, Copy, Default)]
struct Token {
    word: Word,
    /// ALL CAPS word (two or more capitals, no lower case letter).
    caps: bool,
    /// Has a lower-case letter; with a `caps` token elsewhere, the text mixes case.
    lower: bool,
}

impl Token {
    #[inline]
    fn has(&self, f: u16) -> bool {
        self.word.flags & f != 0
    }
}

/// Scores texts; keeps its token buffer between calls so that scoring does not allocate.
#[derive(Debug, Clone)]
pub struct Scorer {
    lexicon: Lexicon,
    tokens: Vec<Token>,
}

impl Scorer {
    /// A scorer over `lexicon`.
    pub fn new(lexicon: Lexicon) -> Self {
        Self {
            lexicon,
            tokens: Vec::with_capacity(64),
        }
    }

    /// The table this scorer looks words up in (shared with keyword extraction).
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The compound sentiment of `text`, in [-1, 1]; 0 for text with no sentiment words.
    pub fn compound(&mut self, text: &str) -> f64 {
        let mut tokens = std::mem::take(&mut self.tokens);
        tokens.clear();
        let lexicon = &self.lexicon;
        for_each_piece(text, |piece| tokens.push(token(lexicon, piece)));
        let sum = sentiment_sum(&tokens);
        self.tokens = tokens;
        if sum == 0.0 {
            return 0.0;
        }
        let emphasis = punctuation_emphasis(text);
        normalize(if sum > 0.0 {
            sum + emphasis
        } else {
            sum - emphasis
        })
    }
}

/// Looks a piece up and records its case.
#[inline]
fn token(lexicon: &Lexicon, piece: Piece<'_>) -> Token {
    if piece.emoji {
        return Token {
            word: lexicon.get_exact(piece.text).copied().unwrap_or_default(),
            ..Token::default()
        };
    }
    let shape = shape_of(piece.text);
    let found = if shape.ascii {
        lexicon.get_ascii(piece.text.as_bytes(), shape.upper > 0)
    } else {
        lexicon.get(piece.text)
    };
    let mut word = match found {
        Some(w) => *w,
        // Emoticons whose trimmed form is not one: "<33" trims to "33".
        None if !shape.letters && piece.raw.len() != piece.text.len() => {
            lexicon.get(piece.raw).copied().unwrap_or_default()
        }
        None => Word::default(),
    };
    if shape.apostrophe && has_nt(piece.text) {
        word.flags |= flag::NEGATION;
    }
    Token {
        word,
        caps: shape.upper >= 2 && !shape.lower,
        lower: shape.lower,
    }
}

/// What one pass over a token's characters tells the rules.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    ascii: bool,
    upper: usize,
    lower: bool,
    letters: bool,
    apostrophe: bool,
}

#[inline]
fn shape_of(s: &str) -> Shape {
    let mut shape = Shape {
        ascii: s.is_ascii(),
        ..Shape::default()
    };
    if shape.ascii {
        for b in s.bytes() {
            shape.upper += usize::from(b.is_ascii_uppercase());
            shape.lower |= b.is_ascii_lowercase();
            shape.apostrophe |= b == b'\'';
        }
    } else {
        for c in s.chars() {
            shape.upper += usize::from(c.is_uppercase());
            shape.lower |= c.is_lowercase();
            shape.apostrophe |= c == '\'' || c == '’';
        }
    }
    shape.letters = shape.upper > 0 || shape.lower;
    shape
}

/// Contractions negate: "don't", "ISN'T", "won’t".
#[inline]
fn has_nt(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3)
        .any(|w| w[0] | 0x20 == b'n' && w[1] == b'\'' && w[2] | 0x20 == b't')
        || (!s.is_ascii() && (s.contains("n’t") || s.contains("N’T")))
}

/// Sum of the token valences after all word-level rules and the "but" shift.
fn sentiment_sum(tokens: &[Token]) -> f64 {
    let mixed_case = tokens.iter().any(|t| t.caps) && tokens.iter().any(|t| t.lower);
    let (mut before_but, mut sum, mut seen_but) = (0.0, 0.0, false);
    for (i, t) in tokens.iter().enumerate() {
        if !seen_but && t.has(flag::BUT) {
            seen_but = true;
            before_but = sum;
            sum = 0.0;
            continue;
        }
        sum += valence_at(tokens, i, mixed_case);
    }
    if seen_but {
        0.5 * before_but + 1.5 * sum
    } else {
        sum
    }
}

/// The valence token `i` contributes, given up to three tokens before it.
fn valence_at(tokens: &[Token], i: usize, mixed_case: bool) -> f64 {
    let t = &tokens[i];
    let at = |k: usize| &tokens[k];
    // Boosters and the "kind" of "kind of" only modify others.
    if t.word.booster != 0.0
        || (t.has(flag::KIND_OR_SORT) && i + 1 < tokens.len() && at(i + 1).has(flag::OF))
    {
        return 0.0;
    }
    let mut v = t.word.valence;
    if v == 0.0 {
        return 0.0;
    }
    if t.caps && mixed_case {
        v += C_INCR.copysign(v);
    }
    for (d, damping) in DISTANCE_DAMPING.into_iter().enumerate() {
        if i <= d {
            break;
        }
        let p = at(i - d - 1);
        // A preceding sentiment word is scored on its own; it neither boosts nor negates.
        if p.word.valence != 0.0 {
            continue;
        }
        let mut scalar = p.word.booster;
        if d == 0 && p.has(flag::OF) && i >= 2 && at(i - 2).has(flag::KIND_OR_SORT) {
            scalar = B_DECR;
        }
        if scalar != 0.0 {
            if v < 0.0 {
                scalar = -scalar;
            }
            if p.caps && mixed_case {
                scalar += C_INCR.copysign(v);
            }
            v += scalar * damping;
        }
        v = negation_check(tokens, v, d, i);
    }
    least_check(tokens, v, i)
}

/// Negation of `v` by the token `d + 1` places back, with the "never so" and
/// "without doubt" exceptions.
fn negation_check(tokens: &[Token], v: f64, d: usize, i: usize) -> f64 {
    let at = |k: usize| &tokens[k];
    let p = at(i - d - 1);
    match d {
        1 | 2 if p.has(flag::NEVER) && (i - d..i).any(|k| at(k).has(flag::SO_OR_THIS)) => v * 1.25,
        1 | 2 if p.has(flag::WITHOUT) && (i - d..i).any(|k| at(k).has(flag::DOUBT)) => v,
        _ if p.has(flag::NEGATION) => v * NEGATION_SCALAR,
        _ => v,
    }
}

/// "least good" negates; "at least good" and "very least" do not.
fn least_check(tokens: &[Token], v: f64, i: usize) -> f64 {
    if i == 0 || !tokens[i - 1].has(flag::LEAST) {
        return v;
    }
    if i >= 2 && tokens[i - 2].has(flag::AT_OR_VERY) {
        return v;
    }
    v * NEGATION_SCALAR
}

/// Emphasis from '!' (up to four) and from two or more '?', added to the sum's magnitude.
pub fn punctuation_emphasis(text: &str) -> f64 {
    let (mut bangs, mut questions) = (0usize, 0usize);
    for b in text.bytes() {
        bangs += usize::from(b == b'!');
        questions += usize::from(b == b'?');
    }
    let q = match questions {
        0 | 1 => 0.0,
        2 | 3 => questions as f64 * QMARK_INCR,
        _ => MAX_QMARK_INCR,
    };
    bangs.min(MAX_EMARKS) as f64 * EMARK_INCR + q
}

/// Maps an unbounded valence sum into [-1, 1]: sum / sqrt(sum² + 15).
pub fn normalize(sum: f64) -> f64 {
    // Divided through by |sum| when large, so that sum² cannot overflow to infinity.
    let n = if sum.abs() > 1.0 {
        sum.signum() / (1.0 + ALPHA / (sum * sum)).sqrt()
    } else {
        sum / (sum * sum + ALPHA).sqrt()
    };
    n.clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scorer() -> Scorer {
        Scorer::new(Lexicon::shipped().expect("shipped lexicon parses"))
    }

    fn c(text: &str) -> f64 {
        scorer().compound(text)
    }

    #[test]
    fn lexicon_words_carry_their_sign() {
        assert!(c("good") > 0.0);
        assert!(c("bad") < 0.0);
        assert_eq!(c("the table is in the kitchen"), 0.0);
        assert_eq!(c(""), 0.0);
    }

    #[test]
    fn negation_flips_within_three_tokens() {
        assert!(c("not good") < 0.0);
        assert!(c("isn't good") < 0.0);
        assert!(c("DON’T like it, it's good") < 0.0 || c("don’t good") < 0.0);
        assert!(c("never was it good") < 0.0);
        assert!(c("not bad") > 0.0);
        // Four tokens back is out of reach.
        assert!(c("not that it was really good") > 0.0);
        let good = Lexicon::shipped()
            .ok()
            .and_then(|l| l.get("good").map(|w| w.valence))
            .unwrap_or(0.0);
        assert!((c("not good") - normalize(good * NEGATION_SCALAR)).abs() < 1e-12);
    }

    #[test]
    fn never_so_and_without_doubt_do_not_negate() {
        assert!(c("never so good") > c("good"));
        assert!(c("without doubt great") > 0.0);
    }

    #[test]
    fn boosters_raise_and_dampeners_lower_magnitude() {
        assert!(c("very good") > c("good"));
        assert!(c("extremely bad") < c("bad"));
        assert!(c("sooo good") > c("good"));
        assert!(c("slightly good") < c("good"));
        assert!(c("slightly good") > 0.0);
        assert!(c("barely bad") > c("bad"));
        assert!(c("kind of good") < c("good"));
        // Booster weight fades with distance.
        assert!(c("very good") > c("very, very much good") - 1.0);
        assert!(c("really the good") < c("really good"));
    }

    #[test]
    fn but_shifts_weight_to_the_second_clause() {
        assert!(c("The food was good but the service was terrible") < 0.0);
        assert!(c("The food was terrible but the service was good") > 0.0);
        let expected = normalize(0.5 * valence("good") + 1.5 * valence("bad"));
        assert!((c("good but bad") - expected).abs() < 1e-12);
    }

    fn valence(w: &str) -> f64 {
        Lexicon::shipped()
            .ok()
            .and_then(|l| l.get(w).map(|w| w.valence))
            .unwrap_or(0.0)
    }

    #[test]
    fn caps_emphasis_only_in_mixed_case() {
        assert!(c("the movie was GREAT") > c("the movie was great"));
        assert!(c("the movie was AWFUL") < c("the movie was awful"));
        // All-caps text is not emphasis.
        assert_eq!(c("THE MOVIE WAS GREAT"), c("the movie was great"));
        let expected = normalize(valence("great") + C_INCR);
        assert!((c("it is GREAT") - expected).abs() < 1e-12);
    }

    #[test]
    fn exclamation_marks_amplify_up_to_four() {
        assert!(c("good!") > c("good"));
        assert!(c("good!!!!") > c("good!!"));
        assert_eq!(c("good!!!!"), c("good!!!!!!!"));
        assert!(c("bad!!") < c("bad"));
        assert!((c("good!!") - normalize(valence("good") + 2.0 * EMARK_INCR)).abs() < 1e-12);
        // Punctuation alone is not sentiment.
        assert_eq!(c("hello!!!"), 0.0);
    }

    #[test]
    fn question_marks_amplify_from_two() {
        assert_eq!(c("good?"), c("good"));
        assert!(c("good??") > c("good"));
        assert!((punctuation_emphasis("??????") - MAX_QMARK_INCR).abs() < 1e-12);
        assert!((punctuation_emphasis("a?? b!") - (2.0 * QMARK_INCR + EMARK_INCR)).abs() < 1e-12);
    }

    #[test]
    fn least_negates_unless_at_least() {
        assert!(c("the least fun day") < 0.0);
        assert!(c("at least fun") > 0.0);
    }

    #[test]
    fn emoji_and_emoticons_score() {
        assert!(c("😀") > 0.0);
        assert!(c("😡") < 0.0);
        assert!(c("new phone 😍😍") > c("new phone 😍"));
        assert!(c("❤️") > 0.0);
        assert!(c("👍🏽") > 0.0);
        assert!(c("💔") < 0.0);
        assert!(c("at work :)") > 0.0);
        assert!(c("at work :(") < 0.0);
        assert!(c("<3") > 0.0);
        assert!(c(":D") > 0.0);
        assert!(c("hmm :/") < 0.0);
        assert!(c("lol") > 0.0 && c("smh") < 0.0 && c("ugh") < 0.0 && c("meh") < 0.0);
    }

    #[test]
    fn every_lexicon_entry_is_reachable_by_the_tokenizer() {
        let lex = Lexicon::shipped().expect("parses");
        let mut s = Scorer::new(lex);
        for line in crate::lexicon::SHIPPED_TSV.lines() {
            let Some((word, v)) = line.split_once('\t') else {
                continue;
            };
            let v: f64 = v.parse().unwrap_or(0.0);
            let got = s.compound(word);
            assert!(got * v > 0.0, "`{word}` ({v}) scored {got}");
        }
    }

    #[test]
    fn compound_is_bounded() {
        let long = "amazing wonderful GREAT perfect love ".repeat(200) + "!!!!!!";
        let x = c(&long);
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
        assert_eq!(Label::from_compound(0.0, t), Label::Neutral);
        assert_eq!(Label::from_compound(-0.0499, t), Label::Neutral);
        assert_eq!(Label::from_compound(-0.05, t), Label::Negative);
        assert_eq!(Label::from_compound(0.3, 0.5), Label::Neutral);
        assert_eq!(Label::Negative.as_str(), "negative");
    }

    #[test]
    fn scoring_reuses_its_buffer() {
        let mut s = scorer();
        let a = s.compound("what a great day");
        let _ = s.compound("terrible terrible terrible news today, really bad");
        assert_eq!(s.compound("what a great day"), a);
    }
}
