//! One client connection: read a length-prefixed frame, answer it, repeat. Requests are
//! handled one at a time, so responses leave in request order, as Kafka guarantees, and a
//! connection has at most one request in flight (Kafka mutes a channel until its response
//! is sent; Potok does not read the next frame before then).
//!
//! Memory follows configuration, not clients: a frame's buffer grows as its bytes arrive
//! (an announced size costs nothing until it is sent); frames above `SMALL_FRAME_BYTES`
//! reserve their size from the broker-wide `RequestMemoryPool` (`queued.max.request.bytes`)
//! before their body is read; and a connection that sends nothing for
//! `connections.max.idle.ms`, or stalls in a body it holds pool memory for, is closed.

mod closing;
mod memory_pool;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use potok_client::shutdown::Shutdown;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;

use crate::api;
use crate::broker::Broker;

pub use closing::{report_close, CloseReason};
pub use memory_pool::{RequestMemoryPool, Reservation, SMALL_FRAME_BYTES};

/// Bytes read from the socket at a time between frames; larger bodies are read straight into
/// their own buffer. Small, since every open connection keeps one.
const READ_BUFFER_BYTES: usize = 8 * 1024;
/// A large frame's buffer starts at this size and doubles as its bytes arrive, up to the size
/// the frame announced.
const FIRST_BODY_CHUNK_BYTES: usize = 64 * 1024;
/// A connection holding pool memory for a frame whose bytes stop arriving is closed after
/// this long: clients give up on a request after 30 s (Kafka's `request.timeout.ms`), and
/// the memory is better given to a request that will be answered.
pub const STALLED_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits one connection reads its frames under.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// `socket.request.max.bytes`.
    pub max_frame: usize,
    /// `connections.max.idle.ms`; `None` for never.
    pub idle: Option<Duration>,
    /// How long a frame holding pool memory may go without bytes.
    pub stalled_request: Duration,
}

impl FrameLimits {
    pub fn of(broker: &Broker) -> Self {
        FrameLimits {
            max_frame: broker.config.socket_request_max_bytes,
            idle: broker.config.connections_max_idle,
            stalled_request: STALLED_REQUEST_TIMEOUT,
        }
    }
}

/// A frame read whole, with the memory reserved for it until it is answered.
struct Request {
    frame: Bytes,
    _reservation: Reservation,
}

#[derive(Debug)]
enum ReadError {
    /// The broker closes the connection to keep one of its limits.
    Limit(CloseReason, String),
    /// The client sent something that is not a frame, or went away in the middle of one.
    Broken(String),
}

pub async fn serve(
    broker: Arc<Broker>,
    socket: TcpStream,
    peer: SocketAddr,
    listener: Arc<str>,
    pool: Arc<RequestMemoryPool>,
    mut shutdown: Shutdown,
) {
    let _ = socket.set_nodelay(true);
    let (reader, mut writer) = socket.into_split();
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, reader);
    let limits = FrameLimits::of(&broker);
    loop {
        // Between requests a stopping broker closes the connection; one being answered is
        // finished first.
        let read = tokio::select! {
            read = read_request(&mut reader, &limits, &pool) => read,
            _ = shutdown.recv() => return,
        };
        let request = match read {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(ReadError::Limit(reason, detail)) => {
                report_close(&broker.metrics, reason, peer, &detail);
                return;
            }
            Err(ReadError::Broken(detail)) => {
                closing::report_broken_frame(peer, &detail);
                return;
            }
        };
        broker
            .metrics
            .bytes_in
            .inc_by(request.frame.len() as u64 + 4);
        match api::handle_frame(&broker, request.frame, peer, &listener).await {
            Ok(Some(response)) => {
                broker.metrics.bytes_out.inc_by(response.len() as u64);
                match write_response(&mut writer, &response, limits.idle).await {
                    Ok(true) => {}
                    Ok(false) => {
                        let detail = idle_detail(limits.idle, "reading its response");
                        report_close(&broker.metrics, CloseReason::Idle, peer, &detail);
                        return;
                    }
                    Err(error) => {
                        tracing::debug!(%peer, %error, "client went away");
                        return;
                    }
                }
            }
            Ok(None) => {}
            Err(reason) => {
                broker
                    .metrics
                    .request_errors
                    .with_label_values(&["frame", "CLOSED"])
                    .inc();
                let detail = reason.to_string();
                closing::report_broken_frame(peer, &detail);
                return;
            }
        }
    }
}

