//! End-to-end tests: setup.
