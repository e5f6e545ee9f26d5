//! The Raft log of a coordinator, on disk: a journal of appends, truncations and purges
//! (`raft-log.jsonl`, one JSON record per line, fsynced before Raft is told) and the vote
//! (`raft-vote.json`, replaced atomically). Metadata changes are few, so the whole log is
//! also kept in memory; the journal is rewritten when a purge leaves it mostly dead.
//!
//! A crash can tear the journal's last line; reopening drops it, since Raft was never told
//! that write completed.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    AnyError, Entry, LogId, LogState, OptionalSend, RaftLogReader, StorageError, StorageIOError,
    Vote,
};
use serde::{Deserialize, Serialize};

use super::{NodeId, TypeConfig};

const JOURNAL: &str = "raft-log.jsonl";
const VOTE: &str = "raft-vote.json";

#[derive(Debug, Serialize, Deserialize)]
enum Record {
    Append(Entry<TypeConfig>),
    /// Drops entries at and after the index.
    Truncate(u64),
    /// Drops entries up to and including the log id.
    Purge(LogId<NodeId>),
    Committed(Option<LogId<NodeId>>),
}

#[derive(Debug)]
struct Journal {
    dir: PathBuf,
    file: File,
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    last_purged: Option<LogId<NodeId>>,
    committed: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
    /// Records in the file, to decide when rewriting it pays off.
    records: usize,
    /// Bytes of whole records in the file.
    length: u64,
}

/// One JSON record per line.
fn encode(records: &[Record]) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for record in records {
        serde_json::to_writer(&mut bytes, record).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
    }
    Ok(bytes)
}

/// The log storage handed to openraft; clones share one journal.
#[derive(Debug, Clone)]
pub struct LogStore {
    journal: Arc<Mutex<Journal>>,
}

