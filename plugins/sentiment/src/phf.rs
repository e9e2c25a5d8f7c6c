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
const K3: u64 = 0xE703_7ED1_A0B4_28DB;

/// Hashes a key of `len` bytes held in `words` (zero after its last byte).
///
/// Multiply-xorshift on 64-bit words only: WebAssembly has no 64x64->128 multiply, so a
/// wide-multiply hash would cost the plugin a library call per token.
#[inline(always)]
pub fn hash(words: &[u64; KEY_WORDS], len: usize, seed: u64) -> u64 {
    let mut h = (words[0] ^ seed).wrapping_mul(K1) ^ len as u64;
    // Unrolled: nearly every key fits one word, and none needs more than four.
    if len > 8 {
        h = (h ^ (h >> 29) ^ words[1]).wrapping_mul(K2);
        if len > 16 {
            h = (h ^ (h >> 29) ^ words[2]).wrapping_mul(K2);
            if len > 24 {
                h = (h ^ (h >> 29) ^ words[3]).wrapping_mul(K2);
            }
        }
    }
    // Fold the well-mixed high half down: the slot reads the low bits.
    h ^= h >> 32;
    h = h.wrapping_mul(K3);
    h ^ (h >> 29)
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
