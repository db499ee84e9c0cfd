//! Serving axum applications on any [`cpppo_net::Listener`]: the host's sockets or a
//! simulated device's userspace TCP/IP stack.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;

/// Adapts a [`cpppo_net::Listener`] to axum's listener trait, which cannot fail: accept errors
/// are logged and retried after a pause (out of descriptors and the like).
#[derive(Debug)]
pub struct Listening<L>(pub L);

impl<L: cpppo_net::Listener> axum::serve::Listener for Listening<L> {
    type Io = L::Stream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok(acc) => return (acc.stream, acc.peer),
                Err(e) => {
                    tracing::warn!("web: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// Serve `app` on `listener` until `shutdown` resolves.
pub async fn serve_app<L: cpppo_net::Listener>(
    listener: L,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(Listening(listener), app)
        .with_graceful_shutdown(shutdown)
        .await
}
