//! Seeded tweet corpora for the oracle tests and the example binaries: the pipeline's own
//! generator (seed 000's workload) and a wider synthetic builder that exercises every
//! VADER rule (emoji, negation, "but", caps, punctuation, boosters, idioms, hashtags,
//! URLs, mentions). Shared by `tests/` and `examples/` through `#[path]`.

#![allow(dead_code)]

use generator::rng::Rng;

/// `n` tweets from the workspace's generator plugin, run natively.
pub fn generator_tweets(seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| generator::tweets::compose(&mut rng, 500).text)
        .collect()
}

/// `n` tweets from the synthetic builder below.
pub fn synthetic_tweets(seed: u64, n: usize) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0x5EED_F00D);
    (0..n).map(|_| synthetic_tweet(&mut rng)).collect()
}

/// Half generator tweets, half synthetic ones, interleaved.
pub fn mixed(seed: u64, n: usize) -> Vec<String> {
    let a = generator_tweets(seed, n / 2);
    let b = synthetic_tweets(seed, n - n / 2);
    let mut out = Vec::with_capacity(n);
    let mut b = b.into_iter();
    for t in a {
        out.push(t);
        out.extend(b.next());
    }
    out.extend(b);
    out
}

const SUBJECTS: &[&str] = &[
    "this phone",
    "the new update",
    "my coffee",
    "the movie",
    "this game",
    "the weather",
    "the service here",
    "our team",
    "the concert",
    "this song",
    "the food",
    "my day",
    "the traffic",
    "the hotel",
    "the meeting",
    "this book",
    "the flight",
    "the app",
    "my boss",
    "the ending",
    "Monday",
    "the new iPhone",
    "the referee",
    "this playlist",
    "the wifi",
    "customer support",
    "the pizza",
    "my commute",
];
const POSITIVE: &[&str] = &[
    "good",
    "great",
    "amazing",
    "awesome",
    "excellent",
    "wonderful",
    "beautiful",
    "fun",
    "nice",
    "perfect",
    "lovely",
    "brilliant",
    "fantastic",
    "cool",
    "happy",
    "best",
    "incredible",
    "hilarious",
    "sweet",
    "glad",
    "impressive",
    "delightful",
    "smooth",
    "worth it",
    "fine",
    "ok",
    "okay",
    "funny",
];
const NEGATIVE: &[&str] = &[
    "bad",
    "terrible",
    "awful",
    "horrible",
    "boring",
    "sad",
    "ugly",
    "stupid",
    "annoying",
    "disappointing",
    "lame",
    "useless",
    "disgusting",
    "pathetic",
    "miserable",
    "worst",
    "broken",
    "slow",
    "angry",
    "frustrating",
    "a mess",
    "a joke",
    "painful",
    "weak",
    "sucks",
    "dead",
    "crap",
    "shit",
];
const NEUTRAL_ADJ: &[&str] = &[
    "new",
    "late",
    "early",
    "different",
    "big",
    "small",
    "red",
    "open",
    "closed",
    "here",
];
const BOOSTERS: &[&str] = &[
    "very ",
    "really ",
    "so ",
    "extremely ",
    "totally ",
    "absolutely ",
    "super ",
    "incredibly ",
    "slightly ",
    "kinda ",
    "somewhat ",
    "barely ",
    "hardly ",
    "kind of ",
    "sort of ",
    "pretty ",
    "quite ",
    "most ",
    "more ",
    "less ",
    "a little ",
    "fucking ",
    "freaking ",
    "sooo ",
    "REALLY ",
    "SO ",
    "just enough ",
    "",
    "",
    "",
];
const NEGATIONS: &[&str] = &[
    "not",
    "never",
    "isn't",
    "not really",
    "never so",
    "never this",
    "hardly ever",
    "not at all",
    "NOT",
    "ain't",
    "wasn't",
    "no longer",
    "not that",
];
const POS_VERBS: &[&str] = &[
    "love",
    "like",
    "enjoy",
    "adore",
    "appreciate",
    "recommend",
    "really love",
    "LOVE",
];
const NEG_VERBS: &[&str] = &[
    "hate",
    "dislike",
    "can't stand",
    "despise",
    "regret",
    "miss",
    "HATE",
];
const NEG_AUX: &[&str] = &[
    "don't", "do not", "can't", "won't", "didn't", "never", "cannot", "DON'T", "dont",
];
const NEUTRAL: &[&str] = &[
    "just got home from work",
    "heading to the store to buy some milk",
    "the meeting starts at 10 am",
    "reading the news on the train",
    "my flight lands at 6 tonight",
    "we are moving to a new office next week",
    "the package arrived this morning",
    "watching the game with my brother",
    "it is raining in london",
    "new episode comes out on friday",
    "finally finished the report",
    "the bus is on time today",
    "who else is watching tonight",
    "back to back meetings until 3",
    "at the bus stop now",
    "kind of a long day",
    "at least it is friday",
    "ok so here we go",
];
const IDIOMS: &[&str] = &[
    "{S} is the shit",
    "{S} is the bomb",
    "{S} is bad ass",
    "yeah right, {s} is great",
    "{S} was the kiss of death",
    "{S} is to die for",
    "{S} is one of the least {p} things",
    "at least {s} was {p}",
    "without a doubt {s} is {p}",
    "without doubt the {p} {n}",
    "no {p} {noun} today",
    "no doubt {s} is {n}",
    "no way {s} is {p}",
    "no {n} news, no {p} news",
    "{S} is not {p} nor {p}",
    "{S} has never been so {p}",
    "never been this {p}",
    "the {n} {noun} has a beating heart",
    "{S} is kind of {p}",
    "{S} is sort of {n}",
];
const NOUNS: &[&str] = &[
    "day", "game", "show", "ride", "meal", "view", "news", "week", "job", "idea",
];
const EMOJI: &[&str] = &[
    "😀",
    "😂",
    "😍",
    "😊",
    "❤️",
    "❤",
    "👍",
    "👍🏽",
    "🔥",
    "🎉",
    "🙏",
    "😢",
    "😭",
    "😡",
    "😤",
    "🙄",
    "👎",
    "💔",
    "😱",
    "🤔",
    "👀",
    "😴",
    "🤣",
    "😎",
    "💯",
    "✨",
    "🙌",
    "😒",
    "😞",
    "🥰",
    "🤬",
    "❤️‍🔥",
    "🇺🇸",
    "😅",
    "🙃",
    "🤷‍♂️",
    "💀",
    "😍😍",
    "🔥🔥🔥",
    "😂😂",
    "☺️",
    "♥",
    "👏🏻",
    "🆙",
];
const EMOTICONS: &[&str] = &[
    ":)", ":(", ":D", ":-)", ";)", ":/", "<3", "xD", ":P", ":'(", "^_^", "-_-", ":|", "=)", ":-(",
    "XD", "</3", ":-D", ":p",
];
const ENDINGS: &[&str] = &[
    "", "", "", "!", "!!", "!!!", "!!!!!", ".", "...", "?", "??", "???", "?!", "!?!", " lol",
    " lmao", " smh", " ugh", " haha", " :)", " :(", " meh", " wow", " ok.", " no!",
];
const HASHTAGS: &[&str] = &[
    "#love",
    "#fail",
    "#mondays",
    "#tech",
    "#blessed",
    "#nofilter",
    "#worst",
    "#happy",
    "#TBT",
    "#sad",
    "#win",
    "#GameDay",
    "#epicfail",
    "#goodvibes",
];
const MENTIONS: &[&str] = &[
    "@sarah_k",
    "@TechDaily",
    "@cityrail",
    "@mike_b",
    "@jen_codes",
    "@SUPPORT",
];
const JOINERS: &[&str] = &[
    ". ",
    " but ",
    ", but ",
    " and ",
    ". But ",
    " BUT ",
    ", ",
    " - ",
    " & ",
    " but, ",
    " although ",
    " so ",
];

