//! End-to-end tests of `cargo ecs render`: the built binary on real packages (examples/hello
//! and temporary copies of small manifests), and the rendered JSON registered on moto through
//! the Rust SDK (`ecs_core::aws::taskdef_api`) and read back unchanged.

use std::path::{Path, PathBuf};
use std::process::Command;

use ecs_core::aws::taskdef_api;
use ecs_core::taskdef::normalize;
use ecs_e2e::{Rig, cargo_ecs_bin, workspace_root};
use serde_json::Value;

use crate::common::run;

/// `cargo-ecs ecs ARGS` with a region and fake credentials but no AWS endpoint (render
/// needs none), in `dir`.
fn render_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(cargo_ecs_bin());
    cmd.arg("ecs")
        .current_dir(dir)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("CARGO_ECS_ENV");
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO_ECS_") && k != "CARGO_ECS_BIN" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A throwaway package: `Cargo.toml` = `[package]` + `metadata`, a `src/main.rs`, and any
/// extra files.
fn package(metadata: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("cargo-ecs-render")
        .tempdir()
        .expect("temp dir");
    let manifest = format!(
        "[package]\nname = \"svc\"\nversion = \"0.3.0\"\nedition = \"2021\"\n\n[workspace]\n\n{metadata}"
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("write manifest");
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").expect("main.rs");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("extra file");
    }
    dir
}

fn render_ok(dir: &Path, args: &[&str]) -> (Value, String) {
    let (code, stdout, stderr) = run(render_cmd(dir).arg("render").args(args));
    assert_eq!(code, 0, "render failed:\n{stderr}");
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"));
    (json, stderr)
}

fn render_err(metadata: &str) -> String {
    let dir = package(metadata, &[]);
    let (code, stdout, stderr) = run(render_cmd(dir.path()).arg("render"));
    assert_eq!(
        code, 1,
        "expected exit 1; stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.is_empty(),
        "nothing on stdout on error, got {stdout}"
    );
    stderr
}

const ROLE: &str = "execution-role = \"arn:aws:iam::123456789012:role/ecsTaskExecutionRole\"\n";

#[tokio::test]
async fn hello_renders_for_fargate_and_registers_on_moto_unchanged() {
    let rig = Rig::start().expect("rig starts");
    let hello = workspace_root().join("examples/hello");
    let mut cmd = rig.cargo_ecs();
    cmd.current_dir(&hello).arg("render");
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, 0, "render failed:\n{stderr}");
    let rendered: Value = serde_json::from_str(&stdout).expect("JSON on stdout");

    assert_eq!(
        rendered["requiresCompatibilities"],
        serde_json::json!(["FARGATE"])
    );
    assert_eq!(rendered["networkMode"], "awsvpc");
    assert_eq!(rendered["cpu"], "256");
    assert_eq!(rendered["memory"], "512");
    let app = &rendered["containerDefinitions"][0];
    assert_eq!(app["image"], ecs_core::taskdef::PLACEHOLDER_IMAGE);
    let log = &app["logConfiguration"];
    assert_eq!(log["logDriver"], "awslogs");
    assert_eq!(log["options"]["awslogs-group"], "/ecs/hello");
    assert_eq!(log["options"]["awslogs-region"], ecs_e2e::REGION);
    assert_eq!(log["options"]["awslogs-stream-prefix"], "hello");
    assert_eq!(log["options"]["mode"], "non-blocking");

    // Register exactly that JSON through the SDK, read it back, compare canonical forms.
    let opts = ecs_core::aws::AwsOptions {
        region: Some(ecs_e2e::REGION.into()),
        endpoint_url: Some(rig.moto_url.clone()),
        ..Default::default()
    };
    let sdk = ecs_core::aws::load_with_credentials(&opts, "testing", "testing")
        .await
        .expect("sdk config");
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let registered = taskdef_api::register(&ecs, &rendered)
        .await
        .expect("register");
    assert_eq!(registered.family, "hello");
    assert_eq!(registered.revision, 1);
    assert!(
        registered.arn.ends_with(":task-definition/hello:1"),
        "{}",
        registered.arn
    );
    let described = taskdef_api::describe(&ecs, &registered.arn)
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(normalize(&rendered), normalize(&described));
    assert!(!ecs_core::taskdef::differs(
        &rendered,
        &registered.task_definition
    ));

    // The latest ACTIVE revision is the same one; a second registration becomes the latest.
    let latest = taskdef_api::latest_active(&ecs, "hello")
        .await
        .expect("list")
        .expect("one active");
    assert_eq!(latest["taskDefinitionArn"], registered.arn.as_str());
    let second = taskdef_api::register(&ecs, &rendered)
        .await
        .expect("register 2");
    assert_eq!(second.revision, 2);
    let latest = taskdef_api::latest_active(&ecs, "hello")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest["revision"], 2);
    // A family that does not exist is `None`, not an error.
    assert_eq!(taskdef_api::describe(&ecs, "nope").await.unwrap(), None);
    assert_eq!(
        taskdef_api::latest_active(&ecs, "hell").await.unwrap(),
        None
    );
}

