//! The leader epoch cache: for each leader epoch, the first offset written under it. It
//! answers OffsetForLeaderEpoch, which lets a follower find where its log diverged from a
//! new leader's. Kept beside the segments as Kafka's `leader-epoch-checkpoint` file.
//!
//! Appends that start an epoch rewrite the file without syncing it (as Kafka does since
//! KAFKA-15046: an fsync in the produce path stalls every request behind it while the
//! disk is busy). It is synced when the log is flushed, before a clean shutdown; after a
//! crash the log rebuilds the cache from its batches instead of trusting the file.

use std::io;
use std::path::{Path, PathBuf};

const CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";

#[derive(Debug)]
pub struct EpochCache {
    path: PathBuf,
    /// `(epoch, start_offset)`, both strictly increasing.
    entries: Vec<(i32, i64)>,
    /// Whether the file on disk was synced since it was last written, so a flush of a log
    /// whose epochs did not change (nearly every one at a shutdown) costs no fsync.
    synced: bool,
}

impl EpochCache {
    /// Reads the checkpoint in `dir`; `None` when there is none yet.
    pub fn load(dir: &Path) -> io::Result<Option<EpochCache>> {
        let path = dir.join(CHECKPOINT_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let invalid = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a leader epoch checkpoint", path.display()),
            )
        };
        let mut lines = text.lines();
        if lines.next() != Some("0") {
            return Err(invalid());
        }
        let count: usize = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(invalid)?;
        let entries = lines
            .take(count)
            .map(|line| {
                let (epoch, offset) = line.split_once(' ').ok_or_else(invalid)?;
                Ok((
                    epoch.parse().map_err(|_| invalid())?,
                    offset.parse().map_err(|_| invalid())?,
                ))
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Some(EpochCache {
            path,
            entries,
            synced: true,
        }))
    }

    pub fn empty(dir: &Path) -> EpochCache {
        EpochCache {
            path: dir.join(CHECKPOINT_FILE),
            entries: Vec::new(),
            synced: false,
        }
    }

    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|(epoch, _)| *epoch)
    }

    /// Notes that `epoch` starts at `offset`, if it is newer than the latest known epoch.
    /// Returns whether the cache changed (and must be saved).
    pub fn assign(&mut self, epoch: i32, offset: i64) -> bool {
        if self.latest_epoch().is_some_and(|latest| epoch <= latest) || epoch < 0 {
            return false;
        }
        self.entries.push((epoch, offset));
        self.synced = false;
        true
    }

    /// Forgets epochs starting at or after `offset`, after the log was truncated there.
    pub fn truncate_from(&mut self, offset: i64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(_, start)| *start < offset);
        let changed = before != self.entries.len();
        self.synced &= !changed;
        changed
    }

    /// Forgets everything, for a log restarted at a new offset.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.synced = false;
    }

    /// OffsetForLeaderEpoch: the largest epoch not above `epoch` and the offset where it
    /// ended (the next epoch's start, or `log_end_offset` for the latest). `None` when
    /// every known epoch is newer.
    pub fn end_offset_for(&self, epoch: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        let index = self.entries.iter().rposition(|(e, _)| *e <= epoch)?;
        let found = self.entries[index].0;
        let end = self
            .entries
            .get(index + 1)
            .map_or(log_end_offset, |(_, start)| *start);
        Some((found, end))
    }

    /// Writes the checkpoint, replacing the old one whole, without syncing it.
    pub fn write(&mut self) -> io::Result<()> {
        self.synced = false;
        crate::durable_file::replace_unsynced(&self.path, self.checkpoint().as_bytes())
    }

    /// Writes the checkpoint and syncs it, for a flush, unless it is synced already.
    pub fn save(&mut self) -> io::Result<()> {
        if self.synced {
            return Ok(());
        }
        crate::durable_file::replace(&self.path, self.checkpoint().as_bytes())?;
        self.synced = true;
        Ok(())
    }

    fn checkpoint(&self) -> String {
        let mut text = format!("0\n{}\n", self.entries.len());
        for (epoch, offset) in &self.entries {
            text.push_str(&format!("{epoch} {offset}\n"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_where_each_epoch_ended() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = EpochCache::empty(dir.path());
        assert!(cache.assign(0, 0));
        assert!(!cache.assign(0, 5));
        assert!(cache.assign(2, 10));
        assert!(cache.assign(5, 20));
        assert_eq!(cache.end_offset_for(0, 30), Some((0, 10)));
        assert_eq!(cache.end_offset_for(1, 30), Some((0, 10)));
        assert_eq!(cache.end_offset_for(3, 30), Some((2, 20)));
        assert_eq!(cache.end_offset_for(9, 30), Some((5, 30)));
        cache.save().unwrap();
        let loaded = EpochCache::load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.entries, cache.entries);
    }

    #[test]
    fn truncation_forgets_later_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = EpochCache::empty(dir.path());
        cache.assign(1, 0);
        cache.assign(2, 10);
        assert!(cache.truncate_from(10));
        assert_eq!(cache.latest_epoch(), Some(1));
        assert_eq!(EpochCache::empty(dir.path()).end_offset_for(3, 0), None);
    }

    #[test]
    fn a_garbled_checkpoint_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CHECKPOINT_FILE), "0\n2\n1 x\n").unwrap();
        assert!(EpochCache::load(dir.path()).is_err());
    }

    #[test]
    fn a_flush_syncs_the_checkpoint_only_after_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(CHECKPOINT_FILE);
        let mut cache = EpochCache::empty(dir.path());
        cache.assign(1, 0);
        cache.save().unwrap();
        assert!(file.exists());
        std::fs::remove_file(&file).unwrap();
        cache.save().unwrap();
        assert!(!file.exists(), "an unchanged cache was written again");
        cache.assign(2, 5);
        cache.save().unwrap();
        let mut loaded = EpochCache::load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.entries, vec![(1, 0), (2, 5)]);
        std::fs::remove_file(&file).unwrap();
        loaded.save().unwrap();
        assert!(!file.exists(), "a loaded cache is already on disk");
    }
}
