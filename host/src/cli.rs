//! The command line of the `host` binary: every flag and subcommand, and the turning of
//! a one-pipeline command line into a pipeline draft for the config module.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use sluice_host::admin::{AdminConfig, DEFAULT_MAX_UPLOAD};
use sluice_host::config::{
    BatchLimits, PipelineConfig, PipelineDraft, PluginDraft, default_dead_letter_table,
    default_drain_ms, default_workers,
};
use sluice_host::http::{DEFAULT_ADDR, HttpConfig};
use sluice_host::runtime::SandboxLimits;
use sluice_host::secret::{Secret, SecretRef};
use sluice_host::sink::clickhouse::DEFAULT_TIMEOUT;
use sluice_host::source::settings::{KafkaSettings, Oidc, SecurityProtocol};
use sluice_host::telemetry::LogFormat;

/// Sluice: Kafka -> WebAssembly plugins -> ClickHouse, exactly once.
///
/// Run one pipeline:   host --plugin sentiment.wasm --topic tweets --table tweet_sentiment
/// Run a config file:  host --config examples/clickstream.toml
/// Feed Kafka:         host generate --plugin generator.wasm --topic tweets --count 10000
/// Test a plugin:      host plugin test --plugin sentiment.wasm --input events.jsonl
/// Start a plugin:     host plugin new my-filter
/// Watch it:           http://127.0.0.1:8090/ (status page), host status
#[derive(Debug, Parser)]
#[command(
    name = "host",
    version,
    args_conflicts_with_subcommands = true,
    verbatim_doc_comment
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) pipeline: PipelineArgs,
    #[command(flatten)]
    pub(crate) services: ServiceArgs,
    /// Log level for the host's own messages (error, warn, info, debug, trace); RUST_LOG overrides.
    #[arg(long, global = true, default_value = "info")]
    pub(crate) log_level: String,
    /// Log lines as `text` (readable, the default) or `json` (one object per line,
    /// for log shippers).
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text")]
    pub(crate) log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a generator plugin and produce its records into a Kafka topic.
    Generate(GenerateArgs),
    /// Work on plugins without Kafka or ClickHouse: test one offline, start a new one.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Lift a running pipeline's quarantine once its cause is fixed (admin API).
    Resume(ResumeArgs),
    /// Print a running host's pipelines: state, rates, lag per partition, plugin versions.
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The host's HTTP listener, as given to its --http flag.
    #[arg(
        long,
        value_name = "URL",
        env = "SLUICE_HTTP_URL",
        default_value = "http://127.0.0.1:8090"
    )]
    pub(crate) http: String,
    /// Print the JSON of /api/pipelines instead of text.
    #[arg(long)]
    pub(crate) json: bool,
    /// File holding the admin token (or set SLUICE_ADMIN_TOKEN), for a host that
    /// listens off loopback.
    #[arg(long, value_name = "FILE")]
    pub(crate) admin_token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PluginCommand {
    /// Write a new plugin crate (a working transform, its tests, sample events) to DIR/NAME.
    New(NewArgs),
    /// Run a plugin or chain over events from a file and print (or check) what it makes.
    Test(TestArgs),
    /// Replace a running pipeline's plugin through the host's admin API (checked, canaried).
    Swap(SwapArgs),
    /// Return a running pipeline's plugin to its previous version.
    Rollback(RollbackArgs),
    /// List a running host's pipelines with their active plugin versions and state.
    List(AdminArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    /// The host's admin API: its HTTP listener, as given to its --http flag.
    #[arg(
        long,
        value_name = "URL",
        env = "SLUICE_ADMIN",
        default_value = "http://127.0.0.1:8090"
    )]
    pub(crate) admin: String,
    /// File holding the admin token the host was started with (or set SLUICE_ADMIN_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub(crate) admin_token_file: Option<PathBuf>,
}

