//! The bounded memory of each topic partition: the key hashes of its most recent distinct
//! events, with the offset each was first seen at, forgotten oldest-first at capacity.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// Remembered keys of one topic partition.
#[derive(Debug)]
pub struct Window {
    /// Key hash -> offset of the record it was first seen in.
    first_seen: HashMap<u64, i64, BuildHasherDefault<Prehashed>>,
    /// Key hashes in first-seen order; the front is forgotten first.
    order: VecDeque<u64>,
    /// Most keys remembered at once.
    capacity: usize,
}

impl Window {
    /// An empty window; memory grows with use, up to `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            first_seen: HashMap::default(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records an event's key and says whether the event passes: a new key passes, a
    /// remembered one is a duplicate, except at the offset where it was first seen,
    /// because that is the same record replayed (after a rebalance) and the sink skips
    /// records it already holds by offset.
    pub fn admit(&mut self, key_hash: u64, offset: i64) -> bool {
        if let Some(&first) = self.first_seen.get(&key_hash) {
            return first == offset;
        }
        if self.order.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.first_seen.remove(&oldest);
        }
        self.first_seen.insert(key_hash, offset);
        self.order.push_back(key_hash);
        true
    }

    /// How many keys are remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no key is remembered yet.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// One topic's windows by partition number.
type Partitions = HashMap<i32, Window, BuildHasherDefault<Prehashed>>;

/// One [`Window`] per topic partition, each with the same capacity, made on first use.
#[derive(Debug)]
pub struct Windows {
    capacity: usize,
    /// Per topic, its partitions' windows; a plugin sees one or a few topics, so a list
    /// scan beats hashing the topic name for every event.
    /// Partition maps use [`Prehashed`] too: std's random seed would be this plugin's
    /// only use of a `wasi:random` import.
    topics: Vec<(String, Partitions)>,
}

impl Windows {
    /// No windows yet; each partition gets one of `capacity` keys when its first event comes.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            topics: Vec::new(),
        }
    }

    /// The window of one topic partition, made empty if this is its first event.
    pub fn get(&mut self, topic: &str, partition: i32) -> &mut Window {
        let index = match self.topics.iter().position(|(t, _)| t == topic) {
            Some(i) => i,
            None => {
                self.topics.push((topic.to_owned(), HashMap::default()));
                self.topics.len() - 1
            }
        };
        let capacity = self.capacity;
        self.topics[index]
            .1
            .entry(partition)
            .or_insert_with(|| Window::new(capacity))
    }
}

/// Table hasher for keys that are already 64-bit hashes: one finalising mix (MurmurHash3's
/// `fmix64`) so every bit of the table index depends on every bit of the key hash.
#[derive(Debug, Default, Clone, Copy)]
pub struct Prehashed {
    hash: u64,
}

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        // Windows hash only u64 and i32 keys; this keeps any other key correct anyway.
        for &b in bytes {
            self.write_u64(self.hash ^ u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        let mut h = n;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        self.hash = h;
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_dropped_and_replays_of_the_first_record_pass() {
        let mut w = Window::new(10);
        assert!(w.admit(1, 100));
        assert!(!w.admit(1, 101), "same key, later record: duplicate");
        assert!(w.admit(2, 102));
        assert!(w.admit(1, 100), "the first record itself, replayed");
        assert!(!w.admit(1, 101), "its duplicate, replayed, still dropped");
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn oldest_key_is_forgotten_at_capacity() {
        let mut w = Window::new(3);
        for (key, offset) in [(1, 0), (2, 1), (3, 2)] {
            assert!(w.admit(key, offset));
        }
        assert!(!w.admit(1, 3), "still remembered at capacity");
        assert!(w.admit(4, 4), "new key evicts key 1");
        assert_eq!(w.len(), 3);
        assert!(w.admit(1, 5), "key 1 was forgotten");
        assert!(w.admit(2, 6), "and key 1's return evicted key 2");
        assert!(!w.admit(4, 7));
        assert_eq!(w.len(), 3);
    }

    #[test]
    fn duplicates_do_not_refresh_a_key() {
        // Eviction is by first sighting, so a hot key cannot pin itself in the window.
        let mut w = Window::new(2);
        assert!(w.admit(1, 0));
        assert!(w.admit(2, 1));
        assert!(!w.admit(1, 2));
        assert!(w.admit(3, 3));
        assert!(w.admit(1, 4), "key 1 aged out despite its recent duplicate");
    }

    #[test]
    fn memory_stays_bounded_over_many_keys() {
        let mut w = Window::new(1_000);
        for key in 0..100_000u64 {
            assert!(w.admit(key.wrapping_mul(0x9e37_79b9_7f4a_7c15), key as i64));
        }
        assert_eq!(w.len(), 1_000);
        assert_eq!(w.first_seen.len(), 1_000);
        assert!(
            w.first_seen.capacity() < 4_000,
            "{}",
            w.first_seen.capacity()
        );
    }

    #[test]
    fn each_topic_partition_has_its_own_window() {
        let mut ws = Windows::new(5);
        assert!(ws.get("a", 0).admit(1, 0));
        assert!(ws.get("a", 1).admit(1, 0));
        assert!(ws.get("b", 0).admit(1, 7));
        assert!(!ws.get("a", 0).admit(1, 9));
        assert!(!ws.get("b", 0).admit(1, 8));
        assert_eq!(ws.get("a", 0).len(), 1);
        assert!(ws.get("c", 3).is_empty());
    }
}
