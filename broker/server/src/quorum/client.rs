//! A broker's (or a tool's) way to the quorum: proposals and heartbeats go to the leader,
//! found by following the hints of whichever coordinator answers; image watches go to any
//! coordinator.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use potok_client::Backoff;
use tokio::time::Instant;

use super::command::{CommandOutcome, MetadataCommand};
use super::rpc::{Request, Response, RpcClient, TcpTransport, Transport};
use super::state_machine::VersionedImage;
use crate::error::ApiError;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Channel {
    Requests,
    Watch,
}

#[derive(Debug)]
pub struct QuorumClient {
    voters: Vec<String>,
    transport: Arc<dyn Transport>,
    /// One connection per coordinator for proposals and heartbeats, and another for image
    /// watches: a long-polling watch must never hold up a heartbeat behind it.
    clients: Mutex<HashMap<(String, Channel), Arc<RpcClient>>>,
    /// The coordinator believed to lead.
    leader: Mutex<Option<String>>,
    /// The pauses between attempts while no leader answers (`retry.backoff.ms` doubling
    /// to `retry.backoff.max.ms`); each retried request starts from a fresh copy.
    retry_backoff: Backoff,
}

impl QuorumClient {
    /// `voters` are the coordinators' `host:port` addresses.
    pub fn new(voters: Vec<String>) -> QuorumClient {
        QuorumClient::with_transport(voters, Arc::new(TcpTransport))
    }

    pub fn with_transport(voters: Vec<String>, transport: Arc<dyn Transport>) -> QuorumClient {
        QuorumClient {
            voters,
            transport,
            clients: Mutex::new(HashMap::new()),
            leader: Mutex::new(None),
            retry_backoff: Backoff::default(),
        }
    }

    /// Retries with these pauses instead of Kafka's default ones.
    pub fn with_retry_backoff(mut self, backoff: Backoff) -> QuorumClient {
        self.retry_backoff = backoff;
        self
    }

    /// A fresh backoff for a loop that retries calls to the quorum.
    pub fn retry_backoff(&self) -> Backoff {
        let mut backoff = self.retry_backoff.clone();
        backoff.reset();
        backoff
    }

    fn client(&self, address: &str, channel: Channel) -> Arc<RpcClient> {
        self.clients
            .lock()
            .expect("client lock poisoned")
            .entry((address.to_string(), channel))
            .or_insert_with(|| Arc::new(RpcClient::new(address, self.transport.clone())))
            .clone()
    }

