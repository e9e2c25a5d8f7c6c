//! The sink: turns a batch's chain output into one RowBinary insert per table, skips
//! rows a table already holds (by source offset), and sends unwritable rows to the
//! dead-letter table. Data flows in from `pipeline::chain` and out to ClickHouse.

#[cfg(test)]
pub(crate) mod arb;
pub mod clickhouse;
pub mod error;
pub mod fence;
pub mod rowbinary;
pub mod schema;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde_json::Value;

pub use self::error::WriteError;

use self::clickhouse::{
    ClickHouse, OFFSET_COLUMN, PARTITION_COLUMN, PartitionKey, TOPIC_COLUMN, TOPIC_ID_COLUMN,
    Table, VERSION_COLUMN, dedup_token,
};
use self::fence::Fenced;
use self::rowbinary::{EncodeError, Val, encode};
use self::schema::ColumnType;
use crate::record::{ChainOutput, DeadLetter};
use sluice_plugin::calendar;

/// Where a batch's rows came from: filled into the host columns of every row.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Pipeline name (dead letters record it).
    pub pipeline: &'a str,
    /// Kafka topic.
    pub topic: &'a str,
    /// Kafka partition.
    pub partition: i32,
    /// The topic's ID (KIP-516); empty if the cluster has none.
    pub topic_id: &'a str,
    /// Plugin chain version that produced the rows.
    pub version: &'a str,
    /// The owner's ClickHouse session the inserts go through (see [`fence`]).
    pub session: Option<&'a str>,
}

/// Highest source offset each table already holds for one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    by_table: HashMap<String, i64>,
}

impl Marks {
    /// Whether `table` already holds the rows of `offset`.
    pub fn covers(&self, table: &str, offset: i64) -> bool {
        self.by_table.get(table).is_some_and(|m| offset <= *m)
    }

    /// Records that every table now holds everything up to `offset`.
    pub fn advance_all(&mut self, tables: &[String], offset: i64) {
        for table in tables {
            let mark = self.by_table.entry(table.clone()).or_insert(offset);
            *mark = (*mark).max(offset);
        }
    }

    /// Drops every mark at or past `end`, the partition's end offset, and returns
    /// them: no table can hold an offset the partition has not reached yet, unless the
    /// rows belong to another incarnation of the topic or the log was truncated.
    pub fn discard_from(&mut self, end: i64) -> Vec<(String, i64)> {
        let gone: Vec<(String, i64)> = self
            .by_table
            .iter()
            .filter(|(_, m)| **m >= end)
            .map(|(t, m)| (t.clone(), *m))
            .collect();
        for (table, _) in &gone {
            self.by_table.remove(table);
        }
        gone
    }

    /// The distinct marks, ascending: replays cut batches there so that no batch
    /// straddles what a table already has.
    pub fn cut_points(&self) -> Vec<i64> {
        let mut points: Vec<i64> = self.by_table.values().copied().collect();
        points.sort_unstable();
        points.dedup();
        points
    }
}

/// What one write put where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Rows inserted into data tables.
    pub rows: u64,
    /// Rows inserted into the dead-letter table.
    pub dead: u64,
    /// Rows skipped because their table already held them (replays).
    pub skipped: u64,
    /// Rows inserted per data table (one entry per table written).
    pub tables: Vec<(String, u64)>,
    /// Which of the chain's dead letters were inserted, by index (replays skip some).
    pub chain_dead: Vec<u32>,
    /// Dead letters the sink made itself (rows that did not fit) and inserted.
    pub host_dead: Vec<DeadLetter>,
}

/// A pipeline's output tables and the dead-letter table.
pub struct Sink {
    ch: ClickHouse,
    /// The tables as last read; replaced when a table's columns change under us.
    tables: RwLock<Tables>,
    /// Every table written, dead letters last; fixed at start-up.
    names: Vec<String>,
}

/// The tables one write encodes against.
#[derive(Clone)]
struct Tables {
    main: Arc<Table>,
    outputs: HashMap<String, Arc<Table>>,
    dead: Arc<Table>,
}

impl Tables {
    /// The data tables, each once (outputs may name the main table).
    fn data(&self) -> impl Iterator<Item = &Arc<Table>> {
        let mut seen = vec![&self.main.name];
        std::iter::once(&self.main).chain(self.outputs.values().filter(move |t| {
            if seen.contains(&&t.name) {
                false
            } else {
                seen.push(&t.name);
                true
            }
        }))
    }
}

