//! Compiles VADER's data files (`data/`) into lookup tables at build time, so the plugin
//! neither embeds the 430 KB text files nor parses them at `init`:
//!
//! - the word table: every reachable lexicon word plus the rule words of `src/rules.rs`,
//!   in a perfect hash (hash-and-displace over `src/phf.rs`'s hash); each 16-byte slot
//!   holds the key's first eight bytes, its length, valence in tenths, rule flags, idiom
//!   id and where the rest of a longer key sits, so most probes touch one cache line;
//! - the emoji table: the single-code-point emoji, sorted, with their descriptions.
//!
//! Files are read the way vaderSentiment 3.3.2 reads them (later duplicates win).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[allow(dead_code)]
#[path = "src/phf.rs"]
mod phf;
#[allow(dead_code)]
#[path = "src/rules.rs"]
mod rules;

use phf::KEY_WORDS;
use rules::flag;

/// Table size: the next power of two above the ~7,600 keys (load about 0.93).
const SLOT_BITS: u32 = 13;
/// About four keys per bucket.
const BUCKET_BITS: u32 = 11;

#[derive(Debug, Clone, Copy, Default)]
struct Word {
    tenths: i8,
    flags: u16,
    idiom: u8,
}

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for f in [
        "data/vader_lexicon.txt",
        "data/emoji_utf8_lexicon.txt",
        "src/rules.rs",
        "src/phf.rs",
    ] {
        println!("cargo:rerun-if-changed={f}");
    }
    let read = |f: &str| {
        std::fs::read_to_string(Path::new(&dir).join(f))
            .unwrap_or_else(|e| panic!("cannot read {f}: {e}"))
    };
    let words = words(&read("data/vader_lexicon.txt"));
    let mut code = String::new();
    word_table(&words, &mut code);
    emoji_table(&read("data/emoji_utf8_lexicon.txt"), &out, &mut code);
    std::fs::write(Path::new(&out).join("tables.rs"), code).expect("write tables.rs");
}

/// Python's `str.strip(string.punctuation)`.
fn strip_punct(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_punctuation())
}

/// The lexicon words a token can ever be looked up as, plus the rule words.
fn words(lexicon: &str) -> BTreeMap<String, Word> {
    let mut words: BTreeMap<String, Word> = BTreeMap::new();
    let (mut lines, mut unreachable) = (0, Vec::new());
    for line in lexicon.trim_end_matches('\n').split('\n') {
        if line.is_empty() {
            continue;
        }
        lines += 1;
        let mut fields = line.trim().split('\t');
        let (Some(word), Some(measure)) = (fields.next(), fields.next()) else {
            panic!("lexicon line without a tab: {line:?}");
        };
        let valence: f64 = measure
            .parse()
            .unwrap_or_else(|_| panic!("bad valence {measure:?} for {word:?}"));
        let tenths = (valence * 10.0).round();
        // Stored in tenths; dividing by 10 must give back the very double Python parses.
        assert!(
            (-128.0..=127.0).contains(&tenths) && tenths / 10.0 == valence,
            "valence {measure} of {word:?} is not a whole number of tenths"
        );
        // VADER looks up `token.lower()`, and tokens have no whitespace and lose their edge
        // punctuation unless two characters or fewer remain: other entries never match.
        let stripped = strip_punct(word);
        let reachable = word.to_lowercase() == word
            && !word.contains(char::is_whitespace)
            && (stripped == word || stripped.chars().count() <= 2);
        if !reachable {
            unreachable.push(word.to_owned());
            continue;
        }
        let w = words.entry(word.to_owned()).or_default();
        w.tenths = tenths as i8;
        w.flags |= flag::LEXICON;
    }
    assert!(lines > 7000, "lexicon has only {lines} lines");
    assert!(unreachable.len() < 40, "unreachable: {unreachable:?}");
    let mut add = |w: &str, f: u16| words.entry(w.to_owned()).or_default().flags |= f;
    for w in rules::BOOSTERS_UP {
        add(w, flag::BOOST_UP);
    }
    for w in rules::BOOSTERS_DOWN {
        add(w, flag::BOOST_DOWN);
    }
    for w in rules::NEGATE {
        add(w, flag::NEGATE);
    }
    for &(w, f) in rules::FLAG_WORDS {
        add(w, f);
    }
    for &(w, id) in rules::IDIOM_WORDS {
        words.entry(w.to_owned()).or_default().idiom = id;
    }
    words
}

