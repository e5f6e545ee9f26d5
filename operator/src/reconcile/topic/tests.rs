//! Every decision of the Topic reconciler, one story per test: given this resource and this
//! live topic, these actions and this status.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::reconcile::condition::ready;
use crate::resources::topic::{TopicSpec, PARTITIONS_RANGE};
use crate::resources::TopicStatus;

const GENERATION: i64 = 4;
const LIVE_ID: &str = "kPZ8a3yFQ4yV0cL9n1xXtA";

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(seconds).unwrap())
}

fn now() -> Time {
    at(1_000)
}

fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The example's `test` topic: 3 partitions, 3 replicas, `min.insync.replicas=2`.
fn resource(change: impl FnOnce(&mut TopicSpec)) -> Topic {
    let mut spec = TopicSpec {
        cluster: "potok".into(),
        topic_name: None,
        partitions: 3,
        replicas: 3,
        config: map(&[("min.insync.replicas", "2")]),
        deletion_policy: Default::default(),
    };
    change(&mut spec);
    let mut topic = Topic::new("test", spec);
    topic.metadata.generation = Some(GENERATION);
    topic
}

/// `topic` as this resource left it after creating and observing it.
fn owned(mut topic: Topic) -> Topic {
    topic.status = Some(TopicStatus {
        topic_name: Some("test".into()),
        topic_id: Some(LIVE_ID.into()),
        partitions: Some(3),
        replicas: Some(3),
        observed_generation: Some(GENERATION - 1),
        conditions: vec![ready(true, reason::CREATED, "created", Some(1), &at(10))],
    });
    topic
}

fn adopt(mut topic: Topic, value: &str) -> Topic {
    topic
        .annotations_mut()
        .insert(ADOPT_ANNOTATION.into(), value.into());
    topic
}

/// A live topic on four brokers with these partitions' replication factors and configs set
/// on it; every other config Kafka reports comes from the defaults.
fn live(replication_factors: &[i32], on_topic: &[(&str, &str)]) -> ObservedTopic {
    let mut configs: BTreeMap<String, LiveConfig> = [
        ("cleanup.policy", "delete"),
        ("min.insync.replicas", "1"),
        ("retention.ms", "604800000"),
    ]
    .iter()
    .map(|(name, value)| {
        let config = LiveConfig {
            value: Some(value.to_string()),
            source: ConfigSource::Default,
        };
        (name.to_string(), config)
    })
    .collect();
    for (name, value) in on_topic {
        let config = LiveConfig {
            value: Some(value.to_string()),
            source: ConfigSource::Topic,
        };
        configs.insert(name.to_string(), config);
    }
    ObservedTopic {
        id: LIVE_ID.into(),
        partition_replicas: replication_factors
            .iter()
            .enumerate()
            .map(|(index, &count)| (0..count).map(|k| (index as i32 + k) % 4 + 1).collect())
            .collect(),
        reassigning: 0,
        brokers: vec![1, 2, 3, 4],
        configs,
    }
}

/// The example topic as this resource created it.
fn as_created() -> ObservedTopic {
    live(&[3, 3, 3], &[("min.insync.replicas", "2")])
}

fn ready_condition(plan: &TopicPlan) -> &Condition {
    let conditions = &plan.status.conditions;
    assert_eq!(conditions.len(), 1, "{conditions:?}");
    &conditions[0]
}

/// Checks the `Ready` condition's status, reason and that its message contains each of
/// `words`.
fn assert_ready(plan: &TopicPlan, status: &str, reason: &str, words: &[&str]) {
    let condition = ready_condition(plan);
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        (status, reason),
        "{condition:?}"
    );
    for word in words {
        assert!(
            condition.message.contains(word),
            "{word:?} not in {:?}",
            condition.message
        );
    }
    assert_eq!(condition.observed_generation, Some(GENERATION));
    assert_eq!(plan.status.observed_generation, Some(GENERATION));
}

#[test]
fn an_absent_topic_is_created_with_the_spec() {
    let plan = plan(&resource(|_| {}), None, &now());
    assert_eq!(
        plan.actions,
        [TopicAction::CreateTopic {
            name: "test".into(),
            partitions: 3,
            replicas: 3,
            configs: map(&[("min.insync.replicas", "2")]),
        }]
    );
    assert_ready(
        &plan,
        "True",
        reason::CREATED,
        &["3 partitions", "3 replicas"],
    );
    assert_eq!(plan.status.topic_name.as_deref(), Some("test"));
    assert_eq!(plan.status.topic_id, None);
    assert_eq!(
        (plan.status.partitions, plan.status.replicas),
        (Some(3), Some(3))
    );
    assert_eq!(ready_condition(&plan).last_transition_time, now());
}

