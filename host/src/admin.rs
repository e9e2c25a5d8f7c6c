//! The admin HTTP API: list pipelines with their active plugin versions, swap a
//! plugin, roll one back, resume a quarantined pipeline. Its routes are mounted on
//! the host's one HTTP listener (`crate::http`). It can replace the code that
//! processes every record, so mutating routes need a bearer token when one is set.
//! Without a token they exist only when `--admin` asked for them on loopback: the
//! listener is on by default, and a host nobody configured must not let any local
//! user swap its plugins. Off loopback a token is required for every route but the
//! health checks; a listener off loopback without a token (only with
//! `--http-open-reads`) has no mutating routes at all.
//!
//! - `GET  /pipelines`: every pipeline's status (versions by content hash, state).
//! - `POST /pipelines/{name}/plugins/{index}[?file=NAME.wasm]`: body is the new
//!   `.wasm` (any content type; `file` names it in messages and dead letters), or
//!   JSON `{"path": "..."}` naming a regular file under the allowed directories.
//! - `POST /pipelines/{name}/plugins/{index}/rollback`: back to the previous version.
//! - `POST /pipelines/{name}/resume`: lift a quarantine once its cause is fixed
//!   (a sink the host could not write to: a password, a permission, a view).
//!
//! A refused swap answers 422 with the reason; the old version keeps running. An
//! upload over the cap is answered 413 without reading the rest; a second swap of
//! the same pipeline while one is checked gets 409, more than a few at once 429.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::pipeline::control::{PipelineControl, Refusal};
use crate::secret::Secret;

/// The default cap on a plugin upload or a plugin file read by path.
pub const DEFAULT_MAX_UPLOAD: usize = 64 << 20;
/// Swaps checked at once, across all pipelines: each compiles a component, which takes
/// memory and a core while it runs.
const SWAPS_AT_ONCE: usize = 2;
/// Longest a swap's check (read, compile, init, canary) may take before the request
/// is answered 504; the check itself runs on off the data path and is then dropped.
const SWAP_TIMEOUT: Duration = Duration::from_secs(120);

/// How the admin API is reached and guarded.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Where the listener is.
    pub addr: SocketAddr,
    /// The bearer token mutating routes need (and every route, off loopback).
    pub token: Option<Secret>,
    /// Largest plugin accepted, uploaded or read by path.
    pub max_upload: usize,
    /// Directories a swap by path may read from, besides those of each pipeline's
    /// configured plugins.
    pub swap_dirs: Vec<PathBuf>,
    /// Off loopback, serve the read-only routes without the token (a listener only a
    /// trusted network reaches); without a token the mutating routes are then off.
    pub open_reads: bool,
    /// `--admin` was given: on loopback the mutating routes may then run without a
    /// token, as before the listener was on by default. Without it and without a
    /// token they are off, so a host nobody configured lets no local user swap.
    pub admin_asked: bool,
}

impl AdminConfig {
    /// A config on `addr` with no token, the default cap and no extra directories.
    pub fn on(addr: SocketAddr) -> Self {
        Self {
            addr,
            token: None,
            max_upload: DEFAULT_MAX_UPLOAD,
            swap_dirs: Vec::new(),
            open_reads: false,
            admin_asked: false,
        }
    }

    /// Refuses to listen off loopback without a token (unless reads are open, and then
    /// the mutating routes are off): anyone who reaches the port could replace the
    /// code that processes every record.
    pub fn check(&self) -> Result<()> {
        if !self.addr.ip().is_loopback() && self.token.is_none() && !self.open_reads {
            bail!(
                "the HTTP listener (status page, metrics, admin API) would be on {} without a token, and anyone who reaches it could replace the plugins; set SLUICE_ADMIN_TOKEN (or --admin-token-file), listen on 127.0.0.1, or pass --http-open-reads to serve only the read-only routes",
                self.addr
            );
        }
        if self.token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            bail!(
                "the admin token is shorter than 16 characters; use a long random one (e.g. `openssl rand -hex 32`)"
            );
        }
        Ok(())
    }
}

