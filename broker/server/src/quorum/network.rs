//! openraft's view of the other coordinators: each Raft RPC is one request over [`RpcClient`].

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};

use super::rpc::{Request, Response, RpcClient, Transport};
use super::{Node, NodeId, TypeConfig};

#[derive(Debug)]
pub struct Network {
    pub transport: Arc<dyn Transport>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Peer {
        Peer {
            target,
            client: Arc::new(RpcClient::new(node.addr.clone(), self.transport.clone())),
        }
    }
}

pub struct Peer {
    target: NodeId,
    client: Arc<RpcClient>,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, Node, RaftError<NodeId, E>>>;

impl Peer {
    async fn call(&self, request: Request, option: &RPCOption) -> Result<Response, Unreachable> {
        let timeout = option.hard_ttl().max(Duration::from_millis(100));
        self.client
            .call(&request, timeout)
            .await
            .map_err(|e| Unreachable::new(&e))
    }

    fn remote<T, E: std::error::Error>(
        &self,
        answer: Result<T, RaftError<NodeId, E>>,
    ) -> RpcResult<T, E> {
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

fn unexpected<E: std::error::Error>(response: Response) -> RPCError<NodeId, Node, E> {
    let error = std::io::Error::other(format!("unexpected answer {response:?}"));
    RPCError::Network(NetworkError::new(&error))
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>> {
        match self.call(Request::AppendEntries(rpc), &option).await? {
            Response::AppendEntries(answer) => self.remote(answer),
            other => Err(unexpected(other)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        match self.call(Request::InstallSnapshot(rpc), &option).await? {
            Response::InstallSnapshot(answer) => self.remote(answer),
            other => Err(unexpected(other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>> {
        match self.call(Request::Vote(rpc), &option).await? {
            Response::Vote(answer) => self.remote(answer),
            other => Err(unexpected(other)),
        }
    }
}
