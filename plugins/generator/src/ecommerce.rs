//! Seed 001's shop workload: views, add-to-carts, purchases and refunds from a fixed
//! user population, each with the shopper's currency, browser and client IP, written
//! as one JSON object per event and keyed by user.
//!
//! Who a user is (region, currency, IP, user agent, crawler or not) and what a product
//! is (category, price) depend on their numbers alone, not on the seed, so `user_0042`
//! shops from the same IP and `prod_123` costs the same in every run. What users do is
//! drawn from the seed: carts hold the product last viewed, purchases empty the cart,
//! and refunds return the user's last purchase.
//!
//! Valid ranges (a validator may rely on them): `price` above 0 (unit price in the
//! record's currency), `quantity` 1 to 5 (always 1 for views).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::invalid::{self, Invalid};
use crate::rng::Rng;
use crate::write_uuid;

/// What a shopper did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A product page was shown.
    View,
    /// Some of a product went into the cart.
    AddToCart,
    /// The cart (or one product) was bought.
    Purchase,
    /// An earlier purchase was returned.
    Refund,
}

impl EventType {
    /// The `event_type` string in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::AddToCart => "add_to_cart",
            Self::Purchase => "purchase",
            Self::Refund => "refund",
        }
    }
}

/// About 70% views, 18% add-to-carts, 10% purchases and 2% refunds.
const MIX: [(EventType, u32); 4] = [
    (EventType::View, 70),
    (EventType::AddToCart, 18),
    (EventType::Purchase, 10),
    (EventType::Refund, 2),
];

/// Size of the catalogue: `prod_001` to `prod_500`.
pub const PRODUCTS: u32 = 500;

/// A product category: its name, share of the catalogue and USD price range in dollars.
struct Category {
    name: &'static str,
    weight: u32,
    min_dollars: u32,
    max_dollars: u32,
}

/// The catalogue's departments.
const CATEGORIES: [Category; 8] = [
    Category {
        name: "electronics",
        weight: 15,
        min_dollars: 15,
        max_dollars: 1_500,
    },
    Category {
        name: "clothing",
        weight: 20,
        min_dollars: 8,
        max_dollars: 180,
    },
    Category {
        name: "home_garden",
        weight: 14,
        min_dollars: 5,
        max_dollars: 400,
    },
    Category {
        name: "books",
        weight: 12,
        min_dollars: 4,
        max_dollars: 60,
    },
    Category {
        name: "sports",
        weight: 10,
        min_dollars: 10,
        max_dollars: 350,
    },
    Category {
        name: "beauty",
        weight: 10,
        min_dollars: 3,
        max_dollars: 90,
    },
    Category {
        name: "toys",
        weight: 9,
        min_dollars: 5,
        max_dollars: 120,
    },
    Category {
        name: "grocery",
        weight: 10,
        min_dollars: 1,
        max_dollars: 40,
    },
];

/// A currency: its code and how many thousandths of it one US dollar buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    /// ISO 4217 code written in the record.
    pub code: &'static str,
    /// Units per 1000 USD, fixed so that prices never move between runs.
    per_1000_usd: u32,
}

const USD: Currency = Currency {
    code: "USD",
    per_1000_usd: 1_000,
};
const EUR: Currency = Currency {
    code: "EUR",
    per_1000_usd: 920,
};
const GBP: Currency = Currency {
    code: "GBP",
    per_1000_usd: 790,
};

/// Where shoppers connect from: the first octets of their IPs (`.` ends a /16, a
/// trailing octet a /24), the currency they pay in, and their share of users.
const REGIONS: [((&str, Currency), u32); 4] = [
    (("198.51.100.", USD), 35),
    (("203.0.113.", USD), 15),
    (("81.2.", GBP), 25),
    (("5.10.", EUR), 25),
];

