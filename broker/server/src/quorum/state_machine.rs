//! The coordinators' replicated state machine: the metadata image, changed only by
//! committed [`MetadataCommand`]s. Every applied change is published on a watch channel
//! (brokers follow it); snapshots are the image as JSON in `raft-snapshot.json`.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::command::{apply, CommandOutcome};
use super::{Node, NodeId, TypeConfig};
use crate::metadata::MetadataImage;

const SNAPSHOT: &str = "raft-snapshot.json";

/// A published image and the index of the last log entry in it (its version).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionedImage {
    pub version: u64,
    pub image: Arc<MetadataImage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, Node>,
    image: MetadataImage,
}

#[derive(Debug)]
pub struct StateMachine {
    dir: PathBuf,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, Node>,
    image: MetadataImage,
    published: watch::Sender<VersionedImage>,
}

fn snapshot_error(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_snapshot(None, AnyError::new(&e)).into()
}

impl StateMachine {
    /// Starts from the last snapshot in `dir`, if any; Raft replays the log after it.
    pub fn open(dir: &Path) -> std::io::Result<(StateMachine, watch::Receiver<VersionedImage>)> {
        let snapshot = read_snapshot(dir)?;
        let (last_applied, membership, image) = match &snapshot {
            Some(s) => (
                s.meta.last_log_id,
                s.meta.last_membership.clone(),
                s.image.clone(),
            ),
            None => (None, StoredMembership::default(), MetadataImage::default()),
        };
        let (published, receiver) = watch::channel(VersionedImage {
            version: last_applied.map_or(0, |l| l.index),
            image: Arc::new(image.clone()),
        });
        Ok((
            StateMachine {
                dir: dir.to_path_buf(),
                last_applied,
                membership,
                image,
                published,
            },
            receiver,
        ))
    }

    fn publish(&self) {
        self.published.send_replace(VersionedImage {
            version: self.last_applied.map_or(0, |l| l.index),
            image: Arc::new(self.image.clone()),
        });
    }

    fn save(&self, snapshot: StoredSnapshot) -> Result<(), StorageError<NodeId>> {
        let bytes = serde_json::to_vec(&snapshot).map_err(snapshot_error)?;
        crate::durable_file::replace(&self.dir.join(SNAPSHOT), &bytes).map_err(snapshot_error)
    }

    fn to_snapshot(stored: &StoredSnapshot) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        Ok(Snapshot {
            meta: stored.meta.clone(),
            snapshot: Box::new(Cursor::new(
                serde_json::to_vec(&stored.image).map_err(snapshot_error)?,
            )),
        })
    }
}

/// The snapshot last saved in `dir`, if any.
fn read_snapshot(dir: &Path) -> std::io::Result<Option<StoredSnapshot>> {
    match fs::read(dir.join(SNAPSHOT)) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let stored = StoredSnapshot {
            meta: SnapshotMeta {
                last_log_id: self.last_applied,
                last_membership: self.membership.clone(),
                snapshot_id: format!(
                    "{}-{}",
                    self.last_applied.map_or(0, |l| l.leader_id.term),
                    self.last_applied.map_or(0, |l| l.index)
                ),
            },
            image: self.image.clone(),
        };
        self.save(stored.clone())?;
        Self::to_snapshot(&stored)
    }
}

/// Snapshots are built from a copy so the state machine keeps applying meanwhile.
#[derive(Debug)]
pub struct SnapshotCopy(StateMachine);

impl RaftSnapshotBuilder<TypeConfig> for SnapshotCopy {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        self.0.build_snapshot().await
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotCopy;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>), StorageError<NodeId>> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandOutcome>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = openraft::Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut outcomes = Vec::new();
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let outcome = match entry.payload {
                EntryPayload::Blank => CommandOutcome::Done,
                EntryPayload::Normal(command) => apply(&mut self.image, command),
                EntryPayload::Membership(membership) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), membership);
                    CommandOutcome::Done
                }
            };
            outcomes.push(outcome);
        }
        self.publish();
        Ok(outcomes)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let (published, _) = watch::channel(VersionedImage::default());
        SnapshotCopy(StateMachine {
            dir: self.dir.clone(),
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            image: self.image.clone(),
            published,
        })
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let image: MetadataImage = serde_json::from_slice(snapshot.get_ref()).map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(
                Some(meta.signature()),
                AnyError::new(&e),
            ))
        })?;
        self.save(StoredSnapshot {
            meta: meta.clone(),
            image: image.clone(),
        })?;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.image = image;
        self.publish();
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        read_snapshot(&self.dir)
            .map_err(|e| {
                StorageError::from(StorageIOError::read_snapshot(None, AnyError::new(&e)))
            })?
            .as_ref()
            .map(Self::to_snapshot)
            .transpose()
    }
}
