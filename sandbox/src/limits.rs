//! Per-call limits the store enforces: memory growth, CPU ticks and the scratch dir's
//! size.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wasmtime::{ResourceLimiter, Store, UpdateDeadline};

/// Epoch tick length; CPU budgets are counted in these.
pub const TICK_MS: u64 = 10;

/// Memory cap over *all* of a call's linear memories (a component has several).
pub struct Limiter {
    cap: usize,
    total: usize,
    /// A growth was refused: the program hit the memory cap.
    pub hit: bool,
}

impl Limiter {
    pub fn new(cap_bytes: u64) -> Self {
        Limiter {
            cap: usize::try_from(cap_bytes).unwrap_or(usize::MAX),
            total: 0,
            hit: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self.total - current.min(self.total) + desired;
        if after > self.cap {
            self.hit = true;
            return Ok(false);
        }
        self.total = after;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// What the store's data must expose for the shared limit plumbing.
pub trait Limited: Send + 'static {
    fn limiter(&mut self) -> &mut Limiter;
    fn cpu(&mut self) -> &mut Cpu;
    fn scratch(&mut self) -> &mut ScratchQuota;
}

/// The scratch dir (`/tmp` in the guest) is a real host directory, so its size is capped
/// here: every [`SCRATCH_CHECK_TICKS`] ticks of guest execution the dir is measured, and a
/// call past `max_bytes` or `max_files` is interrupted (`OutcomeKind::ScratchLimit`).
/// Between two checks a guest can overshoot by what it writes in that time (tens of MB at
/// full disk speed), never by more.
pub struct ScratchQuota {
    dir: Option<PathBuf>,
    max_bytes: u64,
    max_files: u64,
    ticks: u64,
    pub exceeded: bool,
    /// Raised by [`ScratchQuota::finish`] when the dir ended empty (it may be reused).
    empty: Option<Arc<AtomicBool>>,
}

/// How often (in epoch ticks) the scratch dir is measured.
pub const SCRATCH_CHECK_TICKS: u64 = 5;

impl ScratchQuota {
    pub fn new(dir: Option<&Path>, max_bytes: u64, max_files: u64) -> Self {
        ScratchQuota {
            dir: dir.map(Path::to_path_buf),
            max_bytes,
            max_files,
            ticks: 0,
            exceeded: false,
            empty: None,
        }
    }

    /// Reports through `flag` whether the final measurement found the dir empty.
    pub fn report_empty_to(mut self, flag: Option<Arc<AtomicBool>>) -> Self {
        self.empty = flag;
        self
    }

    /// Called every tick; true once the dir is over its quota.
    fn tick(&mut self) -> bool {
        self.ticks += 1;
        if self.exceeded {
            return true;
        }
        if !self.ticks.is_multiple_of(SCRATCH_CHECK_TICKS) {
            return false;
        }
        if let Some(dir) = &self.dir {
            self.exceeded = measure(dir, self.max_bytes, self.max_files).over;
        }
        self.exceeded
    }

    /// A last measurement when the call ends (writes after the last tick count too).
    pub fn finish(&mut self) -> bool {
        if let Some(dir) = &self.dir {
            let usage = measure(dir, self.max_bytes, self.max_files);
            self.exceeded |= usage.over;
            if let Some(flag) = &self.empty {
                flag.store(usage.empty, Ordering::SeqCst);
            }
        }
        self.exceeded
    }
}

struct Usage {
    /// Past either cap.
    over: bool,
    /// Read completely and held no entry at all.
    empty: bool,
}

/// Walks `dir` (without following links), stopping as soon as either cap is passed.
fn measure(dir: &Path, max_bytes: u64, max_files: u64) -> Usage {
    let (mut bytes, mut entries, mut unreadable) = (0u64, 0u64, false);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&next) else {
            unreadable = true;
            continue;
        };
        for entry in read {
            entries += 1;
            let Ok(entry) = entry else { continue };
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                bytes = bytes.saturating_add(meta.len());
            }
            if bytes > max_bytes || entries > max_files {
                return Usage {
                    over: true,
                    empty: false,
                };
            }
        }
    }
    Usage {
        over: false,
        empty: entries == 0 && !unreadable,
    }
}

/// CPU budget in epoch ticks observed while guest code ran.
#[derive(Default)]
pub struct Cpu {
    pub budget_ticks: u64,
    pub used_ticks: u64,
    pub exceeded: bool,
}

impl Cpu {
    pub fn new(cpu_ms: u64) -> Self {
        Cpu {
            budget_ticks: cpu_ms.div_ceil(TICK_MS).max(1),
            used_ticks: 0,
            exceeded: false,
        }
    }
}

/// Arms the memory limiter and the epoch callback. Each tick the guest yields to the
/// async executor (so the outer wall-clock timeout can fire and other calls run); once
/// the CPU budget is spent, or the scratch dir is over its quota, the tick interrupts it.
pub fn arm<T: Limited>(store: &mut Store<T>) {
    store.limiter(|s| s.limiter());
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        if ctx.data_mut().scratch().tick() {
            return Ok(UpdateDeadline::Interrupt);
        }
        let cpu = ctx.data_mut().cpu();
        cpu.used_ticks += 1;
        if cpu.used_ticks > cpu.budget_ticks {
            cpu.exceeded = true;
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}
