//! Secured connections and the admin API's guards, on the real services: the broker's
//! SASL_SSL and mTLS listeners and ClickHouse over HTTPS (`scripts/services.sh up`
//! starts them, with certificates from `scripts/tls.sh`). Every bad credential is one
//! line naming the thing and the fix, soon; no secret ever shows in a log, an error,
//! the admin API or `host plugin list`.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    Services, TempDir, free_port, host_bin, plugin, produce, terminate, unique, wait_for,
};

/// The services' users and listeners, as `scripts/kafka.sh` and `scripts/clickhouse.sh`
/// make them (see docs/security-local.md).
const USER: &str = "sluice";
const PASSWORD: &str = "sluice-secret";
const SASL_SSL: &str = "127.0.0.1:9094";
const MTLS: &str = "127.0.0.1:9095";
const WRONG_NAME: &str = "localhost:9096";
const CLICKHOUSE_HTTPS: &str = "https://localhost:8443";

fn tls(file: &str) -> PathBuf {
    let run = std::env::var_os("SLUICE_RUN")
        .map_or_else(|| PathBuf::from("/tmp/sluice-run"), PathBuf::from);
    let path = run.join("tls").join(file);
    assert!(
        path.exists(),
        "{} is missing; start the secure listeners with `scripts/services.sh up` (scripts/tls.sh makes the certificates)",
        path.display()
    );
    path
}

/// Fails naming the script when a secure listener is not up.
fn require(addr: &str) {
    use std::net::ToSocketAddrs;
    let up = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    assert!(
        up,
        "nothing listens on {addr}; start the secure listeners with `scripts/services.sh restart` (scripts/kafka.sh and scripts/clickhouse.sh open them)"
    );
}

const EVENTS: &str = "CREATE TABLE ev (id String, _topic String, _topic_id String, \
     _partition Int32, _offset Int64) ENGINE = MergeTree ORDER BY (_topic, _partition, _offset)";

fn events(n: usize) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                None,
                serde_json::json!({ "id": format!("s{i}") })
                    .to_string()
                    .into_bytes(),
            )
        })
        .collect()
}

