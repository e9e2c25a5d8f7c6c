//! Sluice's synthetic source: a seeded, deterministic generator of the seed workloads
//! (tweets for seed 000; ecommerce, IoT and SaaS events for seed 001; ecommerce
//! clickstream for seed 002), run by `host generate` to fill Kafka.
//!
//! Layout: [`config`] parses the `init` string, [`rng`] is the only randomness,
//! [`datetime`] turns record numbers into event times, one module per kind
//! ([`tweets`], [`clickstream`], [`ecommerce`], [`iot`], [`saas`]) writes one record
//! each, [`invalid`] and [`malformed`] spoil chosen records on purpose (schema-breaking
//! and unparseable), and [`Generator`] strings them into batches. The WIT export glue
//! sits at the bottom.
//!
//! Record `i` depends only on the config, the seed and records `0..i`: how the host
//! slices the stream into batches never changes a byte.
//!
//! Config (JSON, every key optional, empty string for all defaults):
//! `{"kind":"clickstream","count":100000,"start_ms":1767225600000,"interval_ms":10,
//! "users":500,"malformed_every":1000,"invalid_every":250}`. See [`config::Config`] for
//! each field.
//! To look at a stream: `cargo run -p generator --example sample -- '{"kind":"tweets"}' 42 20`.

pub mod clickstream;
pub mod config;
pub mod datetime;
pub mod ecommerce;
pub mod invalid;
pub mod iot;
pub mod malformed;
pub mod rng;
pub mod saas;
pub mod tweets;

use std::fmt::Write as _;

use serde::Serialize;

use crate::clickstream::Clickstream;
use crate::config::{Config, ConfigError, Kind};
use crate::ecommerce::Ecommerce;
use crate::iot::Iot;
use crate::malformed::Breakage;
use crate::rng::Rng;
use crate::saas::Saas;

/// Most records one `next-batch` call returns, whatever `max` asks for, so that a
/// host asking for `u32::MAX` gets a bounded allocation instead of an endless one.
pub const MAX_BATCH: u32 = 10_000;

/// One record to produce; its value sits in [`Batch::values`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Kafka key: the user id (the device id for `iot`, the tenant id for `saas`), so one
    /// actor's records share a partition.
    pub key: Vec<u8>,
    /// Length of this record's value.
    pub value_len: u32,
}

/// A batch in the WIT `generated` layout, without depending on the bindings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Record envelopes in production order.
    pub messages: Vec<Message>,
    /// Every value, concatenated in message order.
    pub values: Vec<u8>,
}

impl Batch {
    /// The value bytes of each message, in order; tests and tools read batches this way.
    pub fn values(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0usize;
        self.messages.iter().map(move |m| {
            let end = start + m.value_len as usize;
            let value = &self.values[start..end];
            start = end;
            value
        })
    }
}

/// The per-kind part of the generator's state.
#[derive(Debug)]
enum Workload {
    /// Tweets need no memory between records.
    Tweets,
    /// Clickstream remembers sessions and carts.
    Clickstream(Clickstream),
    /// Ecommerce remembers views, carts and purchases.
    Ecommerce(Ecommerce),
    /// IoT remembers each device's drift and battery.
    Iot(Iot),
    /// SaaS remembers only its tenants' sizes.
    Saas(Saas),
}

/// A running generator: the config, the random stream and how far it has got.
#[derive(Debug)]
pub struct Generator {
    config: Config,
    rng: Rng,
    /// Number of the next record, 0-based.
    next: u64,
    workload: Workload,
    /// Reused buffer for the record's timestamp text.
    timestamp: String,
}

impl Generator {
    /// Parses `config` and starts the stream for `seed`.
    pub fn new(config: &str, seed: u64) -> Result<Self, ConfigError> {
        let config = Config::parse(config)?;
        let workload = match config.kind {
            Kind::Tweets => Workload::Tweets,
            Kind::Clickstream => Workload::Clickstream(Clickstream::new(config.users)),
            Kind::Ecommerce => Workload::Ecommerce(Ecommerce::new(config.users)),
            Kind::Iot => Workload::Iot(Iot::new(config.users)),
            Kind::Saas => Workload::Saas(Saas::new(config.users)),
        };
        Ok(Self {
            rng: Rng::new(seed ^ stream_salt(config.kind)),
            config,
            next: 0,
            workload,
            timestamp: String::with_capacity(19),
        })
    }

