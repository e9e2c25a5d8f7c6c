//! Shared helpers for the host's runtime and integration tests: built plugin paths,
//! service addresses from the environment, fresh databases and topics.
#![allow(dead_code)]

pub mod chaos;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// The workspace root (host/..).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host has a parent")
        .to_owned()
}

/// The cargo target directory these tests were built into.
pub fn target_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .to_owned()
}

static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Path of a plugin's release component, built (or confirmed up to date) once per test
/// process, so that plain `cargo test` works on a fresh clone and never runs a stale
/// plugin. Needs the wasm32-wasip2 target (`scripts/install-deps.sh` adds it).
pub fn plugin(name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        let output = Command::new(env!("CARGO"))
            .current_dir(workspace())
            .args([
                "build",
                "--release",
                "-j2",
                "--target",
                "wasm32-wasip2",
                "-p",
                name,
            ])
            .env("CARGO_TARGET_DIR", target_dir())
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "building plugin {name} failed; run `make plugins` (needs `rustup target add wasm32-wasip2`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        built.push(name.to_owned());
    }
    assert!(
        path.exists(),
        "{} is missing after the build; run `make plugins`",
        path.display()
    );
    path
}

/// The `host` binary under test. `SLUICE_HOST_BIN` overrides it: two worktrees sharing
/// one target dir overwrite each other's `target/release/host`, so each can point its
/// tests at a copy of its own build.
pub fn host_bin() -> PathBuf {
    std::env::var_os("SLUICE_HOST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_host")))
}

/// Where the services are; tests read the same variables the host does.
#[derive(Debug, Clone)]
pub struct Services {
    pub brokers: String,
    pub clickhouse_url: String,
}

