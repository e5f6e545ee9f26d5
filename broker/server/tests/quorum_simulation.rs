//! Simulation of the metadata quorum under turmoil: three real coordinators (openraft, the
//! on-disk journal and snapshots, the RPC protocol) on a simulated network, while a seeded
//! schedule crashes and restarts them, cuts links and delays messages, and an admin
//! client keeps proposing changes through the leader.
//!
//! Checked for every seed: no change the quorum acknowledged is ever lost, and once the
//! faults heal every coordinator applies the same image at the same version. Election
//! timeouts come from openraft's own randomness, so a seed fixes the fault schedule, not
//! every interleaving.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use potok_broker::metadata::{BoxFuture, BrokerInfo};
use potok_broker::quorum::rpc::{Stream, Transport};
use potok_broker::quorum::{Coordinator, CoordinatorConfig, MetadataCommand, QuorumClient};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SEEDS: u64 = 12;
const COORDINATORS: [&str; 3] = ["c1", "c2", "c3"];
const PROPOSALS: i32 = 40;

/// Connections over turmoil's simulated network.
#[derive(Debug)]
struct SimulatedNetwork;

impl Transport for SimulatedNetwork {
    fn connect<'a>(&'a self, address: &'a str) -> BoxFuture<'a, std::io::Result<Box<dyn Stream>>> {
        Box::pin(async move {
            let stream = turmoil::net::TcpStream::connect(address).await?;
            Ok(Box::new(stream) as Box<dyn Stream>)
        })
    }
}

fn voters() -> BTreeMap<u64, String> {
    COORDINATORS
        .iter()
        .enumerate()
        .map(|(i, name)| (i as u64 + 1, format!("{name}:9093")))
        .collect()
}

fn add_coordinator(sim: &mut turmoil::Sim<'_>, id: u64, data_dir: PathBuf) {
    let name = COORDINATORS[id as usize - 1];
    sim.host(name, move || {
        let data_dir = data_dir.clone();
        async move {
            let config = CoordinatorConfig {
                node_id: id,
                voters: voters(),
                data_dir,
                broker_session_timeout: Duration::from_secs(3600),
            };
            let coordinator = Coordinator::start_on(config, Arc::new(SimulatedNetwork)).await?;
            let listener = turmoil::net::TcpListener::bind("0.0.0.0:9093").await?;
            loop {
                let (stream, _) = listener.accept().await?;
                let coordinator = coordinator.clone();
                tokio::spawn(async move {
                    let _ = coordinator.serve_connection(stream).await;
                });
            }
        }
    });
}

/// Broker registrations make good probes: each adds an id to the image for good.
fn registration(id: i32) -> MetadataCommand {
    MetadataCommand::RegisterBroker {
        broker: BrokerInfo {
            id,
            host: "probe".into(),
            port: 9092,
            rack: None,
            endpoints: Vec::new(),
        },
    }
}

fn client() -> QuorumClient {
    QuorumClient::with_transport(voters().into_values().collect(), Arc::new(SimulatedNetwork))
}

/// What one run did: proposals acknowledged, coordinators crashed, links cut.
struct Outcome {
    acknowledged: usize,
    crashes: usize,
    cuts: usize,
}

fn run(seed: u64) -> Outcome {
    let root = tempfile::tempdir().unwrap();
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(600))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(40))
        .rng_seed(seed)
        .build();
    for id in 1..=3 {
        add_coordinator(&mut sim, id, root.path().join(format!("c{id}")));
    }
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let done = Arc::new(Mutex::new(false));
    {
        let acknowledged = acknowledged.clone();
        let done = done.clone();
        sim.client("admin", async move {
            let quorum = client();
            for id in 1..=PROPOSALS {
                if quorum
                    .propose(registration(id), Duration::from_secs(5))
                    .await
                    .is_ok()
                {
                    acknowledged.lock().unwrap().insert(id);
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            *done.lock().unwrap() = true;
            Ok(())
        });
    }

    let mut faults = StdRng::seed_from_u64(seed);
    let mut crashed: Option<&str> = None;
    let mut cut: Option<(&str, &str)> = None;
    let mut step = 0u64;
    let (mut crashes, mut cuts) = (0, 0);
    while !*done.lock().unwrap() {
        sim.step().unwrap();
        step += 1;
        // Every simulated half second, maybe change the faults; one at a time keeps a majority.
        if !step.is_multiple_of(500) || !faults.random_bool(0.3) {
            continue;
        }
        if let Some(host) = crashed.take() {
            sim.bounce(host);
        } else if let Some((a, b)) = cut.take() {
            sim.repair(a, b);
        } else if faults.random_bool(0.5) {
            let host = COORDINATORS[faults.random_range(0..3)];
            sim.crash(host);
            crashed = Some(host);
            crashes += 1;
        } else {
            let a = faults.random_range(0..3);
            let pair = (COORDINATORS[a], COORDINATORS[(a + 1) % 3]);
            sim.partition(pair.0, pair.1);
            cut = Some(pair);
            cuts += 1;
        }
    }
    if let Some(host) = crashed {
        sim.bounce(host);
    }
    if let Some((a, b)) = cut {
        sim.repair(a, b);
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    let images = Arc::new(Mutex::new(BTreeMap::new()));
    {
        let images = images.clone();
        sim.client("checker", async move {
            // Ask each coordinator alone until all three agree on the latest version.
            loop {
                let mut seen = BTreeMap::new();
                for (id, address) in voters() {
                    let one =
                        QuorumClient::with_transport(vec![address], Arc::new(SimulatedNetwork));
                    if let Ok(latest) = one.watch(0, Duration::from_millis(100)).await {
                        seen.insert(id, latest);
                    }
                }
                let versions: BTreeSet<u64> = seen.values().map(|v| v.version).collect();
                if seen.len() == 3 && versions.len() == 1 {
                    *images.lock().unwrap() = seen;
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
    sim.run().unwrap();

    let images = images.lock().unwrap();
    let first = &images[&1].image;
    for (id, latest) in images.iter() {
        assert_eq!(
            &latest.image, first,
            "seed {seed}: coordinator {id} applied a different image at the same version"
        );
    }
    for id in &acknowledged {
        assert!(
            first.brokers.contains_key(id),
            "seed {seed}: the acknowledged registration of broker {id} was lost"
        );
    }
    Outcome {
        acknowledged: acknowledged.len(),
        crashes,
        cuts,
    }
}

#[test]
fn the_quorum_never_loses_an_acknowledged_change() {
    let (mut acknowledged, mut crashes, mut cuts) = (0, 0, 0);
    for seed in 0..SEEDS {
        let outcome = run(seed);
        acknowledged += outcome.acknowledged;
        crashes += outcome.crashes;
        cuts += outcome.cuts;
    }
    eprintln!(
        "{SEEDS} runs: {acknowledged} acknowledged changes, {crashes} coordinator crashes, {cuts} cut links"
    );
    assert!(
        crashes > SEEDS as usize && cuts > SEEDS as usize,
        "too few faults were injected"
    );
    assert!(
        acknowledged > (SEEDS as usize * PROPOSALS as usize) / 2,
        "only {acknowledged} proposals were acknowledged; the faults left too little to check"
    );
}
