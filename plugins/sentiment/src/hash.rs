//! A small multiply-rotate hasher for the stop-word set: keys are short static words,
//! so SipHash's flood resistance buys nothing and costs a third of the scoring time.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Odd constant from the Fx hash (rustc's own table hasher); spreads bits under multiplication.
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Hashes eight bytes per step; good enough for short words, and fast.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Whole words, then the tail as 4-, 2- and 1-byte pieces: no memcpy call for
        // the short keys this hashes.
        let mut rest = bytes;
        while let [a, b, c, d, e, f, g, h, tail @ ..] = rest {
            self.add(u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]));
            rest = tail;
        }
        if let [a, b, c, d, tail @ ..] = rest {
            self.add(u64::from(u32::from_le_bytes([*a, *b, *c, *d])));
            rest = tail;
        }
        if let [a, b, tail @ ..] = rest {
            self.add(u64::from(u16::from_le_bytes([*a, *b])));
            rest = tail;
        }
        if let [a] = rest {
            self.add(u64::from(*a));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashSet` of words, hashed with [`FastHasher`].
pub type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;
