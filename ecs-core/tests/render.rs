//! Snapshots of rendered task definitions (the RegisterTaskDefinition input JSON) for the
//! launch-type/log-driver combinations the issue names, from inline manifests.

mod common;

use common::{ROLE, resolve};
use ecs_core::taskdef;

const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/svc@sha256:0000000000000000000000000000000000000000000000000000000000000001";

fn render(rest: &str) -> String {
    let resolved = resolve(rest).unwrap_or_else(|e| panic!("{}", common::report(&e)));
    let value = taskdef::render(&resolved.config, IMAGE, "us-east-1")
        .unwrap_or_else(|e| panic!("{}", common::report(&e)));
    serde_json::to_string_pretty(&value).expect("json")
}

#[test]
fn fargate_awslogs() {
    insta::assert_snapshot!(render(&format!(
        r#"
[package.metadata.ecs]
{ROLE}cluster = "prod"
cpu = "0.5 vCPU"
memory = "1 GB"

[package.metadata.ecs.container]
port = 8080
command = ["--listen", "0.0.0.0:8080"]
environment = {{ RUST_LOG = "info", PORT = 8080 }}
health-check = {{ command = ["CMD", "/app/svc", "--health"], interval = 30, timeout = 5, retries = 3, start-period = 10 }}

[package.metadata.ecs.logs]
group = "/ecs/svc-prod"
create-group = true
max-buffer-size = "25m"
"#
    )));
}

#[test]
fn ec2_fluentd_bridge() {
    insta::assert_snapshot!(render(
        r#"
[package.metadata.ecs]
launch-type = "ec2"
network-mode = "bridge"
cpu = 512
memory = 768

[package.metadata.ecs.container]
port = 3000

[package.metadata.ecs.logs]
driver = "fluentd"
options = { fluentd-address = "localhost:24224", tag = "svc" }
"#
    ));
}

#[test]
fn fargate_awsfirelens_with_router() {
    insta::assert_snapshot!(render(&format!(
        r#"
[package.metadata.ecs]
{ROLE}cpu = 1024
memory = 2048

[package.metadata.ecs.logs]
driver = "awsfirelens"
options = {{ Name = "cloudwatch_logs", region = "us-east-1", log_group_name = "/ecs/svc", log_stream_prefix = "svc-", auto_create_group = "true" }}
router = {{ type = "fluentbit", options = {{ enable-ecs-log-metadata = "true" }} }}
"#
    )));
}

#[test]
fn arm64() {
    insta::assert_snapshot!(render(&format!(
        r#"
[package.metadata.ecs]
{ROLE}architecture = "arm64"
cpu = 8192
memory = 16384
"#
    )));
}

#[test]
fn secrets() {
    insta::assert_snapshot!(render(&format!(
        r#"
[package.metadata.ecs]
{ROLE}task-role = "arn:aws:iam::123456789012:role/svc-task"

[package.metadata.ecs.container.secrets]
DATABASE_URL = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
API_TOKEN = "arn:aws:ssm:us-east-1:123456789012:parameter/svc/api-token"
FLAGS = "/svc/flags"

[package.metadata.ecs.logs]
driver = "splunk"
options = {{ splunk-url = "https://splunk.example.com:8088" }}
secret-options = {{ splunk-token = "arn:aws:secretsmanager:us-east-1:123456789012:secret:splunk-Q1w2E3" }}
"#
    )));
}

#[test]
fn overrides() {
    insta::assert_snapshot!(render(&format!(
        r#"
[package.metadata.ecs]
{ROLE}
[package.metadata.ecs.container]
name = "web"
port = 8080

[package.metadata.ecs.overrides]
ephemeralStorage = {{ sizeInGiB = 30 }}
pidMode = "task"
containerDefinitions = [
  {{ name = "web", ulimits = [{{ name = "nofile", softLimit = 65536, hardLimit = 65536 }}], stopTimeout = 30 }},
  {{ name = "xray", image = "public.ecr.aws/xray/aws-xray-daemon:3.x", essential = false }},
]
"#
    )));
}

#[test]
fn rendering_is_deterministic_and_normalizes_to_itself() {
    let rest = format!("[package.metadata.ecs]\n{ROLE}cpu = 256\n");
    let a = render(&rest);
    let b = render(&rest);
    assert_eq!(a, b);
    let value: serde_json::Value = serde_json::from_str(&a).unwrap();
    let n = taskdef::normalize(&value);
    assert_eq!(taskdef::normalize(&n), n, "normalize is idempotent");
}
