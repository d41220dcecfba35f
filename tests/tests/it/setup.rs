//! End-to-end tests of `cargo ecs setup` and `cargo ecs init`: the built binary on throwaway
//! packages against a real `moto_server`; what AWS ends up holding is read back through the
//! Rust SDK (DescribeSecurityGroups, DescribeKeyPairs, DescribeClusters…), not from our output.

use std::collections::BTreeSet;
use std::path::Path;

use ecs_e2e::Rig;
use serde_json::Value;

use crate::common::run;

const MANIFEST_HEAD: &str = r#"# A service deployed by the setup tests.
[package]
name = "hello"   # keep this comment
version = "0.1.0"
edition = "2021"

[workspace]

"#;

/// A throwaway package with `[package.metadata.ecs]` = `metadata`.
fn package(metadata: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("cargo-ecs-setup")
        .tempdir()
        .expect("temp dir");
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!("{MANIFEST_HEAD}{metadata}"),
    )
    .expect("write manifest");
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() {\n    let _ = std::net::TcpListener::bind(\"0.0.0.0:3000\");\n}\n",
    )
    .expect("main.rs");
    dir
}

const FARGATE: &str = r#"[package.metadata.ecs]
cluster = "apps"
execution-role = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"

[package.metadata.ecs.logs]
driver = "awslogs"
retention-days = 14
"#;

const EC2: &str = r#"[package.metadata.ecs]
cluster = "apps"
launch-type = "ec2"
memory = 512
"#;

/// `cargo ecs SUBCOMMAND ARGS` in `dir` without colour: (exit code, stdout, stderr).
fn cargo_ecs(rig: &Rig, dir: &Path, subcommand: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = rig.cargo_ecs();
    cmd.arg(subcommand)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1");
    run(&mut cmd)
}

