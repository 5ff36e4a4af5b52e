//! The agent side: an exported ONNX MoE model (or an OpenAI-compatible endpoint) acting in simweb to produce scored RL trajectories.
