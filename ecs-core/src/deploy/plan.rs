//! Deciding what a deploy changes (pure): reuse the family's latest ACTIVE revision or
//! register a new one, and update, create or leave the service. Fed the rendered task
//! definition and the read-only [`Facts`]; never calls AWS.

use serde::Serialize;
use serde_json::Value;

use super::wait::{ServiceSnapshot, short_task_definition, unsettled_primary};
use crate::taskdef;

/// What the deploy found, read-only, before changing anything.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The family's latest ACTIVE revision (describe shape), if any.
    pub latest: Option<Value>,
    /// The service, if it exists (and is not INACTIVE).
    pub service: Option<ServiceSnapshot>,
}

/// Options that change the decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// `--force-new-revision`.
    pub force_new_revision: bool,
    /// `--create-service`.
    pub create_service: bool,
    /// The configured desired count.
    pub desired_count: i32,
}

/// The task definition step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum TaskDefinitionStep {
    /// The latest ACTIVE revision is identical: use it.
    Reuse {
        /// Its ARN.
        arn: String,
        /// Its revision.
        revision: i64,
    },
    /// Register a new revision.
    Register {
        /// Why.
        reason: RegisterReason,
    },
}

/// Why a revision is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegisterReason {
    /// The family has no ACTIVE revision.
    NewFamily,
    /// The rendered task definition differs from the latest ACTIVE revision.
    Changed,
    /// `--force-new-revision`.
    Forced,
}

/// The service step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum ServiceStep {
    /// Already runs the wanted task definition with the wanted count.
    Unchanged,
    /// Nothing to change, but the service's PRIMARY deployment has not settled (still in
    /// progress after a timed-out or interrupted deploy, failed, short of running tasks, or
    /// on another task definition): follow it to its end like a deployment of our own.
    Follow {
        /// The PRIMARY deployment.
        deployment_id: String,
        /// The task definition it runs.
        task_definition: String,
        /// Its rolloutState, when it has one.
        rollout_state: Option<String>,
    },
    /// UpdateService.
    Update {
        /// The task definition it runs now.
        from_task_definition: String,
        /// Whether the task definition changes (a new deployment).
        task_definition_changes: bool,
        /// `(now, wanted)` when the desired count changes.
        desired_count: Option<(i32, i32)>,
    },
    /// CreateService (`--create-service`).
    Create,
    /// The service does not exist and `--create-service` was not given.
    Missing,
}

/// What a deploy will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The task definition family.
    pub family: String,
    /// Register or reuse.
    pub task_definition: TaskDefinitionStep,
    /// Unified diff, latest ACTIVE revision → rendered (normalized JSON); empty when equal.
    pub task_definition_diff: String,
    /// Update, create or nothing.
    pub service: ServiceStep,
}

impl Plan {
    /// Whether nothing needs to change.
    pub fn is_noop(&self) -> bool {
        matches!(self.task_definition, TaskDefinitionStep::Reuse { .. })
            && self.service == ServiceStep::Unchanged
    }
}

