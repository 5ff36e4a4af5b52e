//! Per-call limits the store enforces: memory growth and CPU ticks.

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
/// async executor (so the outer wall-clock timeout can fire and other calls run), and once
/// the CPU budget is spent the next tick interrupts it.
pub fn arm<T: Limited>(store: &mut Store<T>) {
    store.limiter(|s| s.limiter());
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
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
