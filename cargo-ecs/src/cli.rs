//! clap types only: the command line as DESIGN.md specifies it. No logic lives here; the
//! `commands/` modules turn these into `ecs-core` calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `cargo` invokes us as `cargo-ecs ecs …`; the outer enum makes both `cargo ecs …` and
/// `cargo-ecs ecs …` parse.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo::style::CLAP_STYLING)]
pub enum CargoCli {
    /// Deploy a Rust service to Amazon ECS: build, daemonless OCI image, ECR push, deploy.
    Ecs(EcsCli),
}

/// Deploy a Rust service to Amazon ECS with one command, no Docker daemon.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    after_help = "Configuration lives in [package.metadata.ecs] of Cargo.toml; see the README."
)]
pub struct EcsCli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to Cargo.toml
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Package Selection"
    )]
    pub manifest_path: Option<PathBuf>,
    /// Package to deploy
    #[arg(
        short = 'p',
        long,
        global = true,
        value_name = "SPEC",
        help_heading = "Package Selection"
    )]
    pub package: Option<String>,
    /// Named environment: applies [package.metadata.ecs.env.NAME] over the other keys
    #[arg(
        long = "env",
        global = true,
        value_name = "NAME",
        env = "CARGO_ECS_ENV"
    )]
    pub env_name: Option<String>,

    /// AWS profile; its keys win over AWS_ACCESS_KEY_ID (default: AWS_PROFILE, then `default`)
    #[arg(long, global = true, value_name = "NAME", help_heading = "AWS Options")]
    pub aws_profile: Option<String>,
    /// AWS region (no silent default: one must be configured)
    #[arg(
        long,
        global = true,
        value_name = "REGION",
        value_parser = region_name,
        help_heading = "AWS Options"
    )]
    pub region: Option<String>,
    /// Send every AWS API call to this URL (emulators, tests); AWS_ENDPOINT_URL also works
    #[arg(
        long,
        global = true,
        value_name = "URL",
        value_parser = aws_endpoint,
        help_heading = "AWS Options"
    )]
    pub endpoint_url: Option<String>,
    /// Send registry traffic for the ECR host to this URL (plain http only for loopback)
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "CARGO_ECS_REGISTRY_ENDPOINT",
        value_parser = registry_endpoint,
        help_heading = "AWS Options"
    )]
    pub registry_endpoint: Option<String>,

    /// Use verbose output (-vv very verbose)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Do not print status messages
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Coloring
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Output format for data on stdout
    #[arg(long, global = true, value_enum, default_value_t = Format::Human, value_name = "FMT")]
    pub format: Format,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text for people.
    Human,
    /// JSON for scripts.
    Json,
}

/// Options that pass through to `cargo build`.
#[derive(Debug, Clone, Default, Args)]
pub struct BuildArgs {
    /// Binary target to package: sets image.bin (default: the package's only binary)
    #[arg(long, value_name = "NAME", help_heading = "Compilation Options")]
    pub bin: Option<String>,
    /// Build with the given cargo profile (default: release)
    #[arg(
        long,
        value_name = "PROFILE-NAME",
        help_heading = "Compilation Options"
    )]
    pub profile: Option<String>,
    /// Space or comma separated list of features to activate
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Compilation Options"
    )]
    pub features: Vec<String>,
    /// Activate all available features
    #[arg(long, help_heading = "Compilation Options")]
    pub all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long, help_heading = "Compilation Options")]
    pub no_default_features: bool,
    /// Build for the target triple (default: from `architecture`)
    #[arg(long, value_name = "TRIPLE", help_heading = "Compilation Options")]
    pub target: Option<String>,
}

/// Settings that override `[package.metadata.ecs]` from the command line (highest precedence).
#[derive(Debug, Clone, Default, Args)]
pub struct SettingArgs {
    /// Cluster name or ARN
    #[arg(long, value_name = "NAME", help_heading = "Settings")]
    pub cluster: Option<String>,
    /// Service name
    #[arg(long, value_name = "NAME", help_heading = "Settings")]
    pub service: Option<String>,
    /// Launch type: fargate or ec2
    #[arg(long, value_name = "TYPE", help_heading = "Settings")]
    pub launch_type: Option<String>,
    /// Desired task count
    #[arg(long, value_name = "N", help_heading = "Settings")]
    pub desired_count: Option<String>,
    /// Set any metadata key: `--set cpu=512 --set logs.driver=splunk` (value parsed as TOML)
    #[arg(
        long = "set",
        value_name = "KEY=VALUE",
        value_parser = set_arg,
        help_heading = "Settings"
    )]
    pub set: Vec<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the task definition deploy would register (RegisterTaskDefinition input JSON)
    Render(RenderArgs),
    /// Build the binary and an OCI image; write an OCI layout and/or push it to ECR
    Build(BuildCmdArgs),
    /// Build, push, register and roll out; follow the deployment to its end
    Deploy(DeployArgs),
    /// Diff the rendered task definition against the deployed one (exit 1 when different)
    Diff(DiffArgs),
    /// Show the service, its deployments and recent events
    Status(StatusArgs),
    /// Point the service at the previous task definition revision and wait
    Rollback(RollbackArgs),
    /// Show the service's container logs in time order
    Logs(LogsArgs),
    /// One-time AWS set-up: cluster, ECR repository, log group, security group, key pair
    Setup(SetupArgs),
    /// Add a commented [package.metadata.ecs] to Cargo.toml (and optionally a GitHub workflow)
    Init(InitArgs),
}

