//! The error a request handler answers with: a Kafka error code and, where the protocol
//! carries one, a message for the user naming what was wrong.

use kafka_protocol::error::ResponseError;
use kafka_protocol::protocol::StrBytes;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error:?}: {}", message.as_deref().unwrap_or("(no message)"))]
pub struct ApiError {
    pub error: ResponseError,
    pub message: Option<String>,
}

impl ApiError {
    pub fn new(error: ResponseError, message: impl Into<String>) -> Self {
        ApiError {
            error,
            message: Some(message.into()),
        }
    }

    pub fn code(error: ResponseError) -> Self {
        ApiError {
            error,
            message: None,
        }
    }

    pub fn error_code(&self) -> i16 {
        self.error.code()
    }

    /// The message as the protocol's nullable string.
    pub fn message_str(&self) -> Option<StrBytes> {
        self.message.clone().map(StrBytes::from_string)
    }
}

impl From<ResponseError> for ApiError {
    fn from(error: ResponseError) -> Self {
        ApiError::code(error)
    }
}