impl AdminArgs {
    /// Makes every admin request of this process carry the token, if one is given.
    pub(crate) fn use_token(&self) -> Result<()> {
        if let Some(path) = &self.admin_token_file {
            let token = SecretRef::file(path).read("the admin token")?;
            sluice_host::admin::client::use_token(Some(token));
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub(crate) struct SwapArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// Pipeline name.
    #[arg(long)]
    pub(crate) pipeline: String,
    /// New plugin component (.wasm).
    #[arg(long, value_name = "WASM")]
    pub(crate) plugin: PathBuf,
    /// Position of the plugin in the chain.
    #[arg(long, default_value_t = 0)]
    pub(crate) index: usize,
}

#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// Pipeline name.
    #[arg(long)]
    pub(crate) pipeline: String,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    #[command(flatten)]
    pub(crate) admin: AdminArgs,
    /// Pipeline name.
    #[arg(long)]
    pub(crate) pipeline: String,
    /// Position of the plugin in the chain.
    #[arg(long, default_value_t = 0)]
    pub(crate) index: usize,
}

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// Crate name: ASCII letters, digits, '-' and '_', starting with a letter.
    pub(crate) name: String,
    /// Directory to create the crate in.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) dir: PathBuf,
    /// The Sluice SDK (the sdk/ directory of a checkout); default: the one this host was built from.
    #[arg(long, value_name = "PATH")]
    pub(crate) sdk: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Plugin to run (.wasm); repeat to chain plugins in order.
    #[arg(long = "plugin", value_name = "WASM", required = true)]
    pub(crate) plugins: Vec<PathBuf>,
    /// Events, one payload per line; an event's offset is its 0-based line number.
    #[arg(long, value_name = "JSONL")]
    pub(crate) input: Option<PathBuf>,
    /// TOML file whose top-level table is the config of the plugin at the same position
    /// (repeat per plugin; '' for none).
    #[arg(long = "config", value_name = "TOML")]
    pub(crate) configs: Vec<PathBuf>,
    /// Compare with these expected lines instead of printing: exit 0 if they match, 1 if not.
    #[arg(long, value_name = "JSONL")]
    pub(crate) expect: Option<PathBuf>,
    /// Messages a generator plugin makes.
    #[arg(long, default_value_t = 10)]
    pub(crate) count: u64,
    /// Seed of a generator plugin.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ServiceArgs {
    /// Kafka bootstrap servers.
    #[arg(
        long,
        global = true,
        env = "SLUICE_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    pub(crate) brokers: String,
    /// ClickHouse HTTP URL.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CLICKHOUSE_URL",
        default_value = "http://127.0.0.1:8123"
    )]
    pub(crate) clickhouse_url: String,
    /// ClickHouse database holding the tables.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CLICKHOUSE_DATABASE",
        default_value = "default"
    )]
    pub(crate) database: String,
    /// ClickHouse user.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CLICKHOUSE_USER",
        default_value = "default"
    )]
    pub(crate) clickhouse_user: String,
    /// File holding the ClickHouse password (or set SLUICE_CLICKHOUSE_PASSWORD); never
    /// a flag value, which any local user could read in the process list.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) clickhouse_password_file: Option<PathBuf>,
    /// CA certificate (PEM) to trust for an https:// ClickHouse URL, beside the
    /// system's roots (a self-signed server; ClickHouse Cloud needs none).
    #[arg(long, global = true, value_name = "PEM", env = "SLUICE_CLICKHOUSE_CA")]
    pub(crate) clickhouse_ca: Option<PathBuf>,
    /// Longest one ClickHouse request (an insert, a read of the offsets it holds) may
    /// take before it is logged and retried, in ms.
    #[arg(long, global = true, default_value_t = DEFAULT_TIMEOUT.as_millis() as u64)]
    pub(crate) clickhouse_timeout_ms: u64,
    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,
}

