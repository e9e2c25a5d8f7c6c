//! The chaos suite: each scenario produces a known set of events, breaks something
//! while the host runs (the host itself, its consumer group, ClickHouse, the broker,
//! the input, the plugins), and then checks ClickHouse against Kafka offset by
//! offset: rows + dead letters = events produced, no (topic, partition, offset)
//! twice, none missing, and every offset committed.
//!
//! Short sizes by default (seconds per scenario, part of `cargo test`); with
//! `CHAOS_FULL=1` the full sizes (`make chaos` runs them and prints the table of the
//! rows each scenario appends to the file named by `CHAOS_REPORT`). Schedules are
//! random; each scenario prints its seed and `CHAOS_SEED` repeats it. Scenarios 3
//! and 4 run their own ClickHouse / Kafka (the project's scripts, other ports and run
//! directories), so the shared services other tests use are never disturbed.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Services, TempDir, free_port, plugin, unique, workspace};
use sluice_host::admin::client;

const TWEETS: &str = r#"{"kind":"tweets"}"#;

// ----------------------------------------------------------------------------
// Sizes, randomness, logs
// ----------------------------------------------------------------------------

/// Whether to run the full sizes (`CHAOS_FULL=1`, as `make chaos` does).
fn full() -> bool {
    std::env::var("CHAOS_FULL").is_ok_and(|v| v == "1")
}

/// `short` normally, `full_size` under `CHAOS_FULL=1`.
fn size<T>(short: T, full_size: T) -> T {
    if full() { full_size } else { short }
}

/// A small xorshift generator: schedules are random, and repeatable with CHAOS_SEED.
struct Rng(u64);

impl Rng {
    fn new(scenario: &str) -> Self {
        let seed = std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    % 1_000_000_007
            });
        println!("[{scenario}] schedule seed {seed} (CHAOS_SEED={seed} repeats it)");
        // Spread the seed's bits (splitmix64) so that small seeds give good sequences.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)).max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi.saturating_sub(lo) + 1))
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// A scenario's log directory: child processes write there instead of the test's
/// output; the tails are printed when the scenario fails, and the directory is
/// removed when it passes.
struct Logs {
    dir: PathBuf,
}

impl Drop for Logs {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Logs {
    fn new(scenario: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(&format!("sluice-chaos-logs-{scenario}")));
        std::fs::create_dir_all(&dir).expect("create the log directory");
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// An appending handle on `name`, for a child's stderr.
    fn sink(&self, name: &str) -> Stdio {
        std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.path(name))
            .map(Stdio::from)
            .expect("open a log file")
    }

    fn print_tails(&self) {
        eprintln!("logs kept in {}", self.dir.display());
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!(
                "---- last {} lines of {} ----\n{}",
                tail.len(),
                entry.path().display(),
                tail.join("\n")
            );
        }
    }
}

// ----------------------------------------------------------------------------
// Processes and their memory
// ----------------------------------------------------------------------------

#[derive(Default)]
struct RssShared {
    pids: Mutex<Vec<u32>>,
    peak_kib: AtomicU64,
    stop: AtomicBool,
}

