//! The host's one HTTP listener, on by default: Prometheus series at `/metrics`,
//! `/healthz` and `/readyz`, the JSON the status page polls (`/api/pipelines`,
//! `/api/answers`), the page itself at `/`, and the admin API's routes
//! ([`crate::admin`]). It reads the pipelines' control and telemetry and ClickHouse;
//! nothing below it (source, sink, runtime, pipeline) imports it.

mod answers;
mod api;
mod health;
mod page;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Result, bail};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, AdminConfig, Guard};
use crate::pipeline::control::PipelineControl;
use crate::sink::clickhouse::ClickHouse;
use crate::telemetry::metrics::Metrics;

/// The listener's address when `--http` is not given; documented in the README. If
/// it is taken (a second host on the machine), a free loopback port is used instead.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8090";

/// How often ClickHouse is asked whether it answers, and the totals are sampled for
/// the page's chart.
const PROBE_EVERY: Duration = Duration::from_secs(5);

/// How the listener is set up.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Where to listen, and how the admin routes and reads are guarded.
    pub admin: AdminConfig,
    /// The flag the address came from (`--http` or `--admin`), named when it is
    /// taken; none for the default address, which falls back to a free port.
    pub flag: Option<&'static str>,
}

impl HttpConfig {
    /// The default listener: loopback, no token.
    pub fn default_loopback() -> Self {
        Self::on(
            DEFAULT_ADDR
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8090))),
        )
    }

    /// A listener on `addr` given by `--http`, no token.
    pub fn on(addr: SocketAddr) -> Self {
        Self {
            admin: AdminConfig::on(addr),
            flag: Some("--http"),
        }
    }
}

/// What the routes share.
pub(crate) struct Http {
    controls: Vec<Arc<PipelineControl>>,
    metrics: Metrics,
    ch: ClickHouse,
    guard: Arc<Guard>,
    started_at: u64,
    /// 0 unknown, 1 answers, 2 does not.
    clickhouse: AtomicU8,
    answers: answers::Answers,
}

impl Http {
    fn clickhouse_reachable(&self) -> Option<bool> {
        match self.clickhouse.load(Ordering::Relaxed) {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }

    /// Kafka answers if every pipeline's last request did; none before any did.
    fn kafka_reachable(&self) -> Option<bool> {
        let seen: Vec<bool> = self
            .controls
            .iter()
            .filter_map(|c| c.telemetry().kafka_reachable())
            .collect();
        (!seen.is_empty()).then(|| seen.iter().all(|ok| *ok))
    }
}

pub(crate) fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Binds the listener and serves until `shutdown`; returns the bound address once it
/// listens. `ch` has answered already (the host connects before it serves).
pub async fn serve(
    config: HttpConfig,
    controls: Vec<Arc<PipelineControl>>,
    metrics: Metrics,
    ch: ClickHouse,
    shutdown: CancellationToken,
) -> Result<SocketAddr> {
    config.admin.check()?;
    let listener = bind(&config).await?;
    let bound = listener.local_addr()?;
    let mut admin = config.admin.clone();
    admin.addr = bound;
    let guard = Guard::new(&admin);
    let state = Arc::new(Http {
        controls: controls.clone(),
        metrics,
        ch: ch.clone(),
        guard: guard.clone(),
        started_at: now_s(),
        clickhouse: AtomicU8::new(1),
        answers: answers::Answers::new(ch),
    });
    let app = router(state.clone(), &admin, controls);
    tokio::spawn(probe(state, shutdown.clone()));
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "HTTP listener stopped.");
        }
    });
    tracing::info!(%bound, "Status page on http://{bound}/ (also /metrics, /healthz, /readyz, /api/pipelines and the admin API).");
    Ok(bound)
}

/// Binds the configured address. The default one, if taken, gives way to a free
/// port on the same interface (logged); one given by a flag is an error naming it.
async fn bind(config: &HttpConfig) -> Result<tokio::net::TcpListener> {
    let addr = config.admin.addr;
    match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e) if config.flag.is_none() && e.kind() == std::io::ErrorKind::AddrInUse => {
            let any = SocketAddr::new(addr.ip(), 0);
            let l = tokio::net::TcpListener::bind(any).await.map_err(|e| {
                anyhow::anyhow!(
                    "the default HTTP address {addr} is taken and no free port on {} was found ({e}); pass --http ADDR or --http none",
                    addr.ip()
                )
            })?;
            if let Ok(bound) = l.local_addr() {
                tracing::info!(default = %addr, %bound, "The default HTTP port is taken (another host?); listening on a free port instead.");
            }
            Ok(l)
        }
        Err(e) => {
            let flag = config.flag.unwrap_or("--http");
            bail!("cannot listen on {addr} ({e}); pass another {flag} address, or --http none")
        }
    }
}

fn router(state: Arc<Http>, admin: &AdminConfig, controls: Vec<Arc<PipelineControl>>) -> Router {
    let guard = state.guard.clone();
    let reads = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/pipelines", get(api::pipelines))
        .route("/api/answers", get(answers::answers))
        .merge(page::routes())
        .route_layer(middleware::from_fn_with_state(guard.clone(), Guard::reads));
    // Probes carry no token, so the health checks are open; /readyz gives its
    // reasons only to those who may read.
    let health = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    reads
        .merge(health)
        .with_state(state)
        .merge(admin::routes(admin, controls, guard))
        .layer(middleware::map_response(no_store))
}

/// Every answer is live: no cache may keep it, and no browser may sniff its type.
async fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn metrics(State(state): State<Arc<Http>>) -> Response {
    match state.metrics.render() {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            text,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are off\n").into_response(),
    }
}

/// Every few seconds: whether ClickHouse answers, and a sample of each pipeline's
/// totals (on multiples of 5 s, so the chart's points line up).
async fn probe(state: Arc<Http>, shutdown: CancellationToken) {
    loop {
        let ok = state.ch.ping(Duration::from_secs(3)).await;
        state
            .clickhouse
            .store(if ok { 1 } else { 2 }, Ordering::Relaxed);
        let now = now_s();
        let t = now - now % PROBE_EVERY.as_secs();
        for c in &state.controls {
            c.telemetry().sample(t);
        }
        let wait = PROBE_EVERY.as_secs() - now % PROBE_EVERY.as_secs();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(wait.max(1))) => {}
        }
    }
}
