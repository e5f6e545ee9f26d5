//! The operations a client may perform on a resource, as Kafka reports them when a request
//! asks (`include_*_authorized_operations`): a bit per ACL operation code. With no
//! authorizer every client may do everything a resource type supports, which is what
//! Kafka answers without one and what Potok, having no ACLs, answers always.

/// The answer when the request did not ask.
pub const OMITTED: i32 = i32::MIN;

// Kafka's AclOperation codes.
const READ: u8 = 3;
const WRITE: u8 = 4;
const CREATE: u8 = 5;
const DELETE: u8 = 6;
const ALTER: u8 = 7;
const DESCRIBE: u8 = 8;
const CLUSTER_ACTION: u8 = 9;
const DESCRIBE_CONFIGS: u8 = 10;
const ALTER_CONFIGS: u8 = 11;
const IDEMPOTENT_WRITE: u8 = 12;

const TOPIC: &[u8] = &[
    READ,
    WRITE,
    CREATE,
    DESCRIBE,
    DELETE,
    ALTER,
    DESCRIBE_CONFIGS,
    ALTER_CONFIGS,
];
const CLUSTER: &[u8] = &[
    CREATE,
    CLUSTER_ACTION,
    DESCRIBE_CONFIGS,
    ALTER_CONFIGS,
    IDEMPOTENT_WRITE,
    ALTER,
    DESCRIBE,
];
const GROUP: &[u8] = &[READ, DESCRIBE, DELETE];

fn answer(asked: bool, operations: &[u8]) -> i32 {
    if asked {
        operations.iter().fold(0, |bits, code| bits | 1 << code)
    } else {
        OMITTED
    }
}

pub fn topic(asked: bool) -> i32 {
    answer(asked, TOPIC)
}

pub fn cluster(asked: bool) -> i32 {
    answer(asked, CLUSTER)
}

pub fn group(asked: bool) -> i32 {
    answer(asked, GROUP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_resource_type_allows_what_kafka_lists_for_it() {
        assert_eq!(topic(false), OMITTED);
        assert_eq!(topic(true).count_ones(), 8);
        assert_eq!(cluster(true).count_ones(), 7);
        assert_eq!(group(true), 1 << 3 | 1 << 6 | 1 << 8);
        assert_eq!(topic(true) & (1 << CLUSTER_ACTION), 0);
    }
}
