//! `ecs-core` is the library behind `cargo ecs`: it decides everything a deploy does and
//! performs it through small, testable adapters.
//!
//! The seam (see `STYLE.md`): [`workspace`] reads `cargo metadata` (shell) → [`config`] parses
//! and validates `[package.metadata.ecs]` (pure) → [`taskdef`] renders the task definition
//! (pure) → [`image`] assembles an OCI image (pure bytes) → [`registry`] and [`aws`] push and
//! deploy (shell). This crate never prints: it returns data and reports progress through
//! [`progress::Reporter`].
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod aws;
pub mod config;
pub mod deploy;
pub mod error;
pub mod github;
pub mod image;
pub mod logs;
pub mod progress;
pub mod registry;
pub mod setup;
pub mod taskdef;
pub mod templates;
pub mod workspace;
