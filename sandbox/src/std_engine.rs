//! The std engine: componentize-py's CPython 3.14 component built from `guest/`.
//! One fresh instance per call from a pre-instantiated component (`InstancePre`) on a
//! pooling allocator: start-up is a copy-on-write memory map, not an interpreter boot.

use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::component::{Component, InstancePre, Linker, ResourceTable};
use wasmtime::Store;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::artifacts::{self, Paths};
use crate::exec::{Call, Ended};
use crate::limits::{self, Cpu, Limited, Limiter, ScratchQuota};
use crate::runtime::Reset;
use crate::wasi::Mount;
use crate::{Engine, MemoryReset, SandboxError};

/// Where the guest finds the stdlib files not already in its snapshot.
pub const STD_STDLIB_GUEST: &str = "/python";

pub struct StdState {
    ctx: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    cpu: Cpu,
    scratch: ScratchQuota,
}

impl WasiView for StdState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

impl Limited for StdState {
    fn limiter(&mut self) -> &mut Limiter {
        &mut self.limiter
    }
    fn cpu(&mut self) -> &mut Cpu {
        &mut self.cpu
    }
    fn scratch(&mut self) -> &mut ScratchQuota {
        &mut self.scratch
    }
}

pub struct StdEngine {
    /// Runs a call that starts while no other std call runs.
    alone: Loaded,
    /// Runs a call that starts beside others, when it differs from `alone`
    /// ([`MemoryReset::Auto`]).
    beside: Option<Loaded>,
    /// Std calls running now: picks between the two.
    running: AtomicUsize,
    mounts: Vec<Mount>,
}

/// One wasmtime engine (with its own instance pool) and the component pre-instantiated
/// in it.
struct Loaded {
    engine: wasmtime::Engine,
    pre: InstancePre<StdState>,
}

impl Loaded {
    fn new(paths: &Paths, slots: usize, reset: Reset) -> Result<Loaded, SandboxError> {
        let engine = crate::runtime::engine_with(Engine::Std, slots, reset)?;
        let cwasm = prepare(paths, &engine)?;
        // SAFETY: the file is a `.cwasm` this crate wrote (write-then-rename) into the
        // cache under a key that includes the wasmtime version and engine config; wasmtime
        // additionally checks its header for compatibility before using it.
        let component = unsafe { Component::deserialize_file(&engine, &cwasm) }
            .map_err(|e| SandboxError::wasmtime(&format!("loading {}", cwasm.display()), e))?;
        let mut linker = Linker::<StdState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| SandboxError::wasmtime("linking WASI p2", e))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| SandboxError::wasmtime("pre-instantiating the std component", e))?;
        Ok(Loaded { engine, pre })
    }
}

/// Counts one running call until dropped.
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Compiles (or finds cached) the std component's `.cwasm`; returns its path.
pub fn prepare(
    paths: &Paths,
    engine: &wasmtime::Engine,
) -> Result<std::path::PathBuf, SandboxError> {
    let wasm = paths.std_component();
    artifacts::require(&wasm, "std engine component")?;
    let sha = artifacts::artifact_sha256(&wasm)?;
    let key = artifacts::cache_key(engine, &crate::runtime::config_desc(Engine::Std), &sha);
    artifacts::ensure_cwasm(paths, "std", &key, &wasm, true, |bytes| {
        engine.precompile_component(bytes)
    })
}

impl StdEngine {
    pub fn load(
        paths: &Paths,
        slots: usize,
        reset: MemoryReset,
    ) -> Result<StdEngine, SandboxError> {
        let stdlib = paths.std_stdlib();
        artifacts::require(&stdlib, "std engine stdlib directory")?;
        let (alone, beside) = match reset {
            MemoryReset::Copy => (Loaded::new(paths, slots, Reset::Copy)?, None),
            MemoryReset::Scan => (Loaded::new(paths, slots, Reset::Scan)?, None),
            MemoryReset::Auto => (
                Loaded::new(paths, slots, Reset::Scan)?,
                Some(Loaded::new(paths, slots, Reset::Copy)?),
            ),
        };
        Ok(StdEngine {
            alone,
            beside,
            running: AtomicUsize::new(0),
            mounts: vec![Mount {
                host: stdlib,
                guest: STD_STDLIB_GUEST.to_string(),
            }],
        })
    }

    /// Every wasmtime engine this uses (the epoch ticker drives them all).
    pub fn wasmtime_engines(&self) -> Vec<wasmtime::Engine> {
        std::iter::once(&self.alone)
            .chain(&self.beside)
            .map(|l| l.engine.clone())
            .collect()
    }

    pub async fn run(&self, code: &str, call: &Call) -> Ended {
        let (builder, io) = match call.wasi(&self.mounts, &[], &[]) {
            Ok(b) => b,
            Err(e) => return Ended::host_failure(e.to_string()),
        };
        let mut builder = builder;
        let state = StdState {
            ctx: builder.build(),
            table: ResourceTable::new(),
            limiter: Limiter::new(call.opts.memory_bytes),
            cpu: Cpu::new(call.opts.cpu_ms),
            scratch: call.scratch_quota(&io),
        };
        let others = self.running.fetch_add(1, Ordering::SeqCst);
        let _running = Running(&self.running);
        let loaded = match &self.beside {
            Some(beside) if others > 0 => beside,
            _ => &self.alone,
        };
        let mut store = Store::new(&loaded.engine, state);
        limits::arm(&mut store);
        let run = async {
            let instance = loaded.pre.instantiate_async(&mut store).await?;
            let exec =
                instance.get_typed_func::<(&str,), (Result<i32, String>,)>(&mut store, "exec")?;
            let (result,) = exec.call_async(&mut store, (code,)).await?;
            wasmtime::Result::Ok(result)
        };
        let raw = tokio::time::timeout(call.opts.wall(), run).await;
        let (mem_hit, cpu_exceeded, scratch_exceeded) = {
            let s = store.data_mut();
            (s.limiter.hit, s.cpu.exceeded, s.scratch.finish())
        };
        drop(store);
        let end = match raw {
            Err(_elapsed) => crate::exec::End::WallTimeout,
            Ok(Ok(Ok(status))) => crate::exec::End::Exited(status),
            Ok(Ok(Err(traceback))) => crate::exec::End::Exception(traceback),
            Ok(Err(e)) => crate::exec::End::from_wasmtime(e),
        };
        Ended {
            end,
            io: Some(io),
            mem_hit,
            cpu_exceeded,
            scratch_exceeded,
        }
    }
}
