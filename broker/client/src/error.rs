//! The library's error type: transport failures, protocol failures and the errors brokers
//! report with a Kafka error code.

use kafka_protocol::error::ResponseError;

/// Everything that can go wrong talking to a Kafka cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket failed or the broker closed the connection.
    #[error("connection to {address} failed: {source}")]
    Io {
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// A request could not be encoded or a response could not be decoded.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The broker answered with a Kafka error code.
    #[error("{0}")]
    Kafka(#[from] KafkaError),
    /// The broker does not speak any version of an API this crate needs.
    #[error("The broker does not support {api}")]
    UnsupportedApi { api: String },
    /// No broker in `bootstrap.servers` (or in the metadata) could be reached.
    #[error("no broker available: {0}")]
    NoBrokerAvailable(String),
    /// An operation did not finish in time.
    #[error("Timed out {0}")]
    Timeout(String),
    /// A configuration value is missing or invalid.
    #[error("{0}")]
    Config(String),
    /// The client was closed while an operation was pending.
    #[error("the client is closed")]
    Closed,
}

impl ClientError {
    /// True when retrying the same operation later may succeed (Kafka's retriable errors
    /// and lost connections).
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka(e) => e.is_retriable(),
            ClientError::Io { .. } | ClientError::NoBrokerAvailable(_) => true,
            _ => false,
        }
    }

    /// The Kafka error this is, if the broker reported one.
    pub fn kafka(&self) -> Option<&KafkaError> {
        match self {
            ClientError::Kafka(e) => Some(e),
            _ => None,
        }
    }
}

/// An error code returned by a broker, with the broker's message when it sent one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message.as_deref().unwrap_or(&self.name))]
pub struct KafkaError {
    /// The numeric error code from the protocol.
    pub code: i16,
    /// Kafka's name for the code, as in `Errors.java`: `TOPIC_ALREADY_EXISTS`.
    pub name: String,
    /// The broker's message, when the response carries one.
    pub message: Option<String>,
}

impl KafkaError {
    /// Builds the error for a non-zero code; the message is kept only when non-empty.
    pub fn new(code: i16, message: Option<&str>) -> Self {
        let name = match ResponseError::try_from_code(code) {
            Some(ResponseError::Unknown(_)) | None => format!("UNKNOWN_ERROR_CODE_{code}"),
            Some(known) => screaming_snake_case(&known.to_string()),
        };
        let message = message.filter(|m| !m.is_empty()).map(str::to_owned);
        KafkaError {
            code,
            name,
            message,
        }
    }

    /// Kafka's classification of the code as retriable.
    pub fn is_retriable(&self) -> bool {
        ResponseError::try_from_code(self.code).is_some_and(|e| e.is_retriable())
    }

    /// True for the given protocol error.
    pub fn is(&self, error: ResponseError) -> bool {
        self.code == error.code()
    }
}

/// Turns a response's error code into a result; zero means success.
pub fn check(code: i16, message: Option<&str>) -> Result<(), KafkaError> {
    if code == 0 {
        Ok(())
    } else {
        Err(KafkaError::new(code, message))
    }
}

/// `TopicAlreadyExists` → `TOPIC_ALREADY_EXISTS`, the spelling Kafka's tools and logs use.
fn screaming_snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kafka_spelling() {
        assert_eq!(KafkaError::new(36, None).name, "TOPIC_ALREADY_EXISTS");
        assert_eq!(KafkaError::new(6, None).name, "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(KafkaError::new(9999, None).name, "UNKNOWN_ERROR_CODE_9999");
    }

    #[test]
    fn display_prefers_the_broker_message() {
        let e = KafkaError::new(36, Some("Topic 'test' already exists."));
        assert_eq!(e.to_string(), "Topic 'test' already exists.");
        assert_eq!(
            KafkaError::new(36, Some("")).to_string(),
            "TOPIC_ALREADY_EXISTS"
        );
    }

    #[test]
    fn retriable_follows_the_protocol() {
        assert!(KafkaError::new(6, None).is_retriable());
        assert!(!KafkaError::new(36, None).is_retriable());
        assert!(check(0, None).is_ok());
    }
}
