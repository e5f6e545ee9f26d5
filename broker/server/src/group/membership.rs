//! One consumer group's membership under Kafka's classic rebalance protocol.
//!
//! A rebalance gathers every member's JoinGroup (or waits out the rebalance timeout, then
//! drops the stragglers), picks a protocol all members support, answers every join at once
//! with a new generation (the leader also gets every member's metadata), then waits for the
//! leader's SyncGroup to hand each member its assignment. Joins and syncs are parked as
//! oneshot senders, so handlers wait without holding the group's lock.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl GroupState {
    /// The state names Kafka reports in DescribeGroups and ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

#[derive(Debug)]
pub struct JoinRequest {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a new member first gets an id with MEMBER_ID_REQUIRED (KIP-394).
    pub require_known_member_id: bool,
}

#[derive(Debug, Clone)]
pub struct JoinOutcome {
    pub error: Option<ResponseError>,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// Every member's id, instance id and metadata: for the leader only.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinOutcome {
    fn failed(error: ResponseError, member_id: String) -> Box<Self> {
        Box::new(JoinOutcome {
            error: Some(error),
            generation: -1,
            protocol_type: None,
            protocol: None,
            leader: String::new(),
            member_id,
            members: Vec::new(),
        })
    }
}

pub type SyncOutcome = Result<Bytes, ResponseError>;

#[derive(Debug)]
pub struct Member {
    pub id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    last_heartbeat: Instant,
    join_waiter: Option<oneshot::Sender<JoinOutcome>>,
    sync_waiter: Option<oneshot::Sender<SyncOutcome>>,
}

impl Member {
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, metadata)| metadata.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet joined.
    pending: HashSet<String>,
    rebalance_deadline: Option<Instant>,
    /// The first rebalance of an empty group waits `group.initial.rebalance.delay.ms` for
    /// more members instead of completing as soon as the first one has joined.
    initial_rebalance: bool,
    initial_delay: Duration,
}

