//! Seed 002's workload: ecommerce clickstream (page views, add-to-carts, purchases)
//! from a fixed user population browsing a fixed catalogue, one JSON object per event.
//!
//! Users keep a little state between events (session, last product viewed, cart) so
//! that carts hold viewed products and purchases empty carts, as in a real shop.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::invalid::{self, Invalid};
use crate::rng::Rng;
use crate::write_uuid;

/// What a user did; seed 002 had these three and no others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// A product page was shown.
    PageView,
    /// A product went into the cart.
    AddToCart,
    /// The cart (or one product) was bought.
    Purchase,
}

impl EventType {
    /// The `event_type` string stored in ClickHouse.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PageView => "page_view",
            Self::AddToCart => "add_to_cart",
            Self::Purchase => "purchase",
        }
    }
}

/// Roughly 70% views, 20% add-to-carts and 10% purchases.
const MIX: [(EventType, u32); 3] = [
    (EventType::PageView, 70),
    (EventType::AddToCart, 20),
    (EventType::Purchase, 10),
];

/// Size of the catalogue: `prod_1` to `prod_200`.
pub const PRODUCTS: u32 = 200;

/// A session ends after this much event time without activity, as in most web analytics.
const SESSION_TIMEOUT_MS: i64 = 30 * 60 * 1000;

/// Where sessions come from; a session keeps its source for every event.
const REFERRERS: [(&str, u32); 8] = [
    ("google.com", 40),
    ("direct", 20),
    ("facebook.com", 10),
    ("instagram.com", 10),
    ("bing.com", 5),
    ("newsletter", 5),
    ("t.co", 5),
    ("reddit.com", 5),
];

/// Price of a product in cents. It depends on the product alone, not on the seed, so
/// `prod_123` costs the same in every run and revenue queries can be checked by hand.
pub fn price_cents(product: u32) -> u32 {
    let mut rng = Rng::new(0x5EED_0002_C0FF_EE00 ^ u64::from(product));
    let dollars = match rng.below(100) {
        0..40 => 5 + rng.below(25),
        40..75 => 30 + rng.below(70),
        75..95 => 100 + rng.below(200),
        _ => 300 + rng.below(700),
    } as u32;
    // Shop prices end in .99 and friends; none ends in 0, so JSON always shows two decimals.
    let cents = rng.pick_weighted(&[(99, 60), (49, 20), (95, 15), (79, 5)]);
    dollars * 100 + cents
}

/// What the generator remembers about one user between their events.
#[derive(Debug, Clone, Default)]
struct UserState {
    /// Current session id, 0 before the first event.
    session: u64,
    /// Traffic source of the current session.
    referrer: &'static str,
    /// Event time of the user's last event.
    last_ms: i64,
    /// The next event starts a new session (set after a purchase).
    session_over: bool,
    /// Last product the user looked at.
    viewed: Option<u32>,
    /// Product and quantity waiting in the cart.
    cart: Option<(u32, u32)>,
}

/// The clickstream workload's state across records.
#[derive(Debug, Default)]
pub struct Clickstream {
    /// Number of users, `user_0001` to `user_<users>`.
    users: u32,
    /// Only users who have acted are stored, so a huge `users` costs nothing up front.
    state: BTreeMap<u32, UserState>,
    /// Reused text buffers for the record's string fields.
    event_id: String,
    user_id: String,
    product_id: String,
    url: String,
    session_id: String,
}

/// One event, before it becomes JSON; tests read it directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub event_type: EventType,
    /// 1-based user number.
    pub user: u32,
    /// 1-based product number.
    pub product: u32,
    /// Items involved: 1 for views, the cart quantity for the rest.
    pub quantity: u32,
    /// Session the event belongs to.
    pub session: u64,
    /// The session's traffic source.
    pub referrer: &'static str,
    /// Random 128 bits for the event id.
    pub id: (u64, u64),
}

/// The JSON value of one event, with seed 002's fields first.
#[derive(Serialize)]
struct Record<'a> {
    event_id: &'a str,
    event_type: &'a str,
    /// Left out only by an invalid record.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    product_id: &'a str,
    price: f64,
    quantity: u32,
    timestamp: &'a str,
    url: &'a str,
    referrer: &'a str,
    session_id: &'a str,
}

impl Clickstream {
    /// A shop with `users` customers, none of whom has visited yet.
    pub fn new(users: u32) -> Self {
        Self {
            users,
            ..Self::default()
        }
    }

