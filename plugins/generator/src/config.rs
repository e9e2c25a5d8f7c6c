//! The generator's configuration: a JSON string handed to `init`, parsed strictly so a
//! typo fails at start-up instead of silently producing the wrong workload.

use std::fmt;

use serde::Deserialize;

use crate::invalid::Invalid;

/// Which workload to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Seed 000: short English tweets with a 50/30/20 positive/neutral/negative mix.
    Tweets,
    /// Seed 002: ecommerce page views, add-to-carts and purchases keyed by user.
    Clickstream,
    /// Seed 001: shop events (view, add-to-cart, purchase, refund) with currency,
    /// user agent and client IP, keyed by user.
    Ecommerce,
    /// Seed 001: sensor readings with a draining battery per device, keyed by device.
    Iot,
    /// Seed 001: SaaS product telemetry (logins, API calls, feature use) keyed by tenant.
    Saas,
}

impl Kind {
    /// Every kind with its config name, in the order error messages list them.
    pub const ALL: [(Self, &'static str); 5] = [
        (Self::Tweets, "tweets"),
        (Self::Clickstream, "clickstream"),
        (Self::Ecommerce, "ecommerce"),
        (Self::Iot, "iot"),
        (Self::Saas, "saas"),
    ];

    /// Default size of the population behind the records: users, or devices for `iot`.
    pub fn default_users(self) -> u32 {
        match self {
            Self::Tweets | Self::Ecommerce => 1_000,
            Self::Clickstream => 500,
            Self::Iot => 200,
            Self::Saas => 2_000,
        }
    }
}

/// A validated configuration; every field has a default so an empty string works.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Workload to generate.
    pub kind: Kind,
    /// Stop after this many records; `None` runs until the host stops pulling.
    pub count: Option<u64>,
    /// Event time of the first record, in milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// Event-time gap between consecutive records, in milliseconds (may be fractional).
    pub interval_ms: f64,
    /// How many distinct users produce the records (devices for `iot`).
    pub users: u32,
    /// Every Nth record (N, 2N, ...; 1-based) is broken JSON, to exercise dead-letter paths.
    pub malformed_every: Option<u64>,
    /// Every Nth record (N, 2N, ...; 1-based) is valid JSON that breaks its schema, to
    /// exercise validators; see [`crate::invalid`] for the rotation.
    pub invalid_every: Option<u64>,
}

/// Why `init` refused the configuration; it becomes the WIT `error` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ConfigError {
    /// The WIT error code for every configuration problem.
    pub const CODE: &'static str = "bad-config";

    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// 2026-01-01T00:00:00Z: a fixed start, so runs never depend on the wall clock.
pub const DEFAULT_START_MS: i64 = 1_767_225_600_000;

fn default_kind() -> String {
    "tweets".to_owned()
}

fn default_start_ms() -> i64 {
    DEFAULT_START_MS
}

fn default_interval_ms() -> f64 {
    100.0
}

/// The config exactly as written; `kind` stays a string so an unknown value gets our
/// own message listing the valid ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// `tweets`, `clickstream`, `ecommerce`, `iot` or `saas`.
    #[serde(default = "default_kind")]
    kind: String,
    /// Optional record limit.
    #[serde(default)]
    count: Option<u64>,
    /// Event time of record 0.
    #[serde(default = "default_start_ms")]
    start_ms: i64,
    /// Event-time step per record.
    #[serde(default = "default_interval_ms")]
    interval_ms: f64,
    /// User population; the default depends on `kind`.
    #[serde(default)]
    users: Option<u32>,
    /// Period of deliberately malformed records.
    #[serde(default)]
    malformed_every: Option<u64>,
    /// Period of deliberately invalid (well-formed but schema-breaking) records.
    #[serde(default)]
    invalid_every: Option<u64>,
}

impl Config {
    /// Parses the `init` config string; empty (or blank) means all defaults.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let text = if text.is_empty() { "{}" } else { text };
        let invalid = |why: &dyn fmt::Display| {
            ConfigError::new(format!(
                "generator: config is not valid: {why}; expected a JSON object with \
                 optional keys kind, count, start_ms, interval_ms, users, malformed_every, \
                 invalid_every"
            ))
        };
        // serde would also accept a JSON array in field order; only objects are documented.
        if !text.starts_with('{') {
            return Err(invalid(&"not a JSON object"));
        }
        let raw: Raw = serde_json::from_str(text).map_err(|e| invalid(&e))?;

