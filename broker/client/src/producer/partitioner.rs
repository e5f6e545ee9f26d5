//! Kafka's default partitioner: keyed records go to `toPositive(murmur2(key)) % partitions`
//! (the contract that keeps a key on the same partition across clients); records without
//! a key stick to one partition until its batch is sent, then move to another at random.

use std::collections::HashMap;

use rand::Rng;

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils#murmur2`), seed `0x9747b28c`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h = SEED ^ length as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition of a keyed record.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    to_positive(murmur2(key)) % partitions
}

/// The current partition per topic for records without a key.
#[derive(Debug, Default)]
pub struct StickyPartitions {
    current: HashMap<String, i32>,
}

impl StickyPartitions {
    /// The partition unkeyed records of `topic` go to now.
    pub fn partition(&mut self, topic: &str, partitions: i32) -> i32 {
        match self.current.get(topic) {
            Some(p) if *p < partitions => *p,
            _ => {
                let p = rand::rng().random_range(0..partitions);
                self.current.insert(topic.to_owned(), p);
                p
            }
        }
    }

    /// Moves `topic` off `partition` once that partition's batch was sent, so load spreads.
    pub fn batch_sent(&mut self, topic: &str, partition: i32, partitions: i32) {
        if self.current.get(topic) != Some(&partition) {
            return;
        }
        let next = if partitions > 1 {
            let offset = rand::rng().random_range(1..partitions);
            (partition + offset) % partitions
        } else {
            0
        };
        self.current.insert(topic.to_owned(), next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of Kafka's `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_kafka() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn keys_map_to_positive_partitions() {
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(partition_for_key(b"foobar", 3), to_positive(-790332482) % 3);
    }

    #[test]
    fn sticky_partition_holds_until_its_batch_is_sent() {
        let mut sticky = StickyPartitions::default();
        let first = sticky.partition("t", 4);
        assert_eq!(sticky.partition("t", 4), first);
        sticky.batch_sent("t", (first + 1) % 4, 4);
        assert_eq!(sticky.partition("t", 4), first);
        sticky.batch_sent("t", first, 4);
        assert_ne!(sticky.partition("t", 4), first);
    }
}
