//! The protocol's string types built from plain strings, shared by the handlers.

use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

/// The protocol's topic name type from a plain string.
pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// The protocol's string type from a plain string.
pub fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}
