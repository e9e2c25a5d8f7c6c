//! The chaos harness: scenario sizes and seeds, host and generator processes with
//! their logs and RSS, private ClickHouse and Kafka servers started through the
//! project's scripts, raw producers, and the offset-by-offset accounting that every
//! scenario ends with. A scenario in `host/tests/chaos.rs` reads as set-up, fault,
//! check.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Services, free_port, plugin, unique, workspace};
pub const TWEETS: &str = r#"{"kind":"tweets"}"#;

// ----------------------------------------------------------------------------
// Sizes, randomness, logs
// ----------------------------------------------------------------------------

/// Whether to run the full sizes (`CHAOS_FULL=1`, as `make chaos` does).
pub fn full() -> bool {
    std::env::var("CHAOS_FULL").is_ok_and(|v| v == "1")
}

/// `short` normally, `full_size` under `CHAOS_FULL=1`.
pub fn size<T>(short: T, full_size: T) -> T {
    if full() { full_size } else { short }
}

/// A small xorshift generator: schedules are random, and repeatable with CHAOS_SEED.
pub struct Rng(u64);

impl Rng {
    pub fn new(scenario: &str) -> Self {
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

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi.saturating_sub(lo) + 1))
    }

    pub fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// A scenario's log directory: child processes write there instead of the test's
/// output; the tails are printed when the scenario fails, and the directory is
/// removed when it passes.
pub struct Logs {
    pub dir: PathBuf,
}

impl Drop for Logs {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Logs {
    pub fn new(scenario: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(&format!("sluice-chaos-logs-{scenario}")));
        std::fs::create_dir_all(&dir).expect("create the log directory");
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// An appending handle on `name`, for a child's stderr.
    pub fn sink(&self, name: &str) -> Stdio {
        std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.path(name))
            .map(Stdio::from)
            .expect("open a log file")
    }

