//! `aggregate`: per-batch partial aggregates over tumbling event-time windows. Each batch's
//! accepted events are counted, summed, min/maxed and uniq-collected per (window, window
//! start, group); `finish_batch` emits one partial row per such key to the window's
//! target, and ClickHouse merges partials, so totals are exact however batches are cut
//! and the host keeps no window state.
//!
//! Layout: [`config`] reads the `init` string; [`time`] parses event times and formats
//! window bounds; `json` follows field paths and writes JSON text; `partial` holds the
//! batch's accumulators and writes the partial rows. The plugin glue at the bottom decides
//! acceptance (including lateness against a per-partition watermark).
//!
//! A partial row of the `agg_minute` target, for `"group_by": ["url"]` and the measures
//! `hits` (count), `revenue` (sum), `min_price`/`max_price` (min/max of `price`) and
//! `users` (uniq of `user_id`):
//!
//! ```json
//! {"window_start":"2026-01-01 00:01:00","window_end":"2026-01-01 00:02:00","url":"/cart",
//!  "hits":3,"revenue":59.5,"min_price":4.5,"max_price":40,"users":["user_0001","user_0042"]}
//! ```
//!
//! Merge partials when reading, e.g. `SELECT window_start, url, sum(hits), sum(revenue),
//! min(min_price), max(max_price), uniqExactArray(users) FROM agg_minute GROUP BY
//! window_start, url`. `min`/`max` keys are omitted when no event had the field, so store
//! them as `Nullable` and they do not drag the minimum to 0.
//!
//! Rejection codes: `bad-json`, `not-object`, `missing-field` (no time field),
//! `bad-timestamp`, `wrong-type` (a sum/min/max field that is not a number), `late`.

pub mod config;
mod json;
mod partial;
pub mod time;

use std::collections::HashMap;

use serde_json::{Map, Value};
use sluice_plugin::{ConfigError, Emitter, Event, Reject, Transform};

use crate::config::{Config, Op};
use crate::json::{lookup, preview, type_name};
use crate::partial::Partials;

/// The transform: validates and windows each event, emits partial rows per batch.
#[derive(Debug)]
pub struct Aggregate {
    config: Config,
    /// Accumulators of the current batch; emptied by `finish_batch`.
    partials: Partials,
    /// Topic -> partition -> watermark in epoch ms. It outlives batches so that lateness
    /// does not depend on where batches are cut; it starts empty in a fresh instance.
    watermarks: HashMap<String, HashMap<i32, i64>>,
}

impl Aggregate {
    /// Builds the plugin from a parsed config.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            partials: Partials::default(),
            watermarks: HashMap::new(),
        }
    }

    /// The event time in epoch ms, from the configured time field.
    fn event_time(&self, event: &Map<String, Value>) -> Result<i64, Reject> {
        let field = &self.config.time_field.name;
        let parsed = match lookup(event, &self.config.time_field.path) {
            None => {
                return Err(Reject::new(
                    "missing-field",
                    format!("missing time field \"{field}\""),
                ));
            }
            Some(Value::String(s)) => time::parse_text(s),
            Some(Value::Number(n)) => n.as_i64().and_then(time::from_epoch),
            Some(_) => None,
        };
        parsed.ok_or_else(|| {
            Reject::new(
                "bad-timestamp",
                format!(
                    "time field \"{field}\" holds {}, which is not a time from year 0000 to 9999; expected \"YYYY-MM-DD hh:mm:ss\", ISO-8601 such as \"2026-01-01T00:00:00.000Z\", or integer epoch seconds or milliseconds",
                    lookup(event, &self.config.time_field.path).map_or_else(String::new, preview)
                ),
            )
        })
    }

    /// Refuses an event whose earliest-ending window closed more than the allowed
    /// lateness before its partition's watermark. Checking the earliest end means a late
    /// event is refused whole, so every window size and the raw table agree.
    fn check_late(&self, event: &Event<'_>, time_ms: i64) -> Result<(), Reject> {
        let Some(&watermark) = self
            .watermarks
            .get(event.topic)
            .and_then(|p| p.get(&event.partition))
        else {
            return Ok(());
        };
        let closed_before = watermark - self.config.allowed_lateness_ms;
        let Some((end, window)) = self
            .config
            .windows
            .iter()
            .map(|w| (w.start(time_ms) + w.size_ms, w))
            .min_by_key(|(end, _)| *end)
        else {
            return Ok(());
        };
        if end > closed_before {
            return Ok(());
        }
        Err(Reject::new(
            "late",
            format!(
                "event time {} is late: its {} window ended at {}, at or before watermark {} of {}/{} minus the allowed lateness of {} s",
                time::display_ms(time_ms),
                window.target,
                time::display_ms(end),
                time::display_ms(watermark),
                event.topic,
                event.partition,
                self.config.allowed_lateness_ms / 1000,
            ),
        ))
    }

    /// Refuses an event whose sum/min/max field holds something other than a number.
    fn check_types(&self, event: &Map<String, Value>) -> Result<(), Reject> {
        for measure in &self.config.measures {
            if !matches!(measure.op, Op::Sum | Op::Min | Op::Max) {
                continue;
            }
            let Some(field) = &measure.field else {
                continue;
            };
            match lookup(event, &field.path) {
                None | Some(Value::Number(_)) => {}
                Some(other) => {
                    return Err(Reject::new(
                        "wrong-type",
                        format!(
                            "field \"{}\" of measure \"{}\" must be a number, got {}",
                            field.name,
                            measure.name,
                            type_name(other)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Transform for Aggregate {
    fn init(config: &str) -> Result<Self, ConfigError> {
        Ok(Self::new(Config::parse(config)?))
    }

    fn process(&mut self, event: &Event<'_>, out: &mut Emitter) -> Result<(), Reject> {
        let object = event.json_object()?;
        let time_ms = self.event_time(&object)?;
        self.check_late(event, time_ms)?;
        self.check_types(&object)?;
        // Accepted: only now may the event move the watermark or touch the partials.
        let mark = time_ms - self.config.watermark_delay_ms;
        let partitions = match self.watermarks.get_mut(event.topic) {
            Some(p) => p,
            None => self.watermarks.entry(event.topic.to_owned()).or_default(),
        };
        partitions
            .entry(event.partition)
            .and_modify(|w| *w = (*w).max(mark))
            .or_insert(mark);
        self.partials.add(&self.config, time_ms, &object);
        if self.config.passthrough {
            out.row(event.payload);
        }
        Ok(())
    }

    fn finish_batch(&mut self, out: &mut Emitter) {
        self.partials.drain(&self.config, |target, row| {
            out.row_to(target, row.as_bytes())
        });
    }
}

sluice_plugin::export_transform!(Aggregate);

#[cfg(test)]
mod tests;
