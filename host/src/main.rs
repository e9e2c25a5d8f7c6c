//! The `host` binary: parses the command line, sets up logging and signals, and
//! hands over to the library. Errors print as one line and exit non-zero.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use sluice_host::config::load_file;
use sluice_host::generate::{self, GenerateConfig};
use sluice_host::runtime::{Runtime, SandboxLimits};
use sluice_host::sink::clickhouse::ClickHouseConfig;
use sluice_host::telemetry::{self, Stats};
use sluice_host::tools::offline::{self, OfflineRun};
use sluice_host::tools::scaffold::{self, Scaffold};
use sluice_host::{Options, Services, admin, run};
use tokio_util::sync::CancellationToken;

mod cli;
mod status;

use cli::{
    AdminArgs, Cli, Command, NewArgs, PluginCommand, ResumeArgs, RollbackArgs, SwapArgs, TestArgs,
    pipeline_from_args,
};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    telemetry::init_logging(&cli.log_level, cli.log_format);
    if let Some(Command::Plugin(command)) = cli.command {
        return plugin_main(command);
    }
    if let Some(Command::Status(args)) = cli.command {
        let token = match &args.admin_token_file {
            Some(path) => sluice_host::secret::SecretRef::file(path)
                .read("the admin token")
                .map(Some),
            None => Ok(None),
        };
        return match token {
            Ok(token) => {
                if token.is_some() {
                    admin::client::use_token(token);
                }
                admin_call(status::run(args.http, args.json)).unwrap_or_else(|e| {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                })
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(Command::Resume(args)) = cli.command {
        if let Err(e) = args.admin.use_token() {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
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
        PluginCommand::Swap(args) => args
            .admin
            .use_token()
            .and_then(|()| admin_call(plugin_swap(args))),
        PluginCommand::Rollback(args) => args
            .admin
            .use_token()
            .and_then(|()| admin_call(plugin_rollback(args))),
        PluginCommand::List(args) => args
            .use_token()
            .and_then(|()| admin_call(plugin_list(args))),
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
        kafka: cli.services.kafka_settings()?,
        clickhouse: ClickHouseConfig {
            url: cli.services.clickhouse_url.clone(),
            database: cli.services.database.clone(),
            user: cli.services.clickhouse_user.clone(),
            password: cli.services.clickhouse_password()?,
            ca: cli.services.clickhouse_ca.clone(),
            timeout: Duration::from_millis(cli.services.clickhouse_timeout_ms.max(1)),
        },
    };
    match cli.command {
        // main() runs `host plugin` and `host resume` before the async runtime starts.
        Some(Command::Plugin(_) | Command::Resume(_) | Command::Status(_)) => {
            bail!("admin commands cannot run inside the pipeline runtime")
        }
        Some(Command::Generate(args)) => {
            let runtime = Runtime::new()?;
            let config = GenerateConfig {
                plugin: args.plugin,
                plugin_config: args.plugin_config,
                seed: args.seed,
                kafka: services.kafka,
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
                http: cli.pipeline.http_config()?,
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
