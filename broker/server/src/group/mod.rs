//! The group coordinator: consumer group membership and committed offsets.
//!
//! - `membership`: one group's rebalance state machine.
//! - `records`: Kafka's record schemas for `__consumer_offsets`.
//! - `store`: writing those records to, and replaying them from, `__consumer_offsets`.
//!
//! Every change to committed offsets is appended to the group's partition of
//! `__consumer_offsets` and replicated before it is acknowledged. The leader of that
//! partition coordinates the group: it replays the partition when it becomes leader and
//! forgets the partition's groups when leadership moves away.

pub mod membership;
pub mod records;
pub mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use membership::{Group, GroupState};
use records::CommittedOffset;

/// Kafka's group defaults (`GroupCoordinatorConfig`).
pub const DEFAULT_MIN_SESSION_TIMEOUT_MS: i64 = 6_000;
pub const DEFAULT_MAX_SESSION_TIMEOUT_MS: i64 = 1_800_000;
pub const DEFAULT_INITIAL_REBALANCE_DELAY_MS: u64 = 3_000;

#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub min_session_timeout_ms: i64,
    pub max_session_timeout_ms: i64,
    pub initial_rebalance_delay: Duration,
}

pub type OffsetKey = (String, i32);

/// Groups and their committed offsets, guarded by one lock each; no lock is held across
/// an await.
pub struct GroupCoordinator {
    pub config: GroupConfig,
    groups: Mutex<HashMap<String, Group>>,
    offsets: Mutex<HashMap<String, BTreeMap<OffsetKey, CommittedOffset>>>,
    /// The `__consumer_offsets` partitions replayed here, whose groups this broker serves.
    loaded: Mutex<BTreeSet<i32>>,
}

/// What DescribeGroups and ListGroups show of a group.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    pub id: String,
    pub state: &'static str,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberSummary>,
}

#[derive(Debug, Clone)]
pub struct MemberSummary {
    pub id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: bytes::Bytes,
    pub assignment: bytes::Bytes,
}

impl GroupCoordinator {
    pub fn new(config: GroupConfig) -> Self {
        GroupCoordinator {
            config,
            groups: Mutex::new(HashMap::new()),
            offsets: Mutex::new(HashMap::new()),
            loaded: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn is_loaded(&self, partition: i32) -> bool {
        self.loaded
            .lock()
            .expect("loaded lock poisoned")
            .contains(&partition)
    }

    /// Marks `partition`'s groups as served here, once it has been replayed.
    pub fn mark_loaded(&self, partition: i32) {
        self.loaded
            .lock()
            .expect("loaded lock poisoned")
            .insert(partition);
    }

    /// Forgets the groups whose home is `partition` (leadership moved to another broker);
    /// their members are told NOT_COORDINATOR and find the new coordinator.
    pub fn unload(&self, partition: i32, home: impl Fn(&str) -> i32) {
        if !self
            .loaded
            .lock()
            .expect("loaded lock poisoned")
            .remove(&partition)
        {
            return;
        }
        self.groups
            .lock()
            .expect("group lock poisoned")
            .retain(|id, _| home(id) != partition);
        self.offsets
            .lock()
            .expect("offset lock poisoned")
            .retain(|id, _| home(id) != partition);
    }

    /// Runs `f` on the group, creating it (empty) if it does not exist.
    pub fn with_group<T>(&self, id: &str, f: impl FnOnce(&mut Group) -> T) -> T {
        let mut groups = self.groups.lock().expect("group lock poisoned");
        let group = groups
            .entry(id.to_string())
            .or_insert_with(|| Group::new(id, self.config.initial_rebalance_delay));
        f(group)
    }

    /// Runs `f` on the group if it exists.
    pub fn with_existing<T>(&self, id: &str, f: impl FnOnce(&mut Group) -> T) -> Option<T> {
        let mut groups = self.groups.lock().expect("group lock poisoned");
        groups.get_mut(id).map(f)
    }

    /// Expires sessions and rebalance deadlines in every group.
    pub fn tick(&self, now: Instant) {
        let mut groups = self.groups.lock().expect("group lock poisoned");
        for group in groups.values_mut() {
            group.tick(now);
        }
    }

    pub fn committed(&self, group: &str) -> BTreeMap<OffsetKey, CommittedOffset> {
        self.offsets
            .lock()
            .expect("offset lock poisoned")
            .get(group)
            .cloned()
            .unwrap_or_default()
    }

    pub fn store_offset(&self, group: &str, key: OffsetKey, offset: Option<CommittedOffset>) {
        let mut offsets = self.offsets.lock().expect("offset lock poisoned");
        let entry = offsets.entry(group.to_string()).or_default();
        match offset {
            Some(offset) => {
                entry.insert(key, offset);
            }
            None => {
                entry.remove(&key);
                if entry.is_empty() {
                    offsets.remove(group);
                }
            }
        }
    }

    /// Every group known by membership or by committed offsets.
    pub fn group_ids(&self) -> Vec<String> {
        let groups = self.groups.lock().expect("group lock poisoned");
        let offsets = self.offsets.lock().expect("offset lock poisoned");
        let mut ids: Vec<String> = groups.keys().chain(offsets.keys()).cloned().collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// A group's description; `None` when the coordinator knows nothing of it.
    pub fn describe(&self, id: &str) -> Option<GroupSummary> {
        let groups = self.groups.lock().expect("group lock poisoned");
        match groups.get(id) {
            Some(group) => {
                let protocol = group.protocol.clone().unwrap_or_default();
                Some(GroupSummary {
                    id: id.to_string(),
                    state: group.state.name(),
                    protocol_type: group.protocol_type.clone().unwrap_or_default(),
                    members: group
                        .members
                        .values()
                        .map(|m| MemberSummary {
                            id: m.id.clone(),
                            group_instance_id: m.group_instance_id.clone(),
                            client_id: m.client_id.clone(),
                            client_host: m.client_host.clone(),
                            metadata: m.metadata(&protocol),
                            assignment: m.assignment.clone(),
                        })
                        .collect(),
                    protocol,
                })
            }
            None => {
                let has_offsets = self
                    .offsets
                    .lock()
                    .expect("offset lock poisoned")
                    .contains_key(id);
                has_offsets.then(|| GroupSummary {
                    id: id.to_string(),
                    state: GroupState::Empty.name(),
                    protocol_type: "consumer".to_string(),
                    protocol: String::new(),
                    members: Vec::new(),
                })
            }
        }
    }

    /// Forgets an empty group and its offsets; returns the offsets it had.
    pub fn remove(&self, id: &str) -> Vec<OffsetKey> {
        self.groups.lock().expect("group lock poisoned").remove(id);
        self.offsets
            .lock()
            .expect("offset lock poisoned")
            .remove(id)
            .map(|offsets| offsets.into_keys().collect())
            .unwrap_or_default()
    }
}
