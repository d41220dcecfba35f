//! The ECS adapter: services, clusters, container instances and tasks through `aws-sdk-ecs`
//! (task definitions live in `taskdef_api`). Shell code; it converts SDK types into the small
//! domain types of [`crate::deploy::wait`] so the decisions stay pure and testable.
//!
//! Errors are worded by [`crate::aws::error::describe`] (code, message, or the transport cause
//! and endpoint; the SDK's dump goes to the debug log only) and classified by error code, because
//! DescribeServices & co. have no typed throttling variant: [`EcsError::is_retryable`] tells the
//! poll loop to back off instead of failing.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    DesiredStatus, LaunchType as SdkLaunchType, NetworkConfiguration, ServiceField,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::config::LaunchType;
use crate::deploy::wait::{DeploymentSnapshot, ServiceEvent, ServiceSnapshot};

/// Every ECS operation's error, as `send()` returns it.
type SdkError<E> = aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>;

/// An ECS call failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EcsError {
    /// The API answered with an error (or the call did not complete).
    #[error("ECS {action} failed for `{resource}`: {message}")]
    #[diagnostic(code(cargo_ecs::ecs::call), help("{help}"))]
    Call {
        /// The API action (`UpdateService`).
        action: &'static str,
        /// The cluster/service/… it was about.
        resource: String,
        /// The error code (`ThrottlingException`, `AccessDeniedException`…), when known.
        code: Option<String>,
        /// The error message.
        message: String,
        /// What to do about it.
        help: String,
    },
    /// The cluster does not exist.
    #[error("cluster `{cluster}` not found")]
    #[diagnostic(
        code(cargo_ecs::ecs::cluster_not_found),
        help("create it with `cargo ecs setup`, or set `cluster` in [package.metadata.ecs]")
    )]
    ClusterNotFound {
        /// The cluster name or ARN.
        cluster: String,
    },
    /// The service does not exist.
    #[error("service `{service}` not found in cluster `{cluster}`")]
    #[diagnostic(
        code(cargo_ecs::ecs::service_not_found),
        help(
            "create it with `cargo ecs deploy --create-service`, or check `service` and `cluster` in [package.metadata.ecs] (or --service / --cluster)"
        )
    )]
    ServiceNotFound {
        /// The cluster.
        cluster: String,
        /// The service.
        service: String,
    },
    /// A response lacked something it must carry.
    #[error("ECS {action} returned no {what}")]
    #[diagnostic(code(cargo_ecs::ecs::bad_response))]
    BadResponse {
        /// The API action.
        action: &'static str,
        /// What was missing.
        what: &'static str,
    },
}

impl EcsError {
    fn from_sdk<E>(action: &'static str, resource: impl Into<String>, err: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let service = crate::aws::error::Service::Ecs;
        let failure = crate::aws::error::describe(service, &err);
        let common = failure.common_help(service, &format!("`ecs:{action}`"));
        let help = match (common, failure.code.as_deref()) {
            (Some(help), _) => help,
            (None, Some(c)) if is_throttling_code(c) => {
                "AWS is throttling requests; wait a moment and retry".to_string()
            }
            (None, Some("ClusterNotFoundException")) => {
                "create the cluster with `cargo ecs setup`, or set `cluster`".to_string()
            }
            _ => "check the AWS credentials, region and endpoint (`--region`, `--endpoint-url`)"
                .to_string(),
        };
        let code = failure.code;
        let message = failure.message;
        EcsError::Call {
            action,
            resource: resource.into(),
            code,
            message,
            help,
        }
    }

    /// An error of a call on `cluster`: [`EcsError::ClusterNotFound`] when ECS answered
    /// `ClusterNotFoundException` (the code every operation's own
    /// `is_cluster_not_found_exception` reads), else [`EcsError::Call`].
    fn on_cluster<E>(
        action: &'static str,
        cluster: &str,
        resource: impl Into<String>,
        err: SdkError<E>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let cluster_missing = err
            .as_service_error()
            .is_some_and(|s| s.code() == Some("ClusterNotFoundException"));
        if cluster_missing {
            EcsError::ClusterNotFound {
                cluster: cluster.to_string(),
            }
        } else {
            EcsError::from_sdk(action, resource, err)
        }
    }