impl Sink {
    /// Loads and checks every table the pipeline writes.
    pub async fn new(
        ch: ClickHouse,
        main: &str,
        outputs: &[(String, String)],
        dead: &str,
    ) -> Result<Self> {
        let main = ch.table(main).await?;
        ClickHouse::require_source_columns(&main)?;
        let mut out = HashMap::new();
        for (target, table) in outputs {
            let table = if *table == main.name {
                main.clone()
            } else {
                ch.table(table).await?
            };
            ClickHouse::require_source_columns(&table)?;
            out.insert(target.clone(), table);
        }
        let dead = ch.table(dead).await?;
        ClickHouse::require_source_columns(&dead)?;
        let tables = Tables {
            main,
            outputs: out,
            dead,
        };
        let mut names: Vec<String> = tables.data().map(|t| t.name.clone()).collect();
        names.push(tables.dead.name.clone());
        Ok(Self {
            ch,
            tables: RwLock::new(tables),
            names,
        })
    }

    fn tables(&self) -> Tables {
        self.tables
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Names of every table written, dead letters included.
    pub fn table_names(&self) -> &[String] {
        &self.names
    }

    /// Re-reads the columns of `name` after ClickHouse refused rows encoded for the
    /// old ones, so the next write encodes for what the table holds now. A table that
    /// lost a host column the exactly-once marks need is an error.
    pub async fn refresh(&self, name: &str) -> Result<()> {
        let fresh = self.ch.table(name).await?;
        ClickHouse::require_source_columns(&fresh)?;
        let mut tables = self.tables.write().unwrap_or_else(|e| e.into_inner());
        if tables.main.name == name {
            tables.main = fresh.clone();
        }
        for table in tables.outputs.values_mut() {
            if table.name == name {
                *table = fresh.clone();
            }
        }
        if tables.dead.name == name {
            tables.dead = fresh;
        }
        Ok(())
    }

    /// Tables that lack the topic-ID column, for a warning at start.
    pub fn tables_without_topic_id(&self) -> Vec<String> {
        let tables = self.tables();
        tables
            .data()
            .chain(std::iter::once(&tables.dead))
            .filter(|t| !t.has(TOPIC_ID_COLUMN))
            .map(|t| t.name.clone())
            .collect()
    }

    /// Opens the session this owner writes a partition through.
    pub async fn open_session(&self, session: &str) -> Result<()> {
        self.ch.open_session(session).await
    }

    /// Fences a session (a previous owner's, or our own after a failed insert); see
    /// [`fence`].
    pub async fn fence_session(&self, session: &str) -> Result<Fenced> {
        self.ch.fence_session(session).await
    }

    /// Reads what each table already holds of `topic`/`partition` (of the incarnation
    /// `topic_id`, where tables record it).
    pub async fn load_marks(
        &self,
        pipeline: &str,
        topic: &str,
        topic_id: &str,
        partition: i32,
    ) -> Result<Marks> {
        let tables = self.tables();
        let mut marks = Marks::default();
        for table in tables.data() {
            if let Some(m) = self
                .ch
                .high_water_marks(table, topic, topic_id, None)
                .await?
                .get(&partition)
            {
                marks.by_table.insert(table.name.clone(), *m);
            }
        }
        let dead = self
            .ch
            .high_water_marks(
                &tables.dead,
                topic,
                topic_id,
                tables.dead.has("pipeline").then_some(pipeline),
            )
            .await?;
        if let Some(m) = dead.get(&partition) {
            marks.by_table.insert(tables.dead.name.clone(), *m);
        }
        Ok(marks)
    }

    /// Writes one batch's output: data tables first, then dead letters, each one
    /// atomic insert, skipping rows a table already holds. Fails if any insert
    /// fails; the caller retries with fresh marks.
    pub async fn write(
        &self,
        source: Source<'_>,
        out: &ChainOutput,
        marks: &Marks,
    ) -> Result<Written, WriteError> {
        let tables = self.tables();
        let mut written = Written::default();
        let mut inserts: Vec<Insert> = Vec::new();
        let mut host_dead: Vec<DeadLetter> = Vec::new();
        let host: Arc<str> = "host".into();
        for row in &out.rows {
            let bytes = out.row_bytes(row);
            let table = match &row.target {
                None => &tables.main,
                Some(target) => match tables.outputs.get(target) {
                    Some(t) => t,
                    None => {
                        host_dead.push(DeadLetter {
                            offset: row.offset,
                            plugin: host.clone(),
                            code: "unknown-target".into(),
                            message: format!("no output named `{target}` in the pipeline config"),
                            payload: bytes.to_vec(),
                        });
                        continue;
                    }
                },
            };
            if marks.covers(&table.name, row.offset) {
                written.skipped += 1;
                continue;
            }
            // Encode straight into the table's latest insert; a row that falls in
            // another table partition moves into a new insert (rare: time-ordered
            // data changes partition once a month), so each insert stays atomic and
            // a crash between two leaves a prefix that the marks describe.
            let slot = match inserts.iter().rposition(|i| i.table.name == table.name) {
                Some(i) => i,
                None => {
                    inserts.push(Insert::new(
                        table,
                        Vec::with_capacity(out.data.len() + out.rows.len() * 32),
                    ));
                    inserts.len() - 1
                }
            };
            let start = inserts[slot].buf.len();
            match encode_json_row(&mut inserts[slot].buf, table, bytes, source, row.offset) {
                Ok(part) => {
                    let slot = if inserts[slot].count > 0 && inserts[slot].part != part {
                        let moved = inserts[slot].buf.split_off(start);
                        inserts.push(Insert::new(table, moved));
                        inserts.len() - 1
                    } else {
                        slot
                    };
                    let insert = &mut inserts[slot];
                    insert.part = part;
                    insert.count += 1;
                    insert.range.add(row.offset);
                }
                Err((code, message)) => {
                    inserts[slot].buf.truncate(start);
                    host_dead.push(DeadLetter {
                        offset: row.offset,
                        plugin: host.clone(),
                        code: code.into(),
                        message: format!("table {}: {message}", table.name),
                        payload: bytes.to_vec(),
                    });
                }
            }
        }
        let mut dead_buf = Vec::new();
        let mut dead_range = OffsetRange::default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let from_chain = out.dead.len();
        let mut host_written = Vec::new();
        for (i, dead) in out.dead.iter().chain(&host_dead).enumerate() {
            if marks.covers(&tables.dead.name, dead.offset) {
                written.skipped += 1;
                continue;
            }
            if i < from_chain {
                written.chain_dead.push(i as u32);
            } else {
                host_written.push(i - from_chain);
            }
            encode_dead_letter(&mut dead_buf, &tables.dead, dead, source, now).map_err(|error| {
                WriteError::Fatal {
                    reason: format!(
                        "dead-letter table {}: the host cannot encode dead letters for its columns; give it the columns of sql/002_dead_letters.sql",
                        tables.dead.name
                    ),
                    error,
                }
            })?;
            dead_range.add(dead.offset);
            written.dead += 1;
        }
        for insert in inserts.into_iter().filter(|i| i.count > 0) {
            self.ch
                .insert(
                    &insert.table,
                    insert.buf,
                    &insert.range.token(source),
                    source.session,
                )
                .await?;
            written.rows += insert.count;
            match written
                .tables
                .iter_mut()
                .find(|(t, _)| *t == insert.table.name)
            {
                Some((_, n)) => *n += insert.count,
                None => written
                    .tables
                    .push((insert.table.name.clone(), insert.count)),
            }
        }
        if written.dead > 0 {
            self.ch
                .insert(
                    &tables.dead,
                    dead_buf,
                    &dead_range.token(source),
                    source.session,
                )
                .await?;
        }
        if !host_written.is_empty() {
            let mut host_dead: Vec<Option<DeadLetter>> = host_dead.into_iter().map(Some).collect();
            written.host_dead = host_written
                .into_iter()
                .filter_map(|i| host_dead.get_mut(i).and_then(Option::take))
                .collect();
        }
        Ok(written)
    }
}

/// Rows bound for one table partition of one table, sent as one insert.
struct Insert {
    table: Arc<Table>,
    buf: Vec<u8>,
    count: u64,
    range: OffsetRange,
    /// The table partition the rows fall in (`None`: unpartitioned or unknown).
    part: Option<i64>,
}

impl Insert {
    fn new(table: &Arc<Table>, buf: Vec<u8>) -> Self {
        Self {
            table: table.clone(),
            buf,
            count: 0,
            range: OffsetRange::default(),
            part: None,
        }
    }
}

/// The source offsets one insert covers, for its deduplication token.
#[derive(Debug, Clone, Copy, Default)]
struct OffsetRange(Option<(i64, i64)>);

impl OffsetRange {
    fn add(&mut self, offset: i64) {
        self.0 = Some(match self.0 {
            None => (offset, offset),
            Some((lo, hi)) => (lo.min(offset), hi.max(offset)),
        });
    }