#[test]
fn spec_topic_name_names_the_live_topic() {
    let topic = resource(|s| s.topic_name = Some("orders.v2".into()));
    let plan = plan(&topic, None, &now());
    assert_eq!(plan.topic_name, "orders.v2");
    assert!(matches!(
        &plan.actions[0],
        TopicAction::CreateTopic { name, .. } if name == "orders.v2"
    ));
}

#[test]
fn a_topic_deleted_by_hand_is_created_again() {
    let plan = plan(&owned(resource(|_| {})), None, &now());
    assert!(matches!(
        plan.actions[..],
        [TopicAction::CreateTopic { .. }]
    ));
    assert_ready(&plan, "True", reason::CREATED, &["again"]);
    // The old id is forgotten, so the new topic is ours once observed.
    assert_eq!(plan.status.topic_id, None);
}

#[test]
fn a_topic_matching_the_spec_is_up_to_date() {
    let plan = plan(&owned(resource(|_| {})), Some(&as_created()), &now());
    assert_eq!(plan.actions, []);
    assert_ready(&plan, "True", reason::UP_TO_DATE, &["3 partitions"]);
    assert_eq!(plan.status.topic_id.as_deref(), Some(LIVE_ID));
}

#[test]
fn the_id_of_a_created_topic_is_recorded_when_first_seen() {
    let mut topic = owned(resource(|_| {}));
    topic.status.as_mut().unwrap().topic_id = None;
    let plan = plan(&topic, Some(&as_created()), &now());
    assert_eq!(plan.actions, []);
    assert_ready(&plan, "True", reason::UP_TO_DATE, &[]);
    assert_eq!(plan.status.topic_id.as_deref(), Some(LIVE_ID));
}

#[test]
fn partitions_grow_to_the_spec() {
    let topic = owned(resource(|s| s.partitions = 6));
    let plan = plan(&topic, Some(&as_created()), &now());
    assert_eq!(plan.actions, [TopicAction::CreatePartitions { total: 6 }]);
    assert_ready(&plan, "True", reason::UPDATED, &["partitions 3 → 6"]);
    assert_eq!(plan.status.partitions, Some(6));
}

#[test]
fn a_partition_decrease_is_refused_and_the_topic_left_alone() {
    let topic = owned(resource(|s| {
        s.partitions = 4;
        s.config.insert("retention.ms".into(), "1000".into());
    }));
    let six = live(&[3; 6], &[("min.insync.replicas", "2")]);
    let plan = plan(&topic, Some(&six), &now());
    assert_eq!(plan.actions, [], "not even the config changes");
    assert_ready(
        &plan,
        "False",
        reason::NOT_SUPPORTED,
        &[
            "has 6 partitions and spec.partitions is 4",
            "cannot remove partitions",
            "set spec.partitions to 6",
            "create a new Topic with 4 partitions and move producers and consumers",
        ],
    );
    assert_eq!(plan.status.partitions, Some(6));
}

#[test]
fn partitions_added_by_hand_are_reported_not_removed() {
    let five = live(&[3; 5], &[("min.insync.replicas", "2")]);
    let plan = plan(&owned(resource(|_| {})), Some(&five), &now());
    assert_eq!(plan.actions, []);
    assert_ready(
        &plan,
        "False",
        reason::NOT_SUPPORTED,
        &["has 5 partitions and spec.partitions is 3"],
    );
}

#[test]
fn a_new_config_is_set() {
    let topic = owned(resource(|s| {
        s.config.insert("cleanup.policy".into(), "compact".into());
    }));
    let plan = plan(&topic, Some(&as_created()), &now());
    assert_eq!(
        plan.actions,
        [TopicAction::AlterConfigs {
            set: map(&[("cleanup.policy", "compact")]),
            delete: vec![],
        }]
    );
    assert_ready(
        &plan,
        "True",
        reason::UPDATED,
        &["cleanup.policy set to compact"],
    );
}