/// One synthetic tweet: one to three clauses, then optional emoji, mention, URL, hashtags.
pub fn synthetic_tweet(rng: &mut Rng) -> String {
    let mut out = String::with_capacity(160);
    if rng.chance(0.12) {
        out.push_str(rng.pick(MENTIONS));
        out.push(' ');
    }
    let clauses = rng.pick_weighted(&[(1usize, 5), (2, 4), (3, 1)]);
    for c in 0..clauses {
        if c > 0 {
            out.push_str(rng.pick(JOINERS));
        }
        clause(rng, &mut out, c == 0);
        if rng.chance(0.15) {
            out.push_str(rng.pick(ENDINGS));
        }
    }
    out.push_str(rng.pick(ENDINGS));
    if rng.chance(0.35) {
        // Emoji glued to the word, after a space, or several in a row.
        if rng.chance(0.7) {
            out.push(' ');
        }
        out.push_str(rng.pick(EMOJI));
        if rng.chance(0.3) {
            out.push_str(rng.pick(EMOJI));
        }
        if rng.chance(0.1) {
            out.push_str(rng.pick(&["!", "!!", ".", "?", ","]));
        }
    }
    if rng.chance(0.15) {
        out.push(' ');
        out.push_str(rng.pick(EMOTICONS));
    }
    if rng.chance(0.1) {
        out.push_str(" https://t.co/");
        for _ in 0..10 {
            out.push(rng.pick(&URL_CHARS) as char);
        }
    }
    for _ in 0..rng.pick_weighted(&[(0usize, 5), (1, 3), (2, 2)]) {
        out.push(' ');
        out.push_str(rng.pick(HASHTAGS));
    }
    if rng.chance(0.04) {
        out = out.to_uppercase();
    }
    out
}

