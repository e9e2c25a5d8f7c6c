//! `revenue`: price × quantity, rounded to cents, from two numeric fields of the event.

use serde_json::{Map, Number, Value};
use sluice_plugin::{ConfigError, Reject};

use crate::config::{Section, type_name};

/// Names of the fields the revenue section reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revenue {
    /// Unit price; without it no revenue is added (a page view has none).
    pub price: String,
    /// Number of units; a missing quantity counts as 1.
    pub quantity: String,
    /// Output field for the rounded product.
    pub into: String,
}

impl Revenue {
    /// Reads the section; every key defaults to the field names of the clickstream events.
    pub fn from_config(value: Value) -> Result<Self, ConfigError> {
        let mut s = Section::new("revenue".into(), value, &["price", "quantity", "into"])?;
        Ok(Self {
            price: s.name_or("price", "price")?,
            quantity: s.name_or("quantity", "quantity")?,
            into: s.name_or("into", "revenue")?,
        })
    }

    /// The fields this section writes, with the setting that names each.
    pub fn outputs(&self) -> Vec<(&str, String)> {
        vec![(self.into.as_str(), "revenue.into".into())]
    }

    /// Adds the revenue field; a JSON `null` counts as missing.
    pub fn apply(&self, event: &mut Map<String, Value>) -> Result<(), Reject> {
        let Some(price) = number(event, &self.price)? else {
            return Ok(());
        };
        let quantity = number(event, &self.quantity)?.unwrap_or(1.0);
        let revenue = round2(price * quantity);
        let Some(revenue) = Number::from_f64(revenue) else {
            return Err(Reject::new(
                "out-of-range",
                format!(
                    "\"{}\" × \"{}\" is not a finite number",
                    self.price, self.quantity
                ),
            ));
        };
        event.insert(self.into.clone(), Value::Number(revenue));
        Ok(())
    }
}

/// Reads a numeric field: `None` when absent or null, a rejection when not a number.
fn number(event: &Map<String, Value>, field: &str) -> Result<Option<f64>, Reject> {
    match event.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Reject::new(
            "wrong-type",
            format!(
                "field \"{field}\" must be a number, got {}",
                type_name(other)
            ),
        )),
    }
}

/// Rounds to two decimals, the cents that ClickHouse stores; numbers too large to scale
/// have no fraction left to round.
pub fn round2(x: f64) -> f64 {
    let rounded = (x * 100.0).round() / 100.0;
    if rounded.is_finite() { rounded } else { x }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn apply(config: Value, event: Value) -> Result<Value, (String, String)> {
        let r = Revenue::from_config(config).expect("config");
        let Value::Object(mut map) = event else {
            panic!("not an object")
        };
        r.apply(&mut map).map_err(|e| (e.code, e.message))?;
        Ok(Value::Object(map))
    }

    #[test]
    fn defaults_name_the_clickstream_fields() {
        let r = Revenue::from_config(json!({})).expect("config");
        assert_eq!(
            (r.price.as_str(), r.quantity.as_str()),
            ("price", "quantity")
        );
        assert_eq!(r.into, "revenue");
    }

    #[test]
    fn price_times_quantity_rounded_to_cents() {
        let out = apply(json!({}), json!({"price": 19.99, "quantity": 3}));
        assert_eq!(
            out,
            Ok(json!({"price": 19.99, "quantity": 3, "revenue": 59.97}))
        );
        let out = apply(json!({}), json!({"price": 0.333, "quantity": 2}));
        assert_eq!(out.map(|v| v["revenue"].clone()), Ok(json!(0.67)));
        let out = apply(json!({}), json!({"price": 10, "quantity": 2.5}));
        assert_eq!(out.map(|v| v["revenue"].clone()), Ok(json!(25.0)));
    }

    #[test]
    fn renamed_fields_are_used() {
        let out = apply(
            json!({"price": "unit", "quantity": "n", "into": "total"}),
            json!({"unit": 2.5, "n": 4, "price": 100}),
        );
        assert_eq!(out.map(|v| v["total"].clone()), Ok(json!(10.0)));
    }

    #[test]
    fn missing_quantity_is_one_and_missing_price_adds_nothing() {
        let out = apply(json!({}), json!({"price": 87.99}));
        assert_eq!(out.map(|v| v["revenue"].clone()), Ok(json!(87.99)));
        assert_eq!(
            apply(json!({}), json!({"quantity": 2})),
            Ok(json!({"quantity": 2}))
        );
        assert_eq!(
            apply(json!({}), json!({"price": null, "quantity": 2})),
            Ok(json!({"price": null, "quantity": 2}))
        );
    }

    #[test]
    fn non_numbers_are_rejected() {
        let code = |event| apply(json!({}), event).err().map(|e| e.0);
        assert_eq!(code(json!({"price": "9.99"})), Some("wrong-type".into()));
        assert_eq!(
            code(json!({"price": 9.99, "quantity": [1]})),
            Some("wrong-type".into())
        );
        let msg = apply(json!({}), json!({"price": true})).err().map(|e| e.1);
        assert_eq!(
            msg.as_deref(),
            Some("field \"price\" must be a number, got a boolean")
        );
        assert_eq!(
            code(json!({"price": 1e308, "quantity": 1e308})),
            Some("out-of-range".into())
        );
    }
}
