//! End-to-end tests: render.
