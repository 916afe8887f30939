//! The `--enable_metrics_http` exporter: like `prometheus_client.start_http_server(port)`, it
//! answers every path with the text exposition (so `/metrics` and `/` both work), on its own port.

use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tracing::info;

use crate::TelemetryError;
use crate::exposition::CONTENT_TYPE;
use crate::metrics::Metrics;

/// A router answering GET/HEAD on any path with the metrics; other methods get 405.
pub fn router(metrics: Metrics) -> Router {
    Router::new().fallback(move |method: axum::http::Method| {
        let metrics = metrics.clone();
        async move {
            if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
                return StatusCode::METHOD_NOT_ALLOWED.into_response();
            }
            // Rendering reads /proc; tiny, but keep it off the async workers anyway.
            let body = match tokio::task::spawn_blocking(move || metrics.render()).await {
                Ok(b) => b,
                Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            };
            Response::builder()
                .header(header::CONTENT_TYPE, CONTENT_TYPE)
                .body(axum::body::Body::from(body))
                .map_or_else(
                    |_| StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    IntoResponse::into_response,
                )
        }
    })
}

/// Serves the metrics on an already bound listener until the task is dropped or aborted.
pub async fn serve_listener(listener: TcpListener, metrics: Metrics) -> Result<(), TelemetryError> {
    let addr = listener.local_addr().map_err(TelemetryError::Serve)?;
    info!("Prometheus metrics on http://{addr}/metrics");
    axum::serve(listener, router(metrics))
        .await
        .map_err(TelemetryError::Serve)
}

/// Binds `addr` (legacy: all interfaces, `--metrics_http_port`) and serves the metrics.
pub async fn serve(addr: SocketAddr, metrics: Metrics) -> Result<(), TelemetryError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| TelemetryError::Bind { addr, source })?;
    serve_listener(listener, metrics).await
}
