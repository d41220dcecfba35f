//! `cargo ecs init`.

use std::process::ExitCode;

use crate::cli::InitArgs;
use crate::context::Ctx;

/// Runs `cargo ecs init`.
pub async fn run(_args: InitArgs, _ctx: &Ctx) -> miette::Result<ExitCode> {
    Err(miette::miette!("`cargo ecs init` is not built yet"))
}
