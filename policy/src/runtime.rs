//! ONNX Runtime loading and execution providers live in `simweb-onnx` (the dense
//! retriever's encoder shares the one process-wide environment); re-exported here so
//! the policy's API is unchanged.

pub use simweb_onnx::{
    environment, locate_ort_library, simweb_home, ExecutionProvider, ORT_LIBRARY_FILE,
};
