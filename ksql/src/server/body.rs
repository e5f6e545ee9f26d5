//! Request bodies read within limits, so no client can make the server hold more than a
//! bounded number of bytes for it.
//!
//! - `read_limited`: a body read whole (the JSON of `/ksql`, `/query`, ...), refused past
//!   `ksql.server.request.max.bytes`.
//! - `LineReader`: a body read a line at a time (`/inserts-stream`), in time linear in its
//!   length and memory bounded by `ksql.server.inserts.max.line.bytes`, however long it is.

use std::time::{Duration, Instant};

use axum::body::{Body, BodyDataStream, HttpBody};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

/// After a body is refused as too large, at most this many more of its bytes are read and
/// dropped before answering, for at most `DRAIN_TIME`. A client that sends its whole body
/// before reading the answer (most do) then reads the 413 instead of a reset connection;
/// past these bounds the connection is closed.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("The request body is larger than the limit of {limit} bytes ({property})")]
    TooLarge {
        limit: usize,
        property: &'static str,
    },
    #[error("A line of the request body is longer than the limit of {limit} bytes ({property})")]
    LineTooLong {
        limit: usize,
        property: &'static str,
    },
    #[error("Failed to read the request body: {0}")]
    Failed(String),
}

/// The whole body, when it has at most `limit` bytes; `property` names the setting in the
/// error otherwise.
pub async fn read_limited(
    body: Body,
    limit: usize,
    property: &'static str,
) -> Result<Bytes, BodyError> {
    let too_large = BodyError::TooLarge { limit, property };
    let declared = HttpBody::size_hint(&body).exact();
    let mut chunks = body.into_data_stream();
    if declared.is_some_and(|length| length > limit as u64) {
        drain(&mut chunks).await;
        return Err(too_large);
    }
    // A declared length is reserved at once (it is within the limit), so the buffer is not
    // grown by doubling to twice the body.
    let mut read = BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| BodyError::Failed(e.to_string()))?;
        if read.len() + chunk.len() > limit {
            drain(&mut chunks).await;
            return Err(too_large);
        }
        read.extend_from_slice(&chunk);
    }
    Ok(read.freeze())
}

/// Reads and drops what is left of a refused body, within `DRAIN_BYTES` and `DRAIN_TIME`.
async fn drain(chunks: &mut BodyDataStream) {
    let deadline = Instant::now() + DRAIN_TIME;
    let mut drained = 0usize;
    while drained < DRAIN_BYTES {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, chunks.next()).await {
            Ok(Some(Ok(chunk))) => drained += chunk.len(),
            _ => return,
        }
    }
}

/// A body as lines of text, each trimmed, blank lines skipped. A line longer than the
/// limit is an error, after which no more lines are read.
pub struct LineReader {
    chunks: BodyDataStream,
    /// Bytes read but not yet returned: the start of the next line.
    pending: BytesMut,
    /// How much of `pending` is known to hold no newline, so no byte is searched twice.
    searched: usize,
    max_line: usize,
    property: &'static str,
    body_ended: bool,
    failed: bool,
    /// After a line is refused, the rest of the body is drained once before the end, so the
    /// client reads the refusal instead of a reset connection.
    drain_pending: bool,
}

impl LineReader {
    pub fn new(body: Body, max_line: usize, property: &'static str) -> LineReader {
        LineReader {
            chunks: body.into_data_stream(),
            pending: BytesMut::new(),
            searched: 0,
            max_line,
            property,
            body_ended: false,
            failed: false,
            drain_pending: false,
        }
    }

    fn fail(&mut self, error: BodyError) -> Option<Result<String, BodyError>> {
        self.failed = true;
        self.drain_pending = !self.body_ended;
        self.pending = BytesMut::new();
        Some(Err(error))
    }

    fn too_long(&mut self) -> Option<Result<String, BodyError>> {
        self.fail(BodyError::LineTooLong {
            limit: self.max_line,
            property: self.property,
        })
    }

