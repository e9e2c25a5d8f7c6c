//! Hand-written tweets whose label no reader would argue with: the scorer must get them all.

use sentiment::score::{DEFAULT_NEUTRAL_THRESHOLD, Label, Scorer};

use Label::{Negative, Neutral, Positive};

const CASES: &[(&str, Label)] = &[
    ("I love this new phone!", Positive),
    (
        "Best concert of my life, the band was AMAZING 🎉🎉",
        Positive,
    ),
    ("Congrats to the whole team, well deserved :)", Positive),
    ("lol this is hilarious 😂", Positive),
    ("Had a wonderful time with friends tonight ❤️", Positive),
    (
        "The new update is really smooth and fast, great job devs 👍",
        Positive,
    ),
    ("Not bad at all, actually pretty good", Positive),
    ("Coffee was cold but the croissant was delicious", Positive),
    ("so grateful for everyone who came out today 🙏", Positive),
    ("This is the worst service I have ever had.", Negative),
    ("ugh my flight got delayed again smh", Negative),
    ("I hate Mondays 😡", Negative),
    ("The movie was boring and way too long :(", Negative),
    ("My phone broke and I lost all my photos 💔", Negative),
    (
        "Not happy with the customer support, nobody answers",
        Negative,
    ),
    ("The pizza looked great but it tasted awful", Negative),
    ("This update is USELESS, everything crashes", Negative),
    ("feeling sad and lonely tonight 😢", Negative),
    ("What a disaster of a game, terrible defense", Negative),
    ("The meeting is at 3pm in room 204", Neutral),
    ("Just landed in Chicago", Neutral),
    ("New blog post is up, link in bio", Neutral),
    ("Reading the report on the train", Neutral),
    ("The store opens at 9 tomorrow", Neutral),
    ("@anna did you get the package?", Neutral),
];

#[test]
fn known_tweets_get_the_obvious_label() {
    let mut scorer = Scorer::new();
    let mut wrong = Vec::new();
    for &(text, want) in CASES {
        let c = scorer.compound(text);
        let got = Label::from_compound(c, DEFAULT_NEUTRAL_THRESHOLD);
        if got != want {
            wrong.push(format!("{text:?}: want {want:?}, got {got:?} ({c:.4})"));
        }
    }
    assert!(CASES.len() >= 20);
    assert!(wrong.is_empty(), "mislabelled:\n{}", wrong.join("\n"));
}
