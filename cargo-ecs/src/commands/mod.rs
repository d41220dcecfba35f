//! One module per subcommand; each turns its clap arguments into `ecs-core` calls and renders
//! the result. Returning `Ok(code)` lets a command choose exit code 3 (deployment failed).

use std::process::ExitCode;

use crate::cli::Command;
use crate::context::Ctx;

mod build;
mod deploy;
mod diff;
mod init;
mod logs;
mod render;
mod rollback;
mod setup;
mod status;

/// Exit code for a deployment that failed or timed out (DESIGN.md).
pub const EXIT_DEPLOY_FAILED: u8 = 3;

/// Runs one subcommand.
pub async fn run(command: Command, ctx: &Ctx) -> miette::Result<ExitCode> {
    match command {
        Command::Render(args) => render::run(args, ctx).await,
        Command::Build(args) => build::run(args, ctx).await,
        Command::Deploy(args) => deploy::run(args, ctx).await,
        Command::Diff(args) => diff::run(args, ctx).await,
        Command::Status(args) => status::run(args, ctx).await,
        Command::Rollback(args) => rollback::run(args, ctx).await,
        Command::Logs(args) => logs::run(args, ctx).await,
        Command::Setup(args) => setup::run(args, ctx).await,
        Command::Init(args) => init::run(args, ctx).await,
    }
}
