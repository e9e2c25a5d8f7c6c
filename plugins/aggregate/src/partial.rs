//! Batch state: one accumulator per (window, window start, group) that the batch's accepted
//! events touch. `finish_batch` writes each as a partial row and clears them all, so a
//! partial covers exactly one batch and ClickHouse merges partials into exact totals.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Number, Value};

use crate::config::{Config, Measure, Op};
use crate::json::{lookup, push_str, write_text};
use crate::time::write_datetime;

/// Running sum of one measure: exact integers until a fraction or an overflow turns it
/// into a float, so integer sums merge without rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sum {
    /// Every value so far was an integer and the total fits `i64`.
    Int(i64),
    /// Some value was fractional or the integer total overflowed.
    Float(f64),
}

impl Sum {
    fn add(&mut self, n: &Number) {
        let as_f64 = |n: &Number| n.as_f64().unwrap_or(f64::NAN);
        *self = match (*self, n.as_i64()) {
            (Sum::Int(a), Some(b)) => a
                .checked_add(b)
                .map_or(Sum::Float(a as f64 + b as f64), Sum::Int),
            (Sum::Int(a), None) => Sum::Float(a as f64 + as_f64(n)),
            (Sum::Float(a), _) => Sum::Float(a + as_f64(n)),
        };
    }

    fn write(self, out: &mut String) {
        use std::fmt::Write as _;
        // Writing into a String cannot fail.
        let _ = match self {
            Sum::Int(n) => write!(out, "{n}"),
            // `f64`'s Display never uses exponents, so the text is a JSON number.
            Sum::Float(x) if x.is_finite() => write!(out, "{x}"),
            Sum::Float(_) => write!(out, "null"),
        };
    }
}

/// The smallest or largest value so far, kept as given so integers print as integers.
#[derive(Debug, Clone, PartialEq)]
struct Extreme {
    key: f64,
    value: Number,
}

/// The state of one measure in one partial row.
#[derive(Debug, Clone, PartialEq)]
enum MeasureAcc {
    /// Counts live in [`Acc::count`].
    Count,
    Sum(Sum),
    Min(Option<Extreme>),
    Max(Option<Extreme>),
    Uniq(BTreeSet<String>),
}

impl MeasureAcc {
    fn new(op: Op) -> Self {
        match op {
            Op::Count => Self::Count,
            Op::Sum => Self::Sum(Sum::Int(0)),
            Op::Min => Self::Min(None),
            Op::Max => Self::Max(None),
            Op::Uniq => Self::Uniq(BTreeSet::new()),
        }
    }
}

/// One partial row in the making.
#[derive(Debug, Clone, PartialEq)]
struct Acc {
    /// Accepted events in this window and group.
    count: u64,
    /// One per configured measure, in config order.
    measures: Vec<MeasureAcc>,
}

/// Where a partial row belongs: window index (into the target-sorted windows), window
/// start in epoch ms, and group id (into [`Partials::groups`]).
type Slot = (usize, i64, u32);

/// All partial rows of the current batch.
#[derive(Debug, Default)]
pub struct Partials {
    /// Group values -> group id; groups are interned so each slot key is small.
    group_ids: HashMap<Vec<String>, u32>,
    /// Group id -> group values.
    groups: Vec<Vec<String>>,
    slots: HashMap<Slot, usize>,
    accs: Vec<Acc>,
    /// Reused per event: its group values, then its slots, then a stringified value.
    key: Vec<String>,
    touched: Vec<usize>,
    text: String,
}

impl Partials {
    /// Adds one accepted event at `time_ms` to every window's partial row for its group.
    /// The caller has already checked that sum/min/max fields hold numbers.
    pub fn add(&mut self, config: &Config, time_ms: i64, event: &Map<String, Value>) {
        self.key.resize_with(config.group_by.len(), String::new);
        for (text, field) in self.key.iter_mut().zip(&config.group_by) {
            text.clear();
            if let Some(v) = lookup(event, &field.path) {
                write_text(text, v);
            }
        }
        let group = match self.group_ids.get(self.key.as_slice()) {
            Some(&id) => id,
            None => {
                let id = self.groups.len() as u32;
                self.groups.push(self.key.clone());
                self.group_ids.insert(self.key.clone(), id);
                id
            }
        };
        self.touched.clear();
        for (w, window) in config.windows.iter().enumerate() {
            let accs = &mut self.accs;
            let index = *self
                .slots
                .entry((w, window.start(time_ms), group))
                .or_insert_with(|| {
                    accs.push(Acc {
                        count: 0,
                        measures: config
                            .measures
                            .iter()
                            .map(|m| MeasureAcc::new(m.op))
                            .collect(),
                    });
                    accs.len() - 1
                });
            self.accs[index].count += 1;
            self.touched.push(index);
        }
        for (m, measure) in config.measures.iter().enumerate() {
            let Some(value) = measure.field.as_ref().and_then(|f| lookup(event, &f.path)) else {
                continue;
            };
            let text = match (measure.op, value) {
                (Op::Uniq, Value::String(s)) => s.as_str(),
                (Op::Uniq, other) => {
                    self.text.clear();
                    write_text(&mut self.text, other);
                    self.text.as_str()
                }
                _ => "",
            };
            for &index in &self.touched {
                match (&mut self.accs[index].measures[m], value) {
                    (MeasureAcc::Sum(sum), Value::Number(n)) => sum.add(n),
                    (MeasureAcc::Min(best), Value::Number(n)) => {
                        keep(best, n, |new, old| new < old)
                    }
                    (MeasureAcc::Max(best), Value::Number(n)) => {
                        keep(best, n, |new, old| new > old)
                    }
                    // Look up before inserting: a repeated value costs no allocation.
                    (MeasureAcc::Uniq(set), _) if !set.contains(text) => {
                        set.insert(text.to_owned());
                    }
                    _ => {}
                }
            }
        }
    }

