//! Container logs of a service: which streams to read, how to read them and in what order.
//!
//! The pieces, pure first:
//! - [`discover`]: a task definition's log configurations → where each container's logs go
//!   (awslogs group/prefix, or a description of the other driver's destination);
//! - [`time`]: `--since` / `--until` (`90s`, `15m`, `2h`, `1d`, RFC3339);
//! - [`sanitize`]: message text safe for a terminal;
//! - [`merge`]: the k-way merge of per-stream ordered pages and the follow-mode window of
//!   seen event ids (pure ordering logic, tested with in-memory pages);
//! - [`fetch`]: the read and follow loops over a [`fetch::LogSource`] (CloudWatch Logs in
//!   [`crate::aws::logs`]): paging, empty pages, throttling back-off, new streams.
//!
//! This module never prints: events go to a caller-supplied sink.

pub mod discover;
pub mod fetch;
pub mod merge;
pub mod sanitize;
pub mod time;

use std::sync::Arc;

/// One CloudWatch Logs stream of one container of one task.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LogStream {
    /// The log group.
    pub group: GroupRef,
    /// The stream name (`prefix/container/task-id`).
    pub name: String,
    /// The task id (the last part of the stream name).
    pub task: String,
    /// The container name.
    pub container: String,
}

/// A log group in a region (`awslogs-region`, when it differs from the configured one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupRef {
    /// `awslogs-region`, if the task definition names one.
    pub region: Option<String>,
    /// `awslogs-group`.
    pub name: String,
}

/// One log event, attributed to its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// Milliseconds since the Unix epoch (the event's own timestamp).
    pub timestamp: i64,
    /// CloudWatch's event id: unique within the group, the key for de-duplication.
    pub id: String,
    /// Where it came from.
    pub stream: Arc<LogStream>,
    /// The message as stored (any Unicode; may end with a newline).
    pub message: String,
}

/// Errors reading logs.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LogsError {
    /// The log group named in the task definition does not exist.
    #[error("log group `{group}` does not exist")]
    #[diagnostic(
        code(cargo_ecs::logs::group_not_found),
        help(
            "the task definition's awslogs-group names it; `cargo ecs setup` creates it, or set \
             `awslogs-create-group = \"true\"` (logs.create-group = true)"
        )
    )]
    GroupNotFound {
        /// The group.
        group: String,
    },
    /// CloudWatch Logs kept throttling after every back-off.
    #[error("CloudWatch Logs throttled `{operation}` {attempts} times in a row")]
    #[diagnostic(
        code(cargo_ecs::logs::throttled),
        help(
            "other clients share this account's request quota; try again, or narrow the range with --since/--task"
        )
    )]
    Throttled {
        /// The API operation.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
    },
    /// Any other AWS error.
    #[error("CloudWatch Logs `{operation}` failed for log group `{group}`")]
    #[diagnostic(
        code(cargo_ecs::logs::aws),
        help(
            "check the credentials and that they allow logs:DescribeLogStreams and logs:FilterLogEvents"
        )
    )]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The group.
        group: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `--since` / `--until` could not be read.
    #[error("invalid value `{value}` for `{flag}`")]
    #[diagnostic(
        code(cargo_ecs::logs::bad_time),
        help(
            "use a duration ago (90s, 15m, 2h, 1d, 1w) or an RFC3339 time (2024-05-01T12:00:00Z)"
        )
    )]
    BadTime {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
    },
    /// A time before 1970 or past what a timestamp can hold.
    #[error("`{flag}` {value} is out of range: {reason}")]
    #[diagnostic(
        code(cargo_ecs::logs::time_out_of_range),
        help("CloudWatch Logs keeps events from 1970 on; use a shorter duration or a later time")
    )]
    TimeOutOfRange {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// `--until` before `--since`.
    #[error("`--until` ({until}) is before `--since` ({since})")]
    #[diagnostic(
        code(cargo_ecs::logs::empty_range),
        help("swap them, or leave out --until to read up to now")
    )]
    EmptyRange {
        /// Start, RFC3339.
        since: String,
        /// End, RFC3339.
        until: String,
    },
    /// `--container NAME` names no container of the task definition.
    #[error("task definition `{task_definition}` has no container `{name}`")]
    #[diagnostic(code(cargo_ecs::logs::unknown_container), help("{help}"))]
    UnknownContainer {
        /// The name given.
        name: String,
        /// The task definition.
        task_definition: String,
        /// Valid choices, with a suggestion.
        help: String,
    },
}

/// Errors finding the service's task definition.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiscoverError {
    /// The service is not in the cluster.
    #[error("service `{service}` not found in cluster `{cluster}`")]
    #[diagnostic(
        code(cargo_ecs::logs::service_not_found),
        help(
            "check `service`/`cluster` in [package.metadata.ecs] or pass --service/--cluster; `cargo ecs deploy --create-service` creates it"
        )
    )]
    ServiceNotFound {
        /// Cluster.
        cluster: String,
        /// Service.
        service: String,
    },
    /// The cluster does not exist.
    #[error("cluster `{cluster}` not found")]
    #[diagnostic(
        code(cargo_ecs::logs::cluster_not_found),
        help(
            "check `cluster` in [package.metadata.ecs] or pass --cluster NAME; `cargo ecs setup` creates it"
        )
    )]
    ClusterNotFound {
        /// Cluster.
        cluster: String,
    },
    /// The task definition could not be described.
    #[error("cannot describe task definition `{task_definition}`")]
    #[diagnostic(
        code(cargo_ecs::logs::task_definition),
        help("with --revision N, N must be a registered revision of the service's family")
    )]
    TaskDefinition {
        /// `family:revision` or ARN.
        task_definition: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// DescribeServices failed.
    #[error("cannot describe service `{service}` in cluster `{cluster}`")]
    #[diagnostic(
        code(cargo_ecs::logs::describe_service),
        help(
            "check the credentials, region and that they allow ecs:DescribeServices and ecs:DescribeTaskDefinition"
        )
    )]
    DescribeService {
        /// Cluster.
        cluster: String,
        /// Service.
        service: String,
        /// The SDK error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
