//! `cargo ecs setup`.

use std::process::ExitCode;

use crate::cli::SetupArgs;
use crate::context::Ctx;

/// Runs `cargo ecs setup`.
pub async fn run(_args: SetupArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs setup` is not built yet"))
}
