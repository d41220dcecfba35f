//! `cargo ecs setup`: the one-time AWS set-up. Turns the flags and the package configuration
//! into an `ecs_core::setup::SetupRequest`, runs the idempotent executor, optionally writes the
//! ids back into Cargo.toml, and prints what was created or found (text, or one JSON object
//! with `--format json`), the lines to add, and the IAM documents the deployer needs.

use std::path::PathBuf;
use std::process::ExitCode;

use ecs_core::config::LaunchType;
use ecs_core::setup::cidr::parse_ssh_cidr;
use ecs_core::setup::exec::{KeyPairOutcome, SetupClients, SetupOutcome, run_setup};
use ecs_core::setup::manifest::{network_lines, write_network_ids};
use ecs_core::setup::policy::{
    EXECUTION_ROLE_MANAGED_POLICY, PolicyScope, deployer_policy, execution_role_trust_policy,
};
use ecs_core::setup::{KeyPairRequest, SetupRequest};
use miette::{Context, IntoDiagnostic};
use serde_json::json;

use crate::cli::{Format, SetupArgs};
use crate::context::Ctx;

/// The package settings setup needs.
#[derive(Debug, Clone)]
struct Settings {
    manifest_path: PathBuf,
    service: String,
    cluster: String,
    repository: String,
    tag_mutability: String,
    log_group: Option<String>,
    retention_days: Option<i32>,
    launch_type: LaunchType,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    execution_role: Option<String>,
    task_role: Option<String>,
}