/// Samples VmRSS (/proc/PID/status) of the watched host processes every 200 ms and
/// keeps the peak of any one of them.
struct Rss {
    shared: Arc<RssShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Rss {
    fn start() -> Self {
        let shared = Arc::new(RssShared::default());
        let sampler = shared.clone();
        let thread = std::thread::spawn(move || {
            while !sampler.stop.load(Ordering::Relaxed) {
                let pids = sampler
                    .pids
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                for pid in pids {
                    if let Some(kib) = vm_rss_kib(pid) {
                        sampler.peak_kib.fetch_max(kib, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Self {
            shared,
            thread: Some(thread),
        }
    }

    fn peak_mib(&self) -> f64 {
        self.shared.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

impl Drop for Rss {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A child process that is killed (SIGKILL) if still running when dropped, so that
/// a failing scenario leaves no host or generator behind.
struct Proc {
    child: Child,
    what: String,
    rss: Option<Arc<RssShared>>,
    reaped: bool,
}

impl Proc {
    fn spawn(cmd: &mut Command, what: &str, rss: Option<&Rss>) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
        let rss = rss.map(|r| r.shared.clone());
        if let Some(r) = &rss {
            r.pids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(child.id());
        }
        Self {
            child,
            what: what.to_owned(),
            rss,
            reaped: false,
        }
    }

    /// Stops sampling this pid before it can be reaped and reused.
    fn unwatch(&self) {
        if let Some(r) = &self.rss {
            let pid = self.child.id();
            r.pids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|p| *p != pid);
        }
    }

    /// kill -9, and reap it.
    fn kill9(mut self) {
        self.unwatch();
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
    }

    /// SIGTERM, then wait; a process still running after `limit` hangs: it is
    /// killed and the hang returned as the error.
    fn term(mut self, limit: Duration) -> Result<ExitStatus, String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait(limit)
    }

    /// Waits for the process to exit by itself within `limit`.
    fn wait(&mut self, limit: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.unwatch();
                    self.reaped = true;
                    return Ok(status);
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    self.unwatch();
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    self.reaped = true;
                    return Err(format!("{} still running after {limit:?}", self.what));
                }
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.reaped {
            self.unwatch();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `host generate` with tweets (or `config`) at `rate` per second; it runs
/// until stopped with [`stop_generator`] unless `count` ends it first.
fn spawn_generator(
    brokers: &str,
    topic: &str,
    config: &str,
    count: u64,
    rate: u64,
    seed: u64,
    logs: &Logs,
) -> Proc {
    let mut cmd = Command::new(common::host_bin());
    cmd.env("SLUICE_BROKERS", brokers)
        .env("RUST_LOG", "error")
        .args(["generate", "--quiet", "--plugin"])
        .arg(plugin("generator"))
        .args(["--plugin-config", config, "--topic", topic])
        .args(["--count", &count.to_string(), "--rate", &rate.to_string()])
        .args(["--seed", &seed.to_string()])
        .stdout(Stdio::null())
        .stderr(logs.sink("generator.log"));
    Proc::spawn(&mut cmd, "host generate", None)
}

/// Stops the generator (SIGTERM: it flushes what it sent) and returns how many
/// records it says Kafka acknowledged, if it exited cleanly.
fn stop_generator(generator: Proc, logs: &Logs) -> Option<u64> {
    let status = generator.term(Duration::from_secs(120));
    let text = std::fs::read_to_string(logs.path("generator.log")).unwrap_or_default();
    let acked = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("produced ")?.split(' ').next()?.parse().ok());
    match status {
        Ok(s) if s.success() => acked,
        _ => None,
    }
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

// ----------------------------------------------------------------------------
// Private services for the scenarios that break them
// ----------------------------------------------------------------------------

/// Runs one of the project's service scripts against a private run directory.
fn service_script(script: &str, action: &str, env: &[(&str, String)]) -> Result<(), String> {
    let mut cmd = Command::new("bash");
    cmd.arg(workspace().join("scripts").join(script))
        .arg(action);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run scripts/{script}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "scripts/{script} {action} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A service of our own, run by one of the project's scripts with its own run
/// directory and ports, so that breaking it disturbs no other test. Stopped and
/// removed on drop, pass or fail.
struct PrivateService {
    script: &'static str,
    env: Vec<(&'static str, String)>,
    run: PathBuf,
}

impl PrivateService {
    fn start(script: &'static str, run: PathBuf, ports: Vec<(&'static str, String)>) -> Self {
        let mut env = vec![("SLUICE_RUN", run.display().to_string())];
        env.extend(ports);
        let me = Self { script, env, run };
        me.script("start");
        me
    }

    fn script(&self, action: &str) {
        if let Err(e) = service_script(self.script, action, &self.env) {
            panic!("private {} ({}): {e}", self.script, self.run.display());
        }
    }
}

impl Drop for PrivateService {
    fn drop(&mut self) {
        if let Err(e) = service_script(self.script, "stop", &self.env) {
            eprintln!("{e}");
        }
        let _ = std::fs::remove_dir_all(&self.run);
    }
}

/// A private ClickHouse server (`scripts/clickhouse.sh`), for the scenario that kills it.
struct PrivateClickHouse {
    service: PrivateService,
    http: u16,
}

impl PrivateClickHouse {
    fn start() -> Self {
        let http = free_port();
        let tcp = loop {
            let p = free_port();
            if p != http {
                break p;
            }
        };
        let service = PrivateService::start(
            "clickhouse.sh",
            std::env::temp_dir().join(unique("sluice-chaos-ch")),
            vec![
                ("CLICKHOUSE_HTTP_PORT", http.to_string()),
                ("CLICKHOUSE_TCP_PORT", tcp.to_string()),
            ],
        );
        Self { service, http }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    fn script(&self, action: &str) {
        self.service.script(action);
    }
}

/// A private Kafka broker (`scripts/kafka.sh`), for the scenario that restarts it.
struct PrivateKafka {
    service: PrivateService,
    port: u16,
}

impl PrivateKafka {
    fn start() -> Self {
        // kafka.sh puts the controller on port + 10001.
        let port = loop {
            let p = free_port();
            if p < 55_000 && port_is_free(p + 10_001) {
                break p;
            }
        };
        let service = PrivateService::start(
            "kafka.sh",
            std::env::temp_dir().join(unique("sluice-chaos-kafka")),
            vec![("KAFKA_PORT", port.to_string())],
        );
        Self { service, port }
    }

    fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn script(&self, action: &str) {
        self.service.script(action);
    }
}

// ----------------------------------------------------------------------------
// Accounting
// ----------------------------------------------------------------------------

/// ClickHouse against Kafka for one topic: every offset below the end offsets must be
/// in the pipeline's table or in `dead_letters`, exactly once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    /// Records in the topic (sum of end offsets; topics are fresh, so from 0).
    produced: u64,
    rows: u64,
    dead: u64,
    /// Distinct (partition, offset) over rows and dead letters.
    distinct: u64,
    /// Rows and dead letters beyond one per offset.
    duplicates: u64,
    /// Offsets below the end offsets found in neither table.
    lost: u64,
    /// Distinct offsets that Kafka never had (a wrong partition or offset).
    stray: u64,
}

impl Tally {
    fn exact(&self) -> bool {
        self.duplicates == 0
            && self.lost == 0
            && self.stray == 0
            && self.rows + self.dead == self.produced
    }
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Counts {
    total: u64,
    distinct: u64,
    in_range: u64,
}

/// What a scenario watches: one pipeline's table for one topic and its group's commits.
struct Target {
    brokers: String,
    ch: clickhouse::Client,
    table: &'static str,
    topic: String,
    group: String,
    partitions: i32,
}

impl Target {
    fn new(svc: &Services, db: &str, table: &'static str, topic: &str, group: &str) -> Self {
        Self {
            brokers: svc.brokers.clone(),
            ch: svc.ch(db),
            table,
            topic: topic.to_owned(),
            group: group.to_owned(),
            partitions: 0,
        }
        .with_partitions(3)
    }

    fn with_partitions(mut self, n: i32) -> Self {
        self.partitions = n;
        self
    }

    async fn count(&self, sql: &str) -> Option<u64> {
        self.ch
            .query(sql)
            .bind(&self.topic)
            .fetch_one::<u64>()
            .await
            .ok()
    }

    /// Rows plus dead letters so far (progress, not exactness).
    async fn accounted(&self) -> u64 {
        let rows = self
            .count(&format!(
                "SELECT count() FROM {} WHERE _topic = ?",
                self.table
            ))
            .await
            .unwrap_or(0);
        let dead = self
            .count("SELECT count() FROM dead_letters WHERE _topic = ?")
            .await
            .unwrap_or(0);
        rows + dead
    }

    fn offsets(&self) -> Option<Vec<(i64, i64)>> {
        tokio::task::block_in_place(|| {
            common::try_committed_and_end(&self.brokers, &self.group, &self.topic, self.partitions)
                .ok()
        })
    }

    async fn tally(&self, ends: &[i64]) -> Option<Tally> {
        let rows = self
            .count(&format!(
                "SELECT count() FROM {} WHERE _topic = ?",
                self.table
            ))
            .await?;
        let dead = self
            .count("SELECT count() FROM dead_letters WHERE _topic = ?")
            .await?;
        let ends_sql = ends
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT count() AS total, uniqExact(_partition, _offset) AS distinct, \
             uniqExactIf(_partition, _offset, _offset >= 0 AND _offset < arrayElement([{ends_sql}], _partition + 1)) AS in_range \
             FROM (SELECT _partition, _offset FROM {table} WHERE _topic = ? \
                   UNION ALL SELECT _partition, _offset FROM dead_letters WHERE _topic = ?)",
            table = self.table,
        );
        let c: Counts = self
            .ch
            .query(&sql)
            .bind(&self.topic)
            .bind(&self.topic)
            .fetch_one()
            .await
            .map_err(|e| eprintln!("{sql}: {e}"))
            .ok()?;
        let produced = ends.iter().map(|e| *e as u64).sum::<u64>();
        Some(Tally {
            produced,
            rows,
            dead,
            distinct: c.distinct,
            duplicates: c.total - c.distinct,
            lost: produced.saturating_sub(c.in_range),
            stray: c.distinct - c.in_range,
        })
    }

    /// Waits until every produced offset is in ClickHouse and committed to Kafka, or
    /// `limit` passes. Returns the final tally, and when it settled.
    async fn settle(&self, limit: Duration) -> (Tally, Option<Instant>) {
        let deadline = Instant::now() + limit;
        let mut last = Tally::default();
        loop {
            if let Some(offsets) = self.offsets() {
                let ends: Vec<i64> = offsets.iter().map(|(_, e)| *e).collect();
                if let Some(t) = self.tally(&ends).await {
                    last = t;
                    let committed = offsets.iter().all(|(c, e)| *e == 0 || c == e);
                    if t.lost == 0 && committed {
                        let at = Instant::now();
                        // Give a straggling duplicate, if there were one, time to land.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        if let Some(t) = self.tally(&ends).await {
                            last = t;
                        }
                        return (last, Some(at));
                    }
                }
            }
            if Instant::now() >= deadline {
                return (last, None);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Waits until more than `before` events are accounted for; panics naming the
    /// hang after `limit`.
    async fn progress(&self, before: u64, limit: Duration, what: &str) {
        let deadline = Instant::now() + limit;
        loop {
            let now = self.accounted().await;
            if now > before {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: no progress in {limit:?} ({now} accounted)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One line of the chaos table.
struct Report<'a> {
    scenario: &'a str,
    tally: Tally,
    peak_rss_mib: f64,
    /// From the fault cleared (service back, last kill) to every row present.
    recovery: Option<Duration>,
    note: String,
}

/// Prints the row and appends it, as JSON, to the file named by CHAOS_REPORT; then
/// asserts exactness. Recording first means a failing scenario still has its row.
fn record_and_check(report: Report<'_>, logs: &Logs) {
    let t = report.tally;
    let row = serde_json::json!({
        "scenario": report.scenario,
        "mode": if full() { "full" } else { "short" },
        "produced": t.produced,
        "rows": t.rows,
        "dead_letters": t.dead,
        "duplicates": t.duplicates,
        "lost": t.lost,
        "stray": t.stray,
        "max_rss_mib": (report.peak_rss_mib * 10.0).round() / 10.0,
        "recovery_s": report.recovery.map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
        "settled": report.recovery.is_some(),
        "note": report.note,
    });
    println!("CHAOS {row}");
    if let Some(path) = std::env::var_os("CHAOS_REPORT").filter(|p| !p.is_empty()) {
        let mut file = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&path)
            .expect("open CHAOS_REPORT");
        writeln!(file, "{row}").expect("append to CHAOS_REPORT");
    }
    if !t.exact() || report.recovery.is_none() {
        logs.print_tails();
    }
    assert_eq!(t.duplicates, 0, "{}: duplicates: {t:?}", report.scenario);
    assert_eq!(t.lost, 0, "{}: lost events: {t:?}", report.scenario);
    assert_eq!(
        t.stray, 0,
        "{}: offsets Kafka never had: {t:?}",
        report.scenario
    );
    assert_eq!(
        t.rows + t.dead,
        t.produced,
        "{}: rows + dead letters != produced: {t:?}",
        report.scenario
    );
    assert!(
        report.recovery.is_some(),
        "{}: offsets never all committed: {t:?}",
        report.scenario
    );
}

/// The tweets pipeline most scenarios run: sentiment into `tweet_sentiment`.
fn tweets_host(svc: &Services, db: &str, topic: &str, group: &str, logs: &Logs) -> Command {
    let mut cmd = svc.host(db);
    cmd.arg("--plugin")
        .arg(plugin("sentiment"))
        .args(["--topic", topic, "--table", "tweet_sentiment"])
        .args(["--group", group, "--batch-rows", "500", "--batch-ms", "50"])
        .stdout(Stdio::null())
        .stderr(logs.sink("host.log"));
    cmd
}

fn settle_limit() -> Duration {
    size(Duration::from_secs(150), Duration::from_secs(900))
}

fn stop_cleanly(host: Proc, what: &str) {
    match host.term(Duration::from_secs(60)) {
        Ok(s) => assert!(s.success(), "{what} exited with {s} on SIGTERM"),
        Err(hang) => panic!("{what} hangs on SIGTERM: {hang}"),
    }
}

// ----------------------------------------------------------------------------
// Scenarios
// ----------------------------------------------------------------------------

/// 1. kill -9 the host at random moments while the generator writes (3 kills at
/// 500 events/s; full: 20 kills at 5,000 events/s), restarting it each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_1_host_killed_at_random_moments_under_load() {
    let scenario = "1 host kill -9";
    let svc = Services::require();
    let kills = size(3, 20);
    let rate = size(500, 5_000);
    let mut rng = Rng::new(scenario);
    let logs = Logs::new("kill");
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_kill").await;
    let topic = svc.topic("chaos_kill", 3).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group);
    let start = || {
        Proc::spawn(
            &mut tweets_host(&svc, &db, &topic, &group, &logs),
            "host",
            Some(&rss),
        )
    };

    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 11, &logs);
    let mut host = start();
    let mut last_kill = Instant::now();
    for i in 0..kills {
        // A random moment while the host is writing: after it made progress since it
        // (re)started (which takes a session timeout after a kill -9).
        let before = target.accounted().await;
        target
            .progress(before, Duration::from_secs(90), &format!("host run {i}"))
            .await;
        tokio::time::sleep(rng.millis(0, 1_500)).await;
        host.kill9();
        last_kill = Instant::now();
        host = start();
    }
    let acked = stop_generator(generator, &logs);
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    stop_cleanly(host, "the last host");
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - last_kill),
            note: format!("{kills} kills at {rate}/s; generator acked {acked:?}"),
        },
        &logs,
    );
    assert_eq!(acked, Some(tally.produced), "generator acks = end offsets");
}

/// 2. A rebalance storm: three hosts in one group, started, stopped with SIGTERM and
/// killed with SIGKILL at random while the generator writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_2_rebalance_storm_of_three_hosts() {
    let scenario = "2 rebalance storm";
    let svc = Services::require();
    let actions = size(8, 40);
    let rate = size(500, 5_000);
    let mut rng = Rng::new(scenario);
    let logs = Logs::new("storm");
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_storm").await;
    let topic = svc.topic("chaos_storm", 6).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group).with_partitions(6);
    let start = || {
        Proc::spawn(
            &mut tweets_host(&svc, &db, &topic, &group, &logs),
            "host",
            Some(&rss),
        )
    };

    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 12, &logs);
    let mut members: Vec<Option<Proc>> = (0..3).map(|_| Some(start())).collect();
    target
        .progress(0, Duration::from_secs(60), "first rows")
        .await;
    let (mut terms, mut kills, mut starts) = (0, 0, 0);
    let mut last_action = Instant::now();
    for _ in 0..actions {
        tokio::time::sleep(rng.millis(300, size(2_000, 4_000))).await;
        let k = rng.below(3) as usize;
        // Both kinds of stop happen even in the short run: the first stop is a kill -9,
        // the second a SIGTERM, the rest at random.
        let graceful = match (kills, terms) {
            (0, _) => false,
            (_, 0) => true,
            _ => rng.coin(),
        };
        match members[k].take() {
            Some(host) if graceful => {
                stop_cleanly(host, &format!("member {k}"));
                terms += 1;
            }
            Some(host) => {
                host.kill9();
                kills += 1;
            }
            None => {
                members[k] = Some(start());
                starts += 1;
            }
        }
        last_action = Instant::now();
    }
    let acked = stop_generator(generator, &logs);
    for slot in &mut members {
        if slot.is_none() {
            *slot = Some(start());
        }
    }
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    for (k, host) in members.into_iter().enumerate() {
        if let Some(host) = host {
            stop_cleanly(host, &format!("member {k}"));
        }
    }
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - last_action),
            note: format!(
                "{actions} actions: {terms} SIGTERM, {kills} kill -9, {starts} starts; 6 partitions at {rate}/s"
            ),
        },
        &logs,
    );
    assert_eq!(acked, Some(tally.produced), "generator acks = end offsets");
}

/// 3. ClickHouse killed (SIGKILL) for a while and restarted under load (3 s; full:
/// 60 s), on a private server; the host's RSS is sampled every 200 ms throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_3_clickhouse_killed_and_restarted() {
    let scenario = "3 ClickHouse down";
    let shared = Services::require();
    let outage = size(Duration::from_secs(3), Duration::from_secs(60));
    let rate = size(500, 5_000);
    let logs = Logs::new("clickhouse");
    let clickhouse = PrivateClickHouse::start();
    let svc = Services {
        brokers: shared.brokers.clone(),
        clickhouse_url: clickhouse.url(),
    };
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_ch").await;
    let topic = svc.topic("chaos_ch", 3).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group);

    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 13, &logs);
    let host = Proc::spawn(
        &mut tweets_host(&svc, &db, &topic, &group, &logs),
        "host",
        Some(&rss),
    );
    target
        .progress(rate, Duration::from_secs(60), "rows before the outage")
        .await;
    clickhouse.script("kill");
    tokio::time::sleep(outage).await;
    // Everything produced during the outage is the backlog the host must drain.
    let acked = stop_generator(generator, &logs);
    clickhouse.script("start");
    let back = Instant::now();
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    stop_cleanly(host, "the host");
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - back),
            note: format!("SIGKILL, down {outage:?} at {rate}/s"),
        },
        &logs,
    );
    assert_eq!(acked, Some(tally.produced), "generator acks = end offsets");
}

