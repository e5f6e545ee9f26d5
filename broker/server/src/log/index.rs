//! Kafka's sparse segment indexes. `.index` maps an offset (relative to the segment's base)
//! to the file position of a batch at or before it: 8-byte entries, u32 + u32. `.timeindex`
//! maps the largest timestamp seen so far to the offset where it was reached: 12-byte
//! entries, i64 + u32. Both are appended as batches arrive and kept in memory for lookups.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// A file of fixed-size entries, mirrored in memory.
struct EntryFile<const N: usize> {
    path: PathBuf,
    file: File,
    entries: Vec<[u8; N]>,
}

impl<const N: usize> EntryFile<N> {
    /// Opens `path`; a file whose size is not a whole number of entries is reported invalid.
    fn open(path: &Path) -> io::Result<(Self, bool)> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let valid = bytes.len() % N == 0;
        let entries = bytes
            .chunks_exact(N)
            .map(|chunk| chunk.try_into().expect("chunks are N bytes"))
            .collect();
        Ok((
            EntryFile {
                path: path.to_path_buf(),
                file,
                entries,
            },
            valid,
        ))
    }

    /// Appends an entry; a failed write is cut back off so the file stays whole entries.
    fn push(&mut self, entry: [u8; N]) -> io::Result<()> {
        if let Err(error) = self.file.write_all(&entry) {
            self.file.set_len((self.entries.len() * N) as u64)?;
            return Err(error);
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Keeps the first `len` entries.
    fn truncate(&mut self, len: usize) -> io::Result<()> {
        if len < self.entries.len() {
            self.entries.truncate(len);
            self.file.set_len((len * N) as u64)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

pub struct OffsetIndex {
    inner: EntryFile<8>,
}

impl OffsetIndex {
    pub fn open(path: &Path) -> io::Result<(Self, bool)> {
        let (inner, valid) = EntryFile::open(path)?;
        Ok((OffsetIndex { inner }, valid))
    }

    fn entry(bytes: &[u8; 8]) -> (u32, u32) {
        (
            u32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes")),
            u32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes")),
        )
    }

    pub fn append(&mut self, relative_offset: u32, position: u32) -> io::Result<()> {
        let mut entry = [0u8; 8];
        entry[0..4].copy_from_slice(&relative_offset.to_be_bytes());
        entry[4..8].copy_from_slice(&position.to_be_bytes());
        self.inner.push(entry)
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    pub fn entry_count(&self) -> usize {
        self.inner.entries.len()
    }

    /// Keeps the first `len` entries: undoes appends that a failed write follows.
    pub fn keep(&mut self, len: usize) -> io::Result<()> {
        self.inner.truncate(len)
    }

    /// Kafka's sanity check: offsets and positions strictly increase and every position
    /// lies inside a log of `log_size` bytes. A flipped byte usually breaks one of these.
    pub fn is_sane(&self, log_size: u64) -> bool {
        let entries: Vec<(u32, u32)> = self.inner.entries.iter().map(Self::entry).collect();
        entries.first().is_none_or(|first| first.1 == 0)
            && entries
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1)
            && entries.last().is_none_or(|last| (last.1 as u64) < log_size)
    }

    /// The last entry: relative offset and position.
    pub fn last(&self) -> Option<(u32, u32)> {
        self.inner.entries.last().map(Self::entry)
    }

    /// The file position of the last indexed batch starting at or before `relative_offset`.
    pub fn lookup(&self, relative_offset: u32) -> u32 {
        let entries = &self.inner.entries;
        let after = entries.partition_point(|e| Self::entry(e).0 <= relative_offset);
        after
            .checked_sub(1)
            .map_or(0, |i| Self::entry(&entries[i]).1)
    }

    /// Drops entries at or after file position `position`.
    pub fn truncate_to_position(&mut self, position: u32) -> io::Result<()> {
        let keep = self
            .inner
            .entries
            .partition_point(|e| Self::entry(e).1 < position);
        self.inner.truncate(keep)
    }

    pub fn clear(&mut self) -> io::Result<()> {
        self.inner.truncate(0)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

pub struct TimeIndex {
    inner: EntryFile<12>,
}

impl TimeIndex {
    pub fn open(path: &Path) -> io::Result<(Self, bool)> {
        let (inner, valid) = EntryFile::open(path)?;
        Ok((TimeIndex { inner }, valid))
    }

    fn entry(bytes: &[u8; 12]) -> (i64, u32) {
        (
            i64::from_be_bytes(bytes[0..8].try_into().expect("8 bytes")),
            u32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes")),
        )
    }

    /// Records that `timestamp`, larger than any before it, was reached at `relative_offset`.
    pub fn append(&mut self, timestamp: i64, relative_offset: u32) -> io::Result<()> {
        if self.last().is_some_and(|(last, _)| timestamp <= last) {
            return Ok(());
        }
        let mut entry = [0u8; 12];
        entry[0..8].copy_from_slice(&timestamp.to_be_bytes());
        entry[8..12].copy_from_slice(&relative_offset.to_be_bytes());
        self.inner.push(entry)
    }

    pub fn last(&self) -> Option<(i64, u32)> {
        self.inner.entries.last().map(Self::entry)
    }

    pub fn entry_count(&self) -> usize {
        self.inner.entries.len()
    }

    /// Keeps the first `len` entries: undoes appends that a failed write follows.
    pub fn keep(&mut self, len: usize) -> io::Result<()> {
        self.inner.truncate(len)
    }

    /// Timestamps and offsets never decrease.
    pub fn is_sane(&self) -> bool {
        let entries: Vec<(i64, u32)> = self.inner.entries.iter().map(Self::entry).collect();
        entries
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
    }

    /// A relative offset from which scanning finds the first batch whose max timestamp is
    /// at least `timestamp`: every batch before it has a smaller max timestamp.
    pub fn scan_start(&self, timestamp: i64) -> u32 {
        let entries = &self.inner.entries;
        let below = entries.partition_point(|e| Self::entry(e).0 < timestamp);
        below
            .checked_sub(1)
            .map_or(0, |i| Self::entry(&entries[i]).1)
    }

    /// Drops entries at or after `relative_offset`.
    pub fn truncate_to_offset(&mut self, relative_offset: u32) -> io::Result<()> {
        let keep = self
            .inner
            .entries
            .partition_point(|e| Self::entry(e).1 < relative_offset);
        self.inner.truncate(keep)
    }

    pub fn clear(&mut self) -> io::Result<()> {
        self.inner.truncate(0)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_lookup_finds_the_entry_at_or_before() {
        let dir = tempfile::tempdir().unwrap();
        let (mut index, valid) = OffsetIndex::open(&dir.path().join("0.index")).unwrap();
        assert!(valid);
        index.append(0, 0).unwrap();
        index.append(10, 4096).unwrap();
        index.append(20, 8192).unwrap();
        assert_eq!(index.lookup(5), 0);
        assert_eq!(index.lookup(10), 4096);
        assert_eq!(index.lookup(25), 8192);
        drop(index);
        let (reopened, _) = OffsetIndex::open(&dir.path().join("0.index")).unwrap();
        assert_eq!(reopened.lookup(19), 4096);
    }

    #[test]
    fn time_index_keeps_only_growing_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let (mut index, _) = TimeIndex::open(&dir.path().join("0.timeindex")).unwrap();
        index.append(100, 0).unwrap();
        index.append(90, 5).unwrap();
        index.append(200, 10).unwrap();
        assert_eq!(index.last(), Some((200, 10)));
        assert_eq!(index.scan_start(150), 0);
        assert_eq!(index.scan_start(250), 10);
    }

    #[test]
    fn a_torn_index_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        std::fs::write(&path, [0u8; 11]).unwrap();
        let (_, valid) = OffsetIndex::open(&path).unwrap();
        assert!(!valid);
    }
}
