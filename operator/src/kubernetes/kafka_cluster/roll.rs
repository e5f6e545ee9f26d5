//! Which pod the operator restarts next, as a pure function of what it observed: the pods
//! of each role (outdated or not, ready, stuck), the quorum's leader and lag, and the
//! partitions. One restart at a time, and only when it is safe:
//!
//! - nothing restarts while a pod is terminating or not ready: the last restart is not
//!   back yet (a stuck pod aside);
//! - a stuck pod (crash-looping, unschedulable) on an old revision restarts first: it
//!   serves nothing, and the new template may be what it needs;
//! - coordinators before brokers, followers first and the Raft leader last, each only while
//!   every voter is caught up with the leader, so the quorum survives the restart;
//! - brokers by Strimzi's rule ([`roll_blockers`]) and only once every broker is back in
//!   sync for all its partitions;
//! - the ksql server last.

use crate::reconcile::roll::{caught_up, roll_blockers, PartitionState};

use super::objects::Role;

/// One pod as the roll sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    pub name: String,
    pub role: Role,
    pub node_id: i32,
    /// Its StatefulSet has a newer revision than the pod runs.
    pub outdated: bool,
    pub ready: bool,
    pub terminating: bool,
    /// Why it cannot start (`CrashLoopBackOff`, `Unschedulable: ...`), when it cannot.
    pub stuck: Option<String>,
}

/// The metadata quorum as its voters report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuorumView {
    /// The leader's node id, when the voters agree on one.
    pub leader: Option<i32>,
    /// Every voter has applied the leader's log (within a few entries).
    pub caught_up: bool,
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Delete this pod; its StatefulSet recreates it from the current template.
    Restart { pod: String, why: String },
    /// A restart is due but not safe yet, for this reason.
    Wait(String),
    /// Every pod runs its current revision.
    Settled,
}

/// The next restart toward every pod running its StatefulSet's current revision.
pub fn next(pods: &[PodView], quorum: &QuorumView, partitions: &[PartitionState]) -> Next {
    if let Some(pod) = pods.iter().find(|p| p.terminating) {
        return Next::Wait(format!("{} is restarting", pod.name));
    }
    if let Some(pod) = pods.iter().find(|p| p.outdated && p.stuck.is_some()) {
        return Next::Restart {
            pod: pod.name.clone(),
            why: format!(
                "it is stuck ({}) on an old revision; the new one may start",
                pod.stuck.as_deref().unwrap_or_default()
            ),
        };
    }
    if !pods.iter().any(|p| p.outdated) {
        return Next::Settled;
    }
    if let Some(pod) = pods.iter().find(|p| !p.ready && p.role != Role::Ksql) {
        return Next::Wait(format!("{} is not ready", pod.name));
    }
    let outdated = |role: Role| pods.iter().filter(move |p| p.role == role && p.outdated);
    if outdated(Role::Coordinator).next().is_some() {
        return next_coordinator(outdated(Role::Coordinator).collect(), quorum);
    }
    if outdated(Role::Broker).next().is_some() {
        let brokers: Vec<&PodView> = pods.iter().filter(|p| p.role == Role::Broker).collect();
        return next_broker(&brokers, outdated(Role::Broker).collect(), partitions);
    }
    match outdated(Role::Ksql).next() {
        Some(pod) => Next::Restart {
            pod: pod.name.clone(),
            why: "its config or image changed".into(),
        },
        None => Next::Settled,
    }
}

fn next_coordinator(outdated: Vec<&PodView>, quorum: &QuorumView) -> Next {
    let Some(leader) = quorum.leader else {
        return Next::Wait("the quorum has no leader its voters agree on".into());
    };
    if !quorum.caught_up {
        return Next::Wait("a coordinator is behind the quorum's leader".into());
    }
    let follower = outdated.iter().find(|p| p.node_id != leader);
    let pod = follower.unwrap_or(&outdated[0]);
    let why = if follower.is_some() {
        "its config or image changed (a follower: followers go before the leader)"
    } else {
        "its config or image changed (the quorum's leader, last)"
    };
    Next::Restart {
        pod: pod.name.clone(),
        why: why.into(),
    }
}

