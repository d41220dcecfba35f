//! Snapshots of configuration error reports (miette, no colour, 100 columns): every problem
//! at once, each with its full key path, the value, the valid choices, a "did you mean" for
//! misspelt keys, and the Cargo.toml line it came from.

mod common;

use common::{ROLE, report, resolve};

fn errors(rest: &str) -> String {
    match resolve(rest) {
        Ok(r) => panic!("expected errors, got {:#?}", r.config),
        Err(e) => report(&e),
    }
}

#[test]
fn cpu_memory_mismatch() {
    insta::assert_snapshot!(errors(&format!(
        "[package.metadata.ecs]\n{ROLE}cpu = 256\nmemory = 4096\n"
    )));
}

#[test]
fn fargate_fluentd() {
    insta::assert_snapshot!(errors(&format!(
        "[package.metadata.ecs]\n{ROLE}\n[package.metadata.ecs.logs]\ndriver = \"fluentd\"\n"
    )));
}

#[test]
fn fargate_bridge() {
    insta::assert_snapshot!(errors(&format!(
        "[package.metadata.ecs]\n{ROLE}network-mode = \"bridge\"\n"
    )));
}

#[test]
fn misspelt_key() {
    insta::assert_snapshot!(errors(&format!(
        "[package.metadata.ecs]\n{ROLE}servce = \"api\"\n\n[package.metadata.ecs.logs]\ndrivr = \"awslogs\"\n"
    )));
}

#[test]
fn three_problems_at_once() {
    insta::assert_snapshot!(errors(&format!(
        r#"[package.metadata.ecs]
{ROLE}cpu = "0.3 vCPU"
architecture = "sparc"

[package.metadata.ecs.container]
port = 0
"#
    )));
}

#[test]
fn secrets_and_splunk_token_in_plain_options() {
    insta::assert_snapshot!(errors(&format!(
        r#"[package.metadata.ecs]
{ROLE}
[package.metadata.ecs.container]
environment = {{ DB_PASSWORD = "hunter2" }}
secrets = {{ DATABASE_URL = "arn:aws:s3:::bucket/key", "1BAD" = "/ok/name" }}
health-check = {{ command = ["curl", "-f", "http://localhost/"], interval = 1 }}

[package.metadata.ecs.logs]
driver = "splunk"
options = {{ splunk-url = "https://splunk:8088", splunk-token = "plain" }}
"#
    )));
}

#[test]
fn missing_execution_role_and_blocking_buffer() {
    insta::assert_snapshot!(errors(
        r#"[package.metadata.ecs]
cpu = 16384
memory = "100 GB"

[package.metadata.ecs.logs]
mode = "blocking"
max-buffer-size = "25m"
"#
    ));
}

#[test]
fn wrong_types() {
    insta::assert_snapshot!(errors(&format!(
        r#"[package.metadata.ecs]
{ROLE}desired-count = "two"
image = "svc:latest"

[package.metadata.ecs.container]
command = "serve --port 8080"
"#
    )));
}

fn errors_with(rest: &str, inputs: &ecs_core::config::Inputs) -> String {
    let ws = common::workspace(&common::manifest(rest));
    match ecs_core::config::resolve(&ws, inputs) {
        Ok(r) => panic!("expected errors, got {:#?}", r.config),
        Err(e) => report(&e),
    }
}

fn set(args: &[&str]) -> ecs_core::config::Inputs {
    ecs_core::config::Inputs {
        settings: args
            .iter()
            .map(|a| ecs_core::config::Setting::parse_set(a).unwrap())
            .collect(),
        ..Default::default()
    }
}

#[test]
fn nested_env_table() {
    let inputs = ecs_core::config::Inputs {
        env_name: Some("prod".into()),
        ..Default::default()
    };
    insta::assert_snapshot!(errors_with(
        &format!(
            "[package.metadata.ecs]\n{ROLE}\n[package.metadata.ecs.env.prod]\ndesired-count = 3\n\n[package.metadata.ecs.env.prod.env.x]\ncpu = 1\nbogus = 2\n"
        ),
        &inputs
    ));
}

#[test]
fn invalid_service_reported_once() {
    insta::assert_snapshot!(errors(&format!(
        "[package.metadata.ecs]\n{ROLE}service = \"bad name!\"\n"
    )));
}

#[test]
fn settings_from_flags_and_variables() {
    let mut inputs = set(&["nosuch=1", "logs.driver=splunk", "cpu=512"]);
    inputs
        .vars
        .push(("CARGO_ECS_DESIRED_COUNT".into(), "many".into()));
    insta::assert_snapshot!(errors_with(
        &format!("[package.metadata.ecs]\n{ROLE}cpu = 256\nmemory = 512\n"),
        &inputs
    ));
}
