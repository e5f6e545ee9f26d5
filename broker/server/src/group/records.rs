//! How group state is written to `__consumer_offsets`, in Kafka's own record schemas so the
//! topic reads the same as a Kafka cluster's: an `OffsetCommitKey` (version 1: group, topic,
//! partition) with an `OffsetCommitValue` (version 3: offset, leader epoch, metadata, commit
//! time), and a `GroupMetadataKey` (version 2: group) with a `GroupMetadataValue` (version 3,
//! written without members: they rejoin after a coordinator change). A null value deletes.

use bytes::{Buf, BufMut, Bytes, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGroup {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub state_timestamp: i64,
}

const OFFSET_KEY_VERSION: i16 = 1;
const GROUP_KEY_VERSION: i16 = 2;
const OFFSET_VALUE_VERSION: i16 = 3;
const GROUP_VALUE_VERSION: i16 = 3;

fn put_string(buffer: &mut BytesMut, value: &str) {
    buffer.put_i16(value.len() as i16);
    buffer.put_slice(value.as_bytes());
}

fn put_nullable_string(buffer: &mut BytesMut, value: Option<&str>) {
    match value {
        Some(value) => put_string(buffer, value),
        None => buffer.put_i16(-1),
    }
}

fn get_string(buffer: &mut Bytes) -> Option<String> {
    get_nullable_string(buffer)?
}

fn get_nullable_string(buffer: &mut Bytes) -> Option<Option<String>> {
    if buffer.remaining() < 2 {
        return None;
    }
    let length = buffer.get_i16();
    if length < 0 {
        return Some(None);
    }
    if buffer.remaining() < length as usize {
        return None;
    }
    let bytes = buffer.split_to(length as usize);
    Some(Some(String::from_utf8(bytes.to_vec()).ok()?))
}

impl GroupRecordKey {
    pub fn encode(&self) -> Bytes {
        let mut buffer = BytesMut::new();
        match self {
            GroupRecordKey::Offset {
                group,
                topic,
                partition,
            } => {
                buffer.put_i16(OFFSET_KEY_VERSION);
                put_string(&mut buffer, group);
                put_string(&mut buffer, topic);
                buffer.put_i32(*partition);
            }
            GroupRecordKey::Group { group } => {
                buffer.put_i16(GROUP_KEY_VERSION);
                put_string(&mut buffer, group);
            }
        }
        buffer.freeze()
    }

    /// `None` for keys this broker does not understand (they are skipped on load).
    pub fn decode(mut bytes: Bytes) -> Option<Self> {
        if bytes.remaining() < 2 {
            return None;
        }
        match bytes.get_i16() {
            0 | 1 => {
                let group = get_string(&mut bytes)?;
                let topic = get_string(&mut bytes)?;
                (bytes.remaining() >= 4).then(|| GroupRecordKey::Offset {
                    group,
                    topic,
                    partition: bytes.get_i32(),
                })
            }
            2 => Some(GroupRecordKey::Group {
                group: get_string(&mut bytes)?,
            }),
            _ => None,
        }
    }
}

impl CommittedOffset {
    pub fn encode(&self) -> Bytes {
        let mut buffer = BytesMut::new();
        buffer.put_i16(OFFSET_VALUE_VERSION);
        buffer.put_i64(self.offset);
        buffer.put_i32(self.leader_epoch);
        put_string(&mut buffer, &self.metadata);
        buffer.put_i64(self.commit_timestamp);
        buffer.freeze()
    }

    pub fn decode(mut bytes: Bytes) -> Option<Self> {
        if bytes.remaining() < 10 {
            return None;
        }
        let version = bytes.get_i16();
        let offset = bytes.get_i64();
        let leader_epoch = if version >= 3 && bytes.remaining() >= 4 {
            bytes.get_i32()
        } else {
            -1
        };
        let metadata = get_string(&mut bytes)?;
        let commit_timestamp = if bytes.remaining() >= 8 {
            bytes.get_i64()
        } else {
            -1
        };
        Some(CommittedOffset {
            offset,
            leader_epoch,
            metadata,
            commit_timestamp,
        })
    }
}

impl StoredGroup {
    pub fn encode(&self) -> Bytes {
        let mut buffer = BytesMut::new();
        buffer.put_i16(GROUP_VALUE_VERSION);
        put_string(&mut buffer, &self.protocol_type);
        buffer.put_i32(self.generation);
        put_nullable_string(&mut buffer, self.protocol.as_deref());
        put_nullable_string(&mut buffer, self.leader.as_deref());
        buffer.put_i64(self.state_timestamp);
        buffer.put_i32(0);
        buffer.freeze()
    }

    pub fn decode(mut bytes: Bytes) -> Option<Self> {
        if bytes.remaining() < 2 {
            return None;
        }
        let version = bytes.get_i16();
        let protocol_type = get_string(&mut bytes)?;
        if bytes.remaining() < 4 {
            return None;
        }
        let generation = bytes.get_i32();
        let protocol = get_nullable_string(&mut bytes)?;
        let leader = get_nullable_string(&mut bytes)?;
        let state_timestamp = if version >= 2 && bytes.remaining() >= 8 {
            bytes.get_i64()
        } else {
            -1
        };
        Some(StoredGroup {
            protocol_type,
            generation,
            protocol,
            leader,
            state_timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_in_kafkas_layout() {
        let key = GroupRecordKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 3,
        };
        let encoded = key.encode();
        assert_eq!(&encoded[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 3]);
        assert_eq!(GroupRecordKey::decode(encoded), Some(key));
        let group = GroupRecordKey::Group { group: "g".into() };
        assert_eq!(GroupRecordKey::decode(group.encode()), Some(group));
    }

    #[test]
    fn values_round_trip() {
        let offset = CommittedOffset {
            offset: 42,
            leader_epoch: 1,
            metadata: "m".into(),
            commit_timestamp: 7,
        };
        assert_eq!(CommittedOffset::decode(offset.encode()), Some(offset));
        let group = StoredGroup {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: None,
            state_timestamp: 9,
        };
        assert_eq!(StoredGroup::decode(group.encode()), Some(group));
    }

    #[test]
    fn truncated_values_are_skipped_not_panicked_on() {
        let encoded = CommittedOffset {
            offset: 1,
            leader_epoch: 0,
            metadata: "abc".into(),
            commit_timestamp: 0,
        }
        .encode();
        for cut in 0..encoded.len() {
            let _ = CommittedOffset::decode(encoded.slice(..cut));
            let _ = GroupRecordKey::decode(encoded.slice(..cut));
            let _ = StoredGroup::decode(encoded.slice(..cut));
        }
    }
}