fn io_error(e: std::io::Error) -> StorageError<NodeId> {
    StorageIOError::write_logs(AnyError::new(&e)).into()
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, replaying the journal.
    pub fn open(dir: &Path) -> std::io::Result<LogStore> {
        fs::create_dir_all(dir)?;
        crate::durable_file::remove_leftovers(dir)?;
        let path = dir.join(JOURNAL);
        let mut entries = BTreeMap::new();
        let mut last_purged = None;
        let mut committed = None;
        let mut records = 0;
        let mut good_length = 0u64;
        if path.exists() {
            let mut reader = BufReader::new(File::open(&path)?);
            let mut line = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                // A record is whole only with its newline: one cut just before it still
                // parses, and appends after it would run into it.
                let record = match line.strip_suffix(b"\n") {
                    Some(text) => serde_json::from_slice::<Record>(text).ok(),
                    None => None,
                };
                let Some(record) = record else {
                    tracing::warn!("dropping a torn record at the end of {}", path.display());
                    break;
                };
                good_length += line.len() as u64;
                records += 1;
                match record {
                    Record::Append(entry) => {
                        entries.insert(entry.log_id.index, entry);
                    }
                    Record::Truncate(index) => {
                        entries.split_off(&index);
                    }
                    Record::Purge(log_id) => {
                        entries = entries.split_off(&(log_id.index + 1));
                        last_purged = Some(log_id);
                    }
                    Record::Committed(log_id) => committed = log_id,
                }
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.set_len(good_length)?;
        let vote = match fs::read(dir.join(VOTE)) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(std::io::Error::other)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(LogStore {
            journal: Arc::new(Mutex::new(Journal {
                dir: dir.to_path_buf(),
                file,
                entries,
                last_purged,
                committed,
                vote,
                records,
                length: good_length,
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().expect("raft log lock poisoned")
    }
}

impl Journal {
    /// Appends `records` and syncs them. A failed write (a full disk) is cut back off, so
    /// the journal never holds a torn line before later records.
    fn write(&mut self, records: &[Record]) -> std::io::Result<()> {
        let bytes = encode(records)?;
        let written = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            self.file.set_len(self.length)?;
            return Err(error);
        }
        self.length += bytes.len() as u64;
        self.records += records.len();
        Ok(())
    }

    /// Appends `entries` to the file and, once they are written, to the log in memory.
    fn append(&mut self, entries: Vec<Entry<TypeConfig>>) -> std::io::Result<()> {
        let records: Vec<Record> = entries.iter().cloned().map(Record::Append).collect();
        self.write(&records)?;
        for entry in entries {
            self.entries.insert(entry.log_id.index, entry);
        }
        Ok(())
    }

    /// Replaces the journal with one holding only what is live, when most of it is dead.
    fn compact_if_worthwhile(&mut self) -> std::io::Result<()> {
        if self.records < 1000 || self.records < 2 * (self.entries.len() + 2) {
            return Ok(());
        }
        let mut records: Vec<Record> = Vec::new();
        if let Some(purged) = self.last_purged {
            records.push(Record::Purge(purged));
        }
        records.push(Record::Committed(self.committed));
        records.extend(self.entries.values().cloned().map(Record::Append));
        let bytes = encode(&records)?;
        crate::durable_file::replace(&self.dir.join(JOURNAL), &bytes)?;
        self.file = OpenOptions::new()
            .append(true)
            .open(self.dir.join(JOURNAL))?;
        self.length = bytes.len() as u64;
        self.records = records.len();
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        Ok(self
            .lock()
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let journal = self.lock();
        let last = journal
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(journal.last_purged);
        Ok(LogState {
            last_purged_log_id: journal.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut journal = self.lock();
        let bytes = serde_json::to_vec(vote)
            .map_err(|e| StorageError::from(StorageIOError::write_vote(AnyError::new(&e))))?;
        crate::durable_file::replace(&journal.dir.join(VOTE), &bytes)
            .map_err(|e| StorageError::from(StorageIOError::write_vote(AnyError::new(&e))))?;
        journal.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        let mut journal = self.lock();
        journal
            .write(&[Record::Committed(committed)])
            .map_err(io_error)?;
        journal.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let written = self.lock().append(entries.into_iter().collect());
        let result = written
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::new(e.kind(), e.to_string()));
        callback.log_io_completed(result);
        written.map_err(io_error)
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut journal = self.lock();
        journal
            .write(&[Record::Truncate(log_id.index)])
            .map_err(io_error)?;
        journal.entries.split_off(&log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut journal = self.lock();
        journal.write(&[Record::Purge(log_id)]).map_err(io_error)?;
        journal.entries = journal.entries.split_off(&(log_id.index + 1));
        journal.last_purged = Some(log_id);
        journal.compact_if_worthwhile().map_err(io_error)
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;

    fn entry(index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    fn append(store: &LogStore, indexes: std::ops::RangeInclusive<u64>) {
        store.lock().append(indexes.map(entry).collect()).unwrap();
    }

    fn indexes(store: &LogStore) -> Vec<u64> {
        store.lock().entries.keys().copied().collect()
    }

    fn cut_end(dir: &Path, bytes: u64) {
        let file = OpenOptions::new()
            .write(true)
            .open(dir.join(JOURNAL))
            .unwrap();
        let length = file.metadata().unwrap().len();
        file.set_len(length - bytes).unwrap();
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_appends_go_on_after_the_whole_ones() {
        let dir = tempfile::tempdir().unwrap();
        append(&LogStore::open(dir.path()).unwrap(), 1..=3);
        cut_end(dir.path(), 10);
        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(indexes(&store), [1, 2]);
        append(&store, 3..=4);
        assert_eq!(indexes(&LogStore::open(dir.path()).unwrap()), [1, 2, 3, 4]);
    }

    #[test]
    fn a_last_record_cut_only_of_its_newline_is_dropped_not_joined_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        append(&LogStore::open(dir.path()).unwrap(), 1..=2);
        cut_end(dir.path(), 1);
        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(indexes(&store), [1]);
        append(&store, 2..=3);
        assert_eq!(indexes(&LogStore::open(dir.path()).unwrap()), [1, 2, 3]);
    }
}
