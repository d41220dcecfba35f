//! Performing a deploy plan through the ECS adapter and following the deployment (shell).
//!
//! Order matters: every read-only check (facts, the EC2 logging-driver check) runs before the
//! first change; registering comes before the service update; the wait follows the deployment
//! id the update returned. Polling backs off with jitter, and throttling or a dropped
//! connection only slows the loop down (the SDK's own retries run first).

use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use serde::Serialize;
use serde_json::Value;

use super::DeployError;
use super::plan::{Facts, Plan, ServiceStep, TaskDefinitionStep};
use super::wait::{Decision, ServiceEvent, ServiceSnapshot, Target, Tracker, WaitLimits};
use crate::aws::ecs::{self as api, EcsError, NewService, ServiceUpdate, StoppedTask};
use crate::aws::taskdef_api;
use crate::config::{Config, LaunchType, NetworkMode};
use crate::progress::Reporter;

/// Reads what the plan needs: the family's latest ACTIVE revision and the service.
pub async fn gather(ecs: &Client, config: &Config) -> Result<Facts, DeployError> {
    let latest = taskdef_api::latest_active(ecs, &config.family).await?;
    let service = api::describe_service(ecs, &config.cluster, &config.service)
        .await?
        .filter(|s| s.status != "INACTIVE");
    Ok(Facts { latest, service })
}

/// The ECS attribute a container instance carries when its agent allows a log driver
/// (set through ECS_AVAILABLE_LOGGING_DRIVERS; AWS ECS developer guide, "Amazon ECS container
/// agent configuration" and "Container instance attributes").
pub fn logging_driver_attribute(driver: &str) -> String {
    format!("com.amazonaws.ecs.capability.logging-driver.{driver}")
}

/// EC2 launch type: every ACTIVE container instance of the cluster must advertise the log
/// driver, or tasks cannot be placed. Returns how many instances were checked.
pub async fn check_logging_driver(
    ecs: &Client,
    cluster: &str,
    driver: &str,
) -> Result<usize, DeployError> {
    let instances: Vec<_> = api::container_instances(ecs, cluster)
        .await?
        .into_iter()
        .filter(|i| i.status.is_empty() || i.status == "ACTIVE")
        .collect();
    if instances.is_empty() {
        return Err(DeployError::NoContainerInstances {
            cluster: cluster.to_string(),
            driver: driver.to_string(),
        });
    }
    let attribute = logging_driver_attribute(driver);
    let missing: Vec<String> = instances
        .iter()
        .filter(|i| !i.has_attribute(&attribute))
        .map(|i| {
            let short = i.arn.rsplit('/').next().unwrap_or(&i.arn);
            format!("{} (container instance {short})", i.ec2_instance_id)
        })
        .collect();
    if !missing.is_empty() {
        return Err(DeployError::LoggingDriverUnavailable {
            cluster: cluster.to_string(),
            driver: driver.to_string(),
            missing,
            total: instances.len(),
        });
    }
    Ok(instances.len())
}

/// What [`apply`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// The task definition the service now points at.
    pub task_definition_arn: String,
    /// Its revision.
    pub revision: i64,
    /// Whether it was registered by this run.
    pub registered: bool,
    /// The deployment to follow (none when the service was left alone).
    pub target: Option<Target>,
    /// Service events that existed before the change (not shown again while waiting).
    #[serde(skip)]
    pub known_events: Vec<String>,
    /// The task definition the service ran before (for `--rollback-on-failure`).
    pub previous_task_definition: Option<String>,
    /// Defaults chosen for a new service's network, to tell the user.
    pub network_notes: Vec<String>,
}

