//! Seed 001's SaaS workload: product telemetry (logins, API calls, feature use, client
//! errors, logouts) from the users of about fifty tenant companies, one JSON object per
//! event, keyed by tenant.
//!
//! Which tenant a user works for and which plan a tenant pays for depend on their
//! numbers alone, so `user_0042` belongs to the same tenant in every run. Tenant sizes
//! are skewed (Zipf): the largest tenant has about a fifth of all users, and the three
//! largest are on the enterprise plan. Features follow the plan, and API latency
//! follows the response status (errors fail fast, 5xx are slow).
//!
//! Valid ranges (a validator may rely on them): `latency_ms` 0 to 10,000 (0 unless
//! `api_call`), `status` 0 or an HTTP code (0 unless `api_call`), `feature` "" unless
//! `feature_use`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::invalid::{self, Invalid};
use crate::rng::Rng;
use crate::write_uuid;

/// What a user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Signed in.
    Login,
    /// A call to the public API; carries `latency_ms` and `status`.
    ApiCall,
    /// Used a product feature; carries `feature`.
    FeatureUse,
    /// The client reported an error.
    Error,
    /// Signed out.
    Logout,
}

impl EventType {
    /// The `event_type` string in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::ApiCall => "api_call",
            Self::FeatureUse => "feature_use",
            Self::Error => "error",
            Self::Logout => "logout",
        }
    }
}

/// Integrations keep the API busiest; people log in more often than they log out.
const MIX: [(EventType, u32); 5] = [
    (EventType::ApiCall, 52),
    (EventType::FeatureUse, 25),
    (EventType::Login, 10),
    (EventType::Logout, 8),
    (EventType::Error, 5),
];

/// What a tenant pays for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plan {
    /// No charge, basic features.
    Free,
    /// Paid, with integrations and API keys.
    Pro,
    /// Contract, with SSO and audit logs.
    Enterprise,
}

impl Plan {
    /// The `plan` string in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::Enterprise => "enterprise",
        }
    }

    /// The features this plan offers, weighted by how often they are used.
    fn features(self) -> &'static [(&'static str, u32)] {
        match self {
            Self::Free => &FEATURES[..6],
            Self::Pro => &FEATURES[..8],
            Self::Enterprise => &FEATURES,
        }
    }
}

/// Product features by usage; each plan offers a prefix of the list.
const FEATURES: [(&str, u32); 10] = [
    ("dashboard", 25),
    ("search", 20),
    ("reports", 15),
    ("export_csv", 10),
    ("notifications", 8),
    ("user_settings", 7),
    ("integrations", 8),
    ("api_keys", 4),
    ("sso", 2),
    ("audit_log", 3),
];

/// Most tenants: `tenant_001` to `tenant_050` (fewer if there are fewer users).
pub const TENANTS: u32 = 50;

/// API response codes, per thousand calls.
const STATUS: [(u32, u32); 11] = [
    (200, 880),
    (201, 40),
    (204, 20),
    (400, 15),
    (401, 10),
    (403, 5),
    (404, 15),
    (429, 5),
    (500, 6),
    (502, 2),
    (503, 2),
];

/// Successful calls: mostly quick, with the long tail every API has.
const LATENCY_OK: [((u32, u32), u32); 4] = [
    ((15, 80), 60),
    ((80, 250), 28),
    ((250, 1_000), 10),
    ((1_000, 4_000), 2),
];

/// Plan of tenant `tenant` (1-based); the same in every run.
pub fn plan(tenant: u32) -> Plan {
    if tenant <= 3 {
        return Plan::Enterprise;
    }
    let mut rng = Rng::new(0x5EED_0001_0001_A500 ^ u64::from(tenant));
    rng.pick_weighted(&[(Plan::Free, 55), (Plan::Pro, 33), (Plan::Enterprise, 12)])
}

/// The JSON value of one event, fields in the order seed 001 lists them.
#[derive(Serialize)]
struct Record<'a> {
    event_id: &'a str,
    /// Left out only by an invalid record.
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_id: Option<&'a str>,
    user_id: &'a str,
    event_type: &'a str,
    plan: &'a str,
    feature: &'a str,
    latency_ms: i64,
    status: u32,
    timestamp: &'a str,
}

/// One event, before it becomes JSON; tests read it directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub event_type: EventType,
    /// 1-based tenant number.
    pub tenant: u32,
    /// 1-based user number.
    pub user: u32,
    /// The tenant's plan.
    pub plan: Plan,
    /// Feature used, or "" unless `FeatureUse`.
    pub feature: &'static str,
    /// Response time of an API call, else 0.
    pub latency_ms: u32,
    /// Response status of an API call, else 0.
    pub status: u32,
    /// Random 128 bits for the event id.
    pub id: (u64, u64),
}

