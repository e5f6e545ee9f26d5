//! The console's error: what went wrong in the user's terms, the HTTP status it answers
//! with, and the JSON body `{"error": CODE, "message": text}` the API and the pages' scripts
//! read. Kafka's errors keep Kafka's names (`TOPIC_ALREADY_EXISTS`) as their code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use potok_client::ClientError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiError {
    pub status: StatusCode,
    /// A stable name for scripts: Kafka's error name, or the console's own.
    pub code: String,
    /// What happened and, where there is one, the fix.
    pub message: String,
}

pub type UiResult<T> = Result<T, UiError>;

impl UiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> UiError {
        UiError {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// The request itself is wrong: a bad value, a missing field.
    pub fn bad_request(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    pub fn not_found(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub fn forbidden(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// A Kafka client error about `cluster`, with the status a web client expects for it.
    pub fn from_client(cluster: &str, error: ClientError) -> UiError {
        match &error {
            ClientError::Kafka(kafka) => {
                let status = match kafka.name.as_str() {
                    "TOPIC_ALREADY_EXISTS" | "NON_EMPTY_GROUP" | "GROUP_NOT_EMPTY" => {
                        StatusCode::CONFLICT
                    }
                    "UNKNOWN_TOPIC_OR_PARTITION" | "UNKNOWN_TOPIC_ID" | "GROUP_ID_NOT_FOUND" => {
                        StatusCode::NOT_FOUND
                    }
                    "MESSAGE_TOO_LARGE" | "RECORD_LIST_TOO_LARGE" => StatusCode::PAYLOAD_TOO_LARGE,
                    "TOPIC_AUTHORIZATION_FAILED"
                    | "GROUP_AUTHORIZATION_FAILED"
                    | "CLUSTER_AUTHORIZATION_FAILED" => StatusCode::FORBIDDEN,
                    _ if kafka.is_retriable() => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::BAD_REQUEST,
                };
                UiError::new(status, &kafka.name, kafka.to_string())
            }
            ClientError::Io { .. }
            | ClientError::NoBrokerAvailable(_)
            | ClientError::Timeout(_) => UiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "CLUSTER_UNAVAILABLE",
                format!("cluster '{cluster}' is not answering: {error}"),
            ),
            _ => UiError::new(
                StatusCode::BAD_GATEWAY,
                "CLUSTER_ERROR",
                format!("cluster '{cluster}': {error}"),
            ),
        }
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UiError {}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use potok_client::KafkaError;

    #[test]
    fn kafka_errors_keep_their_names_and_get_web_statuses() {
        let exists = UiError::from_client(
            "local",
            KafkaError::new(36, Some("Topic 'test' already exists.")).into(),
        );
        assert_eq!(exists.status, StatusCode::CONFLICT);
        assert_eq!(exists.code, "TOPIC_ALREADY_EXISTS");
        assert_eq!(exists.message, "Topic 'test' already exists.");
        let config = UiError::from_client("local", KafkaError::new(40, None).into());
        assert_eq!(config.status, StatusCode::BAD_REQUEST);
        let down = UiError::from_client(
            "local",
            ClientError::NoBrokerAvailable("127.0.0.1:9092".into()),
        );
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            down.message.starts_with("cluster 'local' is not answering"),
            "{}",
            down.message
        );
    }
}
