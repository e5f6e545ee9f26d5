//! Idempotent-producer bookkeeping for one partition: the last five batches of each producer
//! (Kafka keeps five, matching `max.in.flight.requests.per.connection=5`), so a retried
//! batch is recognised and answered with its original offset instead of being appended twice.

use std::collections::{HashMap, VecDeque};

use kafka_protocol::ResponseError;

use crate::error::ApiError;
use crate::log::BatchHeader;

/// Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`.
const BATCHES_TO_RETAIN: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchRecord {
    first_sequence: i32,
    last_sequence: i32,
    base_offset: i64,
}

#[derive(Debug, Default)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchRecord>,
}

#[derive(Debug, Default)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

/// What to do with an incoming batch.
#[derive(Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Not from an idempotent producer, or the next batch in sequence: append it.
    Append,
    /// Already in the log at this base offset: acknowledge without appending.
    Duplicate { base_offset: i64 },
}

impl ProducerStates {
    pub fn check(&self, batch: &BatchHeader) -> Result<SequenceCheck, ApiError> {
        if batch.producer_id < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        if batch.producer_epoch < entry.epoch {
            return Err(ApiError::new(
                ResponseError::InvalidProducerEpoch,
                format!(
                    "Epoch of producer {} is {}, which is smaller than the last seen epoch {}",
                    batch.producer_id, batch.producer_epoch, entry.epoch
                ),
            ));
        }
        if batch.producer_epoch > entry.epoch {
            return if batch.base_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(out_of_order(batch, 0))
            };
        }
        let last_sequence = batch.base_sequence.wrapping_add(batch.last_offset_delta);
        if let Some(duplicate) = entry.batches.iter().find(|cached| {
            cached.first_sequence == batch.base_sequence && cached.last_sequence == last_sequence
        }) {
            return Ok(SequenceCheck::Duplicate {
                base_offset: duplicate.base_offset,
            });
        }
        let expected = entry.batches.back().map_or(batch.base_sequence, |last| {
            next_sequence(last.last_sequence)
        });
        if batch.base_sequence != expected {
            return Err(out_of_order(batch, expected));
        }
        Ok(SequenceCheck::Append)
    }

    /// Remembers a batch that is now in the log at `base_offset`.
    pub fn record(&mut self, batch: &BatchHeader, base_offset: i64) {
        if batch.producer_id < 0 {
            return;
        }
        let entry = self.producers.entry(batch.producer_id).or_default();
        if batch.producer_epoch != entry.epoch {
            entry.epoch = batch.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchRecord {
            first_sequence: batch.base_sequence,
            last_sequence: batch.base_sequence.wrapping_add(batch.last_offset_delta),
            base_offset,
        });
    }
}

/// Sequence numbers wrap from `i32::MAX` to 0, as in Kafka.
fn next_sequence(sequence: i32) -> i32 {
    if sequence == i32::MAX {
        0
    } else {
        sequence + 1
    }
}

fn out_of_order(batch: &BatchHeader, expected: i32) -> ApiError {
    ApiError::new(
        ResponseError::OutOfOrderSequenceNumber,
        format!(
            "Out of order sequence number for producer {}: expected {expected}, got {}",
            batch.producer_id, batch.base_sequence
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(producer_id: i64, epoch: i16, sequence: i32, records: i32) -> BatchHeader {
        BatchHeader {
            producer_id,
            producer_epoch: epoch,
            base_sequence: sequence,
            last_offset_delta: records - 1,
            record_count: records,
            ..BatchHeader::default()
        }
    }

    #[test]
    fn a_retried_batch_is_a_duplicate_of_its_original_offset() {
        let mut states = ProducerStates::default();
        let first = batch(7, 0, 0, 3);
        assert_eq!(states.check(&first).unwrap(), SequenceCheck::Append);
        states.record(&first, 100);
        let second = batch(7, 0, 3, 2);
        assert_eq!(states.check(&second).unwrap(), SequenceCheck::Append);
        states.record(&second, 103);
        assert_eq!(
            states.check(&first).unwrap(),
            SequenceCheck::Duplicate { base_offset: 100 }
        );
    }

    #[test]
    fn a_gap_in_sequence_is_out_of_order() {
        let mut states = ProducerStates::default();
        states.record(&batch(7, 0, 0, 3), 0);
        let error = states.check(&batch(7, 0, 5, 1)).unwrap_err();
        assert_eq!(error.error, ResponseError::OutOfOrderSequenceNumber);
    }

    #[test]
    fn an_old_epoch_is_fenced_and_a_new_epoch_restarts_at_zero() {
        let mut states = ProducerStates::default();
        states.record(&batch(7, 2, 0, 1), 0);
        assert_eq!(
            states.check(&batch(7, 1, 1, 1)).unwrap_err().error,
            ResponseError::InvalidProducerEpoch
        );
        assert_eq!(
            states.check(&batch(7, 3, 0, 1)).unwrap(),
            SequenceCheck::Append
        );
        assert!(states.check(&batch(7, 3, 4, 1)).is_err());
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut states = ProducerStates::default();
        for sequence in 0..6 {
            states.record(&batch(1, 0, sequence, 1), sequence as i64);
        }
        assert_eq!(
            states.check(&batch(1, 0, 0, 1)).unwrap_err().error,
            ResponseError::OutOfOrderSequenceNumber
        );
        assert_eq!(
            states.check(&batch(1, 0, 1, 1)).unwrap(),
            SequenceCheck::Duplicate { base_offset: 1 }
        );
    }
}
