//! Tasks for the environment: LLM-free, verifiable QA synthesis over an ingested corpus.
//!
//! Data flows one way: [`facts`] reads the corpus into a fact graph (infobox facts, links
//! with their sentences, categories, redirect aliases); [`synth`] poses questions over it
//! at three levels (one hop, a chain of 2–4 hops, a multi-constraint set with obfuscated
//! values), [`render`] writes them in English or Chinese, and [`verify`] checks every
//! candidate: its [`formal`]ization has exactly one answer over the graph, its evidence
//! pages contain the facts, and (levels 2–3) BM25 over the question alone does not find
//! the answer page. Same snapshot + seed + options: byte-identical output.

pub mod error;
pub mod facts;
pub mod formal;
pub mod render;
pub mod rng;
pub mod synth;
pub mod values;
pub mod verify;

pub use error::TaskError;
pub use facts::FactGraph;
pub use synth::{synthesize, SynthOptions, SynthReport, SynthTask};
