//! The admin HTTP API: list pipelines with their active plugin versions, swap a
//! plugin, roll one back. It loads code into the host and has no authentication, so
//! it is off unless `--admin ADDR` is given; bind it to loopback.
//!
//! - `GET  /pipelines`: every pipeline's status (versions by content hash, state).
//! - `POST /pipelines/{name}/plugins/{index}[?file=NAME.wasm]`: body is the new
//!   `.wasm` (any content type; `file` names it in messages and dead letters), or
//!   JSON `{"path": "..."}` naming a file the host can read.
//! - `POST /pipelines/{name}/plugins/{index}/rollback`: back to the previous version.
//! - `POST /pipelines/{name}/resume`: lift a quarantine once its cause is fixed
//!   (a sink the host could not write to: a password, a permission, a view).
//!
//! A refused swap answers 422 with the reason; the old version keeps running.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::pipeline::control::{PipelineControl, Refusal};

/// Largest plugin upload accepted.
const MAX_UPLOAD: usize = 256 << 20;

type Controls = Arc<Vec<Arc<PipelineControl>>>;

/// An API error body: what went wrong, and a code to branch on.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApiError {
    /// Machine-readable reason, e.g. `canary`, `load`, `no-such-pipeline`.
    pub code: String,
    /// One line for people.
    pub error: String,
}

/// Query of an upload: the uploaded file's name, for messages and dead letters.
#[derive(Debug, Deserialize)]
struct Upload {
    file: Option<String>,
}

/// JSON body naming a plugin file instead of uploading it.
#[derive(Debug, Deserialize)]
struct ByPath {
    path: PathBuf,
}

/// Binds `addr` and serves until `shutdown`; returns the bound address (port 0
/// picks a free one) once it is listening.
pub async fn serve(
    addr: SocketAddr,
    controls: Vec<Arc<PipelineControl>>,
    shutdown: CancellationToken,
) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} for the admin API; pass another --admin address")
    })?;
    let bound = listener.local_addr()?;
    let app = router(Arc::new(controls));
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "Admin API stopped.");
        }
    });
    tracing::info!(%bound, "Admin API listening.");
    Ok(bound)
}

fn router(controls: Controls) -> Router {
    Router::new()
        .route("/pipelines", get(list))
        .route("/pipelines/{name}/plugins/{index}", post(swap))
        .route("/pipelines/{name}/plugins/{index}/rollback", post(rollback))
        .route("/pipelines/{name}/resume", post(resume))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .with_state(controls)
}

async fn list(State(controls): State<Controls>) -> Response {
    let all: Vec<_> = controls.iter().map(|c| c.status()).collect();
    Json(all).into_response()
}

fn find(controls: &Controls, name: &str) -> Option<Arc<PipelineControl>> {
    controls.iter().find(|c| c.name() == name).cloned()
}

fn no_such_pipeline(name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no-such-pipeline",
        format!("no pipeline named `{name}`; GET /pipelines lists them"),
    )
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(ApiError {
            code: code.to_owned(),
            error: message,
        }),
    )
        .into_response()
}

fn refused(refusal: Refusal) -> Response {
    let status = match refusal {
        Refusal::NoSuchIndex { .. } => StatusCode::NOT_FOUND,
        Refusal::NoHistory { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, refusal.code(), refusal.to_string())
}

async fn swap(
    State(controls): State<Controls>,
    Path((name, index)): Path<(String, usize)>,
    Query(upload): Query<Upload>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(control) = find(&controls, &name) else {
        return no_such_pipeline(&name);
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (path, bytes) = if is_json {
        let by_path: ByPath = match serde_json::from_slice(&body) {
            Ok(p) => p,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    format!("expected {{\"path\": \"...\"}} or a .wasm body: {e}"),
                );
            }
        };
        match std::fs::read(&by_path.path) {
            Ok(b) => (Some(by_path.path), b),
            Err(e) => {
                return refused(Refusal::Load(format!(
                    "cannot read {}: {e}",
                    by_path.path.display()
                )));
            }
        }
    } else {
        // Only the file name is kept: it labels the plugin, nothing is read from it.
        let label = upload
            .file
            .as_deref()
            .and_then(|f| std::path::Path::new(f).file_name())
            .map(PathBuf::from);
        (label, body.to_vec())
    };
    let result =
        tokio::task::spawn_blocking(move || control.swap(index, path.as_deref(), &bytes)).await;
    match result {
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(refusal)) => refused(refusal),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("swap task failed: {e}"),
        ),
    }
}