/// Browsers of human shoppers, weighted roughly by market share (mobile a little ahead).
const USER_AGENTS: [(&str, u32); 10] = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/124.0.0.0 Safari/537.36",
        18,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/124.0.0.0 Safari/537.36",
        7,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        4,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) \
         Version/17.4 Safari/605.1.15",
        5,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
        5,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 \
         (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        25,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
         Version/17.4 Mobile/15E148 Safari/604.1",
        5,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/124.0.6367.82 Mobile Safari/537.36",
        18,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/124.0.6367.82 Mobile Safari/537.36",
        10,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/124.0.6367.82 Safari/537.36",
        3,
    ),
];

/// The crawler's user agent; crawler users only ever view pages.
pub const GOOGLEBOT: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
/// Googlebot crawls from this /24, so its hits carry its own addresses.
const GOOGLEBOT_NET: &str = "66.249.66.";
/// Share of users that are crawlers, in percent.
const CRAWLER_PERCENT: u64 = 2;

/// A client address: a network prefix and the octets after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip {
    /// The leading octets with their trailing dot, `81.2.` or `198.51.100.`.
    prefix: &'static str,
    /// The third octet, when the prefix is a /16.
    third: Option<u8>,
    /// The host octet, 1 to 254.
    last: u8,
}

impl fmt::Display for Ip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix)?;
        if let Some(third) = self.third {
            write!(f, "{third}.")?;
        }
        write!(f, "{}", self.last)
    }
}

/// A user's fixed traits, derived from the user number alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Browser (or crawler) user agent.
    pub user_agent: &'static str,
    /// Client IP, shown as a dotted quad.
    pub ip: Ip,
    /// Currency the user pays in.
    pub currency: Currency,
    /// A crawler: views only, pays in USD.
    pub crawler: bool,
}

/// The traits of user `user`; the same in every run.
pub fn profile(user: u32) -> Profile {
    let mut rng = Rng::new(0x5EED_0001_0005_E500 ^ u64::from(user));
    let (prefix, currency, crawler) = if rng.below(100) < CRAWLER_PERCENT {
        (GOOGLEBOT_NET, USD, true)
    } else {
        let (prefix, currency) = rng.pick_weighted(&REGIONS);
        (prefix, currency, false)
    };
    // A /16 prefix has two dots; it needs a third octet as well as the host octet.
    let third = (prefix.matches('.').count() == 2).then(|| rng.below(256) as u8);
    let ip = Ip {
        prefix,
        third,
        last: 1 + rng.below(254) as u8,
    };
    let user_agent = if crawler {
        GOOGLEBOT
    } else {
        rng.pick_weighted(&USER_AGENTS)
    };
    Profile {
        user_agent,
        ip,
        currency,
        crawler,
    }
}

/// Category name and USD price in cents of product `product`; the same in every run.
pub fn product(product: u32) -> (&'static str, u32) {
    let mut rng = Rng::new(0x5EED_0001_9A0D_0C70 ^ u64::from(product));
    let weights: [(usize, u32); 8] = std::array::from_fn(|i| (i, CATEGORIES[i].weight));
    let c = &CATEGORIES[rng.pick_weighted(&weights)];
    // The smaller of two draws: cheap items are common, expensive ones rare.
    let span = u64::from(c.max_dollars - c.min_dollars + 1);
    let dollars = c.min_dollars + rng.below(span).min(rng.below(span)) as u32;
    (c.name, dollars * 100 + price_ending(&mut rng))
}

/// Shop prices end in .99 and friends; none ends in 0, so JSON always shows two decimals.
fn price_ending(rng: &mut Rng) -> u32 {
    rng.pick_weighted(&[(99, 60), (49, 20), (95, 15), (79, 5)])
}

/// Price in cents of `usd_cents` in `currency`: whole units converted and rounded, the
/// shop's price ending kept.
pub fn local_price_cents(usd_cents: u32, currency: Currency) -> u32 {
    let units = (usd_cents / 100 * currency.per_1000_usd + 500) / 1_000;
    units * 100 + usd_cents % 100
}

/// What the generator remembers about one shopper between their events.
#[derive(Debug, Clone, Default)]
struct UserState {
    /// Last product the user looked at.
    viewed: Option<u32>,
    /// Product and quantity waiting in the cart.
    cart: Option<(u32, u32)>,
    /// Last product and quantity bought, which a refund returns.
    bought: Option<(u32, u32)>,
}