    /// Draws the next event at event time `now_ms` and updates the acting user's state.
    pub fn next_event(&mut self, rng: &mut Rng, now_ms: i64) -> Event {
        let user = rng.popular(u64::from(self.users)) as u32 + 1;
        let event_type = rng.pick_weighted(&MIX);
        let id = (rng.next_u64(), rng.next_u64());
        let st = self.state.entry(user).or_default();

        if st.session == 0 || st.session_over || now_ms - st.last_ms > SESSION_TIMEOUT_MS {
            // Never 0, which means "no session yet".
            st.session = rng.next_u64() | 1;
            st.referrer = rng.pick_weighted(&REFERRERS);
            st.session_over = false;
        }
        st.last_ms = now_ms;

        let (product, quantity) = match event_type {
            EventType::PageView => {
                let product = rng.popular(u64::from(PRODUCTS)) as u32 + 1;
                st.viewed = Some(product);
                (product, 1)
            }
            EventType::AddToCart => {
                let product = match st.viewed {
                    Some(p) => p,
                    None => rng.popular(u64::from(PRODUCTS)) as u32 + 1,
                };
                let quantity = rng.pick_weighted(&[(1, 80), (2, 15), (3, 5)]);
                st.cart = Some((product, quantity));
                (product, quantity)
            }
            EventType::Purchase => {
                let bought = match (st.cart.take(), st.viewed) {
                    (Some(item), _) => item,
                    // "Buy now" straight from a product page.
                    (None, Some(p)) => (p, 1),
                    (None, None) => (rng.popular(u64::from(PRODUCTS)) as u32 + 1, 1),
                };
                st.session_over = rng.chance(0.5);
                bought
            }
        };
        Event {
            event_type,
            user,
            product,
            quantity,
            session: st.session,
            referrer: st.referrer,
            id,
        }
    }

    /// Writes the next event as JSON into `out` and returns its Kafka key (the user id).
    pub fn write_record(
        &mut self,
        rng: &mut Rng,
        now_ms: i64,
        timestamp: &str,
        out: &mut Vec<u8>,
    ) -> Vec<u8> {
        self.write_record_with(rng, now_ms, timestamp, None, out)
    }