/// `cargo ecs render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Image reference to put in the task definition (default: a placeholder)
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Settings overrides.
    #[command(flatten)]
    pub settings: SettingArgs,
}

/// `cargo ecs build`.
#[derive(Debug, Args)]
pub struct BuildCmdArgs {
    /// Write an OCI image layout to this directory
    #[arg(long, value_name = "DIR")]
    pub oci_layout: Option<PathBuf>,
    /// Push the image to ECR
    #[arg(long)]
    pub push: bool,
    /// Compilation options.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Settings overrides.
    #[command(flatten)]
    pub settings: SettingArgs,
}

/// `cargo ecs deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Print the plan (image, task definition diff, service change) and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Return once the service is updated, without following the deployment
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this long (e.g. 30m, 90s)
    #[arg(long, value_name = "DUR", default_value = "30m", value_parser = duration_arg)]
    pub timeout: String,
    /// Give up when nothing changes for this long
    #[arg(long, value_name = "DUR", default_value = "10m", value_parser = duration_arg)]
    pub no_progress_timeout: String,
    /// Register a new revision even when nothing changed
    #[arg(long)]
    pub force_new_revision: bool,
    /// Create the service when it does not exist
    #[arg(long)]
    pub create_service: bool,
    /// After a failed deploy, point the service back at the revision it ran before
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Compilation options.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Settings overrides.
    #[command(flatten)]
    pub settings: SettingArgs,
}

/// `cargo ecs diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Image reference for the rendered side (default: the deployed image)
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Settings overrides.
    #[command(flatten)]
    pub settings: SettingArgs,
}

/// `cargo ecs status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Follow the newest deployment until it ends (exit 3 if it fails)
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long
    #[arg(long, value_name = "DUR", default_value = "30m", value_parser = duration_arg)]
    pub timeout: String,
    /// Number of recent service events to show
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub events: usize,
    /// Settings overrides.
    #[command(flatten)]
    pub settings: SettingArgs,
}

/// `cargo ecs rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Roll back to this revision instead of the previous one
    #[arg(long, value_name = "N")]
    pub revision: Option<i32>,
    /// Return without waiting
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this long
    #[arg(long, value_name = "DUR", default_value = "30m", value_parser = duration_arg)]
    pub timeout: String,
    /// Settings overrides.
    #[command(flatten)]
    pub settings: SettingArgs,
}

/// `cargo ecs logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new events until Ctrl-C
    #[arg(short, long, conflicts_with = "until")]
    pub follow: bool,
    /// Start time: a duration ago (90s, 15m, 2h, 1d) or RFC3339
    #[arg(long, value_name = "WHEN", default_value = "10m", value_parser = when_arg)]
    pub since: String,
    /// End time: a duration ago or RFC3339
    #[arg(long, value_name = "WHEN", value_parser = when_arg)]
    pub until: Option<String>,
    /// CloudWatch Logs filter pattern
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Only this task (short id or ARN)
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// Only this container
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// Use this task definition revision instead of the service's current one
    #[arg(long, value_name = "N")]
    pub revision: Option<i32>,
    /// Print times in UTC instead of local time
    #[arg(long)]
    pub utc: bool,
    /// Settings overrides.
    #[command(flatten)]
    pub settings: SettingArgs,
}

/// `cargo ecs setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Allow SSH (port 22) from this CIDR only; a bare address becomes /32
    #[arg(long, value_name = "CIDR")]
    pub ssh_cidr: Option<String>,
    /// Permit --ssh-cidr 0.0.0.0/0 or ::/0 (not recommended)
    #[arg(long)]
    pub allow_ssh_from_anywhere: bool,
    /// EC2 key pair name to create (EC2 launch type only)
    #[arg(long, value_name = "NAME")]
    pub key_pair: Option<String>,
    /// Where to write the new key pair's private key (default: ./NAME.pem)
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Write the created ids into Cargo.toml's metadata
    #[arg(long)]
    pub write: bool,
    /// Settings overrides.
    #[command(flatten)]
    pub settings: SettingArgs,
}