/// The SaaS workload's state across records: only the tenant sizes, since events do
/// not depend on earlier ones.
#[derive(Debug)]
pub struct Saas {
    /// Number of users, `user_0001` to `user_<users>`.
    users: u32,
    /// Zipf weights of the tenants, by tenant number.
    tenants: Vec<(u32, u32)>,
    /// Reused text buffers for the record's string fields.
    event_id: String,
    tenant_id: String,
    user_id: String,
}

impl Saas {
    /// `users` users spread over up to [`TENANTS`] tenants.
    pub fn new(users: u32) -> Self {
        let tenants = (1..=TENANTS.min(users)).map(|t| (t, 10_000 / t)).collect();
        Self {
            users,
            tenants,
            event_id: String::new(),
            tenant_id: String::new(),
            user_id: String::new(),
        }
    }

    /// Tenant of user `user`: fixed, with big tenants owning more users.
    pub fn tenant_of(&self, user: u32) -> u32 {
        Rng::new(0x5EED_0001_7E4A_4700 ^ u64::from(user)).pick_weighted(&self.tenants)
    }

    /// Draws the next event.
    pub fn next_event(&mut self, rng: &mut Rng) -> Event {
        let user = rng.popular(u64::from(self.users)) as u32 + 1;
        let event_type = rng.pick_weighted(&MIX);
        let id = (rng.next_u64(), rng.next_u64());
        let tenant = self.tenant_of(user);
        let plan = plan(tenant);
        let (feature, latency_ms, status) = match event_type {
            EventType::FeatureUse => (rng.pick_weighted(plan.features()), 0, 0),
            EventType::ApiCall => {
                let status = rng.pick_weighted(&STATUS);
                let (lo, hi) = match status {
                    200..300 => rng.pick_weighted(&LATENCY_OK),
                    // Rate limits are answered before any work is done.
                    429 => (1, 10),
                    400..500 => (5, 60),
                    // Failures upstream often wait for a timeout.
                    _ => (300, 10_000),
                };
                let latency = lo + rng.below(u64::from(hi - lo + 1)) as u32;
                ("", latency, status)
            }
            EventType::Login | EventType::Error | EventType::Logout => ("", 0, 0),
        };
        Event {
            event_type,
            tenant,
            user,
            plan,
            feature,
            latency_ms,
            status,
            id,
        }
    }