    fn token(&self, source: Source<'_>) -> String {
        let (first, last) = self.0.unwrap_or((-1, -1));
        dedup_token(source.pipeline, source.topic, source.partition, first, last)
    }
}

fn encode_json_row(
    buf: &mut Vec<u8>,
    table: &Table,
    json: &[u8],
    source: Source<'_>,
    offset: i64,
) -> Result<Option<i64>, (&'static str, String)> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| ("bad-json", format!("row is not valid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(("not-object", "row is not a JSON object".into()));
    };
    let (key_column, by_day) = match table.partition {
        PartitionKey::Month(i) => (Some(i), false),
        PartitionKey::Day(i) => (Some(i), true),
        PartitionKey::None | PartitionKey::Unknown(_) => (None, false),
    };
    let mut part = None;
    for (i, column) in table.columns.iter().enumerate() {
        let val = match column.name.as_str() {
            TOPIC_COLUMN => Val::Str(source.topic),
            TOPIC_ID_COLUMN => Val::Str(source.topic_id),
            PARTITION_COLUMN => Val::Int(i64::from(source.partition)),
            OFFSET_COLUMN => Val::Int(offset),
            VERSION_COLUMN => Val::Str(source.version),
            name => fields.get(name).map_or(Val::Missing, Val::Json),
        };
        let start = buf.len();
        encode(buf, &column.ty, val)
            .map_err(|EncodeError(e)| ("schema", format!("column {}: {e}", column.name)))?;
        if key_column == Some(i) {
            part = partition_of(&column.ty, &buf[start..], by_day);
        }
    }
    Ok(part)
}

