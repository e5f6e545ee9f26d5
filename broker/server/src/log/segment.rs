//! One segment of a partition log: `<baseOffset>.log` holding whole batches back to back,
//! with its `.index` and `.timeindex`, under Kafka's 20-digit file names.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::batch::{validate_batch, BatchHeader, HEADER_SIZE};
use super::index::{OffsetIndex, TimeIndex};

pub fn file_name(base_offset: i64, extension: &str) -> String {
    format!("{base_offset:020}.{extension}")
}

/// Where a segment ended before an append, to return to if the append fails.
struct Tail {
    size: u64,
    offset_entries: usize,
    time_entries: usize,
    bytes_since_index: u64,
    next_offset: i64,
    max_timestamp: Option<(i64, i64)>,
}

/// A closed segment's files to sync, apart from the log that holds the segment.
pub struct SegmentSync {
    log: File,
    indexes: [PathBuf; 2],
}

impl SegmentSync {
    /// Syncs the log and whichever index files exist (an empty index never made one).
    pub fn sync(self) -> io::Result<()> {
        self.log.sync_data()?;
        for index in &self.indexes {
            match File::open(index) {
                Ok(file) => file.sync_data()?,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

pub struct Segment {
    pub base_offset: i64,
    log_path: PathBuf,
    log: File,
    size: u64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    index_interval_bytes: u64,
    bytes_since_index: u64,
    /// One past the last offset stored; `base_offset` when empty.
    next_offset: i64,
    /// The largest batch max-timestamp stored, and the offset of the batch holding it.
    max_timestamp: Option<(i64, i64)>,
    /// When the first batch was appended (milliseconds), for `segment.ms` rolling.
    pub first_append_ms: Option<i64>,
}

impl Segment {
    /// Opens (or creates) the segment at `base_offset`. With `recover`, every batch is
    /// validated and the file is truncated at the first torn or corrupt one; the indexes are
    /// then rebuilt. Returns the segment and the number of bytes truncated.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        index_interval_bytes: u32,
        recover: bool,
    ) -> io::Result<(Self, u64)> {
        let log_path = dir.join(file_name(base_offset, "log"));
        let log = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&log_path)?;
        let size = log.metadata()?.len();
        let (offset_index, offset_index_valid) =
            OffsetIndex::open(&dir.join(file_name(base_offset, "index")))?;
        let (time_index, time_index_valid) =
            TimeIndex::open(&dir.join(file_name(base_offset, "timeindex")))?;
        let mut segment = Segment {
            base_offset,
            log_path,
            log,
            size,
            offset_index,
            time_index,
            index_interval_bytes: index_interval_bytes.max(1) as u64,
            bytes_since_index: 0,
            next_offset: base_offset,
            max_timestamp: None,
            first_append_ms: None,
        };
        let indexes_whole =
            offset_index_valid && time_index_valid && segment.indexes_agree_with_log()?;
        let truncated = if recover || !indexes_whole {
            segment.rebuild(recover)?
        } else {
            segment.load_tail()?;
            0
        };
        Ok((segment, truncated))
    }

    /// Rescans the whole file, rebuilding both indexes; with `validate`, stops and truncates
    /// at the first batch that is incomplete or fails its CRC.
    fn rebuild(&mut self, validate: bool) -> io::Result<u64> {
        self.offset_index.clear();
        self.time_index.clear();
        self.bytes_since_index = 0;
        self.next_offset = self.base_offset;
        self.max_timestamp = None;
        let mut position = 0u64;
        while position < self.size {
            let header = if validate {
                let Some(header) = self.validated_batch_at(position)? else {
                    break;
                };
                header
            } else {
                match self.header_at(position)? {
                    Some(header) if position + header.total_size() as u64 <= self.size => header,
                    _ => break,
                }
            };
            self.index_batch(position, &header);
            position += header.total_size() as u64;
        }
        let truncated = self.size - position;
        if truncated > 0 {
            self.log.set_len(position)?;
            self.size = position;
        }
        self.offset_index.persist(false)?;
        self.time_index.persist(false)?;
        Ok(truncated)
    }

    /// Whether the indexes can be trusted without a rescan: they pass Kafka's sanity checks
    /// and the last offset entry points at the batch it names.
    fn indexes_agree_with_log(&self) -> io::Result<bool> {
        if self.size > 0 && self.offset_index.is_empty() {
            return Ok(false);
        }
        if !self.offset_index.is_sane(self.size) || !self.time_index.is_sane() {
            return Ok(false);
        }
        let Some((relative, position)) = self.offset_index.last() else {
            return Ok(true);
        };
        Ok(self
            .header_at(position as u64)?
            .is_some_and(|header| header.base_offset == self.base_offset + relative as i64))
    }

    /// For a closed segment with good indexes: find the end offset from the last indexed
    /// batch and the max timestamp from the time index.
    fn load_tail(&mut self) -> io::Result<()> {
        let last_indexed = self.offset_index.lookup(u32::MAX) as u64;
        let mut position = last_indexed;
        while let Some(header) = self.header_at(position)? {
            if position + header.total_size() as u64 > self.size {
                break;
            }
            self.next_offset = header.next_offset();
            position += header.total_size() as u64;
        }
        self.max_timestamp = self
            .time_index
            .last()
            .map(|(timestamp, relative)| (timestamp, self.base_offset + relative as i64));
        Ok(())
    }

    fn validated_batch_at(&self, position: u64) -> io::Result<Option<BatchHeader>> {
        let Some(header) = self.header_at(position)? else {
            return Ok(None);
        };
        if position + header.total_size() as u64 > self.size {
            return Ok(None);
        }
        let bytes = self.read(position, header.total_size())?;
        Ok(validate_batch(&bytes).ok())
    }

    /// The header of the batch starting at `position`, if a whole header is there.
    pub fn header_at(&self, position: u64) -> io::Result<Option<BatchHeader>> {
        if position + HEADER_SIZE as u64 > self.size {
            return Ok(None);
        }
        let mut buffer = [0u8; HEADER_SIZE];
        self.log.read_exact_at(&mut buffer, position)?;
        Ok(BatchHeader::parse(&buffer).ok())
    }

    /// Adds index entries for a batch now stored at `position`.
    fn index_batch(&mut self, position: u64, header: &BatchHeader) {
        let relative = (header.base_offset - self.base_offset) as u32;
        if position == 0 || self.bytes_since_index >= self.index_interval_bytes {
            self.offset_index.append(relative, position as u32);
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += header.total_size() as u64;
        if self
            .max_timestamp
            .is_none_or(|(max, _)| header.max_timestamp > max)
        {
            self.max_timestamp = Some((header.max_timestamp, header.base_offset));
            self.time_index.append(header.max_timestamp, relative);
        }
        self.next_offset = header.next_offset();
    }

    /// Appends batches whose offsets are already assigned, all or none: after a failed
    /// write (a full disk) the file and its indexes are cut back to where they were, so the
    /// segment's position and the file's length always agree.
    pub fn append(&mut self, bytes: &[u8], headers: &[BatchHeader], now_ms: i64) -> io::Result<()> {
        let before = self.tail();
        if let Err(error) = self.write_and_index(bytes, headers) {
            self.restore(before)?;
            return Err(error);
        }
        self.first_append_ms.get_or_insert(now_ms);
        Ok(())
    }

    fn write_and_index(&mut self, bytes: &[u8], headers: &[BatchHeader]) -> io::Result<()> {
        self.log.write_all(bytes)?;
        let mut position = self.size;
        self.size += bytes.len() as u64;
        for header in headers {
            self.index_batch(position, header);
            position += header.total_size() as u64;
        }
        Ok(())
    }

    fn tail(&self) -> Tail {
        Tail {
            size: self.size,
            offset_entries: self.offset_index.entry_count(),
            time_entries: self.time_index.entry_count(),
            bytes_since_index: self.bytes_since_index,
            next_offset: self.next_offset,
            max_timestamp: self.max_timestamp,
        }
    }

    fn restore(&mut self, tail: Tail) -> io::Result<()> {
        self.log.set_len(tail.size)?;
        self.size = tail.size;
        self.offset_index.keep(tail.offset_entries);
        self.time_index.keep(tail.time_entries);
        self.bytes_since_index = tail.bytes_since_index;
        self.next_offset = tail.next_offset;
        self.max_timestamp = tail.max_timestamp;
        Ok(())
    }

    pub fn read(&self, position: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buffer = vec![0u8; len];
        self.log.read_exact_at(&mut buffer, position)?;
        Ok(buffer)
    }

    /// The position and header of the first batch whose last offset is at least `offset`.
    pub fn find(&self, offset: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        let relative = (offset - self.base_offset).clamp(0, u32::MAX as i64) as u32;
        let mut position = self.offset_index.lookup(relative) as u64;
        while let Some(header) = self.header_at(position)? {
            if header.last_offset() >= offset {
                return Ok(Some((position, header)));
            }
            position += header.total_size() as u64;
        }
        Ok(None)
    }

    /// The first batch whose max timestamp is at least `timestamp`.
    pub fn find_by_timestamp(&self, timestamp: i64) -> io::Result<Option<(u64, BatchHeader)>> {
        let start = self.base_offset + self.time_index.scan_start(timestamp) as i64;
        let Some((mut position, _)) = self.find(start)? else {
            return Ok(None);
        };
        while let Some(header) = self.header_at(position)? {
            if header.max_timestamp >= timestamp {
                return Ok(Some((position, header)));
            }
            position += header.total_size() as u64;
        }
        Ok(None)
    }

    /// Headers of every batch from `position` to the end.
    pub fn headers_from(&self, mut position: u64) -> io::Result<Vec<(u64, BatchHeader)>> {
        let mut headers = Vec::new();
        while let Some(header) = self.header_at(position)? {
            headers.push((position, header));
            position += header.total_size() as u64;
        }
        Ok(headers)
    }

    /// Drops every batch at or after `offset` (batch granularity).
    pub fn truncate_to(&mut self, offset: i64) -> io::Result<()> {
        let Some((position, header)) = self.find(offset)? else {
            return Ok(());
        };
        self.log.set_len(position)?;
        self.size = position;
        self.offset_index.truncate_to_position(position as u32);
        self.time_index
            .truncate_to_offset((header.base_offset - self.base_offset).max(0) as u32);
        self.rebuild_tail_state()
    }

    fn rebuild_tail_state(&mut self) -> io::Result<()> {
        self.next_offset = self.base_offset;
        self.max_timestamp = None;
        self.bytes_since_index = 0;
        for (_, header) in self.headers_from(0)? {
            self.next_offset = header.next_offset();
            if self
                .max_timestamp
                .is_none_or(|(max, _)| header.max_timestamp > max)
            {
                self.max_timestamp = Some((header.max_timestamp, header.base_offset));
            }
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.max_timestamp
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.log.sync_data()?;
        self.offset_index.persist(true)?;
        self.time_index.persist(true)
    }

    /// Writes the indexes' new entries to their files, without syncing anything.
    pub fn write_indexes(&mut self) -> io::Result<()> {
        self.offset_index.persist(false)?;
        self.time_index.persist(false)
    }

    /// What it takes to sync this segment's files without holding the segment: its own
    /// descriptor of the log and the paths of the indexes.
    pub fn sync_handle(&self) -> io::Result<SegmentSync> {
        Ok(SegmentSync {
            log: self.log.try_clone()?,
            indexes: [
                self.offset_index.path().to_path_buf(),
                self.time_index.path().to_path_buf(),
            ],
        })
    }

    pub fn delete(self) -> io::Result<()> {
        for path in [
            self.log_path.as_path(),
            self.offset_index.path(),
            self.time_index.path(),
        ] {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}
