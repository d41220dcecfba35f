//! The rig itself: both servers start, answer through the code paths the product uses, and
//! stop without leaving a process behind.

use base64::Engine;
use ecs_e2e::{REGISTRY_PASSWORD, REGISTRY_USER, Rig, http_request, is_alive};

#[tokio::test]
async fn rig_servers_answer_like_aws_and_ecr() {
    let mut rig = Rig::start().expect("rig starts");

    // moto: STS GetCallerIdentity through the Rust AWS SDK, configured the way cargo-ecs is.
    let opts = ecs_core::aws::AwsOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(rig.moto_url.clone()),
        ..Default::default()
    };
    // SAFETY of env: credentials are read from the environment by the default chain; set
    // them via a static provider instead so the test mutates no process-global state.
    let sdk = ecs_core::aws::load_with_credentials(&opts, "testing", "testing")
        .await
        .unwrap();
    let sts = aws_sdk_sts::Client::new(&sdk);
    let who = sts.get_caller_identity().send().await.expect("STS answers");
    assert_eq!(who.account(), Some(ecs_e2e::ACCOUNT));

    // registry: /v2/ is 401 without credentials and 200 with the ECR token's.
    let (status, _) = http_request(&rig.registry_url, "GET", "/v2/", None).unwrap();
    assert_eq!(status, 401);
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}"));
    let (status, _) = http_request(
        &rig.registry_url,
        "GET",
        "/v2/",
        Some(&format!("Basic {token}")),
    )
    .unwrap();
    assert_eq!(status, 200);
    let wrong = base64::engine::general_purpose::STANDARD.encode("AWS:wrong");
    let (status, _) = http_request(
        &rig.registry_url,
        "GET",
        "/v2/",
        Some(&format!("Basic {wrong}")),
    )
    .unwrap();
    assert_eq!(status, 401);

    // The ECR token moto hands out is exactly what the registry accepts.
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let auth = ecr.get_authorization_token().send().await.unwrap();
    let data = auth.authorization_data()[0]
        .authorization_token()
        .unwrap()
        .to_string();
    assert_eq!(data, token);

    let pids = rig.pids();
    assert_eq!(pids.len(), 2);
    rig.stop();
    for pid in pids {
        assert!(!is_alive(pid), "rig process {pid} still alive after stop");
    }
}

