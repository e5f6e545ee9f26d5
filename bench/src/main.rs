//! `potok-bench`: drives a Kafka-compatible cluster through librdkafka (the `rdkafka` crate)
//! and prints produce throughput, produce latency percentiles and consume throughput.
//!
//! Produce latency is measured from `send` to the delivery report, so it includes
//! batching (`linger.ms`), the broker's append and, for acks=all, replication.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

#[derive(Parser, Clone)]
#[command(about = "Produce/consume benchmark on librdkafka")]
struct Args {
    #[arg(long, default_value = "localhost:9092")]
    bootstrap_server: String,
    /// Records per produce run.
    #[arg(long, default_value_t = 500_000)]
    records: usize,
    #[arg(long, default_value_t = 1024)]
    record_size: usize,
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    #[arg(long, default_value_t = 1)]
    replication_factor: i32,
    /// Comma-separated acks settings to run: 1, all.
    #[arg(long, default_value = "1,all")]
    acks: String,
    /// Measures failover instead: produces with acks=all, runs this shell command with
    /// `{leader}` replaced by the partition leader's id (it should kill that broker), and
    /// prints how long until the next acknowledged record.
    #[arg(long)]
    failover_kill: Option<String>,
    /// Runs paced at this many records/s instead of at half of each peak, so settings can
    /// be compared at the same load.
    #[arg(long)]
    rate: Option<f64>,
}

/// Records the send time in each message's delivery opaque; the callback turns it into a latency.
struct LatencyContext {
    latencies: std::sync::Mutex<Vec<u32>>,
    failures: std::sync::atomic::AtomicUsize,
    acknowledged_at: std::sync::Mutex<Vec<Instant>>,
}

impl LatencyContext {
    fn new(capacity: usize) -> LatencyContext {
        LatencyContext {
            latencies: std::sync::Mutex::new(Vec::with_capacity(capacity)),
            failures: Default::default(),
            acknowledged_at: std::sync::Mutex::new(Vec::with_capacity(capacity)),
        }
    }
}

impl ClientContext for LatencyContext {}

impl ProducerContext for LatencyContext {
    type DeliveryOpaque = Box<Instant>;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: Self::DeliveryOpaque) {
        if result.is_err() {
            self.failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        self.acknowledged_at
            .lock()
            .expect("ack lock")
            .push(Instant::now());
        let micros = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
        self.latencies.lock().expect("latency lock").push(micros);
    }
}

struct ProduceFigures {
    megabytes_per_second: f64,
    records_per_second: f64,
    latencies: Vec<u32>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(command) = &args.failover_kill {
        return failover(&args, command);
    }
    for acks in args.acks.split(',') {
        let topic = format!("bench-acks-{acks}-{}", std::process::id());
        create_topic(&args, &topic)?;
        if let Some(rate) = args.rate {
            let paced = produce(&args, &topic, acks, Some(rate))?;
            report(
                &format!("produce acks={acks} at {rate:.0} records/s"),
                &paced,
            );
            continue;
        }
        let peak = produce(&args, &topic, acks, None)?;
        report(&format!("produce acks={acks} (peak)"), &peak);
        let half_rate = peak.records_per_second / 2.0;
        let paced = produce(&args, &topic, acks, Some(half_rate))?;
        report(
            &format!("produce acks={acks} at half of peak ({half_rate:.0} records/s)"),
            &paced,
        );
        let consumed = consume(&args, &topic, args.records * 2)?;
        println!("consume acks={acks} topic: {consumed:.1} MB/s");
    }
    Ok(())
}

fn create_topic(args: &Args, topic: &str) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap_server)
        .create()?;
    let new_topic = NewTopic::new(
        topic,
        args.partitions,
        TopicReplication::Fixed(args.replication_factor),
    );
    let runtime = futures_executor(admin.create_topics([&new_topic], &AdminOptions::new()))?;
    for result in runtime {
        if let Err((name, error)) = result {
            bail!("cannot create topic {name}: {error}");
        }
    }
    wait_for_leaders(&admin, topic, args.partitions)
}

