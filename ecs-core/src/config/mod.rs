//! The resolved, validated configuration of one deployable package: every
//! `[package.metadata.ecs]` key (DESIGN.md) after precedence and defaults, as typed values.
//!
//! This module is pure: it never reads files, the environment or the network. Parsing and
//! validation (collecting *all* problems with key paths) live in [`validate`]; the layering of
//! sources lives in [`sources`].

pub mod sources;
pub mod validate;

pub use sources::{Inputs, Resolved, Setting, resolve};

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Where the task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LaunchType {
    /// AWS Fargate: awsvpc only, task-level cpu/memory from the Fargate table.
    Fargate,
    /// EC2 container instances of the cluster.
    Ec2,
}

impl fmt::Display for LaunchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LaunchType::Fargate => "FARGATE",
            LaunchType::Ec2 => "EC2",
        })
    }
}

/// ECS task network mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Each task gets an ENI (required on Fargate).
    Awsvpc,
    /// Docker bridge networking (EC2 default).
    Bridge,
    /// The instance's network namespace.
    Host,
    /// No networking.
    None,
}

impl NetworkMode {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Awsvpc => "awsvpc",
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
            NetworkMode::None => "none",
        }
    }
}

/// CPU architecture of the task (runtimePlatform) and of the built binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    /// x86_64 / amd64.
    #[serde(rename = "X86_64")]
    X86_64,
    /// aarch64 / arm64.
    #[serde(rename = "ARM64")]
    Arm64,
}

impl Architecture {
    /// The ECS `runtimePlatform.cpuArchitecture` value.
    pub fn ecs_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "X86_64",
            Architecture::Arm64 => "ARM64",
        }
    }
    /// The OCI `architecture` value.
    pub fn oci_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "amd64",
            Architecture::Arm64 => "arm64",
        }
    }
    /// The Rust target architecture.
    pub fn rust_arch(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "aarch64",
        }
    }
}

/// ECS log drivers, plus `logentries` which only the EC2 container agent knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    /// CloudWatch Logs.
    Awslogs,
    /// Splunk HTTP event collector.
    Splunk,
    /// FireLens log router sidecar.
    Awsfirelens,
    /// Fluentd forward protocol.
    Fluentd,
    /// Graylog extended log format.
    Gelf,
    /// Docker json-file on the instance.
    JsonFile,
    /// systemd journal on the instance.
    Journald,
    /// syslog.
    Syslog,
    /// Logentries (agent-only; not in the ECS API enum).
    Logentries,
}

impl LogDriver {
    /// The API spelling (`json-file`…).
    pub fn as_str(self) -> &'static str {
        match self {
            LogDriver::Awslogs => "awslogs",
            LogDriver::Splunk => "splunk",
            LogDriver::Awsfirelens => "awsfirelens",
            LogDriver::Fluentd => "fluentd",
            LogDriver::Gelf => "gelf",
            LogDriver::JsonFile => "json-file",
            LogDriver::Journald => "journald",
            LogDriver::Syslog => "syslog",
            LogDriver::Logentries => "logentries",
        }
    }
}

/// Task CPU in units (1024 = 1 vCPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Cpu(pub u32);

/// Task memory in MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MemoryMib(pub u32);

/// `[package.metadata.ecs]`, resolved and valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Cargo package name.
    pub package: String,
    /// Cargo package version.
    pub version: String,
    /// The package's Cargo.toml.
    pub manifest_path: PathBuf,
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// Task definition family.
    pub family: String,
    /// FARGATE or EC2.
    pub launch_type: LaunchType,
    /// Task-level CPU units (required on Fargate; defaulted there).
    pub cpu: Option<Cpu>,
    /// Task-level memory in MiB (required on Fargate; defaulted there).
    pub memory: Option<MemoryMib>,
    /// Network mode.
    pub network_mode: NetworkMode,
    /// CPU architecture.
    pub architecture: Architecture,
    /// Task execution role ARN.
    pub execution_role: Option<String>,
    /// Task role ARN.
    pub task_role: Option<String>,
    /// Service desired count.
    pub desired_count: u32,
    /// A user-supplied task-definition template (absolute path), instead of generating one.
    pub task_definition_file: Option<PathBuf>,
    /// The parsed contents of `task_definition_file` (read by `config::resolve`, so that
    /// rendering stays pure); describe output and its wrapper are accepted.
    pub task_definition_template: Option<serde_json::Value>,
    /// With a `task_definition_template`: the task-level fields the configuration sets
    /// explicitly (execution-role, task-role, cpu, memory, network-mode, architecture), as
    /// RegisterTaskDefinition fields written over the file's. Empty otherwise.
    pub task_definition_fields: serde_json::Map<String, serde_json::Value>,
    /// `[package.metadata.ecs.image]`.
    pub image: ImageConfig,
    /// `[package.metadata.ecs.container]`.
    pub container: ContainerConfig,
    /// `[package.metadata.ecs.logs]`.
    pub logs: LogsConfig,
    /// `[package.metadata.ecs.network]`.
    pub network: NetworkConfig,
    /// `[package.metadata.ecs.overrides]`, camelCase, deep-merged into the rendered JSON.
    pub overrides: serde_json::Map<String, serde_json::Value>,
}

