//! One TCP connection to one broker: Kafka's size-prefixed framing, request and response
//! headers, correlation ids, and the ApiVersions handshake that decides which version of
//! each API to use.
//!
//! Requests go one at a time (a mutex around the socket): the broker answers in order
//! anyway, and the client's callers are few and mostly sequential.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{
    Decodable, Encodable, HeaderVersion, Request, StrBytes, VersionRange,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::error::{ClientError, KafkaError};
use crate::versions;

/// How long to wait for a TCP connection before giving up on a broker.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Responses larger than this are treated as a broken stream rather than allocated.
const MAX_RESPONSE_SIZE: usize = 256 * 1024 * 1024;
/// Kafka's UNSUPPORTED_VERSION error code, answered to an ApiVersions version the broker
/// does not know (with a v0 body listing what it does know).
const UNSUPPORTED_VERSION: i16 = 35;

/// A connected, handshaken broker connection.
#[derive(Debug)]
pub struct Connection {
    address: String,
    client_id: StrBytes,
    request_timeout: Duration,
    stream: Mutex<TcpStream>,
    next_correlation_id: AtomicI32,
    broken: AtomicBool,
    broker_versions: HashMap<i16, VersionRange>,
}

impl Connection {
    /// Connects to `address` (host:port) and runs the ApiVersions handshake.
    pub async fn connect(
        address: &str,
        client_id: &str,
        request_timeout: Duration,
    ) -> Result<Connection, ClientError> {
        let io_error = |source| ClientError::Io {
            address: address.to_owned(),
            source,
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| ClientError::Timeout(format!("connecting to {address}")))?
            .map_err(io_error)?;
        stream.set_nodelay(true).map_err(io_error)?;
        let mut connection = Connection {
            address: address.to_owned(),
            client_id: StrBytes::from_string(client_id.to_owned()),
            request_timeout,
            stream: Mutex::new(stream),
            next_correlation_id: AtomicI32::new(0),
            broken: AtomicBool::new(false),
            broker_versions: HashMap::new(),
        };
        connection.broker_versions = connection.handshake().await?;
        Ok(connection)
    }

    /// The address this connection was opened to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// False once a request failed mid-stream; the connection must then be replaced.
    pub fn is_usable(&self) -> bool {
        !self.broken.load(Ordering::Relaxed)
    }

    /// True when the broker accepts at least one version of `key` this crate speaks.
    pub fn supports(&self, key: ApiKey) -> bool {
        self.version_for(key).is_ok()
    }

    /// The version to use for `key`: the highest both sides accept.
    pub fn version_for(&self, key: ApiKey) -> Result<i16, ClientError> {
        let unsupported = || ClientError::UnsupportedApi {
            api: format!("{key:?}"),
        };
        let ours = versions::supported(key).ok_or_else(unsupported)?;
        let theirs = self
            .broker_versions
            .get(&(key as i16))
            .ok_or_else(unsupported)?;
        let both = ours.intersect(theirs);
        if both.is_empty() {
            return Err(unsupported());
        }
        Ok(both.max)
    }

    /// Sends `request` at the negotiated version and waits for its response.
    pub async fn send<R: Request>(&self, request: R) -> Result<R::Response, ClientError> {
        let version = self.version_for(api_key::<R>()?)?;
        self.send_at(version, request).await
    }

    /// Sends `request` at an explicit `version`, for requests whose shape depends on it.
    pub async fn send_at<R: Request>(
        &self,
        version: i16,
        request: R,
    ) -> Result<R::Response, ClientError> {
        self.send_within(version, request, self.request_timeout)
            .await
    }

    /// Sends a request the broker may hold for up to `wait` (JoinGroup waits for the whole
    /// group), allowing that long beyond the usual request timeout.
    pub async fn send_holding<R: Request>(
        &self,
        request: R,
        wait: Duration,
    ) -> Result<R::Response, ClientError> {
        let version = self.version_for(api_key::<R>()?)?;
        self.send_within(version, request, self.request_timeout + wait)
            .await
    }

