//! End-to-end tests: `cargo ecs deploy` (and `diff`, `status`, `rollback`) on a copy of
//! examples/hello against the rig — moto (ECS, ECR control plane, EC2) with
//! MOTO_ECS_SERVICE_RUNNING=1 and the real local registry. The image the service ends up
//! pointing at is pulled back from the registry and run with runc: it must answer `GET /`.
//!
//! The failure paths of the wait (FAILED rollouts, rollbacks, a breaker that never trips) are
//! unit-tested in `ecs-core/src/deploy/wait.rs`: moto never produces them.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::hello_copy;
use ecs_e2e::{Rig, aws_json, free_port, run_image, workspace_root};
use serde_json::{Value, json};

const ECS: &str = "AmazonEC2ContainerServiceV20141113";

/// One target dir for these tests, so the hello copies compile once.
fn target_dir() -> PathBuf {
    workspace_root().join("target/ecs-e2e-deploy")
}

fn ecs(rig: &Rig, action: &str, body: Value) -> Value {
    aws_json(&rig.moto_url, "ecs", &format!("{ECS}.{action}"), &body)
        .unwrap_or_else(|e| panic!("{action}: {e:#}"))
}

/// Runs `cargo ecs ARGS` in `dir` (found by the current directory, as a user would).
fn cargo_ecs(rig: &Rig, dir: &Path, args: &[&str]) -> Output {
    rig.cargo_ecs()
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap()
}

