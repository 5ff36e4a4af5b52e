//! The ingest pipeline: inputs -> documents, redirects, passages -> a published data dir.
//!
//! ```text
//! reader thread ──(bounded)──> N cleaning workers ──(bounded)──> writer (this thread)
//!   reads inputs in order,       wikitext / HTML -> SourceItem     restores input order,
//!   numbers every page                                             writes store + tantivy
//! ```
//! Channels are bounded, so memory stays flat whatever the dump size; the writer restores
//! input order, so the corpus does not depend on thread timing. Everything is built in a
//! temporary directory next to the output and renamed into place only when complete: a
//! failed or interrupted ingest leaves the previous data dir untouched.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::chinese::ZhVariant;
use crate::error::IngestError;
use crate::html::{clean_html, HtmlMeta};
use crate::index::LangIndexWriter;
use crate::jsonl::JsonlReader;
use crate::manifest::{
    snapshot_id, Counts, CreatedWith, IngestConfig, InputFormat, InputRecord, Manifest,
    LAYOUT_VERSION, MANIFEST_FILE,
};
use crate::mediawiki::{self, DumpInfo, DumpOptions, RawPage};
use crate::model::{Lang, SourceItem};
use crate::passages::passages;
use crate::store::{BuildStore, Inserted};
use crate::wikitext::{clean_page, CleanOptions};
use crate::zimfile::{open_zim, ZimEntry};

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Variant that Chinese conversion markup resolves to.
    pub zh_variant: ZhVariant,
    /// Language for inputs that do not declare one (JSONL, header-less XML).
    pub lang_hint: Option<Lang>,
    /// Cleaning workers; 0 = available parallelism.
    pub threads: usize,
    /// Draw a progress bar on stderr (it hides itself when stderr is not a terminal).
    pub progress: bool,
    /// Publish a corpus without a single article. Off by default: an input that turns
    /// out empty (a header-only dump, the wrong namespace) must not replace a good corpus.
    pub allow_empty: bool,
    /// Wikimedia multistream indexes (`P-index.txt.bz2`, for the input `P.xml.bz2`): their
    /// stream offsets replace the scan for stream boundaries. They speed reading up and
    /// change nothing in the corpus, so they are not part of the snapshot id.
    pub multistream_indexes: Vec<PathBuf>,
}

/// The multistream index of `input` among `indexes`: `P-index.txt.bz2` for `P.xml.bz2`.
fn index_for(input: &Path, indexes: &[PathBuf]) -> Option<PathBuf> {
    let name = input.file_name()?.to_str()?;
    let stem = name.strip_suffix(".xml.bz2")?;
    let wanted = format!("{stem}-index.txt.bz2");
    indexes
        .iter()
        .find(|i| i.file_name().and_then(|n| n.to_str()) == Some(wanted.as_str()))
        .cloned()
}

/// What an ingest did (the manifest plus timing).
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub out: PathBuf,
    pub manifest: Manifest,
    pub elapsed: Duration,
    /// Uncompressed bytes read (decompressed XML, JSONL text, ZIM HTML).
    pub uncompressed_bytes: u64,
}

impl IngestReport {
    /// A short human summary: counts, skips grouped by reason, throughput.
    pub fn summary(&self) -> String {
        let t = &self.manifest.totals;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let mut s = format!(
            "ingested {} articles, {} redirects, {} passages; skipped {} in {:.1}s ({:.0} articles/s, {:.1} MB/s uncompressed)\nsnapshot {}\n",
            t.articles,
            t.redirects,
            t.passages,
            t.skipped,
            secs,
            t.articles as f64 / secs,
            self.uncompressed_bytes as f64 / 1e6 / secs,
            self.manifest.snapshot_id
        );
        for input in &self.manifest.inputs {
            s.push_str(&format!(
                "  {} [{:?}, {}]: {} articles, {} redirects, {} skipped\n",
                input.name,
                input.format,
                input.lang.map_or("?", Lang::code),
                input.counts.articles,
                input.counts.redirects,
                input.counts.skipped
            ));
        }
        for (reason, n) in &t.skipped_by_reason {
            s.push_str(&format!("  skipped {n:>7} × {reason}\n"));
        }
        s
    }
}