/// The table partition (`YYYYMM` or `YYYYMMDD`, in UTC) of an encoded Date or
/// DateTime value, read back from its RowBinary bytes so it agrees with what the
/// server receives.
fn partition_of(ty: &ColumnType, encoded: &[u8], by_day: bool) -> Option<i64> {
    let days = match ty.plain() {
        ColumnType::DateTime => {
            i64::from(u32::from_le_bytes(encoded.get(..4)?.try_into().ok()?)).div_euclid(86_400)
        }
        ColumnType::Date => i64::from(u16::from_le_bytes(encoded.get(..2)?.try_into().ok()?)),
        _ => return None,
    };
    let (y, m, d) = calendar::civil_from_days(days);
    Some(if by_day {
        y * 10_000 + m * 100 + d
    } else {
        y * 100 + m
    })
}

fn encode_dead_letter(
    buf: &mut Vec<u8>,
    table: &Table,
    dead: &DeadLetter,
    source: Source<'_>,
    now: i64,
) -> Result<()> {
    for column in &table.columns {
        let val = match column.name.as_str() {
            TOPIC_COLUMN => Val::Str(source.topic),
            TOPIC_ID_COLUMN => Val::Str(source.topic_id),
            PARTITION_COLUMN => Val::Int(i64::from(source.partition)),
            OFFSET_COLUMN => Val::Int(dead.offset),
            VERSION_COLUMN => Val::Str(source.version),
            "pipeline" => Val::Str(source.pipeline),
            "plugin" => Val::Str(&dead.plugin),
            "code" => Val::Str(&dead.code),
            "message" => Val::Str(&dead.message),
            "payload" => Val::Bytes(&dead.payload),
            "failed_at" => Val::Int(now),
            _ => Val::Missing,
        };
        encode(buf, &column.ty, val).map_err(|e| {
            anyhow::anyhow!(
                "dead-letter table {}: column {}: {e}",
                table.name,
                column.name
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_read_back_from_the_encoded_time() {
        let mut buf = Vec::new();
        encode(
            &mut buf,
            &ColumnType::DateTime,
            Val::Json(&serde_json::json!("2026-01-31 23:59:59")),
        )
        .expect("encodes");
        assert_eq!(
            partition_of(&ColumnType::DateTime, &buf, false),
            Some(202601)
        );
        assert_eq!(
            partition_of(&ColumnType::DateTime, &buf, true),
            Some(20260131)
        );
        buf.clear();
        encode(
            &mut buf,
            &ColumnType::DateTime,
            Val::Json(&serde_json::json!("2026-02-01 00:00:00")),
        )
        .expect("encodes");
        assert_eq!(
            partition_of(&ColumnType::DateTime, &buf, false),
            Some(202602)
        );
        let days = calendar::days_from_civil(2024, 2, 29) as u16;
        assert_eq!(
            partition_of(&ColumnType::Date, &days.to_le_bytes(), true),
            Some(20240229)
        );
    }

    #[test]
    fn partition_keys_the_sink_can_cut_on() {
        let columns = vec![
            Column {
                name: "id".into(),
                ty: ColumnType::String,
            },
            Column {
                name: "ts".into(),
                ty: ColumnType::DateTime,
            },
        ];
        assert_eq!(
            PartitionKey::parse("toYYYYMM(ts)", &columns),
            PartitionKey::Month(1)
        );
        assert_eq!(
            PartitionKey::parse("toYYYYMMDD(ts)", &columns),
            PartitionKey::Day(1)
        );
        assert_eq!(PartitionKey::parse("", &columns), PartitionKey::None);
        assert_eq!(PartitionKey::parse("tuple()", &columns), PartitionKey::None);
        assert!(matches!(
            PartitionKey::parse("toYYYYMM(id)", &columns),
            PartitionKey::Unknown(_)
        ));
        assert!(matches!(
            PartitionKey::parse("cityHash64(id) % 4", &columns),
            PartitionKey::Unknown(_)
        ));
    }

    use crate::sink::schema::{Column, ColumnType};

    fn table(cols: &[(&str, &str)]) -> Table {
        let columns = cols
            .iter()
            .map(|(n, t)| Column {
                name: (*n).into(),
                ty: ColumnType::parse(t).expect("type"),
            })
            .collect();
        Table::for_tests("t", columns)
    }

    const SOURCE: Source<'static> = Source {
        pipeline: "p",
        topic: "tweets",
        partition: 2,
        topic_id: "AbCdEfGhIjKlMnOpQrStUv",
        version: "abc",
        session: None,
    };

    #[test]
    fn fills_host_columns_and_ignores_unknown_fields() {
        let t = table(&[
            ("id", "String"),
            ("n", "UInt8"),
            ("_topic", "String"),
            ("_partition", "Int32"),
            ("_offset", "Int64"),
        ]);
        let mut buf = Vec::new();
        encode_json_row(&mut buf, &t, br#"{"id":"x","n":7,"extra":[1]}"#, SOURCE, 41)
            .expect("encodes");
        let mut want = b"\x01x\x07\x06tweets".to_vec();
        want.extend_from_slice(&2i32.to_le_bytes());
        want.extend_from_slice(&41i64.to_le_bytes());
        assert_eq!(buf, want);
    }

    #[test]
    fn the_topic_id_is_the_hosts_whatever_the_row_says() {
        let t = table(&[("_topic_id", "String"), ("_offset", "Int64")]);
        let mut buf = Vec::new();
        encode_json_row(&mut buf, &t, br#"{"_topic_id":"forged"}"#, SOURCE, 9).expect("encodes");
        let mut want = vec![22u8];
        want.extend_from_slice(b"AbCdEfGhIjKlMnOpQrStUv");
        want.extend_from_slice(&9i64.to_le_bytes());
        assert_eq!(buf, want);
    }

    #[test]
    fn bad_rows_get_reason_codes() {
        let t = table(&[("n", "UInt8")]);
        let mut buf = Vec::new();
        assert_eq!(
            encode_json_row(&mut buf, &t, b"{nope", SOURCE, 0)
                .expect_err("bad")
                .0,
            "bad-json"
        );
        assert_eq!(
            encode_json_row(&mut buf, &t, b"[1]", SOURCE, 0)
                .expect_err("bad")
                .0,
            "not-object"
        );
        let (code, msg) =
            encode_json_row(&mut buf, &t, br#"{"n":"many"}"#, SOURCE, 0).expect_err("bad");
        assert_eq!(code, "schema");
        assert!(msg.contains("column n"), "{msg}");
    }

    /// A table with a column of every type the schema parser supports.
    fn every_type() -> Table {
        table(&[
            ("s", "String"),
            ("fs", "FixedString(4)"),
            ("i8", "Int8"),
            ("i16", "Int16"),
            ("i32", "Int32"),
            ("i64", "Int64"),
            ("u8", "UInt8"),
            ("u16", "UInt16"),
            ("u32", "UInt32"),
            ("u64", "UInt64"),
            ("f32", "Float32"),
            ("f64", "Float64"),
            ("b", "Bool"),
            ("d", "Date"),
            ("dt", "DateTime('UTC')"),
            ("dt64", "DateTime64(3, 'UTC')"),
            ("id", "UUID"),
            ("e8", "Enum8('a' = 1, 'b' = -2)"),
            ("e16", "Enum16('x' = 1000)"),
            ("n", "Nullable(Int32)"),
            ("a", "Array(String)"),
            ("aa", "Array(Array(Nullable(UInt16)))"),
            ("lc", "LowCardinality(Nullable(String))"),
            ("_topic", "String"),
            ("_partition", "Int32"),
            ("_offset", "Int64"),
            ("_plugin_version", "String"),
        ])
    }

    use crate::sink::arb;
    use proptest::prelude::*;

    /// A JSON object whose keys are mostly the table's columns.
    fn row_object() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            4 => prop::sample::select(
                every_type().columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
            ),
            1 => ".{0,4}",
        ];
        prop::collection::btree_map(key, arb::json_value(), 0..12)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(arb::CASES))]

        /// Any bytes as a row: a row, or one of the dead-letter codes, never a panic.
        #[test]
        fn any_bytes_become_a_row_or_a_reason(
            bytes in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                arb::json_value().prop_map(|v| v.to_string().into_bytes()),
                row_object().prop_map(|v| v.to_string().into_bytes()),
            ],
            offset in any::<i64>(),
        ) {
            let mut buf = Vec::new();
            if let Err((code, message)) = encode_json_row(&mut buf, &every_type(), &bytes, SOURCE, offset) {
                prop_assert!(["bad-json", "not-object", "schema"].contains(&code), "{}", code);
                prop_assert!(!message.is_empty());
            }
        }

        /// A JSON object is never `bad-json` or `not-object`; a schema refusal names
        /// the column, and an encoded row ends with the host's offset column.
        #[test]
        fn objects_encode_or_name_the_column(row in row_object(), offset in any::<i64>()) {
            let bytes = row.to_string().into_bytes();
            let table = every_type();
            let mut buf = Vec::new();
            match encode_json_row(&mut buf, &table, &bytes, SOURCE, offset) {
                Ok(_) => {
                    let tail = [&offset.to_le_bytes()[..], b"\x03abc"].concat();
                    prop_assert!(buf.ends_with(&tail));
                }
                Err((code, message)) => {
                    prop_assert_eq!(code, "schema");
                    prop_assert!(
                        table.columns.iter().any(|c| message.starts_with(&format!("column {}: ", c.name))),
                        "{}", message
                    );
                }
            }
        }
    }

    #[test]
    fn marks_cover_only_what_each_table_holds() {
        let mut marks = Marks::default();
        marks.by_table.insert("a".into(), 10);
        marks.by_table.insert("b".into(), 4);
        assert!(marks.covers("a", 10));
        assert!(!marks.covers("a", 11));
        assert!(!marks.covers("c", 0));
        assert_eq!(marks.cut_points(), vec![4, 10]);
        marks.advance_all(&["a".to_owned(), "c".to_owned()], 8);
        assert!(marks.covers("a", 10), "never moves back");
        assert!(marks.covers("c", 8));
        let mut gone = marks.discard_from(10);
        gone.sort();
        assert_eq!(
            gone,
            vec![("a".to_owned(), 10)],
            "a mark at the end is past it"
        );
        assert!(!marks.covers("a", 5) && marks.covers("b", 4));
    }
}