/// A recording HTTP/1.1 proxy in front of moto: it keeps every request body, and adds a
/// field no SDK models (`futureTopLevel`) to DescribeTaskDefinition responses, standing in
/// for an ECS newer than our SDK. moto itself serializes responses through its (botocore)
/// model, so it cannot echo unknown fields.
struct Proxy {
    url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

fn read_message(stream: &mut impl std::io::Read) -> Option<(String, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn with_length(head: &str, len: usize) -> String {
    let mut out: Vec<String> = head
        .trim_end()
        .lines()
        .filter(|l| {
            let k = l.split(':').next().unwrap_or_default().to_ascii_lowercase();
            k != "content-length" && k != "connection"
        })
        .map(str::to_string)
        .collect();
    out.push(format!("Content-Length: {len}"));
    out.push("Connection: close".into());
    out.join("\r\n") + "\r\n\r\n"
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_string();
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = bodies.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                let Some((head, body)) = read_message(&mut client) else {
                    continue;
                };
                recorded.lock().unwrap().push(body.clone());
                let describe = head.contains("DescribeTaskDefinition");
                let Ok(mut server) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = server.write_all(with_length(&head, body.len()).as_bytes());
                let _ = server.write_all(&body);
                let Some((rhead, mut rbody)) = read_message(&mut server) else {
                    continue;
                };
                if describe && let Ok(mut v) = serde_json::from_slice::<Value>(&rbody) {
                    v["taskDefinition"]["futureTopLevel"] = serde_json::json!({"mode": "new"});
                    rbody = serde_json::to_vec(&v).unwrap();
                }
                let _ = client.write_all(with_length(&rhead, rbody.len()).as_bytes());
                let _ = client.write_all(&rbody);
            }
        });
        Proxy { url, bodies }
    }
}