fn setup(rig: &Rig, dir: &Path, args: &[&str]) -> (i32, String, String) {
    cargo_ecs(rig, dir, "setup", args)
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// `text` contains `needle`, ignoring all whitespace (miette wraps help text anywhere, even
/// inside `--flag-names`).
fn says(text: &str, needle: &str) -> bool {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    squash(text).contains(&squash(needle))
}

async fn sdk(rig: &Rig) -> aws_config::SdkConfig {
    let opts = ecs_core::aws::AwsOptions {
        region: Some(ecs_e2e::REGION.into()),
        endpoint_url: Some(rig.moto_url.clone()),
        ..Default::default()
    };
    ecs_core::aws::load_with_credentials(&opts, "testing", "testing")
        .await
        .expect("sdk config")
}

/// The inbound rules of the group called `name`, as AWS describes them:
/// `(protocol, from, to, cidr)` for every IPv4 and IPv6 range, plus its id.
async fn inbound_rules(sdk: &aws_config::SdkConfig, name: &str) -> (String, BTreeSet<String>) {
    let groups = groups_named(sdk, name).await;
    assert_eq!(
        groups.len(),
        1,
        "exactly one group named {name}: {groups:?}"
    );
    let group = &groups[0];
    let mut rules = BTreeSet::new();
    for p in group.ip_permissions() {
        let proto = p.ip_protocol().unwrap_or_default();
        let (from, to) = (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
        for r in p.ip_ranges() {
            rules.insert(format!(
                "{proto} {from}-{to} {}",
                r.cidr_ip().unwrap_or_default()
            ));
        }
        for r in p.ipv6_ranges() {
            rules.insert(format!(
                "{proto} {from}-{to} {}",
                r.cidr_ipv6().unwrap_or_default()
            ));
        }
        assert!(p.user_id_group_pairs().is_empty() && p.prefix_list_ids().is_empty());
    }
    (group.group_id().unwrap_or_default().to_string(), rules)
}

fn expected_rules(ssh: Option<&str>) -> BTreeSet<String> {
    let mut want: BTreeSet<String> = [
        "tcp 80-80 0.0.0.0/0",
        "tcp 80-80 ::/0",
        "tcp 443-443 0.0.0.0/0",
        "tcp 443-443 ::/0",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    if let Some(c) = ssh {
        want.insert(format!("tcp 22-22 {c}"));
    }
    want
}

async fn group_count(sdk: &aws_config::SdkConfig, name: &str) -> usize {
    groups_named(sdk, name).await.len()
}

/// The security groups called `name` (DescribeSecurityGroups, filter `group-name`).
async fn groups_named(
    sdk: &aws_config::SdkConfig,
    name: &str,
) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
    aws_sdk_ec2::Client::new(sdk)
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()
        .to_vec()
}

fn pem_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pem"))
        .collect()
}

#[tokio::test]
async fn setup_twice_creates_once_then_finds_everything_and_reconciles_ssh() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package(FARGATE);
    let sdk = sdk(&rig).await;

    // First run: everything is created.
    let (code, out, err) = setup(
        &rig,
        pkg.path(),
        &["--ssh-cidr", "203.0.113.25", "--format", "json"],
    );
    assert_eq!(code, 0, "stderr:\n{err}");
    let first = json(&out);
    assert_eq!(first["changed"], true);
    for key in ["cluster", "repository", "log_group", "security_group"] {
        assert_eq!(first[key]["status"], "created", "{key}: {first:#}");
    }
    assert_eq!(first["log_group"]["name"], "/ecs/hello");
    assert_eq!(first["security_group"]["name"], "hello-ecs");
    assert_eq!(first["key_pair"]["status"], "not-needed");
    assert_eq!(first["network"]["subnets_from"], "default-vpc");
    assert_eq!(first["execution_role"]["checked"], false);
    assert!(pem_files(pkg.path()).is_empty(), "no key file for Fargate");

    // What AWS holds: exactly 80/443 from anywhere (v4 + v6) and 22 from the /32.
    let (sg_id, rules) = inbound_rules(&sdk, "hello-ecs").await;
    assert_eq!(rules, expected_rules(Some("203.0.113.25/32")));
    assert_eq!(first["security_group"]["id"], sg_id.as_str());
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let clusters = ecs
        .describe_clusters()
        .clusters("apps")
        .send()
        .await
        .unwrap();
    assert_eq!(clusters.clusters()[0].status(), Some("ACTIVE"));
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/ecs/hello")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(14));
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let repos = ecr
        .describe_repositories()
        .repository_names("hello")
        .send()
        .await
        .unwrap();
    let repo = &repos.repositories()[0];
    assert_eq!(
        repo.image_scanning_configuration()
            .map(|c| c.scan_on_push()),
        Some(true)
    );

    // Second run, human output: nothing is created, and it says so per resource.
    let (code, out, err) = setup(&rig, pkg.path(), &["--ssh-cidr", "203.0.113.25"]);
    assert_eq!(code, 0, "stderr:\n{err}");
    assert!(out.contains("Nothing was created or changed"), "{out}");
    for line in ["cluster", "repository", "log group", "security group"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("no {line} row in\n{out}"));
        assert!(row.contains(" found"), "{row}");
        assert!(!row.contains("created"), "{row}");
    }
    assert!(
        out.contains("not needed"),
        "Fargate says no key pair is needed:\n{out}"
    );
    assert!(
        out.contains("\"iam:PassRole\""),
        "prints the deployer policy:\n{out}"
    );
    assert!(
        out.contains("ecs-tasks.amazonaws.com"),
        "prints the trust policy:\n{out}"
    );
    assert_eq!(
        inbound_rules(&sdk, "hello-ecs").await.1,
        expected_rules(Some("203.0.113.25/32"))
    );
    assert_eq!(group_count(&sdk, "hello-ecs").await, 1);

    // The same run as JSON: every resource found, nothing changed.
    let (code, out, _) = setup(
        &rig,
        pkg.path(),
        &["--ssh-cidr", "203.0.113.25/32", "--format", "json"],
    );
    assert_eq!(code, 0);
    let again = json(&out);
    assert_eq!(again["changed"], false, "{again:#}");
    for key in ["cluster", "repository", "log_group", "security_group"] {
        assert_eq!(again[key]["status"], "found", "{key}");
    }

    // A new address replaces the old SSH rule (reconciled, not added beside it).
    let (code, out, err) = setup(
        &rig,
        pkg.path(),
        &["--ssh-cidr", "198.51.100.0/24", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let moved = json(&out);
    assert_eq!(moved["security_group"]["status"], "updated");
    assert_eq!(
        moved["security_group"]["added"][0]["cidr"],
        "198.51.100.0/24"
    );
    assert_eq!(
        moved["security_group"]["removed"][0]["source"]["value"],
        "203.0.113.25/32"
    );
    assert_eq!(
        inbound_rules(&sdk, "hello-ecs").await.1,
        expected_rules(Some("198.51.100.0/24"))
    );

    // Without --ssh-cidr there is no SSH rule at all.
    let (code, out, err) = setup(&rig, pkg.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("- removed tcp/22 from 198.51.100.0/24"),
        "{out}"
    );
    assert_eq!(
        inbound_rules(&sdk, "hello-ecs").await.1,
        expected_rules(None)
    );
}

#[tokio::test]
async fn ssh_cidr_is_validated_before_anything_is_created() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package(FARGATE);
    let sdk = sdk(&rig).await;

    for anywhere in ["0.0.0.0/0", "::/0"] {
        let (code, out, err) = setup(&rig, pkg.path(), &["--ssh-cidr", anywhere]);
        assert_eq!(code, 1, "{anywhere}: stdout {out}\nstderr {err}");
        assert!(says(&err, "whole internet"), "{err}");
        assert!(says(&err, "--allow-ssh-from-anywhere"), "{err}");
    }
    let (code, _, err) = setup(&rig, pkg.path(), &["--ssh-cidr", "203.0.113.25/24"]);
    assert_eq!(code, 1);
    assert!(
        says(&err, "203.0.113.0/24") && says(&err, "203.0.113.25/32"),
        "{err}"
    );
    let (code, _, err) = setup(&rig, pkg.path(), &["--ssh-cidr", "203.0.113.300"]);
    assert_eq!(code, 1);
    assert!(says(&err, "not an IPv4 or IPv6 address"), "{err}");
    // Nothing reached AWS.
    assert_eq!(group_count(&sdk, "hello-ecs").await, 0);

    // Explicitly allowed: it works, with a warning, and the rule is really 0.0.0.0/0.
    let (code, _, err) = setup(
        &rig,
        pkg.path(),
        &["--ssh-cidr", "0.0.0.0/0", "--allow-ssh-from-anywhere"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        says(&err, "warning:") && says(&err, "whole internet"),
        "{err}"
    );
    assert_eq!(
        inbound_rules(&sdk, "hello-ecs").await.1,
        expected_rules(Some("0.0.0.0/0"))
    );

    // IPv6 single address → /128, in Ipv6Ranges.
    let (code, _, err) = setup(&rig, pkg.path(), &["--ssh-cidr", "2001:db8::25"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        inbound_rules(&sdk, "hello-ecs").await.1,
        expected_rules(Some("2001:db8::25/128"))
    );
}

#[cfg(unix)]
#[tokio::test]
async fn key_pair_only_for_ec2_with_a_0600_file_never_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let rig = Rig::start().expect("rig starts");
    let sdk = sdk(&rig).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);

    // Fargate refuses --key-pair (exit 1) and writes no file.
    let fargate = package(FARGATE);
    let (code, _, err) = setup(&rig, fargate.path(), &["--key-pair", "hello-key"]);
    assert_eq!(code, 1);
    assert!(
        says(&err, "Fargate") && says(&err, "no key pair is needed"),
        "{err}"
    );
    assert!(pem_files(fargate.path()).is_empty());

    // EC2: created, private key in a 0600 file, never printed.
    let pkg = package(EC2);
    let (code, out, err) = setup(
        &rig,
        pkg.path(),
        &[
            "--key-pair",
            "hello-key",
            "--ssh-cidr",
            "203.0.113.25",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["key_pair"]["status"], "created", "{doc:#}");
    let key_path = pkg.path().join("hello-key.pem");
    let meta = std::fs::metadata(&key_path).expect("key file written");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_path).unwrap();
    assert!(key.contains("PRIVATE KEY"), "{key}");
    let body_line = key.lines().nth(1).unwrap_or_default();
    assert!(!body_line.is_empty() && !out.contains(body_line) && !says(&err, body_line));
    let pairs = ec2.describe_key_pairs().send().await.unwrap();
    let names: Vec<_> = pairs
        .key_pairs()
        .iter()
        .filter_map(|k| k.key_name())
        .collect();
    assert_eq!(names, ["hello-key"]);
    assert_eq!(
        inbound_rules(&sdk, "hello-ecs").await.1,
        expected_rules(Some("203.0.113.25/32"))
    );

    // Second run: found, the file untouched.
    let (code, out, err) = setup(
        &rig,
        pkg.path(),
        &["--key-pair", "hello-key", "--ssh-cidr", "203.0.113.25"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Nothing was created or changed"), "{out}");
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), key);

    // A new key pair whose file already exists: refused before anything is created.
    std::fs::write(pkg.path().join("other.pem"), "mine").unwrap();
    let (code, _, err) = setup(&rig, pkg.path(), &["--key-pair", "other"]);
    assert_eq!(code, 1);
    assert!(says(&err, "refusing to overwrite"), "{err}");
    assert_eq!(
        std::fs::read_to_string(pkg.path().join("other.pem")).unwrap(),
        "mine"
    );
    let pairs = ec2.describe_key_pairs().send().await.unwrap();
    assert_eq!(pairs.key_pairs().len(), 1);

    // EC2 without --key-pair: none created, and it says how to get one.
    let (code, out, _) = setup(&rig, pkg.path(), &[]);
    assert_eq!(code, 0);
    assert!(out.contains("not requested"), "{out}");
}