/// Finds a displacement per bucket that sends every key to its own slot.
fn perfect_hash(keys: &[&str]) -> (u64, Vec<u16>, Vec<u32>) {
    let mask = (1usize << SLOT_BITS) - 1;
    'seed: for seed in 0u64..1000 {
        let hashes: Vec<u64> = keys
            .iter()
            .map(|k| phf::hash(&phf::pack(k.as_bytes()), k.len(), seed))
            .collect();
        let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); 1 << BUCKET_BITS];
        for (i, &h) in hashes.iter().enumerate() {
            buckets[phf::bucket(h, BUCKET_BITS)].push(i);
        }
        let mut order: Vec<usize> = (0..buckets.len()).collect();
        order.sort_by_key(|&b| std::cmp::Reverse(buckets[b].len()));
        let mut disp = vec![0u16; buckets.len()];
        // Slot -> key index + 1; 0 is empty.
        let mut slots = vec![0u32; mask + 1];
        let mut taken = Vec::new();
        for b in order {
            if buckets[b].is_empty() {
                break;
            }
            let placed = (0..=u16::MAX).find(|&d| {
                taken.clear();
                for &k in &buckets[b] {
                    let s = phf::slot(hashes[k], d, mask);
                    if slots[s] != 0 || taken.contains(&s) {
                        return false;
                    }
                    taken.push(s);
                }
                true
            });
            let Some(d) = placed else {
                continue 'seed;
            };
            disp[b] = d;
            for &k in &buckets[b] {
                slots[phf::slot(hashes[k], d, mask)] = k as u32 + 1;
            }
        }
        return (seed, disp, slots);
    }
    panic!("no perfect hash found for {} keys", keys.len());
}

fn word_table(words: &BTreeMap<String, Word>, code: &mut String) {
    let keys: Vec<&str> = words.keys().map(String::as_str).collect();
    let longest = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    assert!(
        longest < 8 * KEY_WORDS,
        "key of {longest} bytes; raise KEY_WORDS"
    );
    let (seed, disp, slots) = perfect_hash(&keys);

    // Per slot two words: the key's first eight bytes, then
    // rest offset << 40 | flags << 24 | idiom << 16 | tenths << 8 | length.
    let (mut slot_col, mut rest) = (String::new(), Vec::new());
    for &s in &slots {
        let (first, meta) = match s.checked_sub(1) {
            Some(i) => {
                let key = keys[i as usize];
                let packed = phf::pack(key.as_bytes());
                let w = words[key];
                let off = rest.len() as u64;
                rest.extend_from_slice(&packed[1..key.len().div_ceil(8).max(1)]);
                assert!(off < 1 << 24);
                let meta = off << 40
                    | u64::from(w.flags) << 24
                    | u64::from(w.idiom) << 16
                    | u64::from(w.tenths as u8) << 8
                    | key.len() as u64;
                (packed[0], meta)
            }
            None => (0, 0),
        };
        write!(slot_col, "{first},{meta},").expect("string write");
    }
    let rest: Vec<String> = rest.iter().map(u64::to_string).collect();
    let disp: Vec<String> = disp.iter().map(u16::to_string).collect();
    let lexicon_words = words
        .values()
        .filter(|w| w.flags & flag::LEXICON != 0)
        .count();
    writeln!(
        code,
        "/// Seed of the word table's hash.\npub const SEED: u64 = {seed};\n\
         /// log2 of the number of slots.\npub const SLOT_BITS: u32 = {SLOT_BITS};\n\
         /// log2 of the number of buckets.\npub const BUCKET_BITS: u32 = {BUCKET_BITS};\n\
         /// Longest key, in bytes.\npub const MAX_KEY: usize = {longest};\n\
         /// Words in the table (lexicon and rule words).\npub const WORDS: usize = {};\n\
         /// Words with a valence.\npub const LEXICON_WORDS: usize = {lexicon_words};\n\
         /// Displacement per bucket.\npub static DISP: [u16; {}] = [{}];\n\
         /// Two words per slot: first eight key bytes, then offset << 40 | flags << 24 | idiom << 16 | tenths << 8 | length (0: empty).\npub static SLOTS: [u64; {}] = [{slot_col}];\n\
         /// Words 2.. of keys longer than eight bytes.\npub static REST: [u64; {}] = [{}];",
        keys.len(),
        disp.len(),
        disp.join(","),
        2 * slots.len(),
        rest.len(),
        rest.join(","),
    )
    .expect("string write");
}

fn emoji_table(table: &str, out: &str, code: &mut String) {
    let mut emoji: BTreeMap<u32, String> = BTreeMap::new();
    for line in table.trim_end_matches('\n').split('\n') {
        let mut fields = line.trim().split('\t');
        let (Some(e), Some(desc)) = (fields.next(), fields.next()) else {
            panic!("emoji line without a tab: {line:?}");
        };
        // VADER replaces one code point at a time: longer sequences never match.
        let mut chars = e.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            emoji.insert(c as u32, desc.to_owned());
        }
    }
    assert!(emoji.len() > 1000, "only {} emoji", emoji.len());
    let mut text = String::new();
    let (mut codes, mut descs) = (String::new(), String::new());
    for (c, d) in &emoji {
        assert!(d.len() < 256 && text.len() < 1 << 24);
        write!(codes, "{c},").expect("string write");
        write!(descs, "{},", (text.len() as u32) << 8 | d.len() as u32).expect("string write");
        text.push_str(d);
    }
    std::fs::write(Path::new(out).join("emoji_text.txt"), &text).expect("write emoji text");
    writeln!(
        code,
        "/// Emoji code points, ascending.\npub static EMOJI: [u32; {n}] = [{codes}];\n\
         /// Per emoji: description offset << 8 | length.\npub static EMOJI_DESC: [u32; {n}] = [{descs}];\n\
         /// The descriptions, back to back.\npub static EMOJI_TEXT: &str = include_str!(concat!(env!(\"OUT_DIR\"), \"/emoji_text.txt\"));",
        n = emoji.len(),
    )
    .expect("string write");
}