/// Waits until the cluster's metadata names a leader for each of the topic's partitions, so
/// a run times producing rather than the producer discovering a topic the brokers are still
/// creating (librdkafka asks again after growing pauses, which a paced run's first records
/// waited out: a p99 of hundreds of milliseconds).
fn wait_for_leaders(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metadata = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))?;
        let led = metadata.topics().iter().any(|t| {
            t.name() == topic
                && t.error().is_none()
                && t.partitions().len() == partitions as usize
                && t.partitions()
                    .iter()
                    .all(|p| p.leader() >= 0 && p.error().is_none())
        });
        if led {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("topic {topic} has no leader for every partition after 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Blocks on a future without pulling in an async runtime.
fn futures_executor<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn produce(
    args: &Args,
    topic: &str,
    acks: &str,
    rate: Option<f64>,
) -> anyhow::Result<ProduceFigures> {
    let context = LatencyContext::new(args.records);
    let producer: ThreadedProducer<LatencyContext> = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap_server)
        .set("acks", acks)
        .set("linger.ms", "2")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create_with_context(context)
        .context("cannot create producer")?;
    let payload = vec![b'x'; args.record_size];
    let started = Instant::now();
    for index in 0..args.records {
        if let Some(rate) = rate {
            let due = started + Duration::from_secs_f64(index as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let key = index.to_string();
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(Instant::now()))
            .key(&key)
            .payload(&payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, returned)) => {
                    record = returned;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    let elapsed = started.elapsed().as_secs_f64();
    let context = producer.context();
    let failures = context.failures.load(std::sync::atomic::Ordering::Relaxed);
    if failures > 0 {
        bail!("{failures} records were not acknowledged");
    }
    let mut latencies = std::mem::take(&mut *context.latencies.lock().expect("latency lock"));
    latencies.sort_unstable();
    Ok(ProduceFigures {
        megabytes_per_second: (args.records * args.record_size) as f64 / elapsed / 1e6,
        records_per_second: args.records as f64 / elapsed,
        latencies,
    })
}

/// Produces 1,000 records/s with acks=all to a one-partition topic, kills its leader after
/// three seconds and reports the time from the kill to the next acknowledgement (one that
/// arrives more than 10 ms after the kill, so none already in flight counts).
fn failover(args: &Args, kill_command: &str) -> anyhow::Result<()> {
    let topic = format!("bench-failover-{}", std::process::id());
    let one_partition = Args {
        partitions: 1,
        ..args.clone()
    };
    create_topic(&one_partition, &topic)?;
    let producer: ThreadedProducer<LatencyContext> = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap_server)
        .set("acks", "all")
        .set("linger.ms", "1")
        .set("message.timeout.ms", "120000")
        .create_with_context(LatencyContext::new(100_000))
        .context("cannot create producer")?;
    let payload = vec![b'x'; args.record_size];
    let started = Instant::now();
    let mut killed_at = None;
    let mut index = 0u64;
    loop {
        let due = started + Duration::from_millis(index);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if killed_at.is_none() && started.elapsed() > Duration::from_secs(3) {
            let metadata = producer
                .client()
                .fetch_metadata(Some(&topic), Duration::from_secs(10))?;
            let leader = metadata.topics()[0].partitions()[0].leader();
            let command = kill_command.replace("{leader}", &leader.to_string());
            println!("failover: killing leader {leader}: {command}");
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .status()?;
            if !status.success() {
                bail!("the kill command failed: {status}");
            }
            killed_at = Some(Instant::now());
        }
        let key = index.to_string();
        let record = BaseRecord::with_opaque_to(&topic, Box::new(Instant::now()))
            .key(&key)
            .payload(&payload);
        if producer.send(record).is_err() {
            producer.poll(Duration::from_millis(1));
        }
        index += 1;
        let Some(killed) = killed_at else {
            continue;
        };
        let resumed = producer
            .context()
            .acknowledged_at
            .lock()
            .expect("ack lock")
            .iter()
            .copied()
            .find(|at| *at > killed + Duration::from_millis(10));
        if let Some(resumed) = resumed {
            println!(
                "failover: next acknowledged produce {:.2} s after kill -9 of the leader",
                (resumed - killed).as_secs_f64()
            );
            break;
        }
        if killed.elapsed() > Duration::from_secs(120) {
            bail!("no record was acknowledged within 120 s of the kill");
        }
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}

fn report(label: &str, figures: &ProduceFigures) {
    let percentile = |p: f64| -> f64 {
        let index = ((figures.latencies.len() as f64 * p) as usize)
            .min(figures.latencies.len().saturating_sub(1));
        figures.latencies.get(index).copied().unwrap_or(0) as f64 / 1000.0
    };
    println!(
        "{label}: {:.1} MB/s, {:.0} records/s, latency p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
        figures.megabytes_per_second,
        figures.records_per_second,
        percentile(0.50),
        percentile(0.99),
        percentile(0.999)
    );
}

/// Reads `expected` records from the beginning of every partition; returns MB/s.
fn consume(args: &Args, topic: &str, expected: usize) -> anyhow::Result<f64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap_server)
        .set("group.id", "potok-bench")
        .set("enable.auto.commit", "false")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "10485760")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..args.partitions {
        assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let started = Instant::now();
    let mut received = 0usize;
    let mut bytes = 0usize;
    while received < expected {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("consumed only {received} of {expected} records in 120 s");
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message?;
            bytes += message.payload().map_or(0, <[u8]>::len);
            received += 1;
        }
    }
    Ok(bytes as f64 / started.elapsed().as_secs_f64() / 1e6)
}
