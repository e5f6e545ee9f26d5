//! A KafkaCluster edited while `up` runs, applied one safe step at a time: new brokers
//! start; brokers being removed are drained through reassignment first and stopped once
//! they hold no replica; brokers whose config changed restart one at a time, each only
//! when Strimzi's rule lets it (see [`roll`](crate::reconcile::roll)) and the next only
//! once the previous is back in sync; the ksql server and the console follow their new config. The
//! coordinator quorum's size cannot change (it has no membership change), and its config
//! changes take effect at the next `up`: both are said, not done.
//!
//! Each call of [`RunningCluster::step`] does at most one thing and says whether more
//! remains, so the control loop keeps reconciling Topics and KsqlStreams meanwhile.

use std::path::PathBuf;

use anyhow::Context;
use potok_client::AdminClient;
use tokio::sync::{mpsc, oneshot};

use super::plan::{ClusterPlan, NodePlan};
use super::process::NodeCommand;
use crate::manifest::KafkaCluster;
use crate::reconcile::roll::admin::{move_partitions, observe_partitions, Moving};
use crate::reconcile::roll::{caught_up, drain_targets, roll_blockers};

/// The cluster as it runs, and the change under way.
pub struct RunningCluster {
    plan: ClusterPlan,
    root: PathBuf,
    nodes: mpsc::Sender<NodeCommand>,
    /// A broker just (re)started: nothing else happens until it is back in sync.
    waiting_for: Option<NodePlan>,
    /// What was last said about waiting, so it is said once.
    said: Option<String>,
}

impl RunningCluster {
    pub fn new(plan: ClusterPlan, root: PathBuf, nodes: mpsc::Sender<NodeCommand>) -> Self {
        RunningCluster {
            plan,
            root,
            nodes,
            waiting_for: None,
            said: None,
        }
    }

    pub fn plan(&self) -> &ClusterPlan {
        &self.plan
    }

    /// One step toward `desired`; true while the cluster does not match it yet.
    pub async fn step(
        &mut self,
        desired: &KafkaCluster,
        admin: &AdminClient,
    ) -> anyhow::Result<bool> {
        let target = ClusterPlan::new(desired, &self.root);
        self.note_coordinator_changes(&target);
        if let Some(node) = self.waiting_for.clone() {
            if !self.back_in_sync(&node, admin).await? {
                return Ok(true);
            }
            println!("{}: back in sync", node.name);
            self.waiting_for = None;
        }
        if let Some(added) = target
            .brokers
            .iter()
            .find(|node| !self.plan.brokers.iter().any(|b| b.name == node.name))
        {
            self.command(added, |node, done| NodeCommand::Start { node, done })
                .await?;
            println!("{}: started, a new broker", added.name);
            self.plan.brokers.push(added.clone());
            self.waiting_for = Some(added.clone());
            return Ok(true);
        }
        let removed: Vec<NodePlan> = self
            .plan
            .brokers
            .iter()
            .filter(|node| !target.brokers.iter().any(|b| b.name == node.name))
            .cloned()
            .collect();
        if !removed.is_empty() {
            self.drain_or_stop(&removed, admin).await?;
            return Ok(true);
        }
        let changed = target.brokers.iter().find(|node| {
            self.plan
                .brokers
                .iter()
                .any(|b| b.name == node.name && b.properties != node.properties)
        });
        if let Some(node) = changed {
            self.roll(node, admin).await?;
            return Ok(true);
        }
        if target.ksql != self.plan.ksql {
            self.follow(target.ksql.clone(), |plan| &mut plan.ksql, "ksql server")
                .await?;
            return Ok(true);
        }
        if target.ui != self.plan.ui {
            self.follow(target.ui.clone(), |plan| &mut plan.ui, "console")
                .await?;
            return Ok(true);
        }
        self.said = None;
        Ok(false)
    }

    /// Says, once per change, what the coordinators cannot do while running.
    fn note_coordinator_changes(&mut self, target: &ClusterPlan) {
        let message = if target.coordinators.len() != self.plan.coordinators.len() {
            format!(
                "{}: spec.coordinators.replicas stays {} while the cluster runs: the quorum cannot change its members; stop `up`, and start a new cluster for another quorum size",
                self.plan.name,
                self.plan.coordinators.len()
            )
        } else if target.coordinators != self.plan.coordinators {
            format!(
                "{}: the coordinators' new config takes effect at the next `up`",
                self.plan.name
            )
        } else {
            return;
        };
        self.say(message);
    }

    /// Whether a (re)started broker accepts connections and is in sync for every partition
    /// it holds.
    async fn back_in_sync(&mut self, node: &NodePlan, admin: &AdminClient) -> anyhow::Result<bool> {
        let listening = tokio::net::TcpStream::connect(&node.address).await.is_ok();
        let in_sync =
            listening && caught_up(node.node_id as i32, &observe_partitions(admin).await?);
        if !in_sync {
            self.say(format!("{}: waiting until it is back in sync", node.name));
        }
        Ok(in_sync)
    }

