//! The ClickHouse connection: table schemas from `system.columns`, per-partition
//! high-water offsets for exactly-once replays, and RowBinary inserts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clickhouse::Client;
use serde::Deserialize;

use super::error::{WriteError, server_code};
use super::fence::{Fenced, SESSION_TIMEOUT_SECS, read_fence_answer};
use super::schema::{Column, ColumnType};
use crate::secret::Secret;

/// Longest a request to ClickHouse may take by default before it counts as failed and
/// is retried (an insert on fresh marks, so one that landed late is not repeated).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A name as a backquoted ClickHouse identifier: backslash and backquote escaped, so a
/// column named with a backquote or a space is still one identifier.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if matches!(c, '`' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// Host-filled column: the source topic.
pub const TOPIC_COLUMN: &str = "_topic";
/// Host-filled column: the source partition.
pub const PARTITION_COLUMN: &str = "_partition";
/// Host-filled column: the source offset.
pub const OFFSET_COLUMN: &str = "_offset";
/// Optional host-filled column: the plugin chain version that made the row.
pub const VERSION_COLUMN: &str = "_plugin_version";
/// Host-filled column: the topic's ID (KIP-516), which tells one incarnation of a
/// topic name from the next. Optional, but without it a re-created topic is caught
/// only when its marks run past the partition's end.
pub const TOPIC_ID_COLUMN: &str = "_topic_id";

/// Where to find ClickHouse and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// HTTP endpoint, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Database holding the tables.
    pub database: String,
    /// User name.
    pub user: String,
    /// Password (from a file or the environment; never printed).
    pub password: Secret,
    /// A CA certificate (PEM) to trust for `https://` beside the system's roots.
    pub ca: Option<PathBuf>,
    /// Longest one request (an insert, a read of the marks) may take.
    pub timeout: Duration,
}

impl ClickHouseConfig {
    /// The local server's defaults: `default` user, no password, 30 s requests.
    pub fn local(url: &str, database: &str) -> Self {
        Self {
            url: url.to_owned(),
            database: database.to_owned(),
            user: "default".to_owned(),
            password: Secret::default(),
            ca: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A live ClickHouse connection.
#[derive(Clone)]
pub struct ClickHouse {
    client: Client,
    database: String,
    url: String,
    timeout: Duration,
    /// Server version, e.g. `18.16.1`.
    pub version: String,
    /// Whether inserts carry an `insert_deduplication_token` (servers from 22.2 on).
    dedup_tokens: bool,
}

/// Whether a server of this version (`major.minor...`) understands
/// `insert_deduplication_token`, added in ClickHouse 22.2.
pub fn supports_dedup_token(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (22, 2),
        _ => false,
    }
}

/// The token that makes a retried insert idempotent on modern servers: the same
/// pipeline, source partition and offset range always name the same rows.
pub fn dedup_token(pipeline: &str, topic: &str, partition: i32, first: i64, last: i64) -> String {
    format!("sluice:{pipeline}:{topic}:{partition}:{first}-{last}")
}

/// An insertable table: its columns in insert order and the statement that writes them.
#[derive(Debug, Clone)]
pub struct Table {
    /// Table name.
    pub name: String,
    /// Columns the sink writes (not MATERIALIZED, ALIAS or DEFAULT).
    pub columns: Vec<Column>,
    /// How the table is partitioned: an insert is atomic only within one partition,
    /// so the sink cuts inserts where the partition changes.
    pub partition: PartitionKey,
    insert_sql: String,
}

/// A table's `PARTITION BY`, as far as the sink can evaluate it per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionKey {
    /// Not partitioned: every insert is one partition.
    None,
    /// `toYYYYMM(column)`, by the index of that column among the written ones.
    Month(usize),
    /// `toYYYYMMDD(column)`.
    Day(usize),
    /// An expression the sink cannot evaluate; inserts spanning it are not atomic.
    Unknown(String),
}

impl PartitionKey {
    /// Reads `partition_key` of `system.tables` against the written columns.
    pub fn parse(expr: &str, columns: &[Column]) -> Self {
        let expr = expr.trim();
        if expr.is_empty() || expr == "tuple()" {
            return PartitionKey::None;
        }
        let call = |name: &str| {
            expr.strip_prefix(name)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.strip_suffix(')'))
                .map(|c| c.trim().trim_matches('`'))
                .and_then(|c| {
                    columns.iter().position(|col| {
                        col.name == c
                            && matches!(col.ty.plain(), ColumnType::DateTime | ColumnType::Date)
                    })
                })
        };
        if let Some(i) = call("toYYYYMMDD") {
            PartitionKey::Day(i)
        } else if let Some(i) = call("toYYYYMM") {
            PartitionKey::Month(i)
        } else {
            PartitionKey::Unknown(expr.to_owned())
        }
    }
}

