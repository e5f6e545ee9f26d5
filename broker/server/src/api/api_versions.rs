//! ApiVersions: the first request every client sends, to learn which versions to use.

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiVersionsResponse;
use kafka_protocol::protocol::Encodable;
use kafka_protocol::ResponseError;

use super::versions::served;

pub fn handle() -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default();
    response.api_keys = served()
        .map(|(api, range)| {
            let mut version = ApiVersion::default();
            version.api_key = api as i16;
            version.min_version = range.min;
            version.max_version = range.max;
            version
        })
        .collect();
    response
}

/// Kafka's answer to an ApiVersions request newer than it knows: a v0 response with
/// UNSUPPORTED_VERSION and the supported list, so the client can retry with a version it
/// finds there.
pub fn unsupported_version_fallback(correlation_id: i32) -> BytesMut {
    let mut response = handle();
    response.error_code = ResponseError::UnsupportedVersion.code();
    let mut buffer = BytesMut::new();
    buffer.put_i32(0);
    buffer.put_i32(correlation_id);
    response
        .encode(&mut buffer, 0)
        .expect("a v0 ApiVersions response always encodes");
    let length = (buffer.len() - 4) as i32;
    buffer[0..4].copy_from_slice(&length.to_be_bytes());
    buffer
}
