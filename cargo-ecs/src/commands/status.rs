//! `cargo ecs status`: the service, its deployments (running/pending/desired, rollout state)
//! and recent events, as text or JSON; `--wait` follows the newest PRIMARY deployment like
//! deploy does (exit 3 if it fails).

use std::process::ExitCode;

use ecs_core::deploy::wait::{Target, Tracker, WaitLimits, short_task_definition};
use serde_json::json;

use super::deploy::{
    decision_text, deployment_json, ecs_client, follow, parse_duration, report_outcome,
    require_service, write_stdout,
};
use crate::cli::{Format, StatusArgs};
use crate::context::Ctx;

/// Runs `cargo ecs status`.
pub async fn run(args: StatusArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let loaded = ctx.load(&args.settings).await?;
    let config = &loaded.config;
    let ecs = ecs_client(ctx).await?;
    let svc = require_service(&ecs, &config.cluster, &config.service).await?;
    let events: Vec<_> = svc.events.iter().take(args.events).collect();
    if ctx.ui.format == Format::Json && !args.wait {
        let v = json!({
            "cluster": config.cluster,
            "service": svc.service_name,
            "status": svc.status,
            "taskDefinition": svc.task_definition,
            "desiredCount": svc.desired_count,
            "runningCount": svc.running_count,
            "pendingCount": svc.pending_count,
            "deployments": svc.deployments,
            "events": events,
        });
        write_stdout(&format!("{v}\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.ui.format == Format::Human {
        let mut out = format!(
            "service {} (cluster {}): {}, {} — {}/{} running, {} pending\n",
            svc.service_name,
            config.cluster,
            svc.status,
            short_task_definition(&svc.task_definition),
            svc.running_count,
            svc.desired_count,
            svc.pending_count
        );
        out.push_str("deployments:\n");
        for d in &svc.deployments {
            out.push_str(&format!(
                "  {:<8} {} {} {}/{} running, {} pending, {} failed{}\n",
                d.status,
                d.id,
                short_task_definition(&d.task_definition),
                d.running_count,
                d.desired_count,
                d.pending_count,
                d.failed_tasks,
                d.rollout_state
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default()
            ));
        }
        if !events.is_empty() {
            out.push_str("recent events:\n");
            for e in events.iter().rev() {
                let when = e
                    .created_at
                    .and_then(|t| jiff::Timestamp::from_second(t as i64).ok())
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default();
                out.push_str(&format!("  {when} {}\n", e.message));
            }
        }
        write_stdout(&out)?;
    }
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let Some(primary) = svc.primary() else {
        return Err(miette::miette!(
            help = "the service may use an external deployment controller",
            "service `{}` has no PRIMARY deployment to follow",
            svc.service_name
        ));
    };
    let target = Target {
        deployment_id: primary.id.clone(),
        task_definition: Some(primary.task_definition.clone()),
    };
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
        write_stdout(&format!("{}\n", deployment_json(&outcome)))?;
    } else {
        write_stdout(&format!(
            "{}: {}\n",
            outcome.target.deployment_id,
            decision_text(&outcome.decision)
        ))?;
    }
    Ok(ExitCode::from(outcome.decision.exit_code()))
}
