//! Stopping a server cleanly, one mechanism for every Potok server (the shape of
//! mini-redis's `Shutdown`): the process's signal (`SIGTERM` from `docker stop` and
//! Kubernetes, or Ctrl-C) starts it; every connection or stream holds a [`Shutdown`] and
//! ends at its next request boundary once shutdown has begun; the server then waits,
//! for a bounded time, until every holder is gone.

use std::time::Duration;

use tokio::sync::watch;

/// Held by each task that must end when the server stops.
#[derive(Clone, Debug)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    pub fn is_shutdown(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once shutdown has begun (at once if it already has).
    pub async fn recv(&mut self) {
        // An error means the server is gone, which is shutdown too.
        let _ = self.receiver.wait_for(|stopping| *stopping).await;
    }
}

/// Owned by the server: begins the shutdown and waits for its holders.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

impl ShutdownTrigger {
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (ShutdownTrigger { sender }, Shutdown { receiver })
    }

    /// A new holder, for a connection or stream that starts later.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }

    /// Tells every holder to finish.
    pub fn begin(&self) {
        self.sender.send_replace(true);
    }

    /// Begins the shutdown and waits until every holder has gone or `grace` has passed;
    /// returns how many holders were still there.
    pub async fn drain(self, grace: Duration) -> usize {
        self.begin();
        let _ = tokio::time::timeout(grace, self.sender.closed()).await;
        self.sender.receiver_count()
    }
}

/// Resolves on Ctrl-C or `SIGTERM`.
pub async fn signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holders_learn_of_the_shutdown_and_the_drain_waits_for_them() {
        let (trigger, shutdown) = ShutdownTrigger::new();
        let mut holders = Vec::new();
        for _ in 0..3 {
            let mut held = shutdown.clone();
            holders.push(tokio::spawn(async move {
                held.recv().await;
                assert!(held.is_shutdown());
            }));
        }
        drop(shutdown);
        assert_eq!(trigger.drain(Duration::from_secs(5)).await, 0);
        for holder in holders {
            holder.await.unwrap();
        }
    }

    #[tokio::test]
    async fn the_drain_gives_up_after_its_grace() {
        let (trigger, shutdown) = ShutdownTrigger::new();
        let stuck = shutdown.clone();
        drop(shutdown);
        let started = std::time::Instant::now();
        assert_eq!(trigger.drain(Duration::from_millis(100)).await, 1);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(stuck.is_shutdown());
    }

    #[tokio::test]
    async fn a_late_holder_sees_a_shutdown_already_begun() {
        let (trigger, _shutdown) = ShutdownTrigger::new();
        trigger.begin();
        let mut late = trigger.subscribe();
        tokio::time::timeout(Duration::from_secs(1), late.recv())
            .await
            .unwrap();
    }
}