#[tokio::test]
async fn fields_the_sdk_model_lacks_go_over_the_wire_both_ways() {
    let rig = Rig::start().expect("rig starts");
    let proxy = Proxy::start(&rig.moto_url);
    let sdk = ecs_core::aws::load_with_credentials(
        &ecs_core::aws::AwsOptions {
            region: Some(ecs_e2e::REGION.into()),
            endpoint_url: Some(proxy.url.clone()),
            ..Default::default()
        },
        "testing",
        "testing",
    )
    .await
    .unwrap();
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    // `futureField` is unknown to every SDK: a typed round trip would drop it.
    let td = serde_json::json!({
        "family": "raw",
        "networkMode": "bridge",
        "futureTaskField": [1, 2],
        "containerDefinitions": [{
            "name": "app", "image": "busybox", "memory": 128,
            "futureField": {"enabled": true},
            "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
        }]
    });
    let registered = taskdef_api::register(&ecs, &td).await.expect("register");
    assert_eq!(registered.family, "raw");
    let sent: Value = serde_json::from_slice(&proxy.bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(
        sent, td,
        "the request body is our JSON, byte for byte in meaning"
    );

    let described = taskdef_api::describe(&ecs, "raw").await.unwrap().unwrap();
    assert_eq!(
        described["futureTopLevel"],
        serde_json::json!({"mode": "new"})
    );
    assert_eq!(
        described["containerDefinitions"][0]["environment"][1]["name"],
        "A"
    );
    assert_eq!(described["revision"], 1);
}

#[test]
fn cpu_256_with_memory_4096_is_rejected() {
    let err = render_err(&format!(
        "[package.metadata.ecs]\n{ROLE}cpu = 256\nmemory = 4096\n"
    ));
    assert!(err.contains("package.metadata.ecs.memory"), "{err}");
    assert!(err.contains("512, 1024, 2048"), "{err}");
    assert!(err.contains("Cargo.toml:"), "points at the line: {err}");
}

#[test]
fn fargate_with_fluentd_lists_the_fargate_drivers() {
    let err = render_err(&format!(
        "[package.metadata.ecs]\n{ROLE}\n[package.metadata.ecs.logs]\ndriver = \"fluentd\"\n"
    ));
    assert!(err.contains("package.metadata.ecs.logs.driver"), "{err}");
    assert!(err.contains("awslogs, splunk, awsfirelens"), "{err}");
}

#[test]
fn fargate_with_bridge_is_rejected() {
    let err = render_err(&format!(
        "[package.metadata.ecs]\n{ROLE}network-mode = \"bridge\"\n"
    ));
    assert!(err.contains("package.metadata.ecs.network-mode"), "{err}");
    assert!(err.contains("awsvpc"), "{err}");
}

#[test]
fn misspelt_key_suggests_the_right_one() {
    let err = render_err(&format!("[package.metadata.ecs]\n{ROLE}servce = \"api\"\n"));
    assert!(
        err.contains("unknown key `package.metadata.ecs.servce`"),
        "{err}"
    );
    assert!(err.contains("did you mean `service`?"), "{err}");
}

#[test]
fn three_problems_are_reported_together() {
    let err = render_err(
        "[package.metadata.ecs]\nlaunch-type = \"fargate\"\ncpu = 300\ndesired-count = \"two\"\n\n[package.metadata.ecs.container]\nport = 70000\n",
    );
    assert!(
        err.contains("problems in the cargo ecs configuration of `svc`"),
        "{err}"
    );
    assert!(err.contains("package.metadata.ecs.cpu"), "{err}");
    assert!(err.contains("package.metadata.ecs.desired-count"), "{err}");
    assert!(err.contains("package.metadata.ecs.container.port"), "{err}");
    assert!(err.contains("package.metadata.ecs.execution-role"), "{err}");
}

#[test]
fn ec2_fluentd_bridge_renders() {
    let dir = package(
        "[package.metadata.ecs]\nlaunch-type = \"ec2\"\nnetwork-mode = \"bridge\"\n\n[package.metadata.ecs.container]\nport = 8080\n\n[package.metadata.ecs.logs]\ndriver = \"fluentd\"\noptions = { fluentd-address = \"localhost:24224\", tag = \"svc\" }\n",
        &[],
    );
    let (json, _) = render_ok(dir.path(), &["--image", "repo/svc@sha256:abc"]);
    assert_eq!(json["requiresCompatibilities"], serde_json::json!(["EC2"]));
    assert_eq!(json["networkMode"], "bridge");
    let app = &json["containerDefinitions"][0];
    assert_eq!(app["image"], "repo/svc@sha256:abc");
    assert_eq!(app["logConfiguration"]["logDriver"], "fluentd");
    assert_eq!(
        app["logConfiguration"]["options"]["fluentd-address"],
        "localhost:24224"
    );
    // bridge: no hostPort, so ECS picks a dynamic one.
    assert_eq!(app["portMappings"][0]["containerPort"], 8080);
    assert!(app["portMappings"][0].get("hostPort").is_none());
}

#[test]
fn ec2_logentries_renders_with_a_warning() {
    let dir = package(
        "[package.metadata.ecs]\nlaunch-type = \"EC2\"\n\n[package.metadata.ecs.logs]\ndriver = \"logentries\"\noptions = { logentries-token = \"abc\" }\n",
        &[],
    );
    let (json, stderr) = render_ok(dir.path(), &[]);
    assert_eq!(
        json["containerDefinitions"][0]["logConfiguration"]["logDriver"],
        "logentries"
    );
    assert!(stderr.contains("warning:"), "{stderr}");
    assert!(stderr.contains("ECS_AVAILABLE_LOGGING_DRIVERS"), "{stderr}");
}

#[test]
fn flags_beat_variables_beat_env_tables() {
    let dir = package(
        &format!(
            "[package.metadata.ecs]\n{ROLE}cluster = \"base\"\ncpu = 256\n\n[package.metadata.ecs.env.prod]\ncpu = 1024\nmemory = \"4 GB\"\ncluster = \"prod\"\n"
        ),
        &[],
    );
    let (json, _) = render_ok(dir.path(), &["--env", "prod"]);
    assert_eq!(json["cpu"], "1024");
    assert_eq!(json["memory"], "4096");
    // CARGO_ECS_* beats env.prod; --set beats CARGO_ECS_*.
    let (code, stdout, stderr) = run(render_cmd(dir.path())
        .args([
            "render",
            "--env",
            "prod",
            "--set",
            "memory=8192",
            "--set",
            "logs.group=/custom",
        ])
        .env("CARGO_ECS_MEMORY", "4096")
        .env("CARGO_ECS_CPU", "2 vCPU"));
    assert_eq!(code, 0, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["cpu"], "2048", "CARGO_ECS_CPU beats env.prod");
    assert_eq!(
        json["memory"], "8192",
        "--set memory beats CARGO_ECS_MEMORY"
    );
    assert_eq!(
        json["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"],
        "/custom"
    );
}

#[test]
fn several_deployable_members_at_a_root_need_p() {
    let root = tempfile::Builder::new()
        .prefix("cargo-ecs-ws")
        .tempdir()
        .unwrap();
    std::fs::write(
        root.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"api\", \"worker\"]\nresolver = \"2\"\n",
    )
    .unwrap();
    for name in ["api", "worker"] {
        let dir = root.path().join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.ecs]\n{ROLE}"),
        )
        .unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    }
    let (code, _, stderr) = run(render_cmd(root.path()).arg("render"));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("api, worker"), "{stderr}");
    let (json, _) = render_ok(root.path(), &["-p", "worker"]);
    assert_eq!(json["family"], "worker");
    let (json, _) = render_ok(&root.path().join("api/src"), &[]);
    assert_eq!(json["family"], "api");
    let manifest = root.path().join("worker/Cargo.toml");
    let (json, _) = render_ok(
        root.path(),
        &["--manifest-path", manifest.to_str().unwrap()],
    );
    assert_eq!(json["family"], "worker");
    let (code, _, stderr) = run(render_cmd(root.path()).args(["render", "-p", "nope"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("package `nope` is not a member"),
        "{stderr}"
    );
}

/// The describe-output fixtures: each renders with the wrapper and read-only fields gone and
/// every other field (including ones no SDK models) intact.
#[test]
fn describe_output_files_render_with_read_only_fields_stripped() {
    let fixtures = workspace_root().join("tests/fixtures/describe");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 5,
        "at least five describe shapes, found {}",
        names.len()
    );
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let original: Value = serde_json::from_str(&text).unwrap();
        let inner = original.get("taskDefinition").unwrap_or(&original).clone();
        let family = inner["family"].as_str().unwrap().to_string();
        let first = inner["containerDefinitions"][0]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let launch = if inner["requiresCompatibilities"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "FARGATE"))
        {
            "fargate"
        } else {
            "ec2"
        };
        let dir = package(
            &format!(
                "[package.metadata.ecs]\nfamily = \"{family}\"\nlaunch-type = \"{launch}\"\ntask-definition = \"taskdef.json\"\n\n[package.metadata.ecs.container]\nname = \"{first}\"\n"
            ),
            &[("taskdef.json", &text)],
        );
        let (rendered, _) = render_ok(dir.path(), &["--image", "example/new@sha256:1234"]);
        let name = path.display();
        for field in ecs_core::taskdef::READ_ONLY_FIELDS {
            assert!(rendered.get(field).is_none(), "{name}: {field} kept");
        }
        assert!(
            rendered.get("taskDefinition").is_none(),
            "{name}: wrapper kept"
        );
        // Everything else is intact: only the app container's image changed.
        let mut expected = inner.as_object().unwrap().clone();
        for field in ecs_core::taskdef::READ_ONLY_FIELDS {
            expected.remove(*field);
        }
        if let Some(Value::Array(tags)) = original.get("tags")
            && !tags.is_empty()
        {
            expected.insert("tags".into(), Value::Array(tags.clone()));
        }
        expected["containerDefinitions"][0]["image"] = "example/new@sha256:1234".into();
        assert_eq!(rendered, Value::Object(expected), "{name}");
    }
}

