//! The `host` binary: parses the command line, sets up logging and signals, and
//! hands over to the library. Errors print as one line and exit non-zero.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use sluice_host::config::{
    BatchLimits, PipelineConfig, PipelineDraft, PluginDraft, default_dead_letter_table,
    default_drain_ms, default_workers, load_file,
};
use sluice_host::generate::{self, GenerateConfig};
use sluice_host::runtime::{Runtime, SandboxLimits};
use sluice_host::sink::clickhouse::{ClickHouseConfig, DEFAULT_TIMEOUT};
use sluice_host::telemetry::{self, Stats};
use sluice_host::tools::offline::{self, OfflineRun};
use sluice_host::tools::scaffold::{self, Scaffold};
use sluice_host::{Options, Services, admin, run};
use tokio_util::sync::CancellationToken;

/// Sluice: Kafka -> WebAssembly plugins -> ClickHouse, exactly once.
///
/// Run one pipeline:   host --plugin sentiment.wasm --topic tweets --table tweet_sentiment
/// Run a config file:  host --config examples/clickstream.toml
/// Feed Kafka:         host generate --plugin generator.wasm --topic tweets --count 10000
/// Test a plugin:      host plugin test --plugin sentiment.wasm --input events.jsonl
/// Start a plugin:     host plugin new my-filter
#[derive(Debug, Parser)]
#[command(
    name = "host",
    version,
    args_conflicts_with_subcommands = true,
    verbatim_doc_comment
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    services: ServiceArgs,
    /// Log level for the host's own messages (error, warn, info, debug, trace); RUST_LOG overrides.
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a generator plugin and produce its records into a Kafka topic.
    Generate(GenerateArgs),
    /// Work on plugins without Kafka or ClickHouse: test one offline, start a new one.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Lift a running pipeline's quarantine once its cause is fixed (admin API).
    Resume(ResumeArgs),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
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
struct AdminArgs {
    /// The host's admin API, as given to its --admin flag.
    #[arg(
        long,
        value_name = "URL",
        env = "SLUICE_ADMIN",
        default_value = "http://127.0.0.1:8089"
    )]
    admin: String,
}

#[derive(Debug, Args)]
struct SwapArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Pipeline name.
    #[arg(long)]
    pipeline: String,
    /// New plugin component (.wasm).
    #[arg(long, value_name = "WASM")]
    plugin: PathBuf,
    /// Position of the plugin in the chain.
    #[arg(long, default_value_t = 0)]
    index: usize,
}

#[derive(Debug, Args)]
struct ResumeArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Pipeline name.
    #[arg(long)]
    pipeline: String,
}

#[derive(Debug, Args)]
struct RollbackArgs {
    #[command(flatten)]
    admin: AdminArgs,
    /// Pipeline name.
    #[arg(long)]
    pipeline: String,
    /// Position of the plugin in the chain.
    #[arg(long, default_value_t = 0)]
    index: usize,
}

