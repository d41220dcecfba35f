//! The pure state machine that decides whether *one* ECS deployment succeeded.
//!
//! It is fed DescribeServices snapshots (our own small types, converted from the SDK in
//! [`crate::aws::ecs`] or deserialized from recorded JSON in the tests) plus the time elapsed
//! since the wait began, and answers [`Decision`]. It never sleeps, reads a clock or calls AWS,
//! so every path — including the ones moto cannot produce (FAILED rollouts, circuit-breaker
//! rollbacks, a breaker that never trips) — is unit-tested.
//!
//! Why not the stock `ServicesStable` waiter: after a circuit breaker rolls a failed deploy
//! back, the service is *stable on the old revision* and that waiter reports success. We follow
//! the deployment id that UpdateService/CreateService created instead (AWS ECS API reference,
//! `Deployment`: status PRIMARY/ACTIVE/INACTIVE, rolloutState IN_PROGRESS/COMPLETED/FAILED).

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Exit code of a deployment that failed or timed out.
pub const EXIT_DEPLOY_FAILED: u8 = 3;

/// One service as DescribeServices shows it (the fields the wait needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    /// Service name.
    #[serde(default)]
    pub service_name: String,
    /// Service ARN.
    #[serde(default)]
    pub service_arn: String,
    /// Cluster ARN.
    #[serde(default)]
    pub cluster_arn: String,
    /// ACTIVE, DRAINING or INACTIVE.
    #[serde(default)]
    pub status: String,
    /// The service's task definition ARN.
    #[serde(default)]
    pub task_definition: String,
    /// Desired task count.
    #[serde(default)]
    pub desired_count: i32,
    /// Running tasks.
    #[serde(default)]
    pub running_count: i32,
    /// Pending tasks.
    #[serde(default)]
    pub pending_count: i32,
    /// Launch type, when the service has one.
    #[serde(default)]
    pub launch_type: Option<String>,
    /// Deployments, as AWS lists them.
    #[serde(default)]
    pub deployments: Vec<DeploymentSnapshot>,
    /// Service events, newest first (as AWS returns them; at most 100).
    #[serde(default)]
    pub events: Vec<ServiceEvent>,
}

/// One deployment of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSnapshot {
    /// `ecs-svc/…`.
    pub id: String,
    /// PRIMARY, ACTIVE or INACTIVE.
    #[serde(default)]
    pub status: String,
    /// Task definition ARN of this deployment.
    #[serde(default)]
    pub task_definition: String,
    /// Desired tasks.
    #[serde(default)]
    pub desired_count: i32,
    /// Running tasks.
    #[serde(default)]
    pub running_count: i32,
    /// Pending tasks.
    #[serde(default)]
    pub pending_count: i32,
    /// Tasks that failed to start (what the circuit breaker counts).
    #[serde(default)]
    pub failed_tasks: i32,
    /// IN_PROGRESS, COMPLETED or FAILED; absent for Classic Load Balancer and some old EC2
    /// services.
    #[serde(default)]
    pub rollout_state: Option<String>,
    /// Why the rollout is in its state.
    #[serde(default)]
    pub rollout_state_reason: Option<String>,
    /// Creation time, seconds since the epoch.
    #[serde(default)]
    pub created_at: Option<f64>,
}

/// A service event (`(service hello) has reached a steady state.`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    /// Event id.
    pub id: String,
    /// Seconds since the epoch.
    #[serde(default)]
    pub created_at: Option<f64>,
    /// The message.
    #[serde(default)]
    pub message: String,
}

impl ServiceSnapshot {
    /// The PRIMARY deployment, if any.
    pub fn primary(&self) -> Option<&DeploymentSnapshot> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }
    /// The deployment with this id.
    pub fn deployment(&self, id: &str) -> Option<&DeploymentSnapshot> {
        self.deployments.iter().find(|d| d.id == id)
    }
}

/// How long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitLimits {
    /// Overall limit (`--timeout`).
    pub timeout: Duration,
    /// Give up when nothing (counts, states, events) changed for this long.
    pub no_progress: Duration,
}

