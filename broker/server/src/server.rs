//! The listener: accept connections until shutdown, one task per connection. A clean stop
//! stops accepting, hands leaderships away (controlled shutdown), lets each connection
//! finish the request it is answering (for at most `SHUTDOWN_GRACE`), then flushes every
//! partition and marks the shutdown clean.
//!
//! Connections are capped broker-wide (`max.connections`) and per client address
//! (`max.connections.per.ip`), as in Kafka; one over a cap is accepted and closed at once,
//! so the client learns of it instead of waiting in the listen backlog. Replica fetchers of
//! other brokers use the same listener as clients, and nothing tells them apart before
//! their first request, so unlike Kafka's inter-broker listener they are not exempt: they
//! hold their connections from the start (fetching, never idle) and only a reconnect while
//! the broker is full would be refused. `max.connections` leaves room for them by default.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use potok_client::shutdown::{Shutdown, ShutdownTrigger};
use prometheus::IntGauge;
use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::connection::{self, CloseReason, RequestMemoryPool};

/// How long the listener pauses after a failed accept (out of file descriptors, mostly),
/// rather than spinning on a listener that stays readable.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// How long a stopping broker lets connections finish the request they are answering.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub async fn run(broker: Arc<Broker>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    crate::open_files::raise_limit(broker.config.max_connections);
    let mut bound = Vec::new();
    for listener in &broker.config.listeners.bound {
        let address = listener.bind_address();
        let socket = TcpListener::bind(&address).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {address} (listener {}): {e}",
                listener.name
            )
        })?;
        tracing::info!(listener = %listener.name, %address, "listening");
        bound.push((socket, Arc::<str>::from(listener.name.as_str())));
    }
    tracing::info!(
        node_id = broker.config.node_id,
        cluster_id = %broker.image().cluster_id,
        "broker started"
    );
    tokio::spawn(broker.clone().follow_metadata());
    tokio::spawn(broker.clone().enforce_retention());
    tokio::spawn(broker.clone().sync_rolled_segments());
    tokio::spawn(broker.clone().expire_group_members());
    tokio::spawn(broker.clone().maintain_isr());
    tokio::spawn(broker.clone().rebalance_leaders());
    let accepting = Accepting {
        broker: broker.clone(),
        limits: Arc::new(ConnectionLimits::new(
            broker.config.max_connections,
            broker.config.max_connections_per_ip,
            broker.metrics.connections_open.clone(),
        )),
        pool: Arc::new(RequestMemoryPool::new(
            broker.config.queued_max_request_bytes,
            broker.metrics.request_memory_reserved.clone(),
            broker.metrics.request_memory_waits.clone(),
        )),
    };
    let (accept_stop, accept_stopping) = ShutdownTrigger::new();
    let (connections_stop, connections_stopping) = ShutdownTrigger::new();
    for (socket, name) in bound {
        tokio::spawn(accepting.clone().accept(
            socket,
            name,
            accept_stopping.clone(),
            connections_stopping.clone(),
        ));
    }
    drop(connections_stopping);
    shutdown.await;
    tracing::info!("shutting down");
    drop(accept_stopping);
    accept_stop.drain(SHUTDOWN_GRACE).await;
    broker.controlled_shutdown().await;
    let still_open = connections_stop.drain(SHUTDOWN_GRACE).await;
    if still_open > 0 {
        tracing::warn!(
            still_open,
            "connections still busy after {SHUTDOWN_GRACE:?}; stopping anyway"
        );
    }
    broker.flush();
    Ok(())
}

/// What every listener's accept loop shares.
#[derive(Clone)]
struct Accepting {
    broker: Arc<Broker>,
    limits: Arc<ConnectionLimits>,
    pool: Arc<RequestMemoryPool>,
}