    /// Sends `request` to the leader, retrying through elections until `patience` runs out.
    /// Each attempt gets at most half the patience: a leader cut off the network answers
    /// nothing, and waiting on it for all of a heartbeat's patience would let the broker's
    /// lease lapse on the new leader before this client tried another coordinator.
    async fn to_leader(&self, request: Request, patience: Duration) -> Result<Response, ApiError> {
        let deadline = Instant::now() + patience;
        let attempt_timeout = REQUEST_TIMEOUT.min(patience / 2);
        let mut backoff = self.retry_backoff();
        let mut next_voter = 0;
        loop {
            let target = self
                .leader
                .lock()
                .expect("leader lock poisoned")
                .clone()
                .unwrap_or_else(|| {
                    next_voter += 1;
                    self.voters[next_voter % self.voters.len()].clone()
                });
            match self
                .client(&target, Channel::Requests)
                .call(&request, attempt_timeout)
                .await
            {
                Ok(Response::NotLeader { leader }) => {
                    *self.leader.lock().expect("leader lock poisoned") = leader;
                }
                Ok(Response::Proposed {
                    outcome: CommandOutcome::Refused { code, .. },
                    ..
                }) if code == ResponseError::NotController.code() => {
                    *self.leader.lock().expect("leader lock poisoned") = None;
                }
                Ok(response) => {
                    *self.leader.lock().expect("leader lock poisoned") = Some(target);
                    return Ok(response);
                }
                Err(e) => {
                    tracing::debug!("coordinator {target} unreachable: {e}");
                    *self.leader.lock().expect("leader lock poisoned") = None;
                }
            }
            if Instant::now() >= deadline {
                return Err(ApiError::new(
                    ResponseError::NotController,
                    "No coordinator leads the metadata quorum; check that a majority of controller.quorum.voters is running",
                ));
            }
            let pause = backoff.next_delay();
            tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// Commits `command`; a refused command comes back as the error it was refused with.
    /// Also answers the log index it was committed at, which the image's version reaches
    /// once it is applied.
    pub async fn propose(
        &self,
        command: MetadataCommand,
        patience: Duration,
    ) -> Result<(CommandOutcome, u64), ApiError> {
        match self.to_leader(Request::Propose(command), patience).await? {
            Response::Proposed { outcome, index } => Ok((outcome.into_result()?, index)),
            other => Err(unexpected(other)),
        }
    }

    /// Renews `broker_id`'s lease (and unfences it when it was fenced).
    pub async fn heartbeat(&self, broker_id: i32, patience: Duration) -> Result<(), ApiError> {
        match self
            .to_leader(Request::Heartbeat { broker_id }, patience)
            .await?
        {
            Response::HeartbeatAccepted => Ok(()),
            Response::Proposed { outcome, .. } => outcome.into_result().map(|_| ()),
            other => Err(unexpected(other)),
        }
    }

    /// The first image newer than `after` from any coordinator, or the current one after
    /// `wait`. Tries each voter in turn.
    pub async fn watch(&self, after: u64, wait: Duration) -> Result<VersionedImage, ApiError> {
        for voter in &self.voters {
            let request = Request::Watch {
                after,
                wait_ms: wait.as_millis() as u64,
            };
            match self
                .client(voter, Channel::Watch)
                .call(&request, wait + REQUEST_TIMEOUT)
                .await
            {
                Ok(Response::Image { version, image }) => {
                    return Ok(VersionedImage {
                        version,
                        image: Arc::new(image),
                    })
                }
                Ok(other) => return Err(unexpected(other)),
                Err(e) => tracing::debug!("coordinator {voter} unreachable: {e}"),
            }
        }
        Err(ApiError::new(
            ResponseError::NotController,
            "No coordinator in controller.quorum.voters is reachable",
        ))
    }
}

fn unexpected(response: Response) -> ApiError {
    ApiError::new(
        ResponseError::UnknownServerError,
        format!("unexpected answer from the quorum: {response:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::BoxFuture;
    use crate::quorum::rpc::{read_frame, write_frame, Stream};

    /// Coordinators in memory: `silent` takes connections and never answers (a leader cut
    /// off the network); `follower` points at `leader`, which accepts heartbeats.
    #[derive(Debug)]
    struct Coordinators;

    impl Transport for Coordinators {
        fn connect<'a>(
            &'a self,
            address: &'a str,
        ) -> BoxFuture<'a, std::io::Result<Box<dyn Stream>>> {
            Box::pin(async move {
                let (client, mut server) = tokio::io::duplex(64 * 1024);
                let address = address.to_string();
                tokio::spawn(async move {
                    while let Ok(Some(request)) = read_frame::<Request, _>(&mut server).await {
                        let answer = match (address.as_str(), request) {
                            ("silent", _) => std::future::pending().await,
                            ("follower", _) => Response::NotLeader {
                                leader: Some("leader".into()),
                            },
                            (_, Request::Heartbeat { .. }) => Response::HeartbeatAccepted,
                            (_, _) => Response::NotLeader { leader: None },
                        };
                        if write_frame(&mut server, &answer).await.is_err() {
                            return;
                        }
                    }
                });
                Ok(Box::new(client) as Box<dyn Stream>)
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_leader_does_not_hold_a_heartbeat_past_its_patience() {
        let voters = ["silent", "follower", "leader"].map(String::from).to_vec();
        let quorum = QuorumClient::with_transport(voters, Arc::new(Coordinators));
        *quorum.leader.lock().unwrap() = Some("silent".into());
        let patience = Duration::from_secs(4);
        let started = Instant::now();
        quorum.heartbeat(1, patience).await.unwrap();
        assert!(started.elapsed() < patience, "took {:?}", started.elapsed());
        assert_eq!(quorum.leader.lock().unwrap().as_deref(), Some("leader"));
    }
}