/// `render ARGS` in `dir` with extra variables: (exit code, stdout, stderr).
fn render_with(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = render_cmd(dir);
    cmd.arg("render").args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn nested_env_tables_are_errors_with_their_full_key_path() {
    let dir = package(
        &format!(
            "[package.metadata.ecs]\n{ROLE}\n[package.metadata.ecs.env.prod]\ndesired-count = 2\n\n[package.metadata.ecs.env.prod.env.x]\ncpu = 1\nbogus = 2\n"
        ),
        &[],
    );
    for args in [&["--env", "prod"][..], &[]] {
        let (code, stdout, stderr) = render_with(dir.path(), args, &[]);
        assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains("`package.metadata.ecs.env.prod.env` is not allowed here: named environments cannot be nested"),
            "{stderr}"
        );
        assert!(
            stderr.contains("unknown key `package.metadata.ecs.env.prod.env.x.bogus`"),
            "{stderr}"
        );
        assert!(
            stderr.contains("Cargo.toml:"),
            "points at the lines: {stderr}"
        );
    }
}

#[test]
fn package_names_that_are_not_ecr_names_still_render() {
    for name in ["MySvc", "a"] {
        let dir = package(&format!("[package.metadata.ecs]\n{ROLE}"), &[]);
        let manifest = dir.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("name = \"svc\"", &format!("name = \"{name}\"")),
        )
        .unwrap();
        let (code, stdout, stderr) = render_with(dir.path(), &[], &[]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(!stderr.contains("image.repository"), "{stderr}");
        let json: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(json["family"], name);
        assert_eq!(
            json["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"],
            format!("/ecs/{name}")
        );
    }
    // A written service that is not a valid name: one error, at the key that was written.
    let err = render_err(&format!(
        "[package.metadata.ecs]\n{ROLE}service = \"bad name!\"\n"
    ));
    assert!(err.contains("1 problem in"), "{err}");
    assert!(err.contains("`package.metadata.ecs.service`"), "{err}");
    assert!(err.contains("family, logs.group"), "{err}");
}