impl Group {
    pub fn new(id: &str, initial_delay: Duration) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            protocol_type: None,
            protocol: None,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            pending: HashSet::new(),
            rebalance_deadline: None,
            initial_rebalance: false,
            initial_delay,
        }
    }

    /// Takes a JoinGroup; the answer comes through the receiver when the rebalance completes,
    /// or at once (`Err`) for errors and MEMBER_ID_REQUIRED.
    pub fn join(
        &mut self,
        request: JoinRequest,
        now: Instant,
    ) -> Result<oneshot::Receiver<JoinOutcome>, Box<JoinOutcome>> {
        if !self.members.is_empty() {
            let same_type = self.protocol_type.as_deref() == Some(request.protocol_type.as_str());
            let shared = request.protocols.iter().any(|(name, _)| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == name))
            });
            if !same_type || !shared {
                return Err(JoinOutcome::failed(
                    ResponseError::InconsistentGroupProtocol,
                    request.member_id,
                ));
            }
        }
        let member_id = if request.member_id.is_empty() {
            let id = format!("{}-{}", request.client_id, uuid::Uuid::new_v4());
            if request.require_known_member_id {
                self.pending.insert(id.clone());
                return Err(JoinOutcome::failed(ResponseError::MemberIdRequired, id));
            }
            id
        } else if self.members.contains_key(&request.member_id)
            || self.pending.contains(&request.member_id)
        {
            request.member_id.clone()
        } else {
            return Err(JoinOutcome::failed(
                ResponseError::UnknownMemberId,
                request.member_id,
            ));
        };
        self.pending.remove(&member_id);
        let (sender, receiver) = oneshot::channel();
        let member = self
            .members
            .entry(member_id.clone())
            .or_insert_with(|| Member {
                id: member_id.clone(),
                group_instance_id: None,
                client_id: String::new(),
                client_host: String::new(),
                session_timeout: request.session_timeout,
                rebalance_timeout: request.rebalance_timeout,
                protocols: Vec::new(),
                assignment: Bytes::new(),
                last_heartbeat: now,
                join_waiter: None,
                sync_waiter: None,
            });
        member.group_instance_id = request.group_instance_id;
        member.client_id = request.client_id;
        member.client_host = request.client_host;
        member.session_timeout = request.session_timeout;
        member.rebalance_timeout = request.rebalance_timeout;
        member.protocols = request.protocols;
        member.last_heartbeat = now;
        member.join_waiter = Some(sender);
        self.protocol_type = Some(request.protocol_type);
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(now);
        }
        self.try_complete_join(now);
        Ok(receiver)
    }

    fn prepare_rebalance(&mut self, now: Instant) {
        if self.state == GroupState::CompletingRebalance {
            for member in self.members.values_mut() {
                if let Some(waiter) = member.sync_waiter.take() {
                    let _ = waiter.send(Err(ResponseError::RebalanceInProgress));
                }
            }
        }
        self.initial_rebalance = self.state == GroupState::Empty;
        let delay = if self.initial_rebalance {
            self.initial_delay
        } else {
            self.members
                .values()
                .map(|m| m.rebalance_timeout)
                .max()
                .unwrap_or_default()
        };
        self.state = GroupState::PreparingRebalance;
        self.rebalance_deadline = Some(now + delay);
    }

    /// Completes the join phase when every member has rejoined (after the initial delay
    /// for a new group) or the deadline has passed, dropping members that did not rejoin.
    fn try_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let deadline_passed = self.rebalance_deadline.is_none_or(|d| now >= d);
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some());
        if !deadline_passed && (self.initial_rebalance || !all_joined) {
            return;
        }
        self.members.retain(|_, m| m.join_waiter.is_some());
        self.generation += 1;
        self.rebalance_deadline = None;
        let Some(first) = self.members.keys().next().cloned() else {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return;
        };
        let leader = self
            .leader
            .clone()
            .filter(|l| self.members.contains_key(l))
            .unwrap_or(first);
        let protocol = self.members[&leader]
            .protocols
            .iter()
            .map(|(name, _)| name.clone())
            .find(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == name))
            });
        self.state = GroupState::CompletingRebalance;
        self.leader = Some(leader.clone());
        self.protocol = protocol.clone();
        let everyone: Vec<(String, Option<String>, Bytes)> = self
            .members
            .values()
            .map(|m| {
                (
                    m.id.clone(),
                    m.group_instance_id.clone(),
                    m.metadata(protocol.as_deref().unwrap_or_default()),
                )
            })
            .collect();
        for member in self.members.values_mut() {
            member.last_heartbeat = now;
            let outcome = JoinOutcome {
                error: None,
                generation: self.generation,
                protocol_type: self.protocol_type.clone(),
                protocol: protocol.clone(),
                leader: leader.clone(),
                member_id: member.id.clone(),
                members: if member.id == leader {
                    everyone.clone()
                } else {
                    Vec::new()
                },
            };
            if let Some(waiter) = member.join_waiter.take() {
                let _ = waiter.send(outcome);
            }
        }
    }

    /// Takes a SyncGroup. The leader's carries the assignment, which completes the rebalance.
    /// Returns the receiver of this member's answer and whether the group became stable.
    pub fn sync(
        &mut self,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> Result<(oneshot::Receiver<SyncOutcome>, bool), ResponseError> {
        self.check_member(member_id, generation)?;
        let (sender, receiver) = oneshot::channel();
        match self.state {
            GroupState::Empty => return Err(ResponseError::UnknownMemberId),
            GroupState::PreparingRebalance => return Err(ResponseError::RebalanceInProgress),
            GroupState::Stable => {
                let _ = sender.send(Ok(self.members[member_id].assignment.clone()));
                return Ok((receiver, false));
            }
            GroupState::CompletingRebalance => {}
        }
        let member = self.members.get_mut(member_id).expect("checked");
        member.last_heartbeat = now;
        member.sync_waiter = Some(sender);
        if self.leader.as_deref() != Some(member_id) {
            return Ok((receiver, false));
        }
        let mut assignments: BTreeMap<String, Bytes> = assignments.into_iter().collect();
        for member in self.members.values_mut() {
            member.assignment = assignments.remove(&member.id).unwrap_or_default();
            if let Some(waiter) = member.sync_waiter.take() {
                let _ = waiter.send(Ok(member.assignment.clone()));
            }
        }
        self.state = GroupState::Stable;
        Ok((receiver, true))
    }

    pub fn heartbeat(
        &mut self,
        member_id: &str,
        generation: i32,
        now: Instant,
    ) -> Result<(), ResponseError> {
        self.check_member(member_id, generation)?;
        self.members
            .get_mut(member_id)
            .expect("checked")
            .last_heartbeat = now;
        match self.state {
            GroupState::PreparingRebalance => Err(ResponseError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    fn check_member(&self, member_id: &str, generation: i32) -> Result<(), ResponseError> {
        if !self.members.contains_key(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(ResponseError::IllegalGeneration);
        }
        Ok(())
    }

    /// LeaveGroup for one member.
    pub fn leave(&mut self, member_id: &str, now: Instant) -> Result<(), ResponseError> {
        if self.members.remove(member_id).is_none() {
            return Err(ResponseError::UnknownMemberId);
        }
        self.after_departure(now);
        Ok(())
    }

    fn after_departure(&mut self, now: Instant) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(now),
            GroupState::PreparingRebalance => {}
            GroupState::Empty => return,
        }
        self.try_complete_join(now);
    }

    /// Expires members whose session lapsed and finishes rebalances whose deadline passed.
    /// Returns whether the group changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| m.join_waiter.is_none() && now - m.last_heartbeat > m.session_timeout)
            .map(|m| m.id.clone())
            .collect();
        for id in &expired {
            tracing::info!(group = %self.id, member = %id, "member session expired");
            self.members.remove(id);
        }
        let generation = self.generation;
        if !expired.is_empty() {
            self.after_departure(now);
        } else {
            self.try_complete_join(now);
        }
        !expired.is_empty() || generation != self.generation
    }

    /// Whether any member's consumer-protocol subscription names `topic`.
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        let protocol = self.protocol.as_deref().unwrap_or_default();
        self.members.values().any(|m| {
            subscribed_topics(m.metadata(protocol))
                .iter()
                .any(|t| t == topic)
        })
    }
}