        let Some(&(kind, _)) = Kind::ALL.iter().find(|(_, name)| *name == raw.kind) else {
            return Err(ConfigError::new(format!(
                "generator: unknown kind `{}`; expected tweets, clickstream, ecommerce, iot \
                 or saas",
                raw.kind
            )));
        };
        if !raw.interval_ms.is_finite() || raw.interval_ms < 0.0 {
            return Err(ConfigError::new(format!(
                "generator: interval_ms is {}; set it to a number of milliseconds >= 0",
                raw.interval_ms
            )));
        }
        let users = raw.users.unwrap_or(kind.default_users());
        if users == 0 {
            return Err(ConfigError::new(
                "generator: users is 0; set it to at least 1",
            ));
        }
        if raw.malformed_every == Some(0) {
            return Err(ConfigError::new(
                "generator: malformed_every is 0; set it to N >= 1 to break every Nth record, \
                 or leave it out to keep every record valid",
            ));
        }
        if raw.invalid_every == Some(0) {
            return Err(ConfigError::new(
                "generator: invalid_every is 0; set it to N >= 1 to make every Nth record \
                 break its schema, or leave it out to keep every record valid",
            ));
        }
        Ok(Self {
            kind,
            count: raw.count,
            start_ms: raw.start_ms,
            interval_ms: raw.interval_ms,
            users,
            malformed_every: raw.malformed_every,
            invalid_every: raw.invalid_every,
        })
    }

    /// Whether record `index` (0-based) is one of the deliberately malformed ones.
    pub fn is_malformed(&self, index: u64) -> bool {
        self.malformed_every
            .is_some_and(|n| (index + 1).is_multiple_of(n))
    }

    /// The rule record `index` (0-based) breaks, if it is one of the invalid ones.
    pub fn invalid(&self, index: u64) -> Option<Invalid> {
        let n = self.invalid_every?;
        (index + 1)
            .is_multiple_of(n)
            .then(|| Invalid::for_nth((index + 1) / n - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Config::parse(text).expect_err(text).message
    }

    #[test]
    fn empty_config_means_defaults() {
        let c = Config::parse("").expect("empty config");
        assert_eq!(c.kind, Kind::Tweets);
        assert_eq!(c.count, None);
        assert_eq!(c.start_ms, DEFAULT_START_MS);
        assert_eq!(c.interval_ms, 100.0);
        assert_eq!(c.users, 1_000);
        assert_eq!(c.malformed_every, None);
        assert_eq!(c.invalid_every, None);
        assert_eq!(c.invalid(9), None);
        assert_eq!(Config::parse("  \n").expect("blank config"), c);
        assert_eq!(Config::parse("{}").expect("empty object"), c);
    }

    #[test]
    fn users_default_depends_on_kind() {
        let c = Config::parse(r#"{"kind":"clickstream"}"#).expect("clickstream");
        assert_eq!(c.kind, Kind::Clickstream);
        assert_eq!(c.users, 500);
    }

    #[test]
    fn every_field_can_be_set() {
        let c = Config::parse(
            r#"{"kind":"clickstream","count":10,"start_ms":0,"interval_ms":2.5,
                "users":7,"malformed_every":3}"#,
        )
        .expect("full config");
        assert_eq!(
            c,
            Config {
                kind: Kind::Clickstream,
                count: Some(10),
                start_ms: 0,
                interval_ms: 2.5,
                users: 7,
                malformed_every: Some(3),
                invalid_every: None,
            }
        );
        assert!(!c.is_malformed(0));
        assert!(!c.is_malformed(1));
        assert!(c.is_malformed(2));
        assert!(c.is_malformed(5));
    }

    #[test]
    fn unknown_kind_names_the_valid_ones() {
        assert_eq!(
            err(r#"{"kind":"x"}"#),
            "generator: unknown kind `x`; expected tweets, clickstream, ecommerce, iot or saas"
        );
        // Names are exact: no case folding, no aliases.
        assert!(err(r#"{"kind":"IoT"}"#).contains("unknown kind `IoT`"));
    }

    #[test]
    fn new_kinds_parse_with_their_own_population_defaults() {
        for (kind, name, users) in [
            (Kind::Ecommerce, "ecommerce", 1_000),
            (Kind::Iot, "iot", 200),
            (Kind::Saas, "saas", 2_000),
        ] {
            let c = Config::parse(&format!(r#"{{"kind":"{name}"}}"#)).expect(name);
            assert_eq!((c.kind, c.users), (kind, users));
            let c = Config::parse(&format!(r#"{{"kind":"{name}","users":3}}"#)).expect(name);
            assert_eq!(c.users, 3);
        }
    }

    #[test]
    fn invalid_every_marks_every_nth_record_and_rotates() {
        let c = Config::parse(r#"{"kind":"iot","invalid_every":3}"#).expect("config");
        assert_eq!(c.invalid_every, Some(3));
        let marked: Vec<(u64, Invalid)> = (0..15)
            .filter_map(|i| c.invalid(i).map(|how| (i, how)))
            .collect();
        assert_eq!(
            marked,
            [
                (2, Invalid::MissingField),
                (5, Invalid::OutOfRange),
                (8, Invalid::UnknownEnum),
                (11, Invalid::BadTimestamp),
                (14, Invalid::MissingField),
            ]
        );
        let every = Config::parse(r#"{"invalid_every":1}"#).expect("config");
        assert!((0..8).all(|i| every.invalid(i).is_some()));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused() {
        let m = err(r#"{"kind":"tweets","cuont":5}"#);
        assert!(m.contains("unknown field `cuont`"), "{m}");
        assert!(m.contains("expected a JSON object"), "{m}");
        let m = err(r#"{"count":"5"}"#);
        assert!(m.contains("invalid type"), "{m}");
        let m = err(r#"{"users":-1}"#);
        assert!(m.contains("invalid value"), "{m}");
        let m = err("kind = \"tweets\"");
        assert!(m.starts_with("generator: config is not valid"), "{m}");
        let m = err("[]");
        assert!(m.starts_with("generator: config is not valid"), "{m}");
    }

    #[test]
    fn out_of_range_values_say_what_to_set() {
        assert!(err(r#"{"interval_ms":-1}"#).contains("interval_ms"));
        assert!(err(r#"{"users":0}"#).contains("at least 1"));
        assert!(err(r#"{"malformed_every":0}"#).contains("leave it out"));
        let m = err(r#"{"invalid_every":0}"#);
        assert!(m.starts_with("generator: invalid_every is 0"), "{m}");
        assert!(m.contains("leave it out"), "{m}");
        assert!(err(r#"{"invalid_every":-2}"#).contains("invalid value"));
        assert!(err(r#"{"invalid_every":"3"}"#).contains("invalid type"));
        assert!(err(r#"{"invalid_every":2.5}"#).contains("invalid type"));
    }
}