impl Services {
    /// Reads addresses from the environment (defaulting to localhost) and fails with
    /// the script to run if a service does not answer.
    pub fn require() -> Self {
        let brokers = std::env::var("SLUICE_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
        let clickhouse_url = std::env::var("SLUICE_CLICKHOUSE_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8123".into());
        let kafka_addr = brokers.split(',').next().unwrap_or_default().to_owned();
        let reachable = |addr: &str| {
            use std::net::ToSocketAddrs;
            addr.to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .is_some_and(|a| {
                    std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok()
                })
        };
        assert!(
            reachable(&kafka_addr),
            "Kafka is not reachable at {brokers}; start it with `scripts/services.sh up` (or set SLUICE_BROKERS)"
        );
        let ch_addr = clickhouse_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        assert!(
            reachable(&ch_addr),
            "ClickHouse is not reachable at {clickhouse_url}; start it with `scripts/services.sh up` (or set SLUICE_CLICKHOUSE_URL)"
        );
        Self {
            brokers,
            clickhouse_url,
        }
    }

    /// A ClickHouse client on `database`.
    pub fn ch(&self, database: &str) -> clickhouse::Client {
        clickhouse::Client::default()
            .with_url(&self.clickhouse_url)
            .with_database(database)
            .with_validation(false)
    }

    /// Creates a uniquely named database holding every table of `sql/`, through
    /// `scripts/schema.sh` as users do (so the version-gated DDL is the same).
    pub async fn fresh_database(&self, prefix: &str) -> String {
        let db = unique(prefix);
        let out = Command::new("bash")
            .arg(workspace().join("scripts/schema.sh"))
            .arg(&db)
            .env("SLUICE_CLICKHOUSE_URL", &self.clickhouse_url)
            .output()
            .expect("run scripts/schema.sh");
        assert!(
            out.status.success(),
            "scripts/schema.sh {db} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        db
    }

    /// Counts rows with a query returning one UInt64.
    pub async fn count(&self, db: &str, sql: &str) -> u64 {
        self.ch(db)
            .query(sql)
            .fetch_one::<u64>()
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Creates a topic with `partitions` partitions.
    pub async fn topic(&self, prefix: &str, partitions: i32) -> String {
        let name = unique(prefix);
        sluice_host::generate::ensure_topic(&self.brokers, &name, partitions)
            .await
            .expect("create topic");
        name
    }

    /// A command running the host binary against these services and `db`.
    pub fn host(&self, db: &str) -> Command {
        let mut cmd = Command::new(host_bin());
        cmd.env("SLUICE_BROKERS", &self.brokers)
            .env("SLUICE_CLICKHOUSE_URL", &self.clickhouse_url)
            .env("SLUICE_CLICKHOUSE_DATABASE", db)
            .env("RUST_LOG", "warn");
        cmd
    }
}

/// A name unique to this run: prefix, process id, and a counter.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// Produces `records` (key, payload) to `topic` and waits for every acknowledgement.
pub async fn produce(brokers: &str, topic: &str, records: &[(Option<Vec<u8>>, Vec<u8>)]) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for (key, payload) in records {
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(topic).payload(payload.as_slice());
        if let Some(k) = key {
            record = record.key(k.as_slice());
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)
            .expect("produce");
    }
}

/// Runs `host generate` to completion.
pub fn generate(svc: &Services, topic: &str, config: &str, count: u64, seed: u64, rate: u64) {
    let status = Command::new(host_bin())
        .env("SLUICE_BROKERS", &svc.brokers)
        .env("RUST_LOG", "error")
        .args(["generate", "--quiet", "--plugin"])
        .arg(plugin("generator"))
        .args(["--plugin-config", config, "--topic", topic])
        .args([
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
            "--rate",
            &rate.to_string(),
        ])
        .status()
        .expect("host generate runs");
    assert!(status.success(), "host generate failed");
}

/// Polls `probe` every 200 ms until it returns true or `limit` passes.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (bool, String)>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        let (done, state) = probe().await;
        if done {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}; last state: {state}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sends SIGTERM and waits for the process; returns whether it exited 0.
pub fn terminate(child: &mut std::process::Child) -> bool {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().expect("wait for host").success()
}

/// Committed offset and end offset of every partition, for a group.
pub fn committed_and_end(
    brokers: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Vec<(i64, i64)> {
    try_committed_and_end(brokers, group, topic, partitions).expect("committed and end offsets")
}

/// [`committed_and_end`], or the error while Kafka does not answer (a test that
/// restarts the broker polls this).
pub fn try_committed_and_end(
    brokers: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> rdkafka::error::KafkaResult<Vec<(i64, i64)>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()?;
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let committed = consumer.committed_offsets(list, Duration::from_secs(10))?;
    (0..partitions)
        .map(|p| {
            let c = match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => -1,
            };
            let (_, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
            Ok((c, high))
        })
        .collect()
}

/// Every record of `topic` from the beginning: (partition, offset, payload).
pub fn read_all(brokers: &str, topic: &str, partitions: i32) -> Vec<(i32, i64, Vec<u8>)> {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut ends = Vec::new();
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .expect("watermarks");
        ends.push(high);
        list.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&list).expect("assign");
    let total: i64 = ends.iter().sum();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while (out.len() as i64) < total {
        assert!(
            std::time::Instant::now() < deadline,
            "read {} of {total} records",
            out.len()
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push((
                m.partition(),
                m.offset(),
                m.payload().unwrap_or_default().to_vec(),
            ));
        }
    }
    out
}

/// Seconds since the epoch of a `YYYY-MM-DD hh:mm:ss` UTC text.
pub fn epoch_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm), written out independently of the host's.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Copies `examples/NAME.toml` with its plugin paths made absolute and each topic
/// renamed as `topics` maps it; returns the path of the copy.
pub fn example_config(name: &str, topics: &[(&str, &str)]) -> PathBuf {
    let text = std::fs::read_to_string(workspace().join("examples").join(format!("{name}.toml")))
        .expect("example exists");
    let plugins = target_dir().join("wasm32-wasip2/release");
    let mut text = text.replace(
        "../target/wasm32-wasip2/release/",
        &format!("{}/", plugins.display()),
    );
    for (from, to) in topics {
        text = text.replace(
            &format!("topics = [\"{from}\"]"),
            &format!("topics = [\"{to}\"]"),
        );
    }
    let path = std::env::temp_dir().join(format!("{}.toml", unique(name)));
    std::fs::write(&path, text).expect("write config");
    path
}

/// A copy of a component with a custom section appended: the same behaviour under
/// a different content hash, so tests can swap between distinct versions.
#[allow(dead_code)]
pub fn variant(component: &[u8], n: u32) -> Vec<u8> {
    let name = b"sluice-test-variant";
    let payload = n.to_le_bytes();
    let mut section = Vec::new();
    leb128(&mut section, name.len() as u64);
    section.extend_from_slice(name);
    section.extend_from_slice(&payload);
    let mut out = component.to_vec();
    out.push(0); // custom section id
    leb128(&mut out, section.len() as u64);
    out.extend_from_slice(&section);
    out
}

fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A copy of a component whose `sluice:plugin` names claim another WIT version
/// (same length, so the binary stays valid): what a plugin built against a newer
/// or older package looks like.
#[allow(dead_code)]
pub fn with_wit_version(component: &[u8], version: &str) -> Vec<u8> {
    let from = b"sluice:plugin/transform@0.1.0";
    let to = format!("sluice:plugin/transform@{version}");
    assert_eq!(to.len(), from.len(), "same-length version only");
    let mut out = component.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to.as_bytes());
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

/// A port nothing listens on right now (the OS picks it), for a service a test starts.
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A fresh directory under the system temp dir, removed on drop (pass or fail).
#[allow(dead_code)]
pub struct TempDir(pub PathBuf);

#[allow(dead_code)]
impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).expect("mkdir");
        TempDir(dir)
    }

    /// Writes `contents` to `name` inside the directory; returns its path.
    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
