//! `cargo ecs build`.

use std::process::ExitCode;

use crate::cli::BuildCmdArgs;
use crate::context::Ctx;

/// Runs `cargo ecs build`.
pub async fn run(_args: BuildCmdArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs build` is not built yet"))
}