/// One event, before it becomes JSON; tests read it directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub event_type: EventType,
    /// 1-based user number.
    pub user: u32,
    /// The user's fixed traits.
    pub profile: Profile,
    /// 1-based product number.
    pub product: u32,
    /// Items involved: 1 for views.
    pub quantity: u32,
    /// Random 128 bits for the event id.
    pub id: (u64, u64),
}

/// The JSON value of one event, fields in the order seed 001 lists them.
#[derive(Serialize)]
struct Record<'a> {
    event_id: &'a str,
    event_type: &'a str,
    /// Left out only by an invalid record.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    product_id: &'a str,
    category: &'a str,
    price: f64,
    quantity: u32,
    currency: &'a str,
    user_agent: &'a str,
    ip: &'a str,
    timestamp: &'a str,
}

/// Quantities put in a cart or bought without one.
const QUANTITY: [(u32, u32); 5] = [(1, 60), (2, 20), (3, 10), (4, 6), (5, 4)];

/// The ecommerce workload's state across records.
#[derive(Debug, Default)]
pub struct Ecommerce {
    /// Number of users, `user_0001` to `user_<users>`.
    users: u32,
    /// Only users who have acted are stored, so a huge `users` costs nothing up front.
    state: BTreeMap<u32, UserState>,
    /// Reused text buffers for the record's string fields.
    event_id: String,
    user_id: String,
    product_id: String,
    ip: String,
}

impl Ecommerce {
    /// A shop with `users` customers, none of whom has visited yet.
    pub fn new(users: u32) -> Self {
        Self {
            users,
            ..Self::default()
        }
    }

    /// Draws the next event and updates the acting user's state.
    pub fn next_event(&mut self, rng: &mut Rng) -> Event {
        let user = rng.popular(u64::from(self.users)) as u32 + 1;
        let drawn = rng.pick_weighted(&MIX);
        let id = (rng.next_u64(), rng.next_u64());
        let profile = profile(user);
        // Crawlers fetch pages and nothing else.
        let event_type = if profile.crawler {
            EventType::View
        } else {
            drawn
        };
        let st = self.state.entry(user).or_default();
        let any_product = |rng: &mut Rng| rng.popular(u64::from(PRODUCTS)) as u32 + 1;
        let (product, quantity) = match event_type {
            EventType::View => {
                let product = any_product(rng);
                st.viewed = Some(product);
                (product, 1)
            }
            EventType::AddToCart => {
                let product = match st.viewed {
                    Some(p) => p,
                    None => any_product(rng),
                };
                let item = (product, rng.pick_weighted(&QUANTITY));
                st.cart = Some(item);
                item
            }
            EventType::Purchase => {
                let item = match (st.cart.take(), st.viewed) {
                    (Some(item), _) => item,
                    // "Buy now" straight from a product page.
                    (None, Some(p)) => (p, rng.pick_weighted(&QUANTITY)),
                    (None, None) => (any_product(rng), rng.pick_weighted(&QUANTITY)),
                };
                st.bought = Some(item);
                item
            }
            EventType::Refund => match st.bought.take() {
                Some(item) => item,
                // Bought before the stream began.
                None => (any_product(rng), 1),
            },
        };
        Event {
            event_type,
            user,
            profile,
            product,
            quantity,
            id,
        }
    }

