//! Test support shared by every crate's integration tests (dev-only; never a runtime
//! dependency). Expensive fixtures are built once per test process and shared:
//!
//! - [`samples`]: the real dump excerpts beside the checkout (never copied in);
//! - [`corpus`] / [`corpus_dir`]: a [`Sample`] set ingested with the real pipeline;
//! - [`sandbox`]: the real wasmtime + CPython sandbox, its engines AOT-compiled into the
//!   cache on first use ([`prepare_sandbox`]), the way `simweb sandbox prepare` does;
//! - [`toolbox`]: the standard toolbox ([`ToolboxSpec`]) over a shared corpus;
//! - [`dense_corpus`]: the Ray Charles ZIM with a dense index from the real
//!   multilingual-e5-small (`make setup` converts it).
//!
//! Each crate has one integration-test binary (`tests/it/main.rs`), so "once per test
//! process" is once per crate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use simweb_sandbox::{EngineChoice, RunOptions, Sandbox, SandboxConfig};
use simweb_tools::{Toolbox, ToolboxSpec};
use simweb_wikidump::{Corpus, IngestOptions};

/// The 2025 enwiki excerpt (bz2, 70 pages).
pub const ENWIKI_2025: &str = "enwiki-20250201-head70.xml.bz2";
/// The older, shortened enwiki excerpt (bz2).
pub const ENWIKI: &str = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2";
/// The zhwiki excerpt (plain XML).
pub const ZHWIKI: &str = "zhwiki-test-pages.xml";
/// The Kiwix ZIM (Ray Charles, `mini` flavour).
pub const ZIM: &str = "wikipedia_en_ray_charles_mini_2020-03.zim";

/// The sample dumps: `$SIMWEB_WIKI_SAMPLES`, else `<workspace>/../shared/data/wiki`.
pub fn samples() -> PathBuf {
    match std::env::var_os("SIMWEB_WIKI_SAMPLES") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/wiki"),
    }
}

/// One sample dump by file name; panics naming the file when it is missing.
pub fn sample(name: &str) -> PathBuf {
    let path = samples().join(name);
    assert!(
        path.is_file(),
        "sample dump missing: {} (set SIMWEB_WIKI_SAMPLES)",
        path.display()
    );
    path
}

/// Which sample dumps a shared corpus is ingested from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// All four dumps, in the order `make run` ingests them: both enwiki excerpts,
    /// the zhwiki excerpt, the ZIM.
    All,
    /// The 2025 enwiki excerpt alone.
    Enwiki2025,
    /// The Ray Charles ZIM alone.
    RayCharles,
}

impl Sample {
    pub fn inputs(self) -> Vec<PathBuf> {
        let names: &[&str] = match self {
            Sample::All => &[ENWIKI_2025, ENWIKI, ZHWIKI, ZIM],
            Sample::Enwiki2025 => &[ENWIKI_2025],
            Sample::RayCharles => &[ZIM],
        };
        names.iter().map(|n| sample(n)).collect()
    }

    fn slot(self) -> &'static OnceLock<Ingested> {
        static ALL: OnceLock<Ingested> = OnceLock::new();
        static ENWIKI_2025: OnceLock<Ingested> = OnceLock::new();
        static RAY_CHARLES: OnceLock<Ingested> = OnceLock::new();
        match self {
            Sample::All => &ALL,
            Sample::Enwiki2025 => &ENWIKI_2025,
            Sample::RayCharles => &RAY_CHARLES,
        }
    }
}

struct Ingested {
    _dir: tempfile::TempDir,
    data: PathBuf,
    opened: OnceLock<Arc<Corpus>>,
}

fn ingested(set: Sample) -> &'static Ingested {
    set.slot().get_or_init(|| {
        let dir = tempfile::tempdir().expect("creating a temp dir for the shared corpus");
        let data = dir.path().join("corpus");
        let opts = IngestOptions {
            threads: 2,
            ..IngestOptions::default()
        };
        simweb_wikidump::ingest(&set.inputs(), &data, &opts)
            .unwrap_or_else(|e| panic!("ingesting the {set:?} samples: {e}"));
        Ingested {
            _dir: dir,
            data,
            opened: OnceLock::new(),
        }
    })
}

/// The data dir of `set`, ingested once per process, for tests that run the `simweb`
/// binary over it (a published corpus opens in any number of processes at once).
pub fn corpus_dir(set: Sample) -> PathBuf {
    ingested(set).data.clone()
}