#[derive(Debug, Args)]
struct NewArgs {
    /// Crate name: ASCII letters, digits, '-' and '_', starting with a letter.
    name: String,
    /// Directory to create the crate in.
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// The Sluice SDK (the sdk/ directory of a checkout); default: the one this host was built from.
    #[arg(long, value_name = "PATH")]
    sdk: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// Plugin to run (.wasm); repeat to chain plugins in order.
    #[arg(long = "plugin", value_name = "WASM", required = true)]
    plugins: Vec<PathBuf>,
    /// Events, one payload per line; an event's offset is its 0-based line number.
    #[arg(long, value_name = "JSONL")]
    input: Option<PathBuf>,
    /// TOML file whose top-level table is the config of the plugin at the same position
    /// (repeat per plugin; '' for none).
    #[arg(long = "config", value_name = "TOML")]
    configs: Vec<PathBuf>,
    /// Compare with these expected lines instead of printing: exit 0 if they match, 1 if not.
    #[arg(long, value_name = "JSONL")]
    expect: Option<PathBuf>,
    /// Messages a generator plugin makes.
    #[arg(long, default_value_t = 10)]
    count: u64,
    /// Seed of a generator plugin.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Debug, Args)]
struct ServiceArgs {
    /// Kafka bootstrap servers.
    #[arg(
        long,
        global = true,
        env = "SLUICE_BROKERS",
        default_value = "127.0.0.1:9092"
    )]
    brokers: String,
    /// ClickHouse HTTP URL.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CLICKHOUSE_URL",
        default_value = "http://127.0.0.1:8123"
    )]
    clickhouse_url: String,
    /// ClickHouse database holding the tables.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CLICKHOUSE_DATABASE",
        default_value = "default"
    )]
    database: String,
    /// ClickHouse user.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CLICKHOUSE_USER",
        default_value = "default"
    )]
    clickhouse_user: String,
    /// ClickHouse password.
    #[arg(
        long,
        global = true,
        env = "SLUICE_CLICKHOUSE_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    clickhouse_password: String,
    /// Longest one ClickHouse request (an insert, a read of the offsets it holds) may
    /// take before it is logged and retried, in ms.
    #[arg(long, global = true, default_value_t = DEFAULT_TIMEOUT.as_millis() as u64)]
    clickhouse_timeout_ms: u64,
}

