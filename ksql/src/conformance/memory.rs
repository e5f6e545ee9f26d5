//! An in-memory stand-in for Kafka, as ksqlDB's own tests use a topology test driver: topics
//! are lists of records, persistent queries read their source topic from where they left
//! off and append to their sink topic, until no query has anything left to read.

use std::collections::{BTreeMap, HashMap};

use crate::catalog::Source;
use crate::codec::{self, encode, RawRecord};
use crate::engine::{input_sources, Pipeline, Side, SourceRecord, WindowBounds};
use crate::executor::{Effect, Engine, Topics};

/// A record as a topic holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: i64,
    pub partition: i32,
    pub offset: i64,
    pub window: Option<WindowBounds>,
    /// The cluster-wide order records were produced in, which a join reads its inputs by.
    pub sequence: u64,
}

struct RunningQuery {
    pipeline: Pipeline,
    /// The sources read (a join's left and right) and how far each has been read.
    inputs: Vec<(Side, Source)>,
    positions: Vec<usize>,
    sink: Source,
}

/// Topics and the queries running over them.
#[derive(Default)]
pub struct MemoryCluster {
    topics: BTreeMap<String, Vec<StoredRecord>>,
    partitions: HashMap<String, i32>,
    queries: BTreeMap<String, RunningQuery>,
    produced: u64,
    /// Records go to the partition their key hashes to, as Kafka's default partitioner
    /// places them; otherwise every record is in partition 0, as ksqlDB's test driver has it.
    pub partition_by_key: bool,
    /// Records a query could not read or compute, as the processing log would list them.
    pub processing_log: Vec<String>,
}

impl MemoryCluster {
    pub fn create_topic(&mut self, name: &str, partitions: i32) {
        self.topics.entry(name.to_string()).or_default();
        self.partitions
            .entry(name.to_string())
            .or_insert(partitions);
    }

    pub fn topics(&self) -> Topics {
        self.partitions.clone()
    }

    pub fn records(&self, topic: &str) -> &[StoredRecord] {
        self.topics.get(topic).map_or(&[], Vec::as_slice)
    }

    pub fn produce(
        &mut self,
        topic: &str,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
        window: Option<WindowBounds>,
    ) {
        self.create_topic(topic, 1);
        let partitions = self.partitions.get(topic).copied().unwrap_or(1);
        let partition = match &key {
            Some(key) if self.partition_by_key => {
                potok_client::producer::partitioner::partition_for_key(key, partitions)
            }
            _ => 0,
        };
        self.produced += 1;
        let sequence = self.produced;
        let records = self.topics.entry(topic.to_string()).or_default();
        let offset = records.iter().filter(|r| r.partition == partition).count() as i64;
        records.push(StoredRecord {
            key,
            value,
            timestamp,
            partition,
            offset,
            window,
            sequence,
        });
    }

    /// Carries out what a statement asked for.
    pub fn apply(&mut self, effects: Vec<Effect>, engine: &Engine) {
        for effect in effects {
            match effect {
                Effect::CreateTopic {
                    name, partitions, ..
                } => self.create_topic(&name, partitions),
                Effect::DeleteTopic(name) => {
                    self.topics.remove(&name);
                    self.partitions.remove(&name);
                }
                Effect::StartQuery(id) => self.start(&id, engine),
                Effect::StopQuery(id) => {
                    self.queries.remove(&id);
                }
                Effect::Produce {
                    topic,
                    key,
                    value,
                    timestamp,
                } => self.produce(&topic, key, value, timestamp.unwrap_or(0), None),
            }
        }
    }

    fn start(&mut self, id: &str, engine: &Engine) {
        let Some(query) = engine.queries.get(id) else {
            return;
        };
        let inputs = input_sources(&query.plan, &engine.catalog);
        let (Some(inputs), Some(sink)) = (inputs, engine.catalog.get(&query.sink)) else {
            return;
        };
        self.queries.insert(
            id.to_string(),
            RunningQuery {
                pipeline: Pipeline::new(query.plan.clone()),
                positions: vec![0; inputs.len()],
                inputs,
                sink: sink.clone(),
            },
        );
    }