/// Runs `cargo ecs setup`.
/// `writeln!` into a `String`, which cannot fail.
macro_rules! outln {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

pub async fn run(args: SetupArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let ssh = match &args.ssh_cidr {
        Some(text) => Some(parse_ssh_cidr(text, args.allow_ssh_from_anywhere)?),
        None => None,
    };
    let loaded = ctx.load(&args.settings).await?;
    let settings = settings_of(&loaded.config);
    let key_pair = args.key_pair.as_ref().map(|name| KeyPairRequest {
        name: name.clone(),
        path: args
            .key_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{name}.pem"))),
    });
    let request = SetupRequest {
        service: settings.service.clone(),
        cluster: settings.cluster.clone(),
        repository: settings.repository.clone(),
        tag_mutability: settings.tag_mutability.clone(),
        log_group: settings.log_group.clone(),
        retention_days: settings.retention_days,
        launch_type: settings.launch_type,
        subnets: settings.subnets.clone(),
        ssh: ssh.map(|s| s.cidr),
        key_pair,
    };
    // Refuse bad combinations (a key pair on Fargate…) before any AWS call.
    request.validate()?;
    if let Some(s) = ssh {
        if s.from_anywhere {
            ctx.ui.warn(format!(
                "SSH (port 22) will be open to the whole internet ({}) because of \
                 --allow-ssh-from-anywhere; prefer your own address, e.g. `--ssh-cidr 203.0.113.25`",
                s.cidr
            ));
        }
        if settings.launch_type == LaunchType::Fargate {
            ctx.ui.warn(
                "Fargate tasks have no instance to log in to: the SSH rule only matters if your \
                 container itself listens on port 22",
            );
        }
    }

    let sdk = ctx.sdk().await?;
    let clients = SetupClients::new(sdk);
    let reporter = ctx.ui.reporter();
    ctx.ui.status(
        "Checking",
        format!(
            "AWS set-up for service `{}` ({})",
            settings.service, settings.launch_type
        ),
    );
    let outcome = run_setup(&clients, &request, &reporter).await?;

    // Ids into Cargo.toml, or the lines to add.
    let manifest = if args.write {
        let path = settings.manifest_path.display().to_string();
        let text = std::fs::read_to_string(&settings.manifest_path)
            .into_diagnostic()
            .wrap_err_with(|| format!("failed to read {path}"))?;
        let (new_text, changes) = write_network_ids(
            &path,
            &text,
            &outcome.network.subnets,
            &outcome.security_group.id,
        )?;
        if !changes.is_empty() {
            std::fs::write(&settings.manifest_path, new_text)
                .into_diagnostic()
                .wrap_err_with(|| format!("failed to write {path}"))?;
        }
        Some((path, changes))
    } else {
        None
    };

    // IAM: the account for the ARNs, best effort.
    let account = match aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(who) => who.account().unwrap_or("*").to_string(),
        Err(e) => {
            ctx.ui.warn(format!(
                "could not read the account id (sts:GetCallerIdentity: {}); the policy uses `*`",
                ecs_core::aws::error::describe(ecs_core::aws::error::Service::Sts, &e)
            ));
            "*".to_string()
        }
    };
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let partition = partition_of(&region);
    let policy = deployer_policy(&PolicyScope {
        partition,
        region: &region,
        account: &account,
        cluster: &settings.cluster,
        service: &settings.service,
        repository: &settings.repository,
        log_group: settings.log_group.as_deref(),
        execution_role: settings.execution_role.as_deref(),
        task_role: settings.task_role.as_deref(),
    });
    let trust = execution_role_trust_policy(&account);

    if ctx.ui.format == Format::Json {
        let doc = json!({
            "changed": !outcome.changed_nothing(),
            "cluster": outcome.cluster,
            "repository": outcome.repository,
            "log_group": outcome.log_group,
            "network": outcome.network,
            "security_group": outcome.security_group,
            "key_pair": outcome.key_pair,
            "execution_role": {
                "arn": settings.execution_role,
                "checked": false,
                "reason": "cargo-ecs has no IAM client",
            },
            "manifest": match &manifest {
                Some((path, changes)) => json!({ "path": path, "written": !changes.is_empty(), "changes": changes }),
                None => json!({ "written": false, "lines": network_lines(&outcome.network.subnets, &outcome.security_group.id) }),
            },
            "iam": {
                "deployer_policy": policy,
                "execution_role_trust_policy": trust,
                "execution_role_managed_policy": EXECUTION_ROLE_MANAGED_POLICY,
            },
        });
        let doc = serde_json::to_string_pretty(&doc).into_diagnostic()?;
        crate::ui::write_stdout(&format!("{doc}\n"))?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut out = String::new();
    print_human(&mut out, ctx, &outcome, &settings, manifest.as_ref())?;
    outln!(out);
    outln!(
        out,
        "# IAM policy for the identity that runs `cargo ecs` (attach to the user or CI role):"
    );
    outln!(
        out,
        "{}",
        serde_json::to_string_pretty(&policy).into_diagnostic()?
    );
    outln!(out);
    outln!(
        out,
        "# Trust policy of the task execution role (then attach {EXECUTION_ROLE_MANAGED_POLICY}):"
    );
    outln!(
        out,
        "{}",
        serde_json::to_string_pretty(&trust).into_diagnostic()?
    );
    crate::ui::write_stdout(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn settings_of(c: &ecs_core::config::Config) -> Settings {
    Settings {
        manifest_path: c.manifest_path.clone(),
        service: c.service.clone(),
        cluster: c.cluster.clone(),
        repository: c.image.repository.clone(),
        tag_mutability: c.image.tag_mutability.clone(),
        // Only the awslogs driver writes to a CloudWatch log group.
        log_group: match c.logs.driver {
            ecs_core::config::LogDriver::Awslogs => c.logs.group.clone(),
            _ => None,
        },
        retention_days: c.logs.retention_days,
        launch_type: c.launch_type,
        subnets: c.network.subnets.clone(),
        security_groups: c.network.security_groups.clone(),
        execution_role: c.execution_role.clone(),
        task_role: c.task_role.clone(),
    }
}

fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The human report, into `out`; what is there before the closing status line is written
/// first, so stdout and stderr keep their order on a terminal.
fn print_human(
    out: &mut String,
    ctx: &Ctx,
    o: &SetupOutcome,
    settings: &Settings,
    manifest: Option<&(String, Vec<String>)>,
) -> miette::Result<()> {
    fn row(out: &mut String, what: &str, name: &str, status: &str, extra: &str) {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("  {extra}")
        };
        outln!(out, "{what:<15} {name:<28} {status}{extra}");
    }
    row(
        out,
        "cluster",
        &o.cluster.name,
        o.cluster.status.as_str(),
        &o.cluster.notes.join(", "),
    );
    let repo_extra = std::iter::once(o.repository.id.clone().unwrap_or_default())
        .chain(o.repository.notes.iter().cloned())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    row(
        out,
        "repository",
        &o.repository.name,
        o.repository.status.as_str(),
        &repo_extra,
    );
    match &o.log_group {
        Some(g) => row(
            out,
            "log group",
            &g.name,
            g.status.as_str(),
            &g.notes.join(", "),
        ),
        None => row(
            out,
            "log group",
            "-",
            "skipped",
            "the log driver is not awslogs",
        ),
    }
    let from = if o.network.subnets_from == "config" {
        "subnets from network.subnets"
    } else {
        "the default VPC's subnets"
    };
    row(
        out,
        "network",
        &o.network.vpc,
        "found",
        &format!("{from}: {}", o.network.subnets.join(", ")),
    );
    let sg = &o.security_group;
    row(
        out,
        "security group",
        &format!("{} ({})", sg.name, sg.id),
        sg.status.as_str(),
        "",
    );
    for r in &sg.added {
        outln!(out, "{:<15} + added   {r}", "");
    }
    for r in &sg.removed {
        outln!(out, "{:<15} - removed {r}", "");
    }
    if sg.added.is_empty() && sg.removed.is_empty() {
        let rules: Vec<String> = sg.rules.iter().map(|r| r.to_string()).collect();
        outln!(out, "{:<15}   rules as wanted: {}", "", rules.join("; "));
    }
    match &o.key_pair {
        KeyPairOutcome::NotNeeded => row(
            out,
            "key pair",
            "-",
            "not needed",
            "Fargate tasks run on no instance you log in to",
        ),
        KeyPairOutcome::NotRequested => row(
            out,
            "key pair",
            "-",
            "not requested",
            "pass `--key-pair NAME` to create one for SSH into the container instances",
        ),
        KeyPairOutcome::Found { name, .. } => row(
            out,
            "key pair",
            name,
            "found",
            "its private key is not retrievable again; no file written",
        ),
        KeyPairOutcome::Created { name, path, .. } => row(
            out,
            "key pair",
            name,
            "created",
            &format!("private key saved to {path} (mode 0600)"),
        ),
    }
    match &settings.execution_role {
        Some(arn) => row(
            out,
            "execution role",
            arn,
            "not checked",
            "cargo-ecs has no IAM client; check with `aws iam get-role`",
        ),
        None => row(
            out,
            "execution role",
            "-",
            "not configured",
            "Fargate with awslogs needs one: set `execution-role` (trust policy below)",
        ),
    }
    outln!(out);
    if o.changed_nothing() {
        outln!(
            out,
            "Nothing was created or changed: everything already exists."
        );
    }
    crate::ui::write_stdout(&std::mem::take(out))?;
    if o.changed_nothing() {
        ctx.ui
            .status("Finished", "nothing to do (all resources found)");
    } else {
        ctx.ui.status("Finished", "AWS set-up done");
    }
    match manifest {
        Some((path, changes)) if changes.is_empty() => {
            outln!(
                out,
                "{path} already names these subnets and this security group."
            );
        }
        Some((path, changes)) => {
            outln!(out, "Wrote to {path}: {}", changes.join("; "));
        }
        None => {
            let configured =
                settings.security_groups.contains(&sg.id) && !settings.subnets.is_empty();
            if !configured {
                outln!(out);
                outln!(
                    out,
                    "# Add to {} (or rerun with --write):",
                    settings.manifest_path.display()
                );
                out.push_str(&network_lines(&o.network.subnets, &o.security_group.id));
            }
        }
    }
    Ok(())
}