#[test]
fn quoted_sizes_work_from_set_and_variables() {
    let dir = package(&format!("[package.metadata.ecs]\n{ROLE}"), &[]);
    let (json, _) = render_ok(dir.path(), &["--set", "memory=\"1 GB\""]);
    assert_eq!(
        (&json["cpu"], &json["memory"]),
        (&"256".into(), &"1024".into())
    );
    let (code, stdout, stderr) = render_with(dir.path(), &[], &[("CARGO_ECS_CPU", "\"0.5 vCPU\"")]);
    assert_eq!(code, 0, "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (&json["cpu"], &json["memory"]),
        (&"512".into(), &"1024".into())
    );
    let (json, _) = render_ok(dir.path(), &["--set", "family=\"fam\""]);
    assert_eq!(json["family"], "fam");
}

#[test]
fn problems_from_set_and_variables_name_the_key_and_only_their_source() {
    let dir = package(
        &format!("[package.metadata.ecs]\n{ROLE}cpu = 256\nmemory = 512\n"),
        &[],
    );
    let (code, _, stderr) = render_with(dir.path(), &["--set", "nosuch=1"], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("unknown key `nosuch` (from --set nosuch=…)"),
        "{stderr}"
    );
    let (code, _, stderr) = render_with(dir.path(), &[], &[("CARGO_ECS_CPU", "300")]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("invalid value 300 for `cpu` (from CARGO_ECS_CPU)"),
        "{stderr}"
    );
    // The splunk driver needs keys that no flag gave: they are not blamed on --set.
    let (code, _, stderr) = render_with(dir.path(), &["--set", "logs.driver=splunk"], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`package.metadata.ecs.logs.secret-options` is required"),
        "{stderr}"
    );
    assert!(
        stderr.contains("logs.driver set by --set logs.driver=…"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("(from --set logs.secret-options"),
        "{stderr}"
    );
    // cpu from --set against memory from Cargo.toml: no Cargo.toml snippet showing cpu = 256.
    let (code, _, stderr) = render_with(dir.path(), &["--set", "cpu=512"], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`cpu = 512` (from --set cpu=…) does not fit memory = 512"),
        "{stderr}"
    );
    assert!(!stderr.contains("cpu = 256"), "{stderr}");
    assert!(!stderr.contains("(`"), "garbled key: {stderr}");
}

const TASKDEF: &str = r#"{"family": "x", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
 "containerDefinitions": [{"name": "svc", "image": "busybox", "essential": true,
   "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/svc", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "svc"}}}]}"#;