/// Who may call which route, shared by every route of the HTTP listener.
pub struct Guard {
    token: Option<[u8; 32]>,
    /// Whether read-only routes need the token too (listening off loopback).
    guard_reads: bool,
    /// Whether mutating routes exist: with a token, or with `--admin` on loopback.
    mutating: bool,
}

impl Guard {
    /// The rules for `config`: mutating routes need the token whenever one is set,
    /// and without one they exist only when `--admin` asked for them on loopback;
    /// off loopback reads need the token too unless `open_reads`.
    pub fn new(config: &AdminConfig) -> Arc<Self> {
        let off_loopback = !config.addr.ip().is_loopback();
        Arc::new(Self {
            token: config.token.as_ref().map(|t| digest(t.expose().as_bytes())),
            guard_reads: off_loopback && !config.open_reads,
            mutating: config.token.is_some() || (config.admin_asked && !off_loopback),
        })
    }

    /// Whether a request with `headers` may read.
    pub fn may_read(&self, headers: &HeaderMap) -> bool {
        !self.guard_reads || authorized(self, headers)
    }

    /// Middleware for read-only routes.
    pub async fn reads(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
        if !guard.may_read(request.headers()) {
            return unauthorized();
        }
        next.run(request).await
    }

    async fn writes(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
        if !guard.mutating {
            return error(
                StatusCode::FORBIDDEN,
                "admin-off",
                "the admin routes are off: no admin token is set; start the host with SLUICE_ADMIN_TOKEN (or --admin-token-file), or with --admin 127.0.0.1:PORT to allow them on loopback without one".into(),
            );
        }
        if !authorized(&guard, request.headers()) {
            return unauthorized();
        }
        next.run(request).await
    }
}

/// Shared by the routes.
struct AdminState {
    controls: Vec<Arc<PipelineControl>>,
    max_upload: usize,
    swap_dirs: Vec<PathBuf>,
    swaps: Arc<Semaphore>,
    swapping: Mutex<HashMap<String, ()>>,
}

type Shared = Arc<AdminState>;

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

/// The admin routes (`GET /pipelines` and the mutating ones), guarded by `guard`.
pub fn routes(
    config: &AdminConfig,
    controls: Vec<Arc<PipelineControl>>,
    guard: Arc<Guard>,
) -> Router {
    let state = Arc::new(AdminState {
        controls,
        max_upload: config.max_upload,
        swap_dirs: config.swap_dirs.clone(),
        swaps: Arc::new(Semaphore::new(SWAPS_AT_ONCE)),
        swapping: Mutex::new(HashMap::new()),
    });
    let mutating = Router::new()
        .route("/pipelines/{name}/plugins/{index}", post(swap))
        .route("/pipelines/{name}/plugins/{index}/rollback", post(rollback))
        .route("/pipelines/{name}/resume", post(resume))
        .route_layer(middleware::from_fn_with_state(guard.clone(), Guard::writes));
    let reading = Router::new()
        .route("/pipelines", get(list))
        .route_layer(middleware::from_fn_with_state(guard, Guard::reads));
    mutating.merge(reading).with_state(state)
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether the request carries the token, compared in constant time (hashes of equal
/// length, so neither the token's bytes nor its length leak through timing).
fn authorized(guard: &Guard, headers: &HeaderMap) -> bool {
    let Some(want) = &guard.token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(digest(given.as_bytes()).ct_eq(want))
}

fn unauthorized() -> Response {
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "this route needs the admin token: send `Authorization: Bearer TOKEN` (host commands read SLUICE_ADMIN_TOKEN or --admin-token-file)".into(),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

async fn list(State(state): State<Shared>) -> Response {
    let all: Vec<_> = state.controls.iter().map(|c| c.status()).collect();
    Json(all).into_response()
}

fn find(state: &AdminState, name: &str) -> Option<Arc<PipelineControl>> {
    state.controls.iter().find(|c| c.name() == name).cloned()
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

fn too_large(cap: usize) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!(
            "the plugin is over the {} MiB cap (--admin-max-upload-mib)",
            cap >> 20
        ),
    )
}

/// Marks a pipeline as having a swap under way until dropped.
struct SwapSlot {
    state: Shared,
    name: String,
}

impl Drop for SwapSlot {
    fn drop(&mut self) {
        let mut busy = self
            .state
            .swapping
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        busy.remove(&self.name);
    }
}

/// Reads a body up to `cap` bytes: 413 from the declared length before anything is
/// read, or as soon as the stream passes the cap, without buffering the rest.
async fn read_capped(headers: &HeaderMap, body: Body, cap: usize) -> Result<Vec<u8>, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large(cap));
    }
    match http_body_util::Limited::new(body, cap).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large(cap))
        }
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("reading the upload: {e}"),
        )),
    }
}