    /// The current rows of the table `name`, from the query that materializes it.
    pub fn materialized(&self, name: &str) -> Option<Vec<crate::engine::OutputRow>> {
        let query = self.queries.values().find(|q| q.sink.name == name)?;
        query.pipeline.materialized()?.ok()
    }

    /// Runs every query over the records it has not read, until all are caught up.
    pub fn pump(&mut self) {
        self.pump_at_most(usize::MAX);
    }

    /// As `pump`, stopping after `steps` records read (queries feeding each other in a
    /// cycle never catch up); false when it stopped before all were caught up.
    pub fn pump_at_most(&mut self, steps: usize) -> bool {
        let mut taken = 0;
        loop {
            let mut progressed = false;
            let ids: Vec<String> = self.queries.keys().cloned().collect();
            for id in ids {
                if taken >= steps {
                    return false;
                }
                if self.step(&id) {
                    progressed = true;
                    taken += 1;
                }
            }
            if !progressed {
                return true;
            }
        }
    }

    /// Feeds one query the next unread record of its source; false when it has none.
    fn step(&mut self, id: &str) -> bool {
        let Some(query) = self.queries.get_mut(id) else {
            return false;
        };
        // The input whose next record was produced first.
        let next = query
            .inputs
            .iter()
            .zip(&query.positions)
            .enumerate()
            .filter_map(|(i, ((_, source), position))| {
                let record = self.topics.get(&source.topic)?.get(*position)?;
                Some((record.sequence, i, record.clone()))
            })
            .min_by_key(|(sequence, i, _)| (*sequence, *i));
        let Some((_, input, record)) = next else {
            return false;
        };
        query.positions[input] += 1;
        let (side, source) = &query.inputs[input];
        let outputs = decode(source, &record)
            .and_then(|decoded| query.pipeline.process(*side, &decoded).map_err(|e| e.0));
        let outputs = match outputs {
            Ok(outputs) => outputs,
            Err(error) => {
                self.processing_log.push(format!("{id}: {error}"));
                return true;
            }
        };
        let sink = query.sink.clone();
        for output in outputs {
            match encode(&sink, &output) {
                Ok((key, value)) => {
                    self.produce(&sink.topic, key, value, output.timestamp, output.window)
                }
                Err(error) => self.processing_log.push(format!("{id}: {error}")),
            }
        }
        true
    }
}

/// Reads a stored record as a source's row.
pub fn decode(source: &Source, record: &StoredRecord) -> Result<SourceRecord, String> {
    codec::decode(
        source,
        RawRecord {
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            timestamp: record.timestamp,
            partition: record.partition,
            offset: record.offset,
            window: record.window,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_feeding_each_other_are_pumped_a_bounded_number_of_steps() {
        let mut engine = Engine::default();
        let mut cluster = MemoryCluster::default();
        for text in [
            "CREATE STREAM s (n INT) WITH (kafka_topic='s', value_format='json', partitions=1);",
            "CREATE STREAM a AS SELECT * FROM s;",
            "INSERT INTO s SELECT * FROM a;",
        ] {
            let statement = crate::parser::parse(text).unwrap().remove(0);
            let (_, effects) = engine
                .execute(&statement, text, &cluster.topics(), &HashMap::new())
                .unwrap();
            cluster.apply(effects, &engine);
        }
        cluster.produce("s", None, Some(b"{\"N\":1}".to_vec()), 0, None);
        assert!(!cluster.pump_at_most(100));
        // The record produced, then one written per step, into A and back into s in turn.
        assert_eq!(cluster.records("A").len(), 50);
        assert_eq!(cluster.records("s").len(), 51);
        let mut quiet = MemoryCluster::default();
        assert!(quiet.pump_at_most(0));
    }
}