/// Registers (if planned) and updates or creates the service.
pub async fn apply(
    ecs: &Client,
    ec2: &aws_sdk_ec2::Client,
    config: &Config,
    rendered: &Value,
    plan: &Plan,
    facts: &Facts,
    reporter: &dyn Reporter,
) -> Result<Applied, DeployError> {
    let (arn, revision, registered) = match &plan.task_definition {
        TaskDefinitionStep::Reuse { arn, revision } => (arn.clone(), *revision, false),
        TaskDefinitionStep::Register { .. } => {
            reporter.step_started(
                "register",
                &format!("task definition {}", plan.family),
                None,
            );
            let r = taskdef_api::register(ecs, rendered).await?;
            reporter.step_done("register", &format!("{}:{}", r.family, r.revision));
            (r.arn, r.revision, true)
        }
    };
    let known_events: Vec<String> = facts
        .service
        .iter()
        .flat_map(|s| s.events.iter().map(|e| e.id.clone()))
        .collect();
    let previous_task_definition = facts.service.as_ref().map(|s| s.task_definition.clone());
    let mut network_notes = Vec::new();
    let target = match &plan.service {
        ServiceStep::Unchanged => None,
        // Nothing to change, but the rollout already under way is followed to its end.
        ServiceStep::Follow { deployment_id, .. } => Some(Target {
            deployment_id: deployment_id.clone(),
            task_definition: Some(arn.clone()),
        }),
        ServiceStep::Missing => {
            return Err(DeployError::ServiceMissing {
                cluster: config.cluster.clone(),
                service: config.service.clone(),
            });
        }
        ServiceStep::Update {
            task_definition_changes,
            desired_count,
            ..
        } => {
            let svc = api::update_service(
                ecs,
                &ServiceUpdate {
                    cluster: config.cluster.clone(),
                    service: config.service.clone(),
                    task_definition: task_definition_changes.then(|| arn.clone()),
                    desired_count: desired_count.map(|(_, to)| to),
                },
            )
            .await?;
            Some(target_of(&svc, &arn, "UpdateService", &config.service)?)
        }
        ServiceStep::Create => {
            let network = if config.network_mode == NetworkMode::Awsvpc {
                let resolved = api::resolve_network(ec2, &config.service, &config.network).await?;
                network_notes = resolved.notes;
                Some(resolved.vpc)
            } else {
                None
            };
            let svc = api::create_service(
                ecs,
                &NewService {
                    cluster: config.cluster.clone(),
                    service: config.service.clone(),
                    task_definition: arn.clone(),
                    desired_count: i32::try_from(config.desired_count).unwrap_or(i32::MAX),
                    launch_type: config.launch_type,
                    network,
                },
            )
            .await?;
            Some(target_of(&svc, &arn, "CreateService", &config.service)?)
        }
    };
    Ok(Applied {
        task_definition_arn: arn,
        revision,
        registered,
        target,
        known_events,
        previous_task_definition,
        network_notes,
    })
}

/// The deployment UpdateService/CreateService started: the PRIMARY one in its response.
pub fn target_of(
    svc: &ServiceSnapshot,
    task_definition: &str,
    action: &'static str,
    service: &str,
) -> Result<Target, DeployError> {
    let primary = svc.primary().ok_or_else(|| DeployError::NoDeployment {
        action,
        service: service.to_string(),
    })?;
    Ok(Target {
        deployment_id: primary.id.clone(),
        task_definition: Some(task_definition.to_string()),
    })
}

/// Points the service at `task_definition` (a rollback) and returns the deployment to follow.
pub async fn point_service_at(
    ecs: &Client,
    cluster: &str,
    service: &str,
    task_definition: &str,
) -> Result<Target, DeployError> {
    let svc = api::update_service(
        ecs,
        &ServiceUpdate {
            cluster: cluster.to_string(),
            service: service.to_string(),
            task_definition: Some(task_definition.to_string()),
            desired_count: None,
        },
    )
    .await?;
    target_of(&svc, task_definition, "UpdateService", service)
}

/// Poll intervals: exponential from `base` to `max`, reset when something changed, with ±20 %
/// jitter so many waiters do not poll in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// From `base` up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            current: base,
        }
    }
    /// The next delay: back to `base` after a change, else ×1.5; ×2 after an error.
    pub fn next(&mut self, changed: bool, error: bool) -> Duration {
        self.current = if error {
            (self.current * 2).min(self.max)
        } else if changed {
            self.base
        } else {
            self.current.mul_f64(1.5).min(self.max)
        };
        self.current.mul_f64(0.8 + 0.4 * fastrand::f64())
    }
}