#[test]
fn a_changed_config_is_set() {
    let topic = owned(resource(|s| {
        s.config.insert("min.insync.replicas".into(), "3".into());
    }));
    let plan = plan(&topic, Some(&as_created()), &now());
    assert_eq!(
        plan.actions,
        [TopicAction::AlterConfigs {
            set: map(&[("min.insync.replicas", "3")]),
            delete: vec![],
        }]
    );
    assert_ready(
        &plan,
        "True",
        reason::UPDATED,
        &["min.insync.replicas 2 → 3"],
    );
}

#[test]
fn a_config_removed_from_the_spec_goes_back_to_its_default() {
    let topic = owned(resource(|s| s.config.clear()));
    let plan = plan(&topic, Some(&as_created()), &now());
    assert_eq!(
        plan.actions,
        [TopicAction::AlterConfigs {
            set: BTreeMap::new(),
            delete: vec!["min.insync.replicas".into()],
        }]
    );
    assert_ready(
        &plan,
        "True",
        reason::UPDATED,
        &["min.insync.replicas reset to its default"],
    );
}

#[test]
fn configs_changed_by_hand_are_reverted() {
    // Someone ran kafka-configs: changed min.insync.replicas and added retention.ms.
    let drifted = live(
        &[3, 3, 3],
        &[("min.insync.replicas", "1"), ("retention.ms", "1000")],
    );
    let plan = plan(&owned(resource(|_| {})), Some(&drifted), &now());
    assert_eq!(
        plan.actions,
        [TopicAction::AlterConfigs {
            set: map(&[("min.insync.replicas", "2")]),
            delete: vec!["retention.ms".into()],
        }]
    );
    assert_ready(
        &plan,
        "True",
        reason::UPDATED,
        &[
            "min.insync.replicas 1 → 2",
            "retention.ms reset to its default",
        ],
    );
}

#[test]
fn actions_run_partitions_first_then_configs_then_reassignment() {
    let topic = owned(resource(|s| {
        s.partitions = 4;
        s.replicas = 2;
        s.config.insert("retention.ms".into(), "1000".into());
    }));
    let plan = plan(&topic, Some(&as_created()), &now());
    assert_eq!(
        plan.actions,
        [
            TopicAction::CreatePartitions { total: 4 },
            TopicAction::AlterConfigs {
                set: map(&[("retention.ms", "1000")]),
                delete: vec![],
            },
            TopicAction::Reassign {
                targets: BTreeMap::from([(0, vec![1, 2]), (1, vec![2, 3]), (2, vec![3, 4])]),
            },
        ]
    );
}

#[test]
fn a_replicas_change_starts_a_reassignment_and_reports_it() {
    let topic = owned(resource(|s| s.replicas = 2));
    let plan = plan(&topic, Some(&as_created()), &now());
    assert!(matches!(&plan.actions[..], [TopicAction::Reassign { targets }] if targets.len() == 3));
    assert_ready(
        &plan,
        "False",
        reason::REASSIGNING,
        &["started moving 3 partition(s) of topic test from 3 replicas to 2 replicas"],
    );
    assert_eq!(plan.status.replicas, Some(3), "the live replicas");
}

#[test]
fn a_reassignment_in_progress_is_reported_not_restarted() {
    let mut moving = live(&[2, 2, 2], &[("min.insync.replicas", "2")]);
    moving.reassigning = 1;
    let topic = owned(resource(|s| s.replicas = 2));
    let in_progress = plan(&topic, Some(&moving), &now());
    assert!(in_progress.actions.is_empty());
    assert_ready(
        &in_progress,
        "False",
        reason::REASSIGNING,
        &["1 of 3 partitions are still catching up"],
    );
    moving.reassigning = 0;
    let done = plan(&topic, Some(&moving), &now());
    assert_ready(&done, "True", reason::UP_TO_DATE, &["2 replicas"]);
}

#[test]
fn uneven_replicas_are_reassigned_too() {
    let uneven = live(&[3, 2, 3], &[("min.insync.replicas", "2")]);
    let plan = plan(&owned(resource(|_| {})), Some(&uneven), &now());
    assert_eq!(
        plan.actions,
        [TopicAction::Reassign {
            targets: BTreeMap::from([(1, vec![2, 3, 4])]),
        }]
    );
    assert_ready(&plan, "False", reason::REASSIGNING, &["2 or 3 replicas"]);
    assert_eq!(plan.status.replicas, Some(2), "the smallest");
}