/// The base an image is layered on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseImage {
    /// No base layers: the binary must be static.
    Scratch,
    /// An image reference (`debian:bookworm-slim`, `public.ecr.aws/…@sha256:…`).
    Reference(String),
}

/// A file or directory copied into the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Include {
    /// Source path, relative to the package root.
    pub from: PathBuf,
    /// Absolute destination path in the image.
    pub to: String,
}

/// Image settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageConfig {
    /// ECR repository name.
    pub repository: String,
    /// Base image.
    pub base: BaseImage,
    /// The binary target to package.
    pub bin: String,
    /// Extra tags (the task definition always uses the digest).
    pub tags: Vec<String>,
    /// Extra files.
    pub include: Vec<Include>,
    /// `uid:gid` the process runs as.
    pub user: String,
    /// Add a CA bundle layer to scratch images.
    pub ca_certificates: bool,
    /// ECR tag mutability when the repository is created: MUTABLE or IMMUTABLE.
    pub tag_mutability: String,
}

impl ImageConfig {
    /// What `[package.metadata.ecs.image]` means when it is absent, for a package whose
    /// repository and binary are both `name`: scratch, no tags or includes, user
    /// 65532:65532, a CA bundle, a MUTABLE repository.
    pub fn scratch(name: &str) -> ImageConfig {
        ImageConfig {
            repository: name.into(),
            base: BaseImage::Scratch,
            bin: name.into(),
            tags: Vec::new(),
            include: Vec::new(),
            user: "65532:65532".into(),
            ca_certificates: true,
            tag_mutability: "MUTABLE".into(),
        }
    }
}

/// Container health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub command: Vec<String>,
    /// Seconds between checks.
    pub interval: Option<u32>,
    /// Seconds before a check fails.
    pub timeout: Option<u32>,
    /// Failures before unhealthy.
    pub retries: Option<u32>,
    /// Grace period in seconds.
    pub start_period: Option<u32>,
}

/// The application container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerConfig {
    /// Container name.
    pub name: String,
    /// containerPort.
    pub port: Option<u16>,
    /// Arguments after the entrypoint.
    pub command: Vec<String>,
    /// Plain environment variables.
    pub environment: BTreeMap<String, String>,
    /// Environment variables from Secrets Manager / SSM (`valueFrom`).
    pub secrets: BTreeMap<String, String>,
    /// Health check.
    pub health_check: Option<HealthCheck>,
}

impl ContainerConfig {
    /// A container called `name` with nothing else set: no port, command, environment,
    /// secrets or health check.
    pub fn named(name: &str) -> ContainerConfig {
        ContainerConfig {
            name: name.into(),
            port: None,
            command: Vec::new(),
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
            health_check: None,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogsConfig {
    /// The log driver.
    pub driver: LogDriver,
    /// awslogs-group (awslogs only; defaulted to `/ecs/<service>`).
    pub group: Option<String>,
    /// awslogs-stream-prefix (awslogs; defaulted to the service).
    pub stream_prefix: Option<String>,
    /// awslogs-create-group.
    pub create_group: bool,
    /// blocking | non-blocking, always written.
    pub mode: String,
    /// max-buffer-size (non-blocking only).
    pub max_buffer_size: Option<String>,
    /// Raw driver options.
    pub options: BTreeMap<String, String>,
    /// Driver options from secrets.
    pub secret_options: BTreeMap<String, String>,
    /// CloudWatch log group retention in days, used by `cargo ecs setup`.
    pub retention_days: Option<i32>,
    /// The FireLens log-router sidecar (driver `awsfirelens` only).
    pub router: Option<LogRouter>,
}

/// The FireLens log-router container added for the `awsfirelens` driver
/// (`[package.metadata.ecs.logs.router]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRouter {
    /// Router image (default: AWS for Fluent Bit).
    pub image: String,
    /// `fluentbit` or `fluentd` (`firelensConfiguration.type`).
    pub kind: String,
    /// `firelensConfiguration.options`.
    pub options: BTreeMap<String, String>,
}

/// awsvpc network configuration for the service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NetworkConfig {
    /// Subnet ids (empty: the default VPC's).
    pub subnets: Vec<String>,
    /// Security group ids (empty: the one `cargo ecs setup` made, else the VPC default).
    pub security_groups: Vec<String>,
    /// assignPublicIp.
    pub assign_public_ip: bool,
}
