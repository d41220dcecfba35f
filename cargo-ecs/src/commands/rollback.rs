//! `cargo ecs rollback`: point the service at the previous ACTIVE revision of its family (or
//! `--revision N`) and follow that deployment like deploy does.

use std::process::ExitCode;

use ecs_core::aws::ecs as ecs_api;
use ecs_core::deploy::DeployError;
use ecs_core::deploy::exec;
use ecs_core::deploy::wait::{
    Target, same_task_definition, short_task_definition, unsettled_primary,
};
use serde_json::json;

use super::deploy::{
    EXIT_INTERRUPTED, LiveService, decision_text, deployment_json, follow_target, live_service,
    parse_duration, print_summary,
};
use crate::cli::RollbackArgs;
use crate::context::Ctx;

/// Runs `cargo ecs rollback`.
pub async fn run(args: RollbackArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let LiveService { loaded, ecs, svc } = live_service(ctx, &args.settings).await?;
    let config = &loaded.config;
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
    let target = if same_task_definition(&svc.task_definition, &arn) {
        // Already on that revision: a new deployment of it would change nothing. Settled →
        // nothing to do; a rollout of it still under way (or failed) is followed like deploy
        // does, so the exit code says how it ends.
        let Some(primary) = unsettled_primary(&svc, &arn) else {
            ctx.ui.status(
                "Finished",
                format!(
                    "nothing to do: service `{}` already runs {family}:{rev}",
                    config.service
                ),
            );
            print_summary(
                ctx,
                &json!({"from": svc.task_definition, "to": arn, "action": "unchanged", "deployment": null}),
                &format!("{} unchanged ({family}:{rev})", config.service),
            )?;
            return Ok(ExitCode::SUCCESS);
        };
        ctx.ui.status(
            "Following",
            format!(
                "service `{}` already runs {family}:{rev}, but its deployment {} ({}{}) has not finished",
                config.service,
                primary.id,
                short_task_definition(&primary.task_definition),
                primary
                    .rollout_state
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default()
            ),
        );
        Target {
            deployment_id: primary.id.clone(),
            task_definition: Some(arn.clone()),
        }
    } else {
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
        target
    };
    if args.no_wait {
        print_summary(
            ctx,
            &json!({"from": svc.task_definition, "to": arn, "deployment": {"id": target.deployment_id, "result": "not-waited"}}),
            &format!(
                "{} → {family}:{rev}, deployment {} started",
                config.service, target.deployment_id
            ),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(outcome) = follow_target(ctx, &ecs, config, &svc, target, timeout).await? else {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    print_summary(
        ctx,
        &json!({"from": svc.task_definition, "to": arn, "deployment": deployment_json(&outcome)}),
        &format!(
            "{} → {family}:{rev}: {}",
            config.service,
            decision_text(&outcome.decision)
        ),
    )?;
    Ok(ExitCode::from(outcome.decision.exit_code()))
}