/// Something the wait loop wants shown.
#[derive(Debug)]
pub enum WaitEvent<'a> {
    /// A snapshot whose counts or states changed.
    Progress(&'a ServiceSnapshot),
    /// A new service event.
    Event(&'a ServiceEvent),
    /// A retryable error; the loop waits this long.
    Retrying(&'a EcsError, Duration),
}

/// How the wait ended.
#[derive(Debug, Clone, Serialize)]
pub struct WaitOutcome {
    /// The verdict.
    pub decision: Decision,
    /// The deployment followed.
    pub target: Target,
    /// How long it took.
    pub elapsed_seconds: f64,
    /// On failure: the service's recently stopped tasks and why they stopped.
    pub stopped_tasks: Vec<StoppedTask>,
    /// The last snapshot.
    #[serde(skip)]
    pub last: Option<ServiceSnapshot>,
}

/// Polls DescribeServices until the tracker decides. Errors that are retryable (throttling,
/// 5xx, dropped connections) never end the wait; others do.
pub async fn wait(
    ecs: &Client,
    cluster: &str,
    service: &str,
    mut tracker: Tracker,
    limits: WaitLimits,
    backoff: &mut Backoff,
    on: &mut (dyn FnMut(WaitEvent<'_>) + Send),
) -> Result<WaitOutcome, DeployError> {
    let start = Instant::now();
    let mut last = None;
    loop {
        let elapsed = start.elapsed();
        let delay = match api::describe_service(ecs, cluster, service).await {
            Ok(svc) => {
                let obs = tracker.observe(svc.as_ref(), start.elapsed());
                for ev in &obs.new_events {
                    on(WaitEvent::Event(ev));
                }
                if let (true, Some(s)) = (obs.changed, &svc) {
                    on(WaitEvent::Progress(s));
                }
                last = svc;
                if obs.decision.is_final() {
                    let stopped_tasks = if obs.decision.is_success() {
                        Vec::new()
                    } else {
                        api::stopped_tasks(ecs, cluster, service, 5)
                            .await
                            .unwrap_or_default()
                    };
                    return Ok(WaitOutcome {
                        decision: obs.decision,
                        target: tracker.target().clone(),
                        elapsed_seconds: start.elapsed().as_secs_f64(),
                        stopped_tasks,
                        last,
                    });
                }
                backoff.next(obs.changed, false)
            }
            Err(e) if e.is_retryable() => {
                if elapsed >= limits.timeout {
                    return Ok(WaitOutcome {
                        decision: Decision::TimedOut,
                        target: tracker.target().clone(),
                        elapsed_seconds: elapsed.as_secs_f64(),
                        stopped_tasks: Vec::new(),
                        last,
                    });
                }
                let d = backoff.next(false, true);
                on(WaitEvent::Retrying(&e, d));
                d
            }
            Err(e) => return Err(e.into()),
        };
        tokio::time::sleep(delay).await;
    }
}

/// Whether the launch type needs the container-instance check.
pub fn needs_instance_check(config: &Config) -> bool {
    config.launch_type == LaunchType::Ec2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_resets_and_stays_within_jitter() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(15));
        let d1 = b.next(false, false);
        assert!(
            d1 >= Duration::from_millis(2400) && d1 <= Duration::from_millis(3600),
            "{d1:?}"
        );
        for _ in 0..10 {
            b.next(false, false);
        }
        let capped = b.next(false, true);
        assert!(capped <= Duration::from_secs(18), "{capped:?}");
        let reset = b.next(true, false);
        assert!(reset <= Duration::from_millis(2400), "{reset:?}");
    }

    #[test]
    fn attribute_name_matches_the_agent() {
        assert_eq!(
            logging_driver_attribute("json-file"),
            "com.amazonaws.ecs.capability.logging-driver.json-file"
        );
    }
}
