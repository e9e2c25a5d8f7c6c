//! The hash behind the word table's perfect hash: `build.rs` searches displacements with
//! it, and [`crate::lexicon`] probes with it, so both include this one file (`#[path]`).
//!
//! Keys are hashed as zero-padded little-endian 8-byte words, which the scorer builds
//! straight from the text (lower-casing eight letters at a time), so a lookup neither
//! copies bytes around nor allocates.

/// Longest key the table can hold, in words of 8 bytes; `build.rs` checks every key fits.
pub const KEY_WORDS: usize = 4;

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xA076_1D64_78BD_642F;

/// Multiplies to 128 bits and folds the halves (wyhash's "mum"): one multiply mixes
/// every input bit into the middle of the product, and the fold brings it to both ends.
#[inline(always)]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// Hashes a key of `len` bytes held in `words` (zero after its last byte).
#[inline(always)]
pub fn hash(words: &[u64; KEY_WORDS], len: usize, seed: u64) -> u64 {
    let mut h = mum(words[0] ^ seed, K1 ^ len as u64);
    // Unrolled: nearly every key fits one word, and none needs more than four.
    if len > 8 {
        h = mum(h ^ words[1], K2);
        if len > 16 {
            h = mum(h ^ words[2], K2);
            if len > 24 {
                h = mum(h ^ words[3], K2);
            }
        }
    }
    h
}

/// Packs up to `8 * KEY_WORDS` bytes into zero-padded little-endian words.
#[inline]
pub fn pack(bytes: &[u8]) -> [u64; KEY_WORDS] {
    let mut words = [0u64; KEY_WORDS];
    for (i, &b) in bytes.iter().take(8 * KEY_WORDS).enumerate() {
        words[i / 8] |= u64::from(b) << (8 * (i % 8));
    }
    words
}

/// The slot a hash lands in under bucket displacement `d`, in a table of `mask + 1` slots:
/// keys of one bucket differ in their low bits, so any `d` keeps them apart.
#[inline(always)]
pub fn slot(h: u64, d: u16, mask: usize) -> usize {
    (h as usize ^ usize::from(d)) & mask
}

/// The bucket of a hash, for a table of `1 << bucket_bits` buckets.
#[inline]
pub fn bucket(h: u64, bucket_bits: u32) -> usize {
    (h >> (64 - bucket_bits)) as usize
}
