//! `cargo ecs deploy`.

use std::process::ExitCode;

use crate::cli::DeployArgs;
use crate::context::Ctx;

/// Runs `cargo ecs deploy`.
pub async fn run(_args: DeployArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs deploy` is not built yet"))
}