impl Table {
    /// Whether the table has a column of this name.
    pub fn has(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct ColumnRow {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    default_kind: String,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct MarkRow {
    partition: i32,
    offset: i64,
}

/// The HTTP client for an `https://` ClickHouse: rustls with the system's roots and,
/// if given, the CA in `ca` (a self-signed or private server).
fn tls_client(ca: Option<&Path>) -> Result<Client> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A system root rustls cannot parse is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .with_context(|| {
                format!(
                    "cannot read the ClickHouse CA file {}; check --clickhouse-ca",
                    path.display()
                )
            })?
            .collect::<Result<_, _>>()
            .with_context(|| {
                format!(
                    "{} holds no readable PEM certificate; --clickhouse-ca wants the CA that signed the server's certificate",
                    path.display()
                )
            })?;
        if certs.is_empty() {
            bail!(
                "{} holds no PEM certificate; --clickhouse-ca wants the CA that signed the server's certificate",
                path.display()
            );
        }
        for cert in certs {
            roots.add(cert).with_context(|| {
                format!("{}: not a CA certificate rustls accepts", path.display())
            })?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("setting up TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_keepalive(Some(Duration::from_secs(60)));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(2))
        .build(connector);
    Ok(Client::with_http_client(http))
}

/// A failed first request as one line: what is wrong (an untrusted certificate, a
/// wrong password) and what to do, rather than "client error (Connect)".
fn explain_connect(config: &ClickHouseConfig, e: &clickhouse::error::Error) -> String {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    let url = &config.url;
    let user = &config.user;
    if lower.contains("unknownissuer") || lower.contains("invalid peer certificate") {
        if lower.contains("notvalidforname") {
            return format!(
                "ClickHouse at {url}: its TLS certificate does not name this host; connect by a name the certificate holds"
            );
        }
        return format!(
            "ClickHouse at {url}: its TLS certificate is not trusted (unknown issuer); pass --clickhouse-ca with the CA that signed it"
        );
    }
    if lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
        || lower.contains("wrong version number")
    {
        return format!(
            "ClickHouse at {url} does not speak TLS on this port; use http:// or the server's HTTPS port (8443)"
        );
    }
    let code = match e {
        clickhouse::error::Error::BadResponse(text) => server_code(text),
        _ => None,
    };
    if let Some(code) = code.filter(|c| matches!(c, 192..=194 | 516)) {
        return format!(
            "ClickHouse at {url} refused user {user}: wrong user or password (Code: {code}); check --clickhouse-user and --clickhouse-password-file (or SLUICE_CLICKHOUSE_PASSWORD)"
        );
    }
    format!(
        "cannot reach ClickHouse at {url}: {chain}; start it with `scripts/clickhouse.sh start` or pass --clickhouse-url"
    )
}

/// Checks a table or column name so that it can be spliced into SQL safely.
pub fn check_identifier(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if !ok {
        bail!("`{name}` is not a valid table name; use letters, digits and underscores");
    }
    Ok(())
}

impl ClickHouse {
    /// Connects and checks the server answers; the error names the URL and the fix.
    pub async fn connect(config: &ClickHouseConfig) -> Result<Self> {
        check_identifier(&config.database)?;
        let base = if config.url.starts_with("https://") {
            tls_client(config.ca.as_deref())?
        } else {
            if config.ca.is_some() {
                bail!(
                    "--clickhouse-ca is given but {} is not https://; use the server's HTTPS port (8443)",
                    config.url
                );
            }
            Client::default()
        };
        let client = base
            .with_url(&config.url)
            .with_user(&config.user)
            .with_password(config.password.expose())
            .with_database(&config.database)
            .with_validation(false);
        let asked =
            tokio::time::timeout(config.timeout, client.query("SELECT version()").fetch_one())
                .await
                .map_err(|_| {
                    anyhow::anyhow!("no answer within {} s", config.timeout.as_secs_f64())
                });
        let version: String = match asked {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => bail!("{}", explain_connect(config, &e)),
            Err(e) => bail!(
                "cannot reach ClickHouse at {} ({e}); start it with `scripts/clickhouse.sh start` or pass --clickhouse-url",
                config.url
            ),
        };
        Ok(Self {
            client,
            database: config.database.clone(),
            url: config.url.clone(),
            timeout: config.timeout,
            dedup_tokens: supports_dedup_token(&version),
            version,
        })
    }

    /// Reads a table's insertable columns; fails naming the table and the fix.
    pub async fn table(&self, name: &str) -> Result<Arc<Table>> {
        check_identifier(name)?;
        let rows: Vec<ColumnRow> = self
            .within(
                self.client
                    .query("SELECT name, type, default_kind FROM system.columns WHERE database = ? AND table = ?")
                    .bind(&self.database)
                    .bind(name)
                    .fetch_all(),
            )
            .await
            .and_then(|r| r.map_err(anyhow::Error::from))
            .with_context(|| format!("cannot read the columns of table {name} from ClickHouse at {}", self.url))?;
        if rows.is_empty() {
            bail!(
                "table {}.{name} does not exist in ClickHouse at {}; create it first (see sql/)",
                self.database,
                self.url
            );
        }
        let mut columns = Vec::new();
        for row in rows {
            if !row.default_kind.is_empty() {
                continue;
            }
            let ty = ColumnType::parse(&row.ty).with_context(|| {
                format!(
                    "table {name}, column {}: the sink cannot write this type",
                    row.name
                )
            })?;
            columns.push(Column { name: row.name, ty });
        }
        let list = columns
            .iter()
            .map(|c| quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let insert_sql = format!(
            "INSERT INTO {} ({list}) FORMAT RowBinary",
            quote_ident(name)
        );
        let key: Vec<String> = self
            .within(
                self.client
                    .query(
                        "SELECT partition_key FROM system.tables WHERE database = ? AND name = ?",
                    )
                    .bind(&self.database)
                    .bind(name)
                    .fetch_all(),
            )
            .await
            .and_then(|r| r.map_err(anyhow::Error::from))
            .with_context(|| format!("cannot read the partition key of table {name}"))?;
        let partition = PartitionKey::parse(key.first().map_or("", String::as_str), &columns);
        if let PartitionKey::Unknown(expr) = &partition {
            tracing::warn!(table = name, partition_by = %expr, "The sink cannot evaluate this PARTITION BY; a batch that spans two partitions is written as two non-atomic parts, which a ClickHouse crash between them can split (see docs/guarantees.md).");
        }
        Ok(Arc::new(Table {
            name: name.to_owned(),
            columns,
            partition,
            insert_sql,
        }))
    }

    /// Fails unless `table` has the host columns that exactly-once rests on.
    pub fn require_source_columns(table: &Table) -> Result<()> {
        for (name, want) in [
            (TOPIC_COLUMN, "String"),
            (PARTITION_COLUMN, "Int32"),
            (OFFSET_COLUMN, "Int64"),
        ] {
            let Some(column) = table.columns.iter().find(|c| c.name == name) else {
                bail!(
                    "table {} lacks column `{name}`; add `{name} {want}` (the host stores each row's source there for exactly-once delivery)",
                    table.name
                );
            };
            let fits = if name == TOPIC_COLUMN {
                matches!(column.ty.plain(), ColumnType::String)
            } else {
                column.ty.is_integer()
            };
            if !fits {
                bail!(
                    "table {}: column `{name}` is {} but must be {want}",
                    table.name,
                    column.ty
                );
            }
        }
        Ok(())
    }

    /// Highest `_offset` per partition of `topic` already in `table` (optionally only
    /// the rows of one pipeline): rows at or below it must not be written again. With
    /// a topic ID, only rows of that incarnation count (and rows written before the
    /// table had the ID, which carry none).
    pub async fn high_water_marks(
        &self,
        table: &Table,
        topic: &str,
        topic_id: &str,
        pipeline: Option<&str>,
    ) -> Result<HashMap<i32, i64>> {
        let mut sql = format!(
            "SELECT toInt32({PARTITION_COLUMN}) AS partition, toInt64(max({OFFSET_COLUMN})) AS offset FROM {} WHERE {TOPIC_COLUMN} = ?",
            quote_ident(&table.name)
        );
        let by_id = !topic_id.is_empty() && table.has(TOPIC_ID_COLUMN);
        if by_id {
            sql.push_str(&format!(
                " AND ({TOPIC_ID_COLUMN} = ? OR {TOPIC_ID_COLUMN} = '')"
            ));
        }
        if pipeline.is_some() {
            sql.push_str(" AND pipeline = ?");
        }
        sql.push_str(" GROUP BY partition");
        let mut query = self.client.query(&sql).bind(topic);
        if by_id {
            query = query.bind(topic_id);
        }
        if let Some(p) = pipeline {
            query = query.bind(p);
        }
        let rows: Vec<MarkRow> = tokio::time::timeout(self.timeout, query.fetch_all())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "timed out after {} s; ClickHouse at {} is hung or overloaded",
                    self.timeout.as_secs_f64(),
                    self.url
                )
            })
            .and_then(|r| r.map_err(anyhow::Error::from))
            .with_context(|| {
                format!(
                    "reading high-water offsets of {} for topic {topic}",
                    table.name
                )
            })?;
        Ok(rows.into_iter().map(|r| (r.partition, r.offset)).collect())
    }

    /// Waits for `request` at most the configured timeout.
    async fn within<T>(
        &self,
        request: impl std::future::Future<Output = clickhouse::error::Result<T>>,
    ) -> Result<clickhouse::error::Result<T>> {
        tokio::time::timeout(self.timeout, request)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "timed out after {} s; ClickHouse at {} is hung or overloaded",
                    self.timeout.as_secs_f64(),
                    self.url
                )
            })
    }

    /// Whether the server answers `SELECT 1` within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.client.query("SELECT 1").fetch_one::<u8>()).await,
            Ok(Ok(1))
        )
    }

    /// Runs a fixed read-only query and returns its answer in `format`: with
    /// `readonly = 2` (no writes, no DDL; unlike 1 it lets the limits below be set in
    /// the same request), at most `max_seconds` of execution and about `max_rows` rows.
    pub async fn read_only(
        &self,
        sql: &str,
        format: &str,
        max_seconds: u64,
        max_rows: u64,
    ) -> Result<Vec<u8>> {
        let client = self
            .client
            .clone()
            .with_setting("readonly", "2")
            .with_setting("max_execution_time", max_seconds.to_string())
            .with_setting("max_result_rows", max_rows.to_string())
            .with_setting("result_overflow_mode", "break");
        let query = async {
            let mut cursor = client.query(sql).fetch_bytes(format)?;
            cursor.collect().await
        };
        let bytes = tokio::time::timeout(Duration::from_secs(max_seconds + 2), query)
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {} s", max_seconds + 2))?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(bytes.to_vec())
    }

    /// Opens the session a partition's owner writes through (see [`super::fence`]).
    pub async fn open_session(&self, session: &str) -> Result<()> {
        let client = self
            .client
            .clone()
            .with_setting("session_id", session)
            .with_setting("session_timeout", SESSION_TIMEOUT_SECS.to_string());
        self.within(client.query("SELECT 1").fetch_one::<u8>())
            .await
            .and_then(|r| r.map_err(anyhow::Error::from))
            .with_context(|| format!("opening a ClickHouse session at {}", self.url))?;
        Ok(())
    }

    /// Makes `session` read-only, so no insert through it can land any more.
    pub async fn fence_session(&self, session: &str) -> Result<Fenced> {
        let client = self
            .client
            .clone()
            .with_setting("session_id", session)
            .with_setting("session_check", "1");
        let answer = self
            .within(client.query("SET readonly = 1").execute())
            .await
            .with_context(|| format!("fencing session {session}"))?;
        match answer {
            Ok(()) => Ok(Fenced::Done),
            Err(e) => {
                let code = match &e {
                    clickhouse::error::Error::BadResponse(text) => server_code(text),
                    _ => None,
                };
                read_fence_answer(code).ok_or_else(|| {
                    anyhow::Error::new(e)
                        .context(format!("fencing session {session} at {}", self.url))
                })
            }
        }
    }

    /// Whether this user may write at all, outside any session: tells a session
    /// another owner made read-only from a user that is read-only by its profile.
    async fn user_is_readonly(&self) -> bool {
        let value: Result<String, _> = self
            .client
            .query("SELECT value FROM system.settings WHERE name = 'readonly'")
            .fetch_one()
            .await;
        !matches!(value.as_deref(), Ok("0"))
    }

    /// Inserts pre-encoded RowBinary rows into `table` as one atomic insert, through
    /// the owner's `session` (which a newer owner may have fenced); on a server that
    /// supports it, `token` makes a repeat of the same insert a no-op. The error says
    /// whether to retry, re-read the table, stop, or give the partition up.
    pub async fn insert(
        &self,
        table: &Table,
        rows: Vec<u8>,
        token: &str,
        session: Option<&str>,
    ) -> Result<(), WriteError> {
        let mut insert = self.client.insert_formatted_with(table.insert_sql.clone());
        if let Some(session) = session {
            insert = insert
                .with_setting("session_id", session)
                .with_setting("session_check", "1");
        }
        if self.dedup_tokens {
            insert = insert.with_setting("insert_deduplication_token", token);
        }
        let sent = async {
            insert.send(Bytes::from(rows)).await?;
            insert.end().await
        };
        let error = match tokio::time::timeout(self.timeout, sent).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => {
                return Err(WriteError::Retryable(anyhow::anyhow!(
                    "inserting into {} timed out after {} s; ClickHouse at {} is hung or overloaded",
                    table.name,
                    self.timeout.as_secs_f64(),
                    self.url
                )));
            }
        };
        let code = match &error {
            clickhouse::error::Error::BadResponse(text) => server_code(text),
            _ => None,
        };
        if let Some(session) = session {
            match code {
                Some(372) => {
                    return Err(WriteError::SessionLost {
                        session: session.to_owned(),
                    });
                }
                Some(164) if !self.user_is_readonly().await => {
                    return Err(WriteError::Fenced {
                        session: session.to_owned(),
                    });
                }
                _ => {}
            }
        }
        Err(WriteError::from_client(
            &table.name,
            error,
            format!("inserting into {}", table.name),
        ))
    }
}