    /// Whether retrying later may succeed (throttling, a dropped connection, a 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            EcsError::Call { code, .. } => match code.as_deref() {
                Some(c) => is_throttling_code(c) || c == "ServerException",
                // No code: the request did not complete (timeout, connection reset).
                None => true,
            },
            _ => false,
        }
    }
}

fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded"
    )
}

fn secs(t: Option<&aws_smithy_types::DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// SDK service → our snapshot.
pub fn snapshot_of(s: &aws_sdk_ecs::types::Service) -> ServiceSnapshot {
    ServiceSnapshot {
        service_name: s.service_name().unwrap_or_default().to_string(),
        service_arn: s.service_arn().unwrap_or_default().to_string(),
        cluster_arn: s.cluster_arn().unwrap_or_default().to_string(),
        status: s.status().unwrap_or_default().to_string(),
        task_definition: s.task_definition().unwrap_or_default().to_string(),
        desired_count: s.desired_count(),
        running_count: s.running_count(),
        pending_count: s.pending_count(),
        launch_type: s.launch_type().map(|l| l.as_str().to_string()),
        deployments: s
            .deployments()
            .iter()
            .map(|d| DeploymentSnapshot {
                id: d.id().unwrap_or_default().to_string(),
                status: d.status().unwrap_or_default().to_string(),
                task_definition: d.task_definition().unwrap_or_default().to_string(),
                desired_count: d.desired_count(),
                running_count: d.running_count(),
                pending_count: d.pending_count(),
                failed_tasks: d.failed_tasks(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
                rollout_state_reason: d.rollout_state_reason().map(String::from),
                created_at: secs(d.created_at()),
            })
            .collect(),
        events: s
            .events()
            .iter()
            .map(|e| ServiceEvent {
                id: e.id().unwrap_or_default().to_string(),
                created_at: secs(e.created_at()),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect(),
    }
}

/// DescribeServices for one service, with its events. `Ok(None)`: the service is MISSING (or
/// INACTIVE, i.e. deleted).
pub async fn describe_service(
    client: &Client,
    cluster: &str,
    service: &str,
) -> Result<Option<ServiceSnapshot>, EcsError> {
    let out = client
        .describe_services()
        .cluster(cluster)
        .services(service)
        .include(ServiceField::Tags)
        .send()
        .await
        .map_err(|e| {
            EcsError::on_cluster(
                "DescribeServices",
                cluster,
                format!("{cluster}/{service}"),
                e,
            )
        })?;
    Ok(out.services().first().map(snapshot_of))
}

/// Whether the cluster exists and is ACTIVE.
pub async fn cluster_exists(client: &Client, cluster: &str) -> Result<bool, EcsError> {
    let out = client
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .map_err(|e| EcsError::from_sdk("DescribeClusters", cluster, e))?;
    Ok(out.clusters().iter().any(|c| c.status() == Some("ACTIVE")))
}

/// What to change on an existing service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUpdate {
    /// Cluster.
    pub cluster: String,
    /// Service.
    pub service: String,
    /// New task definition ARN, when it changes.
    pub task_definition: Option<String>,
    /// New desired count, when it changes.
    pub desired_count: Option<i32>,
}

/// UpdateService. A task definition change always starts a new deployment; it is forced so
/// the new deployment id is unambiguous (also on emulators that only mint one when forced).
pub async fn update_service(
    client: &Client,
    update: &ServiceUpdate,
) -> Result<ServiceSnapshot, EcsError> {
    let mut req = client
        .update_service()
        .cluster(&update.cluster)
        .service(&update.service);
    if let Some(td) = &update.task_definition {
        req = req.task_definition(td).force_new_deployment(true);
    }
    if let Some(n) = update.desired_count {
        req = req.desired_count(n);
    }
    let out = req.send().await.map_err(|e| {
        let gone = e.as_service_error().is_some_and(|s| {
            s.is_service_not_found_exception() || s.is_service_not_active_exception()
        });
        if gone {
            EcsError::ServiceNotFound {
                cluster: update.cluster.clone(),
                service: update.service.clone(),
            }
        } else {
            EcsError::on_cluster(
                "UpdateService",
                &update.cluster,
                format!("{}/{}", update.cluster, update.service),
                e,
            )
        }
    })?;
    answered_service("UpdateService", out.service())
}

/// The service an UpdateService/CreateService response carries, as our snapshot.
// The size of `EcsError` is that of every call here; only this non-async helper is linted for it.
#[allow(clippy::result_large_err)]
fn answered_service(
    action: &'static str,
    service: Option<&aws_sdk_ecs::types::Service>,
) -> Result<ServiceSnapshot, EcsError> {
    service.map(snapshot_of).ok_or(EcsError::BadResponse {
        action,
        what: "service",
    })
}

/// awsvpc networking of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsVpc {
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// Security group ids.
    pub security_groups: Vec<String>,
    /// assignPublicIp.
    pub assign_public_ip: bool,
}

/// A service to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewService {
    /// Cluster.
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// Task definition ARN.
    pub task_definition: String,
    /// Desired count.
    pub desired_count: i32,
    /// FARGATE or EC2.
    pub launch_type: LaunchType,
    /// awsvpc networking (required for network mode awsvpc).
    pub network: Option<AwsVpc>,
}

/// CreateService, with the deployment circuit breaker on (rollback is ours to decide:
/// `--rollback-on-failure`).
pub async fn create_service(
    client: &Client,
    new: &NewService,
) -> Result<ServiceSnapshot, EcsError> {
    let mut req = client
        .create_service()
        .cluster(&new.cluster)
        .service_name(&new.service)
        .task_definition(&new.task_definition)
        .desired_count(new.desired_count)
        .launch_type(match new.launch_type {
            LaunchType::Fargate => SdkLaunchType::Fargate,
            LaunchType::Ec2 => SdkLaunchType::Ec2,
        })
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(false)
                        .build(),
                )
                .build(),
        );
    if let Some(net) = &new.network {
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(net.subnets.clone()))
            .set_security_groups(Some(net.security_groups.clone()))
            .assign_public_ip(if net.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|_| EcsError::BadResponse {
                action: "CreateService",
                what: "valid awsvpc configuration (no subnets)",
            })?;
        req = req.network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        );
    }
    let out = req.send().await.map_err(|e| {
        EcsError::on_cluster(
            "CreateService",
            &new.cluster,
            format!("{}/{}", new.cluster, new.service),
            e,
        )
    })?;
    answered_service("CreateService", out.service())
}