    /// Writes the next event as JSON into `out`, breaking rule `invalid` of the schema if
    /// given (see [`crate::invalid`]), and returns its Kafka key (the user id).
    pub fn write_record(
        &mut self,
        rng: &mut Rng,
        timestamp: &str,
        invalid: Option<Invalid>,
        out: &mut Vec<u8>,
    ) -> Vec<u8> {
        let e = self.next_event(rng);
        let who = e.profile;
        let (category, usd_cents) = product(e.product);
        self.event_id.clear();
        write_uuid(&mut self.event_id, e.id);
        self.user_id.clear();
        let _ = write!(self.user_id, "user_{:04}", e.user);
        self.product_id.clear();
        let _ = write!(self.product_id, "prod_{:03}", e.product);
        self.ip.clear();
        let _ = write!(self.ip, "{}", who.ip);

        let record = Record {
            event_id: &self.event_id,
            event_type: Invalid::enumerated(
                invalid,
                e.event_type.as_str(),
                invalid::UNKNOWN_EVENT_TYPE,
            ),
            user_id: Invalid::required(invalid, &self.user_id),
            product_id: &self.product_id,
            category,
            price: Invalid::ranged(
                invalid,
                f64::from(local_price_cents(usd_cents, who.currency)) / 100.0,
                invalid::NEGATIVE_PRICE,
            ),
            quantity: e.quantity,
            currency: who.currency.code,
            user_agent: who.user_agent,
            ip: &self.ip,
            timestamp: Invalid::timestamp(invalid, timestamp),
        };
        crate::write_json(out, &record);
        self.user_id.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn records(n: usize) -> Vec<(Vec<u8>, serde_json::Value)> {
        let mut rng = Rng::new(1);
        let mut shop = Ecommerce::new(1_000);
        (0..n)
            .map(|_| {
                let mut out = Vec::new();
                let key = shop.write_record(&mut rng, "2026-01-01 00:00:00", None, &mut out);
                (key, serde_json::from_slice(&out).expect("valid JSON"))
            })
            .collect()
    }

    #[test]
    fn event_mix_is_70_18_10_2_over_10k_records() {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for (_, v) in records(10_000) {
            *counts
                .entry(v["event_type"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
        }
        assert_eq!(counts.len(), 4, "{counts:?}");
        // Crawlers turn a little of every other type into views.
        assert!((6_750..7_350).contains(&counts["view"]), "{counts:?}");
        assert!(
            (1_550..2_050).contains(&counts["add_to_cart"]),
            "{counts:?}"
        );
        assert!((800..1_200).contains(&counts["purchase"]), "{counts:?}");
        assert!((130..280).contains(&counts["refund"]), "{counts:?}");
    }

    #[test]
    fn records_have_every_field_in_the_right_shape() {
        let mut ids = HashSet::new();
        let mut agents = HashSet::new();
        let mut currencies: HashMap<String, u32> = HashMap::new();
        let mut categories = HashSet::new();
        for (key, v) in records(10_000) {
            let obj = v.as_object().expect("object");
            assert_eq!(obj.len(), 11, "{v}");
            let id = v["event_id"].as_str().expect("event_id");
            assert_eq!(id.len(), 36, "{id}");
            assert!(ids.insert(id.to_owned()), "duplicate {id}");

            let user = v["user_id"].as_str().expect("user_id");
            assert_eq!(user.as_bytes(), key.as_slice());
            let n: u32 = user
                .strip_prefix("user_")
                .and_then(|n| n.parse().ok())
                .expect("user_NNNN");
            assert!(user.len() == 9 && (1..=1_000).contains(&n), "{user}");

            let product_id = v["product_id"].as_str().expect("product_id");
            let p: u32 = product_id
                .strip_prefix("prod_")
                .and_then(|n| n.parse().ok())
                .expect("prod_NNN");
            assert!(product_id.len() == 8 && (1..=PRODUCTS).contains(&p));
            let (category, usd) = product(p);
            assert_eq!(v["category"], category);
            categories.insert(category);

            let who = profile(n);
            assert_eq!(v["currency"], who.currency.code);
            assert_eq!(v["user_agent"], who.user_agent);
            assert_eq!(v["ip"], who.ip.to_string());
            let price = v["price"].as_f64().expect("price");
            assert!(price > 0.0, "{v}");
            assert_eq!(
                price,
                f64::from(local_price_cents(usd, who.currency)) / 100.0
            );
            let text = serde_json::to_string(&v["price"]).expect("price");
            assert_eq!(text.split('.').nth(1).map(str::len), Some(2), "{text}");

            let quantity = v["quantity"].as_u64().expect("quantity");
            assert!((1..=5).contains(&quantity));
            if v["event_type"] == "view" {
                assert_eq!(quantity, 1);
            } else {
                assert!(!who.crawler, "crawler did {v}");
            }
            assert_eq!(v["timestamp"], "2026-01-01 00:00:00");
            agents.insert(v["user_agent"].as_str().expect("ua").to_owned());
            *currencies
                .entry(v["currency"].as_str().expect("currency").to_owned())
                .or_default() += 1;
        }
        assert_eq!(agents.len(), 11, "{agents:?}");
        assert_eq!(categories.len(), 8);
        // By users: 50% USD (plus crawlers), 25% GBP, 25% EUR; events follow loosely.
        for (code, range) in [
            ("USD", 4_000..6_500),
            ("GBP", 1_500..3_500),
            ("EUR", 1_500..3_500),
        ] {
            assert!(range.contains(&currencies[code]), "{currencies:?}");
        }
    }

    #[test]
    fn profiles_are_stable_and_plausible() {
        let mut crawlers = 0;
        let mut mobile = 0;
        for user in 1..=10_000 {
            let p = profile(user);
            assert_eq!(p, profile(user));
            let ip = p.ip.to_string();
            let octets: Vec<u32> = ip.split('.').map(|o| o.parse().expect("octet")).collect();
            assert_eq!(octets.len(), 4, "{ip}");
            assert!(octets.iter().all(|o| *o <= 255) && octets[3] >= 1, "{ip}");
            let net = match p.currency.code {
                "USD" if p.crawler => "66.249.66.",
                "USD" => {
                    if ip.starts_with("198.51.100.") {
                        "198.51.100."
                    } else {
                        "203.0.113."
                    }
                }
                "GBP" => "81.2.",
                _ => "5.10.",
            };
            assert!(ip.starts_with(net), "{ip} {p:?}");
            assert_eq!(p.crawler, p.user_agent == GOOGLEBOT);
            crawlers += u32::from(p.crawler);
            mobile += u32::from(p.user_agent.contains("Mobile"));
        }
        assert!((150..250).contains(&crawlers), "{crawlers}");
        assert!((5_000..6_200).contains(&mobile), "{mobile}");
    }

    #[test]
    fn prices_follow_category_ranges_and_currencies() {
        for p in 1..=PRODUCTS {
            let (name, usd) = product(p);
            let c = CATEGORIES
                .iter()
                .find(|c| c.name == name)
                .expect("category");
            assert!((c.min_dollars * 100..=c.max_dollars * 100 + 99).contains(&usd));
            assert_ne!(usd % 10, 0);
            assert_eq!(local_price_cents(usd, USD), usd);
            assert!(local_price_cents(usd, GBP) <= local_price_cents(usd, EUR));
            assert!(local_price_cents(usd, EUR) <= usd);
        }
        assert_eq!(local_price_cents(10_099, EUR), 9_299);
        assert_eq!(local_price_cents(99, GBP), 99);
    }

    #[test]
    fn carts_hold_viewed_products_and_refunds_return_purchases() {
        let mut rng = Rng::new(9);
        let mut shop = Ecommerce::new(50);
        let mut viewed: HashMap<u32, u32> = HashMap::new();
        let mut cart: HashMap<u32, (u32, u32)> = HashMap::new();
        let mut bought: HashMap<u32, (u32, u32)> = HashMap::new();
        for _ in 0..5_000 {
            let e = shop.next_event(&mut rng);
            match e.event_type {
                EventType::View => {
                    viewed.insert(e.user, e.product);
                }
                EventType::AddToCart => {
                    if let Some(p) = viewed.get(&e.user) {
                        assert_eq!(*p, e.product);
                    }
                    cart.insert(e.user, (e.product, e.quantity));
                }
                EventType::Purchase => {
                    if let Some(item) = cart.remove(&e.user) {
                        assert_eq!(item, (e.product, e.quantity));
                    }
                    bought.insert(e.user, (e.product, e.quantity));
                }
                EventType::Refund => {
                    if let Some(item) = bought.remove(&e.user) {
                        assert_eq!(item, (e.product, e.quantity));
                    }
                }
            }
        }
    }
}