    /// Moves every replica off the `removed` brokers, then stops them.
    async fn drain_or_stop(
        &mut self,
        removed: &[NodePlan],
        admin: &AdminClient,
    ) -> anyhow::Result<()> {
        let removed_ids: Vec<i32> = removed.iter().map(|n| n.node_id as i32).collect();
        let remaining: Vec<i32> = self
            .plan
            .brokers
            .iter()
            .map(|n| n.node_id as i32)
            .filter(|id| !removed_ids.contains(id))
            .collect();
        let partitions = observe_partitions(admin).await?;
        let moves = drain_targets(&partitions, &removed_ids, &remaining);
        let names: Vec<&str> = removed.iter().map(|n| n.name.as_str()).collect();
        if !moves.is_empty() {
            match move_partitions(admin, &moves).await? {
                Moving::Started(count) => println!(
                    "{}: draining: moving {count} partition(s) to the other brokers",
                    names.join(", ")
                ),
                Moving::StillMoving(count) => self.say(format!(
                    "{}: draining: {count} partition(s) still moving",
                    names.join(", ")
                )),
                Moving::Refused(partition, error) => anyhow::bail!(
                    "draining {}: moving {partition} failed: {error}",
                    names.join(", ")
                ),
            }
            return Ok(());
        }
        for node in removed {
            let (done, answer) = oneshot::channel();
            self.send(NodeCommand::Remove {
                name: node.name.clone(),
                done,
            })
            .await?;
            answer.await.context("the supervisor stopped")??;
            println!(
                "{}: stopped and removed; it holds no replica any more",
                node.name
            );
            self.plan.brokers.retain(|b| b.name != node.name);
        }
        Ok(())
    }

    /// Restarts `node` with its new config when Strimzi's rule allows, else says why not.
    async fn roll(&mut self, node: &NodePlan, admin: &AdminClient) -> anyhow::Result<()> {
        let partitions = observe_partitions(admin).await?;
        let blockers = roll_blockers(node.node_id as i32, &partitions);
        if !blockers.is_empty() {
            let named: Vec<String> = blockers.iter().take(5).map(|p| p.describe()).collect();
            self.say(format!(
                "{}: waiting to restart for its new config: {} partition(s) it is in sync for have no replica in sync to spare, e.g. {}",
                node.name,
                blockers.len(),
                named.join(", ")
            ));
            return Ok(());
        }
        self.command(node, |node, done| NodeCommand::Restart { node, done })
            .await?;
        println!("{}: restarted for its new config", node.name);
        if let Some(running) = self.plan.brokers.iter_mut().find(|b| b.name == node.name) {
            *running = node.clone();
        }
        self.waiting_for = Some(node.clone());
        Ok(())
    }

    /// Starts, restarts or stops a single node (the ksql server, the console), kept in
    /// `slot` of the plan, as the new spec says.
    async fn follow(
        &mut self,
        target: Option<NodePlan>,
        slot: fn(&mut ClusterPlan) -> &mut Option<NodePlan>,
        what: &str,
    ) -> anyhow::Result<()> {
        match (slot(&mut self.plan).clone(), &target) {
            (Some(_), Some(node)) => {
                self.command(node, |node, done| NodeCommand::Restart { node, done })
                    .await?;
                println!("{}: restarted for its new config", node.name);
            }
            (None, Some(node)) => {
                self.command(node, |node, done| NodeCommand::Start { node, done })
                    .await?;
                println!("{}: started", node.name);
            }
            (Some(running), None) => {
                let (done, answer) = oneshot::channel();
                self.send(NodeCommand::Remove {
                    name: running.name.clone(),
                    done,
                })
                .await?;
                answer.await.context("the supervisor stopped")??;
                println!("{}: stopped: the spec runs no {what}", running.name);
            }
            (None, None) => {}
        }
        *slot(&mut self.plan) = target;
        Ok(())
    }

    /// Writes `node`'s properties file and has the supervisor (re)start it.
    async fn command(
        &self,
        node: &NodePlan,
        make: impl FnOnce(NodePlan, oneshot::Sender<anyhow::Result<()>>) -> NodeCommand,
    ) -> anyhow::Result<()> {
        std::fs::write(&node.properties_file, node.properties_text())
            .with_context(|| format!("cannot write {}", node.properties_file.display()))?;
        let (done, answer) = oneshot::channel();
        self.send(make(node.clone(), done)).await?;
        answer.await.context("the supervisor stopped")?
    }

    async fn send(&self, command: NodeCommand) -> anyhow::Result<()> {
        self.nodes
            .send(command)
            .await
            .map_err(|_| anyhow::anyhow!("the supervisor stopped"))
    }

    fn say(&mut self, message: String) {
        if self.said.as_ref() != Some(&message) {
            println!("{message}");
            self.said = Some(message);
        }
    }
}