async fn exec(svc: &Services, db: &str, sql: &str) {
    svc.ch(db)
        .query(sql)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The host run against the secure listeners, with secrets in files under `dir`.
fn secure_host(svc: &Services, db: &str, dir: &TempDir) -> Command {
    let pw = dir.write("kafka-password", PASSWORD.as_bytes());
    secure_host_with(svc, db, &pw)
}

/// [`secure_host`] with the SASL password read from `pw`.
fn secure_host_with(svc: &Services, db: &str, pw: &std::path::Path) -> Command {
    sasl_host(svc, db, "SCRAM-SHA-512", pw, "ca.pem")
}

/// The host on the SASL_SSL listener with `mechanism`, the password in `pw`, and
/// the test CA file `ca` to verify the broker with.
fn sasl_host(svc: &Services, db: &str, mechanism: &str, pw: &std::path::Path, ca: &str) -> Command {
    let mut cmd = svc.host(db);
    cmd.args([
        "--brokers",
        SASL_SSL,
        "--kafka-security-protocol",
        "SASL_SSL",
    ])
    .args([
        "--kafka-sasl-mechanism",
        mechanism,
        "--kafka-sasl-username",
        USER,
    ])
    .arg("--kafka-sasl-password-file")
    .arg(pw)
    .arg("--kafka-ssl-ca")
    .arg(tls(ca));
    cmd
}

/// Runs a host that must fail at start; returns its exit code, stderr and how long
/// it took.
fn failing(mut cmd: Command) -> (i32, String, Duration) {
    let started = Instant::now();
    let out = cmd
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .output()
        .expect("host runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

fn one_line(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {err:?}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    lines[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_runs_over_sasl_ssl_and_over_mutual_tls() {
    let svc = Services::require();
    require(SASL_SSL);
    require(MTLS);
    let db = svc.fresh_database("secure").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("secure", 2).await;
    produce(&svc.brokers, &topic, &events(500)).await;
    let dir = TempDir::new("secure");
    let mut host = secure_host(&svc, &db, &dir)
        .args([
            "--topic",
            &topic,
            "--table",
            "ev",
            "--group",
            &unique("g"),
            "--batch-ms",
            "50",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("sasl.log")).expect("log"))
        .spawn()
        .expect("host starts");
    wait_for("rows over SASL_SSL", Duration::from_secs(60), || async {
        let n = svc.count(&db, "SELECT count() FROM ev").await;
        (n == 500, format!("{n} rows"))
    })
    .await;
    assert!(terminate(&mut host));

    // The same topic again, read over mutual TLS into a second table.
    exec(&svc, &db, &EVENTS.replace("TABLE ev", "TABLE ev2")).await;
    let mut host = svc
        .host(&db)
        .args(["--brokers", MTLS, "--kafka-security-protocol", "SSL"])
        .arg("--kafka-ssl-ca")
        .arg(tls("ca.pem"))
        .arg("--kafka-ssl-cert")
        .arg(tls("client.pem"))
        .arg("--kafka-ssl-key")
        .arg(tls("client.key"))
        .args([
            "--topic",
            &topic,
            "--table",
            "ev2",
            "--group",
            &unique("g"),
            "--batch-ms",
            "50",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("mtls.log")).expect("log"))
        .spawn()
        .expect("host starts");
    wait_for("rows over mTLS", Duration::from_secs(60), || async {
        let n = svc.count(&db, "SELECT count() FROM ev2").await;
        (n == 500, format!("{n} rows"))
    })
    .await;
    assert!(terminate(&mut host));
    assert_eq!(
        svc.count(&db, "SELECT uniqExact(_partition, _offset) FROM ev2")
            .await,
        500
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kafka_credentials_are_one_line_with_the_fix_and_fail_soon() {
    let svc = Services::require();
    require(SASL_SSL);
    let db = svc.fresh_database("badcreds").await;
    let dir = TempDir::new("badcreds");
    let wrong = dir.write("wrong", b"not-the-password");
    let mut cases: Vec<(&str, Command, Vec<&str>)> = Vec::new();
    let mut c = secure_host_with(&svc, &db, &wrong);
    c.args(["--topic", "t", "--table", "tweet_sentiment"]);
    cases.push((
        "wrong password",
        c,
        vec![SASL_SSL, "SCRAM-SHA-512", "password"],
    ));
    let pw = dir.write("pw", PASSWORD.as_bytes());
    let mut c = sasl_host(&svc, &db, "SCRAM-SHA-256", &pw, "ca.pem");
    c.args(["--topic", "t", "--table", "tweet_sentiment"]);
    cases.push((
        "wrong mechanism",
        c,
        vec![SASL_SSL, "SCRAM-SHA-256", "it offers SCRAM-SHA-512"],
    ));
    let mut c = sasl_host(&svc, &db, "SCRAM-SHA-512", &pw, "untrusted-ca.pem");
    c.args(["--topic", "t", "--table", "tweet_sentiment"]);
    cases.push((
        "untrusted certificate",
        c,
        vec![SASL_SSL, "not trusted", "--kafka-ssl-ca"],
    ));
    let mut c = svc.host(&db);
    c.args(["--brokers", MTLS, "--kafka-security-protocol", "SSL"])
        .arg("--kafka-ssl-ca")
        .arg(tls("ca.pem"))
        .args(["--topic", "t", "--table", "tweet_sentiment"]);
    cases.push(("no client certificate", c, vec![MTLS, "--kafka-ssl-cert"]));
    let mut c = svc.host(&db);
    c.args(["--brokers", WRONG_NAME, "--kafka-security-protocol", "SSL"])
        .arg("--kafka-ssl-ca")
        .arg(tls("ca.pem"))
        .args(["--topic", "t", "--table", "tweet_sentiment"]);
    cases.push((
        "certificate for another name",
        c,
        vec![WRONG_NAME, "does not name this host"],
    ));
    for (what, cmd, needles) in cases {
        let (code, err, took) = failing(cmd);
        assert_ne!(code, 0, "{what}: exits non-zero");
        let line = one_line(&err);
        for n in needles {
            assert!(line.contains(n), "{what}: {n:?} missing from {line}");
        }
        assert!(
            !err.contains("not-the-password") && !err.contains(PASSWORD),
            "{what}: a secret in {err}"
        );
        assert!(
            took < Duration::from_secs(30),
            "{what}: took {took:?}, not a bounded failure"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_over_https_with_a_ca_and_clear_errors_without() {
    let svc = Services::require();
    require("127.0.0.1:8443");
    let db = svc.fresh_database("https").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("https", 1).await;
    produce(&svc.brokers, &topic, &events(200)).await;
    let dir = TempDir::new("https");
    let pw = dir.write("ch-password", PASSWORD.as_bytes());
    let https_host = |extra: &[&str]| {
        let mut c = svc.host(&db);
        c.env("SLUICE_CLICKHOUSE_URL", CLICKHOUSE_HTTPS)
            .args(["--clickhouse-user", USER, "--clickhouse-password-file"])
            .arg(&pw)
            .args(extra);
        c
    };
    let mut host = https_host(&["--topic", &topic, "--table", "ev", "--group", &unique("g")]);
    let mut host = host
        .arg("--clickhouse-ca")
        .arg(tls("ca.pem"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("https.log")).expect("log"))
        .spawn()
        .expect("host starts");
    wait_for("rows over HTTPS", Duration::from_secs(60), || async {
        let n = svc.count(&db, "SELECT count() FROM ev").await;
        (n == 200, format!("{n} rows"))
    })
    .await;
    assert!(terminate(&mut host));

    let (code, err, _) = failing(https_host(&["--topic", &topic, "--table", "ev"]));
    assert_ne!(code, 0);
    let line = one_line(&err);
    assert!(
        line.contains("not trusted") && line.contains("--clickhouse-ca"),
        "{line}"
    );
    let wrong = dir.write("wrong", b"not-the-password");
    let mut c = svc.host(&db);
    c.env("SLUICE_CLICKHOUSE_URL", CLICKHOUSE_HTTPS)
        .args(["--clickhouse-user", USER, "--clickhouse-password-file"])
        .arg(&wrong)
        .arg("--clickhouse-ca")
        .arg(tls("ca.pem"))
        .args(["--topic", &topic, "--table", "ev"]);
    let (code, err, _) = failing(c);
    assert_ne!(code, 0);
    let line = one_line(&err);
    assert!(
        line.contains("refused user sluice") && line.contains("--clickhouse-password-file"),
        "{line}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
}

/// A planted secret in every place a secret can be given never shows: not in the
/// logs at debug level, not in the admin API, not in `host plugin list`, not in the
/// errors of a failed start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_never_show() {
    let svc = Services::require();
    require(SASL_SSL);
    let db = svc.fresh_database("planted").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("planted", 1).await;
    produce(&svc.brokers, &topic, &events(50)).await;
    let dir = TempDir::new("planted");
    let token = format!("planted-admin-token-{}", unique("t"));
    let token_file = dir.write("admin-token", token.as_bytes());
    let port = free_port();
    let admin = format!("http://127.0.0.1:{port}");
    let log = dir.0.join("host.log");
    let mut host = secure_host(&svc, &db, &dir)
        .args(["--topic", &topic, "--table", "ev", "--group", &unique("g")])
        .args(["--name", "planted", "--admin", &format!("127.0.0.1:{port}")])
        .arg("--admin-token-file")
        .arg(&token_file)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("host starts");
    wait_for("rows", Duration::from_secs(60), || async {
        let n = svc.count(&db, "SELECT count() FROM ev").await;
        (n == 50, format!("{n} rows"))
    })
    .await;
    let list = Command::new(host_bin())
        .args(["plugin", "list", "--admin", &admin, "--admin-token-file"])
        .arg(&token_file)
        .output()
        .expect("list runs");
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let api = reqwest_get(&format!("{admin}/pipelines")).await;
    assert!(terminate(&mut host));
    let mut seen = std::fs::read_to_string(&log).expect("log");
    seen.push_str(&String::from_utf8_lossy(&list.stdout));
    seen.push_str(&String::from_utf8_lossy(&list.stderr));
    seen.push_str(&api);
    // A failed start, with both secrets on its command line's files.
    let mut c = secure_host(&svc, &db, &dir);
    c.args(["--topic", &topic, "--table", "no_such_table"]);
    let (_, err, _) = failing(c);
    seen.push_str(&err);
    for secret in [PASSWORD, token.as_str()] {
        assert!(!seen.contains(secret), "the secret {secret:?} shows up");
    }
    assert!(
        seen.contains("planted"),
        "the checked text is the real output"
    );
}

/// A GET with no token, as anyone on the machine could send it.
async fn reqwest_get(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", url])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/stderr",
            "-w",
            "%{http_code}",
            "--max-time",
            "60",
        ])
        .args(args)
        .output()
        .expect("curl runs");
    let code = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The admin API refuses the hostile requests that took hosts down: no token, an
/// upload over the cap, paths to a device, a FIFO, a directory, a symlink out of the
/// plugin directories and a 1 GB file, two swaps of one pipeline at once; the rows
/// keep coming meanwhile, and 20 uploads near the cap at once leave RSS bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_lets_no_one_in_and_no_request_take_the_host_down() {
    let svc = Services::require();
    let db = svc.fresh_database("admin").await;
    exec(&svc, &db, EVENTS).await;
    let topic = svc.topic("admin", 1).await;
    let dir = TempDir::new("admin");
    // The pipeline's plugin lives in a directory of its own, the only one swaps may read.
    let plugins = dir.0.join("plugins");
    std::fs::create_dir_all(&plugins).expect("dir");
    let passthrough = plugins.join("passthrough.wasm");
    std::fs::copy(plugin("passthrough"), &passthrough).expect("copy");
    let token = "0123456789abcdef-admin-token";
    let token_file = dir.write("token", token.as_bytes());
    let port = free_port();
    let admin = format!("http://127.0.0.1:{port}");
    let mut host = svc
        .host(&db)
        .arg("--plugin")
        .arg(&passthrough)
        .args([
            "--topic",
            &topic,
            "--table",
            "ev",
            "--group",
            &unique("g"),
            "--name",
            "p",
        ])
        .args(["--batch-ms", "50", "--admin", &format!("127.0.0.1:{port}")])
        .args(["--admin-max-upload-mib", "8"])
        .arg("--admin-token-file")
        .arg(&token_file)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.0.join("host.log")).expect("log"))
        .spawn()
        .expect("host starts");
    let pid = host.id();
    wait_for("the admin API", Duration::from_secs(30), || async {
        let (code, _) = curl(&[&format!("{admin}/pipelines")]);
        (code == 200, format!("HTTP {code}"))
    })
    .await;
    // Records keep arriving during the attacks; rows must keep landing.
    let feeder_brokers = svc.brokers.clone();
    let feeder_topic = topic.clone();
    let feeder = tokio::spawn(async move {
        for round in 0..60 {
            let batch: Vec<_> = (0..100)
                .map(|i| {
                    (
                        None,
                        serde_json::json!({"id": format!("r{round}-{i}")})
                            .to_string()
                            .into_bytes(),
                    )
                })
                .collect();
            produce(&feeder_brokers, &feeder_topic, &batch).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    let swap_url = format!("{admin}/pipelines/p/plugins/0");
    let auth = format!("Authorization: Bearer {token}");
    let wasm = passthrough.display().to_string();

    let (code, _) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        &format!("@{wasm}"),
        &swap_url,
    ]);
    assert_eq!(code, 401, "a swap without the token");
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-H",
        "Authorization: Bearer wrong-token-of-some-length",
        &swap_url,
    ]);
    assert_eq!(code, 401, "a swap with a wrong token");
    let (code, body) = curl(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "--data-binary",
        &format!("@{wasm}"),
        &swap_url,
    ]);
    assert_eq!(code, 200, "a swap with the token: {body}");

    let big = dir.0.join("big.bin");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(9 << 20))
        .expect("9 MiB");
    let (code, _) = curl(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "--data-binary",
        &format!("@{}", big.display()),
        &swap_url,
    ]);
    assert_eq!(code, 413, "an upload over the cap");

    let fifo = plugins.join("fifo.wasm");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let huge = plugins.join("huge.wasm");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(1 << 30))
        .expect("1 GB sparse");
    let outside = dir.write(
        "outside.wasm",
        &std::fs::read(plugin("passthrough")).expect("read"),
    );
    let link = plugins.join("link.wasm");
    std::os::unix::fs::symlink(&outside, &link).expect("symlink");
    let paths = [
        ("/dev/zero".to_owned(), 403),
        (fifo.display().to_string(), 422),
        (plugins.display().to_string(), 422),
        (link.display().to_string(), 403),
        (huge.display().to_string(), 413),
        (outside.display().to_string(), 403),
    ];
    // Every path, over and over for four seconds, while rows must keep landing.
    let rows_before = svc.count(&db, "SELECT count() FROM ev").await;
    let attacker = {
        let (auth, swap_url) = (auth.clone(), swap_url.clone());
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(4);
            let mut tries = 0;
            while Instant::now() < until {
                for (path, want) in &paths {
                    let body = serde_json::json!({ "path": path }).to_string();
                    let started = Instant::now();
                    let (code, text) = curl(&[
                        "-X",
                        "POST",
                        "-H",
                        &auth,
                        "-H",
                        "Content-Type: application/json",
                        "--data",
                        &body,
                        &swap_url,
                    ]);
                    assert_eq!(code, *want, "{path}: {text}");
                    assert!(
                        started.elapsed() < Duration::from_secs(30),
                        "{path} held the request"
                    );
                    tries += 1;
                }
            }
            tries
        })
    };
    let tries = attacker.join().expect("the path attacks");
    let rows_during = svc.count(&db, "SELECT count() FROM ev").await;
    assert!(
        rows_during > rows_before,
        "no rows landed during {tries} path attacks ({rows_before} before, {rows_during} after)"
    );
    // Two swaps of the same pipeline at once: one is checked, the other refused.
    let a = {
        let (auth, wasm, url) = (auth.clone(), wasm.clone(), swap_url.clone());
        std::thread::spawn(move || {
            curl(&[
                "-X",
                "POST",
                "-H",
                &auth,
                "--data-binary",
                &format!("@{wasm}"),
                &url,
            ])
        })
    };
    let b = {
        let (auth, wasm, url) = (auth.clone(), wasm.clone(), swap_url.clone());
        std::thread::spawn(move || {
            curl(&[
                "-X",
                "POST",
                "-H",
                &auth,
                "--data-binary",
                &format!("@{wasm}"),
                &url,
            ])
        })
    };
    let codes = [a.join().expect("a").0, b.join().expect("b").0];
    assert!(codes.contains(&200), "{codes:?}");
    assert!(codes.iter().all(|c| [200, 409].contains(c)), "{codes:?}");

    // Twenty uploads just under the cap at once.
    let near = dir.0.join("near.bin");
    std::fs::File::create(&near)
        .and_then(|f| f.set_len((8 << 20) - 1024))
        .expect("near the cap");
    let uploads: Vec<_> = (0..20)
        .map(|_| {
            let (auth, near, url) = (auth.clone(), near.display().to_string(), swap_url.clone());
            std::thread::spawn(move || {
                curl(&[
                    "-X",
                    "POST",
                    "-H",
                    &auth,
                    "--data-binary",
                    &format!("@{near}"),
                    &url,
                ])
            })
        })
        .collect();
    let codes: Vec<u16> = uploads
        .into_iter()
        .map(|t| t.join().expect("upload").0)
        .collect();
    assert!(
        codes.iter().all(|c| [409, 422, 429].contains(c)),
        "{codes:?}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let peak_kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect("VmHWM");
    assert!(
        peak_kib < 512 * 1024,
        "peak RSS {} MiB over the 512 MiB bound",
        peak_kib / 1024
    );

    feeder.await.expect("feeder");
    wait_for(
        "rows after the attacks",
        Duration::from_secs(60),
        || async {
            let n = svc.count(&db, "SELECT count() FROM ev").await;
            (
                n == 6_000,
                format!("{n} rows (had {rows_before} before the path attacks)"),
            )
        },
    )
    .await;
    assert!(terminate(&mut host));
}

#[test]
fn an_admin_api_off_loopback_without_a_token_is_refused_at_start() {
    let svc = Services::require();
    let (code, err, _) = failing({
        let mut c = Command::new(host_bin());
        c.env("SLUICE_BROKERS", &svc.brokers)
            .env("SLUICE_CLICKHOUSE_URL", &svc.clickhouse_url)
            .env_remove("SLUICE_ADMIN_TOKEN")
            .args([
                "--topic",
                "t",
                "--table",
                "tweet_sentiment",
                "--admin",
                "0.0.0.0:0",
            ]);
        c
    });
    assert_ne!(code, 0);
    let line = one_line(&err);
    assert!(
        line.contains("without a token") && line.contains("SLUICE_ADMIN_TOKEN"),
        "{line}"
    );
}
