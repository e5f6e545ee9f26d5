//! What the KafkaCluster reconciler reads of the live cluster: its pods as the roll sees
//! them, and the metadata quorum as the coordinators' `/metrics` report it.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use super::objects::{role_of, Role};
use super::roll::{PodView, QuorumView};
use crate::local::plan::BROKER_METRICS_PORT;

/// The label the StatefulSet controller puts on each pod: the revision it was made from.
const REVISION_LABEL: &str = "controller-revision-hash";
/// Waiting reasons of a container that will not start without a change.
const STUCK_REASONS: [&str; 5] = [
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "InvalidImageName",
];
/// How far behind the most advanced voter a coordinator may be and still count as caught
/// up: brokers' heartbeats keep the log moving while the voters are scraped one by one.
const QUORUM_SLACK: i64 = 100;

/// The pods of `sets` (the cluster's StatefulSets, keyed by role) as the roll sees them.
/// `None` while a StatefulSet has not yet taken in its latest template, so which pods
/// are outdated is not known.
pub fn pod_views(pods: &[Pod], sets: &BTreeMap<Role, StatefulSet>) -> Option<Vec<PodView>> {
    let mut revisions = BTreeMap::new();
    for (role, set) in sets {
        // A StatefulSet just made has no status and no pods to judge yet.
        let Some(status) = set.status.as_ref() else {
            revisions.insert(*role, None);
            continue;
        };
        if status.observed_generation < set.metadata.generation {
            return None;
        }
        revisions.insert(*role, status.update_revision.clone());
    }
    let mut views: Vec<PodView> = pods
        .iter()
        .filter_map(|pod| {
            let role = role_of(pod)?;
            let ordinal: u32 = pod.name_any().rsplit('-').next()?.parse().ok()?;
            let current = revisions.get(&role)?;
            let revision = pod.labels().get(REVISION_LABEL);
            Some(PodView {
                name: pod.name_any(),
                role,
                node_id: role.node_id(ordinal),
                outdated: current.is_some() && revision != current.as_ref(),
                ready: is_ready(pod),
                terminating: pod.metadata.deletion_timestamp.is_some(),
                stuck: stuck(pod),
            })
        })
        .collect();
    views.sort_by_key(|view| (view.role, view.node_id));
    Some(views)
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// Why `pod` cannot run without a change: a container waiting for a reason that does not
/// pass by itself, or no node to schedule it on.
pub fn stuck(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let waiting = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .find(|reason| STUCK_REASONS.contains(&reason.as_str()));
    if waiting.is_some() {
        return waiting;
    }
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        })
        .map(|c| {
            format!(
                "Unschedulable: {}",
                c.message.as_deref().unwrap_or_default()
            )
        })
}

/// What one coordinator reports of the quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoterReport {
    pub leader: i64,
    pub applied: i64,
}

/// Reads a coordinator's report from its `/metrics` text.
pub fn parse_report(metrics: &str) -> Option<VoterReport> {
    let value = |name: &str| {
        metrics.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(' ')?;
            rest.trim().parse::<f64>().ok().map(|v| v as i64)
        })
    };
    Some(VoterReport {
        leader: value("potok_quorum_leader_id")?,
        applied: value("potok_quorum_applied_index")?,
    })
}

/// The quorum as `reports` (one per voter, `None` for one that did not answer) describe it:
/// a leader when every voter names the same one, caught up when every voter answered and
/// is within a few entries of the most advanced.
pub fn quorum(reports: &[Option<VoterReport>]) -> QuorumView {
    let answered: Vec<VoterReport> = reports.iter().flatten().copied().collect();
    if answered.is_empty() || answered.len() < reports.len() {
        return QuorumView {
            leader: agreed_leader(&answered),
            caught_up: false,
        };
    }
    let newest = answered.iter().map(|r| r.applied).max().unwrap_or_default();
    QuorumView {
        leader: agreed_leader(&answered),
        caught_up: answered.iter().all(|r| r.applied >= newest - QUORUM_SLACK),
    }
}

fn agreed_leader(answered: &[VoterReport]) -> Option<i32> {
    let first = answered.first()?.leader;
    (first >= 0 && answered.iter().all(|r| r.leader == first)).then_some(first as i32)
}

