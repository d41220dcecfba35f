//! `cargo ecs diff`.

use std::process::ExitCode;

use crate::cli::DiffArgs;
use crate::context::Ctx;

/// Runs `cargo ecs diff`.
pub async fn run(_args: DiffArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs diff` is not built yet"))
}
