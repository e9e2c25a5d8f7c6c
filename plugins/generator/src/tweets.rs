//! Seed 000's workload: short English tweets about everyday topics, composed from
//! templates and word lists and written as one JSON object per record.
//!
//! The word lists are part of the output format: editing one changes every stream
//! for every seed, so add new lists rather than reorder old ones.

use serde::Serialize;

use crate::invalid::{self, Invalid};
use crate::rng::Rng;

/// The mood a tweet was written with; the sentiment plugin should recover it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentiment {
    /// Praise: a clear positive word such as love, great or awesome.
    Positive,
    /// Chatter with no sentiment words at all.
    Neutral,
    /// Complaint: a negative word (hate, awful, broken, worst) or a negated positive.
    Negative,
}

/// Seed 000 measured 52.7% positive, 28.3% neutral and 19% negative.
const MOOD: [(Sentiment, u32); 3] = [
    (Sentiment::Positive, 50),
    (Sentiment::Neutral, 30),
    (Sentiment::Negative, 20),
];

/// One subject area: things to talk about, hashtags that go with them, and one
/// topic-specific template per mood.
struct Topic {
    subjects: &'static [&'static str],
    tags: &'static [&'static str],
    positive: &'static str,
    neutral: &'static str,
    negative: &'static str,
}

const TOPICS: [Topic; 9] = [
    Topic {
        subjects: &[
            "my new phone",
            "the new iPhone",
            "this Pixel",
            "the latest Android update",
            "my phone battery",
        ],
        tags: &["tech", "android", "iphone"],
        positive: "Battery on my new phone lasts two full days, I love it{x}{e}",
        neutral: "Thinking about switching phones next month{u}",
        negative: "My phone screen is broken again{x}{E}",
    },
    Topic {
        subjects: &[
            "my morning coffee",
            "the flat white at this cafe",
            "this new espresso place",
            "the cold brew here",
        ],
        tags: &["coffee", "morning", "caffeine"],
        positive: "First sip of coffee and I'm {i}happy{x}{e}",
        neutral: "Second coffee of the day, third meeting of the day{u}",
        negative: "They got my coffee order wrong again. {N}{x}{E}",
    },
    Topic {
        subjects: &[
            "the weather",
            "this sunshine",
            "the rain",
            "this heatwave",
            "the snow",
        ],
        tags: &["weather", "sunday", "summer"],
        positive: "Blue skies all day, {i}{p} weather for a walk{x}{e}",
        neutral: "Forecast says rain until Thursday{u}",
        negative: "Soaked on the way in, this weather is the worst{x}{E}",
    },
    Topic {
        subjects: &[
            "the match",
            "our team",
            "the referee",
            "the final",
            "the derby",
        ],
        tags: &["football", "sports", "nba"],
        positive: "What a goal in the last minute, {i}{p} game{x}{e}",
        neutral: "Kickoff at 8, watching at the pub with {m}{u}",
        negative: "Lost again at home. {N} defending{x}{E}",
    },
    Topic {
        subjects: &[
            "the new Marvel movie",
            "that documentary",
            "the season finale",
            "this film",
            "the soundtrack",
        ],
        tags: &["movies", "netflix", "cinema"],
        positive: "Just watched the season finale, {i}{p} ending{x}{e}",
        neutral: "Movie night tonight, still picking something to watch{u}",
        negative: "Two hours of my life I won't get back. {N} film{x}{E}",
    },
    Topic {
        subjects: &[
            "the 8:15 train",
            "my commute",
            "the subway",
            "the train to work",
            "the night bus",
        ],
        tags: &["commute", "trains", "monday"],
        positive: "Train on time and I got a seat, {i}{p} start to the day{x}{e}",
        neutral: "Platform change for the 8:15, now leaving from platform 4{u}",
        negative: "Signal failure again, 40 minutes late. I hate this train{x}{E}",
    },
    Topic {
        subjects: &[
            "the standup",
            "this deadline",
            "my new job",
            "the team offsite",
            "my inbox",
        ],
        tags: &["work", "mondaymotivation", "wfh"],
        positive: "Shipped the release before Friday, {i}{p} work team{x}{e}",
        neutral: "Back-to-back meetings until 3, then the quarterly report{u}",
        negative: "VPN broken again and the deadline is tomorrow{x}{E}",
    },
    Topic {
        subjects: &[
            "this ramen",
            "the pizza place downtown",
            "grandma's lasagna",
            "the taco truck",
            "my lunch",
        ],
        tags: &["food", "foodie", "lunch"],
        positive: "Best ramen in town, {i}{p} broth{x}{e}",
        neutral: "Trying the new noodle bar on 5th street for lunch{u}",
        negative: "Waited an hour for cold pizza. {N} service{x}{E}",
    },
    Topic {
        subjects: &[
            "the new album",
            "this playlist",
            "the concert",
            "that new single",
            "the festival lineup",
        ],
        tags: &["music", "nowplaying", "spotify"],
        positive: "Third time through the new album today, {i}{p}{x}{e}",
        neutral: "Festival lineup drops on Friday at noon{u}",
        negative: "Sound at the concert was {i}{n}, could not hear a thing{x}{E}",
    },
];