async fn rollback(
    State(controls): State<Controls>,
    Path((name, index)): Path<(String, usize)>,
) -> Response {
    let Some(control) = find(&controls, &name) else {
        return no_such_pipeline(&name);
    };
    match tokio::task::spawn_blocking(move || control.rollback(index)).await {
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(refusal)) => refused(refusal),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("rollback task failed: {e}"),
        ),
    }
}

/// What a resume did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResumeReport {
    /// Pipeline name.
    pub pipeline: String,
    /// The quarantine reason that was lifted.
    pub lifted: String,
}

async fn resume(State(controls): State<Controls>, Path(name): Path<String>) -> Response {
    let Some(control) = find(&controls, &name) else {
        return no_such_pipeline(&name);
    };
    match control.resume() {
        Some(lifted) => Json(ResumeReport {
            pipeline: name,
            lifted,
        })
        .into_response(),
        None => error(
            StatusCode::CONFLICT,
            "not-quarantined",
            format!("pipeline `{name}` is not quarantined; nothing to resume"),
        ),
    }
}

/// The client side, for `host plugin swap|rollback|list`: one request to a running
/// host's admin API, with errors that say what to check.
pub mod client {
    use anyhow::{Context, Result, bail};
    use http_body_util::{BodyExt, Full};
    use hyper::Request;
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    use super::{ApiError, ResumeReport};
    use crate::pipeline::control::{PipelineStatus, SwapReport};

    async fn call(method: &str, url: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>)> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let request = Request::builder()
            .method(method)
            .uri(url)
            .header("content-type", "application/wasm")
            .body(Full::new(Bytes::from(body)))
            .with_context(|| format!("bad admin URL {url}"))?;
        let response = client.request(request).await.with_context(|| {
            format!("cannot reach the admin API at {url}; start the host with --admin ADDR and pass the same address with --admin")
        })?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .context("reading the admin API's answer")?
            .to_bytes();
        Ok((status, bytes.to_vec()))
    }

    fn answer<T: serde::de::DeserializeOwned>(status: u16, body: &[u8]) -> Result<T> {
        if (200..300).contains(&status) {
            return serde_json::from_slice(body).context("the admin API answered unreadable JSON");
        }
        match serde_json::from_slice::<ApiError>(body) {
            Ok(e) => bail!("refused ({}): {}", e.code, e.error),
            Err(_) => bail!(
                "admin API answered HTTP {status}: {}",
                String::from_utf8_lossy(body)
            ),
        }
    }

    /// Uploads `wasm` (from a file called `file`) as plugin `index` of `pipeline`.
    pub async fn swap(
        base: &str,
        pipeline: &str,
        index: usize,
        file: &str,
        wasm: Vec<u8>,
    ) -> Result<SwapReport> {
        let file: String = file
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        let url = format!(
            "{}/pipelines/{pipeline}/plugins/{index}?file={file}",
            base.trim_end_matches('/')
        );
        let (status, body) = call("POST", &url, wasm).await?;
        answer(status, &body)
    }

    /// Returns plugin `index` of `pipeline` to its previous version.
    pub async fn rollback(base: &str, pipeline: &str, index: usize) -> Result<SwapReport> {
        let url = format!(
            "{}/pipelines/{pipeline}/plugins/{index}/rollback",
            base.trim_end_matches('/')
        );
        let (status, body) = call("POST", &url, Vec::new()).await?;
        answer(status, &body)
    }

    /// Lifts the quarantine of `pipeline` once its cause is fixed.
    pub async fn resume(base: &str, pipeline: &str) -> Result<ResumeReport> {
        let url = format!("{}/pipelines/{pipeline}/resume", base.trim_end_matches('/'));
        let (status, body) = call("POST", &url, Vec::new()).await?;
        answer(status, &body)
    }

    /// Every pipeline's status.
    pub async fn list(base: &str) -> Result<Vec<PipelineStatus>> {
        let url = format!("{}/pipelines", base.trim_end_matches('/'));
        let (status, body) = call("GET", &url, Vec::new()).await?;
        answer(status, &body)
    }
}
