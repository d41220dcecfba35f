//! `cargo ecs init`: appends a commented `[package.metadata.ecs]` to the package's Cargo.toml
//! (every existing byte kept: the new text goes after it) with the detected binary and a
//! guessed port, and with `--github` writes (or with `--check` compares) the deploy workflow.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use ecs_core::config::LaunchType;
use ecs_core::setup::manifest::{Skeleton, append_skeleton, guess_port, render_skeleton};
use miette::{Context, IntoDiagnostic};

use crate::cli::InitArgs;
use crate::context::Ctx;

/// At most this many `.rs` files are scanned for a port.
const MAX_SCANNED_FILES: usize = 400;

/// Runs `cargo ecs init`.
pub async fn run(args: InitArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let launch_type = match args.launch_type.to_ascii_lowercase().as_str() {
        "fargate" => LaunchType::Fargate,
        "ec2" => LaunchType::Ec2,
        other => {
            return Err(miette::miette!(
                help = "use one of: fargate, ec2",
                "invalid value `{other}` for `--launch-type`"
            ));
        }
    };
    if args.check && !args.github {
        return Err(miette::miette!(
            help = "use `cargo ecs init --github --check`",
            "`--check` compares the GitHub workflow and needs `--github`"
        ));
    }
    let cwd = std::env::current_dir()
        .into_diagnostic()
        .wrap_err("cannot read the current directory")?;
    let selection = ecs_core::workspace::Selection {
        manifest_path: ctx.global.manifest_path.clone(),
        package: ctx.global.package.clone(),
        cwd,
    };
    let ws = tokio::task::spawn_blocking(move || ecs_core::workspace::load(&selection))
        .await
        .into_diagnostic()?
        .map_err(miette::Report::new)?;

    // `--check` only compares the workflow; it changes nothing.
    if args.check {
        return github(&args, ctx, &ws).await;
    }
    let exists = ws.metadata.is_object();
    if exists && args.github {
        ctx.ui.status(
            "Kept",
            format!(
                "the existing [package.metadata.ecs] in {}",
                ws.manifest_path.display()
            ),
        );
    } else {
        add_metadata(ctx, &ws, launch_type).await?;
    }
    if args.github {
        return github(&args, ctx, &ws).await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn add_metadata(
    ctx: &Ctx,
    ws: &ecs_core::workspace::Workspace,
    launch_type: LaunchType,
) -> miette::Result<()> {
    let manifest = ws.manifest_path.display().to_string();
    let bin = match ws
        .bins
        .iter()
        .find(|b| **b == ws.package)
        .or(ws.bins.first())
    {
        Some(b) => b.clone(),
        None => {
            return Err(miette::miette!(
                help = "add a `src/main.rs` or a [[bin]] target; cargo ecs deploys a binary",
                "package `{}` has no binary target",
                ws.package
            ));
        }
    };
    let other_bins: Vec<String> = ws.bins.iter().filter(|b| **b != bin).cloned().collect();
    let sources = rust_sources(&ws.package_root.join("src"));
    let guess = guess_port(&sources);
    let (port, port_from) = match &guess {
        Some(g) => (g.port, Some(format!("{} (`{}`)", g.location, g.line))),
        None => (8080, None),
    };
    let execution_role = execution_role(ctx).await;
    let skeleton = Skeleton {
        package: ws.package.clone(),
        bin: bin.clone(),
        other_bins: other_bins.clone(),
        port,
        port_from: guess.as_ref().map(|g| g.location.clone()),
        launch_type,
        execution_role: execution_role.clone(),
    };
    let new_text = append_skeleton(&manifest, &ws.manifest_text, &render_skeleton(&skeleton))?;
    std::fs::write(&ws.manifest_path, &new_text)
        .into_diagnostic()
        .wrap_err_with(|| format!("failed to write {manifest}"))?;

    ctx.ui.status(
        "Added",
        format!("[package.metadata.ecs] to {manifest} ({launch_type})"),
    );
    let others = if other_bins.is_empty() {
        String::new()
    } else {
        format!("; other binaries: {}", other_bins.join(", "))
    };
    ctx.ui.status("Binary", format!("{bin}{others}"));
    match &port_from {
        Some(from) => ctx
            .ui
            .status("Port", format!("{port}, guessed from {from}: check it")),
        None => ctx.ui.status(
            "Port",
            format!("{port}, the default: no address literal found under src/; check it"),
        ),
    }
    match &execution_role {
        Some(arn) => ctx.ui.status(
            "Role",
            format!(
                "execution-role = {arn} (the conventional name; `cargo ecs setup` prints its trust policy)"
            ),
        ),
        None => ctx.ui.warn(
            "execution-role is left commented out (no AWS account found): set it before \
             deploying on Fargate",
        ),
    }
    ctx.ui.status(
        "Next",
        "`cargo ecs render` to see the task definition, `cargo ecs setup` for the AWS side",
    );
    Ok(())
}

/// The execution role under its conventional name in the caller's account, when
/// `sts:GetCallerIdentity` answers within a few seconds; `None` otherwise (no credentials, no
/// region, offline).
async fn execution_role(ctx: &Ctx) -> Option<String> {
    let sdk = ctx.sdk().await.ok()?;
    let sts = aws_sdk_sts::Client::new(sdk);
    let who = tokio::time::timeout(Duration::from_secs(5), sts.get_caller_identity().send())
        .await
        .ok()?
        .ok()?;
    let account = who.account()?;
    let partition = who.arn().and_then(|a| a.split(':').nth(1)).unwrap_or("aws");
    Some(format!(
        "arn:{partition}:iam::{account}:role/ecsTaskExecutionRole"
    ))
}

/// `(path relative to the package, text)` of the `.rs` files under `dir`, sorted, at most
/// [`MAX_SCANNED_FILES`]; unreadable entries are skipped (this is only a guess).
fn rust_sources(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut paths: Vec<PathBuf> = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                paths.push(p);
            }
        }
        if paths.len() > MAX_SCANNED_FILES {
            break;
        }
    }
    paths.sort();
    paths.truncate(MAX_SCANNED_FILES);
    let base = dir.parent().unwrap_or(dir);
    for p in paths {
        if let Ok(text) = std::fs::read_to_string(&p) {
            let shown = p.strip_prefix(base).unwrap_or(&p).display().to_string();
            files.push((shown, text));
        }
    }
    files
}

