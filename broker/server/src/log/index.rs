//! Kafka's sparse segment indexes. `.index` maps an offset (relative to the segment's base)
//! to the file position of a batch at or before it: 8-byte entries, u32 + u32. `.timeindex`
//! maps the largest timestamp seen so far to the offset where it was reached: 12-byte
//! entries, i64 + u32. Both live in memory for appends and lookups and reach their files when
//! the segment is flushed (on a roll, a flush or a clean shutdown), as Kafka's memory-mapped
//! indexes do. Holding no file open keeps a partition to one descriptor, its active `.log`;
//! an index left behind by a crash is never trusted, since recovery rebuilds it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file of fixed-size entries, mirrored in memory and written out on `persist`.
struct EntryFile<const N: usize> {
    path: PathBuf,
    entries: Vec<[u8; N]>,
    /// How many leading entries the file holds as they are in memory.
    persisted: usize,
    /// The file may hold more than `persisted` entries: cut it back before writing.
    stale_tail: bool,
    /// Nothing was written since the file was last synced.
    synced: bool,
}

impl<const N: usize> EntryFile<N> {
    /// Reads `path` when it exists; a file whose size is not a whole number of entries is
    /// reported invalid.
    fn open(path: &Path) -> io::Result<(Self, bool)> {
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(mut file) => {
                file.read_to_end(&mut bytes)?;
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        let valid = bytes.len() % N == 0;
        let entries: Vec<[u8; N]> = bytes
            .chunks_exact(N)
            .map(|chunk| chunk.try_into().expect("chunks are N bytes"))
            .collect();
        Ok((
            EntryFile {
                path: path.to_path_buf(),
                persisted: entries.len(),
                stale_tail: !valid,
                synced: true,
                entries,
            },
            valid,
        ))
    }

    fn push(&mut self, entry: [u8; N]) {
        self.entries.push(entry);
    }

    /// Keeps the first `len` entries.
    fn truncate(&mut self, len: usize) {
        if len < self.entries.len() {
            self.entries.truncate(len);
        }
        if len < self.persisted {
            self.persisted = len;
            self.stale_tail = true;
        }
    }

    /// Brings the file to the entries in memory, synced when `sync`. A failed write (a full
    /// disk) leaves the file to be cut back and rewritten by the next call.
    fn persist(&mut self, sync: bool) -> io::Result<()> {
        let pending = self.persisted < self.entries.len() || self.stale_tail;
        if !pending && (self.synced || !sync) {
            return Ok(());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&self.path)?;
        if pending {
            self.synced = false;
            self.stale_tail = true;
            let whole = (self.persisted * N) as u64;
            file.set_len(whole)?;
            file.seek(SeekFrom::Start(whole))?;
            file.write_all(&self.entries[self.persisted..].concat())?;
            self.persisted = self.entries.len();
            self.stale_tail = false;
        }
        if sync {
            file.sync_data()?;
            self.synced = true;
        }
        Ok(())
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

    pub fn append(&mut self, relative_offset: u32, position: u32) {
        let mut entry = [0u8; 8];
        entry[0..4].copy_from_slice(&relative_offset.to_be_bytes());
        entry[4..8].copy_from_slice(&position.to_be_bytes());
        self.inner.push(entry);
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    pub fn entry_count(&self) -> usize {
        self.inner.entries.len()
    }

    /// Keeps the first `len` entries: undoes appends that a failed write follows.
    pub fn keep(&mut self, len: usize) {
        self.inner.truncate(len);
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
    pub fn truncate_to_position(&mut self, position: u32) {
        let keep = self
            .inner
            .entries
            .partition_point(|e| Self::entry(e).1 < position);
        self.inner.truncate(keep);
    }

    pub fn clear(&mut self) {
        self.inner.truncate(0);
    }

    /// Writes the entries not yet in the file, then syncs it when `sync`.
    pub fn persist(&mut self, sync: bool) -> io::Result<()> {
        self.inner.persist(sync)
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
    pub fn append(&mut self, timestamp: i64, relative_offset: u32) {
        if self.last().is_some_and(|(last, _)| timestamp <= last) {
            return;
        }
        let mut entry = [0u8; 12];
        entry[0..8].copy_from_slice(&timestamp.to_be_bytes());
        entry[8..12].copy_from_slice(&relative_offset.to_be_bytes());
        self.inner.push(entry);
    }

    pub fn last(&self) -> Option<(i64, u32)> {
        self.inner.entries.last().map(Self::entry)
    }

    pub fn entry_count(&self) -> usize {
        self.inner.entries.len()
    }

    /// Keeps the first `len` entries: undoes appends that a failed write follows.
    pub fn keep(&mut self, len: usize) {
        self.inner.truncate(len);
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
    pub fn truncate_to_offset(&mut self, relative_offset: u32) {
        let keep = self
            .inner
            .entries
            .partition_point(|e| Self::entry(e).1 < relative_offset);
        self.inner.truncate(keep);
    }

    pub fn clear(&mut self) {
        self.inner.truncate(0);
    }

    /// Writes the entries not yet in the file, then syncs it when `sync`.
    pub fn persist(&mut self, sync: bool) -> io::Result<()> {
        self.inner.persist(sync)
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
        index.append(0, 0);
        index.append(10, 4096);
        index.append(20, 8192);
        assert_eq!(index.lookup(5), 0);
        assert_eq!(index.lookup(10), 4096);
        assert_eq!(index.lookup(25), 8192);
        index.persist(true).unwrap();
        drop(index);
        let (reopened, _) = OffsetIndex::open(&dir.path().join("0.index")).unwrap();
        assert_eq!(reopened.lookup(19), 4096);
    }

    #[test]
    fn time_index_keeps_only_growing_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let (mut index, _) = TimeIndex::open(&dir.path().join("0.timeindex")).unwrap();
        index.append(100, 0);
        index.append(90, 5);
        index.append(200, 10);
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

    #[test]
    fn entries_reach_the_file_only_when_persisted_and_truncation_cuts_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let (mut index, _) = OffsetIndex::open(&path).unwrap();
        index.append(0, 0);
        index.append(10, 4096);
        assert!(
            !path.exists(),
            "no file is made or held open before a flush"
        );
        index.persist(false).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);
        index.append(20, 8192);
        index.truncate_to_position(4096);
        index.append(15, 5000);
        index.persist(true).unwrap();
        let (reopened, valid) = OffsetIndex::open(&path).unwrap();
        assert!(valid);
        assert_eq!(reopened.entry_count(), 2);
        assert_eq!(reopened.last(), Some((15, 5000)));
    }

    #[test]
    fn a_torn_file_is_cut_back_to_whole_entries_when_next_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        std::fs::write(&path, [0u8; 12 + 5]).unwrap();
        let (mut index, valid) = TimeIndex::open(&path).unwrap();
        assert!(!valid);
        index.append(100, 3);
        index.persist(false).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 24);
        let (reopened, valid) = TimeIndex::open(&path).unwrap();
        assert!(valid);
        assert_eq!(reopened.last(), Some((100, 3)));
    }
}
