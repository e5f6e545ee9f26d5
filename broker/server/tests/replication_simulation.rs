//! Deterministic simulation of replication: three brokers host one partition (replication
//! factor 3, `min.insync.replicas=2`) with the real `Partition` and log code on disk, and
//! the real metadata commands on the controller's image. A seeded scheduler delivers
//! heartbeats, metadata, fetches and ISR changes, and injects crashes, restarts, network
//! cuts and message loss, one failure at a time (`replicas - min.insync.replicas`).
//!
//! Checked for every seed: at most one leader per leader epoch; a leader's log holds every
//! acknowledged `acks=all` record; and once the faults heal, every replica's log is the
//! same, with each acknowledged record at the offset it was acknowledged at.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kafka_protocol::ResponseError;
use potok_broker::log::{FirstBatch, LogConfig};
use potok_broker::metadata::{BrokerInfo, MetadataImage, NewTopic, PartitionImage};
use potok_broker::quorum::{apply, CommandOutcome, MetadataCommand};
use potok_broker::replica::{LogDir, Partition, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

const BROKERS: [i32; 3] = [1, 2, 3];
/// The controller's end of a network link.
const CONTROLLER: i32 = 0;
const MIN_INSYNC: usize = 2;
const TICK: Duration = Duration::from_millis(100);
/// `broker.session.timeout.ms` in ticks.
const SESSION_TICKS: u64 = 10;
/// `replica.lag.time.max.ms`.
const MAX_LAG: Duration = Duration::from_millis(1500);
const MESSAGE_LOSS: f64 = 0.05;
const STEPS: u64 = 600;
const SEEDS: u64 = 150;

struct Node {
    dir: PathBuf,
    /// `None` while the broker is down.
    partition: Option<Arc<Partition>>,
}

#[derive(Clone, Copy)]
enum Fault {
    Crash(i32),
    Isolate(i32),
    Cut(i32, i32),
}

struct Sim {
    rng: StdRng,
    tick: u64,
    start: Instant,
    image: MetadataImage,
    leases: HashMap<i32, u64>,
    nodes: BTreeMap<i32, Node>,
    fault: Option<(Fault, u64)>,
    /// Appended with acks=all, not yet answered: (leader, last offset, value).
    pending: Vec<(i32, i64, u64)>,
    /// Acknowledged: offset and value.
    acked: Vec<(i64, u64)>,
    leaders_by_epoch: HashMap<i32, i32>,
    next_value: u64,
    loss: f64,
    /// The leader epoch whose leader was last checked for acknowledged records.
    checked_epoch: i32,
    runtime: tokio::runtime::Runtime,
}

impl Sim {
    fn new(seed: u64, root: &Path) -> Sim {
        let mut image = MetadataImage::default();
        for id in BROKERS {
            let broker = BrokerInfo {
                id,
                host: "sim".into(),
                port: 9092,
                rack: None,
                endpoints: Vec::new(),
            };
            apply(&mut image, MetadataCommand::RegisterBroker { broker });
            apply(&mut image, MetadataCommand::UnfenceBroker { id });
        }
        let topic = NewTopic {
            name: "t".into(),
            partitions: 1,
            replication_factor: 3,
            assignments: vec![vec![1, 2, 3]],
            configs: BTreeMap::new(),
            validate_only: false,
        };
        let created = apply(
            &mut image,
            MetadataCommand::CreateTopic {
                topic,
                id: Uuid::from_u128(7),
            },
        );
        assert!(matches!(created, CommandOutcome::Topic(_)));
        let mut sim = Sim {
            rng: StdRng::seed_from_u64(seed),
            tick: 0,
            start: Instant::now(),
            image,
            leases: BROKERS.iter().map(|id| (*id, 0)).collect(),
            nodes: BTreeMap::new(),
            fault: None,
            pending: Vec::new(),
            acked: Vec::new(),
            leaders_by_epoch: HashMap::new(),
            next_value: 0,
            loss: MESSAGE_LOSS,
            checked_epoch: -1,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("runtime"),
        };
        for id in BROKERS {
            let dir = root.join(format!("broker-{id}"));
            sim.nodes.insert(
                id,
                Node {
                    partition: Some(open(&dir, id)),
                    dir,
                },
            );
        }
        sim
    }

    fn now(&self) -> Instant {
        self.start + TICK * self.tick as u32
    }

    fn assignment(&self) -> PartitionImage {
        self.image.topics["t"].partitions[0].clone()
    }

    fn partition(&self, id: i32) -> Option<Arc<Partition>> {
        self.nodes[&id].partition.clone()
    }

    /// Whether a message from `a` to `b` arrives.
    fn delivered(&mut self, a: i32, b: i32) -> bool {
        let cut = match self.fault {
            Some((Fault::Crash(id), _)) => id == a || id == b,
            Some((Fault::Isolate(id), _)) => (id == a) != (id == b),
            Some((Fault::Cut(x, y), _)) => (x, y) == (a, b) || (y, x) == (a, b),
            None => false,
        };
        !cut && !self.rng.random_bool(self.loss)
    }

    fn commit(&mut self, command: MetadataCommand) -> CommandOutcome {
        let outcome = apply(&mut self.image, command);
        let assignment = self.assignment();
        let leader = *self
            .leaders_by_epoch
            .entry(assignment.leader_epoch)
            .or_insert(assignment.leader);
        assert_eq!(
            leader, assignment.leader,
            "two leaders committed for epoch {}",
            assignment.leader_epoch
        );
        outcome
    }

    fn step(&mut self) {
        self.tick += 1;
        self.faults();
        self.heartbeats();
        self.propagate_metadata();
        self.produce();
        self.replicate();
        self.maintain_isr();
        self.answer_producers();
        self.check_leader_holds_acknowledged();
    }

    /// Heals the current fault when due, or starts one (one at a time).
    fn faults(&mut self) {
        if let Some((fault, until)) = self.fault {
            if self.tick >= until {
                self.fault = None;
                if let Fault::Crash(id) = fault {
                    self.restart(id);
                }
            }
            return;
        }
        if !self.rng.random_bool(0.04) {
            return;
        }
        let victim = BROKERS[self.rng.random_range(0..3)];
        let fault = match self.rng.random_range(0..3) {
            0 => Fault::Crash(victim),
            1 => Fault::Isolate(victim),
            _ => Fault::Cut(victim, BROKERS[(victim as usize) % 3]),
        };
        if let Fault::Crash(id) = fault {
            // kill -9: the process and its memory go; what it wrote stays on disk.
            self.nodes.get_mut(&id).expect("known broker").partition = None;
            self.pending.retain(|(leader, _, _)| *leader != id);
        }
        let duration = self.rng.random_range(5..40);
        self.fault = Some((fault, self.tick + duration));
    }

    fn restart(&mut self, id: i32) {
        let dir = self.nodes[&id].dir.clone();
        self.nodes.get_mut(&id).expect("known broker").partition = Some(open(&dir, id));
        if self.delivered(id, CONTROLLER) {
            let broker = self.image.brokers[&id].clone();
            self.commit(MetadataCommand::RegisterBroker { broker });
        }
    }

    fn heartbeats(&mut self) {
        for id in BROKERS {
            if self.partition(id).is_some() && self.delivered(id, CONTROLLER) {
                self.leases.insert(id, self.tick);
                if self.image.fenced_brokers.contains(&id) {
                    self.commit(MetadataCommand::UnfenceBroker { id });
                }
            }
        }
        let lapsed: Vec<i32> = self
            .image
            .live_brokers()
            .map(|b| b.id)
            .filter(|id| self.tick - self.leases[id] > SESSION_TICKS)
            .collect();
        for id in lapsed {
            self.commit(MetadataCommand::FenceBroker { id });
        }
    }

    fn propagate_metadata(&mut self) {
        let assignment = self.assignment();
        for id in BROKERS {
            let Some(partition) = self.partition(id) else {
                continue;
            };
            if self.rng.random_bool(0.7) && self.delivered(CONTROLLER, id) {
                partition.apply_assignment(&assignment, MIN_INSYNC, self.now());
            }
        }
    }

    fn produce(&mut self) {
        let leader = self.assignment().leader;
        if leader < 0 || !self.rng.random_bool(0.8) {
            return;
        }
        let Some(partition) = self.partition(leader) else {
            return;
        };
        let value = self.next_value;
        self.next_value += 1;
        let now_ms = self.tick as i64 * TICK.as_millis() as i64;
        if let Ok(appended) = partition.append_as_leader(&batch(value), now_ms, true) {
            self.pending.push((leader, appended.last_offset, value));
        }
    }

    /// Every follower fetches once from the leader it knows: first OffsetForLeaderEpoch
    /// after an epoch change, then Fetch.
    fn replicate(&mut self) {
        for id in BROKERS {
            let Some(follower) = self.partition(id) else {
                continue;
            };
            let Role::Follower { leader } = follower.role() else {
                continue;
            };
            let Some(source) = self.partition(leader) else {
                continue;
            };
            if !self.delivered(id, leader) {
                continue;
            }
            let answered = self.delivered(leader, id);
            if let Some(epoch) = follower.truncation_epoch() {
                if source.check_epoch(follower.leader_epoch()).is_err()
                    || source.check_leader().is_err()
                {
                    continue;
                }
                let (epoch, end) = source.end_offset_for_epoch(epoch).unwrap_or((-1, -1));
                if answered {
                    follower.truncate_to_leader(epoch, end).expect("truncation");
                }
                continue;
            }
            if source.check_epoch(follower.leader_epoch()).is_err() {
                continue;
            }
            let fetched = source.read_for_follower(
                id,
                follower.log_end_offset(),
                1 << 20,
                FirstBatch::Whole,
                self.now(),
            );
            match fetched {
                Ok(fetched) if answered => follower
                    .append_as_follower(&fetched.read.records, fetched.high_watermark, 0)
                    .expect("follower append"),
                Ok(_) => {}
                Err(error) if error.error == ResponseError::OffsetOutOfRange => {
                    follower.request_truncation()
                }
                Err(_) => {}
            }
        }
    }

    fn maintain_isr(&mut self) {
        for id in BROKERS {
            let Some(partition) = self.partition(id) else {
                continue;
            };
            let Some(isr) = partition.wanted_isr(MAX_LAG, self.now()) else {
                continue;
            };
            let command = MetadataCommand::AlterPartition {
                topic: "t".into(),
                partition: 0,
                leader: id,
                leader_epoch: partition.leader_epoch(),
                isr,
            };
            let accepted = self.delivered(id, CONTROLLER)
                && !matches!(self.commit(command), CommandOutcome::Refused { .. });
            if !accepted {
                partition.isr_proposal_failed();
            }
        }
    }

    /// Answers acks=all producers whose records every in-sync replica has, with the real
    /// produce path's rule (`wait_for_replication`, polled once).
    fn answer_producers(&mut self) {
        let mut still_pending = Vec::new();
        for (leader, last_offset, value) in std::mem::take(&mut self.pending) {
            let Some(partition) = self.partition(leader) else {
                continue;
            };
            let _runtime = self.runtime.enter();
            let waiting = partition.wait_for_replication(last_offset, Duration::from_secs(60));
            let mut waiting = std::pin::pin!(waiting);
            match waiting
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
            {
                Poll::Ready(Ok(())) => self.acked.push((last_offset, value)),
                Poll::Ready(Err(_)) => {}
                Poll::Pending => still_pending.push((leader, last_offset, value)),
            }
        }
        self.pending = still_pending;
    }

    /// A new leader, once it serves the epoch the controller elected it in, holds every
    /// acknowledged record at its offset.
    fn check_leader_holds_acknowledged(&mut self) {
        let assignment = self.assignment();
        let Some(leader) = self
            .partition(assignment.leader)
            .filter(|_| assignment.leader >= 0)
        else {
            return;
        };
        if leader.role() != Role::Leader
            || leader.leader_epoch() != assignment.leader_epoch
            || self.checked_epoch == assignment.leader_epoch
        {
            return;
        }
        self.checked_epoch = assignment.leader_epoch;
        let log = values(&leader);
        for (offset, value) in &self.acked {
            assert_eq!(
                log.get(offset),
                Some(value),
                "leader {} (epoch {}) lacks acknowledged record {value} at offset {offset}",
                assignment.leader,
                assignment.leader_epoch
            );
        }
    }

    /// Ends every fault and lets replication settle without loss.
    fn heal(&mut self) {
        if let Some((Fault::Crash(id), _)) = self.fault.take() {
            self.restart(id);
        }
        self.loss = 0.0;
        for _ in 0..200 {
            self.tick += 1;
            self.heartbeats();
            self.propagate_metadata();
            self.replicate();
            self.maintain_isr();
            self.answer_producers();
            let ends: HashSet<i64> = BROKERS
                .iter()
                .map(|id| self.partition(*id).expect("healed").log_end_offset())
                .collect();
            if self.assignment().isr.len() == 3 && ends.len() == 1 && self.pending.is_empty() {
                return;
            }
        }
        panic!(
            "replicas did not converge after healing: ISR {:?}",
            self.assignment().isr
        );
    }
}

fn open(dir: &Path, id: i32) -> Arc<Partition> {
    Arc::new(
        Partition::open(
            dir,
            "t",
            0,
            Uuid::from_u128(7),
            id,
            LogConfig::default(),
            Arc::new(LogDir::open(dir).expect("log directory opens")),
        )
        .expect("partition opens"),
    )
}

/// One record whose value is `value`, as a producer without idempotence sends it.
fn batch(value: u64) -> Vec<u8> {
    let record = Record {
        transactional: false,
        control: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 0,
        key: None,
        value: Some(value.to_string().into_bytes().into()),
        headers: Default::default(),
        delete_horizon: false,
    };
    let mut encoded = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut encoded,
        &[record],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encodes");
    encoded.to_vec()
}

/// A replica's whole log as offset -> value.
fn values(partition: &Partition) -> BTreeMap<i64, u64> {
    let mut out = BTreeMap::new();
    let mut offset = partition.log_start_offset();
    loop {
        let mut read = partition.read_local(offset, 1 << 20).expect("read").records;
        if read.is_empty() {
            return out;
        }
        for set in RecordBatchDecoder::decode_all(&mut read).expect("decodes") {
            for record in set.records {
                let value = std::str::from_utf8(record.value.as_deref().expect("value"))
                    .expect("utf-8")
                    .parse()
                    .expect("number");
                out.insert(record.offset, value);
                offset = record.offset + 1;
            }
        }
    }
}

fn first_difference(a: &BTreeMap<i64, u64>, b: &BTreeMap<i64, u64>) -> Option<i64> {
    a.keys()
        .chain(b.keys())
        .copied()
        .filter(|offset| a.get(offset) != b.get(offset))
        .min()
}

#[test]
fn replication_keeps_kafkas_guarantees_under_faults() {
    let mut acknowledged = 0;
    let mut failovers = 0;
    for seed in 0..SEEDS {
        let root = tempfile::tempdir().unwrap();
        let mut sim = Sim::new(seed, root.path());
        for _ in 0..STEPS {
            sim.step();
        }
        sim.heal();
        let logs: Vec<BTreeMap<i64, u64>> = BROKERS
            .iter()
            .map(|id| values(&sim.partition(*id).unwrap()))
            .collect();
        for other in 1..3 {
            if let Some(offset) = first_difference(&logs[0], &logs[other]) {
                panic!(
                    "seed {seed}: replicas 1 and {} diverge at offset {offset}: {:?} vs {:?}",
                    other + 1,
                    logs[0].get(&offset),
                    logs[other].get(&offset)
                );
            }
        }
        for (offset, value) in &sim.acked {
            assert_eq!(
                logs[0].get(offset),
                Some(value),
                "seed {seed}: acknowledged record lost"
            );
        }
        if sim.leaders_by_epoch.len() > 1 {
            failovers += 1;
        }
        acknowledged += sim.acked.len();
    }
    assert!(
        failovers > SEEDS / 2,
        "only {failovers} of {SEEDS} runs changed leaders"
    );
    assert!(
        acknowledged > (SEEDS * STEPS / 4) as usize,
        "too few records were acknowledged ({acknowledged}) for the run to mean much"
    );
}
