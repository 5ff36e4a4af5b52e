//! Read-ahead hints. With the OS page cache cold, one search reads a few dozen posting
//! lists and documents, each a random read the query then waits for, one after another.
//! Telling the kernel about all of them first (`POSIX_FADV_WILLNEED`, which queues the
//! reads and returns) lets the disk serve them together; the reads that follow find them
//! in the page cache or already on their way. With the cache warm a hint costs one
//! system call and changes nothing, and results never depend on it.

use std::fs::File;
use std::num::NonZeroU64;

/// Asks the kernel to start reading `len` bytes of `file` at `offset`. A hint: failure
/// only means the read happens later, on demand, so it is logged and otherwise ignored.
pub fn will_need(file: &File, offset: u64, len: u64) {
    let Some(len) = NonZeroU64::new(len) else {
        return;
    };
    if let Err(e) = rustix::fs::fadvise(file, offset, Some(len), rustix::fs::Advice::WillNeed) {
        tracing::debug!(error = %e, offset, len = len.get(), "read-ahead hint refused");
    }
}

/// The same for a whole file.
pub fn will_need_all(file: &File) {
    if let Err(e) = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::WillNeed) {
        tracing::debug!(error = %e, "read-ahead hint refused");
    }
}
