//! The guest's whole world: a WASI context with nothing of the host in it.
//!
//! No inherited env, args or stdio; no network (TCP, UDP and name lookup all refused);
//! only read-only mounts plus an optional empty scratch dir; capped in-memory output
//! pipes; a virtual clock and seeded randomness so that the same code and seed give
//! the same bytes on every run.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

use crate::SandboxError;

/// 2025-01-01T00:00:00Z: the virtual wall clock's default start.
pub const DEFAULT_EPOCH_SECS: u64 = 1_735_689_600;

/// Every clock read advances virtual time by this much, so timing loops terminate and
/// elapsed times are small, positive and reproducible.
const TICK_NS: u64 = 1_000;

/// A clock that only moves when the guest reads it: deterministic, host-independent.
#[derive(Clone)]
struct VirtualClock {
    start_ns: u64,
    elapsed_ns: Arc<AtomicU64>,
}

impl VirtualClock {
    fn read(&self) -> u64 {
        self.elapsed_ns.fetch_add(TICK_NS, Ordering::Relaxed) + TICK_NS
    }
}

impl HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(TICK_NS)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.start_ns + self.read())
    }
}

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        TICK_NS
    }
    fn now(&self) -> u64 {
        self.read()
    }
}

/// A read-only directory the guest sees at `guest` (the stdlib, data files).
#[derive(Debug, Clone)]
pub struct Mount {
    pub host: PathBuf,
    pub guest: String,
}

/// The per-call pieces the host keeps after building the context.
pub struct Io {
    pub stdout: MemoryOutputPipe,
    pub stderr: MemoryOutputPipe,
    /// Keeps the per-call scratch dir alive until the call ends.
    pub scratch: Option<ScratchDir>,
}

impl Io {
    pub fn scratch_path(&self) -> Option<&std::path::Path> {
        self.scratch.as_ref().map(ScratchDir::path)
    }
}

/// Scratch dirs found empty after their call, kept for the next one: creating and
/// removing a directory per call was ~5 % of a `print(1+1)` (perf, issue #16). A dir
/// returns here only when the call's final measurement saw no entry in it, so nothing
/// one call leaves behind can reach another; any other dir is removed as before.
#[derive(Default)]
pub struct ScratchPool {
    idle: std::sync::Mutex<Vec<tempfile::TempDir>>,
}

/// Idle scratch dirs kept at most (more concurrent calls just create their own).
const MAX_IDLE_SCRATCH: usize = 64;

impl ScratchPool {
    fn take(self: &Arc<Self>) -> Result<ScratchDir, SandboxError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let dir = match idle {
            Some(dir) => dir,
            None => tempfile::Builder::new()
                .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
                .tempdir()
                .map_err(|e| SandboxError::io("creating the scratch dir", e))?,
        };
        Ok(ScratchDir {
            dir: Some(dir),
            pool: Arc::clone(self),
            empty: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }
}

/// One call's scratch dir: back to its pool if it was found empty, else removed.
pub struct ScratchDir {
    dir: Option<tempfile::TempDir>,
    pool: Arc<ScratchPool>,
    empty: Arc<std::sync::atomic::AtomicBool>,
}

impl ScratchDir {
    pub fn path(&self) -> &std::path::Path {
        self.dir
            .as_ref()
            .map(tempfile::TempDir::path)
            .unwrap_or(std::path::Path::new(""))
    }

    /// Set by the scratch quota's final measurement when the dir held nothing.
    pub fn empty_flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        Arc::clone(&self.empty)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else { return };
        if self.empty.load(Ordering::SeqCst) {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE_SCRATCH {
                idle.push(dir);
            }
        }
    }
}

/// Scratch dirs are `$TMPDIR/simweb-scratch-{pid}-XXXXXX`: the pid lets a later process
/// tell a killed call's leftover from a live one ([`sweep_stale_scratch`]).
const SCRATCH_PREFIX: &str = "simweb-scratch-";

/// Removes scratch dirs left by processes that are gone (a kill -9 mid-call skips the
/// `TempDir` drop). Liveness is read from `/proc`; elsewhere nothing is swept. Returns
/// how many were removed.
pub fn sweep_stale_scratch() -> usize {
    let proc_fs = std::path::Path::new("/proc");
    if !proc_fs.join("self").exists() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || proc_fs.join(pid.to_string()).exists() {
            continue;
        }
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Builds the WASI context for one call.
pub fn builder(
    mounts: &[Mount],
    argv: &[&str],
    env: &[(&str, &str)],
    seed: u64,
    epoch_secs: u64,
    output_cap: usize,
    scratch: Option<&Arc<ScratchPool>>,
) -> Result<(WasiCtxBuilder, Io), SandboxError> {
    let mut b = WasiCtxBuilder::new();
    let stdout = MemoryOutputPipe::new(output_cap);
    let stderr = MemoryOutputPipe::new(output_cap);
    b.stdout(stdout.clone()).stderr(stderr.clone());
    b.args(argv).envs(env);
    b.allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    let clock = VirtualClock {
        start_ns: epoch_secs.saturating_mul(1_000_000_000),
        elapsed_ns: Arc::new(AtomicU64::new(0)),
    };
    b.wall_clock(clock.clone()).monotonic_clock(clock);
    b.secure_random(StdRng::seed_from_u64(seed));
    b.insecure_random(StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15));
    b.insecure_random_seed(u128::from(seed) << 64 | u128::from(seed.rotate_left(17)));
    for m in mounts {
        b.preopened_dir(&m.host, &m.guest, FsPerms::ReadOnly)
            .map_err(|e| SandboxError::wasmtime(&format!("mount {}", m.host.display()), e))?;
    }
    let scratch = match scratch {
        Some(pool) => {
            let dir = pool.take()?;
            b.preopened_dir(dir.path(), "/tmp", FsPerms::ReadWrite)
                .map_err(|e| SandboxError::wasmtime("mount scratch", e))?;
            Some(dir)
        }
        None => None,
    };
    Ok((
        b,
        Io {
            stdout,
            stderr,
            scratch,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scratch_dirs_found_empty_are_reused() {
        let pool = Arc::new(ScratchPool::default());
        let first = pool.take().unwrap();
        let path = first.path().to_path_buf();
        first.empty_flag().store(true, Ordering::SeqCst);
        drop(first);
        assert!(path.is_dir(), "an empty dir is kept for the next call");
        let second = pool.take().unwrap();
        assert_eq!(second.path(), path);
        std::fs::write(path.join("left.txt"), "x").unwrap();
        drop(second); // never measured empty
        assert!(!path.exists(), "a dir not known to be empty is removed");
        let third = pool.take().unwrap();
        assert_ne!(third.path(), path);
        assert_eq!(std::fs::read_dir(third.path()).unwrap().count(), 0);
    }
}