#[derive(Debug, Args)]
struct PipelineArgs {
    /// Run every pipeline of a TOML file (see examples/) instead of one from flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["plugins", "topics", "table"])]
    config: Option<PathBuf>,
    /// Plugin to run; repeat to chain plugins in order. None: payloads pass through.
    #[arg(long = "plugin", value_name = "WASM")]
    plugins: Vec<PathBuf>,
    /// JSON config for the plugin at the same position (repeat per plugin).
    #[arg(long = "plugin-config", value_name = "JSON")]
    plugin_configs: Vec<String>,
    /// Kafka topic to consume (repeatable).
    #[arg(long = "topic", value_name = "TOPIC")]
    topics: Vec<String>,
    /// Consume every topic whose name matches this regular expression, e.g.
    /// 'events\..*' (repeatable); topics created later that match are picked up.
    #[arg(long = "topic-pattern", value_name = "REGEX")]
    topic_patterns: Vec<String>,
    /// ClickHouse table for the rows.
    #[arg(long)]
    table: Option<String>,
    /// Route rows with target NAME to TABLE (repeatable), e.g. --output agg=clicks_agg.
    #[arg(long = "output", value_name = "NAME=TABLE")]
    outputs: Vec<String>,
    /// Table for dead letters.
    #[arg(long, default_value_t = default_dead_letter_table())]
    dead_letter_table: String,
    /// Kafka consumer group (default: sluice-NAME).
    #[arg(long)]
    group: Option<String>,
    /// Pipeline name for logs and dead letters (default: the table name).
    #[arg(long)]
    name: Option<String>,
    /// Close a batch at this many records.
    #[arg(long, default_value_t = BatchLimits::default().max_rows)]
    batch_rows: usize,
    /// Close a batch at this many payload bytes.
    #[arg(long, default_value_t = BatchLimits::default().max_bytes)]
    batch_bytes: usize,
    /// Close a batch this many ms after its first record.
    #[arg(long, default_value_t = BatchLimits::default().max_wait_ms)]
    batch_ms: u64,
    /// Batches processed in parallel.
    #[arg(long, default_value_t = default_workers())]
    workers: usize,
    /// Most payload MiB read but not yet written and committed; past it reads pause.
    #[arg(long, default_value_t = BatchLimits::default().max_in_flight_bytes >> 20)]
    max_in_flight_mib: usize,
    /// Wall-clock deadline of one plugin call, in ms.
    #[arg(long, default_value_t = SandboxLimits::default().deadline_ms)]
    plugin_deadline_ms: u64,
    /// Memory cap of one plugin instance, in MiB.
    #[arg(long, default_value_t = SandboxLimits::default().memory_bytes >> 20)]
    plugin_memory_mib: usize,
    /// On Ctrl-C or SIGTERM, how long in-flight batches may take to finish, in ms.
    #[arg(long, default_value_t = default_drain_ms())]
    drain_ms: u64,
    /// Serve the admin API (list, swap, roll back plugins) on this address, e.g.
    /// 127.0.0.1:8089. Off by default: it loads code and has no authentication.
    #[arg(long, value_name = "ADDR")]
    admin: Option<std::net::SocketAddr>,
    /// Directory of compiled plugins (default: $SLUICE_PLUGIN_CACHE or ~/.cache/sluice/compiled).
    #[arg(long, value_name = "DIR")]
    plugin_cache: Option<PathBuf>,
    /// Compile plugins on every start instead of caching them.
    #[arg(long, conflicts_with = "plugin_cache")]
    no_plugin_cache: bool,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Generator plugin (.wasm).
    #[arg(long, value_name = "WASM")]
    plugin: PathBuf,
    /// The generator's JSON config, e.g. '{"kind":"clickstream"}'.
    #[arg(long = "plugin-config", value_name = "JSON", default_value = "")]
    plugin_config: String,
    /// Kafka topic to produce to (created if missing).
    #[arg(long)]
    topic: String,
    /// Partitions when the topic has to be created.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// Records per second; 0 for as fast as possible.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Records to produce.
    #[arg(long, default_value_t = 10_000)]
    count: u64,
    /// Seed: the same seed and config always give the same records.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    telemetry::init_logging(&cli.log_level);
    if let Some(Command::Plugin(command)) = cli.command {
        return plugin_main(command);
    }
    if let Some(Command::Resume(args)) = cli.command {
        return admin_call(resume(args)).unwrap_or_else(|e| {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        });
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(4, |n| n.get().max(4)))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(real_main(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints help and version as clap does, and any other parse error as one line that
/// names the problem and where to look.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_owned();
    // "the following required arguments were not provided:" names them on the next line.
    if first.ends_with(':')
        && let Some(next) = lines.next()
    {
        first = format!("{first} {next}");
    }
    eprintln!("error: {first}; run `host --help` for usage");
    ExitCode::from(2)
}

/// `host plugin ...`: no services and no async runtime. Exit 0 on success, 1 when
/// `--expect` finds a difference, 2 on any error (bad flags, files or plugins).
fn plugin_main(command: PluginCommand) -> ExitCode {
    let result = match command {
        PluginCommand::New(args) => plugin_new(args),
        PluginCommand::Test(args) => plugin_test(args),
        PluginCommand::Swap(args) => admin_call(plugin_swap(args)),
        PluginCommand::Rollback(args) => admin_call(plugin_rollback(args)),
        PluginCommand::List(args) => admin_call(plugin_list(args)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs one admin API call on a small runtime; a refusal exits 1 with its reason.
fn admin_call(call: impl std::future::Future<Output = Result<String>>) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match runtime.block_on(call) {
        Ok(text) => {
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn plugin_swap(args: SwapArgs) -> Result<String> {
    let wasm = std::fs::read(&args.plugin).with_context(|| {
        format!(
            "cannot read plugin {}; check the path",
            args.plugin.display()
        )
    })?;
    let file = args
        .plugin
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let r = admin::client::swap(&args.admin.admin, &args.pipeline, args.index, &file, wasm).await?;
    Ok(format!(
        "pipeline {} plugin {}: {} -> {} (generation {}); workers switch at their next batch",
        r.pipeline, r.index, r.from, r.to, r.generation
    ))
}

async fn resume(args: ResumeArgs) -> Result<String> {
    let r = admin::client::resume(&args.admin.admin, &args.pipeline).await?;
    Ok(format!(
        "pipeline {} resumed (was quarantined: {})",
        r.pipeline, r.lifted
    ))
}

async fn plugin_rollback(args: RollbackArgs) -> Result<String> {
    let r = admin::client::rollback(&args.admin.admin, &args.pipeline, args.index).await?;
    Ok(format!(
        "pipeline {} plugin {}: rolled back {} -> {} (generation {})",
        r.pipeline, r.index, r.from, r.to, r.generation
    ))
}

async fn plugin_list(args: AdminArgs) -> Result<String> {
    let list = admin::client::list(&args.admin).await?;
    Ok(serde_json::to_string_pretty(&list)?)
}

fn plugin_new(args: NewArgs) -> Result<ExitCode> {
    let root = scaffold::create(&Scaffold {
        name: args.name,
        dir: args.dir,
        sdk: args.sdk,
    })?;
    println!(
        "created {}; its README.md says how to build and test it",
        root.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn plugin_test(args: TestArgs) -> Result<ExitCode> {
    // Read the expected file first, so a wrong path fails before any plugin runs.
    let expected = match &args.expect {
        Some(path) => Some((path, offline::load_expected(path)?)),
        None => None,
    };
    let runtime = Runtime::new()?;
    let lines = offline::run(
        &runtime,
        &OfflineRun {
            plugins: args.plugins,
            configs: args.configs,
            input: args.input,
            count: args.count,
            seed: args.seed,
            limits: SandboxLimits::default(),
        },
    )?;
    let Some((expect, expected)) = expected else {
        print_lines(&lines)?;
        return Ok(ExitCode::SUCCESS);
    };
    let differences = offline::compare(&expected, &lines);
    if differences.is_empty() {
        print_lines(&[format!(
            "ok: {} line(s) match {}",
            lines.len(),
            expect.display()
        )])?;
        return Ok(ExitCode::SUCCESS);
    }
    print_lines(&offline::describe(&differences, expect))?;
    Ok(ExitCode::from(1))
}

/// Writes lines to stdout; a reader that stops early (`| head`) is not an error.
fn print_lines(lines: &[String]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        cancel.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("Shutting down: finishing in-flight batches.");
        cancel.cancel();
    });
    token
}

async fn real_main(cli: Cli) -> Result<()> {
    let shutdown = shutdown_on_signal();
    let services = Services {
        brokers: cli.services.brokers.clone(),
        clickhouse: ClickHouseConfig {
            url: cli.services.clickhouse_url.clone(),
            database: cli.services.database.clone(),
            user: cli.services.clickhouse_user.clone(),
            password: cli.services.clickhouse_password.clone(),
            timeout: Duration::from_millis(cli.services.clickhouse_timeout_ms.max(1)),
        },
    };
    match cli.command {
        // main() runs `host plugin` and `host resume` before the async runtime starts.
        Some(Command::Plugin(_) | Command::Resume(_)) => {
            bail!("admin commands cannot run inside the pipeline runtime")
        }
        Some(Command::Generate(args)) => {
            let runtime = Runtime::new()?;
            let config = GenerateConfig {
                plugin: args.plugin,
                plugin_config: args.plugin_config,
                seed: args.seed,
                brokers: services.brokers,
                topic: args.topic,
                partitions: args.partitions,
                rate: args.rate,
                count: args.count,
                progress: !args.quiet,
            };
            let topic = config.topic.clone();
            let n = generate::run(&runtime, config, shutdown).await?;
            eprintln!("produced {n} records to {topic}");
            Ok(())
        }
        None => {
            let options = Options {
                plugin_cache: if cli.pipeline.no_plugin_cache {
                    None
                } else {
                    cli.pipeline
                        .plugin_cache
                        .clone()
                        .or_else(Runtime::default_cache_dir)
                },
                admin: cli.pipeline.admin,
                drain: Duration::from_millis(cli.pipeline.drain_ms),
            };
            let pipelines = match cli.pipeline.config.clone() {
                Some(path) => load_file(&path)?,
                None => vec![pipeline_from_args(cli.pipeline)?],
            };
            run(
                services,
                options,
                pipelines,
                Arc::new(Stats::default()),
                shutdown,
            )
            .await
        }
    }
}

/// The flags of a one-pipeline run as a draft; defaults and checks are the config
/// module's, the same as for a pipelines file.
fn pipeline_from_args(args: PipelineArgs) -> Result<PipelineConfig> {
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