/// Decides the plan. `rendered` is the RegisterTaskDefinition input with the pushed digest.
pub fn plan(rendered: &Value, facts: &Facts, opts: &PlanOptions) -> Plan {
    let family = rendered
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let latest_ref = facts.latest.as_ref().and_then(|td| {
        let arn = td.get("taskDefinitionArn")?.as_str()?.to_string();
        let revision = td.get("revision")?.as_i64()?;
        Some((arn, revision))
    });
    let task_definition_diff = match &facts.latest {
        Some(latest) => unified_diff(
            latest,
            rendered,
            &latest_ref
                .as_ref()
                .map(|(arn, _)| short_task_definition(arn).to_string())
                .unwrap_or_else(|| "deployed".into()),
            "rendered",
        ),
        None => unified_diff(&Value::Null, rendered, "(none)", "rendered"),
    };
    let task_definition = match (&latest_ref, opts.force_new_revision) {
        (_, true) => TaskDefinitionStep::Register {
            reason: RegisterReason::Forced,
        },
        (None, false) => TaskDefinitionStep::Register {
            reason: RegisterReason::NewFamily,
        },
        (Some((arn, revision)), false) => {
            let same = facts
                .latest
                .as_ref()
                .is_some_and(|l| !taskdef::differs(rendered, l));
            if same {
                TaskDefinitionStep::Reuse {
                    arn: arn.clone(),
                    revision: *revision,
                }
            } else {
                TaskDefinitionStep::Register {
                    reason: RegisterReason::Changed,
                }
            }
        }
    };
    let service = match &facts.service {
        None if opts.create_service => ServiceStep::Create,
        None => ServiceStep::Missing,
        Some(svc) => {
            let task_definition_changes = match &task_definition {
                TaskDefinitionStep::Reuse { arn, .. } => &svc.task_definition != arn,
                TaskDefinitionStep::Register { .. } => true,
            };
            let desired_count = (svc.desired_count != opts.desired_count)
                .then_some((svc.desired_count, opts.desired_count));
            if task_definition_changes || desired_count.is_some() {
                ServiceStep::Update {
                    from_task_definition: svc.task_definition.clone(),
                    task_definition_changes,
                    desired_count,
                }
            } else if let Some(primary) = unsettled_primary(svc, &svc.task_definition) {
                ServiceStep::Follow {
                    deployment_id: primary.id.clone(),
                    task_definition: primary.task_definition.clone(),
                    rollout_state: primary.rollout_state.clone(),
                }
            } else {
                ServiceStep::Unchanged
            }
        }
    };
    Plan {
        family,
        task_definition,
        task_definition_diff,
        service,
    }
}

