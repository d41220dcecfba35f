//! `cargo ecs status`: the service, its deployments (running/pending/desired, rollout state)
//! and recent events, as text or JSON; `--wait` follows the newest PRIMARY deployment like
//! deploy does (exit 3 if it fails).

use std::process::ExitCode;

use ecs_core::deploy::wait::{Target, short_task_definition};
use serde_json::json;

use super::deploy::{
    EXIT_INTERRUPTED, LiveService, decision_text, deployment_json, follow_target, live_service,
    parse_duration, print_summary,
};
use crate::cli::{Format, StatusArgs};
use crate::context::Ctx;
use crate::ui::write_stdout;

/// Runs `cargo ecs status`.
pub async fn run(args: StatusArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let LiveService { loaded, ecs, svc } = live_service(ctx, &args.settings).await?;
    let config = &loaded.config;
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
    let Some(outcome) = follow_target(ctx, &ecs, config, &svc, target, timeout).await? else {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    print_summary(
        ctx,
        &deployment_json(&outcome),
        &format!(
            "{}: {}",
            outcome.target.deployment_id,
            decision_text(&outcome.decision)
        ),
    )?;
    Ok(ExitCode::from(outcome.decision.exit_code()))
}
