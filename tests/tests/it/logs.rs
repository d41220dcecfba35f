//! End-to-end tests: logs.
