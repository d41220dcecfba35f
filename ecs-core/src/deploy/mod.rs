//! `cargo ecs deploy` and its siblings (`diff`, `status`, `rollback`): deciding what a deploy
//! changes and following the deployment it starts to its true end.
//!
//! - [`wait`]: the pure state machine that turns DescribeServices snapshots into a verdict
//!   (no clock, no network: every path is unit-tested with recorded sequences);
//! - [`plan`]: compare the rendered task definition and the live service with what is wanted
//!   and decide the changes (pure);
//! - [`exec`]: the shell that performs the plan through [`crate::aws::ecs`] and polls.

pub mod exec;
pub mod plan;
pub mod wait;

use crate::aws::ecs::{EcsError, NetworkError};
use crate::aws::taskdef_api::TaskDefApiError;

/// Why a deploy could not be carried out (a failed *rollout* is not an error: it is a
/// [`wait::Decision`], exit 3).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DeployError {
    /// An ECS service/cluster call failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ecs(Box<EcsError>),
    /// A task definition call failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    TaskDefinition(#[from] TaskDefApiError),
    /// The default network could not be found.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Network(#[from] NetworkError),
    /// EC2 launch type, and the cluster has no container instances.
    #[error("cluster `{cluster}` has no container instances to run EC2 tasks on")]
    #[diagnostic(
        code(cargo_ecs::deploy::no_container_instances),
        help(
            "launch ECS-optimized EC2 instances into the cluster (ECS_CLUSTER={cluster} in /etc/ecs/ecs.config) \
             with ECS_AVAILABLE_LOGGING_DRIVERS=[\"{driver}\"] in the same file, or use `launch-type = \"fargate\"`"
        )
    )]
    NoContainerInstances {
        /// The cluster.
        cluster: String,
        /// The configured log driver.
        driver: String,
    },
    /// EC2 launch type, and some container instances do not advertise the log driver.
    #[error(
        "{} of {total} container instances in cluster `{cluster}` do not advertise the `{driver}` log driver \
         (attribute com.amazonaws.ecs.capability.logging-driver.{driver}): {}",
        missing.len(), missing.join(", ")
    )]
    #[diagnostic(
        code(cargo_ecs::deploy::logging_driver_unavailable),
        help(
            "add \"{driver}\" to the JSON list ECS_AVAILABLE_LOGGING_DRIVERS in /etc/ecs/ecs.config on each \
             instance, keeping the drivers already listed (ECS_AVAILABLE_LOGGING_DRIVERS=[\"awslogs\",…,\"{driver}\"]), \
             then restart the agent (`sudo systemctl restart ecs`); or choose a driver they advertise with `logs.driver`"
        )
    )]
    LoggingDriverUnavailable {
        /// The cluster.
        cluster: String,
        /// The configured log driver.
        driver: String,
        /// Instances lacking it (`i-… (container-instance/…)`).
        missing: Vec<String>,
        /// How many instances there are.
        total: usize,
    },
    /// The service does not exist and `--create-service` was not given.
    #[error("service `{service}` does not exist in cluster `{cluster}`")]
    #[diagnostic(
        code(cargo_ecs::deploy::service_missing),
        help("pass `--create-service` to create it (with its network configuration)")
    )]
    ServiceMissing {
        /// The cluster.
        cluster: String,
        /// The service.
        service: String,
    },
    /// UpdateService/CreateService returned no PRIMARY deployment to follow.
    #[error("ECS {action} returned no PRIMARY deployment to follow for `{service}`")]
    #[diagnostic(
        code(cargo_ecs::deploy::no_deployment),
        help(
            "the deployment controller must be ECS (rolling updates); watch it with `cargo ecs status --wait`"
        )
    )]
    NoDeployment {
        /// UpdateService or CreateService.
        action: &'static str,
        /// The service.
        service: String,
    },
    /// No earlier revision to roll back to.
    #[error("no revision of `{family}` to roll back to (the service runs revision {current})")]
    #[diagnostic(
        code(cargo_ecs::deploy::no_previous_revision),
        help("pass `--revision N` with an ACTIVE revision of the family")
    )]
    NoPreviousRevision {
        /// The family.
        family: String,
        /// The current revision.
        current: i64,
    },
}

impl From<EcsError> for DeployError {
    fn from(e: EcsError) -> Self {
        DeployError::Ecs(Box::new(e))
    }
}
