//! The coordinators' wire protocol: one JSON message per frame (a 4-byte big-endian length
//! first), request and response in turn on a connection. Raft's own RPCs travel between
//! coordinators; brokers propose metadata changes, renew their leases and follow the image.
//! Connections are opened through a [`Transport`]: TCP, or a simulated network in tests.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{InstallSnapshotError, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::command::{CommandOutcome, MetadataCommand};
use super::{NodeId, TypeConfig};
use crate::metadata::{BoxFuture, MetadataImage};

/// Frames above this are a broken peer, not a message (snapshots are far smaller).
const MAX_FRAME: usize = 64 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// A metadata change; only the leader commits it.
    Propose(MetadataCommand),
    /// A broker renews its lease with the leader.
    Heartbeat {
        broker_id: i32,
    },
    /// Answers once the image is newer than `after`, or after `wait_ms` with the current one.
    Watch {
        after: u64,
        wait_ms: u64,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    InstallSnapshot(
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    ),
    /// The command's outcome and the log index it was committed at (0 when not committed).
    Proposed {
        outcome: CommandOutcome,
        index: u64,
    },
    HeartbeatAccepted,
    /// This coordinator does not lead; `leader` is the one that does, when known.
    NotLeader {
        leader: Option<String>,
    },
    Image {
        version: u64,
        image: MetadataImage,
    },
}

/// A byte stream to a coordinator.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// How connections to coordinators are opened.
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    fn connect<'a>(&'a self, address: &'a str) -> BoxFuture<'a, std::io::Result<Box<dyn Stream>>>;
}

/// Plain TCP, with Nagle off: quorum messages are small and latency-bound.
#[derive(Debug, Default)]
pub struct TcpTransport;

impl Transport for TcpTransport {
    fn connect<'a>(&'a self, address: &'a str) -> BoxFuture<'a, std::io::Result<Box<dyn Stream>>> {
        Box::pin(async move {
            let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as Box<dyn Stream>)
        })
    }
}

pub async fn write_frame<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    message: &impl Serialize,
) -> std::io::Result<()> {
    let body = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    let length = u32::try_from(body.len()).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await
}

/// Reads one frame; `None` when the peer closed the connection between frames.
pub async fn read_frame<T: DeserializeOwned, S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
) -> std::io::Result<Option<T>> {
    let length = match stream.read_u32().await {
        Ok(length) => length as usize,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    if length > MAX_FRAME {
        return Err(std::io::Error::other(format!(
            "frame of {length} bytes exceeds the {MAX_FRAME}-byte limit"
        )));
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// A connection to one coordinator, reopened after any failure.
pub struct RpcClient {
    address: String,
    transport: Arc<dyn Transport>,
    stream: tokio::sync::Mutex<Option<Box<dyn Stream>>>,
}

impl fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcClient")
            .field("address", &self.address)
            .finish()
    }
}

impl RpcClient {
    pub fn new(address: impl Into<String>, transport: Arc<dyn Transport>) -> RpcClient {
        RpcClient {
            address: address.into(),
            transport,
            stream: tokio::sync::Mutex::new(None),
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// One request and its answer within `timeout`, waiting for an earlier call on this
    /// connection included. A failed or late exchange drops the connection, so a late
    /// answer is never read as the next call's.
    pub async fn call(&self, request: &Request, timeout: Duration) -> std::io::Result<Response> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut slot = tokio::time::timeout_at(deadline, self.stream.lock())
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?;
        let exchange = async {
            if slot.is_none() {
                *slot = Some(self.transport.connect(&self.address).await?);
            }
            let stream = slot.as_mut().expect("connected above");
            write_frame(stream, request).await?;
            read_frame(stream)
                .await?
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
        };
        let result = match tokio::time::timeout_at(deadline, exchange).await {
            Ok(result) => result,
            Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut)),
        };
        if result.is_err() {
            *slot = None;
        }
        result
    }
}
