//! Helpers shared by the ecs-core integration tests: a workspace from an inline manifest
//! (no cargo run), and miette reports rendered without colour at a fixed width.

#![allow(dead_code)]

use std::path::Path;

use ecs_core::config::{Inputs, Resolved};
use ecs_core::error::ConfigErrors;
use ecs_core::workspace::Workspace;

/// A workspace whose only package is described by `manifest` (as a Cargo.toml text).
pub fn workspace(manifest: &str) -> Workspace {
    Workspace::from_manifest_text(Path::new("/fixture/svc/Cargo.toml"), manifest)
}

/// `[package]` for a package called `svc` followed by `rest`.
pub fn manifest(rest: &str) -> String {
    format!("[package]\nname = \"svc\"\nversion = \"1.2.3\"\nedition = \"2021\"\n\n{rest}")
}

/// Resolves `rest` (metadata tables) with no env/vars/flags.
pub fn resolve(rest: &str) -> Result<Resolved, ConfigErrors> {
    ecs_core::config::resolve(&workspace(&manifest(rest)), &Inputs::default())
}

/// A miette report as plain text, 100 columns.
pub fn report(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false)
        .render_report(&mut out, diagnostic)
        .expect("render report");
    out
}

/// The execution role line most fixtures need.
pub const ROLE: &str = "execution-role = \"arn:aws:iam::123456789012:role/ecsTaskExecutionRole\"\n";