    /// Calls `emit(target, row)` for every partial row, sorted by target, window start
    /// and group values, then clears the batch state.
    pub fn drain(&mut self, config: &Config, mut emit: impl FnMut(&str, &str)) {
        let mut order: Vec<(Slot, usize)> = self.slots.drain().collect();
        let groups = &self.groups;
        order.sort_unstable_by(|((wa, sa, ga), _), ((wb, sb, gb), _)| {
            (wa, sa)
                .cmp(&(wb, sb))
                .then_with(|| groups[*ga as usize].cmp(&groups[*gb as usize]))
        });
        let mut row = String::with_capacity(256);
        for ((w, start, group), index) in order {
            let window = &config.windows[w];
            row.clear();
            write_row(
                &mut row,
                config,
                start,
                window.size_ms,
                &groups[group as usize],
                &self.accs[index],
            );
            emit(&window.target, &row);
        }
        self.group_ids.clear();
        self.groups.clear();
        self.accs.clear();
    }
}

/// Replaces `best` with `n` when there is none yet or `better(n, best)`.
fn keep(best: &mut Option<Extreme>, n: &Number, better: fn(f64, f64) -> bool) {
    let key = n.as_f64().unwrap_or(f64::NAN);
    if best.as_ref().is_none_or(|b| better(key, b.key)) {
        *best = Some(Extreme {
            key,
            value: n.clone(),
        });
    }
}

/// Writes one partial row: window bounds, group values, then measures in config order.
fn write_row(
    out: &mut String,
    config: &Config,
    start: i64,
    size_ms: i64,
    groups: &[String],
    acc: &Acc,
) {
    use std::fmt::Write as _;
    out.push_str("{\"window_start\":\"");
    write_datetime(out, start);
    out.push_str("\",\"window_end\":\"");
    write_datetime(out, start + size_ms);
    out.push('"');
    for (field, value) in config.group_by.iter().zip(groups) {
        out.push(',');
        push_str(out, &field.name);
        out.push(':');
        push_str(out, value);
    }
    for (measure, state) in config.measures.iter().zip(&acc.measures) {
        let Measure { name, .. } = measure;
        let key = |out: &mut String| {
            out.push(',');
            push_str(out, name);
            out.push(':');
        };
        // Writing into a String cannot fail.
        match state {
            MeasureAcc::Count => {
                key(out);
                let _ = write!(out, "{}", acc.count);
            }
            MeasureAcc::Sum(sum) => {
                key(out);
                sum.write(out);
            }
            MeasureAcc::Min(best) | MeasureAcc::Max(best) => {
                // No contributing event: omit the key so ClickHouse stores NULL, not 0.
                if let Some(best) = best {
                    key(out);
                    let _ = write!(out, "{}", best.value);
                }
            }
            MeasureAcc::Uniq(set) => {
                key(out);
                out.push('[');
                for (i, text) in set.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_str(out, text);
                }
                out.push(']');
            }
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_stay_integers_until_they_cannot() {
        let mut s = Sum::Int(0);
        s.add(&Number::from(2));
        s.add(&Number::from(-5));
        assert_eq!(s, Sum::Int(-3));
        s.add(&Number::from(i64::MIN));
        s.add(&Number::from(-10));
        assert!(matches!(s, Sum::Float(_)), "overflow turns float: {s:?}");
        let mut s = Sum::Int(1);
        s.add(&Number::from_f64(0.5).expect("finite"));
        assert_eq!(s, Sum::Float(1.5));
        let mut s = Sum::Int(0);
        s.add(&Number::from(u64::MAX));
        assert_eq!(s, Sum::Float(u64::MAX as f64));
        let text = |s: Sum| {
            let mut out = String::new();
            s.write(&mut out);
            out
        };
        assert_eq!(text(Sum::Int(-3)), "-3");
        assert_eq!(text(Sum::Float(1.5)), "1.5");
        assert_eq!(text(Sum::Float(1e21)), "1000000000000000000000");
        assert_eq!(text(Sum::Float(f64::INFINITY)), "null");
    }
}