/// A unified diff of two task definitions after normalization (pretty JSON, sorted keys).
/// Empty when they are the same.
pub fn unified_diff(old: &Value, new: &Value, old_name: &str, new_name: &str) -> String {
    let pretty = |v: &Value| {
        if v.is_null() {
            String::new()
        } else {
            let mut s = serde_json::to_string_pretty(&taskdef::normalize(v)).unwrap_or_default();
            s.push('\n');
            s
        }
    };
    let (a, b) = (pretty(old), pretty(new));
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rendered(env: &str) -> Value {
        json!({
            "family": "hello",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{
                "name": "hello", "image": "r/hello@sha256:ab",
                "portMappings": [{"containerPort": 8080}],
                "environment": [{"name": "GREETING", "value": env}]
            }]
        })
    }

    fn described(env: &str, revision: i64) -> Value {
        let mut td = rendered(env);
        let m = td.as_object_mut().expect("object");
        m.insert(
            "taskDefinitionArn".into(),
            json!(format!(
                "arn:aws:ecs:us-east-1:1:task-definition/hello:{revision}"
            )),
        );
        m.insert("revision".into(), json!(revision));
        m.insert("status".into(), json!("ACTIVE"));
        m.insert("cpu".into(), json!("0.25 vCPU"));
        m["containerDefinitions"][0]["essential"] = json!(true);
        m["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(8080);
        m["containerDefinitions"][0]["portMappings"][0]["protocol"] = json!("tcp");
        td
    }

    fn service(revision: i64, desired: i32) -> ServiceSnapshot {
        ServiceSnapshot {
            status: "ACTIVE".into(),
            task_definition: format!("arn:aws:ecs:us-east-1:1:task-definition/hello:{revision}"),
            desired_count: desired,
            ..Default::default()
        }
    }

    fn opts() -> PlanOptions {
        PlanOptions {
            desired_count: 1,
            ..Default::default()
        }
    }

    #[test]
    fn identical_latest_revision_is_reused_and_nothing_changes() {
        let facts = Facts {
            latest: Some(described("hi", 3)),
            service: Some(service(3, 1)),
        };
        let p = plan(&rendered("hi"), &facts, &opts());
        assert!(
            matches!(
                p.task_definition,
                TaskDefinitionStep::Reuse { revision: 3, .. }
            ),
            "{p:?}"
        );
        assert_eq!(p.service, ServiceStep::Unchanged);
        assert!(p.is_noop());
        assert_eq!(p.task_definition_diff, "");
    }

    #[test]
    fn changed_environment_registers_and_updates() {
        let facts = Facts {
            latest: Some(described("hi", 3)),
            service: Some(service(3, 1)),
        };
        let p = plan(&rendered("hello"), &facts, &opts());
        assert_eq!(
            p.task_definition,
            TaskDefinitionStep::Register {
                reason: RegisterReason::Changed
            }
        );
        assert!(matches!(
            p.service,
            ServiceStep::Update {
                task_definition_changes: true,
                desired_count: None,
                ..
            }
        ));
        assert!(
            p.task_definition_diff
                .contains("-          \"value\": \"hi\""),
            "{}",
            p.task_definition_diff
        );
        assert!(
            p.task_definition_diff
                .contains("+          \"value\": \"hello\"")
        );
    }

    #[test]
    fn service_on_an_older_revision_is_moved_to_the_reused_one() {
        let facts = Facts {
            latest: Some(described("hi", 4)),
            service: Some(service(2, 1)),
        };
        let p = plan(&rendered("hi"), &facts, &opts());
        assert!(matches!(
            p.task_definition,
            TaskDefinitionStep::Reuse { revision: 4, .. }
        ));
        assert!(matches!(
            p.service,
            ServiceStep::Update {
                task_definition_changes: true,
                ..
            }
        ));
    }

    #[test]
    fn desired_count_alone_is_an_update_without_new_deployment() {
        let facts = Facts {
            latest: Some(described("hi", 3)),
            service: Some(service(3, 2)),
        };
        let p = plan(&rendered("hi"), &facts, &opts());
        assert_eq!(
            p.service,
            ServiceStep::Update {
                from_task_definition: "arn:aws:ecs:us-east-1:1:task-definition/hello:3".into(),
                task_definition_changes: false,
                desired_count: Some((2, 1)),
            }
        );
    }

    #[test]
    fn forced_new_revision_and_missing_service() {
        let facts = Facts {
            latest: Some(described("hi", 3)),
            service: None,
        };
        let mut o = opts();
        o.force_new_revision = true;
        let p = plan(&rendered("hi"), &facts, &o);
        assert_eq!(
            p.task_definition,
            TaskDefinitionStep::Register {
                reason: RegisterReason::Forced
            }
        );
        assert_eq!(p.service, ServiceStep::Missing);
        o.create_service = true;
        assert_eq!(
            plan(&rendered("hi"), &Facts::default(), &o).service,
            ServiceStep::Create
        );
        assert_eq!(
            plan(&rendered("hi"), &Facts::default(), &opts()).task_definition,
            TaskDefinitionStep::Register {
                reason: RegisterReason::NewFamily
            }
        );
    }

    #[test]
    fn unchanged_but_unfinished_rollout_is_followed_not_nothing_to_do() {
        use crate::deploy::wait::DeploymentSnapshot;
        let mut svc = service(3, 1);
        svc.deployments = vec![DeploymentSnapshot {
            id: "ecs-svc/1".into(),
            status: "PRIMARY".into(),
            task_definition: svc.task_definition.clone(),
            desired_count: 1,
            running_count: 0,
            pending_count: 1,
            rollout_state: Some("IN_PROGRESS".into()),
            ..Default::default()
        }];
        let facts = Facts {
            latest: Some(described("hi", 3)),
            service: Some(svc.clone()),
        };
        let p = plan(&rendered("hi"), &facts, &opts());
        assert_eq!(
            p.service,
            ServiceStep::Follow {
                deployment_id: "ecs-svc/1".into(),
                task_definition: svc.task_definition.clone(),
                rollout_state: Some("IN_PROGRESS".into()),
            }
        );
        assert!(!p.is_noop());
        // Once it completed with every task running: nothing to do.
        let mut done = svc.clone();
        done.deployments[0].running_count = 1;
        done.deployments[0].pending_count = 0;
        done.deployments[0].rollout_state = Some("COMPLETED".into());
        let facts = Facts {
            latest: Some(described("hi", 3)),
            service: Some(done),
        };
        assert!(plan(&rendered("hi"), &facts, &opts()).is_noop());
        // FAILED is followed too (and ends at once with exit 3), never "nothing to do".
        let mut failed = svc;
        failed.deployments[0].rollout_state = Some("FAILED".into());
        let facts = Facts {
            latest: Some(described("hi", 3)),
            service: Some(failed),
        };
        assert!(matches!(
            plan(&rendered("hi"), &facts, &opts()).service,
            ServiceStep::Follow { .. }
        ));
    }
}