/// Generic templates, by mood. Slots: `{s}` subject, `{S}` subject capitalised,
/// `{p}`/`{P}` positive adjective, `{n}`/`{N}` negative adjective, `{i}` intensifier,
/// `{l}` love verb, `{w}` when, `{d}` part of life, `{m}` mention, `{x}` exclamation,
/// `{e}`/`{E}`/`{u}` positive, negative and neutral emoji (each may be empty).
const POSITIVE: [&str; 8] = [
    "{S} is {i}{p}{x}{e}",
    "I {l} {s}{x}{e}",
    "Honestly {s} is {i}{p}. Made my {d}{x}{e}",
    "{S} {w} was {i}{p}, so happy right now{x}{e}",
    "Can't stop smiling, {s} is {p}{x}{e}",
    "Not bad at all! {S} is actually {p}{e}",
    "Thanks {m} for recommending {s}, it's {i}{p}{x}{e}",
    "Loving {s} {w}. {P}{x}{e}",
];

const NEUTRAL: [&str; 8] = [
    "Anyone else thinking about {s} {w}?{u}",
    "Thoughts on {s}? Asking for a friend{u}",
    "{S} is ok I guess. Nothing special{u}",
    "Reading up on {s} {w}{u}",
    "Quick update on {s}: nothing new so far",
    "Talking about {s} with {m} later{u}",
    "{S} {w}, same as yesterday{u}",
    "Does anyone have an opinion on {s}?{u}",
];

const NEGATIVE: [&str; 8] = [
    "{S} is {i}{n}{x}{E}",
    "I hate {s}{x}{E}",
    "I really don't like {s}. {N}{x}{E}",
    "{S} {w} was {i}{n}. Never again{x}{E}",
    "Not happy with {s} at all{x}{E}",
    "Why is {s} always so bad?{E}",
    "Ugh, {s} is {i}{n}{x}{E}",
    "{S} again. Worst {d} ever{x}{E}",
];

const POSITIVE_ADJ: [&str; 8] = [
    "great",
    "awesome",
    "amazing",
    "excellent",
    "fantastic",
    "wonderful",
    "perfect",
    "brilliant",
];
const NEGATIVE_ADJ: [&str; 7] = [
    "terrible",
    "awful",
    "horrible",
    "disappointing",
    "annoying",
    "useless",
    "frustrating",
];
const INTENSIFIERS: [(&str, u32); 4] = [("", 5), ("really ", 3), ("so ", 3), ("absolutely ", 1)];
const LOVE: [&str; 3] = ["love", "really love", "absolutely love"];
const WHEN: [&str; 5] = [
    "today",
    "this morning",
    "tonight",
    "this week",
    "this weekend",
];
const DAYS: [&str; 4] = ["day", "morning", "week", "weekend"];
const MENTIONS: [&str; 8] = [
    "@sarah_k",
    "@techdaily",
    "@mike_b",
    "@coffeelab",
    "@cityrail",
    "@jen_codes",
    "@dave99",
    "@foodguide",
];
const EXCLAIM: [(&str, u32); 4] = [("", 4), ("!", 4), ("!!", 2), ("!!!", 1)];
const EMOJI_POSITIVE: [(&str, u32); 6] = [
    ("", 8),
    (" 😍", 2),
    (" 👍", 2),
    (" 🔥", 2),
    (" 😊", 1),
    (" 🙌", 1),
];
const EMOJI_NEGATIVE: [(&str, u32); 5] = [("", 8), (" 😡", 3), (" 👎", 2), (" 😤", 1), (" 🙄", 1)];
const EMOJI_NEUTRAL: [(&str, u32); 3] = [("", 10), (" 🤔", 1), (" 👀", 1)];
const GENERAL_TAGS: [&str; 5] = ["monday", "mood", "life", "weekend", "tbt"];