/// A page as read, before cleaning.
enum Raw {
    Wiki(RawPage, Arc<DumpInfo>),
    Html { meta: HtmlMeta, html: Vec<u8> },
    Ready(SourceItem),
}

struct Work {
    seq: u64,
    input: usize,
    raw: Raw,
}

struct Done {
    seq: u64,
    input: usize,
    item: SourceItem,
}

/// Per-input facts the reader learns (language, bytes read).
#[derive(Debug, Clone, Default)]
struct InputFacts {
    lang: Option<Lang>,
    uncompressed_bytes: u64,
}

const WORK_QUEUE: usize = 256;
const DONE_QUEUE: usize = 256;

/// Ingests `inputs` (in order; on duplicate ids the first wins) into `out`.
pub fn ingest(
    inputs: &[PathBuf],
    out: &Path,
    opts: &IngestOptions,
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    if inputs.is_empty() {
        return Err(IngestError::NoInputs);
    }
    for index in &opts.multistream_indexes {
        if !inputs
            .iter()
            .any(|input| index_for(input, std::slice::from_ref(index)).is_some())
        {
            return Err(IngestError::UnmatchedIndex {
                path: index.clone(),
            });
        }
    }
    let formats = inputs
        .iter()
        .map(|p| detect(p))
        .collect::<Result<Vec<_>, _>>()?;
    check_output(out)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| IngestError::Io {
        path: parent.clone(),
        source,
    })?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    sweep_stale_builds(&parent, &name);
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.ingest-{}-", std::process::id()))
        .tempdir_in(&parent)
        .map_err(|source| IngestError::Io {
            path: parent.clone(),
            source,
        })?;

    let clean_opts = CleanOptions {
        zh_variant: opts.zh_variant,
        ..CleanOptions::default()
    };
    let config = IngestConfig {
        zh_variant: opts.zh_variant,
        lang_hint: opts.lang_hint,
        cleaner: clean_opts.fingerprint(),
    };

    // Hash the inputs beside the pipeline (it reads every byte once more, on its own core).
    let hash_inputs: Vec<PathBuf> = inputs.to_vec();
    let hasher = std::thread::Builder::new()
        .name("ingest-hash".into())
        .spawn(move || hash_files(&hash_inputs))
        .map_err(|e| IngestError::Worker(e.to_string()))?;

    let total_bytes: u64 = inputs
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    let progress = Progress::new(total_bytes, opts.progress);

    let (counts, facts, uncompressed) =
        run_pipeline(inputs, &formats, tmp.path(), opts, &clean_opts, &progress)?;
    progress.bar.finish_and_clear();
    let runs_dir = tmp.path().join("store");
    std::fs::remove_dir_all(&runs_dir).map_err(|source| IngestError::Io {
        path: runs_dir,
        source,
    })?;

    let hashes = hasher
        .join()
        .map_err(|_| IngestError::Worker("input hashing thread panicked".into()))??;
    let mut totals = Counts::default();
    let mut records = Vec::new();
    for (i, path) in inputs.iter().enumerate() {
        totals.add(&counts[i]);
        records.push(InputRecord {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            format: formats[i],
            bytes: hashes[i].0,
            sha256: hashes[i].1.clone(),
            lang: facts[i].lang,
            counts: counts[i].clone(),
        });
    }
    if totals.articles == 0 && !opts.allow_empty {
        return Err(IngestError::NoArticles {
            skipped: totals.skipped,
        });
    }
    let languages: Vec<Lang> = {
        let mut l: Vec<Lang> = crate::index::languages_in(tmp.path());
        l.sort();
        l
    };
    let manifest = Manifest {
        layout_version: LAYOUT_VERSION,
        snapshot_id: snapshot_id(&config, &hashes),
        config,
        inputs: records,
        languages,
        totals,
        created_with: CreatedWith::current(),
    };
    let manifest_path = tmp.path().join(MANIFEST_FILE);
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| IngestError::Output {
        path: manifest_path.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&manifest_path, json).map_err(|source| IngestError::Io {
        path: manifest_path.clone(),
        source,
    })?;
    // Again at the end: a server may have opened the old corpus while this one was built.
    check_output(out)?;
    publish(tmp.keep(), out)?;
    Ok(IngestReport {
        out: out.to_path_buf(),
        manifest,
        elapsed: started.elapsed(),
        uncompressed_bytes: uncompressed,
    })
}

