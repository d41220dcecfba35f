//! `cargo xtask demo`: the main job on `examples/hello`, run the way a user would, against the
//! local rig: `cargo ecs setup`, `cargo ecs deploy --create-service`, `cargo ecs status`,
//! `cargo ecs logs`, each printed before it runs. Then it proves the deployed image answers:
//! the image the service points to is pulled from the registry with skopeo, unpacked with
//! umoci and run with runc, and `GET /` must answer 200.
//!
//! A step whose command is still a "not built yet" stub is reported as such and skipped; a
//! step is never faked. Any built step that fails makes the demo exit non-zero.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use ecs_e2e::{RigState, env_for};

use crate::rig;

/// `examples/hello/Cargo.toml` deploys to this cluster and service (its package name).
const CLUSTER: &str = "default";
const SERVICE: &str = "hello";

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    NotBuilt,
    /// Ran and failed, but only because an earlier step it needs is not built yet (e.g.
    /// `status` with no service, since `deploy` could not create it).
    Blocked(String),
    Failed(String),
}

pub fn run(_args: &[String]) -> Result<()> {
    let root = rig::workspace_root();

    banner("rig: moto_server + docker-registry on loopback");
    let state = rig::up()?;
    println!("  moto_server      {}", state.moto_url);
    println!("  docker-registry  {}", state.registry_url);
    println!("  (reset moto so the demo starts from an empty account)");
    ecs_e2e::http_request(&state.moto_url, "POST", "/moto-api/reset", None)
        .context("cannot reset moto")?;

    banner("build cargo-ecs");
    cargo(&root, &["build", "-p", "cargo-ecs"])?;
    let bin = target_dir(&root).join("debug").join("cargo-ecs");
    let hello = root.join("examples").join("hello");

    let steps: [(&str, &[&str]); 4] = [
        ("setup", &["setup"]),
        ("deploy", &["deploy", "--create-service", "--timeout", "5m"]),
        ("status", &["status"]),
        ("logs", &["logs"]),
    ];
    let mut results = Vec::new();
    for (name, args) in steps {
        banner(&format!("cargo ecs {}", args.join(" ")));
        let mut outcome = cargo_ecs(&bin, &hello, &state, args)?;
        // status and logs need the service deploy creates; with deploy still a stub their
        // failure says nothing about them.
        let deploy_missing = results
            .iter()
            .any(|(n, o): &(String, Outcome)| n == "cargo ecs deploy" && *o == Outcome::NotBuilt);
        if let Outcome::Failed(why) = &outcome
            && deploy_missing
            && (name == "status" || name == "logs")
        {
            outcome = Outcome::Blocked(why.clone());
        }
        match &outcome {
            Outcome::Ok => {}
            Outcome::NotBuilt => println!("  -> `cargo ecs {name}` is not built yet; skipping"),
            Outcome::Blocked(why) => println!(
                "  -> `cargo ecs {name}` {why}: expected, there is no service because \
                 `cargo ecs deploy` is not built yet"
            ),
            Outcome::Failed(why) => println!("  -> `cargo ecs {name}` FAILED: {why}"),
        }
        results.push((format!("cargo ecs {name}"), outcome));
    }

    banner("does the deployed image answer?");
    let deployed = results
        .iter()
        .any(|(n, o)| n == "cargo ecs deploy" && *o == Outcome::Ok);
    let check = if deployed {
        match check_deployed_image(&state) {
            Ok(()) => Outcome::Ok,
            Err(e) => {
                println!("  -> FAILED: {e:#}");
                Outcome::Failed(format!("{e:#}"))
            }
        }
    } else {
        println!(
            "  -> skipped: nothing was deployed (`cargo ecs deploy` is not built yet or failed)"
        );
        Outcome::NotBuilt
    };
    results.push(("run the deployed image".into(), check));

    banner("summary");
    let mut failed = 0;
    for (name, outcome) in &results {
        let word = match outcome {
            Outcome::Ok => "ok",
            Outcome::NotBuilt => "not built yet",
            Outcome::Blocked(_) => "needs deploy",
            Outcome::Failed(_) => {
                failed += 1;
                "FAILED"
            }
        };
        println!("  {word:<14} {name}");
    }
    println!();
    println!("The rig is still running, with the demo's service in it. To look around:");
    println!("  eval \"$(cargo xtask rig env)\"; cd examples/hello; cargo ecs status");
    println!("Stop it with `cargo xtask rig down`.");
    if failed > 0 {
        bail!("{failed} demo step(s) failed");
    }
    Ok(())
}