/// How to log in to Kafka, for every pipeline (a pipeline's `[pipeline.kafka]` table
/// overrides these field by field).
#[derive(Debug, Args)]
pub(crate) struct KafkaArgs {
    /// PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL.
    #[arg(
        long,
        global = true,
        value_name = "PROTOCOL",
        env = "SLUICE_KAFKA_SECURITY_PROTOCOL"
    )]
    pub(crate) kafka_security_protocol: Option<String>,
    /// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or GSSAPI.
    #[arg(
        long,
        global = true,
        value_name = "MECHANISM",
        env = "SLUICE_KAFKA_SASL_MECHANISM"
    )]
    pub(crate) kafka_sasl_mechanism: Option<String>,
    /// SASL user name.
    #[arg(
        long,
        global = true,
        value_name = "USER",
        env = "SLUICE_KAFKA_SASL_USERNAME"
    )]
    pub(crate) kafka_sasl_username: Option<String>,
    /// File holding the SASL password (or set SLUICE_KAFKA_SASL_PASSWORD).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) kafka_sasl_password_file: Option<PathBuf>,
    /// CA certificate(s), PEM, to verify the brokers with (default: the system's).
    #[arg(long, global = true, value_name = "PEM", env = "SLUICE_KAFKA_SSL_CA")]
    pub(crate) kafka_ssl_ca: Option<PathBuf>,
    /// Client certificate, PEM, for mutual TLS.
    #[arg(long, global = true, value_name = "PEM")]
    pub(crate) kafka_ssl_cert: Option<PathBuf>,
    /// Client key, PEM, for mutual TLS.
    #[arg(long, global = true, value_name = "PEM")]
    pub(crate) kafka_ssl_key: Option<PathBuf>,
    /// File holding the client key's password, if the key is encrypted.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) kafka_ssl_key_password_file: Option<PathBuf>,
    /// Do not check that a broker's certificate names the host connected to (only for
    /// a test cluster; hostname verification is on by default).
    #[arg(long, global = true)]
    pub(crate) kafka_no_hostname_verification: bool,
    /// OAUTHBEARER with OIDC client credentials: the token endpoint.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) kafka_oidc_token_url: Option<String>,
    /// OIDC client id.
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) kafka_oidc_client_id: Option<String>,
    /// File holding the OIDC client secret (or set SLUICE_KAFKA_OIDC_CLIENT_SECRET).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) kafka_oidc_client_secret_file: Option<PathBuf>,
    /// OIDC scope, if the provider needs one.
    #[arg(long, global = true, value_name = "SCOPE")]
    pub(crate) kafka_oidc_scope: Option<String>,
    /// Any other librdkafka property, KEY=VALUE (repeatable), e.g.
    /// --kafka-option fetch.max.bytes=10485760; the ones Sluice owns are refused.
    #[arg(long = "kafka-option", global = true, value_name = "KEY=VALUE")]
    pub(crate) kafka_options: Vec<String>,
}

impl PipelineArgs {
    /// The HTTP listener's settings, or none for `--http none`. `--admin ADDR`, from
    /// before the admin API moved onto this listener, is the same as `--http ADDR`.
    pub(crate) fn http_config(&self) -> Result<Option<HttpConfig>> {
        let explicit = match self.http.as_deref() {
            Some("none") => {
                if self.admin.is_some() {
                    bail!(
                        "--admin asks for the admin API, which lives on the HTTP listener, but --http none turns that off; drop one of them"
                    );
                }
                return Ok(None);
            }
            Some(text) => Some(text.parse::<std::net::SocketAddr>().with_context(|| {
                format!("--http {text}: expected HOST:PORT (e.g. 127.0.0.1:8090) or none")
            })?),
            None => None,
        };
        let (addr, flag) = match (explicit, self.admin) {
            (Some(h), Some(a)) if h != a => bail!(
                "--admin {a} and --http {h} differ; the admin API is served on the HTTP listener, so give one address (--http)"
            ),
            (Some(h), _) => (h, Some("--http")),
            (None, Some(a)) => (a, Some("--admin")),
            (None, None) => (
                DEFAULT_ADDR
                    .parse()
                    .context("the default HTTP address does not parse")?,
                None,
            ),
        };
        let token = secret_from(&self.admin_token_file, "SLUICE_ADMIN_TOKEN")
            .map(|s| s.read("the admin token"))
            .transpose()?;
        Ok(Some(HttpConfig {
            admin: AdminConfig {
                addr,
                token,
                max_upload: self.admin_max_upload_mib.max(1) << 20,
                swap_dirs: self.admin_swap_dirs.clone(),
                open_reads: self.http_open_reads,
                admin_asked: self.admin.is_some(),
            },
            flag,
        }))
    }
}

