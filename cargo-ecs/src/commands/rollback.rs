//! `cargo ecs rollback`.

use std::process::ExitCode;

use crate::cli::RollbackArgs;
use crate::context::Ctx;

/// Runs `cargo ecs rollback`.
pub async fn run(_args: RollbackArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs rollback` is not built yet"))
}
