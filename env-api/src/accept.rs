//! The accept loop: one HTTP/1.1 connection task per accepted socket, with the limits a
//! public server needs and `axum::serve` does not offer.
//!
//! - **Header-read timeout**: a client must send a request's headers within
//!   `http.header_read_timeout_ms`. The clock also runs while a keep-alive connection
//!   waits for its next request, so slow-header (slowloris) and idle keep-alive
//!   connections are closed alike instead of holding a file descriptor forever.
//! - **Connection cap**: at most `http.max_connections` open at once; one more is answered
//!   `503` with `Retry-After` and closed, so the process never runs out of descriptors.
//! - **Accept errors back off** (10 ms doubling to 1 s) instead of spinning, e.g. on
//!   `EMFILE`, and the server serves again once descriptors are free.
//! - **Graceful shutdown**: once `shutdown` is cancelled no connection is accepted and
//!   every open one finishes its in-flight request, then closes.
//! - **TLS** when configured: the handshake must also finish within the header-read
//!   timeout.

use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The connection limits (from `[http]`) and the TLS acceptor, if any.
#[derive(Clone)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub tls: Option<TlsAcceptor>,
}

/// What a refused connection is told before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 87\r\nConnection: close\r\n\r\n{\"error\": {\"kind\": \"saturated\", \"message\": \"too many open connections; retry shortly\"}}";

/// Serves `app` on `listener` until `shutdown` is cancelled and every connection is done.
/// Returns the number of connections refused at the cap (for logs).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: CancellationToken,
) -> u64 {
    let slots = std::sync::Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    let mut backoff = Duration::ZERO;
    let mut refused = 0u64;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _addr)) => {
                backoff = Duration::ZERO;
                stream
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tracing::error!(error = %e, backoff_ms = backoff.as_millis() as u64, "accept failed; backing off");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => continue,
                    _ = shutdown.cancelled() => break,
                }
            }
        };
        let Ok(slot) = std::sync::Arc::clone(&slots).try_acquire_owned() else {
            refused += 1;
            connections.spawn(refuse(stream));
            continue;
        };
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|request: hyper::Request<Incoming>| request.map(Body::new)),
        );
        let shutdown = shutdown.clone();
        let limits = limits.clone();
        connections.spawn(async move {
            let _slot = slot;
            let Some(tls) = &limits.tls else {
                return serve_connection(stream, service, &limits, shutdown).await;
            };
            match tokio::time::timeout(limits.header_read_timeout, tls.accept(stream)).await {
                Ok(Ok(stream)) => serve_connection(stream, service, &limits, shutdown).await,
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    refused
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until it ends or `shutdown`.
async fn serve_connection<S, T>(
    stream: S,
    service: T,
    limits: &ConnLimits,
    shutdown: CancellationToken,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: hyper::service::HttpService<Incoming> + Send,
    T::Future: Send,
    T::ResBody: Send + 'static,
    <T::ResBody as hyper::body::Body>::Data: Send,
    <T::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => log_end(result),
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            log_end(conn.await);
        }
    }
}

/// Tells a connection over the cap why, then closes it (bounded: a client that does
/// not read cannot keep the task alive).
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await
    })
    .await;
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Timeouts, resets and half-sent requests from clients: not the server's fault.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