/// The secret behind a `--...-file` flag, else the environment variable, else none.
fn secret_from(file: &Option<PathBuf>, env: &str) -> Option<SecretRef> {
    match file {
        Some(path) => Some(SecretRef::file(path)),
        None => std::env::var_os(env).map(|_| SecretRef::env(env)),
    }
}

impl ServiceArgs {
    /// The Kafka settings the flags give every pipeline.
    pub(crate) fn kafka_settings(&self) -> Result<KafkaSettings> {
        let k = &self.kafka;
        let mut options = std::collections::BTreeMap::new();
        for o in &k.kafka_options {
            let (key, value) = o
                .split_once('=')
                .with_context(|| format!("--kafka-option {o}: expected KEY=VALUE"))?;
            options.insert(key.trim().to_owned(), value.trim().to_owned());
        }
        let oidc = match (&k.kafka_oidc_token_url, &k.kafka_oidc_client_id) {
            (Some(url), Some(id)) => Some(Oidc {
                token_endpoint_url: url.clone(),
                client_id: id.clone(),
                client_secret: secret_from(
                    &k.kafka_oidc_client_secret_file,
                    "SLUICE_KAFKA_OIDC_CLIENT_SECRET",
                )
                .context("--kafka-oidc-token-url needs --kafka-oidc-client-secret-file (or SLUICE_KAFKA_OIDC_CLIENT_SECRET)")?,
                scope: k.kafka_oidc_scope.clone(),
                extensions: None,
            }),
            (None, None) => None,
            _ => bail!("OIDC needs both --kafka-oidc-token-url and --kafka-oidc-client-id"),
        };
        Ok(KafkaSettings {
            brokers: Some(self.brokers.clone()),
            security_protocol: k
                .kafka_security_protocol
                .as_deref()
                .map(SecurityProtocol::parse)
                .transpose()?,
            sasl_mechanism: k.kafka_sasl_mechanism.clone(),
            sasl_username: k.kafka_sasl_username.clone(),
            sasl_password: secret_from(&k.kafka_sasl_password_file, "SLUICE_KAFKA_SASL_PASSWORD"),
            oidc,
            ssl_ca_location: k.kafka_ssl_ca.clone(),
            ssl_certificate_location: k.kafka_ssl_cert.clone(),
            ssl_key_location: k.kafka_ssl_key.clone(),
            ssl_key_password: k.kafka_ssl_key_password_file.as_ref().map(SecretRef::file),
            ssl_verify_hostname: k.kafka_no_hostname_verification.then_some(false),
            options,
            ..KafkaSettings::default()
        })
    }