#[tokio::test]
async fn write_puts_the_ids_into_cargo_toml_keeping_comments() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package(FARGATE);
    let (code, out, err) = setup(&rig, pkg.path(), &["--write", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    let sg = doc["security_group"]["id"].as_str().unwrap().to_string();
    let text = std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap();
    assert!(text.starts_with(MANIFEST_HEAD), "{text}");
    assert!(
        text.contains(&format!("security-groups = [\"{sg}\"]")),
        "{text}"
    );
    assert!(text.contains("subnets = [\"subnet-"), "{text}");
    // The next run uses them and changes nothing, in AWS or in the file.
    let (code, out, err) = setup(&rig, pkg.path(), &["--write", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let again = json(&out);
    assert_eq!(again["changed"], false);
    assert_eq!(again["network"]["subnets_from"], "config");
    assert_eq!(again["manifest"]["written"], false);
    assert_eq!(
        std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap(),
        text
    );
}

const COMMENTED: &str = r#"# Top comment: kept byte for byte.
[package]
name = "hello"        # the name
version = "0.1.0"
edition = "2021"
description = "α service"   # non-ASCII too

# Dependencies, none yet.
[dependencies]

[workspace]
# trailing comment without a final newline"#;

fn init_cmd(rig: &Rig, dir: &Path, args: &[&str]) -> (i32, String, String) {
    cargo_ecs(rig, dir, "init", args)
}

#[tokio::test]
async fn init_appends_a_commented_table_that_renders() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package("");
    std::fs::write(pkg.path().join("Cargo.toml"), COMMENTED).unwrap();

    let (code, out, err) = init_cmd(&rig, pkg.path(), &[]);
    assert_eq!(code, 0, "stdout {out}\nstderr {err}");
    let text = std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap();
    assert!(
        text.starts_with(COMMENTED),
        "the original bytes are the prefix:\n{text}"
    );
    assert_eq!(&text.as_bytes()[..COMMENTED.len()], COMMENTED.as_bytes());
    assert!(text.contains("\n[package.metadata.ecs]\n"), "{text}");
    assert!(text.contains("bin = \"hello\""), "{text}");
    assert!(
        text.contains("port = 3000"),
        "port guessed from src/main.rs:\n{text}"
    );
    assert!(says(&err, "3000, guessed from src/main.rs:2"), "{err}");
    // moto's STS names the account, so the execution role is filled in.
    assert!(
        text.contains("execution-role = \"arn:aws:iam::123456789012:role/ecsTaskExecutionRole\""),
        "{text}"
    );

    // The result renders without errors.
    let mut render = rig.cargo_ecs();
    render
        .arg("render")
        .current_dir(pkg.path())
        .env("NO_COLOR", "1");
    let (code, out, err) = run(&mut render);
    assert_eq!(code, 0, "render failed:\n{err}");
    let td = json(&out);
    assert_eq!(
        td["containerDefinitions"][0]["portMappings"][0]["containerPort"],
        3000
    );
    assert_eq!(td["requiresCompatibilities"][0], "FARGATE");

    // A second init refuses and leaves the file alone.
    let (code, _, err) = init_cmd(&rig, pkg.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        says(&err, "already has a [package.metadata.ecs] table"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap(),
        text
    );
}

#[tokio::test]
async fn init_without_a_port_literal_says_it_used_the_default() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package("");
    std::fs::write(pkg.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    let (code, _, err) = init_cmd(&rig, pkg.path(), &["--launch-type", "ec2"]);
    assert_eq!(code, 0, "{err}");
    assert!(says(&err, "8080, the default"), "{err}");
    let text = std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap();
    assert!(text.starts_with(MANIFEST_HEAD));
    assert!(
        text.contains("launch-type = \"ec2\"") && text.contains("port = 8080"),
        "{text}"
    );
    let mut render = rig.cargo_ecs();
    render.arg("render").current_dir(pkg.path());
    let (code, out, err) = run(&mut render);
    assert_eq!(code, 0, "render failed:\n{err}");
    assert_eq!(json(&out)["requiresCompatibilities"][0], "EC2");
}

#[tokio::test]
async fn init_github_writes_the_workflow_and_check_reports_drift() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package("");
    std::fs::create_dir(pkg.path().join(".git")).unwrap();
    let (code, _, err) = init_cmd(&rig, pkg.path(), &["--github"]);
    assert_eq!(code, 0, "{err}");
    let wf = pkg
        .path()
        .join(".github/workflows/deploy-hello-production.yml");
    let text = std::fs::read_to_string(&wf).expect("workflow written");
    assert!(text.contains("us-east-1"), "{text}");
    assert!(
        std::fs::read_to_string(pkg.path().join("Cargo.toml"))
            .unwrap()
            .contains("[package.metadata.ecs]")
    );

    // The workflow runs `cargo ecs deploy --env production`: the table it names now exists,
    // added once, and what the workflow runs renders.
    assert!(text.contains("--env production"), "{text}");
    assert!(
        says(&err, "Added [package.metadata.ecs.env.production]"),
        "{err}"
    );
    let manifest = std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap();
    assert_eq!(
        manifest
            .matches("[package.metadata.ecs.env.production]")
            .count(),
        1
    );
    let mut render = rig.cargo_ecs();
    render
        .args(["render", "--env", "production"])
        .current_dir(pkg.path());
    let (code, _, err) = run(&mut render);
    assert_eq!(code, 0, "the workflow's --env does not render:\n{err}");
    let (code, _, err) = init_cmd(&rig, pkg.path(), &["--github"]);
    assert_eq!(code, 0, "{err}");
    assert!(!says(&err, "Added"), "{err}");
    assert_eq!(
        std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap(),
        manifest,
        "a second run leaves Cargo.toml alone"
    );

    let (code, _, err) = init_cmd(&rig, pkg.path(), &["--github", "--check"]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(&wf, text.replace("us-east-1", "eu-west-1")).unwrap();
    let (code, out, err) = init_cmd(&rig, pkg.path(), &["--github", "--check"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("-") && out.contains("+") && out.contains("eu-west-1"),
        "{out}"
    );
    assert!(says(&err, "differs from the template"), "{err}");
}

#[tokio::test]
async fn security_group_goes_into_the_vpc_of_the_configured_subnets() {
    let rig = Rig::start().expect("rig starts");
    let sdk = sdk(&rig).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .and_then(|v| v.vpc_id())
        .unwrap()
        .to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.42.1.0/24")
        .send()
        .await
        .unwrap()
        .subnet()
        .and_then(|s| s.subnet_id())
        .unwrap()
        .to_string();
    let pkg = package(&format!(
        "{FARGATE}\n[package.metadata.ecs.network]\nsubnets = [\"{subnet}\"]\n"
    ));
    let (code, out, err) = setup(&rig, pkg.path(), &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert_eq!(doc["network"]["vpc"], vpc.as_str());
    assert_eq!(doc["network"]["subnets_from"], "config");
    let groups = ec2
        .describe_security_groups()
        .group_ids(doc["security_group"]["id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups()[0].vpc_id(), Some(vpc.as_str()));

    // Subnets from two VPCs: refused, naming both.
    let default_subnet = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .subnets()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    let mixed = package(&format!(
        "{FARGATE}\n[package.metadata.ecs.network]\nsubnets = [\"{subnet}\", \"{default_subnet}\"]\n"
    ));
    let (code, _, err) = setup(&rig, mixed.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        says(&err, "spans more than one VPC") && says(&err, &vpc),
        "{err}"
    );

    // A subnet that does not exist: a clear error naming it.
    let missing = package(&format!(
        "{FARGATE}\n[package.metadata.ecs.network]\nsubnets = [\"subnet-0123456789abcdef0\"]\n"
    ));
    let (code, _, err) = setup(&rig, missing.path(), &[]);
    assert_eq!(code, 1);
    assert!(says(&err, "subnet-0123456789abcdef0"), "{err}");
}

#[tokio::test]
async fn a_refused_ssh_cidr_keeps_the_old_ssh_rule_and_says_what_to_use() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package(FARGATE);
    let sdk = sdk(&rig).await;
    let (code, _, err) = setup(&rig, pkg.path(), &["--ssh-cidr", "10.0.0.1"]);
    assert_eq!(code, 0, "{err}");
    let before = inbound_rules(&sdk, "hello-ecs").await.1;
    assert_eq!(before, expected_rules(Some("10.0.0.1/32")));

    // An IPv4-mapped IPv6 address: refused locally, with the IPv4 block to use instead.
    for mapped in ["::ffff:1.2.3.4", "::ffff:1.2.3.4/128"] {
        let (code, out, err) = setup(&rig, pkg.path(), &["--ssh-cidr", mapped]);
        assert_eq!(code, 1, "{mapped}: stdout {out}\nstderr {err}");
        assert!(says(&err, "--ssh-cidr 1.2.3.4/32"), "{err}");
        assert!(!says(&err, "AuthorizeSecurityGroupIngress"), "{err}");
        assert!(!says(&err, "region"), "{err}");
        // The group still has the SSH rule the user had.
        assert_eq!(inbound_rules(&sdk, "hello-ecs").await.1, before);
    }
    // The suggestion works.
    let (code, out, err) = setup(&rig, pkg.path(), &["--ssh-cidr", "1.2.3.4/32"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("+ added   tcp/22 from 1.2.3.4/32"), "{out}");
    assert!(out.contains("- removed tcp/22 from 10.0.0.1/32"), "{out}");
    assert_eq!(
        inbound_rules(&sdk, "hello-ecs").await.1,
        expected_rules(Some("1.2.3.4/32"))
    );
}

#[tokio::test]
async fn write_after_init_replaces_the_network_skeleton_and_keeps_the_logs_hint() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package("");
    let (code, _, err) = init_cmd(&rig, pkg.path(), &[]);
    assert_eq!(code, 0, "{err}");
    let initialised = std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap();
    let skeleton_at = initialised
        .find("# [package.metadata.ecs.network]")
        .expect("init writes a commented network table");
    let (code, _, err) = setup(&rig, pkg.path(), &["--write"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap();
    // Everything above the commented skeleton is untouched; the skeleton became the table.
    assert!(text.starts_with(&initialised[..skeleton_at]), "{text}");
    assert!(!text.contains("# [package.metadata.ecs.network]"), "{text}");
    let logs = text.find("[package.metadata.ecs.logs]").unwrap();
    let hint = text.find("# retention-days = 30").unwrap();
    let network = text.find("\n[package.metadata.ecs.network]\n").unwrap();
    assert!(logs < hint && hint < network, "{text}");
    assert!(text.contains("security-groups = [\"sg-"), "{text}");

    // Uncommenting the hint sets the log retention, and the result renders.
    std::fs::write(
        pkg.path().join("Cargo.toml"),
        text.replace("# retention-days = 30", "retention-days = 30"),
    )
    .unwrap();
    let (code, _, err) = cargo_ecs(&rig, pkg.path(), "render", &[]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = setup(&rig, pkg.path(), &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["log_group"]["notes"][0], "retention 30 days");
}

#[tokio::test]
async fn argument_syntax_errors_exit_2_and_diff_errors_differ_from_different() {
    let rig = Rig::start().expect("rig starts");
    let pkg = package(FARGATE);
    for args in [
        &["render", "--set", "cpu"][..],
        &["render", "--set", "=5"],
        &["deploy", "--timeout", "abc"],
        &["status", "--wait", "--timeout", "5x"],
        &["logs", "--since", "5x"],
        &["logs", "--until", "yesterday-ish"],
        &["logs", "--follow", "--until", "1m"],
        &["init", "--check"],
    ] {
        let (code, out, err) = cargo_ecs(&rig, pkg.path(), args[0], &args[1..]);
        assert_eq!(code, 2, "{args:?}: stdout {out}\nstderr {err}");
        assert!(
            says(&err, "error:") && says(&err, "--help"),
            "{args:?}: {err}"
        );
    }
    // Configuration content is not usage: still 1.
    let (code, _, err) = cargo_ecs(&rig, pkg.path(), "render", &["--set", "cpu=banana"]);
    assert_eq!(code, 1, "{err}");

    // diff: 1 = different (nothing deployed yet), 2 = it could not tell.
    let (code, _, err) = setup(&rig, pkg.path(), &[]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cargo_ecs(&rig, pkg.path(), "diff", &[]);
    assert_eq!(code, 1, "stdout {out}\nstderr {err}");
    let (code, _, err) = cargo_ecs(
        &rig,
        pkg.path(),
        "diff",
        &["--endpoint-url", "http://127.0.0.1:1"],
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cargo_ecs(&rig, pkg.path(), "diff", &["--set", "cpu=banana"]);
    assert_eq!(code, 2, "{err}");
}
