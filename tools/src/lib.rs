//! Agent tools (search, visit, python) and the one tool layer around them: cache, retry, rate limits, backpressure, record/replay.