    pub fn print_tails(&self) {
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
pub struct RssShared {
    pub pids: Mutex<Vec<u32>>,
    pub peak_kib: AtomicU64,
    pub stop: AtomicBool,
}

/// Samples VmRSS (/proc/PID/status) of the watched host processes every 200 ms and
/// keeps the peak of any one of them.
pub struct Rss {
    pub shared: Arc<RssShared>,
    pub thread: Option<std::thread::JoinHandle<()>>,
}

impl Rss {
    pub fn start() -> Self {
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

    pub fn peak_mib(&self) -> f64 {
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

pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A child process that is killed (SIGKILL) if still running when dropped, so that
/// a failing scenario leaves no host or generator behind.
pub struct Proc {
    pub child: Child,
    pub what: String,
    pub rss: Option<Arc<RssShared>>,
    pub reaped: bool,
}

impl Proc {
    pub fn spawn(cmd: &mut Command, what: &str, rss: Option<&Rss>) -> Self {
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
    pub fn unwatch(&self) {
        if let Some(r) = &self.rss {
            let pid = self.child.id();
            r.pids
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|p| *p != pid);
        }
    }

    /// kill -9, and reap it.
    pub fn kill9(mut self) {
        self.unwatch();
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
    }

    /// SIGTERM, then wait; a process still running after `limit` hangs: it is
    /// killed and the hang returned as the error.
    pub fn term(mut self, limit: Duration) -> Result<ExitStatus, String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait(limit)
    }

    /// Waits for the process to exit by itself within `limit`.
    pub fn wait(&mut self, limit: Duration) -> Result<ExitStatus, String> {
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
pub fn spawn_generator(
    brokers: &str,
    topic: &str,
    config: &str,
    count: u64,
    rate: u64,
    seed: u64,
    logs: &Logs,
) -> Proc {
    let mut cmd = Command::new(super::host_bin());
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
pub fn stop_generator(generator: Proc, logs: &Logs) -> Option<u64> {
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

pub fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

// ----------------------------------------------------------------------------
// Private services for the scenarios that break them
// ----------------------------------------------------------------------------

/// Runs one of the project's service scripts against a private run directory.
pub fn service_script(script: &str, action: &str, env: &[(&str, String)]) -> Result<(), String> {
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
pub struct PrivateService {
    pub script: &'static str,
    pub env: Vec<(&'static str, String)>,
    pub run: PathBuf,
}

impl PrivateService {
    pub fn start(script: &'static str, run: PathBuf, ports: Vec<(&'static str, String)>) -> Self {
        let mut env = vec![("SLUICE_RUN", run.display().to_string())];
        env.extend(ports);
        let me = Self { script, env, run };
        me.script("start");
        me
    }

    pub fn script(&self, action: &str) {
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
pub struct PrivateClickHouse {
    pub service: PrivateService,
    pub http: u16,
}

impl PrivateClickHouse {
    pub fn start() -> Self {
        // clickhouse.sh serves HTTPS on the HTTP port + 320.
        let http = loop {
            let p = free_port();
            if p < 65_000 && port_is_free(p + 320) {
                break p;
            }
        };
        let tcp = loop {
            let p = free_port();
            if p != http && p != http + 320 {
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

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    pub fn script(&self, action: &str) {
        self.service.script(action);
    }
}

/// A private Kafka broker (`scripts/kafka.sh`), for the scenario that restarts it.
pub struct PrivateKafka {
    pub service: PrivateService,
    pub port: u16,
}

impl PrivateKafka {
    pub fn start() -> Self {
        // kafka.sh puts the controller on port + 10001.
        // kafka.sh puts the controller on port + 10001 and the secure listeners on
        // port + 2, + 3 and + 4.
        let port = loop {
            let p = free_port();
            if p < 55_000 && [10_001, 2, 3, 4].iter().all(|d| port_is_free(p + d)) {
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

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn script(&self, action: &str) {
        self.service.script(action);
    }
}

// ----------------------------------------------------------------------------
// Accounting
// ----------------------------------------------------------------------------

/// ClickHouse against Kafka for one topic: every offset below the end offsets must be
/// in the pipeline's table or in `dead_letters`, exactly once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records in the topic (sum of end offsets; topics are fresh, so from 0).
    pub produced: u64,
    pub rows: u64,
    pub dead: u64,
    /// Distinct (partition, offset) over rows and dead letters.
    pub distinct: u64,
    /// Rows and dead letters beyond one per offset.
    pub duplicates: u64,
    /// Offsets below the end offsets found in neither table.
    pub lost: u64,
    /// Distinct offsets that Kafka never had (a wrong partition or offset).
    pub stray: u64,
}

impl Tally {
    pub fn exact(&self) -> bool {
        self.duplicates == 0
            && self.lost == 0
            && self.stray == 0
            && self.rows + self.dead == self.produced
    }
}

#[derive(Debug, serde::Deserialize, clickhouse::Row)]
pub struct Counts {
    pub total: u64,
    pub distinct: u64,
    pub in_range: u64,
}

/// What a scenario watches: one pipeline's table for one topic and its group's commits.
pub struct Target {
    pub brokers: String,
    pub ch: clickhouse::Client,
    pub table: &'static str,
    pub topic: String,
    pub group: String,
    pub partitions: i32,
}

impl Target {
    pub fn new(svc: &Services, db: &str, table: &'static str, topic: &str, group: &str) -> Self {
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

    pub fn with_partitions(mut self, n: i32) -> Self {
        self.partitions = n;
        self
    }

    pub async fn count(&self, sql: &str) -> Option<u64> {
        self.ch
            .query(sql)
            .bind(&self.topic)
            .fetch_one::<u64>()
            .await
            .ok()
    }

    /// Rows plus dead letters so far (progress, not exactness).
    pub async fn accounted(&self) -> u64 {
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

    pub fn offsets(&self) -> Option<Vec<(i64, i64)>> {
        tokio::task::block_in_place(|| {
            super::try_committed_and_end(&self.brokers, &self.group, &self.topic, self.partitions)
                .ok()
        })
    }

    pub async fn tally(&self, ends: &[i64]) -> Option<Tally> {
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
    pub async fn settle(&self, limit: Duration) -> (Tally, Option<Instant>) {
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

    /// Where duplicates are, for a failing scenario's output: per partition, the
    /// offsets written twice, their versions and when each copy landed.
    pub async fn describe_duplicates(&self) -> String {
        #[derive(Debug, serde::Deserialize, clickhouse::Row)]
        struct Dup {
            partition: i32,
            first: i64,
            last: i64,
            n: u64,
            landed: Vec<String>,
        }
        let sql = format!(
            "SELECT _partition AS partition, min(_offset) AS first, max(_offset) AS last, count() AS n,              arraySort(groupUniqArray(toString(ingested_at))) AS landed FROM (SELECT _partition, _offset, ingested_at FROM {}              WHERE _topic = ? AND (_partition, _offset) IN (SELECT _partition, _offset FROM {} WHERE _topic = ?              GROUP BY _partition, _offset HAVING count() > 1)) GROUP BY _partition ORDER BY _partition",
            self.table, self.table
        );
        match self
            .ch
            .query(&sql)
            .bind(&self.topic)
            .bind(&self.topic)
            .fetch_all::<Dup>()
            .await
        {
            Ok(rows) => format!("{rows:?}"),
            Err(e) => format!("cannot list duplicates: {e}"),
        }
    }

    /// The offsets missing from the table (and from `dead_letters`), as ranges per
    /// partition with the ingest times of the rows on either side: where a loss
    /// happened, to read against the host log.
    pub async fn describe_lost(&self) -> String {
        #[derive(Debug, serde::Deserialize, clickhouse::Row)]
        struct Held {
            partition: i32,
            offset: i64,
            landed: String,
        }
        let sql = format!(
            "SELECT _partition AS partition, _offset AS offset, toString(ingested_at) AS landed FROM {} WHERE _topic = ? \
             UNION ALL SELECT _partition AS partition, _offset AS offset, 'dead' AS landed FROM dead_letters WHERE _topic = ?",
            self.table
        );
        let held = match self
            .ch
            .query(&sql)
            .bind(&self.topic)
            .bind(&self.topic)
            .fetch_all::<Held>()
            .await
        {
            Ok(rows) => rows,
            Err(e) => return format!("cannot list the offsets held: {e}"),
        };
        let mut by_partition: std::collections::BTreeMap<
            i32,
            std::collections::BTreeMap<i64, String>,
        > = Default::default();
        for h in held {
            by_partition
                .entry(h.partition)
                .or_default()
                .insert(h.offset, h.landed);
        }
        let mut out = Vec::new();
        let Some(offsets) = self.offsets() else {
            return "cannot read the end offsets".to_owned();
        };
        for (partition, (_, end)) in offsets.into_iter().enumerate() {
            let offsets = by_partition.remove(&(partition as i32)).unwrap_or_default();
            let mut next = 0;
            for (&offset, _) in offsets
                .iter()
                .chain(std::iter::once((&end, &String::new())))
            {
                if offset > next {
                    let before = offsets.range(..next).next_back().map(|(_, l)| l.as_str());
                    let after = offsets.get(&offset).map(String::as_str);
                    out.push(format!(
                        "partition {partition}: {next}..{} missing (row before landed {before:?}, after {after:?})",
                        offset - 1
                    ));
                }
                next = next.max(offset + 1);
            }
        }
        if out.is_empty() {
            "none missing".to_owned()
        } else {
            out.join("; ")
        }
    }

    /// Waits until more than `before` events are accounted for; panics naming the
    /// hang after `limit`.
    pub async fn progress(&self, before: u64, limit: Duration, what: &str) {
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
pub struct Report<'a> {
    pub scenario: &'a str,
    pub tally: Tally,
    pub peak_rss_mib: f64,
    /// From the fault cleared (service back, last kill) to every row present.
    pub recovery: Option<Duration>,
    pub note: String,
}

/// Prints the row and appends it, as JSON, to the file named by CHAOS_REPORT; then
/// asserts exactness. Recording first means a failing scenario still has its row.
pub fn record_and_check(report: Report<'_>, logs: &Logs) {
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
pub fn tweets_host(svc: &Services, db: &str, topic: &str, group: &str, logs: &Logs) -> Command {
    let mut cmd = svc.host(db);
    cmd.arg("--plugin")
        .arg(plugin("sentiment"))
        .args(["--topic", topic, "--table", "tweet_sentiment"])
        .args(["--group", group, "--batch-rows", "500", "--batch-ms", "50"])
        .stdout(Stdio::null())
        .stderr(logs.sink("host.log"));
    cmd
}

pub fn settle_limit() -> Duration {
    size(Duration::from_secs(150), Duration::from_secs(900))
}

pub fn stop_cleanly(host: Proc, what: &str) {
    match host.term(Duration::from_secs(60)) {
        Ok(s) => assert!(s.success(), "{what} exited with {s} on SIGTERM"),
        Err(hang) => panic!("{what} hangs on SIGTERM: {hang}"),
    }
}

/// A record as the poison scenario writes it.
pub struct RawRecord {
    pub key: Option<Vec<u8>>,
    /// Adds a header with an empty name and value, and one with an empty name and no value.
    pub empty_headers: bool,
    pub payload: Vec<u8>,
}

/// Produces records with optional key and headers, all in flight at once.
pub async fn produce_raw(brokers: &str, topic: &str, records: &[RawRecord]) {
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