    /// [`Self::write_record`], breaking rule `invalid` of the schema if given (no
    /// `user_id`, a negative price, an unknown `event_type` or a bad timestamp).
    pub fn write_record_with(
        &mut self,
        rng: &mut Rng,
        now_ms: i64,
        timestamp: &str,
        invalid: Option<Invalid>,
        out: &mut Vec<u8>,
    ) -> Vec<u8> {
        let e = self.next_event(rng, now_ms);
        self.event_id.clear();
        write_uuid(&mut self.event_id, e.id);
        self.user_id.clear();
        let _ = write!(self.user_id, "user_{:04}", e.user);
        self.product_id.clear();
        let _ = write!(self.product_id, "prod_{}", e.product);
        self.url.clear();
        match e.event_type {
            EventType::PageView | EventType::AddToCart => {
                let _ = write!(self.url, "/product/{}", e.product);
            }
            EventType::Purchase => self.url.push_str("/checkout"),
        }
        self.session_id.clear();
        let _ = write!(self.session_id, "s-{:016x}", e.session);

        let record = Record {
            event_id: &self.event_id,
            event_type: Invalid::enumerated(
                invalid,
                e.event_type.as_str(),
                invalid::UNKNOWN_EVENT_TYPE,
            ),
            user_id: Invalid::required(invalid, &self.user_id),
            product_id: &self.product_id,
            price: Invalid::ranged(
                invalid,
                f64::from(price_cents(e.product)) / 100.0,
                invalid::NEGATIVE_PRICE,
            ),
            quantity: e.quantity,
            timestamp: Invalid::timestamp(invalid, timestamp),
            url: &self.url,
            referrer: e.referrer,
            session_id: &self.session_id,
        };
        crate::write_json(out, &record);
        self.user_id.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn records(n: u64) -> Vec<serde_json::Value> {
        let mut rng = Rng::new(2);
        let mut shop = Clickstream::new(500);
        (0..n)
            .map(|i| {
                let mut out = Vec::new();
                let key =
                    shop.write_record(&mut rng, i as i64 * 100, "2026-01-01 00:00:00", &mut out);
                let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
                assert_eq!(
                    v["user_id"].as_str().map(str::as_bytes),
                    Some(key.as_slice())
                );
                v
            })
            .collect()
    }

    #[test]
    fn event_mix_is_70_20_10_over_10k_records() {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for v in records(10_000) {
            *counts
                .entry(v["event_type"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
        }
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!((6_700..7_300).contains(&counts["page_view"]), "{counts:?}");
        assert!(
            (1_750..2_250).contains(&counts["add_to_cart"]),
            "{counts:?}"
        );
        assert!((800..1_200).contains(&counts["purchase"]), "{counts:?}");
    }

    #[test]
    fn records_have_every_field_in_the_right_shape() {
        let mut ids = HashSet::new();
        let mut users = HashSet::new();
        for v in records(10_000) {
            let id = v["event_id"].as_str().expect("event_id");
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
            assert_eq!(&id[14..15], "4", "{id}");
            assert!(ids.insert(id.to_owned()), "duplicate {id}");

            let user = v["user_id"].as_str().expect("user_id");
            let n: u32 = user
                .strip_prefix("user_")
                .and_then(|n| n.parse().ok())
                .expect("user_NNNN");
            assert_eq!(user.len(), 9, "{user}");
            assert!((1..=500).contains(&n));
            users.insert(n);

            let product = v["product_id"].as_str().expect("product_id");
            let p: u32 = product
                .strip_prefix("prod_")
                .and_then(|n| n.parse().ok())
                .expect("prod_N");
            assert!((1..=PRODUCTS).contains(&p));

            let price = v["price"].as_f64().expect("price");
            assert_eq!(price, f64::from(price_cents(p)) / 100.0);
            assert!(v["quantity"].as_u64().is_some_and(|q| (1..=3).contains(&q)));
            assert_eq!(v["timestamp"], "2026-01-01 00:00:00");
            let url = v["url"].as_str().expect("url");
            match v["event_type"].as_str() {
                Some("purchase") => assert_eq!(url, "/checkout"),
                _ => assert_eq!(url, format!("/product/{p}")),
            }
            assert!(v["referrer"].is_string());
            let session = v["session_id"].as_str().expect("session_id");
            assert!(
                session.starts_with("s-") && session.len() == 18,
                "{session}"
            );
        }
        assert!(users.len() >= 490, "only {} users seen", users.len());
    }

    #[test]
    fn prices_are_stable_two_decimal_shop_prices() {
        for p in 1..=PRODUCTS {
            let cents = price_cents(p);
            assert_eq!(cents, price_cents(p));
            assert!((549..=99_999).contains(&cents), "prod_{p}: {cents}");
            let text = serde_json::to_string(&(f64::from(cents) / 100.0)).expect("price");
            assert_eq!(text.split('.').nth(1).map(str::len), Some(2), "{text}");
        }
        let distinct: HashSet<u32> = (1..=PRODUCTS).map(price_cents).collect();
        assert!(distinct.len() > 100);
    }

    #[test]
    fn carts_hold_viewed_products_and_purchases_empty_them() {
        let mut rng = Rng::new(9);
        let mut shop = Clickstream::new(50);
        let mut last_view: HashMap<u32, u32> = HashMap::new();
        let mut cart: HashMap<u32, (u32, u32)> = HashMap::new();
        for i in 0..5_000 {
            let e = shop.next_event(&mut rng, i * 100);
            match e.event_type {
                EventType::PageView => {
                    last_view.insert(e.user, e.product);
                }
                EventType::AddToCart => {
                    if let Some(p) = last_view.get(&e.user) {
                        assert_eq!(*p, e.product);
                    }
                    cart.insert(e.user, (e.product, e.quantity));
                }
                EventType::Purchase => {
                    if let Some(item) = cart.remove(&e.user) {
                        assert_eq!(item, (e.product, e.quantity));
                    }
                }
            }
        }
    }

    #[test]
    fn sessions_time_out_after_30_minutes_of_quiet() {
        let mut rng = Rng::new(1);
        let mut shop = Clickstream::new(1);
        let mut a = shop.next_event(&mut rng, 0);
        // Skip past purchases, which may also close a session.
        let mut t = 0;
        while a.event_type == EventType::Purchase {
            t += 1;
            a = shop.next_event(&mut rng, t);
        }
        let b = shop.next_event(&mut rng, t + SESSION_TIMEOUT_MS + 1);
        assert_ne!(a.session, b.session);
    }
}
