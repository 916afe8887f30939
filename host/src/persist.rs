//! The one writer of the `--json_config` overlay. Slider changes arrive in bursts; if each
//! started its own blocking read-modify-write, writes would race and lose updates. So one
//! task owns the file: it takes every change queued so far, writes them in one atomic
//! replacement on the blocking pool, and only then looks at the queue again. A directory that
//! cannot be written is reported once; the live settings have already been applied by then.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use selkies_proto::config::OverlaySetting;
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// Handle of the writer task; cheap to clone.
#[derive(Clone)]
pub struct OverlayWriter {
    tx: mpsc::UnboundedSender<OverlaySetting>,
    stats: Arc<WriterStats>,
}

/// Counters, for tests and logs.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Completed writes (each may carry several changes).
    pub writes: AtomicU64,
    pub failures: AtomicU64,
    /// Warnings logged (at most one per run of failures).
    pub warnings: AtomicU64,
}

impl OverlayWriter {
    /// Starts the writer on the current tokio runtime.
    pub fn spawn(path: PathBuf) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(WriterStats::default());
        tokio::spawn(run(path, rx, stats.clone()));
        Self { tx, stats }
    }

    /// Queue a change; never blocks.
    pub fn persist(&self, setting: OverlaySetting) {
        let _ = self.tx.send(setting);
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

async fn run(
    path: PathBuf,
    mut rx: mpsc::UnboundedReceiver<OverlaySetting>,
    stats: Arc<WriterStats>,
) {
    let mut warned = false;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let p = path.clone();
        let result =
            tokio::task::spawn_blocking(move || crate::overlay_file::persist_all(&p, &batch)).await;
        match result {
            Ok(Ok(())) => {
                stats.writes.fetch_add(1, Ordering::Relaxed);
                warned = false;
            }
            Ok(Err(e)) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                if warned {
                    debug!("settings still not persisted: {e}");
                } else {
                    warned = true;
                    stats.warnings.fetch_add(1, Ordering::Relaxed);
                    warn!(
                        "cannot persist settings to --json_config (they apply until restart): {e}"
                    );
                }
            }
            Err(e) => warn!("settings writer task failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn settle(w: &OverlayWriter, total: u64) {
        while w.stats().writes.load(Ordering::Relaxed) + w.stats().failures.load(Ordering::Relaxed)
            < total
        {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_burst_is_coalesced_and_the_last_value_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cfg.json");
        let w = OverlayWriter::spawn(path.clone());
        for kbps in 1..=200 {
            w.persist(OverlaySetting::VideoBitrate(kbps * 100));
        }
        w.persist(OverlaySetting::Framerate(30));
        // Wait until everything queued is on disk: the final file holds the last values.
        loop {
            let o = crate::overlay_file::load(&path).ok().flatten();
            if o.as_ref().and_then(|o| o.framerate) == Some(30) {
                assert_eq!(o.and_then(|o| o.video_bitrate), Some(20_000));
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let writes = w.stats().writes.load(Ordering::Relaxed);
        assert!(writes < 201, "{writes} writes for 201 changes");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "temporary files left: {left:?}");
    }

    #[tokio::test]
    async fn unwritable_directory_warns_once() {
        // A path under a regular file cannot be created, even by root.
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").expect("write");
        let w = OverlayWriter::spawn(file.join("cfg.json"));
        w.persist(OverlaySetting::Framerate(30));
        settle(&w, 1).await;
        w.persist(OverlaySetting::Framerate(60));
        settle(&w, 2).await;
        w.persist(OverlaySetting::VideoBitrate(4000));
        settle(&w, 3).await;
        assert_eq!(w.stats().failures.load(Ordering::Relaxed), 3);
        assert_eq!(w.stats().warnings.load(Ordering::Relaxed), 1);
    }
}
