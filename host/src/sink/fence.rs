//! The fence between a partition's owners, so that a new owner never writes while an
//! insert of an old one can still land (a stalled ClickHouse that wakes after a
//! rebalance, a host paused past its session timeout).
//!
//! Every owner writes a partition through its own ClickHouse HTTP session, and names
//! that session in the partition's Kafka commit metadata before its first insert. A
//! new owner, before it reads the marks, runs `SET readonly = 1` in every session the
//! metadata names. ClickHouse runs one query at a time per session (a second one is
//! refused as "locked"), so once that `SET` has run, every insert of the old owner
//! either finished before it, and the marks read next include its rows, or comes after
//! it and is refused as read-only. An insert still waiting in the server's socket
//! buffer is refused the same way when it is finally read. A session that expired or
//! never existed is refused by the server with "session not found" (inserts carry
//! `session_check=1`), which is as good as fenced.

use std::sync::atomic::{AtomicU64, Ordering};

/// How long ClickHouse keeps an idle session. An owner whose session expired while
/// its partition sat idle opens a new one and registers it before writing again.
pub const SESSION_TIMEOUT_SECS: u64 = 600;

/// The prefix of Sluice's commit metadata, with its format version.
const METADATA_PREFIX: &str = "sluice1";

/// Makes a session id unique to this process and call.
pub fn new_session_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "sluice-{:x}-{:x}-{:x}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// What Sluice keeps in a partition's Kafka commit metadata: the incarnation of the
/// topic the offset belongs to, and the sessions whose inserts must be fenced before
/// the next owner reads the marks (the current owner's, plus any predecessor's not yet
/// confirmed fenced).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitMetadata {
    /// Topic ID (KIP-516) the committed offset belongs to; empty if unknown.
    pub topic_id: String,
    /// Sessions that may hold inserts of this partition.
    pub sessions: Vec<String>,
}

impl CommitMetadata {
    /// Reads metadata written by [`Self::encode`]; anything else (another tool's
    /// metadata, none at all) reads as empty.
    pub fn decode(text: &str) -> Self {
        let mut parts = text.split(';');
        if parts.next() != Some(METADATA_PREFIX) {
            return Self::default();
        }
        let mut out = Self::default();
        for part in parts {
            if let Some(id) = part.strip_prefix("t=") {
                out.topic_id = id.to_owned();
            } else if let Some(s) = part.strip_prefix("s=") {
                out.sessions
                    .extend(s.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
            }
        }
        out
    }

    /// The metadata string for a commit.
    pub fn encode(&self) -> String {
        format!(
            "{METADATA_PREFIX};t={};s={}",
            self.topic_id,
            self.sessions.join(",")
        )
    }
}

/// What a fence attempt on one session found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fenced {
    /// The session is read-only now: no further insert through it can land.
    Done,
    /// The server knows no such session (expired, or another server): inserts through
    /// it are refused as well.
    Gone,
    /// A query of the session is running (an old insert still under way): try again
    /// once it has finished or been killed.
    Busy,
}

/// ClickHouse's answer to a query in a session, as the fence reads it: `Code: 372`
/// (SESSION_NOT_FOUND) and `Code: 373` (SESSION_IS_LOCKED).
pub fn read_fence_answer(code: Option<u32>) -> Option<Fenced> {
    match code {
        Some(372) => Some(Fenced::Gone),
        Some(373) => Some(Fenced::Busy),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_and_foreign_metadata_reads_as_empty() {
        let m = CommitMetadata {
            topic_id: "f4GbGw8ySUmbV7MeDbYQpA".into(),
            sessions: vec!["sluice-1-2-3".into(), "sluice-4-5-6".into()],
        };
        assert_eq!(CommitMetadata::decode(&m.encode()), m);
        assert_eq!(CommitMetadata::decode(""), CommitMetadata::default());
        assert_eq!(
            CommitMetadata::decode("some other tool"),
            CommitMetadata::default()
        );
        let empty = CommitMetadata::default();
        assert_eq!(CommitMetadata::decode(&empty.encode()), empty);
        assert!(m.encode().len() < 4096, "Kafka's default metadata limit");
    }

    #[test]
    fn session_ids_are_unique() {
        let a = new_session_id();
        let b = new_session_id();
        assert_ne!(a, b);
        assert!(a.starts_with("sluice-"));
    }

    #[test]
    fn the_server_codes_for_sessions_are_read() {
        assert_eq!(read_fence_answer(Some(372)), Some(Fenced::Gone));
        assert_eq!(read_fence_answer(Some(373)), Some(Fenced::Busy));
        assert_eq!(read_fence_answer(Some(60)), None);
        assert_eq!(read_fence_answer(None), None);
    }
}