/// `cargo ecs init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also write the GitHub Actions deploy workflow
    #[arg(long)]
    pub github: bool,
    /// With --github: report drift between the workflow on disk and the template (exit 1)
    #[arg(long, requires = "github")]
    pub check: bool,
    /// Launch type for the skeleton: fargate or ec2
    #[arg(long, value_name = "TYPE", default_value = "fargate")]
    pub launch_type: String,
}

// Value parsers: argument *syntax* is checked here, so clap reports it as a usage error (exit
// 2, with the usage line). The values stay strings; the commands read them again.

/// `--set KEY=VALUE`: an `=` and a key before it.
fn set_arg(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => Ok(s.to_string()),
        Some(_) => Err("the key before `=` is empty; write KEY=VALUE, e.g. `cpu=512`".into()),
        None => {
            Err("expected KEY=VALUE, e.g. `--set cpu=512` or `--set logs.driver=splunk`".into())
        }
    }
}

/// `90s`, `15m`, `2h`, `1h30m`, `1d` or plain seconds (what `deploy`, `status --wait` and
/// `rollback` accept): checked here so a bad one is a usage error.
fn duration_arg(s: &str) -> Result<String, String> {
    duration_secs(s).map(|_| s.to_string())
}

/// `--region`: checked when parsed, so a bad one is a usage error before anything is built.
/// AWS region names are lowercase letters, digits and dashes (`us-east-1`, `eu-west-3`).
fn region_name(s: &str) -> Result<String, String> {
    if ecs_core::aws::is_region_name(s) {
        Ok(s.to_string())
    } else {
        Err(
            "expected a region name such as us-east-1 (lowercase letters, digits and dashes)"
                .into(),
        )
    }
}

/// `--endpoint-url`: an http(s) URL with a host.
fn aws_endpoint(s: &str) -> Result<String, String> {
    ecs_core::aws::error::check_endpoint_url("--endpoint-url", s)
        .map(|()| s.to_string())
        .map_err(|e| format!("{}; write it like http://127.0.0.1:5000", e.reason))
}

/// `--registry-endpoint` / `CARGO_ECS_REGISTRY_ENDPOINT`: https, or plain http on loopback.
fn registry_endpoint(s: &str) -> Result<String, String> {
    ecs_core::registry::http::endpoint_url("registry", Some(s))
        .map(|_| s.to_string())
        .map_err(|e| e.to_string())
}

/// The seconds in a duration (`90s`, `15m`, `2h`, `1h30m`, `1d` or plain seconds).
pub(crate) fn duration_secs(s: &str) -> Result<u64, String> {
    const HELP: &str = "expected a duration like 90s, 15m, 2h or 1h30m";
    let t = s.trim();
    if t.is_empty() {
        return Err(HELP.into());
    }
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| HELP.to_string())?;
        num.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(HELP.into()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "the duration is too long".to_string())?;
    }
    if !num.is_empty() {
        return Err(HELP.into());
    }
    Ok(total)
}

/// `--since`/`--until`: a duration ago or an RFC3339 time. Only the syntax is checked here; a
/// time out of range is reported by `logs` itself.
fn when_arg(s: &str) -> Result<String, String> {
    use ecs_core::logs::LogsError;
    match ecs_core::logs::time::parse_when("WHEN", s, jiff::Timestamp::now()) {
        Err(LogsError::BadTime { .. }) => Err(
            "expected a duration ago (90s, 15m, 2h, 1d, 1h30m) or an RFC3339 time \
             (2024-05-01T12:00:00Z)"
                .into(),
        ),
        _ => Ok(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_syntax_is_checked_by_clap() {
        assert!(set_arg("cpu=512").is_ok());
        assert!(set_arg("env.A==b").is_ok());
        assert!(set_arg("cpu").is_err());
        assert!(set_arg("=5").is_err());
        for ok in ["30m", "90s", "1h30m", "120", "1d"] {
            assert!(duration_arg(ok).is_ok(), "{ok}");
        }
        for bad in ["abc", "", "5x", "m", "99999999999999999999d"] {
            assert!(duration_arg(bad).is_err(), "{bad}");
        }
        for ok in ["10m", "1h30m", "now", "2024-05-01T12:00:00Z"] {
            assert!(when_arg(ok).is_ok(), "{ok}");
        }
        assert!(when_arg("5x").is_err());
    }
}