fn next_broker(
    brokers: &[&PodView],
    outdated: Vec<&PodView>,
    partitions: &[PartitionState],
) -> Next {
    if let Some(behind) = brokers.iter().find(|b| !caught_up(b.node_id, partitions)) {
        return Next::Wait(format!(
            "{} is not back in sync for all its partitions",
            behind.name
        ));
    }
    let mut blocked = Vec::new();
    for pod in outdated {
        let blockers = roll_blockers(pod.node_id, partitions);
        if blockers.is_empty() {
            return Next::Restart {
                pod: pod.name.clone(),
                why: "its config or image changed".into(),
            };
        }
        blocked.push(format!(
            "{} ({} partition(s) it is in sync for have no replica in sync to spare, e.g. {})",
            pod.name,
            blockers.len(),
            blockers[0].describe()
        ));
    }
    Next::Wait(format!("waiting to restart {}", blocked.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(role: Role, ordinal: u32) -> PodView {
        PodView {
            name: format!("potok-{}-{ordinal}", role.component()),
            role,
            node_id: role.node_id(ordinal),
            outdated: false,
            ready: true,
            terminating: false,
            stuck: None,
        }
    }

    fn cluster() -> Vec<PodView> {
        let mut pods: Vec<PodView> = (0..3).map(|i| pod(Role::Coordinator, i)).collect();
        pods.extend((0..3).map(|i| pod(Role::Broker, i)));
        pods.push(pod(Role::Ksql, 0));
        pods
    }

    fn outdated(mut pods: Vec<PodView>, role: Role) -> Vec<PodView> {
        for pod in pods.iter_mut().filter(|p| p.role == role) {
            pod.outdated = true;
        }
        pods
    }

    fn partition(replicas: &[i32], isr: &[i32]) -> PartitionState {
        PartitionState {
            topic: "orders".into(),
            partition: 0,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            min_insync_replicas: 2,
        }
    }

    const HEALTHY: QuorumView = QuorumView {
        leader: Some(101),
        caught_up: true,
    };

    fn restarted(next: Next) -> String {
        match next {
            Next::Restart { pod, .. } => pod,
            other => panic!("expected a restart, got {other:?}"),
        }
    }

    #[test]
    fn nothing_restarts_when_every_pod_is_current() {
        assert_eq!(next(&cluster(), &HEALTHY, &[]), Next::Settled);
    }

    #[test]
    fn coordinators_roll_followers_first_and_the_leader_last() {
        let mut pods = outdated(cluster(), Role::Coordinator);
        let mut order = Vec::new();
        for _ in 0..3 {
            let name = restarted(next(&pods, &HEALTHY, &[]));
            pods.iter_mut().find(|p| p.name == name).unwrap().outdated = false;
            order.push(name);
        }
        assert_eq!(
            order,
            [
                "potok-coordinator-1",
                "potok-coordinator-2",
                "potok-coordinator-0"
            ]
        );
        assert_eq!(next(&pods, &HEALTHY, &[]), Next::Settled);
    }

    #[test]
    fn a_coordinator_waits_for_a_caught_up_quorum_with_a_leader() {
        let pods = outdated(cluster(), Role::Coordinator);
        let behind = QuorumView {
            leader: Some(101),
            caught_up: false,
        };
        assert!(matches!(next(&pods, &behind, &[]), Next::Wait(w) if w.contains("behind")));
        let leaderless = QuorumView::default();
        assert!(matches!(next(&pods, &leaderless, &[]), Next::Wait(w) if w.contains("no leader")));
    }

    #[test]
    fn coordinators_go_before_brokers_and_ksql_last() {
        let mut pods = cluster();
        for pod in &mut pods {
            pod.outdated = true;
        }
        let partitions = [partition(&[1, 2, 3], &[1, 2, 3])];
        let mut order = Vec::new();
        loop {
            match next(&pods, &HEALTHY, &partitions) {
                Next::Restart { pod, .. } => {
                    pods.iter_mut().find(|p| p.name == pod).unwrap().outdated = false;
                    order.push(pod);
                }
                Next::Settled => break,
                Next::Wait(why) => panic!("{why}"),
            }
        }
        assert_eq!(
            order,
            [
                "potok-coordinator-1",
                "potok-coordinator-2",
                "potok-coordinator-0",
                "potok-broker-0",
                "potok-broker-1",
                "potok-broker-2",
                "potok-ksql-0"
            ]
        );
    }

    #[test]
    fn a_broker_waits_while_one_is_not_ready_or_not_back_in_sync() {
        let mut pods = outdated(cluster(), Role::Broker);
        pods[4].ready = false;
        let all_in_sync = [partition(&[1, 2, 3], &[1, 2, 3])];
        assert_eq!(
            next(&pods, &HEALTHY, &all_in_sync),
            Next::Wait("potok-broker-1 is not ready".into())
        );
        pods[4].ready = true;
        let behind = [partition(&[1, 2, 3], &[1, 3])];
        assert_eq!(
            next(&pods, &HEALTHY, &behind),
            Next::Wait("potok-broker-1 is not back in sync for all its partitions".into())
        );
    }

    #[test]
    fn a_broker_whose_restart_would_stop_acks_all_writes_waits() {
        let pods = outdated(cluster(), Role::Broker);
        // A partition of two replicas with min.insync.replicas 2 stops acks=all writes at
        // any restart, so it does not hold the roll; a full ISR of three does not either.
        let partitions = [partition(&[1, 2], &[1, 2]), {
            let mut p = partition(&[1, 2, 3], &[1, 2, 3]);
            p.partition = 1;
            p
        }];
        assert_eq!(
            restarted(next(&pods, &HEALTHY, &partitions)),
            "potok-broker-0"
        );
        let tight = [PartitionState {
            replicas: vec![1, 2, 3, 4],
            isr: vec![1, 2],
            ..partition(&[], &[])
        }];
        // Brokers 1 and 2 are the whole ISR at min.insync.replicas: neither may go.
        let pods: Vec<PodView> = pods.into_iter().filter(|p| p.node_id != 3).collect();
        match next(&pods, &HEALTHY, &tight) {
            Next::Wait(why) => assert!(why.contains("no replica in sync to spare"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stuck_pod_on_an_old_revision_restarts_first_and_a_current_one_is_left() {
        let mut pods = outdated(cluster(), Role::Broker);
        pods[5].stuck = Some("CrashLoopBackOff".into());
        pods[5].ready = false;
        let next_step = next(&pods, &HEALTHY, &[]);
        assert_eq!(restarted(next_step), "potok-broker-2");
        pods[5].outdated = false;
        assert_eq!(
            next(&pods, &HEALTHY, &[]),
            Next::Wait("potok-broker-2 is not ready".into())
        );
        let mut current = cluster();
        current[5].stuck = Some("CrashLoopBackOff".into());
        current[5].ready = false;
        assert_eq!(next(&current, &HEALTHY, &[]), Next::Settled);
    }

    #[test]
    fn nothing_restarts_while_a_pod_terminates() {
        let mut pods = outdated(cluster(), Role::Broker);
        pods[3].terminating = true;
        assert_eq!(
            next(&pods, &HEALTHY, &[]),
            Next::Wait("potok-broker-0 is restarting".into())
        );
    }
}