/// The directories a swap by path may read from for `control`: those of its
/// configured plugins and the extra ones given, canonical.
fn allowed_dirs(state: &AdminState, control: &PipelineControl) -> Vec<PathBuf> {
    control
        .config()
        .plugins
        .iter()
        .filter_map(|p| p.path.parent().map(FsPath::to_path_buf))
        .chain(state.swap_dirs.iter().cloned())
        .filter_map(|d| {
            let d = if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d
            };
            d.canonicalize().ok()
        })
        .collect()
}

/// Why a path may not be read for a swap (a 4xx, with the rule).
#[derive(Debug)]
struct PathRefused(StatusCode, String);

/// Reads a plugin by path for a swap: only a regular file, under an allowed directory
/// (after following symlinks), at most `cap` bytes, opened without blocking (a FIFO
/// swapped in after the check cannot hang the read).
fn read_plugin_file(
    path: &FsPath,
    allowed: &[PathBuf],
    cap: usize,
) -> Result<Vec<u8>, PathRefused> {
    let shown = path.display();
    let real = path.canonicalize().map_err(|e| {
        PathRefused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("cannot read {shown}: {e}"),
        )
    })?;
    if !allowed.iter().any(|dir| real.starts_with(dir)) {
        return Err(PathRefused(
            StatusCode::FORBIDDEN,
            format!(
                "{shown} is outside the directories swaps may read from ({}); upload the file instead, or allow its directory with --admin-swap-dir",
                allowed
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let not_regular = |what: &str| {
        PathRefused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{shown} is {what}, not a regular file; a swap reads only plugin files"),
        )
    };
    let meta = std::fs::metadata(&real).map_err(|e| {
        PathRefused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("cannot read {shown}: {e}"),
        )
    })?;
    if meta.is_dir() {
        return Err(not_regular("a directory"));
    }
    if !meta.is_file() {
        return Err(not_regular("a device, FIFO or socket"));
    }
    if meta.len() > cap as u64 {
        return Err(PathRefused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{shown} is {} MiB, over the {} MiB cap",
                meta.len() >> 20,
                cap >> 20
            ),
        ));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NONBLOCK | libc::O_NOFOLLOW,
    );
    let file = options.open(&real).map_err(|e| {
        PathRefused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("cannot open {shown}: {e}"),
        )
    })?;
    // Checked again on the open file: the path may have been swapped meanwhile.
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        _ => return Err(not_regular("no longer a regular file")),
    }
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            PathRefused(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("cannot read {shown}: {e}"),
            )
        })?;
    if bytes.len() > cap {
        return Err(PathRefused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{shown} grew over the {} MiB cap while it was read",
                cap >> 20
            ),
        ));
    }
    Ok(bytes)
}

