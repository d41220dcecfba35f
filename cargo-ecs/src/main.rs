//! `cargo-ecs`: the imperative shell over `ecs-core`. Parses the command line, installs the
//! miette error hook and tracing once, builds the tokio runtime, runs one subcommand and maps
//! its result to the exit codes in DESIGN.md (0 ok, 1 error, 2 usage, 3 deployment failed).
//! `diff` is the exception: 1 means "different" there, so its errors exit 2, as `diff(1)`'s do.

mod cli;
mod commands;
mod context;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli::CargoCli::Ecs(cli) = cli::CargoCli::parse();
    let ctx = context::Ctx::new(cli.global.clone());
    let error_code = match cli.command {
        cli::Command::Diff(_) => 2,
        _ => 1,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui::to_stderr(&format!("error: cannot start the async runtime: {e}\n"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli.command, &ctx)) {
        Ok(code) => code,
        Err(report) => {
            ctx.ui.error(&report);
            ExitCode::from(error_code)
        }
    }
}