/// Sentences appended to a short tweet until it reaches [`MIN_TEXT`] bytes.
const CLOSERS_POSITIVE: [&str; 3] = [
    "Highly recommend.",
    "Best decision ever.",
    "Totally worth it.",
];
const CLOSERS_NEUTRAL: [&str; 3] = ["More later.", "We'll see.", "Anyway, back to it."];
const CLOSERS_NEGATIVE: [&str; 3] = ["Never again.", "So disappointed.", "What a waste."];

/// Shortest tweet text, in bytes; seed 000's tweets were sentences, not single words.
pub const MIN_TEXT: usize = 40;
/// Longest tweet text, in bytes; optional parts are dropped rather than overflow it.
pub const MAX_TEXT: usize = 200;

/// A composed tweet before it becomes JSON; tests read its intended mood.
#[derive(Debug, Clone)]
pub struct Tweet {
    /// The mood its template was written with.
    pub sentiment: Sentiment,
    /// 1-based user number, so the key reads `user_<k>`.
    pub user: u32,
    /// The tweet text, hashtags and URL included.
    pub text: String,
    /// Hashtags in the text, without `#` as the Twitter API reports them.
    pub hashtags: Vec<&'static str>,
}

/// The JSON value of one tweet record, in the field order seed 000 used.
#[derive(Serialize)]
struct Record<'a> {
    id: &'a str,
    user: &'a str,
    /// Left out only by an invalid record.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    created_at: &'a str,
    hashtags: &'a [&'static str],
    lang: &'a str,
}

/// Draws one tweet: mood, topic, template, slots, then optional mention, URL and hashtags.
pub fn compose(rng: &mut Rng, users: u32) -> Tweet {
    let user = rng.popular(u64::from(users)) as u32 + 1;
    let sentiment = rng.pick_weighted(&MOOD);
    let topic = &TOPICS[rng.below(TOPICS.len() as u64) as usize];
    let subject = rng.pick(topic.subjects);
    let specific = rng.chance(0.25);
    let (template, closers) = match sentiment {
        Sentiment::Positive if specific => (topic.positive, &CLOSERS_POSITIVE),
        Sentiment::Positive => (rng.pick(&POSITIVE), &CLOSERS_POSITIVE),
        Sentiment::Neutral if specific => (topic.neutral, &CLOSERS_NEUTRAL),
        Sentiment::Neutral => (rng.pick(&NEUTRAL), &CLOSERS_NEUTRAL),
        Sentiment::Negative if specific => (topic.negative, &CLOSERS_NEGATIVE),
        Sentiment::Negative => (rng.pick(&NEGATIVE), &CLOSERS_NEGATIVE),
    };

    let mut text = String::with_capacity(MAX_TEXT);
    // A reply: Twitter puts the handle first (unless the template names someone already).
    if rng.chance(0.1) && !template.contains("{m}") {
        text.push_str(rng.pick(&MENTIONS));
        text.push(' ');
    }
    expand(rng, template, subject, &mut text);
    let first = rng.below(closers.len() as u64) as usize;
    for closer in closers.iter().cycle().skip(first).take(closers.len()) {
        if text.len() >= MIN_TEXT {
            break;
        }
        if text.ends_with(|c: char| c.is_alphanumeric()) {
            text.push('.');
        }
        text.push(' ');
        text.push_str(closer);
    }
    if rng.chance(0.08) {
        let mut url = String::from(" https://t.co/");
        for _ in 0..10 {
            url.push(rng.pick(&URL_CHARS) as char);
        }
        push_if_room(&mut text, &url);
    }
    let mut hashtags = Vec::new();
    let n_tags = rng.pick_weighted(&[(0usize, 45), (1, 40), (2, 15)]);
    for _ in 0..n_tags {
        let tag = if rng.chance(0.7) {
            rng.pick(topic.tags)
        } else {
            rng.pick(&GENERAL_TAGS)
        };
        if !hashtags.contains(&tag) && text.len() + tag.len() + 2 <= MAX_TEXT {
            text.push_str(" #");
            text.push_str(tag);
            hashtags.push(tag);
        }
    }
    Tweet {
        sentiment,
        user,
        text,
        hashtags,
    }
}