async fn swap(
    State(state): State<Shared>,
    Path((name, index)): Path<(String, usize)>,
    Query(upload): Query<Upload>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(control) = find(&state, &name) else {
        return no_such_pipeline(&name);
    };
    // Taken before the body is read, so refused requests cost no memory.
    let slot = {
        let mut busy = state.swapping.lock().unwrap_or_else(|e| e.into_inner());
        if busy.contains_key(&name) {
            return error(
                StatusCode::CONFLICT,
                "swap-in-progress",
                format!("a swap of pipeline `{name}` is being checked; try again when it is done"),
            );
        }
        busy.insert(name.clone(), ());
        SwapSlot {
            state: state.clone(),
            name: name.clone(),
        }
    };
    let Ok(permit) = state.swaps.clone().try_acquire_owned() else {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            format!("{SWAPS_AT_ONCE} swaps are being checked already; try again shortly"),
        );
    };
    let cap = state.max_upload;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (path, bytes) = if is_json {
        let raw = match read_capped(&headers, body, 64 << 10).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let by_path: ByPath = match serde_json::from_slice(&raw) {
            Ok(p) => p,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    format!("expected {{\"path\": \"...\"}} or a .wasm body: {e}"),
                );
            }
        };
        let allowed = allowed_dirs(&state, &control);
        let path = by_path.path.clone();
        let read = tokio::task::spawn_blocking(move || read_plugin_file(&path, &allowed, cap));
        match tokio::time::timeout(Duration::from_secs(30), read).await {
            Ok(Ok(Ok(bytes))) => (Some(by_path.path), bytes),
            Ok(Ok(Err(PathRefused(status, message)))) => {
                return error(status, "path-refused", message);
            }
            Ok(Err(e)) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("read task failed: {e}"),
                );
            }
            Err(_) => {
                return error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "timeout",
                    format!("reading {} took over 30 s", by_path.path.display()),
                );
            }
        }
    } else {
        let bytes = match read_capped(&headers, body, cap).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        // Only the file name is kept: it labels the plugin, nothing is read from it.
        let label = upload
            .file
            .as_deref()
            .and_then(|f| FsPath::new(f).file_name())
            .map(PathBuf::from);
        (label, bytes)
    };
    let task = tokio::task::spawn_blocking(move || {
        // The slot and permit are held until the check is really over, even when the
        // request has timed out.
        let _hold = (slot, permit);
        control.swap(index, path.as_deref(), &bytes)
    });
    match tokio::time::timeout(SWAP_TIMEOUT, task).await {
        Ok(Ok(Ok(report))) => Json(report).into_response(),
        Ok(Ok(Err(refusal))) => refused(refusal),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("swap task failed: {e}"),
        ),
        Err(_) => error(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!(
                "checking the plugin took over {} s; it is still being checked, and takes effect only if it passes",
                SWAP_TIMEOUT.as_secs()
            ),
        ),
    }
}