/// 4. The Kafka broker restarted under load, on a private broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_4_kafka_broker_restarted_under_load() {
    let scenario = "4 broker restart";
    let shared = Services::require();
    let rate = size(500, 5_000);
    let logs = Logs::new("broker");
    let kafka = PrivateKafka::start();
    let svc = Services {
        brokers: kafka.brokers(),
        clickhouse_url: shared.clickhouse_url.clone(),
    };
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_broker").await;
    let topic = svc.topic("chaos_broker", 3).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "tweet_sentiment", &topic, &group);

    let generator = spawn_generator(&svc.brokers, &topic, TWEETS, u64::MAX / 2, rate, 14, &logs);
    let host = Proc::spawn(
        &mut tweets_host(&svc, &db, &topic, &group, &logs),
        "host",
        Some(&rss),
    );
    target
        .progress(rate, Duration::from_secs(60), "rows before the restart")
        .await;
    let down = Instant::now();
    kafka.script("restart");
    let back = Instant::now();
    // Keep producing across the restart, then a little after it.
    let after = size(Duration::from_secs(2), Duration::from_secs(10));
    tokio::time::sleep(after).await;
    let acked = stop_generator(generator, &logs);
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    stop_cleanly(host, "the host");
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - back),
            note: format!(
                "restart took {:.1} s at {rate}/s, producing until {after:?} after; generator acked {acked:?}",
                (back - down).as_secs_f64()
            ),
        },
        &logs,
    );
    if let Some(acked) = acked {
        assert_eq!(acked, tally.produced, "generator acks = end offsets");
    }
}