/// Why a deployment failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    /// rolloutState FAILED (the circuit breaker tripped).
    RolloutFailed {
        /// rolloutStateReason.
        reason: Option<String>,
        /// Failed task count of our deployment.
        failed_tasks: i32,
    },
    /// Another deployment with another task definition became PRIMARY: a rollback.
    RolledBack {
        /// rolloutStateReason of our deployment, when still listed.
        reason: Option<String>,
        /// The PRIMARY deployment now.
        by_deployment: String,
        /// The task definition the service runs now.
        to_task_definition: String,
    },
    /// Another deployment of the same task definition replaced ours (someone else deployed).
    Superseded {
        /// The PRIMARY deployment now.
        by_deployment: String,
    },
    /// Our deployment is no longer listed.
    Vanished,
    /// The deployment followed runs another task definition than the one asked for (real ECS
    /// gives a new task definition a new deployment; moto only renames the old one).
    WrongTaskDefinition {
        /// The deployment followed.
        deployment: String,
        /// The task definition it runs.
        runs: String,
        /// The task definition the deploy asked for.
        wanted: String,
    },
    /// The service is gone, draining or inactive.
    ServiceGone {
        /// The service status (or MISSING).
        status: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::RolloutFailed {
                reason,
                failed_tasks,
            } => {
                write!(f, "the rollout failed ({failed_tasks} failed tasks)")?;
                if let Some(r) = reason {
                    write!(f, ": {r}")?;
                }
                Ok(())
            }
            Failure::RolledBack {
                reason,
                by_deployment,
                to_task_definition,
            } => {
                write!(
                    f,
                    "the deployment was rolled back: {by_deployment} is now primary with {}",
                    short_task_definition(to_task_definition)
                )?;
                if let Some(r) = reason {
                    write!(f, " ({r})")?;
                }
                Ok(())
            }
            Failure::Superseded { by_deployment } => {
                write!(f, "the deployment was replaced by {by_deployment}")
            }
            Failure::Vanished => f.write_str("the deployment disappeared from the service"),
            Failure::WrongTaskDefinition {
                deployment,
                runs,
                wanted,
            } => write!(
                f,
                "deployment {deployment} runs {}, not {} which was asked for",
                short_task_definition(runs),
                short_task_definition(wanted)
            ),
            Failure::ServiceGone { status } => write!(f, "the service is {status}"),
        }
    }
}

/// The verdict after one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Decision {
    /// Keep polling.
    Continue,
    /// Our deployment completed.
    Succeeded,
    /// Our deployment failed (exit 3).
    Failed(Failure),
    /// `--timeout` elapsed (exit 3).
    TimedOut,
    /// Nothing changed for the no-progress limit (exit 3).
    NoProgress,
}

impl Decision {
    /// Whether waiting is over.
    pub fn is_final(&self) -> bool {
        !matches!(self, Decision::Continue)
    }
    /// Whether it is a success.
    pub fn is_success(&self) -> bool {
        matches!(self, Decision::Succeeded)
    }
    /// The process exit code a final decision maps to (DESIGN.md: 0 success, 3 the deployment
    /// failed or timed out). `Continue` is not final and maps to 3 too: waiting was cut short.
    pub fn exit_code(&self) -> u8 {
        if self.is_success() {
            0
        } else {
            EXIT_DEPLOY_FAILED
        }
    }
}

/// What one observation produced: the verdict and what is new since the last one.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The verdict.
    pub decision: Decision,
    /// Events not seen before, oldest first.
    pub new_events: Vec<ServiceEvent>,
    /// Whether counts/states/events changed since the previous snapshot.
    pub changed: bool,
}

/// Follows one deployment (by id) through snapshots.
#[derive(Debug, Clone)]
pub struct Tracker {
    target: Target,
    limits: WaitLimits,
    last_change: Duration,
    last_fingerprint: Option<String>,
    seen_events: HashSet<String>,
    since: Option<f64>,
}

