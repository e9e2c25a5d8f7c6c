//! Bad input to the host itself: each case is one line on stderr that names the thing
//! and the fix, a non-zero exit, and never a panic.

mod common;

use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(common::host_bin());
    cmd.args(args).env("RUST_LOG", "off");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("host runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line(stderr: &str, must_contain: &[&str]) {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line, got: {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in must_contain {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from {stderr:?}"
        );
    }
}

#[test]
fn unknown_flag() {
    let (code, err) = run(&["--frobnicate"], &[]);
    assert_eq!(code, 2);
    assert_one_line(&err, &["--frobnicate", "host --help"]);
}

#[test]
fn missing_table_flag() {
    let (code, err) = run(&["--topic", "t"], &[]);
    assert_ne!(code, 0);
    assert_one_line(&err, &["--table"]);
}

#[test]
fn missing_plugin_file() {
    let (code, err) = run(
        &[
            "--plugin",
            "/nope/sentiment.wasm",
            "--topic",
            "t",
            "--table",
            "tweet_sentiment",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_line(&err, &["/nope/sentiment.wasm", "make plugins"]);
}

#[test]
fn plugin_of_the_wrong_world() {
    let generator = common::plugin("generator");
    let (code, err) = run(
        &[
            "--plugin",
            generator.to_str().expect("utf8 path"),
            "--topic",
            "t",
            "--table",
            "tweet_sentiment",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_line(
        &err,
        &[
            "generator.wasm",
            "is a generator plugin, but a transform plugin is needed",
        ],
    );
}

#[test]
fn not_a_wasm_file() {
    let (code, err) = run(
        &[
            "--plugin",
            "Cargo.toml",
            "--topic",
            "t",
            "--table",
            "tweet_sentiment",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_line(
        &err,
        &["Cargo.toml is not a WebAssembly file", "wasm32-wasip2"],
    );
}

#[test]
fn unreachable_clickhouse() {
    let (code, err) = run(
        &[
            "--topic",
            "t",
            "--table",
            "tweet_sentiment",
            "--clickhouse-url",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_line(
        &err,
        &[
            "cannot reach ClickHouse at http://127.0.0.1:1",
            "scripts/clickhouse.sh start",
        ],
    );
}

#[tokio::test]
async fn unreachable_broker() {
    let svc = common::Services::require();
    // A database with the tables, so the broker is the only thing missing (found when
    // this test passed only after another had created the tables in `default`).
    let db = svc.fresh_database("cli_broker").await;
    let (code, err) = run(
        &[
            "--topic",
            "t",
            "--table",
            "tweet_sentiment",
            "--brokers",
            "127.0.0.1:1",
            "--clickhouse-url",
            &svc.clickhouse_url,
            "--database",
            &db,
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_line(
        &err,
        &[
            "cannot reach Kafka at 127.0.0.1:1",
            "scripts/kafka.sh start",
        ],
    );
}

#[test]
fn missing_table() {
    let svc = common::Services::require();
    let (code, err) = run(
        &[
            "--topic",
            "t",
            "--table",
            "no_such_table",
            "--clickhouse-url",
            &svc.clickhouse_url,
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_line(&err, &["no_such_table does not exist", "sql/"]);
}

#[test]
fn generator_bad_config() {
    let svc = common::Services::require();
    let generator = common::plugin("generator");
    let (code, err) = run(
        &[
            "generate",
            "--quiet",
            "--plugin",
            generator.to_str().expect("utf8"),
            "--topic",
            "t",
            "--plugin-config",
            r#"{"kind":"x"}"#,
            "--brokers",
            &svc.brokers,
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert_one_line(&err, &["generator.wasm failed to start", "unknown kind"]);
}

#[test]
fn plugin_swap_without_a_running_admin_api() {
    let wasm = common::plugin("passthrough");
    let (code, err) = run(
        &[
            "plugin",
            "swap",
            "--admin",
            "http://127.0.0.1:9",
            "--pipeline",
            "p",
            "--plugin",
            &wasm.display().to_string(),
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_one_line(&err, &["cannot reach the admin API", "--admin"]);
}

#[test]
fn admin_address_already_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let wasm = common::plugin("passthrough");
    let (code, err) = run(
        &[
            "--plugin",
            &wasm.display().to_string(),
            "--topic",
            "t",
            "--table",
            "tweet_sentiment",
            "--admin",
            &addr,
        ],
        &[("SLUICE_BROKERS", "127.0.0.1:9092")],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains(&addr) && err.contains("--admin"),
        "names the address and the flag: {err}"
    );
}