/// The topics in a consumer's subscription metadata (a version, then Kafka's
/// `ConsumerProtocolSubscription`); empty when it is not one.
fn subscribed_topics(mut metadata: Bytes) -> Vec<String> {
    use bytes::Buf;
    use kafka_protocol::messages::ConsumerProtocolSubscription;
    use kafka_protocol::protocol::Decodable;
    if metadata.remaining() < 2 {
        return Vec::new();
    }
    let version = metadata.get_i16().clamp(0, 3);
    ConsumerProtocolSubscription::decode(&mut metadata, version)
        .map(|s| s.topics.iter().map(|t| t.to_string()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(member_id: &str) -> JoinRequest {
        JoinRequest {
            member_id: member_id.to_string(),
            group_instance_id: None,
            client_id: "client".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(30),
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
            require_known_member_id: true,
        }
    }

    /// Joins a new member through MEMBER_ID_REQUIRED; returns its id and join receiver.
    fn join_new(group: &mut Group, now: Instant) -> (String, oneshot::Receiver<JoinOutcome>) {
        let required = group.join(request(""), now).unwrap_err();
        assert_eq!(required.error, Some(ResponseError::MemberIdRequired));
        let receiver = group.join(request(&required.member_id), now).unwrap();
        (required.member_id, receiver)
    }

    #[test]
    fn two_members_rebalance_and_sync() {
        let now = Instant::now();
        let mut group = Group::new("g", Duration::ZERO);
        let (first, mut first_join) = join_new(&mut group, now);
        let outcome = first_join.try_recv().unwrap();
        assert_eq!(
            (outcome.generation, outcome.leader.as_str()),
            (1, first.as_str())
        );
        let (_, synced) = group
            .sync(
                &first,
                1,
                vec![(first.clone(), Bytes::from_static(b"all"))],
                now,
            )
            .unwrap();
        assert!(synced);
        assert_eq!(group.state, GroupState::Stable);

        let (second, mut second_join) = join_new(&mut group, now);
        assert_eq!(group.state, GroupState::PreparingRebalance);
        assert_eq!(
            group.heartbeat(&first, 1, now),
            Err(ResponseError::RebalanceInProgress)
        );
        let mut rejoin = group.join(request(&first), now).unwrap();
        let leader_view = rejoin.try_recv().unwrap();
        assert_eq!(leader_view.generation, 2);
        assert_eq!(leader_view.members.len(), 2);
        assert!(second_join.try_recv().unwrap().members.is_empty());

        let (mut follower_sync, _) = group.sync(&second, 2, vec![], now).unwrap();
        assert!(follower_sync.try_recv().is_err(), "waits for the leader");
        group
            .sync(
                &first,
                2,
                vec![
                    (second.clone(), Bytes::from_static(b"p1")),
                    (first.clone(), Bytes::from_static(b"p0")),
                ],
                now,
            )
            .unwrap();
        assert_eq!(
            follower_sync.try_recv().unwrap(),
            Ok(Bytes::from_static(b"p1"))
        );
    }

    #[test]
    fn an_expired_member_triggers_a_rebalance_without_it() {
        let start = Instant::now();
        let mut group = Group::new("g", Duration::ZERO);
        let (first, _) = join_new(&mut group, start);
        group.sync(&first, 1, vec![], start).unwrap();
        let (second, _) = join_new(&mut group, start);
        group.join(request(&first), start).unwrap();
        group.sync(&first, 2, vec![], start).unwrap();
        let later = start + Duration::from_secs(8);
        group.heartbeat(&first, 2, later).unwrap();
        assert!(group.tick(start + Duration::from_secs(11)));
        assert!(!group.members.contains_key(&second));
        assert_eq!(group.state, GroupState::PreparingRebalance);
        group.join(request(&first), later).unwrap();
        assert_eq!(group.generation, 3);
    }

    #[test]
    fn stragglers_are_dropped_at_the_rebalance_deadline() {
        let start = Instant::now();
        let mut group = Group::new("g", Duration::ZERO);
        let (first, _) = join_new(&mut group, start);
        group.sync(&first, 1, vec![], start).unwrap();
        let (second, _) = join_new(&mut group, start);
        assert_eq!(group.state, GroupState::PreparingRebalance);
        group.tick(start + Duration::from_secs(31));
        assert_eq!(group.members.keys().collect::<Vec<_>>(), vec![&second]);
        assert_eq!(group.leader.as_deref(), Some(second.as_str()));
    }

    #[test]
    fn errors_for_strangers_and_old_generations() {
        let now = Instant::now();
        let mut group = Group::new("g", Duration::ZERO);
        assert_eq!(
            group.join(request("nobody"), now).unwrap_err().error,
            Some(ResponseError::UnknownMemberId)
        );
        let (member, _) = join_new(&mut group, now);
        assert_eq!(
            group.heartbeat(&member, 0, now),
            Err(ResponseError::IllegalGeneration)
        );
        assert_eq!(
            group.heartbeat("x", 1, now),
            Err(ResponseError::UnknownMemberId)
        );
        let mut other = request("");
        other.protocol_type = "connect".into();
        assert_eq!(
            group.join(other, now).unwrap_err().error,
            Some(ResponseError::InconsistentGroupProtocol)
        );
    }

    #[test]
    fn the_last_member_leaving_empties_the_group() {
        let now = Instant::now();
        let mut group = Group::new("g", Duration::ZERO);
        let (member, _) = join_new(&mut group, now);
        group.sync(&member, 1, vec![], now).unwrap();
        group.leave(&member, now).unwrap();
        assert_eq!(group.state, GroupState::Empty);
        assert_eq!(
            group.leave(&member, now),
            Err(ResponseError::UnknownMemberId)
        );
    }

    #[test]
    fn a_new_group_waits_the_initial_delay() {
        let now = Instant::now();
        let mut group = Group::new("g", Duration::from_secs(3));
        let (_, mut joined) = join_new(&mut group, now);
        assert!(joined.try_recv().is_err());
        group.tick(now + Duration::from_secs(4));
        assert_eq!(joined.try_recv().unwrap().generation, 1);
    }
}
