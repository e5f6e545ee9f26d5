//! Leader election on a `coordination.k8s.io` Lease, the way client-go's leaderelection
//! does it, so two replicas of the operator never reconcile at once: the holder renews the
//! lease well within its duration; another replica takes it only once it has expired.
//! Every write is a replace at the resourceVersion read, so of two replicas racing for an
//! expired lease exactly one wins (the other gets 409 Conflict).
//!
//! A holder that cannot renew in time stops reconciling by exiting: its pod restarts as a
//! candidate, and the new leader starts from a fresh view of the cluster.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// How long a lease holds without renewal (client-go's default).
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews, and a candidate tries.
pub const RETRY_PERIOD: Duration = Duration::from_secs(2);

pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

impl LeaseLock {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> LeaseLock {
        LeaseLock {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
            duration: LEASE_DURATION,
        }
    }

    /// Takes the lease when it is free or expired, renews it when it is ours; true while
    /// this process holds it.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.held_since(now, 0)),
            };
            return conflict_is_loss(self.api.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let ours = holder == Some(self.identity.as_str());
        if !ours && holder.is_some() && !expired(&spec, now) {
            return Ok(false);
        }
        lease.spec = Some(if ours {
            LeaseSpec {
                renew_time: Some(MicroTime(now)),
                lease_duration_seconds: Some(self.duration.as_secs() as i32),
                ..spec
            }
        } else {
            self.held_since(now, spec.lease_transitions.unwrap_or(0) + 1)
        });
        conflict_is_loss(
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await,
        )
    }

    /// Gives the lease up, so another replica takes over at once instead of after it
    /// expires.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        if let Err(error) = self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!("cannot release the lease {}: {error}", self.name);
        }
    }

    fn held_since(&self, now: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration.as_secs() as i32),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Waits until this process holds the lease.
    pub async fn acquire(&self) {
        let mut said = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!("leading: holds the lease {}", self.name);
                    return;
                }
                Ok(false) if !said => {
                    tracing::info!("waiting for the lease {}: another replica leads", self.name);
                    said = true;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!("cannot read the lease {}: {error}", self.name),
            }
            tokio::time::sleep(RETRY_PERIOD).await;
        }
    }

    /// Renews the lease until it is lost: taken by another replica, or not renewed within
    /// its duration. Returns why.
    pub async fn keep(&self) -> String {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(RETRY_PERIOD).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return format!("another replica took the lease {}", self.name),
                Err(error) if renewed.elapsed() >= self.duration => {
                    return format!(
                        "the lease {} could not be renewed for {:?}: {error}",
                        self.name, self.duration
                    )
                }
                Err(error) => tracing::warn!("cannot renew the lease {}: {error}", self.name),
            }
        }
    }
}

/// Whether a lease last renewed as `spec` says has run out at `now`.
fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let (Some(renewed), Some(seconds)) = (&spec.renew_time, spec.lease_duration_seconds) else {
        return true;
    };
    now.as_millisecond() - renewed.0.as_millisecond() > i64::from(seconds) * 1000
}

/// A write another replica beat us to is a lost race, not an error.
fn conflict_is_loss(result: Result<Lease, kube::Error>) -> Result<bool, kube::Error> {
    match result {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renewed(seconds_ago: i64, duration: i32) -> LeaseSpec {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        LeaseSpec {
            holder_identity: Some("other".into()),
            renew_time: Some(MicroTime(
                Timestamp::from_second(now.as_second() - seconds_ago).unwrap(),
            )),
            lease_duration_seconds: Some(duration),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_lease_expires_once_its_duration_has_passed_since_the_renewal() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        assert!(!expired(&renewed(5, 15), now));
        assert!(!expired(&renewed(15, 15), now));
        assert!(expired(&renewed(16, 15), now));
        assert!(expired(&LeaseSpec::default(), now));
    }
}
