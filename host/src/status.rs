//! `host status`: a running host's pipelines from its `/api/pipelines`, as text
//! (state, rates, lag per partition, plugin versions) or as the JSON itself.

use anyhow::Result;
use serde_json::Value;
use sluice_host::admin;

/// Reads `/api/pipelines` at `base` and renders it.
pub(crate) async fn run(base: String, json: bool) -> Result<String> {
    let doc = admin::client::api_pipelines(&base).await?;
    if json {
        return Ok(serde_json::to_string_pretty(&doc)?);
    }
    Ok(render(&doc))
}

fn num(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 => format!("{f:.1}"),
            _ => n.to_string(),
        },
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn reach(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "reachable",
        Some(false) => "UNREACHABLE",
        None => "unknown",
    }
}

/// The text `host status` prints.
fn render(doc: &Value) -> String {
    let host = &doc["host"];
    let mut out = vec![format!(
        "host {}: Kafka {}, ClickHouse {}",
        host["version"].as_str().unwrap_or("?"),
        reach(&host["kafka_reachable"]),
        reach(&host["clickhouse_reachable"]),
    )];
    let empty = Vec::new();
    for p in doc["pipelines"].as_array().unwrap_or(&empty) {
        let (t, r) = (&p["totals"], &p["rates"]);
        out.push(String::new());
        out.push(format!(
            "pipeline {}: {} (generation {})",
            p["name"].as_str().unwrap_or("?"),
            p["state"].as_str().unwrap_or("?"),
            num(&p["generation"]),
        ));
        if let Some(reason) = p["reason"].as_str() {
            out.push(format!("  reason: {reason}"));
        }
        out.push(format!(
            "  consumed {} ({}/s), rows {} ({}/s), dead letters {} ({}/s)",
            num(&t["consumed"]),
            num(&r["consumed_per_s"]),
            num(&t["rows"]),
            num(&r["rows_per_s"]),
            num(&t["dead"]),
            num(&r["dead_per_s"]),
        ));
        if p["latency_ms"].is_object() {
            out.push(format!(
                "  batch latency p50 {} ms, p99 {} ms",
                num(&p["latency_ms"]["p50"]),
                num(&p["latency_ms"]["p99"]),
            ));
        }
        for plugin in p["plugins"].as_array().unwrap_or(&empty) {
            out.push(format!(
                "  plugin {} {} {}",
                num(&plugin["index"]),
                plugin["name"].as_str().unwrap_or("?"),
                plugin["version"].as_str().unwrap_or("?"),
            ));
        }
        let parts = p["partitions"].as_array().unwrap_or(&empty);
        if parts.is_empty() {
            out.push("  partitions: none assigned to this host".into());
        }
        for part in parts {
            out.push(format!(
                "  {}/{}: lag {} (committed {}, end {}), {}",
                part["topic"].as_str().unwrap_or("?"),
                num(&part["partition"]),
                num(&part["lag"]),
                num(&part["committed"]),
                num(&part["end"]),
                part["state"].as_str().unwrap_or("?"),
            ));
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_state_rates_lag_and_versions() {
        let doc: Value = serde_json::from_str(
            r#"{"host":{"version":"0.1.0","kafka_reachable":true,"clickhouse_reachable":false},
                "pipelines":[{"name":"tweets","state":"quarantined","reason":"3 faults",
                "generation":2,"totals":{"consumed":10,"rows":9,"dead":1},
                "rates":{"consumed_per_s":2.5,"rows_per_s":2,"dead_per_s":0},
                "latency_ms":{"p50":1.5,"p99":9},
                "plugins":[{"index":0,"name":"sentiment","version":"abc123"}],
                "partitions":[{"topic":"t","partition":1,"lag":4,"committed":6,"end":10,"state":"paused"}]}]}"#,
        )
        .expect("json");
        let text = render(&doc);
        for needle in [
            "ClickHouse UNREACHABLE",
            "pipeline tweets: quarantined (generation 2)",
            "reason: 3 faults",
            "consumed 10 (2.5/s)",
            "p50 1.5 ms",
            "plugin 0 sentiment abc123",
            "t/1: lag 4 (committed 6, end 10), paused",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }
}