/// The built `xtask` binary: `XTASK_BIN`, else `target/<profile>/xtask` beside this test
/// executable's `deps/` directory (`cargo xtask ci` builds it before the tests run).
fn xtask_bin() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("XTASK_BIN") {
        return p.into();
    }
    let bin = ecs_e2e::cargo_ecs_bin().with_file_name("xtask");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p xtask` first (cargo xtask ci does)",
        bin.display()
    );
    bin
}

fn xtask(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(xtask_bin())
        .args(args)
        .env("CARGO_ECS_RIG_DIR", dir)
        .output()
        .expect("xtask runs");
    assert!(
        out.status.success(),
        "xtask {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `rig down` if the test stops half-way, so no server outlives a failed test.
struct DownOnDrop<'a>(&'a std::path::Path);

impl Drop for DownOnDrop<'_> {
    fn drop(&mut self) {
        if self.0.join("state.env").exists() {
            let _ = std::process::Command::new(xtask_bin())
                .args(["rig", "down"])
                .env("CARGO_ECS_RIG_DIR", self.0)
                .output();
        }
    }
}

/// Kills and reaps the bystander process whatever happens.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn xtask_rig_up_env_down_stops_exactly_its_own_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let _guard = DownOnDrop(dir);

    // A process the rig did not start; `down` must leave it alone even if its pid were
    // recorded (the pid-reuse case).
    let bystander = KillOnDrop(
        std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap(),
    );
    let bystander_pid = bystander.0.id();

    xtask(dir, &["rig", "up"]);
    let text = std::fs::read_to_string(dir.join("state.env")).expect("rig up writes its state");
    let state = ecs_e2e::RigState::from_file(&text).unwrap();
    assert_eq!(state.pids.len(), 2);
    for pid in &state.pids {
        assert!(is_alive(*pid), "recorded pid {pid} is not running");
    }
    let (status, body) = http_request(&state.moto_url, "GET", "/moto-api/", None).unwrap();
    assert_eq!(status, 200, "moto admin page: {body}");
    let (status, _) = http_request(&state.registry_url, "GET", "/v2/", None).unwrap();
    assert_eq!(
        status, 401,
        "the registry demands the ECR-token credentials"
    );

    // A second `up` reuses the running servers.
    xtask(dir, &["rig", "up"]);
    let again = std::fs::read_to_string(dir.join("state.env")).unwrap();
    assert_eq!(ecs_e2e::RigState::from_file(&again).unwrap(), state);

    // `env` prints what a shell needs to `eval`.
    let env = String::from_utf8(xtask(dir, &["rig", "env"]).stdout).unwrap();
    assert!(env.contains(&format!("export AWS_ENDPOINT_URL='{}'", state.moto_url)));
    assert!(env.contains(&format!(
        "export CARGO_ECS_REGISTRY_ENDPOINT='{}'",
        state.registry_url
    )));
    assert!(env.contains("export AWS_REGION='us-east-1'"));

    // Record the bystander's pid as if it had been reused, then bring the rig down.
    let mut poisoned = state.clone();
    poisoned.pids.push(bystander_pid);
    std::fs::write(dir.join("state.env"), poisoned.to_file()).unwrap();
    let out = xtask(dir, &["rig", "down"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("pid {bystander_pid} is now")),
        "{said}"
    );

    for pid in &state.pids {
        assert!(!is_alive(*pid), "rig process {pid} still alive after down");
    }
    assert!(
        is_alive(bystander_pid),
        "down touched a process it did not start"
    );
    assert!(
        !dir.join("state.env").exists(),
        "down removes the state file"
    );
    assert!(http_request(&state.moto_url, "GET", "/moto-api/", None).is_err());
}

/// The last step of `cargo xtask demo`, on real parts: an image `cargo ecs build --push` put in
/// the registry, a service on moto pointing at it, then [`ecs_e2e::deployed_image`] finds it
/// and [`ecs_e2e::run_image`] pulls (skopeo), unpacks (umoci) and runs (runc) it.
#[test]
fn the_demo_check_finds_the_services_image_and_it_answers() {
    let rig = Rig::start().unwrap();
    let app = tempfile::tempdir().unwrap();
    let src = ecs_e2e::workspace_root().join("examples/hello");
    let manifest = std::fs::read_to_string(src.join("Cargo.toml")).unwrap();
    // Its own workspace, so the copy builds outside ours.
    std::fs::write(
        app.path().join("Cargo.toml"),
        format!("{manifest}\n[workspace]\n"),
    )
    .unwrap();
    std::fs::create_dir(app.path().join("src")).unwrap();
    std::fs::copy(src.join("src/main.rs"), app.path().join("src/main.rs")).unwrap();

    let out = rig
        .cargo_ecs()
        .args(["build", "--push", "--manifest-path"])
        .arg(app.path().join("Cargo.toml"))
        // The build tests' target dir, so the release build of hello is shared.
        .env(
            "CARGO_TARGET_DIR",
            ecs_e2e::workspace_root().join("target/ecs-e2e-build"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo ecs build --push failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(reference.contains("/hello@sha256:"), "{reference}");

    const ECS: &str = "AmazonEC2ContainerServiceV20141113";
    let call = |op: &str, body: serde_json::Value| {
        ecs_e2e::aws_json(&rig.moto_url, "ecs", &format!("{ECS}.{op}"), &body).unwrap()
    };
    call(
        "CreateCluster",
        serde_json::json!({ "clusterName": "default" }),
    );
    call(
        "RegisterTaskDefinition",
        serde_json::json!({
            "family": "hello",
            "containerDefinitions": [
                { "name": "hello", "image": reference, "memory": 128, "essential": true }
            ]
        }),
    );
    call(
        "CreateService",
        serde_json::json!({
            "cluster": "default",
            "serviceName": "hello",
            "taskDefinition": "hello",
            "desiredCount": 1
        }),
    );

    let (taskdef, image) = ecs_e2e::deployed_image(&rig.moto_url, "default", "hello").unwrap();
    assert!(taskdef.ends_with("task-definition/hello:1"), "{taskdef}");
    assert_eq!(image, reference);
    let missing = ecs_e2e::deployed_image(&rig.moto_url, "default", "nope").unwrap_err();
    assert!(
        format!("{missing:#}").contains("service `nope` not found"),
        "{missing:#}"
    );

    let port = ecs_e2e::free_port().unwrap();
    let running = ecs_e2e::run_image(&rig.registry_url, &image, port).unwrap();
    let (status, body) = running.get("/").unwrap();
    assert_eq!(status, 200, "{}", running.log());
    assert_eq!(body.trim(), "Hello from cargo ecs! (hello 0.1.0)");
    assert_eq!(running.get("/health").unwrap().0, 200);
    let id = running.id.clone();
    drop(running);
    let list = std::process::Command::new("runc")
        .arg("list")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&list.stdout).contains(&id),
        "container {id} left behind"
    );
}