const URL_CHARS: [u8; 62] = *b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn clause(rng: &mut Rng, out: &mut String, first: bool) {
    let s = rng.pick(SUBJECTS);
    let p = adjective(rng, POSITIVE);
    let n = adjective(rng, NEGATIVE);
    let adj = if rng.chance(0.5) { &p } else { &n };
    let booster = rng.pick(BOOSTERS);
    let text = match rng.below(14) {
        0 | 1 => format!("{{S}} is {booster}{adj}"),
        2 => format!("{{S}} is {} {booster}{adj}", rng.pick(NEGATIONS)),
        3 => format!("I {} {{s}}", rng.pick(POS_VERBS)),
        4 => format!("I {} {{s}}", rng.pick(NEG_VERBS)),
        5 => format!("I {} {} {{s}}", rng.pick(NEG_AUX), rng.pick(POS_VERBS)),
        6 => rng.pick(NEUTRAL).to_owned(),
        7 => format!("{{S}} was {}", adj.to_uppercase()),
        8 => rng.pick(IDIOMS).to_owned(),
        9 => format!("what a {booster}{adj} {}", rng.pick(NOUNS)),
        10 => format!("{{S}} is {}", rng.pick(NEUTRAL_ADJ)),
        11 => format!("{adj} {}", rng.pick(EMOTICONS)),
        12 => format!(
            "{{S}} {} {adj}",
            rng.pick(&["was", "seems", "looks", "feels"])
        ),
        _ => format!(
            "{} {{s}}",
            rng.pick(&["Loving", "Hating", "Enjoying", "Missing"])
        ),
    };
    let noun = rng.pick(NOUNS);
    let text = text
        .replace("{S}", &capitalised(s))
        .replace("{s}", s)
        .replace("{p}", &p)
        .replace("{n}", &n)
        .replace("{noun}", noun);
    let text = if first { capitalised(&text) } else { text };
    out.push_str(&text);
}

/// A list word, now and then in ALL CAPS.
fn adjective(rng: &mut Rng, list: &[&str]) -> String {
    let w = rng.pick(list);
    if rng.chance(0.08) {
        w.to_uppercase()
    } else {
        w.to_owned()
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