    /// Number of records produced so far.
    pub fn produced(&self) -> u64 {
        self.next
    }

    /// The next up to `max` records (at most [`MAX_BATCH`]); empty once `count` is reached.
    pub fn next_batch(&mut self, max: u32) -> Batch {
        let remaining = self
            .config
            .count
            .map_or(u64::MAX, |c| c.saturating_sub(self.next));
        let n = u64::from(max.min(MAX_BATCH)).min(remaining) as usize;
        let mut batch = Batch {
            messages: Vec::with_capacity(n),
            values: Vec::with_capacity(n * 256),
        };
        for _ in 0..n {
            let start = batch.values.len();
            let key = self.write_record(&mut batch.values);
            batch.messages.push(Message {
                key,
                value_len: (batch.values.len() - start) as u32,
            });
        }
        batch
    }

    /// Writes record `self.next` to the end of `out` and returns its key.
    fn write_record(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let index = self.next;
        self.next += 1;
        let ms = datetime::event_ms(self.config.start_ms, self.config.interval_ms, index);
        self.timestamp.clear();
        datetime::write_datetime(&mut self.timestamp, ms);

        // Invalid records, like broken ones, draw the same random numbers as good ones.
        let invalid = self.config.invalid(index);
        let rng = &mut self.rng;
        let stamp = self.timestamp.as_str();
        let start = out.len();
        let key = match &mut self.workload {
            Workload::Tweets => {
                tweets::write_record_with(rng, self.config.users, index, stamp, invalid, out)
            }
            Workload::Clickstream(shop) => shop.write_record_with(rng, ms, stamp, invalid, out),
            Workload::Ecommerce(shop) => shop.write_record(rng, stamp, invalid, out),
            Workload::Iot(fleet) => fleet.write_record(rng, ms, stamp, invalid, out),
            Workload::Saas(saas) => saas.write_record(rng, stamp, invalid, out),
        };
        // Broken records draw the same random numbers as good ones, so switching
        // `malformed_every` on leaves every other record byte-identical.
        if let Some(every) = self.config.malformed_every
            && (index + 1).is_multiple_of(every)
        {
            malformed::corrupt(out, start, Breakage::for_nth((index + 1) / every - 1));
        }
        key
    }
}

/// Mixed into the seed so that kinds generated with one seed (the three seed-001 topics,
/// say) get unrelated streams rather than the same draws in different clothes. The
/// older kinds keep 0 so their pinned streams never change.
fn stream_salt(kind: Kind) -> u64 {
    match kind {
        Kind::Tweets | Kind::Clickstream => 0,
        Kind::Ecommerce => 0xEC0A_3E5C_0001_0001,
        Kind::Iot => 0x10D7_5E45_0001_0002,
        Kind::Saas => 0x5AA5_7E1E_0001_0003,
    }
}

/// Formats 128 random bits as a version-4 UUID, so ClickHouse's `UUID` type accepts it.
pub(crate) fn write_uuid(out: &mut String, (hi, lo): (u64, u64)) {
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    let _ = write!(
        out,
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    );
}

/// Appends `value` as JSON. Our records hold only strings and numbers and a `Vec`
/// cannot fail to grow, so an error is impossible; if one came, the value stays empty.
pub(crate) fn write_json<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
    }
}

/// The SDK's generator export: config errors keep their code and message.
impl sluice_plugin::Generate for Generator {
    fn init(config: &str, seed: u64) -> Result<Self, sluice_plugin::ConfigError> {
        Generator::new(config, seed).map_err(|e| sluice_plugin::ConfigError {
            code: ConfigError::CODE.to_owned(),
            message: e.message,
        })
    }

    fn next_batch(&mut self, max: u32, out: &mut sluice_plugin::Records) {
        let batch = Generator::next_batch(self, max);
        out.extend_framed(
            batch
                .messages
                .into_iter()
                .map(|m| (Some(m.key), m.value_len)),
            &batch.values,
        );
    }
}