/// Reads one frame, reserving pool memory for it first if it is large; `Ok(None)` at a
/// clean end of stream.
async fn read_request(
    reader: &mut (impl AsyncBufRead + Unpin),
    limits: &FrameLimits,
    pool: &RequestMemoryPool,
) -> Result<Option<Request>, ReadError> {
    let size = match within(limits.idle, reader.read_i32()).await {
        Some(Ok(size)) => size,
        Some(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Some(Err(e)) => return Err(ReadError::Broken(e.to_string())),
        None => return Err(idle(limits.idle, "sending a request")),
    };
    let size = usize::try_from(size)
        .map_err(|_| ReadError::Broken(format!("negative frame size {size}")))?;
    if size > limits.max_frame {
        return Err(ReadError::Limit(
            CloseReason::FrameTooLarge,
            format!(
                "a frame of {size} bytes is larger than socket.request.max.bytes ({})",
                limits.max_frame
            ),
        ));
    }
    if !pool.fits(size) {
        return Err(ReadError::Limit(
            CloseReason::FrameTooLarge,
            format!("a frame of {size} bytes is larger than queued.max.request.bytes"),
        ));
    }
    let reservation = if pool.needs_reservation(size) {
        // Queue for memory only once the body starts to arrive: a client announcing a frame
        // and sending nothing must not hold memory other requests wait for.
        match within(limits.idle, reader.fill_buf()).await {
            Some(Ok([])) => return Err(truncated(size, 0)),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(ReadError::Broken(e.to_string())),
            None => return Err(idle(limits.idle, "sending the body of a request")),
        }
        pool.reserve(size).await
    } else {
        Reservation::none()
    };
    // Pool memory is shared, so a body holding some may stall for less time than an idle
    // connection may wait.
    let stalls_first = limits.idle.is_none_or(|idle| idle > limits.stalled_request);
    let (read_timeout, timeout_error) = if reservation.bytes() > 0 && stalls_first {
        let detail = format!(
            "no bytes for {}s of a {size}-byte request holding queued.max.request.bytes",
            limits.stalled_request.as_secs_f64()
        );
        (
            Some(limits.stalled_request),
            ReadError::Limit(CloseReason::StalledRequest, detail),
        )
    } else {
        (
            limits.idle,
            idle(limits.idle, "sending the body of a request"),
        )
    };
    let frame = read_body(reader, size, read_timeout).await;
    match frame {
        Ok(Some(frame)) => Ok(Some(Request {
            frame,
            _reservation: reservation,
        })),
        Ok(None) => Err(timeout_error),
        Err(error) => Err(error),
    }
}

/// Reads a body of `size` bytes into a buffer that grows as they arrive; `Ok(None)` when no
/// byte came for `read_timeout`.
async fn read_body(
    reader: &mut (impl AsyncRead + Unpin),
    size: usize,
    read_timeout: Option<Duration>,
) -> Result<Option<Bytes>, ReadError> {
    let mut body: Vec<u8> = Vec::with_capacity(size.min(FIRST_BODY_CHUNK_BYTES));
    while body.len() < size {
        if body.len() == body.capacity() {
            body.reserve_exact(next_capacity(body.capacity(), size) - body.len());
        }
        let room = (body.capacity() - body.len()).min(size - body.len());
        let mut chunk = (&mut *reader).take(room as u64);
        match within(read_timeout, chunk.read_buf(&mut body)).await {
            Some(Ok(0)) => return Err(truncated(size, body.len())),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(ReadError::Broken(e.to_string())),
            None => return Ok(None),
        }
    }
    Ok(Some(Bytes::from(body)))
}

/// The capacity a body buffer grows to when full: double, up to the frame's size.
fn next_capacity(capacity: usize, size: usize) -> usize {
    capacity
        .saturating_mul(2)
        .max(FIRST_BODY_CHUNK_BYTES)
        .min(size)
}

fn truncated(size: usize, received: usize) -> ReadError {
    ReadError::Broken(format!(
        "truncated frame: the connection ended after {received} of {size} bytes"
    ))
}

fn idle(limit: Option<Duration>, waiting_for: &str) -> ReadError {
    ReadError::Limit(CloseReason::Idle, idle_detail(limit, waiting_for))
}

fn idle_detail(limit: Option<Duration>, waiting_for: &str) -> String {
    format!(
        "idle for {}ms (connections.max.idle.ms) waiting for the client {waiting_for}",
        limit.unwrap_or_default().as_millis()
    )
}

/// `future`'s output, or `None` if it takes longer than `limit`.
async fn within<T>(limit: Option<Duration>, future: impl Future<Output = T>) -> Option<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, future).await.ok(),
        None => Some(future.await),
    }
}

