//! `cargo ecs render`.

use std::process::ExitCode;

use crate::cli::RenderArgs;
use crate::context::Ctx;

/// Runs `cargo ecs render`.
pub async fn run(_args: RenderArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs render` is not built yet"))
}