sluice_plugin::export_generator!(Generator);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Invalid;

    fn all_values(config: &str, seed: u64, batch: u32) -> Vec<Vec<u8>> {
        let mut g = Generator::new(config, seed).expect("config");
        let mut out = Vec::new();
        loop {
            let b = g.next_batch(batch);
            if b.messages.is_empty() {
                return out;
            }
            out.extend(b.values().map(<[u8]>::to_vec));
        }
    }

    fn concat(config: &str, seed: u64, batch: u32) -> Vec<u8> {
        all_values(config, seed, batch).concat()
    }

    const KINDS: [&str; 5] = [
        r#"{"kind":"tweets","count":3000}"#,
        r#"{"kind":"clickstream","count":3000}"#,
        r#"{"kind":"ecommerce","count":3000}"#,
        r#"{"kind":"iot","count":3000}"#,
        r#"{"kind":"saas","count":3000}"#,
    ];

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        for config in KINDS {
            let a = concat(config, 7, 500);
            assert_eq!(a, concat(config, 7, 500), "{config}");
            assert_ne!(a, concat(config, 8, 500), "{config}");
        }
    }

    #[test]
    fn batch_sizes_do_not_change_the_stream() {
        for config in KINDS {
            let reference = all_values(config, 1, MAX_BATCH);
            for size in [1, 7, 100, 2999, u32::MAX] {
                assert_eq!(
                    all_values(config, 1, size),
                    reference,
                    "{config} batch {size}"
                );
            }
            // Irregular pulls, as a host adapting to backpressure would make.
            let mut g = Generator::new(config, 1).expect("config");
            let mut keys = Vec::new();
            let mut values = Vec::new();
            for size in [1, 0, 13, 250, 2, 999].iter().cycle() {
                let b = g.next_batch(*size);
                if b.messages.is_empty() && *size > 0 {
                    break;
                }
                keys.extend(b.messages.iter().map(|m| m.key.clone()));
                values.extend(b.values().map(<[u8]>::to_vec));
            }
            assert_eq!(values, reference, "{config} irregular");
            assert_eq!(keys.len(), 3000);
        }
    }

    /// FNV-1a over the keys and values of a stream: a short fingerprint to pin.
    fn fingerprint(config: &str, seed: u64) -> u64 {
        let mut g = Generator::new(config, seed).expect("config");
        let mut hash = 0xcbf2_9ce4_8422_2325_u64;
        let b = g.next_batch(MAX_BATCH);
        for byte in b
            .messages
            .iter()
            .flat_map(|m| m.key.iter())
            .chain(&b.values)
        {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        hash
    }

    #[test]
    fn golden_streams_never_change() {
        // Pinned output: if this fails, every stream for every seed has changed, and
        // recorded benchmarks and dashboards no longer match. Change it only on purpose.
        let tweet = all_values(r#"{"kind":"tweets","count":1}"#, 0, 1);
        let click = all_values(r#"{"kind":"clickstream","count":1}"#, 0, 1);
        assert_eq!(String::from_utf8_lossy(&tweet[0]), GOLDEN_TWEET);
        assert_eq!(String::from_utf8_lossy(&click[0]), GOLDEN_CLICK);
        let tweets = fingerprint(
            r#"{"kind":"tweets","count":5000,"malformed_every":100}"#,
            42,
        );
        let clicks = fingerprint(r#"{"kind":"clickstream","count":5000}"#, 42);
        assert_eq!(
            (tweets, clicks),
            GOLDEN_FINGERPRINTS,
            "{tweets:#x}, {clicks:#x}"
        );
    }

    const GOLDEN_TWEET: &str = r#"{"id":"tw-1","user":"user_432","text":"I love the new album!!! Totally worth it. #life","created_at":"2026-01-01 00:00:00","hashtags":["life"],"lang":"en"}"#;
    const GOLDEN_CLICK: &str = r#"{"event_id":"f88bb8a8-724c-41ec-9b39-896a51a8749b","event_type":"page_view","user_id":"user_0216","product_id":"prod_50","price":87.99,"quantity":1,"timestamp":"2026-01-01 00:00:00","url":"/product/50","referrer":"google.com","session_id":"s-53cb9f0c747ea2eb"}"#;
    const GOLDEN_FINGERPRINTS: (u64, u64) = (0xdbb1_25f0_5243_f335, 0x019a_10c8_d12b_0a97);

    #[test]
    fn count_is_honoured_then_batches_stay_empty() {
        let mut g = Generator::new(r#"{"kind":"tweets","count":25}"#, 3).expect("config");
        assert_eq!(g.next_batch(10).messages.len(), 10);
        assert_eq!(g.next_batch(10).messages.len(), 10);
        assert_eq!(g.next_batch(10).messages.len(), 5);
        assert!(g.next_batch(10).messages.is_empty());
        assert!(g.next_batch(10).values.is_empty());
        assert_eq!(g.produced(), 25);

        let mut g = Generator::new(r#"{"count":0}"#, 3).expect("config");
        assert!(g.next_batch(10).messages.is_empty());
    }

    #[test]
    fn unlimited_streams_cap_each_batch() {
        let mut g = Generator::new("", 3).expect("config");
        let b = g.next_batch(u32::MAX);
        assert_eq!(b.messages.len(), MAX_BATCH as usize);
        assert_eq!(g.next_batch(5).messages.len(), 5);
    }

    #[test]
    fn every_record_is_json_with_its_kind_fields_and_a_user_key() {
        let cases: [(&str, &[&str], &str); 5] = [
            (
                r#"{"kind":"tweets","count":2000}"#,
                &["id", "user", "text", "created_at", "hashtags", "lang"],
                "user",
            ),
            (
                r#"{"kind":"clickstream","count":2000}"#,
                &[
                    "event_id",
                    "event_type",
                    "user_id",
                    "product_id",
                    "price",
                    "quantity",
                    "timestamp",
                    "url",
                    "referrer",
                    "session_id",
                ],
                "user_id",
            ),
            (
                r#"{"kind":"ecommerce","count":2000}"#,
                &[
                    "event_id",
                    "event_type",
                    "user_id",
                    "product_id",
                    "category",
                    "price",
                    "quantity",
                    "currency",
                    "user_agent",
                    "ip",
                    "timestamp",
                ],
                "user_id",
            ),
            (
                r#"{"kind":"iot","count":2000}"#,
                &[
                    "event_id",
                    "device_id",
                    "sensor",
                    "value",
                    "unit",
                    "battery",
                    "site",
                    "timestamp",
                ],
                "device_id",
            ),
            (
                r#"{"kind":"saas","count":2000}"#,
                &[
                    "event_id",
                    "tenant_id",
                    "user_id",
                    "event_type",
                    "plan",
                    "feature",
                    "latency_ms",
                    "status",
                    "timestamp",
                ],
                "tenant_id",
            ),
        ];
        for (config, fields, key_field) in cases {
            let mut g = Generator::new(config, 11).expect("config");
            let b = g.next_batch(2000);
            assert_eq!(b.messages.len(), 2000);
            for (m, value) in b.messages.iter().zip(b.values()) {
                let v: serde_json::Value = serde_json::from_slice(value).expect("valid JSON");
                let obj = v.as_object().expect("object");
                let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
                let mut want = fields.to_vec();
                want.sort_unstable();
                assert_eq!(keys, want, "{config}");
                assert_eq!(
                    obj[key_field].as_str().map(str::as_bytes),
                    Some(m.key.as_slice())
                );
            }
        }
    }

    #[test]
    fn timestamps_follow_start_and_interval() {
        // 2028-02-28 23:59:58, one record every 1.5 s: crosses into the leap day.
        let config =
            r#"{"kind":"clickstream","count":4,"start_ms":1835395198000,"interval_ms":1500}"#;
        let stamps: Vec<String> = all_values(config, 0, 10)
            .iter()
            .map(|v| {
                let v: serde_json::Value = serde_json::from_slice(v).expect("json");
                v["timestamp"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(
            stamps,
            [
                "2028-02-28 23:59:58",
                "2028-02-28 23:59:59",
                "2028-02-29 00:00:01",
                "2028-02-29 00:00:02",
            ]
        );
    }

    #[test]
    fn malformed_every_breaks_exactly_those_records_and_nothing_else() {
        for kind in ["tweets", "clickstream"] {
            let clean = all_values(&format!(r#"{{"kind":"{kind}","count":100}}"#), 5, 30);
            let dirty = all_values(
                &format!(r#"{{"kind":"{kind}","count":100,"malformed_every":7}}"#),
                5,
                30,
            );
            assert_eq!(dirty.len(), 100);
            for (i, (c, d)) in clean.iter().zip(&dirty).enumerate() {
                let parsed = serde_json::from_slice::<serde_json::Value>(d);
                if (i + 1) % 7 == 0 {
                    assert!(parsed.is_err(), "{kind} record {i} should be broken");
                    assert!(std::str::from_utf8(d).is_ok());
                } else {
                    assert!(parsed.is_ok(), "{kind} record {i} should be valid");
                    assert_eq!(c, d, "{kind} record {i} changed");
                }
            }
        }
    }

    #[test]
    fn seed_001_streams_never_change() {
        // Pinned like the older kinds: change only on purpose, with the seed 001 tables.
        let pins: Vec<u64> = ["ecommerce", "iot", "saas"]
            .iter()
            .map(|kind| {
                fingerprint(
                    &format!(r#"{{"kind":"{kind}","count":5000,"invalid_every":97}}"#),
                    42,
                )
            })
            .collect();
        assert_eq!(pins, GOLDEN_SEED_001, "{pins:#x?}");
    }

    const GOLDEN_SEED_001: [u64; 3] = [
        0xf811_b67f_c1ea_a6d4,
        0x3362_8ecf_4155_72af,
        0x43d5_9161_cb2d_e9b6,
    ];

    #[test]
    fn kinds_sharing_a_seed_share_no_event_ids() {
        let mut seen = std::collections::HashSet::new();
        for kind in ["clickstream", "ecommerce", "iot", "saas"] {
            for value in all_values(&format!(r#"{{"kind":"{kind}","count":2000}}"#), 42, 500) {
                let v: serde_json::Value = serde_json::from_slice(&value).expect("json");
                let id = v["event_id"].as_str().expect("event_id").to_owned();
                assert!(seen.insert(id), "{kind} repeats an event id");
            }
        }
    }

    #[test]
    fn seed_001_timestamps_follow_start_and_interval() {
        for kind in ["ecommerce", "iot", "saas"] {
            let config = format!(
                r#"{{"kind":"{kind}","count":3,"start_ms":1835395199000,"interval_ms":500}}"#
            );
            let stamps: Vec<String> = all_values(&config, 0, 10)
                .iter()
                .map(|v| {
                    let v: serde_json::Value = serde_json::from_slice(v).expect("json");
                    v["timestamp"].as_str().unwrap_or_default().to_owned()
                })
                .collect();
            assert_eq!(
                stamps,
                [
                    "2028-02-28 23:59:59",
                    "2028-02-28 23:59:59",
                    "2028-02-29 00:00:00"
                ],
                "{kind}"
            );
        }
    }

    /// The rules a downstream validator would check, per kind; returns every one broken.
    fn violations(kind: &str, v: &serde_json::Value) -> Vec<Invalid> {
        let (required, time, enum_field, allowed): (&str, &str, &str, &[&str]) = match kind {
            "tweets" => ("text", "created_at", "lang", &["en"]),
            "clickstream" => (
                "user_id",
                "timestamp",
                "event_type",
                &["page_view", "add_to_cart", "purchase"],
            ),
            "ecommerce" => (
                "user_id",
                "timestamp",
                "event_type",
                &["view", "add_to_cart", "purchase", "refund"],
            ),
            "iot" => (
                "device_id",
                "timestamp",
                "sensor",
                &["temperature", "humidity", "pressure", "co2"],
            ),
            _ => (
                "tenant_id",
                "timestamp",
                "event_type",
                &["login", "api_call", "feature_use", "error", "logout"],
            ),
        };
        let in_range = match kind {
            "tweets" => v["text"].as_str().is_none_or(|t| !t.is_empty()),
            "clickstream" | "ecommerce" => v["price"].as_f64().is_some_and(|p| p > 0.0),
            "iot" => v["battery"].as_u64().is_some_and(|b| b <= 100),
            _ => v["latency_ms"].as_u64().is_some(),
        };
        let stamp = v[time].as_str().unwrap_or_default();
        let well_timed = stamp.len() == 19
            && stamp.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                10 => b == b' ',
                13 | 16 => b == b':',
                _ => b.is_ascii_digit(),
            });
        let mut broken = Vec::new();
        if v.get(required).is_none() {
            broken.push(Invalid::MissingField);
        }
        if !in_range {
            broken.push(Invalid::OutOfRange);
        }
        if !allowed.contains(&v[enum_field].as_str().unwrap_or_default()) {
            broken.push(Invalid::UnknownEnum);
        }
        if !well_timed {
            broken.push(Invalid::BadTimestamp);
        }
        broken
    }

    /// Keys and values of a whole stream.
    fn stream(config: &str, seed: u64, batch: u32) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let mut g = Generator::new(config, seed).expect("config");
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        loop {
            let b = g.next_batch(batch);
            if b.messages.is_empty() {
                return (keys, values);
            }
            keys.extend(b.messages.iter().map(|m| m.key.clone()));
            values.extend(b.values().map(<[u8]>::to_vec));
        }
    }

    const ALL_KINDS: [&str; 5] = ["tweets", "clickstream", "ecommerce", "iot", "saas"];

    #[test]
    fn invalid_every_spoils_exactly_those_records_in_rotation_and_nothing_else() {
        for kind in ALL_KINDS {
            for (count, every) in [(1_000u64, 7u64), (10, 1), (10, 3), (5, 6)] {
                let (clean_keys, clean) =
                    stream(&format!(r#"{{"kind":"{kind}","count":{count}}}"#), 5, 64);
                let config =
                    format!(r#"{{"kind":"{kind}","count":{count},"invalid_every":{every}}}"#);
                let (keys, dirty) = stream(&config, 5, 33);
                assert_eq!(dirty.len() as u64, count);
                // Keys never change, not even for a record that lost its key field.
                assert_eq!(keys, clean_keys, "{config}");
                let mut spoiled = 0;
                for (i, (c, d)) in clean.iter().zip(&dirty).enumerate() {
                    let v: serde_json::Value = serde_json::from_slice(d).expect("valid JSON");
                    let n = i as u64 + 1;
                    if n.is_multiple_of(every) {
                        let want = Invalid::for_nth(n / every - 1);
                        assert_eq!(violations(kind, &v), [want], "{kind} record {n}: {v}");
                        spoiled += 1;
                    } else {
                        assert_eq!(c, d, "{kind} record {n} changed");
                        assert_eq!(violations(kind, &v), [], "{kind} record {n}: {v}");
                    }
                }
                assert_eq!(spoiled, count / every, "{config}");
            }
        }
    }

    #[test]
    fn invalid_records_differ_from_valid_ones_only_in_the_broken_rule() {
        for kind in ALL_KINDS {
            let clean = all_values(&format!(r#"{{"kind":"{kind}","count":8}}"#), 9, 8);
            let dirty = all_values(
                &format!(r#"{{"kind":"{kind}","count":8,"invalid_every":1}}"#),
                9,
                8,
            );
            let mut seen = Vec::new();
            for (c, d) in clean.iter().zip(&dirty) {
                let c: serde_json::Value = serde_json::from_slice(c).expect("json");
                let d: serde_json::Value = serde_json::from_slice(d).expect("json");
                let (c, d) = (c.as_object().expect("obj"), d.as_object().expect("obj"));
                let changed: Vec<&String> = c.keys().filter(|k| c.get(*k) != d.get(*k)).collect();
                assert_eq!(changed.len(), 1, "{kind}: {c:?} vs {d:?}");
                assert!(d.keys().all(|k| c.contains_key(k)));
                seen.push(changed[0].clone());
            }
            let (required, ranged, enumerated, time) = match kind {
                "tweets" => ("text", "text", "lang", "created_at"),
                "clickstream" => ("user_id", "price", "event_type", "timestamp"),
                "ecommerce" => ("user_id", "price", "event_type", "timestamp"),
                "iot" => ("device_id", "battery", "sensor", "timestamp"),
                _ => ("tenant_id", "latency_ms", "event_type", "timestamp"),
            };
            let want = [required, ranged, enumerated, time];
            assert_eq!(seen[..4], want, "{kind}");
            assert_eq!(seen[4..], want, "{kind}");
        }
    }

    #[test]
    fn a_record_both_invalid_and_malformed_arrives_malformed() {
        let values = all_values(
            r#"{"kind":"saas","count":30,"invalid_every":3,"malformed_every":5}"#,
            1,
            30,
        );
        for (i, value) in values.iter().enumerate() {
            let n = i + 1;
            let parsed = serde_json::from_slice::<serde_json::Value>(value);
            assert_eq!(parsed.is_err(), n % 5 == 0, "record {n}");
            if let Ok(v) = parsed {
                assert_eq!(violations("saas", &v).is_empty(), n % 3 != 0, "record {n}");
            }
        }
    }

    #[test]
    fn bad_config_is_refused_with_the_wit_error_code() {
        let e = Generator::new(r#"{"kind":"x"}"#, 0).expect_err("unknown kind");
        assert_eq!(ConfigError::CODE, "bad-config");
        assert_eq!(
            e.message,
            "generator: unknown kind `x`; expected tweets, clickstream, ecommerce, iot or saas"
        );
    }
}