/// Scrapes every ready coordinator pod among `pods` at its pod IP; one not ready (starting,
/// terminating) counts as a voter that did not answer.
pub async fn scrape_quorum(pods: &[Pod]) -> QuorumView {
    let mut reports = Vec::new();
    for pod in pods
        .iter()
        .filter(|pod| role_of(*pod) == Some(Role::Coordinator))
    {
        let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
        let report = match ip {
            Some(ip) if is_ready(pod) && pod.metadata.deletion_timestamp.is_none() => {
                scrape(format!("http://{ip}:{BROKER_METRICS_PORT}/metrics")).await
            }
            _ => None,
        };
        reports.push(report);
    }
    quorum(&reports)
}

async fn scrape(url: String) -> Option<VoterReport> {
    let text = tokio::task::spawn_blocking(move || {
        // The connect timeout too: the agent's default is 30 s, for an address that may
        // have just gone away with its pod.
        ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(1))
            .timeout(Duration::from_secs(2))
            .build()
            .get(&url)
            .call()
            .ok()?
            .into_string()
            .ok()
    })
    .await
    .ok()??;
    parse_report(&text)
}

#[cfg(test)]
mod tests {
    use super::super::objects::COMPONENT_LABEL;
    use super::*;
    use serde_json::json;

    fn pod(name: &str, revision: &str, status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {
                "name": name,
                "labels": { COMPONENT_LABEL: "broker", REVISION_LABEL: revision },
            },
            "status": status,
        }))
        .unwrap()
    }

    fn set(generation: i64, observed: i64, revision: &str) -> StatefulSet {
        serde_json::from_value(json!({
            "metadata": { "name": "potok-broker", "generation": generation },
            "status": { "replicas": 3, "observedGeneration": observed, "updateRevision": revision },
        }))
        .unwrap()
    }

    #[test]
    fn pods_are_outdated_ready_or_stuck_as_their_status_says() {
        let pods = [
            pod(
                "potok-broker-0",
                "r2",
                json!({ "conditions": [{ "type": "Ready", "status": "True" }] }),
            ),
            pod(
                "potok-broker-1",
                "r1",
                json!({ "containerStatuses": [{ "name": "broker", "image": "potok", "imageID": "", "ready": false, "restartCount": 5,
                    "state": { "waiting": { "reason": "CrashLoopBackOff" } } }] }),
            ),
            pod(
                "potok-broker-2",
                "r1",
                json!({ "phase": "Pending", "conditions": [{ "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": "0/1 nodes are available: 1 Insufficient memory." }] }),
            ),
        ];
        let sets = BTreeMap::from([(Role::Broker, set(2, 2, "r2"))]);
        let views = pod_views(&pods, &sets).unwrap();
        let summary: Vec<(i32, bool, bool, Option<&str>)> = views
            .iter()
            .map(|v| (v.node_id, v.outdated, v.ready, v.stuck.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                (1, false, true, None),
                (2, true, false, Some("CrashLoopBackOff")),
                (
                    3,
                    true,
                    false,
                    Some("Unschedulable: 0/1 nodes are available: 1 Insufficient memory.")
                ),
            ]
        );
    }

    #[test]
    fn a_template_the_statefulset_has_not_taken_in_yet_is_not_judged() {
        let sets = BTreeMap::from([(Role::Broker, set(3, 2, "r2"))]);
        assert_eq!(pod_views(&[], &sets), None);
    }

    #[test]
    fn the_quorum_is_read_from_the_coordinators_metrics() {
        let text = "# HELP potok_quorum_leader_id The coordinator leading the quorum\n# TYPE potok_quorum_leader_id gauge\npotok_quorum_leader_id 102\npotok_quorum_applied_index 5000\npotok_quorum_last_log_index 5001\n";
        let report = parse_report(text).unwrap();
        assert_eq!(
            report,
            VoterReport {
                leader: 102,
                applied: 5000
            }
        );
        let at = |leader, applied| Some(VoterReport { leader, applied });
        assert_eq!(
            quorum(&[at(102, 5000), at(102, 4950), at(102, 5001)]),
            QuorumView {
                leader: Some(102),
                caught_up: true
            }
        );
        assert!(!quorum(&[at(102, 5000), at(102, 10), at(102, 5001)]).caught_up);
        assert!(!quorum(&[at(102, 5000), None, at(102, 5001)]).caught_up);
        assert_eq!(quorum(&[at(102, 5), at(101, 5), at(102, 5)]).leader, None);
        assert_eq!(quorum(&[at(-1, 5), at(-1, 5), at(-1, 5)]).leader, None);
    }
}
