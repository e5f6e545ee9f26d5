//! Three coordinators on loopback: commits reach every node, a killed leader is replaced
//! within seconds without losing anything committed, a restarted node catches up from its
//! own disk, and brokers without heartbeats are fenced.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use potok_broker::metadata::{BrokerInfo, NewTopic};
use potok_broker::quorum::{
    CommandOutcome, Coordinator, CoordinatorConfig, MetadataCommand, NodeId, QuorumClient,
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

struct Running {
    coordinator: Arc<Coordinator>,
    server: JoinHandle<()>,
}

async fn start(id: NodeId, voters: &BTreeMap<NodeId, String>, root: &Path) -> Running {
    let listener = TcpListener::bind(&voters[&id]).await.unwrap();
    let coordinator = Coordinator::start(CoordinatorConfig {
        node_id: id,
        voters: voters.clone(),
        data_dir: root.join(format!("coordinator-{id}")),
        broker_session_timeout: Duration::from_millis(1500),
    })
    .await
    .unwrap();
    let server = tokio::spawn(coordinator.clone().serve(listener));
    Running {
        coordinator,
        server,
    }
}

async fn stop(running: Running) {
    running.server.abort();
    running.coordinator.shutdown().await;
}

async fn free_addresses(count: usize) -> Vec<String> {
    let mut addresses = Vec::new();
    for _ in 0..count {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addresses.push(listener.local_addr().unwrap().to_string());
    }
    addresses
}

fn topic(name: &str) -> MetadataCommand {
    MetadataCommand::CreateTopic {
        topic: NewTopic {
            name: name.into(),
            partitions: 3,
            replication_factor: 3,
            assignments: Vec::new(),
            configs: BTreeMap::new(),
            validate_only: false,
        },
        id: Uuid::new_v4(),
    }
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_survive_leader_loss_and_restarts() {
    let root = tempfile::tempdir().unwrap();
    let addresses = free_addresses(3).await;
    let voters: BTreeMap<NodeId, String> = (1..=3).zip(addresses.clone()).collect();
    let mut nodes = BTreeMap::new();
    for id in 1..=3 {
        nodes.insert(id, start(id, &voters, root.path()).await);
    }
    let client = QuorumClient::new(addresses.clone());
    let patience = Duration::from_secs(15);
    for id in 1..=3 {
        let broker = BrokerInfo {
            id,
            host: "127.0.0.1".into(),
            port: 9000 + id as u16,
            rack: None,
            endpoints: Vec::new(),
        };
        client
            .propose(MetadataCommand::RegisterBroker { broker }, patience)
            .await
            .unwrap();
        client.heartbeat(id, patience).await.unwrap();
    }
    let (created, _) = client.propose(topic("first"), patience).await.unwrap();
    assert!(matches!(created, CommandOutcome::Topic(ref t) if t.partitions.len() == 3));
    let duplicate = client.propose(topic("first"), patience).await.unwrap_err();
    assert_eq!(
        duplicate.error,
        kafka_protocol::error::ResponseError::TopicAlreadyExists
    );

    for node in nodes.values() {
        let images = node.coordinator.images();
        wait_until("every coordinator applied the topic", || {
            images.borrow().image.topics.contains_key("first")
        })
        .await;
    }
    let cluster_id = nodes[&1]
        .coordinator
        .images()
        .borrow()
        .image
        .cluster_id
        .clone();
    wait_until("the cluster is named", || {
        !nodes[&1]
            .coordinator
            .images()
            .borrow()
            .image
            .cluster_id
            .is_empty()
    })
    .await;

    let leader = nodes[&1]
        .coordinator
        .leader()
        .expect("a leader was elected");
    let killed_at = Instant::now();
    stop(nodes.remove(&leader).unwrap()).await;
    let survivor = nodes.values().next().unwrap().coordinator.clone();
    wait_until("another coordinator leads", || {
        survivor.leader().is_some_and(|l| l != leader)
    })
    .await;
    let failover = killed_at.elapsed();
    assert!(
        failover < Duration::from_secs(10),
        "failover took {failover:?}"
    );
    client.propose(topic("second"), patience).await.unwrap();

    let restarted = start(leader, &voters, root.path()).await;
    let images = restarted.coordinator.images();
    wait_until("the restarted coordinator caught up", || {
        let image = &images.borrow().image;
        image.topics.contains_key("first") && image.topics.contains_key("second")
    })
    .await;
    let named = images.borrow().image.cluster_id.clone();
    assert!(cluster_id.is_empty() || named == cluster_id);
    nodes.insert(leader, restarted);

    // Brokers 1-3 stop heartbeating: their leases lapse and they are fenced.
    let images = nodes.values().next().unwrap().coordinator.images();
    wait_until("silent brokers are fenced", || {
        images.borrow().image.fenced_brokers.len() == 3
    })
    .await;
    let image = images.borrow().image.clone();
    assert!(image.topics["first"]
        .partitions
        .iter()
        .all(|p| p.leader == -1));
    client.heartbeat(2, patience).await.unwrap();
    wait_until("a heartbeat unfences", || {
        !images.borrow().image.fenced_brokers.contains(&2)
    })
    .await;
    for (_, node) in nodes {
        stop(node).await;
    }
}
