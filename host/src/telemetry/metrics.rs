//! The host's Prometheus series: one table of every family (name, type, labels, help)
//! as `docs/metrics.md` documents it, and the recorder that holds and renders them.
//! Series are registered through [`Metrics`] handles, never through a global
//! recorder, so a host with `--http none` records nothing and two hosts in one test
//! process keep their series apart.

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

/// A metric family's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

impl Kind {
    /// The name `# TYPE` lines use.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric family: what `docs/metrics.md` lists in one table row.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// Full series name.
    pub name: &'static str,
    /// Prometheus type.
    pub kind: Kind,
    /// Label names, in the documented order.
    pub labels: &'static [&'static str],
    /// Help text, exactly as `# HELP` carries it.
    pub help: &'static str,
}

/// Records read from Kafka.
pub const RECORDS_CONSUMED: &str = "sluice_records_consumed_total";
/// Rows inserted, per table.
pub const ROWS_WRITTEN: &str = "sluice_rows_written_total";
/// Dead letters, by code.
pub const DEAD_LETTERS: &str = "sluice_dead_letters_total";
/// Batch time per stage.
pub const BATCH_DURATION: &str = "sluice_batch_duration_seconds";
/// Plugin time per batch.
pub const PLUGIN_SECONDS: &str = "sluice_plugin_seconds";
/// Trapped plugin calls.
pub const PLUGIN_TRAPS: &str = "sluice_plugin_traps_total";
/// Inserts retried.
pub const INSERT_RETRIES: &str = "sluice_insert_retries_total";
/// Inserts failed.
pub const INSERT_ERRORS: &str = "sluice_insert_errors_total";
/// Lag per partition.
pub const CONSUMER_LAG: &str = "sluice_consumer_lag_records";
/// Bytes in flight.
pub const IN_FLIGHT_BYTES: &str = "sluice_in_flight_bytes";
/// Paused partitions.
pub const PAUSED_PARTITIONS: &str = "sluice_paused_partitions";
/// Pipeline state, one series per state.
pub const PIPELINE_STATE: &str = "sluice_pipeline_state";
/// Swaps by result.
pub const SWAPS: &str = "sluice_swaps_total";
/// Rollbacks by result.
pub const ROLLBACKS: &str = "sluice_rollbacks_total";
/// Time of the last commit.
pub const LAST_COMMIT: &str = "sluice_last_commit_timestamp_seconds";
/// Stalled partitions.
pub const STALLED_PARTITIONS: &str = "sluice_stalled_partitions";
/// Batches isolated.
pub const ISOLATIONS: &str = "sluice_isolations_total";

/// Every family the host serves; a unit test holds it to `docs/metrics.md`.
pub const FAMILIES: &[Family] = &[
    Family {
        name: RECORDS_CONSUMED,
        kind: Kind::Counter,
        labels: &["pipeline"],
        help: "Records read from Kafka.",
    },
    Family {
        name: ROWS_WRITTEN,
        kind: Kind::Counter,
        labels: &["pipeline", "table"],
        help: "Rows inserted into ClickHouse, per table.",
    },
    Family {
        name: DEAD_LETTERS,
        kind: Kind::Counter,
        labels: &["pipeline", "code"],
        help: "Dead letters written, by reason code.",
    },
    Family {
        name: BATCH_DURATION,
        kind: Kind::Histogram,
        labels: &["pipeline", "stage"],
        help: "Time per batch in each stage: chain (plugins), insert (ClickHouse) or commit (Kafka).",
    },
    Family {
        name: PLUGIN_SECONDS,
        kind: Kind::Histogram,
        labels: &["pipeline", "plugin", "version"],
        help: "Time one plugin version spent on one batch.",
    },
    Family {
        name: PLUGIN_TRAPS,
        kind: Kind::Counter,
        labels: &["pipeline", "plugin", "kind"],
        help: "Plugin calls that trapped, by kind (trap-panic, trap-deadline, trap-memory, trap-stack, ...).",
    },
    Family {
        name: INSERT_RETRIES,
        kind: Kind::Counter,
        labels: &["pipeline", "class"],
        help: "Inserts retried, by failure class (retryable, schema, fatal).",
    },
    Family {
        name: INSERT_ERRORS,
        kind: Kind::Counter,
        labels: &["pipeline", "class"],
        help: "Inserts that failed, by failure class (retryable, schema, fatal).",
    },
    Family {
        name: CONSUMER_LAG,
        kind: Kind::Gauge,
        labels: &["pipeline", "topic", "partition"],
        help: "Records between the committed offset and the end of the partition.",
    },
    Family {
        name: IN_FLIGHT_BYTES,
        kind: Kind::Gauge,
        labels: &["pipeline"],
        help: "Bytes read from Kafka and not yet committed.",
    },
    Family {
        name: PAUSED_PARTITIONS,
        kind: Kind::Gauge,
        labels: &["pipeline"],
        help: "Partitions paused, for backpressure or quarantine.",
    },
    Family {
        name: PIPELINE_STATE,
        kind: Kind::Gauge,
        labels: &["pipeline", "state"],
        help: "1 for the pipeline's current state (running, quarantined, failed), 0 for the others.",
    },
    Family {
        name: SWAPS,
        kind: Kind::Counter,
        labels: &["pipeline", "result"],
        help: "Plugin swaps, by result (ok, refused).",
    },
    Family {
        name: ROLLBACKS,
        kind: Kind::Counter,
        labels: &["pipeline", "result"],
        help: "Plugin rollbacks, by result (manual, automatic, refused).",
    },
    Family {
        name: LAST_COMMIT,
        kind: Kind::Gauge,
        labels: &["pipeline"],
        help: "Unix time of the pipeline's last offset commit to Kafka.",
    },
    Family {
        name: STALLED_PARTITIONS,
        kind: Kind::Gauge,
        labels: &["pipeline"],
        help: "Partitions whose batch is held and not moving on.",
    },
    Family {
        name: ISOLATIONS,
        kind: Kind::Counter,
        labels: &["pipeline"],
        help: "Failing batches split to isolate the records that broke them.",
    },
];