    async fn send_within<R: Request>(
        &self,
        version: i16,
        request: R,
        timeout: Duration,
    ) -> Result<R::Response, ClientError> {
        let mut body = self.round_trip::<R>(version, &request, timeout).await?;
        R::Response::decode(&mut body, version).map_err(|e| {
            ClientError::Protocol(format!("decoding {:?} v{version}: {e}", api_key::<R>()))
        })
    }

    /// Sends `request` without waiting for a response, for requests the broker never
    /// answers (Produce with `acks=0`).
    pub async fn send_without_response<R: Request>(&self, request: R) -> Result<(), ClientError> {
        let version = self.version_for(api_key::<R>()?)?;
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let frame = self.encode_frame(version, correlation_id, &request)?;
        let mut stream = self.stream.lock().await;
        stream.write_all(&frame).await.map_err(|source| {
            self.broken.store(true, Ordering::Relaxed);
            ClientError::Io {
                address: self.address.clone(),
                source,
            }
        })
    }

    /// Writes one request frame and reads its response frame, returning the body after the
    /// response header. Any failure here leaves the stream unusable, and so does a caller
    /// that gives up halfway (its future dropped): the response it leaves unread would be
    /// taken for the next request's.
    async fn round_trip<R: Request>(
        &self,
        version: i16,
        request: &R,
        timeout: Duration,
    ) -> Result<Bytes, ClientError> {
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let frame = self.encode_frame(version, correlation_id, request)?;
        let mut stream = self.stream.lock().await;
        let in_flight = InFlight {
            broken: &self.broken,
            finished: false,
        };
        let exchange = async {
            stream.write_all(&frame).await?;
            let size = stream.read_i32().await?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s <= MAX_RESPONSE_SIZE)
                .ok_or_else(|| std::io::Error::other(format!("invalid response size {size}")))?;
            let mut body = BytesMut::zeroed(size);
            stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(body.freeze())
        };
        let result = tokio::time::timeout(timeout, exchange).await;
        in_flight.finish();
        let mut body = match result {
            Ok(Ok(body)) => body,
            Ok(Err(source)) => {
                self.broken.store(true, Ordering::Relaxed);
                return Err(ClientError::Io {
                    address: self.address.clone(),
                    source,
                });
            }
            Err(_) => {
                self.broken.store(true, Ordering::Relaxed);
                return Err(ClientError::Timeout(format!(
                    "waiting for a {:?} response from {}",
                    api_key::<R>()?,
                    self.address
                )));
            }
        };
        let header = ResponseHeader::decode(&mut body, R::Response::header_version(version))
            .map_err(|e| ClientError::Protocol(format!("decoding response header: {e}")))?;
        if header.correlation_id != correlation_id {
            self.broken.store(true, Ordering::Relaxed);
            return Err(ClientError::Protocol(format!(
                "expected correlation id {correlation_id}, got {}",
                header.correlation_id
            )));
        }
        Ok(body)
    }

    fn encode_frame<R: Request>(
        &self,
        version: i16,
        correlation_id: i32,
        request: &R,
    ) -> Result<BytesMut, ClientError> {
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        let encode_error =
            |e: anyhow::Error| ClientError::Protocol(format!("encoding request: {e}"));
        header
            .encode(&mut frame, R::header_version(version))
            .map_err(encode_error)?;
        request.encode(&mut frame, version).map_err(encode_error)?;
        let size = i32::try_from(frame.len() - 4)
            .map_err(|_| ClientError::Protocol("request too large".into()))?;
        frame[..4].copy_from_slice(&size.to_be_bytes());
        Ok(frame)
    }

    /// ApiVersions v3, falling back to v0 when the broker does not know v3.
    async fn handshake(&self) -> Result<HashMap<i16, VersionRange>, ClientError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("potok-client"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let body = self
            .round_trip::<ApiVersionsRequest>(3, &request, self.request_timeout)
            .await?;
        let response = if leading_error_code(&body) == Some(UNSUPPORTED_VERSION) {
            self.send_at(0, ApiVersionsRequest::default()).await?
        } else {
            ApiVersionsResponse::decode(&mut body.clone(), 3)
                .map_err(|e| ClientError::Protocol(format!("decoding ApiVersions: {e}")))?
        };
        if response.error_code != 0 {
            return Err(KafkaError::new(response.error_code, None).into());
        }
        Ok(response
            .api_keys
            .iter()
            .map(|k| {
                let range = VersionRange {
                    min: k.min_version,
                    max: k.max_version,
                };
                (k.api_key, range)
            })
            .collect())
    }
}