/// Writes a response; `Ok(false)` when the client took none of it for `idle`.
async fn write_response(
    writer: &mut (impl AsyncWrite + Unpin),
    response: &[u8],
    idle: Option<Duration>,
) -> std::io::Result<bool> {
    let mut written = 0;
    while written < response.len() {
        match within(idle, writer.write(&response[written..])).await {
            Some(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Some(Ok(n)) => written += n,
            Some(Err(error)) => return Err(error),
            None => return Ok(false),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use prometheus::{IntCounter, IntGauge};
    use tokio::io::{duplex, AsyncWriteExt, BufReader, DuplexStream};

    use super::*;

    const LARGE: usize = SMALL_FRAME_BYTES * 4;
    const SHORT: Duration = Duration::from_millis(100);

    fn limits(max_frame: usize) -> FrameLimits {
        FrameLimits {
            max_frame,
            idle: Some(Duration::from_secs(30)),
            stalled_request: Duration::from_secs(30),
        }
    }

    fn pool(total: Option<usize>) -> RequestMemoryPool {
        RequestMemoryPool::new(
            total,
            IntGauge::new("reserved", "reserved").unwrap(),
            IntCounter::new("waits", "waits").unwrap(),
        )
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut bytes = (body.len() as i32).to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    /// A client end and the broker's buffered end of an in-memory connection.
    fn connection() -> (DuplexStream, BufReader<DuplexStream>) {
        let (client, server) = duplex(1024 * 1024);
        (client, BufReader::with_capacity(READ_BUFFER_BYTES, server))
    }

    #[tokio::test]
    async fn frames_are_read_whole_and_in_order() {
        let (mut client, mut server) = connection();
        let large: Vec<u8> = (0..LARGE * 3).map(|i| i as u8).collect();
        client.write_all(&frame(b"small")).await.unwrap();
        client.write_all(&frame(&large)).await.unwrap();
        drop(client);
        let pool = pool(Some(LARGE * 3));
        let limits = limits(LARGE * 3);
        let first = read_request(&mut server, &limits, &pool).await.unwrap();
        assert_eq!(&first.unwrap().frame[..], b"small");
        let second = read_request(&mut server, &limits, &pool).await.unwrap();
        assert_eq!(second.unwrap().frame, large);
        assert!(read_request(&mut server, &limits, &pool)
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_body_buffer_doubles_up_to_the_announced_size() {
        let size = 100 * 1024 * 1024;
        let mut capacity = size.min(FIRST_BODY_CHUNK_BYTES);
        let mut steps = 0;
        while capacity < size {
            let next = next_capacity(capacity, size);
            assert!(next > capacity && next <= size && next <= capacity * 2);
            capacity = next;
            steps += 1;
        }
        assert_eq!(steps, 11, "64 KiB doubles to 100 MiB in 11 steps");
        assert_eq!(next_capacity(0, 10), 10);
    }

    #[tokio::test]
    async fn an_announced_size_reserves_nothing_until_its_body_arrives() {
        let pool = Arc::new(pool(Some(LARGE)));
        let limits = limits(LARGE);
        let (mut silent, mut silent_server) = connection();
        silent
            .write_all(&(LARGE as i32).to_be_bytes())
            .await
            .unwrap();
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move {
                read_request(&mut silent_server, &limits, &pool)
                    .await
                    .is_ok()
            }
        });
        let (mut client, mut server) = connection();
        client.write_all(&frame(&vec![7; LARGE])).await.unwrap();
        let request = tokio::time::timeout(
            Duration::from_secs(30),
            read_request(&mut server, &limits, &pool),
        )
        .await
        .expect("the silent connection holds no memory")
        .unwrap()
        .unwrap();
        assert_eq!(request.frame.len(), LARGE);
        assert_eq!(pool.available(), 0, "held until the request is answered");
        drop(request);
        assert_eq!(pool.available(), LARGE);
        assert!(!waiting.is_finished());
        waiting.abort();
    }

    #[tokio::test]
    async fn a_large_frame_waits_for_room_and_then_is_read() {
        let pool = Arc::new(pool(Some(LARGE)));
        let limits = limits(LARGE);
        let held = pool.reserve(LARGE).await;
        let (mut client, mut server) = connection();
        client.write_all(&frame(&vec![1; LARGE])).await.unwrap();
        let reading = tokio::spawn({
            let pool = pool.clone();
            async move {
                let request = read_request(&mut server, &limits, &pool).await;
                request.unwrap().unwrap().frame.len()
            }
        });
        tokio::time::sleep(SHORT).await;
        assert!(!reading.is_finished(), "waits while the pool is full");
        drop(held);
        let read = tokio::time::timeout(Duration::from_secs(30), reading)
            .await
            .expect("read once the pool has room")
            .unwrap();
        assert_eq!(read, LARGE);
    }

    #[tokio::test]
    async fn frames_beyond_either_limit_are_refused() {
        let (mut client, mut server) = connection();
        client.write_all(&1000i32.to_be_bytes()).await.unwrap();
        let error = read_request(&mut server, &limits(999), &pool(None))
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&error, ReadError::Limit(CloseReason::FrameTooLarge, detail) if detail.contains("socket.request.max.bytes")),
            "{error:?}"
        );
        let (mut client, mut server) = connection();
        client
            .write_all(&(LARGE as i32 + 1).to_be_bytes())
            .await
            .unwrap();
        let error = read_request(&mut server, &limits(LARGE * 2), &pool(Some(LARGE)))
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&error, ReadError::Limit(CloseReason::FrameTooLarge, detail) if detail.contains("queued.max.request.bytes")),
            "{error:?}"
        );
        let (mut client, mut server) = connection();
        client.write_all(&(-1i32).to_be_bytes()).await.unwrap();
        let error = read_request(&mut server, &limits(LARGE), &pool(None))
            .await
            .err()
            .unwrap();
        assert!(matches!(error, ReadError::Broken(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_truncated_frame_is_broken_not_a_request() {
        let (mut client, mut server) = connection();
        client.write_all(&frame(&[1; 100])[..50]).await.unwrap();
        drop(client);
        let error = read_request(&mut server, &limits(LARGE), &pool(None))
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&error, ReadError::Broken(detail) if detail.contains("46 of 100")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn silent_connections_are_idle_and_stalled_bodies_give_their_memory_back() {
        let quick = FrameLimits {
            max_frame: LARGE,
            idle: Some(SHORT),
            stalled_request: Duration::from_secs(30),
        };
        let (_client, mut server) = connection();
        let error = read_request(&mut server, &quick, &pool(None))
            .await
            .err()
            .unwrap();
        assert!(
            matches!(error, ReadError::Limit(CloseReason::Idle, _)),
            "{error:?}"
        );

        let stalls = FrameLimits {
            max_frame: LARGE,
            idle: Some(Duration::from_secs(30)),
            stalled_request: SHORT,
        };
        let pool = pool(Some(LARGE));
        let (mut client, mut server) = connection();
        client
            .write_all(&frame(&vec![1; LARGE])[..LARGE / 2])
            .await
            .unwrap();
        let error = read_request(&mut server, &stalls, &pool)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(error, ReadError::Limit(CloseReason::StalledRequest, _)),
            "{error:?}"
        );
        assert_eq!(pool.available(), LARGE);
    }
}