impl Tracker {
    /// Follows `target`. `known_events` are event ids from before the deployment (not shown
    /// again); events older than the deployment's `createdAt` are not shown either.
    pub fn new(
        target: Target,
        limits: WaitLimits,
        known_events: impl IntoIterator<Item = String>,
    ) -> Self {
        Tracker {
            target,
            limits,
            last_change: Duration::ZERO,
            last_fingerprint: None,
            seen_events: known_events.into_iter().collect(),
            since: None,
        }
    }

    /// The deployment being followed.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Feeds one snapshot (`None`: DescribeServices reported the service MISSING) taken
    /// `elapsed` after the wait began.
    pub fn observe(
        &mut self,
        snapshot: Option<&ServiceSnapshot>,
        elapsed: Duration,
    ) -> Observation {
        let Some(svc) = snapshot else {
            return Observation {
                decision: Decision::Failed(Failure::ServiceGone {
                    status: "MISSING".into(),
                }),
                new_events: Vec::new(),
                changed: true,
            };
        };
        if self.since.is_none() {
            self.since = svc
                .deployment(&self.target.deployment_id)
                .and_then(|d| d.created_at);
        }
        let new_events = self.take_new_events(svc);
        let fingerprint = fingerprint(svc);
        let changed = self.last_fingerprint.as_deref() != Some(fingerprint.as_str());
        if changed {
            self.last_fingerprint = Some(fingerprint);
            self.last_change = elapsed;
        }
        let mut decision = decide(svc, &self.target);
        if decision == Decision::Continue {
            if elapsed >= self.limits.timeout {
                decision = Decision::TimedOut;
            } else if elapsed.saturating_sub(self.last_change) >= self.limits.no_progress {
                decision = Decision::NoProgress;
            }
        }
        Observation {
            decision,
            new_events,
            changed,
        }
    }

    fn take_new_events(&mut self, svc: &ServiceSnapshot) -> Vec<ServiceEvent> {
        let mut out = Vec::new();
        // AWS lists events newest first; report oldest first.
        for ev in svc.events.iter().rev() {
            if self.seen_events.contains(&ev.id) {
                continue;
            }
            self.seen_events.insert(ev.id.clone());
            let old = matches!((self.since, ev.created_at), (Some(s), Some(t)) if t < s);
            if !old {
                out.push(ev.clone());
            }
        }
        out
    }
}

/// The deployment being followed: its id and, when known, the task definition it rolls out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// `ecs-svc/…` from UpdateService/CreateService.
    pub deployment_id: String,
    /// The task definition ARN we asked for.
    pub task_definition: Option<String>,
}

/// The decision for one snapshot, ignoring time.
pub fn decide(svc: &ServiceSnapshot, target: &Target) -> Decision {
    if svc.status != "ACTIVE" {
        return Decision::Failed(Failure::ServiceGone {
            status: if svc.status.is_empty() {
                "UNKNOWN".into()
            } else {
                svc.status.clone()
            },
        });
    }
    let primary = svc.primary();
    let Some(ours) = svc.deployment(&target.deployment_id) else {
        // Gone from the list. If the service is back on another task definition, that was a
        // rollback; either way the deployment we started did not complete.
        return Decision::Failed(match (primary, target.task_definition.as_deref()) {
            (Some(p), Some(td)) if p.task_definition != td => Failure::RolledBack {
                reason: None,
                by_deployment: p.id.clone(),
                to_task_definition: p.task_definition.clone(),
            },
            _ => Failure::Vanished,
        });
    };
    // A rollback first: it says more than "FAILED" (which the breaker also sets on ours).
    if ours.status != "PRIMARY" {
        return Decision::Failed(match primary {
            Some(p) if p.task_definition != ours.task_definition => Failure::RolledBack {
                reason: ours.rollout_state_reason.clone(),
                by_deployment: p.id.clone(),
                to_task_definition: p.task_definition.clone(),
            },
            Some(p) => Failure::Superseded {
                by_deployment: p.id.clone(),
            },
            None => Failure::Vanished,
        });
    }
    // Success means *the asked-for* task definition runs: a deployment of another one never
    // becomes it.
    if let Some(wanted) = target.task_definition.as_deref()
        && !same_task_definition(&ours.task_definition, wanted)
    {
        return Decision::Failed(Failure::WrongTaskDefinition {
            deployment: ours.id.clone(),
            runs: ours.task_definition.clone(),
            wanted: wanted.to_string(),
        });
    }
    if ours.rollout_state.as_deref() == Some("FAILED") {
        return Decision::Failed(Failure::RolloutFailed {
            reason: ours.rollout_state_reason.clone(),
            failed_tasks: ours.failed_tasks,
        });
    }
    match ours.rollout_state.as_deref() {
        // COMPLETED, and its tasks still all run (a task that stopped since is being replaced).
        Some("COMPLETED") if ours.running_count == ours.desired_count => Decision::Succeeded,
        Some(_) => Decision::Continue,
        // No rolloutState (Classic Load Balancer, older EC2 services): done when ours is the
        // only deployment left and all its tasks run.
        None if svc.deployments.len() == 1 && ours.running_count == ours.desired_count => {
            Decision::Succeeded
        }
        None => Decision::Continue,
    }
}