/// Histogram buckets in seconds: a batch takes from well under a millisecond (no
/// plugin, small batch) to seconds (a slow insert, a plugin near its deadline).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// Where the host's series live: a Prometheus recorder, or nowhere (every handle a
/// no-op, for `--http none` and for benches that measure the cost of recording).
#[derive(Clone, Default)]
pub struct Metrics {
    recorder: Option<Arc<PrometheusRecorder>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("on", &self.recorder.is_some())
            .finish()
    }
}

impl Metrics {
    /// Records nothing.
    pub fn off() -> Self {
        Self::default()
    }

    /// A Prometheus recorder with every family described, histograms as buckets.
    pub fn prometheus() -> Self {
        let builder = PrometheusBuilder::new();
        // set_buckets fails only on an empty list.
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        for family in FAMILIES {
            let (name, help) = (family.name.into(), family.help.into());
            match family.kind {
                Kind::Counter => recorder.describe_counter(name, None, help),
                Kind::Gauge => recorder.describe_gauge(name, None, help),
                Kind::Histogram => recorder.describe_histogram(name, None, help),
            }
        }
        Self {
            recorder: Some(Arc::new(recorder)),
        }
    }

    /// Whether anything is recorded.
    pub fn enabled(&self) -> bool {
        self.recorder.is_some()
    }

    /// Every series in Prometheus text format, if recording.
    pub fn render(&self) -> Option<String> {
        self.recorder.as_ref().map(|r| r.handle().render())
    }

    /// A counter of `name` with `labels`; registering it makes the series exist at 0.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        match &self.recorder {
            Some(r) => r.register_counter(&key(name, labels), &METADATA),
            None => Counter::noop(),
        }
    }

    /// A gauge of `name` with `labels`, at 0 until set.
    pub fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        match &self.recorder {
            Some(r) => r.register_gauge(&key(name, labels), &METADATA),
            None => Gauge::noop(),
        }
    }

    /// A histogram of `name` with `labels`, rendered with zero counts until recorded.
    pub fn histogram(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Histogram {
        match &self.recorder {
            Some(r) => r.register_histogram(&key(name, labels), &METADATA),
            None => Histogram::noop(),
        }
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, (*v).to_owned()))
        .collect();
    Key::from_parts(name, labels)
}

/// The rows of the metrics table in `doc` (docs/metrics.md): (name, type, labels,
/// help). The unit test and the integration test hold the exporter to that table;
/// both read it through this one parser.
#[doc(hidden)]
pub fn documented_rows(doc: &str) -> Vec<(String, String, Vec<String>, String)> {
    doc.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            (cells.len() == 4 && cells[0].starts_with("`sluice_")).then(|| {
                (
                    cells[0].trim_matches('`').to_owned(),
                    cells[1].to_owned(),
                    cells[2]
                        .split(',')
                        .map(|l| l.trim().trim_matches('`').to_owned())
                        .filter(|l| !l.is_empty())
                        .collect(),
                    cells[3].to_owned(),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the one table in docs/metrics.md.
    fn documented() -> Vec<(String, String, Vec<String>, String)> {
        documented_rows(include_str!("../../../docs/metrics.md"))
    }

    #[test]
    fn the_family_table_is_the_documented_one() {
        let doc = documented();
        assert_eq!(
            doc.len(),
            FAMILIES.len(),
            "docs/metrics.md rows vs FAMILIES"
        );
        for (name, kind, labels, help) in &doc {
            let f = FAMILIES
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("{name} is documented but not in FAMILIES"));
            assert_eq!(f.kind.as_str(), kind, "{name}");
            assert_eq!(f.labels, labels.as_slice(), "{name}");
            assert_eq!(f.help, help, "{name}");
        }
    }

    #[test]
    fn registered_series_render_with_help_and_type_before_any_event() {
        let m = Metrics::prometheus();
        let _c = m.counter(RECORDS_CONSUMED, &[("pipeline", "p")]);
        let _h = m.histogram(BATCH_DURATION, &[("pipeline", "p"), ("stage", "chain")]);
        let text = m.render().expect("on");
        assert!(
            text.contains("# HELP sluice_records_consumed_total Records read from Kafka."),
            "{text}"
        );
        assert!(text.contains("# TYPE sluice_records_consumed_total counter"));
        assert!(text.contains("sluice_records_consumed_total{pipeline=\"p\"} 0"));
        assert!(text.contains("# TYPE sluice_batch_duration_seconds histogram"));
        assert!(
            text.contains("sluice_batch_duration_seconds_count{pipeline=\"p\",stage=\"chain\"} 0"),
            "{text}"
        );
    }

    #[test]
    fn off_records_nothing() {
        let m = Metrics::off();
        m.counter(RECORDS_CONSUMED, &[("pipeline", "p")])
            .increment(1);
        assert!(m.render().is_none());
        assert!(!m.enabled());
    }
}