const URL_CHARS: [u8; 62] = *b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Writes tweet `index` as JSON into `out` and returns its Kafka key (the user id).
pub fn write_record(
    rng: &mut Rng,
    users: u32,
    index: u64,
    created_at: &str,
    out: &mut Vec<u8>,
) -> Vec<u8> {
    write_record_with(rng, users, index, created_at, None, out)
}

/// [`write_record`], breaking rule `invalid` of the schema if given (no `text`, an
/// empty `text`, `lang` "xx" or a bad `created_at`).
pub fn write_record_with(
    rng: &mut Rng,
    users: u32,
    index: u64,
    created_at: &str,
    invalid: Option<Invalid>,
    out: &mut Vec<u8>,
) -> Vec<u8> {
    let tweet = compose(rng, users);
    let id = format!("tw-{}", index + 1);
    let user = format!("user_{}", tweet.user);
    let record = Record {
        id: &id,
        user: &user,
        text: Invalid::required(invalid, Invalid::ranged(invalid, tweet.text.as_str(), "")),
        created_at: Invalid::timestamp(invalid, created_at),
        hashtags: &tweet.hashtags,
        lang: Invalid::enumerated(invalid, "en", invalid::UNKNOWN_LANG),
    };
    crate::write_json(out, &record);
    user.into_bytes()
}

fn push_if_room(text: &mut String, part: &str) {
    if text.len() + part.len() <= MAX_TEXT {
        text.push_str(part);
    }
}

/// Fills a template's `{slot}`s in order, drawing each from `rng`.
fn expand(rng: &mut Rng, template: &str, subject: &str, out: &mut String) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').unwrap_or(after.len());
        match &after[..close] {
            "s" => out.push_str(subject),
            "S" => push_capitalised(out, subject),
            "p" => out.push_str(rng.pick(&POSITIVE_ADJ)),
            "P" => push_capitalised(out, rng.pick(&POSITIVE_ADJ)),
            "n" => out.push_str(rng.pick(&NEGATIVE_ADJ)),
            "N" => push_capitalised(out, rng.pick(&NEGATIVE_ADJ)),
            "i" => out.push_str(rng.pick_weighted(&INTENSIFIERS)),
            "l" => out.push_str(rng.pick(&LOVE)),
            "w" => out.push_str(rng.pick(&WHEN)),
            "d" => out.push_str(rng.pick(&DAYS)),
            "m" => out.push_str(rng.pick(&MENTIONS)),
            "x" => out.push_str(rng.pick_weighted(&EXCLAIM)),
            "e" => out.push_str(rng.pick_weighted(&EMOJI_POSITIVE)),
            "E" => out.push_str(rng.pick_weighted(&EMOJI_NEGATIVE)),
            "u" => out.push_str(rng.pick_weighted(&EMOJI_NEUTRAL)),
            // Templates are constants checked by the tests; keep unknown text verbatim.
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
}