/// The error code every ApiVersions response version starts with.
fn leading_error_code(body: &[u8]) -> Option<i16> {
    body.get(..2).map(|b| i16::from_be_bytes([b[0], b[1]]))
}

fn api_key<R: Request>() -> Result<ApiKey, ClientError> {
    ApiKey::try_from(R::KEY)
        .map_err(|_| ClientError::Protocol(format!("unknown api key {}", R::KEY)))
}

/// Marks a connection broken when dropped before [`InFlight::finish`]: a request written
/// whose response was not read.
struct InFlight<'a> {
    broken: &'a AtomicBool,
    finished: bool,
}

impl InFlight<'_> {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.broken.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::protocol::decode_request_header_from_buffer;
    use tokio::net::TcpListener;

    /// Answers ApiVersions like a broker (v3 gets UNSUPPORTED_VERSION when `only_v0`) and
    /// leaves every other request unanswered.
    async fn fake_broker(only_v0: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            loop {
                let Ok(size) = socket.read_i32().await else {
                    return;
                };
                let mut frame = BytesMut::zeroed(size as usize);
                socket.read_exact(&mut frame).await.unwrap();
                let mut frame = frame.freeze();
                let header = decode_request_header_from_buffer(&mut frame).unwrap();
                if header.request_api_key != ApiKey::ApiVersions as i16 {
                    continue;
                }
                let reject = only_v0 && header.request_api_version > 0;
                let response = ApiVersionsResponse::default()
                    .with_error_code(if reject { UNSUPPORTED_VERSION } else { 0 })
                    .with_api_keys(vec![ApiVersion::default()
                        .with_api_key(ApiKey::Metadata as i16)
                        .with_min_version(0)
                        .with_max_version(13)]);
                let version = if reject {
                    0
                } else {
                    header.request_api_version
                };
                let mut out = BytesMut::new();
                out.put_i32(0);
                ResponseHeader::default()
                    .with_correlation_id(header.correlation_id)
                    .encode(&mut out, 0)
                    .unwrap();
                response.encode(&mut out, version).unwrap();
                let len = (out.len() - 4) as i32;
                out[..4].copy_from_slice(&len.to_be_bytes());
                socket.write_all(&out).await.unwrap();
            }
        });
        address
    }

    #[tokio::test]
    async fn handshake_picks_the_highest_common_version() {
        let address = fake_broker(false).await;
        let connection = Connection::connect(&address, "test", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(connection.version_for(ApiKey::Metadata).unwrap(), 12);
        assert!(!connection.supports(ApiKey::Produce));
    }

    #[tokio::test]
    async fn handshake_falls_back_to_v0() {
        let address = fake_broker(true).await;
        let connection = Connection::connect(&address, "test", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(connection.version_for(ApiKey::Metadata).unwrap(), 12);
    }

    #[tokio::test]
    async fn a_request_given_up_after_it_was_written_breaks_the_connection() {
        let address = fake_broker(false).await;
        let connection = Connection::connect(&address, "test", Duration::from_secs(5))
            .await
            .unwrap();
        assert!(connection.is_usable());
        // Polled once: the request is written, its response not yet read.
        let given_up = tokio::time::timeout(
            Duration::ZERO,
            connection.send(kafka_protocol::messages::MetadataRequest::default()),
        )
        .await;
        assert!(given_up.is_err());
        assert!(!connection.is_usable());
    }
}