fn json_stdout(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn service(rig: &Rig, cluster: &str) -> Value {
    let out = ecs(
        rig,
        "DescribeServices",
        json!({"cluster": cluster, "services": ["hello"]}),
    );
    out["services"][0].clone()
}

fn revisions(rig: &Rig) -> Vec<String> {
    let out = ecs(
        rig,
        "ListTaskDefinitions",
        json!({"familyPrefix": "hello", "status": "ACTIVE"}),
    );
    out["taskDefinitionArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn image_of(rig: &Rig, task_definition: &str) -> String {
    let td = ecs(
        rig,
        "DescribeTaskDefinition",
        json!({"taskDefinition": task_definition}),
    );
    td["taskDefinition"]["containerDefinitions"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn deploy_creates_reuses_and_registers_only_on_change() {
    let rig = Rig::start().unwrap();
    ecs(&rig, "CreateCluster", json!({"clusterName": "default"}));
    let app = hello_copy();

    // 1. A first deploy creates the service.
    let out = cargo_ecs(
        &rig,
        app.path(),
        &["deploy", "--create-service", "--format", "json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "first deploy failed:\n{stderr}");
    let first = json_stdout(&out);
    assert_eq!(first["service"]["action"], "created", "{first}");
    assert_eq!(first["taskDefinition"]["registered"], true);
    assert_eq!(first["taskDefinition"]["revision"], 1);
    assert_eq!(first["deployment"]["result"], "succeeded");
    assert!(first["pushed"]["blobsUploaded"].as_u64().unwrap() > 0);
    assert!(
        stderr.contains("default VPC"),
        "says which network it chose:\n{stderr}"
    );

    let svc = service(&rig, "default");
    assert_eq!(svc["status"], "ACTIVE");
    assert_eq!(svc["launchType"], "FARGATE");
    assert_eq!(svc["runningCount"], 1);
    let td1 = svc["taskDefinition"].as_str().unwrap().to_string();
    assert!(td1.ends_with("task-definition/hello:1"), "{td1}");
    let subnets = &svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"];
    assert!(!subnets.as_array().unwrap().is_empty(), "{svc}");
    let image1 = image_of(&rig, &td1);
    assert_eq!(image1, first["image"].as_str().unwrap());
    let (repo, digest) = image1.split_once('@').unwrap();
    assert!(
        repo.ends_with(".dkr.ecr.us-east-1.amazonaws.com/hello"),
        "{image1}"
    );
    assert!(digest.starts_with("sha256:") && digest.len() == 71);

    // The image the service points to is in the registry, runs, and answers GET /.
    let running = run_image(&rig.registry_url, &image1, free_port().unwrap()).unwrap();
    let (status, body) = running.get("/").unwrap();
    assert_eq!(status, 200, "{body}\n{}", running.log());
    assert!(body.contains("Hello from cargo ecs!"), "{body}");
    drop(running);

    // 2. No change: no new revision, nothing uploaded, service left alone.
    let out = cargo_ecs(&rig, app.path(), &["deploy", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "second deploy failed:\n{stderr}");
    let second = json_stdout(&out);
    assert_eq!(second["taskDefinition"]["registered"], false, "{second}");
    assert_eq!(second["taskDefinition"]["revision"], 1);
    assert_eq!(second["service"]["action"], "unchanged");
    assert_eq!(second["pushed"]["blobsUploaded"], 0);
    assert_eq!(second["pushed"]["bytesUploaded"], 0);
    // The same fields as `build --format json`.
    assert_eq!(second["pushed"]["reference"], second["image"], "{second}");
    assert_eq!(second["pushed"]["blobsMounted"], 0, "{second}");
    assert_eq!(second["pushed"]["repository"], "hello", "{second}");
    assert!(second["deployment"].is_null());
    assert!(stderr.contains("Reusing revision hello:1"), "{stderr}");
    assert!(stderr.contains("nothing to do"), "{stderr}");
    assert_eq!(revisions(&rig).len(), 1);

    // `diff` agrees: same (exit 0).
    let out = cargo_ecs(&rig, app.path(), &["diff"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 3. Change `environment`: dry run first (changes nothing), then the deploy.
    let manifest = app.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            r#"environment = { RUST_LOG = "info" }"#,
            r#"environment = { RUST_LOG = "info", GREETING_STYLE = "loud" }"#,
        ),
    )
    .unwrap();
    let out = cargo_ecs(&rig, app.path(), &["diff"]);
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        diff.contains("+          \"name\": \"GREETING_STYLE\""),
        "{diff}"
    );

    let out = cargo_ecs(&rig, app.path(), &["deploy", "--dry-run"]);
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(plan.contains("register a new revision of hello"), "{plan}");
    assert!(
        plan.contains("update (task definition hello:1 → new)"),
        "{plan}"
    );
    assert!(plan.contains("GREETING_STYLE"), "{plan}");
    assert_eq!(revisions(&rig).len(), 1, "--dry-run registered nothing");
    assert_eq!(service(&rig, "default")["taskDefinition"], td1.as_str());

    // moto's UpdateService (even with forceNewDeployment) only renames the one deployment: it
    // goes on showing hello:1, COMPLETED. Real ECS starts a new deployment of hello:2. A
    // deployment that runs another revision than the one deployed is never a success (exit 3).
    let out = cargo_ecs(&rig, app.path(), &["deploy", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "third deploy:\n{stderr}");
    let third = json_stdout(&out);
    assert_eq!(third["taskDefinition"]["registered"], true, "{third}");
    assert_eq!(third["taskDefinition"]["revision"], 2);
    assert_eq!(third["service"]["action"], "updated");
    assert_eq!(third["deployment"]["result"], "failed", "{third}");
    assert_eq!(
        third["deployment"]["failure"]["kind"], "wrong-task-definition",
        "{third}"
    );
    let reason = third["deployment"]["reason"].as_str().unwrap();
    assert!(reason.contains("runs hello:1, not hello:2"), "{reason}");
    assert!(!stderr.contains("Deployed"), "{stderr}");
    let td2 = service(&rig, "default")["taskDefinition"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(td2.ends_with("task-definition/hello:2"), "{td2}");
    let image2 = image_of(&rig, &td2);
    let env = ecs(
        &rig,
        "DescribeTaskDefinition",
        json!({"taskDefinition": td2}),
    )["taskDefinition"]["containerDefinitions"][0]["environment"]
        .clone();
    assert!(env.to_string().contains("GREETING_STYLE"), "{env}");
    assert_eq!(revisions(&rig).len(), 2);

    // `status --format json` shows the service on revision 2.
    let out = cargo_ecs(&rig, app.path(), &["status", "--format", "json"]);
    let status = json_stdout(&out);
    assert_eq!(status["taskDefinition"], td2.as_str());
    assert_eq!(status["deployments"][0]["status"], "PRIMARY");

    // 4. `rollback` points the service back at revision 1 and waits.
    let out = cargo_ecs(&rig, app.path(), &["rollback", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rb = json_stdout(&out);
    assert_eq!(rb["deployment"]["result"], "succeeded", "{rb}");
    assert_eq!(service(&rig, "default")["taskDefinition"], td1.as_str());
    assert_ne!(image1, image2);

    // 5. `rollback --revision 1` while on revision 1 and settled: nothing to do, no new
    // deployment.
    let before = service(&rig, "default")["deployments"][0]["id"].clone();
    let out = cargo_ecs(&rig, app.path(), &["rollback", "--revision", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("already runs hello:1"), "{stderr}");
    assert!(!stderr.contains("Rolling back"), "{stderr}");
    let after = service(&rig, "default");
    assert_eq!(after["deployments"][0]["id"], before, "no new deployment");
    assert_eq!(after["taskDefinition"], td1.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn ec2_log_driver_not_advertised_fails_before_any_change() {
    let rig = Rig::start().unwrap();
    ecs(&rig, "CreateCluster", json!({"clusterName": "ec2"}));
    let app = hello_copy();
    let args = [
        "deploy",
        "--create-service",
        "--cluster",
        "ec2",
        "--launch-type",
        "ec2",
        "--set",
        r#"logs.driver="json-file""#,
    ];

    // No container instances at all.
    let out = cargo_ecs(&rig, app.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has no container instances"), "{stderr}");
    assert!(stderr.contains("ECS_AVAILABLE_LOGGING_DRIVERS"), "{stderr}");

    // A real (moto) EC2 instance registered as a container instance that advertises awslogs
    // only: RegisterContainerInstance ignores attributes, so PutAttributes with the ARN.
    let sdk = ecs_core::aws::load_with_credentials(
        &ecs_core::aws::AwsOptions {
            profile: None,
            region: Some("us-east-1".into()),
            endpoint_url: Some(rig.moto_url.clone()),
        },
        "testing",
        "testing",
    )
    .await
    .unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let run = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let instance_id = run.instances()[0].instance_id().unwrap().to_string();
    let ci = ecs(
        &rig,
        "RegisterContainerInstance",
        json!({"cluster": "ec2",
               "instanceIdentityDocument": json!({"instanceId": instance_id}).to_string()}),
    );
    let ci_arn = ci["containerInstance"]["containerInstanceArn"]
        .as_str()
        .unwrap()
        .to_string();
    let put = |name: &str| {
        ecs(
            &rig,
            "PutAttributes",
            json!({"cluster": "ec2", "attributes": [{
                "name": format!("com.amazonaws.ecs.capability.logging-driver.{name}"),
                "targetId": ci_arn,
            }]}),
        )
    };
    put("awslogs");

    let out = cargo_ecs(&rig, app.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("do not advertise the `json-file` log driver"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&instance_id),
        "names the instance:\n{stderr}"
    );
    assert!(stderr.contains("ECS_AVAILABLE_LOGGING_DRIVERS"), "{stderr}");
    assert!(stderr.contains("com.amazonaws.ecs.capability.logging-driver.json-file"));

    // Nothing changed: no build, no ECR repository, no task definition, no service.
    assert!(!stderr.contains("Building"), "{stderr}");
    let repos = aws_json(
        &rig.moto_url,
        "ecr",
        "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        &json!({}),
    )
    .unwrap();
    assert_eq!(repos["repositories"], json!([]), "{repos}");
    assert!(revisions(&rig).is_empty());
    assert_eq!(service(&rig, "ec2"), Value::Null);

    // Once the instance advertises the driver, the EC2 deploy goes through.
    put("json-file");
    let out = cargo_ecs(&rig, app.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("advertise the `json-file` log driver"),
        "{stderr}"
    );
    let svc = service(&rig, "ec2");
    assert_eq!(svc["launchType"], "EC2");
    let td = ecs(
        &rig,
        "DescribeTaskDefinition",
        json!({"taskDefinition": svc["taskDefinition"]}),
    );
    assert_eq!(
        td["taskDefinition"]["containerDefinitions"][0]["logConfiguration"]["logDriver"],
        "json-file"
    );
}

#[test]
fn deploy_to_a_missing_service_without_create_service_fails_before_building() {
    let rig = Rig::start().unwrap();
    ecs(&rig, "CreateCluster", json!({"clusterName": "default"}));
    let app = hello_copy();
    // --dry-run fails the same way (exit 1), before building.
    for args in [&["deploy"][..], &["deploy", "--dry-run"]] {
        let out = cargo_ecs(&rig, app.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("service `hello` does not exist"),
            "{stderr}"
        );
        assert!(stderr.contains("--create-service"), "{stderr}");
        assert!(!stderr.contains("Building"), "{stderr}");
        assert!(revisions(&rig).is_empty(), "no revision registered");
    }
}

/// moto with MOTO_ECS_SERVICE_RUNNING=0: the deployment stays IN_PROGRESS with nothing
/// running, like a circuit breaker that never trips. The real poll loop must give up on the
/// no-progress limit with exit 3 and say how to keep watching.
#[test]
fn a_rollout_that_never_progresses_ends_with_exit_3() {
    let rig = Rig::start_with(|o| o.ecs_service_running = 0).unwrap();
    ecs(&rig, "CreateCluster", json!({"clusterName": "default"}));
    let app = hello_copy();
    let started = std::time::Instant::now();
    let out = cargo_ecs(
        &rig,
        app.path(),
        &[
            "deploy",
            "--create-service",
            "--no-progress-timeout",
            "5s",
            "--timeout",
            "2m",
            "--format",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let summary = json_stdout(&out);
    assert_eq!(summary["deployment"]["result"], "no-progress", "{summary}");
    assert!(
        stderr.contains("IN_PROGRESS"),
        "rollout progress shown:\n{stderr}"
    );
    assert!(stderr.contains("cargo ecs status --wait"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(100));

    // `status --wait` follows the same deployment and also ends with 3.
    let out = cargo_ecs(&rig, app.path(), &["status", "--wait", "--timeout", "4s"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A deploy that gave up (timed out, no progress, Ctrl-C) leaves the rollout under way. Running
/// deploy again with nothing to change must follow that rollout to its end, not report
/// "nothing to do" while no task runs.
#[test]
fn redeploy_after_an_unfinished_rollout_follows_it_instead_of_nothing_to_do() {
    let rig = Rig::start_with(|o| o.ecs_service_running = 0).unwrap();
    ecs(&rig, "CreateCluster", json!({"clusterName": "default"}));
    let app = hello_copy();
    let wait = ["--no-progress-timeout", "3s", "--timeout", "2m"];
    let mut args = vec!["deploy", "--create-service"];
    args.extend(wait);
    let out = cargo_ecs(&rig, app.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deployment = service(&rig, "default")["deployments"][0]["id"].clone();

    // --dry-run says what deploy would do.
    let out = cargo_ecs(&rig, app.path(), &["deploy", "--dry-run"]);
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        plan.contains("has not finished: deploy would follow it"),
        "{plan}"
    );

    // Nothing changed, but the rollout has not finished: follow it (and it never finishes).
    let mut args = vec!["deploy", "--format", "json"];
    args.extend(wait);
    let out = cargo_ecs(&rig, app.path(), &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("nothing to do"), "{stderr}");
    assert!(
        stderr.contains("Following") && stderr.contains("existing deployment"),
        "{stderr}"
    );
    let summary = json_stdout(&out);
    assert_eq!(summary["service"]["action"], "unchanged", "{summary}");
    assert_eq!(summary["taskDefinition"]["registered"], false);
    assert_eq!(summary["deployment"]["id"], deployment, "{summary}");
    assert_eq!(summary["deployment"]["result"], "no-progress", "{summary}");
    // The service was left alone: the same deployment, no new revision.
    assert_eq!(service(&rig, "default")["deployments"][0]["id"], deployment);
    assert_eq!(revisions(&rig).len(), 1);
}

/// Ctrl-C while waiting: the wait stops, the service is left as it is, and the user is told
/// how to keep watching.
#[test]
fn ctrl_c_stops_waiting_and_leaves_the_service_alone() {
    use std::io::Read;
    let rig = Rig::start_with(|o| o.ecs_service_running = 0).unwrap();
    ecs(&rig, "CreateCluster", json!({"clusterName": "default"}));
    let app = hello_copy();
    let mut child = rig
        .cargo_ecs()
        .args(["deploy", "--create-service", "--no-progress-timeout", "10m"])
        .current_dir(app.path())
        .env("CARGO_TARGET_DIR", target_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the service exists (the deploy is then waiting), then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while service(&rig, "default").is_null() {
        assert!(
            std::time::Instant::now() < deadline,
            "service never created"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped waiting"), "{stderr}");
    assert!(stderr.contains("cargo ecs status --wait"), "{stderr}");
    let svc = service(&rig, "default");
    assert_eq!(svc["status"], "ACTIVE");
    assert!(svc["taskDefinition"].as_str().unwrap().ends_with("hello:1"));
}

/// A small proxy in front of moto's ECS API that answers `ThrottlingException` to the first
/// `throttle` DescribeServices calls made after CreateService (more than the SDK's own three
/// attempts, so the deploy's poll loop must absorb the rest). Counts what it throttled.
struct ThrottleProxy {
    url: String,
    throttled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn start_throttle_proxy(upstream: &str, throttle: usize) -> ThrottleProxy {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let throttled = Arc::new(AtomicUsize::new(0));
    let created = Arc::new(AtomicBool::new(false));
    let upstream = upstream.to_string();
    let counter = throttled.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { break };
            let (upstream, counter, created) = (upstream.clone(), counter.clone(), created.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut conn = conn;
                loop {
                    // One request: request line, headers, Content-Length body.
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("POST").to_string();
                    let path = parts.next().unwrap_or("/").to_string();
                    let mut headers = Vec::new();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end().to_string();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            let (k, v) = (k.trim().to_string(), v.trim().to_string());
                            if k.eq_ignore_ascii_case("content-length") {
                                len = v.parse().unwrap_or(0);
                            }
                            headers.push((k, v));
                        }
                    }
                    let mut body = vec![0u8; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let target = headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    if target.ends_with(".CreateService") {
                        created.store(true, Ordering::SeqCst);
                    }
                    let (status, text) = if target.ends_with(".DescribeServices")
                        && created.load(Ordering::SeqCst)
                        && counter.fetch_add(1, Ordering::SeqCst) < throttle
                    {
                        (
                            400,
                            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
                                .to_string(),
                        )
                    } else {
                        let fwd: Vec<(&str, &str)> = headers
                            .iter()
                            .filter(|(k, _)| {
                                !["host", "content-length", "connection"]
                                    .contains(&k.to_ascii_lowercase().as_str())
                            })
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        match ecs_e2e::http_call(&upstream, &method, &path, &fwd, &body) {
                            Ok(r) => r,
                            Err(_) => return,
                        }
                    };
                    let answer = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if conn.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    ThrottleProxy { url, throttled }
}

/// Throttling while following the deployment slows the wait down but never fails it.
#[test]
fn throttled_describe_services_is_retried_not_fatal() {
    let rig = Rig::start().unwrap();
    ecs(&rig, "CreateCluster", json!({"clusterName": "default"}));
    let app = hello_copy();
    let proxy = start_throttle_proxy(&rig.moto_url, 5);
    let out = rig
        .cargo_ecs()
        .args(["deploy", "--create-service", "--format", "json", "-v"])
        .current_dir(app.path())
        .env("CARGO_TARGET_DIR", target_dir())
        .env("AWS_ENDPOINT_URL_ECS", &proxy.url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary = json_stdout(&out);
    assert_eq!(summary["deployment"]["result"], "succeeded", "{summary}");
    let throttled = proxy
        .throttled
        .load(std::sync::atomic::Ordering::SeqCst)
        .min(5);
    assert_eq!(throttled, 5, "all five throttles were served");
    assert!(
        stderr.contains("retrying in"),
        "the loop retried:\n{stderr}"
    );
}