impl Accepting {
    /// Accepts connections on one listener until `stop`, each served in a task of its own
    /// that ends when `connections` says so.
    async fn accept(
        self,
        socket: TcpListener,
        listener: Arc<str>,
        mut stop: Shutdown,
        connections: Shutdown,
    ) {
        loop {
            let accepted = tokio::select! {
                accepted = socket.accept() => accepted,
                _ = stop.recv() => return,
            };
            match accepted {
                Ok((stream, peer)) => match self.limits.admit(peer.ip()) {
                    Ok(slot) => {
                        let serving = connection::serve(
                            self.broker.clone(),
                            stream,
                            peer,
                            listener.clone(),
                            self.pool.clone(),
                            connections.clone(),
                        );
                        tokio::spawn(async move {
                            serving.await;
                            drop(slot);
                        });
                    }
                    Err(refusal) => {
                        drop(stream);
                        connection::report_close(
                            &self.broker.metrics,
                            refusal.reason,
                            peer,
                            &refusal.detail,
                        );
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            }
        }
    }
}

/// The open connections, counted against `max.connections` and `max.connections.per.ip`.
pub struct ConnectionLimits {
    max_connections: usize,
    max_connections_per_ip: usize,
    open: Mutex<OpenConnections>,
    gauge: IntGauge,
}

#[derive(Default)]
struct OpenConnections {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// A connection counted as open until dropped.
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

#[derive(Debug)]
pub struct Refusal {
    pub reason: CloseReason,
    pub detail: String,
}

impl ConnectionLimits {
    pub fn new(max_connections: usize, max_connections_per_ip: usize, gauge: IntGauge) -> Self {
        ConnectionLimits {
            max_connections,
            max_connections_per_ip,
            open: Mutex::new(OpenConnections::default()),
            gauge,
        }
    }

    /// Counts a new connection from `ip`, or refuses it when a limit is reached.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionSlot, Refusal> {
        let mut open = self.open.lock().expect("connection count lock");
        if open.total >= self.max_connections {
            return Err(Refusal {
                reason: CloseReason::MaxConnections,
                detail: format!(
                    "{} connections are open (max.connections)",
                    self.max_connections
                ),
            });
        }
        if open.by_ip.get(&ip).copied().unwrap_or(0) >= self.max_connections_per_ip {
            return Err(Refusal {
                reason: CloseReason::MaxConnectionsPerIp,
                detail: format!(
                    "{} connections are open from {ip} (max.connections.per.ip)",
                    self.max_connections_per_ip
                ),
            });
        }
        *open.by_ip.entry(ip).or_default() += 1;
        open.total += 1;
        self.gauge.set(open.total as i64);
        Ok(ConnectionSlot {
            limits: self.clone(),
            ip,
        })
    }

    /// Open connections, in all and from `ip`.
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let open = self.open.lock().expect("connection count lock");
        (open.total, open.by_ip.get(&ip).copied().unwrap_or(0))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().expect("connection count lock");
        open.total -= 1;
        if let Some(from_ip) = open.by_ip.get_mut(&self.ip) {
            *from_ip -= 1;
            if *from_ip == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
        self.limits.gauge.set(open.total as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize, max_connections_per_ip: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits::new(
            max_connections,
            max_connections_per_ip,
            IntGauge::new("open", "open").unwrap(),
        ))
    }

    const ONE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const TWO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn connections_beyond_the_broker_limit_are_refused_until_one_closes() {
        let limits = limits(2, 10);
        let first = limits.admit(ONE).unwrap();
        let _second = limits.admit(TWO).unwrap();
        let refusal = limits.admit(ONE).err().unwrap();
        assert_eq!(refusal.reason, CloseReason::MaxConnections);
        assert!(refusal.detail.contains("max.connections"));
        assert_eq!(limits.gauge.get(), 2);
        drop(first);
        assert_eq!(limits.gauge.get(), 1);
        assert!(limits.admit(ONE).is_ok());
    }

    #[test]
    fn connections_beyond_the_address_limit_are_refused_and_others_are_not() {
        let limits = limits(10, 2);
        let first = limits.admit(ONE).unwrap();
        let _second = limits.admit(ONE).unwrap();
        let refusal = limits.admit(ONE).err().unwrap();
        assert_eq!(refusal.reason, CloseReason::MaxConnectionsPerIp);
        assert!(refusal.detail.contains("10.0.0.1"));
        let _other = limits.admit(TWO).unwrap();
        assert_eq!(limits.open(ONE), (3, 2));
        drop(first);
        let _again = limits.admit(ONE).unwrap();
        assert_eq!(limits.open(ONE), (3, 2));
    }

    #[test]
    fn closed_connections_leave_no_trace() {
        let limits = limits(10, 10);
        let slots: Vec<_> = (0..5).map(|_| limits.admit(ONE).unwrap()).collect();
        assert_eq!(limits.open(ONE), (5, 5));
        drop(slots);
        assert_eq!(limits.open(ONE), (0, 0));
        assert!(limits.open.lock().unwrap().by_ip.is_empty());
        assert_eq!(limits.gauge.get(), 0);
    }
}