/// The service's PRIMARY deployment when it has not settled on `task_definition`: still in
/// progress, failed, short of running tasks, or running another task definition — exactly
/// when following it with [`decide`] would not say [`Decision::Succeeded`] straight away.
/// `None` when it has settled, or when there is no PRIMARY deployment to follow.
pub fn unsettled_primary<'a>(
    svc: &'a ServiceSnapshot,
    task_definition: &str,
) -> Option<&'a DeploymentSnapshot> {
    let primary = svc.primary()?;
    let target = Target {
        deployment_id: primary.id.clone(),
        task_definition: Some(task_definition.to_string()),
    };
    (decide(svc, &target) != Decision::Succeeded).then_some(primary)
}

/// Whether two task definition references name the same revision (full ARNs or
/// `family:revision`).
pub fn same_task_definition(a: &str, b: &str) -> bool {
    short_task_definition(a) == short_task_definition(b)
}

/// Everything whose change counts as progress.
fn fingerprint(svc: &ServiceSnapshot) -> String {
    let mut parts = BTreeSet::new();
    for d in &svc.deployments {
        parts.insert(format!(
            "{}|{}|{}|{:?}|{}|{}|{}|{}",
            d.id,
            d.status,
            d.task_definition,
            d.rollout_state,
            d.desired_count,
            d.running_count,
            d.pending_count,
            d.failed_tasks
        ));
    }
    let newest_event = svc.events.first().map(|e| e.id.as_str()).unwrap_or("");
    format!(
        "{}|{}|{}|{}|{newest_event}|{}",
        svc.status,
        svc.desired_count,
        svc.running_count,
        svc.pending_count,
        parts.into_iter().collect::<Vec<_>>().join(";")
    )
}

