//! Swaps a plugin when its `.wasm` file changes: overwritten in place or replaced by
//! a rename. It polls file metadata rather than using inotify, which misses renames
//! over a watched path on some filesystems and needs nothing on others; a change
//! must hold still for one poll before the file is read, so a half-written file is
//! not tried, and content equal to the active or last refused version is skipped.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::control::PipelineControl;

/// How often plugin files are checked.
const POLL: Duration = Duration::from_millis(500);

/// What identifies a file's contents without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode,
    })
}

struct Watched {
    index: usize,
    path: PathBuf,
    /// The stamp whose contents were last dealt with.
    settled: Option<Stamp>,
    /// A new stamp seen once; read when it is seen again unchanged.
    pending: Option<Stamp>,
    /// Digest of the last version refused, so it is not retried every poll.
    refused: Option<String>,
}

/// Polls the pipeline's plugin files until `shutdown`, swapping on change.
pub async fn run(control: Arc<PipelineControl>, shutdown: CancellationToken) {
    let mut files: Vec<Watched> = control
        .config()
        .plugins
        .iter()
        .enumerate()
        .map(|(index, spec)| Watched {
            index,
            path: spec.path.clone(),
            settled: stamp(&spec.path),
            pending: None,
            refused: None,
        })
        .collect();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        for file in &mut files {
            let now = stamp(&file.path);
            if now.is_none() || now == file.settled {
                file.pending = None;
                continue;
            }
            if file.pending != now {
                file.pending = now;
                continue;
            }
            file.settled = file.pending.take();
            let bytes = match std::fs::read(&file.path) {
                Ok(b) => b,
                Err(e) => {
                    warn!(path = %file.path.display(), error = %e, "Cannot read the changed plugin file.");
                    continue;
                }
            };
            let digest = hex::encode(Sha256::digest(&bytes));
            let active = control.active().1.get(file.index).map(|p| p.digest.clone());
            if active.as_deref() == Some(digest.as_str())
                || file.refused.as_deref() == Some(digest.as_str())
            {
                continue;
            }
            info!(pipeline = %control.name(), path = %file.path.display(), "Plugin file changed; checking the new version.");
            let c = control.clone();
            let (index, path) = (file.index, file.path.clone());
            let result =
                tokio::task::spawn_blocking(move || c.swap(index, Some(&path), &bytes)).await;
            match result {
                Ok(Ok(_)) => file.refused = None,
                Ok(Err(_)) => file.refused = Some(digest),
                Err(e) => warn!(error = %e, "The swap task failed."),
            }
        }
    }
}
