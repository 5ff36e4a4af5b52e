//! The corpus manifest: what went in, with which code and config, and the snapshot id.
//!
//! The snapshot id keys every later cache, replay log and trajectory, so it hashes only
//! what decides the corpus contents (input bytes, parser version, ingest config) and
//! never a wall-clock time or a path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::chinese::ZhVariant;
use crate::model::Lang;

/// Bump when the cleaning, chunking or indexing changes what a corpus contains: it is
/// part of the snapshot id, so old caches keyed by the id are not reused by mistake.
pub const PARSER_VERSION: &str = "simweb-wikidump/3";

/// Bump when the on-disk layout changes; `Corpus::open` refuses other versions. Also
/// when [`crate::passages`] would chunk a stored page differently: the passage index
/// names passages by page and ordinal, and their text is recomputed at read time.
pub const LAYOUT_VERSION: u32 = 5;

/// File name of the manifest inside a data dir.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Ingest settings that change the corpus contents (hashed into the snapshot id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IngestConfig {
    pub zh_variant: ZhVariant,
    /// Language assumed for inputs that do not declare one (JSONL); `None` = detect.
    pub lang_hint: Option<Lang>,
    /// The wikitext cleaner's options fingerprint (includes its rules version).
    pub cleaner: String,
}

/// Input format, detected from the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    MediawikiXml,
    MediawikiXmlBz2,
    Zim,
    Jsonl,
}

/// One input file as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// File name only (paths differ between machines and must not matter).
    pub name: String,
    pub format: InputFormat,
    pub bytes: u64,
    pub sha256: String,
    pub lang: Option<Lang>,
    pub counts: Counts,
}

/// What an ingest produced. Skips are grouped by reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub articles: u64,
    pub redirects: u64,
    pub passages: u64,
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, u64>,
}

impl Counts {
    pub fn skip(&mut self, reason: &str) {
        self.skipped += 1;
        *self
            .skipped_by_reason
            .entry(reason.to_string())
            .or_default() += 1;
    }

    pub fn add(&mut self, other: &Counts) {
        self.articles += other.articles;
        self.redirects += other.redirects;
        self.passages += other.passages;
        self.skipped += other.skipped;
        for (reason, n) in &other.skipped_by_reason {
            *self.skipped_by_reason.entry(reason.clone()).or_default() += n;
        }
    }
}

/// Versions of the code that built the corpus (informational, not hashed except the
/// parser version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedWith {
    pub simweb: String,
    pub parser: String,
    pub tantivy: String,
}

impl CreatedWith {
    pub fn current() -> Self {
        CreatedWith {
            simweb: env!("CARGO_PKG_VERSION").to_string(),
            parser: PARSER_VERSION.to_string(),
            tantivy: "0.27".to_string(),
        }
    }
}

/// `manifest.json` of a data dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub layout_version: u32,
    /// Hex sha256 over (inputs' bytes, parser version, ingest config).
    pub snapshot_id: String,
    pub config: IngestConfig,
    pub inputs: Vec<InputRecord>,
    /// Languages with an index in this corpus, sorted.
    pub languages: Vec<Lang>,
    pub totals: Counts,
    pub created_with: CreatedWith,
}

/// sha256 over the parser version, the canonical JSON of the config and each input's
/// (length, sha256) in order. Input order matters: it decides which duplicate wins.
pub fn snapshot_id(config: &IngestConfig, input_hashes: &[(u64, String)]) -> String {
    let mut h = Sha256::new();
    h.update(b"simweb-snapshot\n");
    h.update(PARSER_VERSION.as_bytes());
    h.update(b"\n");
    // serde_json writes struct fields in declaration order: canonical for this type.
    h.update(serde_json::to_string(config).unwrap_or_default().as_bytes());
    h.update(b"\n");
    for (len, sha) in input_hashes {
        h.update(format!("{len}:{sha}\n").as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_id_depends_on_config_and_inputs_only() {
        let cfg = IngestConfig::default();
        let a = snapshot_id(&cfg, &[(3, "ab".into())]);
        assert_eq!(a, snapshot_id(&cfg, &[(3, "ab".into())]));
        assert_ne!(a, snapshot_id(&cfg, &[(3, "ac".into())]));
        let hant = IngestConfig {
            zh_variant: ZhVariant::Hant,
            ..IngestConfig::default()
        };
        assert_ne!(a, snapshot_id(&hant, &[(3, "ab".into())]));
        assert_eq!(a.len(), 64);
    }
}
