//! VADER 3.3.2's rule words and constants, as `vaderSentiment.py` defines them (MIT, C.J.
//! Hutto; see `data/NOTICE.md`). `build.rs` compiles the words into the word table with
//! their roles as [`flag`] bits and [`idiom`] ids; the scorer reads the constants.
//!
//! This file is also compiled into the build script (`#[path]`), so it uses nothing but core.

/// Added to the magnitude of the next sentiment word by a booster ("very", "extremely").
pub const B_INCR: f64 = 0.293;
/// Added to the magnitude of the next sentiment word by a dampener ("slightly", "barely").
pub const B_DECR: f64 = -0.293;
/// Added to the magnitude of an ALL CAPS word when the text also has words that are not.
pub const C_INCR: f64 = 0.733;
/// Factor applied to a negated sentiment word.
pub const N_SCALAR: f64 = -0.74;
/// Normalization constant: compound = sum / sqrt(sum² + ALPHA).
pub const ALPHA: f64 = 15.0;

/// Single-word boosters (B_INCR). VADER also lists phrases, in [`BOOSTER_PHRASES`].
pub const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
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
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

/// Single-word dampeners (B_DECR).
pub const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sorta",
    "sortof",
    "sort-of",
];

/// Words that negate a sentiment word up to three tokens later. Any token containing
/// "n't" negates as well; the spelled-out contractions are VADER's list as it stands.
pub const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

/// Roles a lower-cased token can play, as bits of a word's flags; one table probe
/// answers them all.
pub mod flag {
    /// In VADER's lexicon: the word has a valence.
    pub const LEXICON: u16 = 1 << 0;
    /// A booster (B_INCR).
    pub const BOOST_UP: u16 = 1 << 1;
    /// A dampener (B_DECR).
    pub const BOOST_DOWN: u16 = 1 << 2;
    /// In [`super::NEGATE`].
    pub const NEGATE: u16 = 1 << 3;
    /// "no": negates the next three words, and loses its own valence before a lexicon word.
    pub const NO: u16 = 1 << 4;
    /// "or" / "nor" in "no X or Y".
    pub const OR_NOR: u16 = 1 << 5;
    /// "kind", which with a following "of" is a dampener.
    pub const KIND: u16 = 1 << 6;
    /// "of".
    pub const OF: u16 = 1 << 7;
    /// "least", which negates the next word...
    pub const LEAST: u16 = 1 << 8;
    /// ...unless it follows "at" or "very".
    pub const AT_OR_VERY: u16 = 1 << 9;
    /// "never" of "never so" / "never this", which intensify instead of negate.
    pub const NEVER: u16 = 1 << 10;
    /// "so" / "this".
    pub const SO_OR_THIS: u16 = 1 << 11;
    /// "without" of "without doubt", which does not negate.
    pub const WITHOUT: u16 = 1 << 12;
    /// "doubt".
    pub const DOUBT: u16 = 1 << 13;
    /// "but": words before it count half, words after it one and a half.
    pub const BUT: u16 = 1 << 14;
}

/// Words with a rule role other than boosting or negating.
pub const FLAG_WORDS: &[(&str, u16)] = &[
    ("no", flag::NO),
    ("or", flag::OR_NOR),
    ("nor", flag::OR_NOR),
    ("kind", flag::KIND),
    ("of", flag::OF),
    ("least", flag::LEAST),
    ("at", flag::AT_OR_VERY),
    ("very", flag::AT_OR_VERY),
    ("never", flag::NEVER),
    ("so", flag::SO_OR_THIS),
    ("this", flag::SO_OR_THIS),
    ("without", flag::WITHOUT),
    ("doubt", flag::DOUBT),
    ("but", flag::BUT),
];

/// Ids of the words that make up VADER's multi-word phrases; 0 is "no such word".
pub mod idiom {
    pub const THE: u8 = 1;
    pub const SHIT: u8 = 2;
    pub const BOMB: u8 = 3;
    pub const BAD: u8 = 4;
    pub const ASS: u8 = 5;
    pub const BUS: u8 = 6;
    pub const STOP: u8 = 7;
    pub const YEAH: u8 = 8;
    pub const RIGHT: u8 = 9;
    pub const KISS: u8 = 10;
    pub const OF: u8 = 11;
    pub const DEATH: u8 = 12;
    pub const TO: u8 = 13;
    pub const DIE: u8 = 14;
    pub const FOR: u8 = 15;
    pub const BEATING: u8 = 16;
    pub const HEART: u8 = 17;
    pub const JUST: u8 = 18;
    pub const ENOUGH: u8 = 19;
    pub const KIND: u8 = 20;
    pub const SORT: u8 = 21;
}

/// The phrase words and their ids.
pub const IDIOM_WORDS: &[(&str, u8)] = &[
    ("the", idiom::THE),
    ("shit", idiom::SHIT),
    ("bomb", idiom::BOMB),
    ("bad", idiom::BAD),
    ("ass", idiom::ASS),
    ("bus", idiom::BUS),
    ("stop", idiom::STOP),
    ("yeah", idiom::YEAH),
    ("right", idiom::RIGHT),
    ("kiss", idiom::KISS),
    ("of", idiom::OF),
    ("death", idiom::DEATH),
    ("to", idiom::TO),
    ("die", idiom::DIE),
    ("for", idiom::FOR),
    ("beating", idiom::BEATING),
    ("heart", idiom::HEART),
    ("just", idiom::JUST),
    ("enough", idiom::ENOUGH),
    ("kind", idiom::KIND),
    ("sort", idiom::SORT),
];

/// VADER's SPECIAL_CASES with more than one word, as id sequences, and the valence each
/// sets. (Its single-word "badass" can never match: the phrases it builds have spaces.)
pub const SPECIAL_CASES: &[(&[u8], f64)] = {
    use idiom::*;
    &[
        (&[THE, SHIT], 3.0),
        (&[THE, BOMB], 3.0),
        (&[BAD, ASS], 1.5),
        (&[BUS, STOP], 0.0),
        (&[YEAH, RIGHT], -2.0),
        (&[KISS, OF, DEATH], -1.5),
        (&[TO, DIE, FOR], 3.0),
        (&[BEATING, HEART], 3.5),
    ]
};

/// VADER's two-word boosters ("kind of"), which add B_DECR in the idiom check.
pub const BOOSTER_PHRASES: &[[u8; 2]] = &[
    [idiom::JUST, idiom::ENOUGH],
    [idiom::KIND, idiom::OF],
    [idiom::SORT, idiom::OF],
];