/// `set`'s corpus, ingested and opened once per process.
pub fn corpus(set: Sample) -> Arc<Corpus> {
    let ingested = ingested(set);
    Arc::clone(
        ingested.opened.get_or_init(|| {
            Arc::new(Corpus::open(&ingested.data).expect("opening the shared corpus"))
        }),
    )
}

/// AOT-compiles the sandbox engines into the cache once per process (a no-op when the
/// cache already has them), as `simweb sandbox prepare` does for `make run`.
pub fn prepare_sandbox() {
    static PREPARED: OnceLock<()> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let paths = simweb_sandbox::Paths::resolve(None, None);
        if let Err(e) = simweb_sandbox::prepare(&paths) {
            panic!("preparing the sandbox (run `make setup` first): {e}");
        }
    });
}

/// A new sandbox with `config`, after [`prepare_sandbox`].
pub fn sandbox_with(config: SandboxConfig) -> Sandbox {
    prepare_sandbox();
    Sandbox::new(config).unwrap_or_else(|e| panic!("starting the sandbox: {e}"))
}

/// The process's shared sandbox: both engines, 16 calls at once, a long queue.
pub fn sandbox() -> Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            sandbox_with(SandboxConfig {
                max_concurrency: 16,
                queue_timeout: Duration::from_secs(120),
                ..SandboxConfig::default()
            })
        })
        .clone()
}

/// Run options for tests: the std engine and short limits, so a misbehaving guest
/// cannot stall the suite.
pub fn quick_python() -> RunOptions {
    RunOptions {
        engine: EngineChoice::Std,
        cpu_ms: 2_000,
        wall_ms: 5_000,
        seed: 1,
        ..RunOptions::default()
    }
}

/// Passages per chunk of the shared dense index: small, so the tests that interrupt and
/// resume a build can compare with it byte for byte.
pub const DENSE_CHUNK_ROWS: usize = 64;

/// The Ray Charles ZIM ingested into its own data dir with a dense index
/// (multilingual-e5-small from `make setup`, chunks of [`DENSE_CHUNK_ROWS`]), built once
/// per process: (data dir, corpus, retriever).
pub fn dense_corpus() -> (PathBuf, Arc<Corpus>, Arc<simweb_dense::DenseRetriever>) {
    struct Dense {
        _dir: tempfile::TempDir,
        data: PathBuf,
        corpus: Arc<Corpus>,
        retriever: Arc<simweb_dense::DenseRetriever>,
    }
    static DENSE: OnceLock<Dense> = OnceLock::new();
    let d = DENSE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("creating a temp dir for the dense corpus");
        let data = dir.path().join("corpus");
        simweb_wikidump::ingest(
            &Sample::RayCharles.inputs(),
            &data,
            &IngestOptions::default(),
        )
        .expect("ingesting the Ray Charles ZIM");
        let corpus = Arc::new(Corpus::open(&data).expect("opening the dense corpus"));
        let model = simweb_dense::default_model_dir();
        let encoder = simweb_dense::Encoder::load(&model, &Default::default())
            .expect("loading the embedding model (run `make setup`)");
        simweb_dense::build_with(&corpus, &encoder, DENSE_CHUNK_ROWS, |_, _| {})
            .expect("building the dense index");
        drop(encoder);
        let retriever = simweb_dense::DenseRetriever::open(&data, &model, &Default::default())
            .expect("opening the dense index");
        Dense {
            _dir: dir,
            data,
            corpus,
            retriever: Arc::new(retriever),
        }
    });
    (
        d.data.clone(),
        Arc::clone(&d.corpus),
        Arc::clone(&d.retriever),
    )
}

/// The standard toolbox (corpus tools, default layers) over `set`, plus `python` with
/// [`quick_python`] limits in the shared sandbox when `with_python`.
pub fn toolbox(set: Sample, with_python: bool) -> Toolbox {
    let mut spec = ToolboxSpec::new(corpus(set));
    if with_python {
        spec = spec.python(sandbox(), quick_python());
    }
    spec.build().expect("building the toolbox")
}

/// The workspace's Python venv interpreter (built by `make setup`).
pub fn venv_python() -> PathBuf {
    let home = std::env::var_os("SIMWEB_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.simweb"));
    home.join("venv/bin/python")
}