fn banner(title: &str) {
    println!();
    println!("==> {title}");
    let _ = std::io::stdout().flush();
}

/// `CARGO_TARGET_DIR` when set, else `target/` in the workspace.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root.join(d),
        _ => root.join("target"),
    }
}

/// Runs `cargo ARGS` in `root`, printing it first.
pub fn cargo(root: &Path, args: &[&str]) -> Result<()> {
    println!("$ cargo {}", args.join(" "));
    let _ = std::io::stdout().flush();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Runs the built cargo-ecs as a user's `cargo ecs ARGS` would, in `cwd`, with only the rig's
/// AWS settings (a user's real AWS profile or keys are never seen by the demo). stderr is
/// shown live and also kept, to tell a "not built yet" stub from a failure.
fn cargo_ecs(bin: &Path, cwd: &Path, state: &RigState, args: &[&str]) -> Result<Outcome> {
    println!("$ cargo ecs {}", args.join(" "));
    let _ = std::io::stdout().flush();
    let mut cmd = Command::new(bin);
    cmd.arg("ecs").args(args).current_dir(cwd);
    scrub_env(&mut cmd);
    for (k, v) in env_for(&state.moto_url, &state.registry_url) {
        cmd.env(k, v);
    }
    let missing = rig::state_dir().join("no-such-aws-file");
    cmd.env("AWS_CONFIG_FILE", &missing)
        .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let mut stderr_text = String::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines() {
            let line = line.unwrap_or_default();
            eprintln!("{line}");
            stderr_text.push_str(&line);
            stderr_text.push('\n');
        }
    }
    let status = child.wait()?;
    Ok(if status.success() {
        Outcome::Ok
    } else if stderr_text.contains("is not built yet") {
        Outcome::NotBuilt
    } else {
        Outcome::Failed(format!("exited with {status}"))
    })
}

/// Removes what `cargo run` put in our environment for xtask itself, and any AWS setting of
/// the user's, so the child sees a plain shell plus the rig.
fn scrub_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let cargo_run_var = [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
        ]
        .iter()
        .any(|p| key.starts_with(p))
            || key == "CARGO_PRIMARY_PACKAGE";
        if cargo_run_var || key.starts_with("AWS_") {
            cmd.env_remove(key.as_ref());
        }
    }
}

/// Reads the image the service's task definition points to from moto, pulls it from the
/// registry, runs it and checks `GET /`.
fn check_deployed_image(state: &RigState) -> Result<()> {
    let (taskdef, image) = ecs_e2e::deployed_image(&state.moto_url, CLUSTER, SERVICE)?;
    println!("  service {SERVICE} runs {taskdef}");
    println!("  image {image}");
    if !image.contains("@sha256:") {
        bail!("the task definition's image is not pinned by digest: {image}");
    }
    let reference = ecs_e2e::registry_reference(&state.registry_url, &image);
    println!("$ skopeo copy docker://{reference} oci:… && umoci unpack && runc run");
    let port = ecs_e2e::free_port()?;
    let running = ecs_e2e::run_image(&state.registry_url, &image, port)?;
    println!("$ curl {}/", running.url);
    let (status, body) = running.get("/")?;
    println!("  {status} {}", body.trim());
    if status != 200 {
        bail!("GET / answered {status}: {body}");
    }
    Ok(())
}