    /// The next non-blank line, None at the end of the body (or after an error, once what
    /// is left of the body has been drained).
    pub async fn next_line(&mut self) -> Option<Result<String, BodyError>> {
        loop {
            if self.failed {
                if std::mem::take(&mut self.drain_pending) {
                    drain(&mut self.chunks).await;
                }
                return None;
            }
            let newline = self.pending[self.searched..]
                .iter()
                .position(|b| *b == b'\n');
            let line = match newline {
                Some(at) => {
                    let line = self.pending.split_to(self.searched + at + 1);
                    self.searched = 0;
                    line
                }
                None if self.pending.len() > self.max_line => return self.too_long(),
                None if self.body_ended => {
                    if self.pending.is_empty() {
                        return None;
                    }
                    self.searched = 0;
                    self.pending.split()
                }
                None => {
                    self.searched = self.pending.len();
                    match self.chunks.next().await {
                        Some(Ok(chunk)) => self.pending.extend_from_slice(&chunk),
                        Some(Err(error)) => {
                            self.body_ended = true;
                            return self.fail(BodyError::Failed(error.to_string()));
                        }
                        None => self.body_ended = true,
                    }
                    continue;
                }
            };
            let content = line.strip_suffix(b"\n").unwrap_or(&line);
            if content.len() > self.max_line {
                return self.too_long();
            }
            let text = String::from_utf8_lossy(content);
            let text = text.trim();
            if !text.is_empty() {
                return Some(Ok(text.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPERTY: &str = "test.limit";

    fn chunked(chunks: Vec<&'static [u8]>) -> Body {
        let stream = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|chunk| Ok::<_, std::convert::Infallible>(Bytes::from_static(chunk))),
        );
        Body::from_stream(stream)
    }

    async fn all_lines(mut reader: LineReader) -> Vec<Result<String, BodyError>> {
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().await {
            lines.push(line);
        }
        lines
    }

    #[tokio::test]
    async fn lines_split_across_chunks_are_joined() {
        let body = chunked(vec![b"{\"a\":", b"1}\n\n  \n{\"b\"", b":2}\r\n{\"c\":3}"]);
        let lines = all_lines(LineReader::new(body, 16, PROPERTY)).await;
        assert_eq!(
            lines,
            vec![
                Ok("{\"a\":1}".to_string()),
                Ok("{\"b\":2}".to_string()),
                Ok("{\"c\":3}".to_string())
            ]
        );
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_an_error_and_the_last() {
        let body = chunked(vec![b"short\n", b"0123456789", b"0123456789\nnext\n"]);
        let lines = all_lines(LineReader::new(body, 16, PROPERTY)).await;
        assert_eq!(
            lines,
            vec![
                Ok("short".to_string()),
                Err(BodyError::LineTooLong {
                    limit: 16,
                    property: PROPERTY
                })
            ]
        );
        // Found whole in one chunk, the line is refused all the same.
        let body = chunked(vec![b"01234567890123456789\nnext\n"]);
        let lines = all_lines(LineReader::new(body, 16, PROPERTY)).await;
        assert!(matches!(lines[..], [Err(BodyError::LineTooLong { .. })]));
        // A line of exactly the limit is fine.
        let body = chunked(vec![b"0123456789abcdef\n"]);
        let lines = all_lines(LineReader::new(body, 16, PROPERTY)).await;
        assert_eq!(lines, vec![Ok("0123456789abcdef".to_string())]);
    }

    #[tokio::test]
    async fn the_rest_of_a_refused_body_is_drained_before_the_end() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let polled = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = polled.clone();
        let chunks: Vec<&'static [u8]> = vec![b"01234567890123456789\n", b"more\n", b"and more\n"];
        let stream = futures_util::stream::iter(chunks).map(move |chunk| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::convert::Infallible>(Bytes::from_static(chunk))
        });
        let mut reader = LineReader::new(Body::from_stream(stream), 16, PROPERTY);
        assert!(matches!(
            reader.next_line().await,
            Some(Err(BodyError::LineTooLong { .. }))
        ));
        assert_eq!(polled.load(Ordering::SeqCst), 1);
        assert!(reader.next_line().await.is_none());
        assert_eq!(polled.load(Ordering::SeqCst), 3);
        assert!(reader.next_line().await.is_none());
    }

    #[tokio::test]
    async fn a_long_body_is_read_in_linear_time_with_bounded_memory() {
        // 64 MiB of rows in chunks of 64 KiB, each holding two thousand lines: taking a line
        // off the front must not move the rest of the chunk.
        let row: &'static [u8] = b"{\"ID\": 1, \"NAME\": \"some text\"}\n";
        let chunk: &'static [u8] = row.repeat(2048).leak();
        let chunks = 1024;
        let stream = futures_util::stream::iter(
            (0..chunks).map(move |_| Ok::<_, std::convert::Infallible>(Bytes::from_static(chunk))),
        );
        let mut reader = LineReader::new(Body::from_stream(stream), 1024, PROPERTY);
        let mut count = 0;
        let mut most_pending = 0;
        while let Some(line) = reader.next_line().await {
            assert_eq!(line.unwrap().len(), row.len() - 1);
            most_pending = most_pending.max(reader.pending.len());
            count += 1;
        }
        assert_eq!(count, 2048 * chunks);
        assert!(most_pending < chunk.len(), "{most_pending}");
    }

    #[tokio::test]
    async fn one_long_line_arriving_byte_by_byte_is_searched_once() {
        let line = vec![b'x'; 100_000];
        let stream = futures_util::stream::iter(
            line.into_iter()
                .map(|b| Ok::<_, std::convert::Infallible>(Bytes::from(vec![b])))
                .chain(std::iter::once(Ok(Bytes::from_static(b"\n")))),
        );
        let mut reader = LineReader::new(Body::from_stream(stream), 200_000, PROPERTY);
        assert_eq!(reader.next_line().await.unwrap().unwrap().len(), 100_000);
        assert!(reader.next_line().await.is_none());
    }

    #[tokio::test]
    async fn whole_bodies_are_refused_past_the_limit() {
        let body = chunked(vec![b"12345", b"67890"]);
        assert_eq!(
            read_limited(body, 10, PROPERTY).await,
            Ok(Bytes::from_static(b"1234567890"))
        );
        let body = chunked(vec![b"12345", b"67890", b"!"]);
        assert_eq!(
            read_limited(body, 10, PROPERTY).await,
            Err(BodyError::TooLarge {
                limit: 10,
                property: PROPERTY
            })
        );
        let declared = Body::from(vec![b'x'; 11]);
        assert!(read_limited(declared, 10, PROPERTY).await.is_err());
        assert_eq!(
            BodyError::TooLarge {
                limit: 10,
                property: PROPERTY
            }
            .to_string(),
            "The request body is larger than the limit of 10 bytes (test.limit)"
        );
    }
}