/// A stopped task and why it stopped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoppedTask {
    /// Task ARN.
    pub task_arn: String,
    /// Its task definition.
    pub task_definition: String,
    /// stoppedReason.
    pub stopped_reason: String,
    /// Per-container reasons and exit codes (`hello: exit 1`, `Essential container…`).
    pub containers: Vec<String>,
}

/// The service's recently stopped tasks (ListTasks desiredStatus=STOPPED + DescribeTasks),
/// at most `limit`.
pub async fn stopped_tasks(
    client: &Client,
    cluster: &str,
    service: &str,
    limit: usize,
) -> Result<Vec<StoppedTask>, EcsError> {
    let resource = format!("{cluster}/{service}");
    let list = client
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .map_err(|e| EcsError::from_sdk("ListTasks", &resource, e))?;
    let arns: Vec<String> = list
        .task_arns()
        .iter()
        .take(limit.min(100))
        .cloned()
        .collect();
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let out = client
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .map_err(|e| EcsError::from_sdk("DescribeTasks", &resource, e))?;
    Ok(out
        .tasks()
        .iter()
        .map(|t| StoppedTask {
            task_arn: t.task_arn().unwrap_or_default().to_string(),
            task_definition: t.task_definition_arn().unwrap_or_default().to_string(),
            stopped_reason: t.stopped_reason().unwrap_or_default().to_string(),
            containers: t
                .containers()
                .iter()
                .filter_map(|c| {
                    let name = c.name().unwrap_or("?");
                    match (c.exit_code(), c.reason()) {
                        (Some(code), Some(r)) => Some(format!("{name}: exit {code}, {r}")),
                        (Some(code), None) => Some(format!("{name}: exit {code}")),
                        (None, Some(r)) => Some(format!("{name}: {r}")),
                        (None, None) => None,
                    }
                })
                .collect(),
        })
        .collect())
}

