//! `cargo ecs status`.

use std::process::ExitCode;

use crate::cli::StatusArgs;
use crate::context::Ctx;

/// Runs `cargo ecs status`.
pub async fn run(_args: StatusArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs status` is not built yet"))
}