#[test]
fn min_insync_replicas_above_the_live_replicas_waits_for_the_reassignment() {
    let topic = owned(resource(|s| {
        s.replicas = 4;
        s.config.insert("min.insync.replicas".into(), "4".into());
    }));
    let plan = plan(&topic, Some(&as_created()), &now());
    assert!(matches!(&plan.actions[..], [TopicAction::Reassign { .. }]));
    assert_ready(
        &plan,
        "False",
        reason::REASSIGNING,
        &["min.insync.replicas 4 waits for it"],
    );
}

#[test]
fn more_replicas_than_brokers_are_refused_and_the_rest_applied() {
    let mut three_brokers = as_created();
    three_brokers.brokers = vec![1, 2, 3];
    let topic = owned(resource(|s| {
        s.replicas = 4;
        s.config.insert("retention.ms".into(), "1000".into());
    }));
    let plan = plan(&topic, Some(&three_brokers), &now());
    assert!(matches!(
        &plan.actions[..],
        [TopicAction::AlterConfigs { .. }]
    ));
    assert_ready(
        &plan,
        "False",
        reason::NOT_ENOUGH_BROKERS,
        &[
            "spec.replicas is 4 but the cluster has 3 live broker(s)",
            "keeps 3 replicas",
        ],
    );
}

#[test]
fn an_invalid_spec_is_reported_and_nothing_done() {
    let topic = owned(resource(|s| s.partitions = 0));
    let plan = plan(&topic, Some(&as_created()), &now());
    assert_eq!(plan.actions, []);
    assert_ready(&plan, "False", reason::INVALID, &[PARTITIONS_RANGE]);
    assert_eq!(plan.status.partitions, Some(3), "the last seen topic stays");
    assert_eq!(ready_condition(&plan).last_transition_time, now());
}

#[test]
fn an_invalid_spec_creates_nothing() {
    let topic = resource(|s| {
        s.config.insert("min.insync.replicas".into(), "two".into());
    });
    let plan = plan(&topic, None, &now());
    assert_eq!(plan.actions, []);
    assert_ready(&plan, "False", reason::INVALID, &["min.insync.replicas"]);
    assert_eq!(plan.status.topic_name, None);
}

#[test]
fn a_renamed_topic_is_refused() {
    let topic = owned(resource(|s| s.topic_name = Some("renamed".into())));
    let plan = plan(&topic, None, &now());
    assert_eq!(plan.actions, [], "no topic created under the new name");
    assert_ready(&plan, "False", reason::INVALID, &[TOPIC_NAME_IMMUTABLE]);
    assert_eq!(plan.status.topic_name.as_deref(), Some("test"));
}

#[test]
fn a_topic_created_by_someone_else_is_not_touched() {
    let theirs = live(&[1], &[("retention.ms", "1000")]);
    let plan = plan(&resource(|_| {}), Some(&theirs), &now());
    assert_eq!(plan.actions, []);
    assert_ready(
        &plan,
        "False",
        reason::NOT_OWNED,
        &[
            "topic test already exists and was not created by this Topic",
            "potok.dev/adopt: \"true\"",
        ],
    );
    assert_eq!(plan.status.topic_name, None, "not claimed");
    assert_eq!(plan.status.topic_id, None);
}

#[test]
fn only_the_annotation_set_to_true_adopts() {
    let theirs = live(&[3, 3, 3], &[]);
    let topic = adopt(resource(|_| {}), "yes");
    let plan = plan(&topic, Some(&theirs), &now());
    assert_eq!(plan.actions, []);
    assert_ready(&plan, "False", reason::NOT_OWNED, &[ADOPT_ANNOTATION]);
}

#[test]
fn an_adopted_topic_follows_the_spec() {
    let theirs = live(&[3, 3], &[("retention.ms", "1000")]);
    let topic = adopt(resource(|_| {}), "true");
    let plan = plan(&topic, Some(&theirs), &now());
    assert_eq!(
        plan.actions,
        [
            TopicAction::CreatePartitions { total: 3 },
            TopicAction::AlterConfigs {
                set: map(&[("min.insync.replicas", "2")]),
                delete: vec!["retention.ms".into()],
            },
        ]
    );
    assert_ready(&plan, "True", reason::ADOPTED, &["adopted topic test"]);
    assert_eq!(plan.status.topic_name.as_deref(), Some("test"));
    assert_eq!(plan.status.topic_id.as_deref(), Some(LIVE_ID));
}

