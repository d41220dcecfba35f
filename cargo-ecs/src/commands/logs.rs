//! `cargo ecs logs`.

use std::process::ExitCode;

use crate::cli::LogsArgs;
use crate::context::Ctx;

/// Runs `cargo ecs logs`.
pub async fn run(_args: LogsArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs logs` is not built yet"))
}