    /// Writes the next event as JSON into `out`, breaking rule `invalid` of the schema if
    /// given (see [`crate::invalid`]), and returns its Kafka key (the tenant id).
    pub fn write_record(
        &mut self,
        rng: &mut Rng,
        timestamp: &str,
        invalid: Option<Invalid>,
        out: &mut Vec<u8>,
    ) -> Vec<u8> {
        let e = self.next_event(rng);
        self.event_id.clear();
        write_uuid(&mut self.event_id, e.id);
        self.tenant_id.clear();
        let _ = write!(self.tenant_id, "tenant_{:03}", e.tenant);
        self.user_id.clear();
        let _ = write!(self.user_id, "user_{:04}", e.user);
        let record = Record {
            event_id: &self.event_id,
            tenant_id: Invalid::required(invalid, &self.tenant_id),
            user_id: &self.user_id,
            event_type: Invalid::enumerated(
                invalid,
                e.event_type.as_str(),
                invalid::UNKNOWN_EVENT_TYPE,
            ),
            plan: e.plan.as_str(),
            feature: e.feature,
            latency_ms: Invalid::ranged(
                invalid,
                i64::from(e.latency_ms),
                invalid::NEGATIVE_LATENCY,
            ),
            status: e.status,
            timestamp: Invalid::timestamp(invalid, timestamp),
        };
        crate::write_json(out, &record);
        self.tenant_id.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn events(n: usize) -> Vec<Event> {
        let mut rng = Rng::new(6);
        let mut saas = Saas::new(2_000);
        (0..n).map(|_| saas.next_event(&mut rng)).collect()
    }

    #[test]
    fn event_mix_and_tenant_skew_over_10k_events() {
        let all = events(10_000);
        let count = |t| all.iter().filter(|e| e.event_type == t).count();
        assert!((4_900..5_500).contains(&count(EventType::ApiCall)));
        assert!((2_250..2_750).contains(&count(EventType::FeatureUse)));
        assert!((850..1_150).contains(&count(EventType::Login)));
        assert!((650..950).contains(&count(EventType::Logout)));
        assert!((380..620).contains(&count(EventType::Error)));

        let mut by_tenant: HashMap<u32, u32> = HashMap::new();
        for e in &all {
            *by_tenant.entry(e.tenant).or_default() += 1;
        }
        assert!(by_tenant.len() >= 45, "{} tenants", by_tenant.len());
        assert!(by_tenant.keys().all(|t| (1..=TENANTS).contains(t)));
        // Zipf over 50 tenants gives the largest 1 / H(50), about 22%.
        assert!((1_500..3_000).contains(&by_tenant[&1]), "{by_tenant:?}");
        let smallest = by_tenant.values().min().copied().unwrap_or(0);
        assert!(smallest < 100, "{smallest}");
    }

    #[test]
    fn api_calls_are_mostly_200_with_a_long_latency_tail() {
        let calls: Vec<Event> = events(20_000)
            .into_iter()
            .filter(|e| e.event_type == EventType::ApiCall)
            .collect();
        let ok = calls.iter().filter(|e| e.status == 200).count();
        assert!(
            ok * 100 > calls.len() * 85 && ok * 100 < calls.len() * 91,
            "{ok}"
        );
        let mut latencies: Vec<u32> = calls.iter().map(|e| e.latency_ms).collect();
        latencies.sort_unstable();
        let p50 = latencies[latencies.len() / 2];
        let p99 = latencies[latencies.len() * 99 / 100];
        assert!((40..120).contains(&p50), "p50 {p50}");
        assert!(p99 > 1_000, "p99 {p99}");
        for e in &calls {
            assert!((1..=10_000).contains(&e.latency_ms));
            if e.status >= 500 {
                assert!(e.latency_ms >= 300);
            }
            assert_eq!(e.feature, "");
        }
    }

    #[test]
    fn plans_are_stable_and_gate_features() {
        let saas = Saas::new(2_000);
        for user in 1..=2_000 {
            assert_eq!(saas.tenant_of(user), saas.tenant_of(user));
        }
        let plans: Vec<Plan> = (1..=TENANTS).map(plan).collect();
        assert!(plans[..3].iter().all(|p| *p == Plan::Enterprise));
        for p in [Plan::Free, Plan::Pro] {
            assert!(plans.contains(&p), "{plans:?}");
        }
        for e in events(10_000) {
            assert_eq!(e.plan, plan(e.tenant));
            assert_eq!(saas.tenant_of(e.user), e.tenant);
            if e.event_type == EventType::FeatureUse {
                assert!(e.plan.features().iter().any(|(f, _)| *f == e.feature));
                if e.plan == Plan::Free {
                    assert!(!["sso", "audit_log", "integrations"].contains(&e.feature));
                }
            } else {
                assert_eq!(e.feature, "");
            }
            if e.event_type != EventType::ApiCall {
                assert_eq!((e.latency_ms, e.status), (0, 0));
            }
        }
    }

    #[test]
    fn few_users_mean_few_tenants() {
        let mut rng = Rng::new(1);
        let mut saas = Saas::new(3);
        for _ in 0..100 {
            let e = saas.next_event(&mut rng);
            assert!((1..=3).contains(&e.user) && (1..=3).contains(&e.tenant));
        }
    }

    #[test]
    fn records_have_every_field_in_the_right_shape() {
        let mut rng = Rng::new(2);
        let mut saas = Saas::new(2_000);
        for _ in 0..5_000 {
            let mut out = Vec::new();
            let key = saas.write_record(&mut rng, "2026-01-01 00:00:00", None, &mut out);
            let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
            assert_eq!(v.as_object().map(|o| o.len()), Some(9), "{v}");
            let tenant = v["tenant_id"].as_str().expect("tenant_id");
            assert_eq!(tenant.as_bytes(), key.as_slice());
            assert!(
                tenant.len() == 10 && tenant.starts_with("tenant_0"),
                "{tenant}"
            );
            let user = v["user_id"].as_str().expect("user_id");
            assert!(user.len() == 9 && user.starts_with("user_"), "{user}");
            assert!(["free", "pro", "enterprise"].contains(&v["plan"].as_str().unwrap_or("")));
            assert!(v["feature"].is_string());
            assert!(v["latency_ms"].is_u64() && v["status"].is_u64(), "{v}");
            assert_eq!(v["timestamp"], "2026-01-01 00:00:00");
        }
    }
}
