//! `potok-ksql-bench`: end-to-end throughput of ksql persistent queries, from an input topic
//! to an output topic, for the seed's filter (`WHERE name = 'Bob'`) and its 10-second
//! tumbling SUM, over JSON payments records. Records are produced first (librdkafka), then
//! each query is created reading from the earliest offset, and timed until its last output
//! record is in its sink topic. CPU time of the server process over the same interval gives
//! records per second per core. Prints figures; asserts nothing.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

#[derive(Parser)]
#[command(about = "End-to-end throughput of ksql persistent queries")]
struct Args {
    #[arg(long, default_value = "localhost:9092")]
    bootstrap_server: String,
    #[arg(long, default_value = "http://localhost:8088")]
    ksql_url: String,
    /// The ksql server's process id, for its CPU time.
    #[arg(long)]
    ksql_pid: u32,
    /// Input records.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
}

/// One in this many payments is Bob's; the last record is always his, so the filter's
/// last output marks the end of its input.
const BOB_EVERY: usize = 100;

fn payment(i: usize) -> String {
    let name = if i.is_multiple_of(BOB_EVERY) {
        "Bob".to_string()
    } else {
        format!("user-{}", i % 1000)
    };
    format!("{{\"name\":\"{name}\",\"amount\":{}}}", i % 100)
}

/// The server's CPU time so far (user + system), from /proc.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("no process {pid}; pass the ksql server's --ksql-pid"))?;
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are the 14th and 15th fields of the line, 12th and 13th after the name.
    Ok((ticks(11) + ticks(12)) / 100.0)
}

fn ksql(url: &str, statement: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "ksql": statement,
        "streamsProperties": { "auto.offset.reset": "earliest" },
    });
    let response = ureq::post(&format!("{url}/ksql"))
        .send_json(body)
        .with_context(|| format!("running {statement}"))?;
    if response.status() != 200 {
        bail!("{statement}: HTTP {}", response.status());
    }
    Ok(())
}

fn produce(args: &Args, topic: &str) -> anyhow::Result<usize> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap_server)
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .create()?;
    // One millisecond apart from now on: librdkafka reads a timestamp of 0 as "now", and
    // records decades old would fall outside any window's grace period.
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let mut bobs = 0;
    for i in 0..args.records {
        let last = i + 1 == args.records;
        let value = if last { payment(0) } else { payment(i) };
        if last || i % BOB_EVERY == 0 {
            bobs += 1;
        }
        let timestamp = start + i as i64;
        loop {
            let record = BaseRecord::<(), str>::to(topic)
                .payload(&value)
                .timestamp(timestamp);
            match producer.send(record) {
                Ok(()) => break,
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(bobs)
}

/// Records in all partitions of `topic` (high watermarks summed).
fn records_in(consumer: &BaseConsumer, topic: &str) -> i64 {
    let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) else {
        return 0;
    };
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    partitions
        .iter()
        .filter_map(|p| {
            consumer
                .fetch_watermarks(topic, *p, Duration::from_secs(5))
                .ok()
        })
        .map(|(_, high)| high)
        .sum()
}

/// Creates the query and waits for `expected` records in `sink`; prints the figures.
fn run(args: &Args, label: &str, statement: &str, sink: &str, expected: i64) -> anyhow::Result<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap_server)
        .create()?;
    let cpu_before = cpu_seconds(args.ksql_pid)?;
    let started = Instant::now();
    ksql(&args.ksql_url, statement)?;
    while records_in(&consumer, sink) < expected {
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("{label}: {sink} did not reach {expected} records");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(args.ksql_pid)? - cpu_before;
    let records = args.records as f64;
    println!(
        "{label}: {} input records in {seconds:.2} s = {:.0} records/s; server CPU {cpu:.2} s = {:.0} records/s per core",
        args.records,
        records / seconds,
        records / cpu.max(0.001)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let suffix = std::process::id();
    let topic = format!("bench_payments_{suffix}");
    ksql(
        &args.ksql_url,
        &format!("CREATE STREAM bench_payments_{suffix} (name VARCHAR, amount INTEGER) WITH (kafka_topic='{topic}', value_format='json', partitions=1);"),
    )?;
    let produce_started = Instant::now();
    let bobs = produce(&args, &topic)?;
    println!(
        "produced {} JSON payments in {:.2} s",
        args.records,
        produce_started.elapsed().as_secs_f64()
    );
    run(
        &args,
        "filter WHERE name = 'Bob'",
        &format!("CREATE STREAM bench_bob_{suffix} AS SELECT * FROM bench_payments_{suffix} WHERE name = 'Bob';"),
        &format!("BENCH_BOB_{suffix}"),
        bobs as i64,
    )?;
    run(
        &args,
        "10-second tumbling SUM by name",
        &format!("CREATE TABLE bench_sums_{suffix} AS SELECT name, SUM(amount) AS total FROM bench_payments_{suffix} WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY name;"),
        &format!("BENCH_SUMS_{suffix}"),
        args.records as i64,
    )?;
    Ok(())
}
