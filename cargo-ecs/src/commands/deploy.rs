//! `cargo ecs deploy`: configuration → (EC2: log-driver check) → build → push → render with
//! the digest → register only if changed → update or create the service → follow *that*
//! deployment to its end. Also the helpers `status` and `rollback` share: duration parsing,
//! the Ctrl-C-aware wait with progress, and the outcome rendering.

use std::process::ExitCode;
use std::time::Duration;

use ecs_core::aws::ecs as ecs_api;
use ecs_core::deploy::exec::{self, Backoff, WaitEvent, WaitOutcome};
use ecs_core::deploy::plan::{self, PlanOptions, RegisterReason, ServiceStep, TaskDefinitionStep};
use ecs_core::deploy::wait::{
    Decision, ServiceSnapshot, Target, Tracker, WaitLimits, short_task_definition,
};
use miette::WrapErr;
use serde_json::json;

use super::EXIT_DEPLOY_FAILED;
use crate::cli::{DeployArgs, Format, SettingArgs};
use crate::context::{Ctx, Loaded};

/// Exit code when Ctrl-C stops the wait (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Runs `cargo ecs deploy`.
pub async fn run(args: DeployArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let limits = WaitLimits {
        timeout: parse_duration("--timeout", &args.timeout)?,
        no_progress: parse_duration("--no-progress-timeout", &args.no_progress_timeout)?,
    };
    let loaded = ctx
        .load_with_bin(&args.settings, args.build.bin.as_deref())
        .await?;
    let config = &loaded.config;
    let sdk = ctx.sdk().await?;
    let region = ctx.region().await?;
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let reporter = ctx.ui.reporter();

    // Read-only checks before any change (a push is a change too).
    if exec::needs_instance_check(config) {
        let driver = config.logs.driver.as_str();
        let n = exec::check_logging_driver(&ecs, &config.cluster, driver)
            .await
            .map_err(miette::Report::new)?;
        ctx.ui.status(
            "Checked",
            format!(
                "{n} container instance(s) in `{}` advertise the `{driver}` log driver",
                config.cluster
            ),
        );
    }

    // What exists now (read-only); a missing service without --create-service stops here,
    // --dry-run included: it fails the way the deploy would.
    let facts = exec::gather(&ecs, config)
        .await
        .map_err(miette::Report::new)?;
    if facts.service.is_none() && !args.create_service {
        return Err(miette::Report::new(
            ecs_core::deploy::DeployError::ServiceMissing {
                cluster: config.cluster.clone(),
                service: config.service.clone(),
            },
        ));
    }

    // Build and push.
    let built = super::build::build_image(config, &args.build, ctx).await?;
    for note in &built.notes {
        ctx.ui.verbose(note);
    }
    let (reference, pushed) = if args.dry_run {
        let auth = ecs_core::aws::ecr::authorize(sdk)
            .await
            .wrap_err("failed to get the ECR registry address")?;
        (
            format!(
                "{}/{}@{}",
                auth.host,
                config.image.repository,
                built.digest()
            ),
            None,
        )
    } else {
        let outcome = super::build::push_image(&built, config, ctx).await?;
        ctx.ui.status(
            "Pushed",
            format!(
                "{} ({} blob(s) uploaded, {}; {} already present)",
                outcome.reference,
                outcome.blobs_uploaded,
                ecs_core::registry::http::human_bytes(outcome.bytes_uploaded),
                outcome.blobs_present
            ),
        );
        (outcome.reference.clone(), Some(outcome))
    };

    // Render with the digest, compare, decide.
    let rendered =
        ecs_core::taskdef::render(config, &reference, &region).map_err(miette::Report::new)?;
    let the_plan = plan::plan(
        &rendered,
        &facts,
        &PlanOptions {
            force_new_revision: args.force_new_revision,
            create_service: args.create_service,
            desired_count: i32::try_from(config.desired_count).unwrap_or(i32::MAX),
        },
    );

    if args.dry_run {
        print_plan(ctx, &reference, &the_plan, config)?;
        return Ok(ExitCode::SUCCESS);
    }
    if the_plan.service == ServiceStep::Missing {
        return Err(miette::Report::new(
            ecs_core::deploy::DeployError::ServiceMissing {
                cluster: config.cluster.clone(),
                service: config.service.clone(),
            },
        ));
    }
    if let TaskDefinitionStep::Reuse { revision, .. } = &the_plan.task_definition {
        ctx.ui.status(
            "Reusing",
            format!("revision {}:{revision} (unchanged)", the_plan.family),
        );
    }
    let applied = exec::apply(&ecs, &ec2, config, &rendered, &the_plan, &facts, &reporter)
        .await
        .map_err(miette::Report::new)?;
    for note in &applied.network_notes {
        ctx.ui.status("Network", note);
    }
    let service_action = match &the_plan.service {
        ServiceStep::Unchanged | ServiceStep::Follow { .. } => "unchanged",
        ServiceStep::Update { .. } => "updated",
        ServiceStep::Create => "created",
        ServiceStep::Missing => "missing",
    };
    let td_short = format!("{}:{}", the_plan.family, applied.revision);
    let mut summary = json!({
        "image": reference,
        "pushed": pushed.as_ref().map(|p| super::build::pushed_json(p, config)),
        "taskDefinition": {
            "arn": applied.task_definition_arn,
            "revision": applied.revision,
            "registered": applied.registered,
        },
        "service": {
            "cluster": config.cluster,
            "service": config.service,
            "action": service_action,
        },
        "deployment": null,
    });

    let Some(target) = applied.target.clone() else {
        ctx.ui.status(
            "Finished",
            format!(
                "nothing to do: service `{}` already runs {td_short} with desired count {}",
                config.service, config.desired_count
            ),
        );
        print_summary(
            ctx,
            &summary,
            &format!("{} unchanged ({td_short})", config.service),
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    if let ServiceStep::Follow {
        deployment_id,
        task_definition,
        rollout_state,
    } = &the_plan.service
    {
        let counts = facts
            .service
            .as_ref()
            .and_then(|s| s.deployment(deployment_id))
            .map(|d| format!("{}/{} running", d.running_count, d.desired_count))
            .unwrap_or_default();
        ctx.ui.status(
            "Following",
            format!(
                "existing deployment {deployment_id} of service `{}` ({}{}{counts}): nothing to change, but it has not finished",
                config.service,
                short_task_definition(task_definition),
                rollout_state
                    .as_deref()
                    .map(|r| format!(", {r}, "))
                    .unwrap_or_else(|| ", ".into()),
            ),
        );
        // --no-wait returns at once, but never calls a deployment that already failed a
        // success.
        if args.no_wait
            && let Some(svc) = &facts.service
            && let d @ Decision::Failed(_) = ecs_core::deploy::wait::decide(svc, &target)
        {
            ctx.ui.warn(format!(
                "deployment {}: {}",
                target.deployment_id,
                decision_text(&d)
            ));
            summary["deployment"] = json!({
                "id": target.deployment_id,
                "result": "failed",
                "reason": match &d { Decision::Failed(f) => Some(f.to_string()), _ => None },
            });
            print_summary(
                ctx,
                &summary,
                &format!("{} → {td_short}: {}", config.service, decision_text(&d)),
            )?;
            return Ok(ExitCode::from(EXIT_DEPLOY_FAILED));
        }
    } else {
        ctx.ui.status(
            match the_plan.service {
                ServiceStep::Create => "Created",
                _ => "Updated",
            },
            format!(
                "service `{}` → {td_short} (deployment {})",
                config.service, target.deployment_id
            ),
        );
    }
    if args.no_wait {
        summary["deployment"] = json!({ "id": target.deployment_id, "result": "not-waited" });
        print_summary(
            ctx,
            &summary,
            &format!(
                "{} → {td_short}, deployment {} {}",
                config.service,
                target.deployment_id,
                match the_plan.service {
                    ServiceStep::Follow { .. } => "still in progress",
                    _ => "started",
                }
            ),
        )?;
        return Ok(ExitCode::SUCCESS);
    }

    let tracker = Tracker::new(target.clone(), limits, applied.known_events.clone());
    let Some(outcome) =
        follow(ctx, &ecs, &config.cluster, &config.service, tracker, limits).await?
    else {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    };
    report_outcome(ctx, &outcome);
    summary["deployment"] = deployment_json(&outcome);
    let mut code = outcome.decision.exit_code();

    if !outcome.decision.is_success() && args.rollback_on_failure {
        match applied.previous_task_definition.as_deref() {
            Some(prev) if prev != applied.task_definition_arn => {
                ctx.ui.warn(format!(
                    "rolling back: pointing `{}` at {} again",
                    config.service,
                    short_task_definition(prev)
                ));
                let back = exec::point_service_at(&ecs, &config.cluster, &config.service, prev)
                    .await
                    .map_err(miette::Report::new)?;
                let tracker = Tracker::new(back.clone(), limits, Vec::new());
                if let Some(rb) =
                    follow(ctx, &ecs, &config.cluster, &config.service, tracker, limits).await?
                {
                    report_outcome(ctx, &rb);
                    summary["rollback"] = deployment_json(&rb);
                }
            }
            _ => ctx.ui.warn("no earlier task definition to roll back to"),
        }
        // The deploy itself still failed.
        code = EXIT_DEPLOY_FAILED;
    }
    let line = format!(
        "{} → {td_short}: {}",
        config.service,
        decision_text(&outcome.decision)
    );
    print_summary(ctx, &summary, &line)?;
    Ok(ExitCode::from(code))
}

fn print_plan(
    ctx: &Ctx,
    reference: &str,
    the_plan: &plan::Plan,
    config: &ecs_core::config::Config,
) -> miette::Result<()> {
    if ctx.ui.format == Format::Json {
        let v = json!({ "dryRun": true, "image": reference, "plan": the_plan });
        return crate::ui::write_stdout(&format!("{v}\n"));
    }
    let mut out = String::new();
    out.push_str(&format!("image: {reference}\n"));
    match &the_plan.task_definition {
        TaskDefinitionStep::Reuse { revision, .. } => out.push_str(&format!(
            "task definition: reuse {}:{revision} (unchanged)\n",
            the_plan.family
        )),
        TaskDefinitionStep::Register { reason } => out.push_str(&format!(
            "task definition: register a new revision of {} ({})\n",
            the_plan.family,
            match reason {
                RegisterReason::NewFamily => "the family has no ACTIVE revision",
                RegisterReason::Changed => "it differs from the latest ACTIVE revision",
                RegisterReason::Forced => "--force-new-revision",
            }
        )),
    }
    out.push_str(&format!(
        "service {} (cluster {}): {}\n",
        config.service,
        config.cluster,
        match &the_plan.service {
            ServiceStep::Unchanged => "unchanged".to_string(),
            ServiceStep::Follow {
                deployment_id,
                task_definition,
                rollout_state,
            } => format!(
                "unchanged, but deployment {deployment_id} ({}{}) has not finished: deploy would follow it",
                short_task_definition(task_definition),
                rollout_state
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default()
            ),
            ServiceStep::Create => format!(
                "create ({} launch type, desired count {})",
                config.launch_type, config.desired_count
            ),
            ServiceStep::Missing => "does not exist (pass --create-service)".to_string(),
            ServiceStep::Update {
                from_task_definition,
                task_definition_changes,
                desired_count,
            } => {
                let mut parts = Vec::new();
                if *task_definition_changes {
                    parts.push(format!(
                        "task definition {} → new",
                        short_task_definition(from_task_definition)
                    ));
                }
                if let Some((from, to)) = desired_count {
                    parts.push(format!("desired count {from} → {to}"));
                }
                format!("update ({})", parts.join(", "))
            }
        }
    ));
    if !the_plan.task_definition_diff.is_empty() {
        out.push('\n');
        out.push_str(&the_plan.task_definition_diff);
    }
    crate::ui::write_stdout(&out)
}

/// Prints `summary` with `--format json`, else the one `line`, to stdout.
pub(crate) fn print_summary(
    ctx: &Ctx,
    summary: &serde_json::Value,
    line: &str,
) -> miette::Result<()> {
    if ctx.ui.format == Format::Json {
        crate::ui::write_stdout(&format!("{summary}\n"))
    } else {
        crate::ui::write_stdout(&format!("{line}\n"))
    }
}

/// The deployment part of a JSON summary.
pub(crate) fn deployment_json(o: &WaitOutcome) -> serde_json::Value {
    json!({
        "id": o.target.deployment_id,
        "result": match &o.decision {
            Decision::Succeeded => "succeeded",
            Decision::Failed(_) => "failed",
            Decision::TimedOut => "timed-out",
            Decision::NoProgress => "no-progress",
            Decision::Continue => "unfinished",
        },
        "reason": match &o.decision {
            Decision::Failed(f) => Some(f.to_string()),
            _ => None,
        },
        "failure": match &o.decision {
            Decision::Failed(f) => serde_json::to_value(f).ok(),
            _ => None,
        },
        "elapsedSeconds": (o.elapsed_seconds * 10.0).round() / 10.0,
        "stoppedTasks": o.stopped_tasks,
    })
}

/// One line saying how a wait ended.
pub(crate) fn decision_text(d: &Decision) -> String {
    match d {
        Decision::Succeeded => "deployment completed".into(),
        Decision::Failed(f) => format!("deployment failed: {f}"),
        Decision::TimedOut => "gave up waiting (--timeout)".into(),
        Decision::NoProgress => {
            "gave up: nothing changed for the no-progress limit (a circuit breaker that never trips?)"
                .into()
        }
        Decision::Continue => "still in progress".into(),
    }
}

/// Says how the wait ended, with stopped tasks' reasons on failure (stderr).
pub(crate) fn report_outcome(ctx: &Ctx, o: &WaitOutcome) {
    if o.decision.is_success() {
        ctx.ui.status(
            "Deployed",
            format!(
                "deployment {} completed in {:.0}s",
                o.target.deployment_id, o.elapsed_seconds
            ),
        );
        return;
    }
    ctx.ui.warn(format!(
        "deployment {}: {}",
        o.target.deployment_id,
        decision_text(&o.decision)
    ));
    for t in &o.stopped_tasks {
        let id = t.task_arn.rsplit('/').next().unwrap_or(&t.task_arn);
        ctx.ui.warn(format!(
            "stopped task {id} ({}): {}{}",
            short_task_definition(&t.task_definition),
            t.stopped_reason,
            if t.containers.is_empty() {
                String::new()
            } else {
                format!(" [{}]", t.containers.join("; "))
            }
        ));
    }
    if matches!(o.decision, Decision::TimedOut | Decision::NoProgress) {
        ctx.ui
            .warn("the deployment may still be running: `cargo ecs status --wait` keeps watching");
    }
}

/// One line per deployment: `PRIMARY hello:3 1/2 running, 1 pending, IN_PROGRESS`.
pub(crate) fn rollout_line(s: &ServiceSnapshot) -> String {
    s.deployments
        .iter()
        .map(|d| {
            let mut line = format!(
                "{} {} {}/{} running, {} pending",
                d.status,
                short_task_definition(&d.task_definition),
                d.running_count,
                d.desired_count,
                d.pending_count
            );
            if d.failed_tasks > 0 {
                line.push_str(&format!(", {} failed", d.failed_tasks));
            }
            if let Some(r) = &d.rollout_state {
                line.push_str(&format!(", {r}"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Waits for the tracker's verdict, showing progress and events; Ctrl-C stops waiting (the
/// service is left alone) and returns `None`.
pub(crate) async fn follow(
    ctx: &Ctx,
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    tracker: Tracker,
    limits: WaitLimits,
) -> miette::Result<Option<WaitOutcome>> {
    let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(15));
    let mut on = |ev: WaitEvent<'_>| match ev {
        WaitEvent::Progress(s) => ctx.ui.status("Rollout", rollout_line(s)),
        WaitEvent::Event(e) => ctx.ui.status("Event", &e.message),
        WaitEvent::Retrying(e, d) => ctx
            .ui
            .verbose(format!("{e}; retrying in {:.1}s", d.as_secs_f64())),
    };
    let wait = exec::wait(
        ecs,
        cluster,
        service,
        tracker,
        limits,
        &mut backoff,
        &mut on,
    );
    tokio::select! {
        r = wait => Ok(Some(r.map_err(miette::Report::new)?)),
        _ = tokio::signal::ctrl_c() => {
            ctx.ui.warn(format!(
                "stopped waiting; the deployment goes on and service `{service}` is left as it is. \
                 Keep watching with `cargo ecs status --wait`"
            ));
            Ok(None)
        }
    }
}

/// Follows `target` the way `status --wait` and `rollback` do: one `timeout` both overall and
/// for no progress, the events `svc` already lists are not shown again, and the outcome is
/// reported on stderr. `None`: Ctrl-C stopped the wait.
pub(crate) async fn follow_target(
    ctx: &Ctx,
    ecs: &aws_sdk_ecs::Client,
    config: &ecs_core::config::Config,
    svc: &ServiceSnapshot,
    target: Target,
    timeout: Duration,
) -> miette::Result<Option<WaitOutcome>> {
    let limits = WaitLimits {
        timeout,
        no_progress: timeout,
    };
    let known = svc.events.iter().map(|e| e.id.clone());
    let tracker = Tracker::new(target, limits, known);
    let outcome = follow(ctx, ecs, &config.cluster, &config.service, tracker, limits).await?;
    if let Some(o) = &outcome {
        report_outcome(ctx, o);
    }
    Ok(outcome)
}

/// `90s`, `15m`, `2h`, `1h30m`, or plain seconds (the syntax rule is
/// [`crate::cli::duration_secs`], which clap already applied).
pub(crate) fn parse_duration(flag: &str, s: &str) -> miette::Result<Duration> {
    crate::cli::duration_secs(s)
        .map(Duration::from_secs)
        .map_err(|why| {
            miette::miette!(
                help = "write a duration like 90s, 15m, 2h or 1h30m",
                "invalid value {s:?} for `{flag}`: {why}"
            )
        })
}

/// The ECS client for the commands that need only ECS.
pub(crate) async fn ecs_client(ctx: &Ctx) -> miette::Result<aws_sdk_ecs::Client> {
    Ok(aws_sdk_ecs::Client::new(ctx.sdk().await?))
}

/// What `status` and `rollback` work on: the configuration, an ECS client and the service as
/// it is now.
pub(crate) struct LiveService {
    /// The package and its configuration.
    pub loaded: Loaded,
    /// The ECS client.
    pub ecs: aws_sdk_ecs::Client,
    /// The service (it exists and is not INACTIVE).
    pub svc: ServiceSnapshot,
}

/// Loads the configuration and describes its service; a missing service is an error.
pub(crate) async fn live_service(ctx: &Ctx, settings: &SettingArgs) -> miette::Result<LiveService> {
    let loaded = ctx.load(settings).await?;
    let ecs = ecs_client(ctx).await?;
    let svc = require_service(&ecs, &loaded.config.cluster, &loaded.config.service).await?;
    Ok(LiveService { loaded, ecs, svc })
}

/// DescribeServices, with "not found" as an error naming the service.
pub(crate) async fn require_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> miette::Result<ServiceSnapshot> {
    ecs_api::describe_service(ecs, cluster, service)
        .await
        .map_err(miette::Report::new)?
        .filter(|s| s.status != "INACTIVE")
        .ok_or_else(|| {
            miette::Report::new(ecs_core::aws::ecs::EcsError::ServiceNotFound {
                cluster: cluster.to_string(),
                service: service.to_string(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("t", "90s").ok(),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_duration("t", "1h30m").ok(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_duration("t", "45").ok(),
            Some(Duration::from_secs(45))
        );
        assert!(parse_duration("t", "10x").is_err());
        assert!(parse_duration("t", "m").is_err());
        assert!(parse_duration("t", "10m5").is_err());
    }
}
