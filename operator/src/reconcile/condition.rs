//! Status conditions with Kubernetes' rules (`meta.SetStatusCondition` in apimachinery): one
//! condition per type; `lastTransitionTime` changes only when the condition's status does,
//! so users see how long a resource has been (not) ready, not when it was last reconciled.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The condition every Potok resource reports: whether the live system matches the spec.
pub const READY: &str = "Ready";

/// `Ready` reasons any Topic or KsqlStream may report.
pub mod reason {
    /// `spec.cluster` names a cluster the runtime does not run.
    pub const CLUSTER_NOT_FOUND: &str = "ClusterNotFound";
    /// The cluster runs no ksql server for a KsqlStream.
    pub const KSQL_NOT_RUNNING: &str = "KsqlNotRunning";
}

/// A condition's status, in Kubernetes' spelling.
fn status_text(ok: bool) -> &'static str {
    if ok {
        "True"
    } else {
        "False"
    }
}

/// Puts `condition` into `conditions`, replacing the one of the same type, and keeps the
/// old `lastTransitionTime` when the status did not change.
pub fn set_condition(conditions: &mut Vec<Condition>, mut condition: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(existing) => {
            if existing.status == condition.status {
                condition.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = condition;
        }
        None => conditions.push(condition),
    }
}

/// A `Ready` condition as of `now` for the resource's `generation`.
pub fn ready(
    ok: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    condition(READY, ok, reason, message, generation, now)
}

/// A condition of `type_` as of `now` for the resource's `generation`.
pub fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: status_text(ok).into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: now.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    #[test]
    fn a_new_condition_type_is_added() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            ready(true, "Created", "", Some(1), &at(10)),
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, at(10));
    }

    #[test]
    fn the_transition_time_stays_while_the_status_does() {
        let mut conditions = vec![ready(true, "Created", "", Some(1), &at(10))];
        set_condition(
            &mut conditions,
            ready(true, "UpToDate", "ok", Some(2), &at(20)),
        );
        assert_eq!(conditions.len(), 1);
        let ready_now = &conditions[0];
        assert_eq!(ready_now.last_transition_time, at(10));
        assert_eq!(ready_now.reason, "UpToDate");
        assert_eq!(ready_now.observed_generation, Some(2));
    }

    #[test]
    fn the_transition_time_moves_with_the_status() {
        let mut conditions = vec![ready(true, "Created", "", Some(1), &at(10))];
        set_condition(
            &mut conditions,
            ready(false, "Invalid", "no", Some(2), &at(20)),
        );
        assert_eq!(conditions[0].last_transition_time, at(20));
        assert_eq!(conditions[0].status, "False");
    }
}