/// Removes `.{name}.ingest-{pid}-*` build dirs beside the output whose process is gone
/// (a killed ingest cannot clean up after itself). Best effort: a dir that cannot be
/// removed is logged and left. Liveness is read from `/proc`, so elsewhere nothing is swept.
fn sweep_stale_builds(parent: &Path, name: &str) {
    let prefix = format!(".{name}.ingest-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || !Path::new("/proc/self").exists() {
            continue;
        }
        if Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(path = %path.display(), pid, "removed the build dir of a dead ingest")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a stale ingest build dir")
            }
        }
    }
}

/// Format by content (never by name); an empty or unknown file fails the whole ingest
/// before anything is written.
fn detect(path: &Path) -> Result<InputFormat, IngestError> {
    use mediawiki::DumpError;
    match mediawiki::sniff_file(path) {
        Ok(mediawiki::InputFormat::MediaWikiXml) => Ok(InputFormat::MediawikiXml),
        Ok(mediawiki::InputFormat::Bzip2) => Ok(InputFormat::MediawikiXmlBz2),
        Ok(mediawiki::InputFormat::Zim) => Ok(InputFormat::Zim),
        Ok(mediawiki::InputFormat::Jsonl) => Ok(InputFormat::Jsonl),
        Err(DumpError::Empty { .. }) => Err(IngestError::EmptyInput {
            path: path.to_path_buf(),
        }),
        Err(DumpError::UnknownFormat { head, .. }) => Err(IngestError::UnknownFormat {
            path: path.to_path_buf(),
            head,
        }),
        Err(DumpError::Io { source, .. }) => Err(IngestError::Io {
            path: path.to_path_buf(),
            source,
        }),
        Err(e) => Err(IngestError::Dump {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

/// Refuses to replace something that is not a corpus (a user's home dir, say).
fn check_output(out: &Path) -> Result<(), IngestError> {
    if !out.exists() {
        return Ok(());
    }
    let is_corpus = out.join(MANIFEST_FILE).is_file();
    let is_empty_dir = out.is_dir()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
    if is_corpus {
        refuse_if_open(out)
    } else if is_empty_dir {
        Ok(())
    } else {
        Err(IngestError::Output {
            path: out.to_path_buf(),
            message: "exists and is not a simweb corpus; refusing to replace it".into(),
        })
    }
}

/// Every process that has the corpus open (a running `simweb serve`, the CLI) holds a
/// shared lock on `docstore/LOCK`. Replacing the corpus under it would leave it serving
/// the deleted old snapshot, so the ingest is refused, naming the reason, instead. The
/// probe asks for the same advisory lock exclusively and releases it at once, so it
/// never disturbs a reader.
fn refuse_if_open(out: &Path) -> Result<(), IngestError> {
    let lock = out
        .join(crate::docstore::DIR)
        .join(crate::docstore::LOCK_FILE);
    let Ok(file) = std::fs::File::open(&lock) else {
        return Ok(());
    };
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(IngestError::Output {
            path: out.to_path_buf(),
            message: "the corpus is open in another process (a running `simweb serve`?); stop it, or ingest into a new directory and point the server there".into(),
        }),
        Err(std::fs::TryLockError::Error(_)) => Ok(()),
    }
}

/// Moves the finished build into place: old -> aside, new -> out, old removed. If the
/// second rename fails the old corpus is put back.
fn publish(built: PathBuf, out: &Path) -> Result<(), IngestError> {
    let io = |path: &Path, source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    if !out.exists() {
        return std::fs::rename(&built, out).map_err(|e| io(out, e));
    }
    let aside = built.with_file_name(format!(
        "{}.old",
        built
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::rename(out, &aside).map_err(|e| io(out, e))?;
    if let Err(e) = std::fs::rename(&built, out) {
        let _ = std::fs::rename(&aside, out);
        let _ = std::fs::remove_dir_all(&built);
        return Err(io(out, e));
    }
    if let Err(e) = std::fs::remove_dir_all(&aside) {
        tracing::warn!(path = %aside.display(), "could not remove the previous corpus: {e}");
    }
    Ok(())
}

fn hash_files(paths: &[PathBuf]) -> Result<Vec<(u64, String)>, IngestError> {
    let mut out = Vec::with_capacity(paths.len());
    let mut buf = vec![0u8; 1 << 20];
    for path in paths {
        let io = |source| IngestError::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut h = Sha256::new();
        let mut len = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            len += n as u64;
        }
        out.push((len, hex::encode(h.finalize())));
    }
    Ok(out)
}

/// Progress shared by the reader (bytes) and the writer (pages).
struct Progress {
    bar: ProgressBar,
    /// Estimated input bytes consumed (exact for XML/JSONL, estimated for bz2/ZIM).
    input_done: AtomicU64,
}

impl Progress {
    fn new(total: u64, visible: bool) -> Progress {
        let target = if visible {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} ETA {eta} {msg}",
        ) {
            bar.set_style(style);
        }
        Progress {
            bar,
            input_done: AtomicU64::new(0),
        }
    }
}

type PipelineOutput = (Vec<Counts>, Vec<InputFacts>, u64);

fn run_pipeline(
    inputs: &[PathBuf],
    formats: &[InputFormat],
    build_dir: &Path,
    opts: &IngestOptions,
    clean_opts: &CleanOptions,
    progress: &Progress,
) -> Result<PipelineOutput, IngestError> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let store_path = build_dir.join("store");
    let docstore_dir = build_dir.join(crate::docstore::DIR);
    let mut store =
        BuildStore::create(&store_path, &docstore_dir).map_err(|e| IngestError::Store {
            path: store_path.clone(),
            message: e.to_string(),
        })?;

    std::thread::scope(|scope| {
        let (work_tx, work_rx) = bounded::<Work>(WORK_QUEUE);
        let (done_tx, done_rx) = bounded::<Done>(DONE_QUEUE);
        let reader = std::thread::Builder::new()
            .name("ingest-read".into())
            .spawn_scoped(scope, || {
                read_inputs(inputs, formats, opts, progress, work_tx)
            })
            .map_err(|e| IngestError::Worker(e.to_string()))?;
        for i in 0..threads {
            let rx = work_rx.clone();
            let tx = done_tx.clone();
            std::thread::Builder::new()
                .name(format!("ingest-clean-{i}"))
                .spawn_scoped(scope, move || clean_worker(rx, tx, clean_opts))
                .map_err(|e| IngestError::Worker(e.to_string()))?;
        }
        drop(work_rx);
        drop(done_tx);
        let written = write_in_order(done_rx, inputs.len(), build_dir, &mut store, progress);
        // On a writer error the receiver is gone: workers and reader stop at their next
        // send, so joining cannot hang.
        let read = reader
            .join()
            .map_err(|_| IngestError::Worker("reader thread panicked".into()))?;
        let facts = read?;
        let counts = written?;
        let uncompressed = facts.iter().map(|f| f.uncompressed_bytes).sum::<u64>();
        // Finish `docs` and merge the maps' runs into the published store's immutable
        // tables; the runs never leave the build dir.
        store
            .freeze(&docstore_dir)
            .map_err(|e| IngestError::Store {
                path: docstore_dir.clone(),
                message: e.to_string(),
            })?;
        Ok((counts, facts, uncompressed))
    })
}

/// Reader thread: every input in order, every page numbered.
fn read_inputs(
    inputs: &[PathBuf],
    formats: &[InputFormat],
    opts: &IngestOptions,
    progress: &Progress,
    tx: Sender<Work>,
) -> Result<Vec<InputFacts>, IngestError> {
    let mut seq = 0u64;
    let mut facts = Vec::with_capacity(inputs.len());
    let mut done_before = 0u64;
    for (input, (path, format)) in inputs.iter().zip(formats).enumerate() {
        let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut send = |raw: Raw| -> bool {
            let ok = tx.send(Work { seq, input, raw }).is_ok();
            seq += 1;
            ok
        };
        let mut fact = InputFacts::default();
        match format {
            InputFormat::MediawikiXml | InputFormat::MediawikiXmlBz2 => {
                let dump_opts = DumpOptions {
                    lang_hint: opts.lang_hint,
                    multistream_index: index_for(path, &opts.multistream_indexes),
                    ..DumpOptions::default()
                };
                let (info, mut pages) =
                    mediawiki::open_dump(path, &dump_opts).map_err(|e| IngestError::Dump {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                fact.lang = Some(info.lang);
                let info = Arc::new(info);
                while let Some(page) = pages.next() {
                    let raw = match page {
                        Ok(page) => Raw::Wiki(page, info.clone()),
                        // One page with unusable fields: counted, reading goes on.
                        Err(e) if e.is_page_local() => Raw::Ready(SourceItem::Skipped {
                            title: String::new(),
                            reason: format!("unreadable page ({e})"),
                        }),
                        Err(e) => {
                            return Err(IngestError::Dump {
                                path: path.clone(),
                                message: e.to_string(),
                            })
                        }
                    };
                    if !send(raw) {
                        return Ok(facts);
                    }
                    let at = pages.input_position().min(file_len);
                    progress
                        .input_done
                        .store(done_before + at, Ordering::Relaxed);
                }
                fact.uncompressed_bytes = pages.xml_position();
            }
            InputFormat::Zim => {
                let (info, mut entries) = open_zim(path, opts.lang_hint)?;
                fact.lang = Some(info.lang);
                while let Some(entry) = entries.next() {
                    let raw = match entry? {
                        ZimEntry::Html {
                            path: entry_path,
                            title,
                            html,
                        } => {
                            fact.uncompressed_bytes += html.len() as u64;
                            Raw::Html {
                                meta: HtmlMeta {
                                    id: format!("zim:A/{entry_path}"),
                                    url: crate::normalize::canonical_url(&title, info.lang),
                                    title,
                                    lang: info.lang,
                                    timestamp: info.date.clone(),
                                },
                                html,
                            }
                        }
                        ZimEntry::Redirect(r) => Raw::Ready(SourceItem::Redirect(r)),
                        ZimEntry::Skipped { title, reason } => {
                            Raw::Ready(SourceItem::Skipped { title, reason })
                        }
                    };
                    if !send(raw) {
                        return Ok(facts);
                    }
                    let (at, of) = entries.progress();
                    let est = file_len.saturating_mul(at) / of.max(1);
                    progress
                        .input_done
                        .store(done_before + est, Ordering::Relaxed);
                }
            }
            InputFormat::Jsonl => {
                let mut reader = JsonlReader::open(path, opts.lang_hint)?;
                fact.lang = opts.lang_hint;
                while let Some(item) = reader.next() {
                    let item = item?;
                    if let (None, SourceItem::Article(d)) = (fact.lang, &item) {
                        fact.lang = Some(d.lang);
                    }
                    if !send(Raw::Ready(item)) {
                        return Ok(facts);
                    }
                    progress.input_done.store(
                        done_before + reader.position().min(file_len),
                        Ordering::Relaxed,
                    );
                }
                fact.uncompressed_bytes = reader.position();
            }
        }
        done_before += file_len;
        progress.input_done.store(done_before, Ordering::Relaxed);
        facts.push(fact);
    }
    Ok(facts)
}

/// Cleaning worker: raw pages in, source items out. A panic while cleaning one page
/// skips that page (counted), it does not abort the ingest.
fn clean_worker(rx: Receiver<Work>, tx: Sender<Done>, opts: &CleanOptions) {
    for work in rx {
        let item = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match work.raw {
            Raw::Wiki(page, info) => clean_page(&page, &info, opts),
            Raw::Html { meta, html } => clean_html(&String::from_utf8_lossy(&html), meta),
            Raw::Ready(item) => item,
        }))
        .unwrap_or_else(|_| SourceItem::Skipped {
            title: format!("item {}", work.seq),
            reason: "internal error while cleaning (panic)".into(),
        });
        if tx
            .send(Done {
                seq: work.seq,
                input: work.input,
                item,
            })
            .is_err()
        {
            return;
        }
    }
}

/// Skip reasons are grouped by their stable part (`page too large (123 bytes)` ->
/// `page too large`).
fn reason_group(reason: &str) -> String {
    reason
        .split(" (")
        .next()
        .unwrap_or(reason)
        .trim()
        .to_string()
}

/// Writer: restores input order, then stores and indexes each item.
fn write_in_order(
    rx: Receiver<Done>,
    n_inputs: usize,
    build_dir: &Path,
    store: &mut BuildStore,
    progress: &Progress,
) -> Result<Vec<Counts>, IngestError> {
    let mut counts = vec![Counts::default(); n_inputs];
    let mut writers: BTreeMap<Lang, LangIndexWriter> = BTreeMap::new();
    let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
    let mut next = 0u64;
    let mut text_bytes = 0u64;
    let started = Instant::now();
    let mut last_draw = Instant::now();
    let index_err = |lang: Lang, e: tantivy::TantivyError| IngestError::Index {
        path: crate::index::lang_dir(build_dir, lang),
        message: e.to_string(),
    };
    for done in rx {
        pending.insert(done.seq, done);
        while let Some(done) = pending.remove(&next) {
            next += 1;
            let c = &mut counts[done.input];
            match done.item {
                SourceItem::Article(doc) => {
                    let inserted = store
                        .insert_document(&doc)
                        .map_err(|e| IngestError::Store {
                            path: build_dir.join("store"),
                            message: e.to_string(),
                        })?;
                    if inserted == Inserted::Duplicate {
                        c.skip("duplicate document id (an earlier input has it)");
                        continue;
                    }
                    let ps = passages(&doc);
                    let writer = match writers.entry(doc.lang) {
                        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                        std::collections::btree_map::Entry::Vacant(v) => v.insert(
                            LangIndexWriter::create(build_dir, doc.lang)
                                .map_err(|e| index_err(doc.lang, e))?,
                        ),
                    };
                    writer.add(&doc, &ps).map_err(|e| index_err(doc.lang, e))?;
                    text_bytes += doc
                        .sections
                        .iter()
                        .map(|s| s.text.len() as u64)
                        .sum::<u64>();
                    c.articles += 1;
                    c.passages += ps.len() as u64;
                }
                SourceItem::Redirect(r) => {
                    let inserted = store.insert_redirect(&r).map_err(|e| IngestError::Store {
                        path: build_dir.join("store"),
                        message: e.to_string(),
                    })?;
                    match inserted {
                        Inserted::New => c.redirects += 1,
                        Inserted::Duplicate => c.skip("duplicate redirect"),
                    }
                }
                SourceItem::Skipped { title, reason } => {
                    tracing::debug!(%title, %reason, "skipped");
                    c.skip(&reason_group(&reason));
                }
            }
        }
        if last_draw.elapsed() > Duration::from_millis(250) {
            last_draw = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            progress
                .bar
                .set_position(progress.input_done.load(Ordering::Relaxed));
            progress.bar.set_message(format!(
                "{next} pages ({:.0}/s, {:.1} MB/s text)",
                next as f64 / secs,
                text_bytes as f64 / 1e6 / secs
            ));
        }
    }
    for (lang, writer) in writers {
        writer.finish().map_err(|e| index_err(lang, e))?;
    }
    Ok(counts)
}
