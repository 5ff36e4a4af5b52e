//! Runs untrusted Python in CPython compiled to WebAssembly under wasmtime: no network, no host files, CPU/memory/wall-clock caps.