/// A container instance of a cluster and its attributes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerInstance {
    /// Container instance ARN.
    pub arn: String,
    /// The EC2 instance id.
    pub ec2_instance_id: String,
    /// ACTIVE, DRAINING…
    pub status: String,
    /// Attribute names (with `=value` when they have one).
    pub attributes: Vec<(String, Option<String>)>,
}

impl ContainerInstance {
    /// Whether the instance advertises this attribute name.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|(n, _)| n == name)
    }
}

/// Every container instance of the cluster with its attributes (ListContainerInstances +
/// DescribeContainerInstances, paged by 100).
pub async fn container_instances(
    client: &Client,
    cluster: &str,
) -> Result<Vec<ContainerInstance>, EcsError> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_container_instances()
            .cluster(cluster)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| EcsError::on_cluster("ListContainerInstances", cluster, cluster, e))?;
        arns.extend(out.container_instance_arns().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let mut instances = Vec::new();
    for chunk in arns.chunks(100) {
        let out = client
            .describe_container_instances()
            .cluster(cluster)
            .set_container_instances(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| EcsError::from_sdk("DescribeContainerInstances", cluster, e))?;
        instances.extend(out.container_instances().iter().map(|ci| {
            ContainerInstance {
                arn: ci.container_instance_arn().unwrap_or_default().to_string(),
                ec2_instance_id: ci.ec2_instance_id().unwrap_or_default().to_string(),
                status: ci.status().unwrap_or_default().to_string(),
                attributes: ci
                    .attributes()
                    .iter()
                    .map(|a| (a.name().to_string(), a.value().map(String::from)))
                    .collect(),
            }
        }));
    }
    Ok(instances)
}

/// Where [`resolve_network`] found the subnets and security groups, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedNetwork {
    /// The configuration to use.
    pub vpc: AwsVpc,
    /// One line per defaulted value ("subnets: the default VPC vpc-… (3 subnets)").
    pub notes: Vec<String>,
}

/// An EC2 lookup for the default network failed or found nothing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum NetworkError {
    /// An EC2 call failed.
    #[error("EC2 {action} failed: {message}")]
    #[diagnostic(
        code(cargo_ecs::ecs::network_lookup),
        help(
            "set `network.subnets` and `network.security-groups` in [package.metadata.ecs], or allow `ec2:{action}`"
        )
    )]
    Call {
        /// The EC2 action.
        action: &'static str,
        /// The error message.
        message: String,
    },
    /// No default VPC and no configured subnets.
    #[error("no subnets configured and the account has no default VPC")]
    #[diagnostic(
        code(cargo_ecs::ecs::no_default_vpc),
        help(
            "set `network.subnets = [\"subnet-…\"]` and `network.security-groups = [\"sg-…\"]` in [package.metadata.ecs]"
        )
    )]
    NoDefaultVpc,
}

fn ec2_err<E>(action: &'static str, err: SdkError<E>) -> NetworkError
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    NetworkError::Call {
        action,
        message: crate::aws::error::describe(crate::aws::error::Service::Ec2, &err).message,
    }
}

