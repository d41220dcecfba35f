//! `cargo xtask`: the project's own automation (matklad/cargo-xtask). Its dependencies are
//! the workspace's own crates plus anyhow, and tracing-subscriber with cargo-ecs's features:
//! with the same feature set, `cargo xtask …`, `cargo build -p cargo-ecs` and the test build
//! share one compiled AWS SDK instead of each building its own. `RUST_LOG` (e.g.
//! `RUST_LOG=ecs_core=debug cargo xtask bench image`) shows what the in-process work does.
//!
//! - `rig up | down | env | status`: the local stand-ins (moto_server, docker-registry)
//! - `demo`: the main job on `examples/hello`, against the rig
//! - `ci`: fmt, clippy, every test
//! - `bench image | logs`: side-by-side benchmarks against peer tools
//! - `dist [--target TRIPLE]`: the release archive for one target, as the release workflow builds it
//! - `lint-workflows`: actionlint on `.github/workflows/*.yml` and the rendered deploy template

mod bench;
mod bench_logs;
mod ci;
mod demo;
mod dist;
mod rig;
mod workflows;

use anyhow::{Result, bail};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Silent unless RUST_LOG asks; to stderr, like cargo-ecs's own -v output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let rest = args.get(1..).unwrap_or(&[]);
    match args.first().map(String::as_str) {
        Some("rig") => rig::run(rest),
        Some("demo") => demo::run(rest),
        Some("ci") => ci::run(rest),
        Some("bench") => bench::run(rest),
        Some("dist") => dist::run(rest),
        Some("lint-workflows") => workflows::lint(),
        _ => bail!(
            "usage: cargo xtask <rig up|down|env|status | demo | ci | bench image|logs | dist>"
        ),
    }
}