/// `arn:aws:ecs:…:task-definition/hello:3` → `hello:3`.
pub fn short_task_definition(arn: &str) -> &str {
    arn.rsplit_once('/').map(|(_, s)| s).unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    //! Each test replays a recorded DescribeServices sequence (fixtures/*.json, shaped like the
    //! real API responses) through the tracker and checks the verdict and its exit code.

    use super::*;

    struct Replay {
        tracker: Tracker,
        polls: Vec<(Duration, Option<ServiceSnapshot>)>,
    }

    fn load(json: &str) -> Replay {
        let v: serde_json::Value = serde_json::from_str(json).expect("fixture is JSON");
        let target = Target {
            deployment_id: v["target"]["deploymentId"]
                .as_str()
                .expect("id")
                .to_string(),
            task_definition: v["target"]["taskDefinition"].as_str().map(String::from),
        };
        let limits = WaitLimits {
            timeout: Duration::from_secs(v["limits"]["timeoutSeconds"].as_u64().expect("t")),
            no_progress: Duration::from_secs(
                v["limits"]["noProgressSeconds"].as_u64().expect("np"),
            ),
        };
        let known = v["knownEvents"]
            .as_array()
            .expect("known")
            .iter()
            .filter_map(|e| e.as_str().map(String::from));
        let polls = v["polls"]
            .as_array()
            .expect("polls")
            .iter()
            .map(|p| {
                let at = Duration::from_secs(p["elapsedSeconds"].as_u64().expect("at"));
                let svc = p["response"]["services"]
                    .get(0)
                    .map(|s| serde_json::from_value(s.clone()).expect("service snapshot"));
                (at, svc)
            })
            .collect();
        Replay {
            tracker: Tracker::new(target, limits, known),
            polls,
        }
    }

    /// Replays every poll; returns every decision and all events shown.
    fn run(replay: &mut Replay) -> (Vec<Decision>, Vec<String>) {
        let mut decisions = Vec::new();
        let mut events = Vec::new();
        for (at, svc) in &replay.polls {
            let obs = replay.tracker.observe(svc.as_ref(), *at);
            events.extend(obs.new_events.into_iter().map(|e| e.message));
            let last = obs.decision.is_final();
            decisions.push(obs.decision);
            if last {
                break;
            }
        }
        (decisions, events)
    }

    #[test]
    fn completed_rollout_succeeds_only_at_the_end() {
        let mut r = load(include_str!("fixtures/completed.json"));
        let (decisions, events) = run(&mut r);
        assert_eq!(
            decisions,
            vec![
                Decision::Continue,
                Decision::Continue,
                Decision::Continue,
                Decision::Succeeded
            ]
        );
        assert_eq!(decisions.last().map(Decision::exit_code), Some(0));
        // Only events since the deployment, oldest first, each once.
        assert_eq!(events.len(), 4, "{events:?}");
        assert!(events[0].contains("has started 2 tasks"));
        assert!(events[3].contains("reached a steady state"));
    }

    #[test]
    fn circuit_breaker_failure_is_exit_3_with_reason() {
        let mut r = load(include_str!("fixtures/circuit_breaker_failed.json"));
        let (decisions, events) = run(&mut r);
        let last = decisions.last().cloned().expect("a decision");
        assert_eq!(
            last,
            Decision::Failed(Failure::RolloutFailed {
                reason: Some("ECS deployment circuit breaker: tasks failed to start.".into()),
                failed_tasks: 3,
            })
        );
        assert_eq!(last.exit_code(), 3);
        assert_eq!(decisions.len(), 5);
        assert!(
            events
                .iter()
                .any(|e| e.contains("failed container health checks"))
        );
    }

    #[test]
    fn rollback_to_the_old_revision_is_a_failure() {
        let mut r = load(include_str!("fixtures/rolled_back.json"));
        let (decisions, _) = run(&mut r);
        assert_eq!(
            decisions.len(),
            2,
            "stops at the first sign of the rollback"
        );
        match &decisions[1] {
            Decision::Failed(Failure::RolledBack {
                by_deployment,
                to_task_definition,
                reason,
            }) => {
                assert_eq!(by_deployment, "ecs-svc/8822317469036611570");
                assert!(to_task_definition.ends_with("task-definition/hello:1"));
                assert!(reason.as_deref().unwrap_or("").contains("rolling back"));
            }
            other => panic!("expected a rollback, got {other:?}"),
        }
        assert_eq!(decisions[1].exit_code(), 3);
    }

    #[test]
    fn stable_on_the_old_revision_is_never_success() {
        let mut r = load(include_str!("fixtures/rolled_back_stable.json"));
        let (decisions, _) = run(&mut r);
        let last = decisions.last().cloned().expect("a decision");
        // What the stock ServicesStable waiter checks holds: one deployment, running == desired.
        let (_, end) = r.polls.last().expect("polls");
        let end = end.as_ref().expect("service");
        assert_eq!(end.deployments.len(), 1);
        assert_eq!(end.running_count, end.desired_count);
        // Yet the deployment we started is gone and the service runs the old revision.
        assert!(
            matches!(&last, Decision::Failed(Failure::RolledBack { to_task_definition, .. })
                if to_task_definition.ends_with("hello:1")),
            "{last:?}"
        );
        assert_eq!(last.exit_code(), 3);
    }

    #[test]
    fn vanished_deployment_is_a_failure() {
        let mut r = load(include_str!("fixtures/vanished.json"));
        let (decisions, _) = run(&mut r);
        assert_eq!(
            decisions,
            vec![Decision::Continue, Decision::Failed(Failure::Vanished)]
        );
        assert_eq!(decisions[1].exit_code(), 3);
    }

    #[test]
    fn deleted_service_is_a_failure() {
        let mut r = load(include_str!("fixtures/vanished.json"));
        let obs = r.tracker.observe(None, Duration::from_secs(5));
        assert_eq!(
            obs.decision,
            Decision::Failed(Failure::ServiceGone {
                status: "MISSING".into()
            })
        );
        let mut draining = r.polls[0].1.clone().expect("service");
        draining.status = "DRAINING".into();
        let obs = r.tracker.observe(Some(&draining), Duration::from_secs(6));
        assert_eq!(obs.decision.exit_code(), 3);
    }

    #[test]
    fn success_without_rollout_state_needs_one_deployment_all_running() {
        let mut r = load(include_str!("fixtures/no_rollout_state.json"));
        let (decisions, events) = run(&mut r);
        assert_eq!(
            decisions,
            vec![Decision::Continue, Decision::Continue, Decision::Succeeded]
        );
        assert_eq!(decisions[2].exit_code(), 0);
        assert_eq!(events, vec!["(service hello) has reached a steady state."]);
    }

    #[test]
    fn breaker_that_never_trips_hits_the_no_progress_limit() {
        let mut r = load(include_str!("fixtures/breaker_never_trips.json"));
        let (decisions, events) = run(&mut r);
        // Polls every 60 s, nothing changes after the first: no progress at 300 s.
        assert_eq!(decisions.len(), 6, "{decisions:?}");
        assert_eq!(decisions.last(), Some(&Decision::NoProgress));
        assert_eq!(Decision::NoProgress.exit_code(), 3);
        assert_eq!(events.len(), 1, "the placement event is shown once");
    }

    #[test]
    fn overall_timeout_even_while_progressing() {
        let mut r = load(include_str!("fixtures/completed.json"));
        let polls = r.polls.clone();
        let first = r.tracker.observe(polls[0].1.as_ref(), Duration::ZERO);
        assert_eq!(first.decision, Decision::Continue);
        // Progress (the counts change) but past --timeout.
        let late = r
            .tracker
            .observe(polls[1].1.as_ref(), Duration::from_secs(1801));
        assert!(late.changed);
        assert_eq!(late.decision, Decision::TimedOut);
        assert_eq!(late.decision.exit_code(), 3);
    }

    #[test]
    fn success_on_the_last_poll_beats_the_timeout() {
        let mut r = load(include_str!("fixtures/completed.json"));
        let (_, done) = r.polls.last().cloned().expect("polls");
        let obs = r
            .tracker
            .observe(done.as_ref(), Duration::from_secs(99_999));
        assert_eq!(obs.decision, Decision::Succeeded);
    }

    #[test]
    fn superseded_by_a_deployment_of_the_same_revision() {
        let r = load(include_str!("fixtures/completed.json"));
        let mut svc = r.polls[1].1.clone().expect("service");
        // Someone force-deployed the same revision: ours is now ACTIVE.
        svc.deployments[0].status = "ACTIVE".into();
        svc.deployments[1].status = "PRIMARY".into();
        svc.deployments[1].task_definition = svc.deployments[0].task_definition.clone();
        svc.deployments[1].id = "ecs-svc/999".into();
        assert_eq!(
            decide(&svc, r.tracker.target()),
            Decision::Failed(Failure::Superseded {
                by_deployment: "ecs-svc/999".into()
            })
        );
    }

    #[test]
    fn failure_messages_name_the_revision() {
        let f = Failure::RolledBack {
            reason: None,
            by_deployment: "ecs-svc/1".into(),
            to_task_definition: "arn:aws:ecs:us-east-1:1:task-definition/hello:7".into(),
        };
        assert_eq!(
            f.to_string(),
            "the deployment was rolled back: ecs-svc/1 is now primary with hello:7"
        );
    }

    /// What moto answers after UpdateService to hello:2 with forceNewDeployment: the one
    /// deployment renamed (new id, new createdAt), still on hello:1, COMPLETED.
    fn moto_renamed() -> (ServiceSnapshot, Target) {
        let r = load(include_str!("fixtures/completed.json"));
        let (_, done) = r.polls.last().cloned().expect("polls");
        let mut svc = done.expect("service");
        let hello1 = svc.deployments[0]
            .task_definition
            .replace("hello:2", "hello:1");
        svc.deployments[0].task_definition = hello1;
        let target = r.tracker.target().clone();
        assert_eq!(svc.deployments[0].id, target.deployment_id);
        (svc, target)
    }

    #[test]
    fn a_completed_deployment_of_another_task_definition_is_not_success() {
        let (svc, target) = moto_renamed();
        let d = decide(&svc, &target);
        assert_eq!(
            d,
            Decision::Failed(Failure::WrongTaskDefinition {
                deployment: target.deployment_id.clone(),
                runs: svc.deployments[0].task_definition.clone(),
                wanted: target.task_definition.clone().expect("td"),
            })
        );
        assert_eq!(d.exit_code(), 3);
        match d {
            Decision::Failed(f) => assert_eq!(
                f.to_string(),
                "deployment ecs-svc/5170873540941432139 runs hello:1, not hello:2 which was asked for"
            ),
            _ => unreachable!(),
        }
        // The same deployment, on the right task definition (what real ECS creates): success.
        let r = load(include_str!("fixtures/completed.json"));
        let (_, done) = r.polls.last().cloned().expect("polls");
        assert_eq!(
            decide(&done.expect("service"), &target),
            Decision::Succeeded
        );
        // Full ARN and family:revision name the same revision.
        assert!(same_task_definition(
            "arn:aws:ecs:us-east-1:1:task-definition/hello:2",
            "hello:2"
        ));
        assert!(!same_task_definition("hello:2", "hello:12"));
    }

    #[test]
    fn completed_but_short_of_running_tasks_is_not_success_yet() {
        let r = load(include_str!("fixtures/completed.json"));
        let (_, done) = r.polls.last().cloned().expect("polls");
        let mut svc = done.expect("service");
        svc.deployments[0].running_count -= 1;
        svc.deployments[0].pending_count += 1;
        assert_eq!(decide(&svc, r.tracker.target()), Decision::Continue);
    }

    #[test]
    fn unsettled_primary_is_what_a_redeploy_must_follow() {
        let r = load(include_str!("fixtures/completed.json"));
        let td = r.tracker.target().task_definition.clone().expect("td");
        let (_, done) = r.polls.last().cloned().expect("polls");
        let done = done.expect("service");
        // COMPLETED, all running, on the wanted revision: settled.
        assert_eq!(unsettled_primary(&done, &td), None);
        // Still in progress (the rollout a timed-out or interrupted deploy left behind).
        let (_, first) = r.polls[0].clone();
        let first = first.expect("service");
        assert_eq!(
            unsettled_primary(&first, &td).map(|d| d.id.as_str()),
            Some("ecs-svc/5170873540941432139")
        );
        // FAILED (circuit breaker without rollback).
        let failed = load(include_str!("fixtures/circuit_breaker_failed.json"));
        let (_, end) = failed.polls.last().cloned().expect("polls");
        assert!(unsettled_primary(&end.expect("service"), &td).is_some());
        // Running another task definition than the service names (moto after an update).
        let (renamed, _) = moto_renamed();
        assert!(unsettled_primary(&renamed, &td).is_some());
        // No PRIMARY deployment (external controller): nothing to follow.
        let mut none = done.clone();
        none.deployments.clear();
        assert_eq!(unsettled_primary(&none, &td), None);
    }
}
