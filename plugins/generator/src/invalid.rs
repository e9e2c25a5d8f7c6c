//! Deliberately invalid records for validator tests: well-formed JSON that breaks one
//! rule of its kind's schema. Each workload writes the change itself while building the
//! record, after drawing exactly the random numbers a valid record draws.
//!
//! With `"invalid_every": N`, records N, 2N, 3N, ... (1-based) are invalid, so a stream
//! of `count` records holds exactly `floor(count / N)` of them. The `k`-th invalid
//! record (`k` = 0, 1, 2, ...; record number `(k + 1) * N`) breaks rule `k % 4`:
//!
//! | `k % 4` | [`Invalid`]    | tweets                       | clickstream, ecommerce      | iot                         | saas                        |
//! |---------|----------------|------------------------------|-----------------------------|-----------------------------|-----------------------------|
//! | 0       | `MissingField` | no `"text"`                  | no `"user_id"`              | no `"device_id"`            | no `"tenant_id"`            |
//! | 1       | `OutOfRange`   | `"text": ""`                 | `"price": -5.0`             | `"battery": 150`            | `"latency_ms": -1`          |
//! | 2       | `UnknownEnum`  | `"lang": "xx"`               | `"event_type": "teleport"`  | `"sensor": "flux"`          | `"event_type": "teleport"`  |
//! | 3       | `BadTimestamp` | `"created_at": "not-a-time"` | `"timestamp": "not-a-time"` | `"timestamp": "not-a-time"` | `"timestamp": "not-a-time"` |
//!
//! Everything else in the record, including its Kafka key (the normal user, device or
//! tenant id, even when that field is the one removed), is what the valid record would
//! have held, and every other record of the stream is byte-identical to the stream
//! without `invalid_every`. A record that is also due to be malformed (`malformed_every`)
//! is written invalid first and then broken, so it arrives as unparseable JSON.

/// The one rule an invalid record breaks; see the module docs for each kind's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalid {
    /// A required field is left out: the record's id of who or what acted, or the text.
    MissingField,
    /// A number outside its allowed range (an empty text for tweets, which have none).
    OutOfRange,
    /// An enumerated string holds a value the schema does not list.
    UnknownEnum,
    /// The event time is [`BAD_TIMESTAMP`] instead of `YYYY-MM-DD hh:mm:ss`.
    BadTimestamp,
}

impl Invalid {
    /// Every kind of invalidity, in rotation order.
    pub const ALL: [Self; 4] = [
        Self::MissingField,
        Self::OutOfRange,
        Self::UnknownEnum,
        Self::BadTimestamp,
    ];

    /// The rule broken by the `nth` invalid record (0-based), rotating through [`Self::ALL`].
    pub fn for_nth(nth: u64) -> Self {
        Self::ALL[(nth % 4) as usize]
    }

    /// The timestamp text to write: [`BAD_TIMESTAMP`] for `BadTimestamp`, else `valid`.
    pub fn timestamp(invalid: Option<Self>, valid: &str) -> &str {
        if invalid == Some(Self::BadTimestamp) {
            BAD_TIMESTAMP
        } else {
            valid
        }
    }

    /// `valid` unless this is the `MissingField` record, which leaves the field out.
    pub fn required<T>(invalid: Option<Self>, valid: T) -> Option<T> {
        (invalid != Some(Self::MissingField)).then_some(valid)
    }

    /// `unknown` for the `UnknownEnum` record, else `valid`.
    pub fn enumerated(
        invalid: Option<Self>,
        valid: &'static str,
        unknown: &'static str,
    ) -> &'static str {
        if invalid == Some(Self::UnknownEnum) {
            unknown
        } else {
            valid
        }
    }

    /// `out_of_range` for the `OutOfRange` record, else `valid`.
    pub fn ranged<T>(invalid: Option<Self>, valid: T, out_of_range: T) -> T {
        if invalid == Some(Self::OutOfRange) {
            out_of_range
        } else {
            valid
        }
    }
}

/// The event time an invalid record carries instead of a real one.
pub const BAD_TIMESTAMP: &str = "not-a-time";
/// The `event_type` an invalid clickstream, ecommerce or saas record carries.
pub const UNKNOWN_EVENT_TYPE: &str = "teleport";
/// The `sensor` an invalid iot record carries.
pub const UNKNOWN_SENSOR: &str = "flux";
/// The `lang` an invalid tweet carries; every valid tweet is `en`.
pub const UNKNOWN_LANG: &str = "xx";
/// The `price` an invalid clickstream or ecommerce record carries.
pub const NEGATIVE_PRICE: f64 = -5.0;
/// The `battery` an invalid iot record carries; valid ones are 0 to 100.
pub const BATTERY_OVER_FULL: i64 = 150;
/// The `latency_ms` an invalid saas record carries; valid ones are 0 or more.
pub const NEGATIVE_LATENCY: i64 = -1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidities_rotate_in_the_documented_order() {
        assert_eq!(Invalid::for_nth(0), Invalid::MissingField);
        assert_eq!(Invalid::for_nth(1), Invalid::OutOfRange);
        assert_eq!(Invalid::for_nth(2), Invalid::UnknownEnum);
        assert_eq!(Invalid::for_nth(3), Invalid::BadTimestamp);
        assert_eq!(Invalid::for_nth(4), Invalid::MissingField);
        assert_eq!(Invalid::for_nth(u64::MAX), Invalid::BadTimestamp);
    }

    #[test]
    fn helpers_change_only_their_own_rule() {
        for how in Invalid::ALL {
            let on = Some(how);
            assert_eq!(
                Invalid::timestamp(on, "t") == BAD_TIMESTAMP,
                how == Invalid::BadTimestamp
            );
            assert_eq!(
                Invalid::required(on, 1).is_none(),
                how == Invalid::MissingField
            );
            assert_eq!(
                Invalid::enumerated(on, "a", "b") == "b",
                how == Invalid::UnknownEnum
            );
            assert_eq!(Invalid::ranged(on, 1, 2) == 2, how == Invalid::OutOfRange);
        }
        assert_eq!(Invalid::timestamp(None, "t"), "t");
        assert_eq!(Invalid::required(None, 1), Some(1));
        assert_eq!(Invalid::enumerated(None, "a", "b"), "a");
        assert_eq!(Invalid::ranged(None, 1, 2), 1);
    }
}