#[cfg(test)]
impl Table {
    /// A table with given columns, for encoder tests.
    pub fn for_tests(name: &str, columns: Vec<Column>) -> Self {
        Self {
            name: name.into(),
            columns,
            partition: PartitionKey::None,
            insert_sql: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_whatever_they_hold() {
        assert_eq!(quote_ident("price"), "`price`");
        assert_eq!(quote_ident("unit price"), "`unit price`");
        assert_eq!(quote_ident("a`b"), "`a\\`b`");
        assert_eq!(quote_ident("back\\slash"), "`back\\\\slash`");
    }

    #[test]
    fn dedup_tokens_only_from_22_2() {
        assert!(!supports_dedup_token("18.16.1"));
        assert!(!supports_dedup_token("22.1.3.7"));
        assert!(supports_dedup_token("22.2.1.2139"));
        assert!(supports_dedup_token("25.8.4.13"));
        assert!(!supports_dedup_token("garbage"));
    }

    #[test]
    fn dedup_token_names_pipeline_partition_and_range() {
        assert_eq!(
            dedup_token("p", "clicks", 2, 100, 199),
            "sluice:p:clicks:2:100-199"
        );
        assert_ne!(
            dedup_token("p", "clicks", 2, 100, 199),
            dedup_token("q", "clicks", 2, 100, 199),
            "two pipelines writing dead letters for one range must not collide"
        );
    }
}