async fn rollback(
    State(state): State<Shared>,
    Path((name, index)): Path<(String, usize)>,
) -> Response {
    let Some(control) = find(&state, &name) else {
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

async fn resume(State(state): State<Shared>, Path(name): Path<String>) -> Response {
    let Some(control) = find(&state, &name) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sluice-admin-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        d.canonicalize().expect("canonical")
    }

    #[test]
    fn only_regular_files_under_allowed_directories_are_read() {
        let allowed = dir("allowed");
        let outside = dir("outside");
        let ok = allowed.join("p.wasm");
        std::fs::write(&ok, b"\0asm").expect("write");
        assert_eq!(
            read_plugin_file(&ok, std::slice::from_ref(&allowed), 1 << 20).expect("reads"),
            b"\0asm"
        );
        let secret = outside.join("secret");
        std::fs::write(&secret, b"x").expect("write");
        let escape = allowed.join("escape.wasm");
        let _ = std::fs::remove_file(&escape);
        std::os::unix::fs::symlink(&secret, &escape).expect("symlink");
        let e = read_plugin_file(&escape, std::slice::from_ref(&allowed), 1 << 20)
            .expect_err("escapes");
        assert_eq!(e.0, StatusCode::FORBIDDEN, "{e:?}");
        let e =
            read_plugin_file(&allowed, std::slice::from_ref(&allowed), 1 << 20).expect_err("a dir");
        assert!(e.1.contains("a directory"), "{e:?}");
        let e = read_plugin_file(FsPath::new("/dev/zero"), &[PathBuf::from("/dev")], 1 << 20)
            .expect_err("a device");
        assert!(e.1.contains("not a regular file"), "{e:?}");
        let e = read_plugin_file(&ok, std::slice::from_ref(&allowed), 2).expect_err("over the cap");
        assert_eq!(e.0, StatusCode::PAYLOAD_TOO_LARGE);
        std::fs::remove_dir_all(&allowed).ok();
        std::fs::remove_dir_all(&outside).ok();
    }

    #[test]
    fn who_may_read_and_write_by_address_token_and_open_reads() {
        let with = |addr: &str, token: Option<&str>, open_reads: bool| {
            let mut c = AdminConfig::on(addr.parse().expect("addr"));
            c.token = token.map(Secret::new);
            c.open_reads = open_reads;
            c.admin_asked = true;
            Guard::new(&c)
        };
        let token = "0123456789abcdef0123";
        let mut bearer = HeaderMap::new();
        bearer.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("header"),
        );
        let none = HeaderMap::new();
        // The default listener (no --admin, no token): reads open, no mutating routes.
        let g = Guard::new(&AdminConfig::on("127.0.0.1:1".parse().expect("addr")));
        assert!(g.may_read(&none) && !g.mutating);
        // Loopback, --admin, no token: everything open.
        let g = with("127.0.0.1:1", None, false);
        assert!(g.may_read(&none) && g.mutating && authorized(&g, &none));
        // Loopback with a token: reads open, writes need it.
        let g = with("127.0.0.1:1", Some(token), false);
        assert!(g.may_read(&none) && !authorized(&g, &none) && authorized(&g, &bearer));
        // Off loopback with a token: reads need it too.
        let g = with("0.0.0.0:1", Some(token), false);
        assert!(!g.may_read(&none) && g.may_read(&bearer));
        // Off loopback, open reads, no token: reads open, no mutating routes.
        let g = with("0.0.0.0:1", None, true);
        assert!(g.may_read(&none) && !g.mutating);
        // Open reads with a token: reads open, writes need it.
        let g = with("0.0.0.0:1", Some(token), true);
        assert!(g.may_read(&none) && g.mutating && !authorized(&g, &none));
        let mut c = AdminConfig::on("0.0.0.0:1".parse().expect("addr"));
        c.open_reads = true;
        c.check().expect("open reads need no token");
    }

    #[test]
    fn off_loopback_needs_a_long_token() {
        let mut c = AdminConfig::on("0.0.0.0:8089".parse().expect("addr"));
        assert!(
            c.check()
                .expect_err("no token")
                .to_string()
                .contains("SLUICE_ADMIN_TOKEN")
        );
        c.token = Some(Secret::new("short"));
        assert!(c.check().is_err());
        c.token = Some(Secret::new("0123456789abcdef0123"));
        c.check().expect("a token");
        AdminConfig::on("127.0.0.1:8089".parse().expect("addr"))
            .check()
            .expect("loopback needs none");
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
    use crate::secret::Secret;

    /// The token every request of this process sends, set once by the command line.
    static TOKEN: std::sync::OnceLock<Option<Secret>> = std::sync::OnceLock::new();

    /// Sets the token requests send (from --admin-token-file); without it they send
    /// SLUICE_ADMIN_TOKEN if that is set.
    pub fn use_token(token: Option<Secret>) {
        let _ = TOKEN.set(token);
    }

    fn token() -> Option<Secret> {
        match TOKEN.get() {
            Some(t) => t.clone(),
            None => std::env::var("SLUICE_ADMIN_TOKEN").ok().map(Secret::new),
        }
    }

    async fn call(method: &str, url: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>)> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header("content-type", "application/wasm");
        if let Some(token) = token() {
            request = request.header("authorization", format!("Bearer {}", token.expose()));
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .with_context(|| format!("bad admin URL {url}"))?;
        let response = client.request(request).await.with_context(|| {
            format!("cannot reach the admin API at {url}; is the host running? Pass the address of its --http listener (default http://127.0.0.1:8090) with --admin")
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

    /// `GET /api/pipelines` of the host's HTTP listener at `base`, as JSON.
    pub async fn api_pipelines(base: &str) -> Result<serde_json::Value> {
        let url = format!("{}/api/pipelines", base.trim_end_matches('/'));
        let (status, body) = call("GET", &url, Vec::new()).await?;
        answer(status, &body)
    }

    /// Every pipeline's status.
    pub async fn list(base: &str) -> Result<Vec<PipelineStatus>> {
        let url = format!("{}/pipelines", base.trim_end_matches('/'));
        let (status, body) = call("GET", &url, Vec::new()).await?;
        answer(status, &body)
    }
}
