//! `/healthz` (the process answers) and `/readyz` (ClickHouse answers, every
//! pipeline's consumer has joined its group, and none is failed or quarantined).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Http;

/// Alive: answering at all is the check.
pub(super) async fn healthz() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

/// Ready, or 503 with one line per reason (only the count of them for a caller that
/// may not read, off loopback without the token).
pub(super) async fn readyz(State(state): State<Arc<Http>>, headers: HeaderMap) -> Response {
    let reasons = not_ready(&state);
    if reasons.is_empty() {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let body = if state.guard.may_read(&headers) {
        format!("not ready:\n{}\n", reasons.join("\n"))
    } else {
        format!(
            "not ready ({} reasons; send the admin token to see them)\n",
            reasons.len()
        )
    };
    (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
}

/// Why the host is not ready, one line each; empty when it is.
pub(super) fn not_ready(state: &Http) -> Vec<String> {
    let mut reasons = Vec::new();
    if state.clickhouse_reachable() == Some(false) {
        reasons.push("ClickHouse does not answer".to_owned());
    }
    for c in &state.controls {
        let status = c.status();
        let reason = status.quarantine.as_deref().unwrap_or("no reason given");
        match status.state.as_str() {
            "failed" => reasons.push(format!("pipeline {}: failed: {reason}", status.name)),
            "quarantined" => {
                reasons.push(format!("pipeline {}: quarantined: {reason}", status.name))
            }
            _ if !c.telemetry().joined() => reasons.push(format!(
                "pipeline {}: its consumer has not joined group {} yet",
                status.name,
                c.config().group
            )),
            _ => {}
        }
    }
    reasons
}
