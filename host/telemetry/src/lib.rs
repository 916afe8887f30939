//! selkies-telemetry: Prometheus metrics, WebRTC statistics CSV files and GPU statistics.