/// Good clickstream events for the validate pipeline that the test writes itself,
/// with an empty key and empty headers: they must become rows all the same.
fn bare_good_event(i: usize) -> Vec<u8> {
    format!(
        r#"{{"event_id":"bare-{i}","event_type":"page_view","user_id":"u{i}","product_id":"p1","price":9.5,"quantity":1,"timestamp":"2026-01-01 10:00:00","url":"/p/1","referrer":"","session_id":"s{i}"}}"#
    )
    .into_bytes()
}

/// The `i`th poison event and its kind; every payload is distinct (but empty ones).
fn poison(i: usize, oversize_every: usize) -> (&'static str, Vec<u8>) {
    let mb = 1 << 20;
    if i % oversize_every == oversize_every - 1 {
        return match (i / oversize_every) % 3 {
            // Over the 1 MiB batch limit and over Kafka's default 1 MB message size.
            0 => ("oversize", format!("{i} {}", "x".repeat(mb + mb / 2)).into_bytes()),
            1 => (
                "oversize",
                format!(
                    r#"{{"event_id":"{}-{i}","event_type":"page_view","user_id":"u","price":1,"timestamp":"2026-01-01 10:00:00"}}"#,
                    "e".repeat(mb + 1000)
                )
                .into_bytes(),
            ),
            _ => (
                "oversize",
                format!(
                    r#"{{"event_id":"big-{i}","event_type":"page_view","user_id":"u","price":"free","timestamp":"2026-01-01 10:00:00","url":"/{}"}}"#,
                    "u".repeat(mb + mb / 4)
                )
                .into_bytes(),
            ),
        };
    }
    let ok_rest =
        r#""event_type":"page_view","user_id":"u","price":1,"timestamp":"2026-01-01 10:00:00""#;
    match i % 12 {
        0 => ("bad-json", format!("not json {i}").into_bytes()),
        1 => (
            "bad-json",
            format!(r#"{{"event_id":"p-{i}","price": "#).into_bytes(),
        ),
        2 => ("not-object", format!("[{i}, 2, 3]").into_bytes()),
        3 => (
            "wrong-type",
            format!(r#"{{"event_id":"p-{i}","event_type":"page_view","user_id":"u","price":"12.50","timestamp":"2026-01-01 10:00:00"}}"#).into_bytes(),
        ),
        4 => (
            "wrong-type",
            format!(r#"{{"event_id":{i},{ok_rest}}}"#).into_bytes(),
        ),
        5 => (
            "wrong-type",
            format!(r#"{{"event_id":"p-{i}","event_type":"page_view","user_id":["u"],"price":1,"timestamp":true}}"#).into_bytes(),
        ),
        6 => (
            "missing-field",
            format!(r#"{{"id":"p-{i}","price":1}}"#).into_bytes(),
        ),
        7 => (
            "enum-range",
            format!(r#"{{"event_id":"p-{i}","event_type":"refund","user_id":"u","price":-{i},"timestamp":"2026-01-01 10:00:00"}}"#).into_bytes(),
        ),
        8 => {
            let mut b = vec![0xff, 0xfe, 0xfd];
            b.extend_from_slice(i.to_string().as_bytes());
            ("non-utf8", b)
        }
        9 => {
            let mut b = br#"{"event_id":"p-"#.to_vec();
            b.extend_from_slice(&[0xc3, 0x28, 0xa0, 0xa1]);
            b.extend_from_slice(format!(r#"{i}",{ok_rest}}}"#).as_bytes());
            ("non-utf8", b)
        }
        10 => ("empty", Vec::new()),
        _ => (
            "bad-timestamp",
            format!(r#"{{"event_id":"p-{i}","event_type":"page_view","user_id":"u","price":1,"timestamp":"yesterday {i}"}}"#).into_bytes(),
        ),
    }
}

/// A record as the poison scenario writes it.
struct RawRecord {
    key: Option<Vec<u8>>,
    /// Adds a header with an empty name and value, and one with an empty name and no value.
    empty_headers: bool,
    payload: Vec<u8>,
}

/// Produces records with optional key and headers, all in flight at once.
async fn produce_raw(brokers: &str, topic: &str, records: &[RawRecord]) {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("message.max.bytes", "8388608")
        .set("linger.ms", "20")
        .create()
        .expect("producer");
    let mut pending = Vec::new();
    for RawRecord {
        key,
        empty_headers,
        payload,
    } in records
    {
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(topic).payload(payload.as_slice());
        if let Some(k) = key {
            record = record.key(k.as_slice());
        }
        if *empty_headers {
            record = record.headers(
                OwnedHeaders::new()
                    .insert(Header {
                        key: "",
                        value: Some(&b""[..]),
                    })
                    .insert(Header {
                        key: "",
                        value: None::<&[u8]>,
                    }),
            );
        }
        match producer.send_result(record) {
            Ok(delivery) => pending.push(delivery),
            Err((e, _)) => panic!("producing to {topic}: {e}"),
        }
    }
    for delivery in pending {
        delivery
            .await
            .expect("delivery report")
            .map_err(|(e, _)| e)
            .expect("produced");
    }
}

/// Creates a topic that takes messages up to 8 MiB.
async fn big_message_topic(brokers: &str, prefix: &str, partitions: i32) -> String {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let name = unique(prefix);
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let topic = NewTopic::new(&name, partitions, TopicReplication::Fixed(1))
        .set("max.message.bytes", "8388608");
    let results = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create topic");
    for r in results {
        r.expect("topic created");
    }
    name
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
struct Located {
    partition: i32,
    offset: i64,
}

/// 5. Poison events mixed in with good ones (500 among 1,500; full: 10,000 among
/// 40,000), through the validate + enrich pipeline of examples/clickstream.toml:
/// every poison event is a dead letter with a reason, every good one a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_5_poison_events_become_dead_letters_and_good_ones_rows() {
    let scenario = "5 poison events";
    let svc = Services::require();
    let poison_n: usize = size(500, 10_000);
    let good_n: u64 = size(1_500, 40_000);
    let oversize_every = size(150, 500);
    let rounds: u64 = 4;
    let logs = Logs::new("poison");
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_poison").await;
    let topic = big_message_topic(&svc.brokers, "chaos_poison", 3).await;
    let group = unique("g");
    let target = Target::new(&svc, &db, "clickstream_events", &topic, &group);

    // The example's rules, with a 1 MiB batch limit that oversize events exceed.
    let config = common::example_config("clickstream", &[("clickstream", &topic)]);
    let text = std::fs::read_to_string(&config).expect("read config");
    let text = text.replace(
        "batch = { max_rows = 1000, max_wait_ms = 1000 }",
        &format!(
            "group = \"{group}\"\nbatch = {{ max_rows = 1000, max_bytes = 1048576, max_wait_ms = 100 }}"
        ),
    );
    assert!(
        text.contains("max_bytes = 1048576"),
        "example batch line changed"
    );
    std::fs::write(&config, text).expect("write config");

    // Good events from the generator and poison from us, interleaved in rounds.
    let mut poison_payloads: HashSet<Vec<u8>> = HashSet::new();
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let per_round = poison_n.div_ceil(rounds as usize);
    let mut i = 0;
    for round in 0..rounds {
        common::generate(
            &svc,
            &topic,
            r#"{"kind":"clickstream"}"#,
            good_n / rounds,
            100 + round,
            0,
        );
        let mut records = Vec::new();
        while i < poison_n && i < per_round * (round as usize + 1) {
            let (kind, payload) = poison(i, oversize_every);
            *kinds.entry(kind).or_default() += 1;
            // Empty events have an empty key and empty headers as well.
            let empty = payload.is_empty();
            let key = if empty {
                Some(Vec::new())
            } else {
                Some(format!("k{}", i % 7).into_bytes())
            };
            poison_payloads.insert(payload.clone());
            records.push(RawRecord {
                key,
                empty_headers: empty,
                payload,
            });
            i += 1;
        }
        // A few good events with an empty key and empty headers among them.
        for j in 0..5 {
            records.push(RawRecord {
                key: Some(Vec::new()),
                empty_headers: true,
                payload: bare_good_event(round as usize * 5 + j),
            });
        }
        produce_raw(&svc.brokers, &topic, &records).await;
    }
    let bare = rounds * 5;
    let good_total = good_n / rounds * rounds + bare;

    let mut host = svc.host(&db);
    host.arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(logs.sink("host.log"));
    let started = Instant::now();
    let host = Proc::spawn(&mut host, "host", Some(&rss));
    let (tally, settled) = target.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    stop_cleanly(host, "the host");

    // Offset by offset: each poison event is a dead letter, each good one a row.
    let all = tokio::task::block_in_place(|| common::read_all(&svc.brokers, &topic, 3));
    let mut want_dead = HashSet::new();
    let mut want_rows = HashSet::new();
    for (p, o, payload) in &all {
        if poison_payloads.contains(payload) {
            want_dead.insert((*p, *o));
        } else {
            want_rows.insert((*p, *o));
        }
    }
    let located = |sql: &'static str| {
        let ch = svc.ch(&db);
        let topic = topic.clone();
        async move {
            ch.query(sql)
                .bind(topic)
                .fetch_all::<Located>()
                .await
                .expect(sql)
                .into_iter()
                .map(|l| (l.partition, l.offset))
                .collect::<HashSet<_>>()
        }
    };
    let dead_at = located(
        "SELECT _partition AS partition, _offset AS offset FROM dead_letters WHERE _topic = ?",
    )
    .await;
    let rows_at = located(
        "SELECT _partition AS partition, _offset AS offset FROM clickstream_events WHERE _topic = ?",
    )
    .await;
    let codes: Vec<(String, u64)> = svc
        .ch(&db)
        .query(
            "SELECT code, count() FROM dead_letters WHERE _topic = ? GROUP BY code ORDER BY code",
        )
        .bind(&topic)
        .fetch_all()
        .await
        .expect("codes");
    let unexplained = target
        .count("SELECT count() FROM dead_letters WHERE _topic = ? AND (code = '' OR message = '')")
        .await
        .expect("count");
    let longest = target
        .count("SELECT toUInt64(max(length(payload))) FROM dead_letters WHERE _topic = ?")
        .await
        .expect("count");
    println!("[{scenario}] poison by kind {kinds:?}; dead letters by code {codes:?}");
    record_and_check(
        Report {
            scenario,
            tally,
            peak_rss_mib: peak,
            recovery: settled.map(|at| at - started),
            note: format!(
                "{poison_n} poison + {good_total} good; codes {}",
                codes
                    .iter()
                    .map(|(c, n)| format!("{c}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        },
        &logs,
    );
    assert_eq!(all.len() as u64, tally.produced);
    assert_eq!(want_dead.len(), poison_n, "poison events in the topic");
    assert_eq!(
        want_rows.len() as u64,
        good_total,
        "good events in the topic"
    );
    let missing_dead: Vec<_> = want_dead.difference(&dead_at).take(5).collect();
    let wrong_dead: Vec<_> = dead_at.difference(&want_dead).take(5).collect();
    assert!(
        missing_dead.is_empty() && wrong_dead.is_empty(),
        "poison not dead-lettered (first 5): {missing_dead:?}; good events dead-lettered (first 5): {wrong_dead:?}"
    );
    assert_eq!(rows_at, want_rows, "every good event is a row");
    assert_eq!(unexplained, 0, "every dead letter has a code and a message");
    assert!(
        longest > 1 << 20,
        "oversize payloads are kept whole in dead letters ({longest} bytes)"
    );
}

/// 6. Hostile plugins (panic, endless loop, memory bomb, stack overflow, oversized
/// output) in one host beside a healthy pipeline: the healthy one's totals are
/// exact while the hostile one faults, is quarantined, and is swapped (admin API)
/// to a plugin that processes what it held; every hostile event is accounted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_6_hostile_plugins_beside_a_healthy_pipeline() {
    let scenario = "6 hostile plugins";
    let svc = Services::require();
    let hostile_n: usize = size(400, 5_000);
    let healthy_n: u64 = size(3_000, 100_000);
    let rate = size(1_000, 5_000);
    let logs = Logs::new("hostile");
    let rss = Rss::start();
    let db = svc.fresh_database("chaos_hostile").await;
    let bad_topic = svc.topic("chaos_hostile", 2).await;
    let good_topic = svc.topic("chaos_healthy", 3).await;
    let (bad_group, good_group) = (unique("g"), unique("g"));
    let bad = Target::new(&svc, &db, "tweet_sentiment", &bad_topic, &bad_group).with_partitions(2);
    let good = Target::new(&svc, &db, "tweet_sentiment", &good_topic, &good_group);

    const MISCHIEF: [&str; 6] = ["panic", "loop", "oom", "stack", "huge", "big"];
    let mut records = Vec::new();
    for i in 0..hostile_n {
        let payload = if i % 9 == 4 {
            MISCHIEF[(i / 9) % MISCHIEF.len()].as_bytes().to_vec()
        } else {
            format!(r#"{{"id":"h-{i}","user":"u","text":"fine {i}"}}"#).into_bytes()
        };
        records.push((Some(format!("k{i}").into_bytes()), payload));
    }
    common::produce(&svc.brokers, &bad_topic, &records).await;

    let dir = TempDir::new("sluice-chaos-hostile");
    let config = dir.write(
        "sluice.toml",
        format!(
            r#"
[[pipeline]]
name = "hostile"
topics = ["{bad_topic}"]
group = "{bad_group}"
table = "tweet_sentiment"
batch = {{ max_rows = 10, max_wait_ms = 50 }}
limits = {{ deadline_ms = 300, memory_bytes = 134217728, max_output_bytes = 1048576 }}
lifecycle = {{ quarantine_after = 5 }}
[[pipeline.plugins]]
path = "{hostile}"

[[pipeline]]
name = "healthy"
topics = ["{good_topic}"]
group = "{good_group}"
table = "tweet_sentiment"
batch = {{ max_rows = 500, max_wait_ms = 50 }}
[[pipeline.plugins]]
path = "{sentiment}"
"#,
            hostile = plugin("hostile").display(),
            sentiment = plugin("sentiment").display(),
        )
        .as_bytes(),
    );
    let port = free_port();
    let admin = format!("http://127.0.0.1:{port}");
    let mut cmd = svc.host(&db);
    cmd.arg("--config")
        .arg(&config)
        .args(["--admin", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(logs.sink("host.log"));
    let host = Proc::spawn(&mut cmd, "host", Some(&rss));
    let generator = spawn_generator(
        &svc.brokers,
        &good_topic,
        TWEETS,
        healthy_n,
        rate,
        16,
        &logs,
    );

    // Until every hostile event is accounted for: swap the plugin whenever the
    // pipeline is quarantined (passthrough: what it held is processed, not lost),
    // and roll back to the hostile plugin a little later, for another round.
    let fixed = std::fs::read(plugin("passthrough")).expect("read passthrough");
    let rollback_after = size(Duration::from_millis(500), Duration::from_secs(2));
    let (mut swaps, mut rollbacks) = (0, 0);
    let mut swapped_at: Option<Instant> = None;
    let mut on_passthrough_since: Option<Instant> = None;
    let deadline = Instant::now() + settle_limit();
    while bad.accounted().await < hostile_n as u64 && Instant::now() < deadline {
        let state = client::list(&admin)
            .await
            .ok()
            .and_then(|l| l.into_iter().find(|p| p.name == "hostile"));
        if let Some(s) = state.filter(|s| s.state == "quarantined") {
            println!("[{scenario}] quarantined: {:?}; swapping", s.quarantine);
            client::swap(&admin, "hostile", 0, "passthrough.wasm", fixed.clone())
                .await
                .expect("a swap lifts the quarantine");
            swaps += 1;
            swapped_at = Some(Instant::now());
            on_passthrough_since = swapped_at;
        } else if on_passthrough_since.is_some_and(|t| t.elapsed() >= rollback_after) {
            client::rollback(&admin, "hostile", 0)
                .await
                .expect("roll back to the hostile plugin");
            rollbacks += 1;
            on_passthrough_since = None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let gen_status = generator_done(generator);
    let generated = Instant::now();
    let (bad_tally, bad_settled) = bad.settle(Duration::from_secs(30)).await;
    let (good_tally, good_settled) = good.settle(settle_limit()).await;
    let peak = rss.peak_mib();
    let healthy_state = client::list(&admin)
        .await
        .ok()
        .and_then(|l| l.into_iter().find(|p| p.name == "healthy"))
        .map(|p| p.state);
    stop_cleanly(host, "the host");
    let codes: Vec<(String, u64)> = svc
        .ch(&db)
        .query(
            "SELECT code, count() FROM dead_letters WHERE _topic = ? GROUP BY code ORDER BY code",
        )
        .bind(&bad_topic)
        .fetch_all()
        .await
        .expect("codes");
    println!("[{scenario}] hostile dead letters by code {codes:?}");
    let started = swapped_at.unwrap_or(deadline);
    let traps: u64 = codes
        .iter()
        .filter(|(c, _)| c.starts_with("trap-") || c == "output-too-large")
        .map(|(_, n)| n)
        .sum();
    record_and_check(
        Report {
            scenario: "6 hostile plugins: healthy pipeline",
            tally: good_tally,
            peak_rss_mib: peak,
            recovery: good_settled.map(|at| at.saturating_duration_since(generated)),
            note: format!("beside the hostile pipeline, {healthy_n} tweets at {rate}/s"),
        },
        &logs,
    );
    record_and_check(
        Report {
            scenario: "6 hostile plugins: hostile pipeline",
            tally: bad_tally,
            peak_rss_mib: peak,
            recovery: bad_settled.map(|at| at.saturating_duration_since(started)),
            note: format!(
                "quarantines lifted by swap: {swaps}; rollbacks to the hostile plugin: {rollbacks}; codes {}",
                codes
                    .iter()
                    .map(|(c, n)| format!("{c}:{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        },
        &logs,
    );
    assert!(gen_status, "the healthy generator finished");
    assert_eq!(
        good_tally.dead, 0,
        "the healthy pipeline has no dead letters"
    );
    assert_eq!(good_tally.produced, healthy_n);
    assert_eq!(healthy_state.as_deref(), Some("running"));
    assert!(traps > 0, "the hostile plugin faulted: {codes:?}");
    assert!(
        swaps > 0,
        "the hostile pipeline was quarantined and swapped"
    );
}

/// Waits for a generator with a fixed count to finish; true if it succeeded.
fn generator_done(mut generator: Proc) -> bool {
    generator
        .wait(Duration::from_secs(300))
        .is_ok_and(|s| s.success())
}
