//! `cargo ecs rollback`: point the service at the previous ACTIVE revision of its family (or
//! `--revision N`) and follow that deployment like deploy does.

use std::process::ExitCode;

use ecs_core::aws::ecs as ecs_api;
use ecs_core::deploy::DeployError;
use ecs_core::deploy::exec;
use ecs_core::deploy::wait::{Tracker, WaitLimits, short_task_definition};
use serde_json::json;

use super::deploy::{
    decision_text, deployment_json, ecs_client, follow, parse_duration, report_outcome,
    require_service, write_stdout,
};
use crate::cli::{Format, RollbackArgs};
use crate::context::Ctx;

/// Runs `cargo ecs rollback`.
pub async fn run(args: RollbackArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let loaded = ctx.load(&args.settings).await?;
    let config = &loaded.config;
    let ecs = ecs_client(ctx).await?;
    let svc = require_service(&ecs, &config.cluster, &config.service).await?;
    // family:revision of what the service runs now.
    let current = short_task_definition(&svc.task_definition).to_string();
    let (family, current_rev) = current
        .rsplit_once(':')
        .and_then(|(f, r)| r.parse::<i64>().ok().map(|r| (f.to_string(), r)))
        .ok_or_else(|| {
            miette::miette!(
                "cannot read the revision of the service's task definition {:?}",
                svc.task_definition
            )
        })?;
    let revisions = ecs_api::active_revisions(&ecs, &family)
        .await
        .map_err(miette::Report::new)?;
    let chosen = match args.revision {
        Some(n) => revisions
            .iter()
            .find(|(r, _)| i64::from(n) == *r)
            .ok_or_else(|| {
                miette::miette!(
                    help = format!(
                        "ACTIVE revisions of {family}: {}",
                        revisions
                            .iter()
                            .map(|(r, _)| r.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "revision {family}:{n} is not an ACTIVE revision"
                )
            })?,
        None => revisions
            .iter()
            .find(|(r, _)| *r < current_rev)
            .ok_or_else(|| {
                miette::Report::new(DeployError::NoPreviousRevision {
                    family: family.clone(),
                    current: current_rev,
                })
            })?,
    };
    let (rev, arn) = chosen.clone();
    let target = exec::point_service_at(&ecs, &config.cluster, &config.service, &arn)
        .await
        .map_err(miette::Report::new)?;
    ctx.ui.status(
        "Rolling back",
        format!(
            "service `{}`: {current} → {family}:{rev} (deployment {})",
            config.service, target.deployment_id
        ),
    );
    if args.no_wait {
        let line = format!(
            "{} → {family}:{rev}, deployment {} started\n",
            config.service, target.deployment_id
        );
        if ctx.ui.format == Format::Json {
            write_stdout(&format!(
                "{}\n",
                json!({"from": svc.task_definition, "to": arn, "deployment": {"id": target.deployment_id, "result": "not-waited"}})
            ))?;
        } else {
            write_stdout(&line)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let limits = WaitLimits {
        timeout,
        no_progress: timeout,
    };
    let known = svc.events.iter().map(|e| e.id.clone());
    let tracker = Tracker::new(target, limits, known);
    let Some(outcome) =
        follow(ctx, &ecs, &config.cluster, &config.service, tracker, limits).await?
    else {
        return Ok(ExitCode::from(130));
    };
    report_outcome(ctx, &outcome);
    if ctx.ui.format == Format::Json {
        write_stdout(&format!(
            "{}\n",
            json!({"from": svc.task_definition, "to": arn, "deployment": deployment_json(&outcome)})
        ))?;
    } else {
        write_stdout(&format!(
            "{} → {family}:{rev}: {}\n",
            config.service,
            decision_text(&outcome.decision)
        ))?;
    }
    Ok(ExitCode::from(outcome.decision.exit_code()))
}