/// `--github`: write the deploy workflow, or with `--check` compare it (exit 1 on drift).
async fn github(
    args: &InitArgs,
    ctx: &Ctx,
    ws: &ecs_core::workspace::Workspace,
) -> miette::Result<ExitCode> {
    let region = match &ctx.global.region {
        Some(r) => r.clone(),
        None => ctx
            .sdk()
            .await?
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default(),
    };
    let env = ctx
        .global
        .env_name
        .clone()
        .unwrap_or_else(|| "production".into());
    let repo_root = git_root(&ws.package_root).unwrap_or_else(|| ws.root.clone());
    let working_directory = match ws.package_root.strip_prefix(&repo_root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => ".".to_string(),
    };
    let mut wf = ecs_core::github::WorkflowContext::new(ws.package.clone(), env, region);
    wf.working_directory = working_directory;
    let rendered = ecs_core::github::render(&wf)?;
    let path = repo_root.join(wf.workflow_path());
    let shown = path.display().to_string();
    if args.check {
        let on_disk = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                ctx.ui.warn(format!(
                    "{shown} does not exist; run `cargo ecs init --github` to write it"
                ));
                return Ok(ExitCode::from(1));
            }
            Err(e) => {
                return Err(e)
                    .into_diagnostic()
                    .wrap_err_with(|| format!("failed to read {shown}"));
            }
        };
        return Ok(match ecs_core::github::check(&rendered, &on_disk) {
            None => {
                ctx.ui
                    .status("Fresh", format!("{shown} matches the template"));
                ExitCode::SUCCESS
            }
            Some(diff) => {
                crate::ui::write_stdout(&diff)?;
                ctx.ui.warn(format!(
                    "{shown} differs from the template; run `cargo ecs init --github` to rewrite it"
                ));
                ExitCode::from(1)
            }
        });
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .into_diagnostic()
            .wrap_err_with(|| format!("failed to create {}", parent.display()))?;
    }
    std::fs::write(&path, rendered)
        .into_diagnostic()
        .wrap_err_with(|| format!("failed to write {shown}"))?;
    ctx.ui.status("Wrote", shown);
    // The workflow deploys with `--env NAME`, which must name an environment table.
    // Read again: `init` may have just appended its skeleton to this very file.
    let mut text = std::fs::read_to_string(&ws.manifest_path)
        .into_diagnostic()
        .wrap_err_with(|| format!("failed to read {}", ws.manifest_path.display()))?;
    if !has_env_table(&text, &ws.root_manifest_text, &wf.env) {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "\n# The environment the GitHub deploy workflow uses (`cargo ecs deploy --env {env}`).\n\
             # Keys here override the ones above for that environment only.\n\
             [package.metadata.ecs.env.{env}]\n",
            env = wf.env
        ));
        std::fs::write(&ws.manifest_path, text)
            .into_diagnostic()
            .wrap_err_with(|| format!("failed to write {}", ws.manifest_path.display()))?;
        ctx.ui.status(
            "Added",
            format!(
                "[package.metadata.ecs.env.{}] to {} (the workflow deploys with --env {})",
                wf.env,
                ws.manifest_path.display(),
                wf.env
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `[package.metadata.ecs.env.NAME]` or `[workspace.metadata.ecs.env.NAME]` exists.
fn has_env_table(package_manifest: &str, root_manifest: &str, name: &str) -> bool {
    let has = |text: &str, top: &str| {
        text.parse::<toml_edit::DocumentMut>()
            .ok()
            .is_some_and(|t| {
                t.get(top)
                    .and_then(|v| v.get("metadata"))
                    .and_then(|v| v.get("ecs"))
                    .and_then(|v| v.get("env"))
                    .and_then(|v| v.get(name))
                    .is_some()
            })
    };
    has(package_manifest, "package") || has(root_manifest, "workspace")
}

fn git_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}