#[test]
fn a_task_definition_file_gets_the_task_level_settings() {
    let dir = package(
        &format!("[package.metadata.ecs]\n{ROLE}task-definition = \"taskdef.json\"\n"),
        &[("taskdef.json", TASKDEF)],
    );
    let (json, stderr) = render_ok(dir.path(), &["--set", "cpu=1024", "--set", "memory=2048"]);
    assert_eq!(
        json["executionRoleArn"],
        "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
    );
    assert_eq!(
        (&json["cpu"], &json["memory"]),
        (&"1024".into(), &"2048".into())
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    // Without an execution role anywhere, Fargate still needs one.
    let dir = package(
        "[package.metadata.ecs]\ntask-definition = \"taskdef.json\"\n",
        &[("taskdef.json", TASKDEF)],
    );
    let (code, _, err) = render_with(dir.path(), &[], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 problem in"), "{err}");
    assert!(
        err.contains("`package.metadata.ecs.execution-role` is required"),
        "{err}"
    );
    assert!(err.contains("no executionRoleArn"), "{err}");
    // Container and log keys are not applied to the file: said, not silently dropped.
    let dir = package(
        &format!(
            "[package.metadata.ecs]\n{ROLE}task-definition = \"taskdef.json\"\n\n[package.metadata.ecs.container]\nenvironment = {{ A = \"1\" }}\n"
        ),
        &[("taskdef.json", TASKDEF)],
    );
    let (json, stderr) = render_ok(dir.path(), &[]);
    assert!(json["containerDefinitions"][0].get("environment").is_none());
    assert!(
        stderr.contains("warning: `package.metadata.ecs.container.environment`: not applied to the task definition read from \"taskdef.json\""),
        "{stderr}"
    );
}

#[test]
fn log_settings_without_effect_are_warned_about() {
    let dir = package(
        &format!(
            "[package.metadata.ecs]\n{ROLE}\n[package.metadata.ecs.logs]\ndriver = \"awsfirelens\"\nmode = \"blocking\"\n"
        ),
        &[],
    );
    let (json, stderr) = render_ok(dir.path(), &[]);
    let options = &json["containerDefinitions"][0]["logConfiguration"]["options"];
    assert!(options.get("mode").is_none(), "{options}");
    assert!(
        stderr.contains(
            "warning: `package.metadata.ecs.logs.mode`: has no effect with the awsfirelens driver"
        ),
        "{stderr}"
    );
    let dir = package(
        "[package.metadata.ecs]\nlaunch-type = \"ec2\"\n\n[package.metadata.ecs.logs]\ndriver = \"json-file\"\ngroup = \"/g\"\nstream-prefix = \"p\"\ncreate-group = true\n",
        &[],
    );
    let (_, stderr) = render_ok(dir.path(), &[]);
    for key in ["group", "stream-prefix", "create-group"] {
        assert!(
            stderr.contains(&format!("warning: `package.metadata.ecs.logs.{key}`: only used by the awslogs driver; ignored with json-file")),
            "{stderr}"
        );
    }
}