#[test]
fn an_adopted_topic_that_matches_says_so() {
    let topic = adopt(resource(|_| {}), "true");
    let plan = plan(&topic, Some(&as_created()), &now());
    assert_eq!(plan.actions, []);
    assert_ready(&plan, "True", reason::ADOPTED, &["adopted topic test"]);
}

#[test]
fn a_topic_recreated_by_someone_else_is_not_adopted_silently() {
    let mut recreated = as_created();
    recreated.id = "other-id".into();
    let plan = plan(&owned(resource(|_| {})), Some(&recreated), &now());
    assert_eq!(plan.actions, []);
    assert_ready(
        &plan,
        "False",
        reason::NOT_OWNED,
        &[
            "deleted and created again outside the operator",
            LIVE_ID,
            "other-id",
            ADOPT_ANNOTATION,
        ],
    );
    assert_eq!(plan.status.topic_id.as_deref(), Some(LIVE_ID));
    // With the annotation it is taken over and its id recorded.
    let plan = super::plan(
        &adopt(owned(resource(|_| {})), "true"),
        Some(&recreated),
        &now(),
    );
    assert_ready(&plan, "True", reason::ADOPTED, &[]);
    assert_eq!(plan.status.topic_id.as_deref(), Some("other-id"));
}

#[test]
fn the_transition_time_stays_while_ready_does() {
    // Ready=True since 10 (Created); now up to date, then updated: still since 10.
    let up_to_date = plan(&owned(resource(|_| {})), Some(&as_created()), &now());
    assert_eq!(ready_condition(&up_to_date).last_transition_time, at(10));
    let grown = plan(
        &owned(resource(|s| s.partitions = 6)),
        Some(&as_created()),
        &now(),
    );
    assert_eq!(ready_condition(&grown).last_transition_time, at(10));
}

#[test]
fn the_transition_time_moves_when_ready_does_and_stays_after() {
    let mut topic = owned(resource(|s| s.partitions = 2));
    let refused = plan(&topic, Some(&as_created()), &now());
    assert_eq!(ready_condition(&refused).last_transition_time, now());
    // Reconciled again later, still refused: the time of the transition to False stays.
    topic.status = Some(refused.status);
    let again = plan(&topic, Some(&as_created()), &at(2_000));
    assert_eq!(ready_condition(&again).last_transition_time, now());
    assert_eq!(ready_condition(&again).reason, reason::NOT_SUPPORTED);
}

#[test]
fn a_failed_reconcile_reports_the_error_and_keeps_the_last_seen_topic() {
    let topic = owned(resource(|s| s.partitions = 6));
    let status = failed(&topic, "InvalidPartitions", "too many".into(), &now());
    let condition = &status.conditions[0];
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        ("False", "InvalidPartitions")
    );
    assert_eq!(condition.message, "too many");
    assert_eq!(condition.last_transition_time, now());
    assert_eq!(status.observed_generation, Some(GENERATION));
    assert_eq!(status.partitions, Some(3));
    assert_eq!(status.topic_id.as_deref(), Some(LIVE_ID));
}

#[test]
fn the_newer_of_two_topics_for_one_topic_is_in_conflict() {
    let at = |seconds: i64| Some(Time(Timestamp::from_second(seconds).unwrap()));
    let mut older = resource(|_| {});
    older.metadata.creation_timestamp = at(100);
    let mut newer = resource(|s| s.topic_name = Some("test".into()));
    newer.metadata.name = Some("test-again".into());
    newer.metadata.creation_timestamp = at(200);
    let mut elsewhere = newer.clone();
    elsewhere.metadata.name = Some("elsewhere".into());
    elsewhere.spec.cluster = "other".into();
    let all = [older.clone(), newer.clone(), elsewhere.clone()];
    assert_eq!(conflict(&older, &all), None);
    let message = conflict(&newer, &all).unwrap();
    assert!(
        message.contains("managed by the older Topic test"),
        "{message}"
    );
    assert_eq!(conflict(&elsewhere, &all), None, "another cluster's topic");
}