/// The awsvpc configuration of a new service: configured subnets/security groups, else the
/// default VPC's subnets and the security group `cargo ecs setup` made (`<service>-ecs`),
/// else the VPC's `default` group. Says in `notes` what was defaulted.
pub async fn resolve_network(
    ec2: &aws_sdk_ec2::Client,
    service: &str,
    config: &crate::config::NetworkConfig,
) -> Result<ResolvedNetwork, NetworkError> {
    use aws_sdk_ec2::types::Filter;
    let mut notes = Vec::new();
    if !config.subnets.is_empty() && !config.security_groups.is_empty() {
        return Ok(ResolvedNetwork {
            vpc: AwsVpc {
                subnets: config.subnets.clone(),
                security_groups: config.security_groups.clone(),
                assign_public_ip: config.assign_public_ip,
            },
            notes,
        });
    }
    // The VPC: that of the configured subnets, else the default one.
    let vpc_id = if let Some(first) = config.subnets.first() {
        let out = ec2
            .describe_subnets()
            .subnet_ids(first)
            .send()
            .await
            .map_err(|e| ec2_err("DescribeSubnets", e))?;
        out.subnets()
            .first()
            .and_then(|s| s.vpc_id())
            .map(String::from)
            .ok_or(NetworkError::NoDefaultVpc)?
    } else {
        let out = ec2
            .describe_vpcs()
            .filters(Filter::builder().name("is-default").values("true").build())
            .send()
            .await
            .map_err(|e| ec2_err("DescribeVpcs", e))?;
        out.vpcs()
            .first()
            .and_then(|v| v.vpc_id())
            .map(String::from)
            .ok_or(NetworkError::NoDefaultVpc)?
    };
    let subnets = if config.subnets.is_empty() {
        let out = ec2
            .describe_subnets()
            .filters(Filter::builder().name("vpc-id").values(&vpc_id).build())
            .send()
            .await
            .map_err(|e| ec2_err("DescribeSubnets", e))?;
        let mut ids: Vec<String> = out
            .subnets()
            .iter()
            .filter(|s| s.default_for_az().unwrap_or(true))
            .filter_map(|s| s.subnet_id().map(String::from))
            .collect();
        ids.sort();
        if ids.is_empty() {
            return Err(NetworkError::NoDefaultVpc);
        }
        notes.push(format!(
            "subnets: the default VPC {vpc_id}'s {} default subnets ({}); set `network.subnets` to choose",
            ids.len(),
            ids.join(", ")
        ));
        ids
    } else {
        config.subnets.clone()
    };
    let security_groups = if config.security_groups.is_empty() {
        let setup_group = format!("{service}-ecs");
        let mut found = None;
        for name in [setup_group.as_str(), "default"] {
            let out = ec2
                .describe_security_groups()
                .filters(Filter::builder().name("vpc-id").values(&vpc_id).build())
                .filters(Filter::builder().name("group-name").values(name).build())
                .send()
                .await
                .map_err(|e| ec2_err("DescribeSecurityGroups", e))?;
            if let Some(id) = out.security_groups().first().and_then(|g| g.group_id()) {
                found = Some((name.to_string(), id.to_string()));
                break;
            }
        }
        let (name, id) = found.ok_or(NetworkError::NoDefaultVpc)?;
        notes.push(format!(
            "security group: {id} (`{name}` in {vpc_id}); set `network.security-groups` to choose"
        ));
        vec![id]
    } else {
        config.security_groups.clone()
    };
    Ok(ResolvedNetwork {
        vpc: AwsVpc {
            subnets,
            security_groups,
            assign_public_ip: config.assign_public_ip,
        },
        notes,
    })
}

/// The ACTIVE revisions of `family`, newest first, as `(revision, arn)`.
pub async fn active_revisions(
    client: &Client,
    family: &str,
) -> Result<Vec<(i64, String)>, EcsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| EcsError::from_sdk("ListTaskDefinitions", family, e))?;
        for arn in page.task_definition_arns() {
            let Some((fam, rev)) = arn.rsplit('/').next().and_then(|s| s.rsplit_once(':')) else {
                continue;
            };
            if let (true, Ok(rev)) = (fam == family, rev.parse::<i64>()) {
                out.push((rev, arn.clone()));
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    out.sort_by_key(|b| std::cmp::Reverse(b.0));
    Ok(out)
}
