//! simweb-dense's one integration-test binary: the real multilingual-e5-small (converted
//! by `make setup`) on real ONNX Runtime, over the real Ray Charles ZIM.

mod encoder;
mod index;
mod retriever;