    /// The ClickHouse password, from its file or SLUICE_CLICKHOUSE_PASSWORD.
    pub(crate) fn clickhouse_password(&self) -> Result<Secret> {
        match secret_from(&self.clickhouse_password_file, "SLUICE_CLICKHOUSE_PASSWORD") {
            Some(s) => s.read("the ClickHouse password"),
            None => Ok(Secret::default()),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct PipelineArgs {
    /// Run every pipeline of a TOML file (see examples/) instead of one from flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["plugins", "topics", "table"])]
    pub(crate) config: Option<PathBuf>,
    /// Plugin to run; repeat to chain plugins in order. None: payloads pass through.
    #[arg(long = "plugin", value_name = "WASM")]
    pub(crate) plugins: Vec<PathBuf>,
    /// JSON config for the plugin at the same position (repeat per plugin).
    #[arg(long = "plugin-config", value_name = "JSON")]
    pub(crate) plugin_configs: Vec<String>,
    /// Kafka topic to consume (repeatable).
    #[arg(long = "topic", value_name = "TOPIC")]
    pub(crate) topics: Vec<String>,
    /// Consume every topic whose name matches this regular expression, e.g.
    /// 'events\..*' (repeatable); topics created later that match are picked up.
    #[arg(long = "topic-pattern", value_name = "REGEX")]
    pub(crate) topic_patterns: Vec<String>,
    /// ClickHouse table for the rows.
    #[arg(long)]
    pub(crate) table: Option<String>,
    /// Route rows with target NAME to TABLE (repeatable), e.g. --output agg=clicks_agg.
    #[arg(long = "output", value_name = "NAME=TABLE")]
    pub(crate) outputs: Vec<String>,
    /// Table for dead letters.
    #[arg(long, default_value_t = default_dead_letter_table())]
    pub(crate) dead_letter_table: String,
    /// Kafka consumer group (default: sluice-NAME).
    #[arg(long)]
    pub(crate) group: Option<String>,
    /// Pipeline name for logs and dead letters (default: the table name).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Close a batch at this many records.
    #[arg(long, default_value_t = BatchLimits::default().max_rows)]
    pub(crate) batch_rows: usize,
    /// Close a batch at this many payload bytes.
    #[arg(long, default_value_t = BatchLimits::default().max_bytes)]
    pub(crate) batch_bytes: usize,
    /// Close a batch this many ms after its first record.
    #[arg(long, default_value_t = BatchLimits::default().max_wait_ms)]
    pub(crate) batch_ms: u64,
    /// Batches processed in parallel.
    #[arg(long, default_value_t = default_workers())]
    pub(crate) workers: usize,
    /// Most payload MiB read but not yet written and committed; past it reads pause.
    #[arg(long, default_value_t = BatchLimits::default().max_in_flight_bytes >> 20)]
    pub(crate) max_in_flight_mib: usize,
    /// Wall-clock deadline of one plugin call, in ms.
    #[arg(long, default_value_t = SandboxLimits::default().deadline_ms)]
    pub(crate) plugin_deadline_ms: u64,
    /// Memory cap of one plugin instance, in MiB.
    #[arg(long, default_value_t = SandboxLimits::default().memory_bytes >> 20)]
    pub(crate) plugin_memory_mib: usize,
    /// On Ctrl-C or SIGTERM, how long in-flight batches may take to finish, in ms.
    #[arg(long, default_value_t = default_drain_ms())]
    pub(crate) drain_ms: u64,
    /// The HTTP listener: status page at /, /metrics, /healthz, /readyz, /api/* and the
    /// admin API. On by default on 127.0.0.1:8090 (a free port if that is taken);
    /// `none` turns it off, and with it every metric. Off loopback it needs a token.
    #[arg(long, value_name = "ADDR|none")]
    pub(crate) http: Option<String>,
    /// Off loopback, serve the read-only routes (page, /api, /metrics) without the
    /// token, for a listener only a trusted network reaches; with no token set, the
    /// mutating admin routes are then off.
    #[arg(long)]
    pub(crate) http_open_reads: bool,
    /// The same as --http ADDR (the admin API used to have a listener of its own).
    #[arg(long, value_name = "ADDR")]
    pub(crate) admin: Option<std::net::SocketAddr>,
    /// File holding the token the admin API's mutating routes need (or set
    /// SLUICE_ADMIN_TOKEN); at least 16 characters.
    #[arg(long, value_name = "FILE")]
    pub(crate) admin_token_file: Option<PathBuf>,
    /// Largest plugin the admin API takes, uploaded or read by path, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MAX_UPLOAD >> 20)]
    pub(crate) admin_max_upload_mib: usize,
    /// A directory a swap by path may read plugins from, beside those of the
    /// configured plugins (repeatable).
    #[arg(long = "admin-swap-dir", value_name = "DIR")]
    pub(crate) admin_swap_dirs: Vec<PathBuf>,
    /// Directory of compiled plugins (default: $SLUICE_PLUGIN_CACHE or ~/.cache/sluice/compiled).
    #[arg(long, value_name = "DIR")]
    pub(crate) plugin_cache: Option<PathBuf>,
    /// Compile plugins on every start instead of caching them.
    #[arg(long, conflicts_with = "plugin_cache")]
    pub(crate) no_plugin_cache: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Generator plugin (.wasm).
    #[arg(long, value_name = "WASM")]
    pub(crate) plugin: PathBuf,
    /// The generator's JSON config, e.g. '{"kind":"clickstream"}'.
    #[arg(long = "plugin-config", value_name = "JSON", default_value = "")]
    pub(crate) plugin_config: String,
    /// Kafka topic to produce to (created if missing).
    #[arg(long)]
    pub(crate) topic: String,
    /// Partitions when the topic has to be created.
    #[arg(long, default_value_t = 3)]
    pub(crate) partitions: i32,
    /// Records per second; 0 for as fast as possible.
    #[arg(long, default_value_t = 1000)]
    pub(crate) rate: u64,
    /// Records to produce.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) count: u64,
    /// Seed: the same seed and config always give the same records.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Hide the progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// The flags of a one-pipeline run as a draft; defaults and checks are the config
/// module's, the same as for a pipelines file.
pub(crate) fn pipeline_from_args(args: PipelineArgs) -> Result<PipelineConfig> {
    let Some(table) = args.table else {
        bail!("no table given; pass --table NAME (and --topic, --plugin), or see `host --help`");
    };
    if args.topics.is_empty() && args.topic_patterns.is_empty() {
        bail!("no topic given; pass --topic NAME (or --topic-pattern REGEX)");
    }
    if args.plugin_configs.len() > args.plugins.len() {
        bail!(
            "{} --plugin-config values for {} --plugin values; give one config per plugin, in the same order",
            args.plugin_configs.len(),
            args.plugins.len()
        );
    }
    let plugins = args
        .plugins
        .into_iter()
        .enumerate()
        .map(|(i, path)| PluginDraft {
            path,
            config: None,
            config_json: args.plugin_configs.get(i).cloned(),
        })
        .collect();
    let outputs = args
        .outputs
        .iter()
        .map(|o| {
            o.split_once('=')
                .map(|(n, t)| (n.trim().to_owned(), t.trim().to_owned()))
                .with_context(|| format!("--output {o}: expected NAME=TABLE"))
        })
        .collect::<Result<_>>()?;
    let draft = PipelineDraft {
        name: args.name,
        topics: args.topics,
        topic_patterns: args.topic_patterns,
        kafka: Default::default(),
        group: args.group,
        table,
        outputs,
        dead_letter_table: args.dead_letter_table,
        batch: BatchLimits {
            max_rows: args.batch_rows,
            max_bytes: args.batch_bytes,
            max_wait_ms: args.batch_ms,
            max_in_flight_bytes: args.max_in_flight_mib << 20,
        },
        limits: SandboxLimits {
            deadline_ms: args.plugin_deadline_ms,
            memory_bytes: args.plugin_memory_mib << 20,
            ..SandboxLimits::default()
        },
        grants: Default::default(),
        lifecycle: Default::default(),
        workers: args.workers,
        plugins,
    };
    PipelineConfig::from_draft(draft, std::path::Path::new(""))
}