fn push_capitalised(out: &mut String, word: &str) {
    let mut chars = word.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.push_str(chars.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSITIVE_WORDS: [&str; 14] = [
        "love",
        "loving",
        "great",
        "awesome",
        "amazing",
        "excellent",
        "fantastic",
        "wonderful",
        "perfect",
        "brilliant",
        "happy",
        "best",
        "smiling",
        "recommend",
    ];
    const NEGATIVE_WORDS: [&str; 14] = [
        "hate",
        "terrible",
        "awful",
        "horrible",
        "disappointing",
        "disappointed",
        "annoying",
        "useless",
        "frustrating",
        "worst",
        "broken",
        "bad",
        "waste",
        "lost",
    ];

    fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    }

    fn has_any(text: &str, lexicon: &[&str]) -> bool {
        words(text).iter().any(|w| lexicon.contains(&w.as_str()))
    }

    fn sample(n: usize) -> Vec<Tweet> {
        let mut rng = Rng::new(42);
        (0..n).map(|_| compose(&mut rng, 1_000)).collect()
    }

    #[test]
    fn mood_mix_is_about_50_30_20() {
        let tweets = sample(10_000);
        let count = |s| tweets.iter().filter(|t| t.sentiment == s).count();
        let (pos, neu, neg) = (
            count(Sentiment::Positive),
            count(Sentiment::Neutral),
            count(Sentiment::Negative),
        );
        assert!((4_700..5_300).contains(&pos), "positive {pos}");
        assert!((2_700..3_300).contains(&neu), "neutral {neu}");
        assert!((1_700..2_300).contains(&neg), "negative {neg}");
    }

    #[test]
    fn texts_carry_the_words_of_their_mood() {
        for t in sample(5_000) {
            let lower = t.text.to_lowercase();
            match t.sentiment {
                Sentiment::Positive => {
                    assert!(has_any(&t.text, &POSITIVE_WORDS), "{}", t.text)
                }
                Sentiment::Negative => assert!(
                    has_any(&t.text, &NEGATIVE_WORDS)
                        || lower.contains("don't like")
                        || lower.contains("not happy"),
                    "{}",
                    t.text
                ),
                Sentiment::Neutral => {
                    assert!(!has_any(&t.text, &POSITIVE_WORDS), "{}", t.text);
                    assert!(!has_any(&t.text, &NEGATIVE_WORDS), "{}", t.text);
                }
            }
        }
    }

    #[test]
    fn texts_have_the_flavour_of_real_tweets() {
        let tweets = sample(5_000);
        let share = |f: &dyn Fn(&Tweet) -> bool| tweets.iter().filter(|t| f(t)).count();
        assert!(share(&|t| t.text.contains('!')) > 1_000);
        assert!(share(&|t| t.text.contains('@')) > 200);
        assert!(share(&|t| t.text.contains("https://t.co/")) > 200);
        assert!(share(&|t| t.text.contains("not bad") || t.text.contains("Not bad")) > 50);
        assert!(share(&|t| t.text.contains("don't like")) > 50);
        assert!(share(&|t| t.text.contains("really ") || t.text.contains("so ")) > 500);
        for emoji in ["😍", "😡", "👍", "🔥"] {
            assert!(share(&|t| t.text.contains(emoji)) > 50, "{emoji}");
        }
        for tag in ["tech", "coffee", "music", "monday"] {
            assert!(share(&|t| t.hashtags.contains(&tag)) > 20, "{tag}");
        }
    }

    #[test]
    fn texts_are_40_to_200_bytes_with_0_to_2_hashtags_shown_in_the_text() {
        for t in sample(10_000) {
            assert!((MIN_TEXT..=MAX_TEXT).contains(&t.text.len()), "{}", t.text);
            assert!(t.hashtags.len() <= 2, "{:?}", t.hashtags);
            for tag in &t.hashtags {
                assert!(t.text.contains(&format!("#{tag}")), "{}", t.text);
            }
            assert!(!t.text.contains('{') && !t.text.contains('}'), "{}", t.text);
            assert!((1..=1_000).contains(&t.user));
        }
    }

    #[test]
    fn records_are_json_with_the_seed_000_fields() {
        let mut rng = Rng::new(5);
        let mut out = Vec::new();
        let key = write_record(&mut rng, 1_000, 0, "2026-01-01 00:00:00", &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(v["id"], "tw-1");
        assert_eq!(v["user"].as_str().map(str::as_bytes), Some(key.as_slice()));
        assert!(v["text"].is_string());
        assert_eq!(v["created_at"], "2026-01-01 00:00:00");
        assert!(v["hashtags"].is_array());
        assert_eq!(v["lang"], "en");
    }
}
