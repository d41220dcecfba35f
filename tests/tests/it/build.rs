//! `cargo ecs build`: a copy of examples/hello built into a daemonless image, pushed with
//! ECR auth from moto to the real local registry, checked with skopeo, unpacked with umoci
//! and run under runc; reproducibility, incremental pushes, the static-binary check, and a
//! fault-injecting proxy in front of the registry.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::hello_copy;
use ecs_core::config::{Architecture, ContainerConfig, ImageConfig, Include};
use ecs_core::image::{self, BuildRequest, BuiltImage, PushTarget};
use ecs_e2e::{ECR_HOST, REGISTRY_PASSWORD, REGISTRY_USER, Rig, free_port, workspace_root};

const CREDS: &str = "AWS:123456789012-auth-token";

/// One target dir shared by these tests, so the hello copies compile once per change.
fn target_dir() -> PathBuf {
    workspace_root().join("target/ecs-e2e-build")
}

fn request(dir: &Path) -> BuildRequest {
    let image = ImageConfig {
        tags: vec!["latest".into()],
        ..ImageConfig::scratch("hello")
    };
    let container = ContainerConfig {
        port: Some(8080),
        environment: [("RUST_LOG".to_string(), "info".to_string())].into(),
        ..ContainerConfig::named("hello")
    };
    let mut req = BuildRequest::new(
        dir.join("Cargo.toml"),
        "0.1.0",
        image,
        container,
        Architecture::X86_64,
    );
    req.target_dir = Some(target_dir());
    req.revision = Some("0123456789abcdef".into());
    req.source = Some("https://github.com/cargo-ecs/cargo-ecs".into());
    req
}

async fn sdk(rig: &Rig) -> aws_config::SdkConfig {
    let opts = ecs_core::aws::AwsOptions {
        region: Some("us-east-1".into()),
        endpoint_url: Some(rig.moto_url.clone()),
        ..Default::default()
    };
    ecs_core::aws::load_with_credentials(&opts, "testing", "testing")
        .await
        .unwrap()
}

async fn push_target(rig: &Rig, repository: &str, endpoint: &str) -> PushTarget {
    PushTarget {
        sdk: sdk(rig).await,
        repository: repository.into(),
        tags: vec!["latest".into()],
        tag_mutability: "MUTABLE".into(),
        scan_on_push: true,
        registry_endpoint: Some(endpoint.into()),
    }
}

fn registry_hostport(rig: &Rig) -> String {
    rig.registry_url.trim_start_matches("http://").to_string()
}

/// `len` bytes of xorshift noise that gzip cannot shrink (to force chunked uploads).
fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// `cargo-ecs ecs <args> --manifest-path <app>/Cargo.toml` without the rig (no AWS), with
/// the build tests' shared target dir unless `target` says otherwise.
fn cli_without_rig(app: &Path, args: &[&str], target: Option<&Path>) -> std::process::Output {
    Command::new(ecs_e2e::cargo_ecs_bin())
        .arg("ecs")
        .args(args)
        .arg("--manifest-path")
        .arg(app.join("Cargo.toml"))
        .env(
            "CARGO_TARGET_DIR",
            target.map_or_else(target_dir, Path::to_path_buf),
        )
        .output()
        .unwrap()
}

/// `cargo-ecs ecs <args> --manifest-path <app>/Cargo.toml` against the rig, with the build
/// tests' shared target dir; the caller may add environment before running it.
fn cli_on_rig(rig: &Rig, app: &Path, args: &[&str]) -> Command {
    let mut cmd = rig.cargo_ecs();
    cmd.args(args)
        .arg("--manifest-path")
        .arg(app.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir());
    cmd
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn skopeo_inspect(rig: &Rig, reference: &str, config: bool) -> serde_json::Value {
    let mut cmd = Command::new("skopeo");
    cmd.arg("inspect");
    if config {
        cmd.arg("--config");
    }
    // --no-tags: distribution answers 404 to tags/list for a repository without tags.
    cmd.args(["--no-tags", "--tls-verify=false", "--creds", CREDS])
        .arg(format!("docker://{}/{reference}", registry_hostport(rig)));
    serde_json::from_str(&run(&mut cmd)).unwrap()
}

/// Copies `repo@digest` from the registry into an OCI layout (skopeo checks every digest).
fn skopeo_pull(rig: &Rig, reference: &str, layout: &Path) {
    run(Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        CREDS,
        &format!("docker://{}/{reference}", registry_hostport(rig)),
        &format!("oci:{}:pulled", layout.display()),
    ]));
}

/// `umoci unpack`s `layout:tag`, runs the bundle under runc on the host network (the
/// container listens on a free loopback port) and returns the answer to `GET /`.
fn unpack_and_run(layout: &Path, tag: &str, work: &Path) -> String {
    let bundle = work.join(format!("bundle-{tag}"));
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:{tag}", layout.display()))
        .arg(&bundle));
    let port = free_port().unwrap();
    let cfg_path = bundle.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    assert_eq!(cfg["process"]["user"]["uid"], 65532);
    assert_eq!(cfg["process"]["args"][0], "/app/hello");
    cfg["process"]["terminal"] = false.into();
    let args = cfg["process"]["args"].as_array_mut().unwrap();
    args.push("--listen".into());
    args.push(format!("127.0.0.1:{port}").into());
    // Share the host network namespace so the test reaches the server over loopback.
    let ns = cfg["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "network");
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();

    let id = format!("ecs-e2e-{}-{port}", std::process::id());
    let mut child = Command::new("runc")
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runc starts");
    let deadline = Instant::now() + Duration::from_secs(15);
    let answer = loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = write!(s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut body = String::new();
            let _ = s.read_to_string(&mut body);
            break body;
        }
        if Instant::now() > deadline {
            break String::new();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = Command::new("runc").args(["kill", &id, "KILL"]).status();
    let _ = child.wait();
    let _ = Command::new("runc").args(["delete", "-f", &id]).status();
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_build_push_then_skopeo_umoci_runc_serve_the_greeting() {
    let rig = Rig::start().unwrap();
    let app = hello_copy();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");

    let layout_arg = layout.display().to_string();
    let out = cli_on_rig(
        &rig,
        app.path(),
        &[
            "build",
            "--push",
            "--set",
            r#"image.tags=["latest"]"#,
            "--oci-layout",
            &layout_arg,
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo ecs build failed:\n{stderr}");
    assert!(
        !stderr.contains(REGISTRY_PASSWORD),
        "token leaked on stderr"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reference = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "stdout is only the reference");
    let (repo, digest) = reference
        .strip_prefix(&format!("{ECR_HOST}/"))
        .and_then(|r| r.split_once('@'))
        .unwrap_or_else(|| panic!("not an ECR reference: {reference}"));
    assert_eq!(repo, "hello");
    assert!(digest.starts_with("sha256:") && digest.len() == 71);
    // cargo's own output reaches the user ("Compiling hello" only when this copy is not
    // already fresh in the target dir the build tests share; "Finished" always).
    assert!(
        stderr.contains("Finished `release` profile"),
        "cargo progress visible: {stderr}"
    );
    assert!(stderr.contains("CA bundle taken from the host"));

    // skopeo sees what cargo-ecs built.
    let inspect = skopeo_inspect(&rig, &format!("hello@{digest}"), false);
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Os"], "linux");
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.version"],
        "0.1.0"
    );
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.created"],
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 3);
    let config = skopeo_inspect(&rig, &format!("hello@{digest}"), true);
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/app/hello"])
    );
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["WorkingDir"], "/app");
    assert!(config["config"]["ExposedPorts"]["8080/tcp"].is_object());
    // The tag points at the same digest.
    let tagged = skopeo_inspect(&rig, "hello:latest", false);
    assert_eq!(tagged["Digest"], digest);

    // Pull it back, unpack, run: GET / answers the greeting.
    let pulled = work.path().join("pulled");
    skopeo_pull(&rig, &format!("hello@{digest}"), &pulled);
    let answer = unpack_and_run(&pulled, "pulled", work.path());
    assert!(answer.starts_with("HTTP/1.1 200"), "answer: {answer:?}");
    assert!(answer.contains("Hello from cargo ecs! (hello 0.1.0)"));

    // The --oci-layout written beside the push is the same image, and umoci reads it too.
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest);
    let answer = unpack_and_run(&layout, "latest", work.path());
    assert!(
        answer.contains("Hello from cargo ecs!"),
        "answer: {answer:?}"
    );

    // A second run: same digest, nothing uploaded.
    let out = cli_on_rig(
        &rig,
        app.path(),
        &["build", "--push", "--set", r#"image.tags=["latest"]"#],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), reference);
    assert!(
        stderr.contains("0 B uploaded, 4 blob(s) already present"),
        "{stderr}"
    );

    // The same for a script: one JSON document on stdout.
    let out = cli_on_rig(&rig, app.path(), &["build", "--push", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["reference"], reference);
    assert_eq!(doc["digest"], digest);
    assert_eq!(doc["layers"].as_array().unwrap().len(), 3);
    assert_eq!(doc["pushed"]["bytesUploaded"], 0);
    assert_eq!(doc["pushed"]["blobsPresent"], 4);
    assert_eq!(doc["pushed"]["repositoryCreated"], false);
    assert!(doc["ociLayout"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn rebuilds_are_reproducible_and_push_only_what_changed() {
    let rig = Rig::start().unwrap();
    let app = hello_copy();
    let req = request(app.path());
    let first = image::build(&req).await.unwrap();

    // Touch the source: cargo recompiles, and the image is bit-for-bit the same.
    let main_rs = app.path().join("src/main.rs");
    let text = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(&main_rs, &text).unwrap();
    let again = image::build(&req).await.unwrap();
    assert_eq!(first.digest(), again.digest());

    let target = push_target(&rig, "hello", &rig.registry_url).await;
    let reporter = ecs_core::progress::Recorder::default();
    let pushed = image::push(&first, &target, &reporter).await.unwrap();
    assert_eq!(
        pushed.reference,
        format!("{ECR_HOST}/hello@{}", first.digest())
    );
    assert!(pushed.repository_created);
    assert_eq!(pushed.blobs_uploaded, 4);
    let second = image::push(&again, &target, &reporter).await.unwrap();
    assert_eq!((second.bytes_uploaded, second.blobs_uploaded), (0, 0));
    assert_eq!(second.blobs_present, 4);
    assert!(
        reporter
            .take()
            .iter()
            .any(|e| e == "done push: 0 B uploaded, 4 blob(s) already present")
    );

    // A one-line change: only the app layer (and the config naming it) is uploaded.
    std::fs::write(
        &main_rs,
        text.replace("Hello from cargo ecs!", "Hello again from cargo ecs!"),
    )
    .unwrap();
    let changed = image::build(&req).await.unwrap();
    assert_ne!(changed.digest(), first.digest());
    assert_eq!(
        changed.layers[..2]
            .iter()
            .map(|l| &l.digest)
            .collect::<Vec<_>>(),
        first.layers[..2]
            .iter()
            .map(|l| &l.digest)
            .collect::<Vec<_>>()
    );
    let third = image::push(&changed, &target, &reporter).await.unwrap();
    assert_eq!(third.blobs_uploaded, 2, "app layer + config");
    assert_eq!(
        third.bytes_uploaded,
        changed.layers[2].size + changed.config.size
    );
    assert_eq!(third.blobs_present, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dynamically_linked_binary_on_scratch_names_both_fixes() {
    let app = hello_copy();
    // A plain `cargo build` on the gnu target links glibc dynamically.
    let dynamic_target = tempfile::tempdir().unwrap();
    run(Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(app.path().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dynamic_target.path()));
    let mut req = request(app.path());
    req.cargo.prebuilt = Some(dynamic_target.path().join("debug/hello"));
    let err = image::build(&req).await.unwrap_err();
    assert!(matches!(err, image::ImageError::DynamicOnScratch { .. }));
    let report = format!("{:?}", miette::Report::new(err));
    assert!(report.contains("dynamically linked"), "{report}");
    assert!(report.contains("crt-static"), "{report}");
    assert!(report.contains("image.base"), "{report}");
    // The same binary is fine on a base with a libc (no ELF objection there).
    let info = image::build::inspect_elf(
        &std::fs::read(dynamic_target.path().join("debug/hello")).unwrap(),
        Architecture::X86_64,
    )
    .unwrap();
    assert!(info.interpreter.is_some());
}

/// A proxy in front of the registry that answers 500 to the first `fail` blob-upload
/// requests (PUT/PATCH on `/blobs/uploads/`) and drops the connection of the next `drop`
/// ones without answering; everything else is forwarded. With `immutable_tags` it also
/// plays an IMMUTABLE ECR repository, which docker-registry cannot: a manifest PUT to a tag
/// that already exists gets ECR's 400 TAG_INVALID (whatever the digest), counted as a fault.
struct FaultProxy {
    url: String,
    faults: Arc<AtomicUsize>,
    /// Every request line seen, in order.
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

fn start_fault_proxy(upstream: &str, fail: usize, drop: usize) -> FaultProxy {
    start_proxy(upstream, fail, drop, false)
}

fn start_proxy(upstream: &str, fail: usize, drop: usize, immutable_tags: bool) -> FaultProxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_string();
    let counter = Arc::new(AtomicUsize::new(0));
    let faults = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, f, r) = (counter.clone(), faults.clone(), requests.clone());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (upstream, c, f, r) = (upstream.clone(), c.clone(), f.clone(), r.clone());
            std::thread::spawn(move || {
                proxy_one(client, &upstream, &c, &f, &r, (fail, drop, immutable_tags))
            });
        }
    });
    FaultProxy {
        url,
        faults,
        requests,
    }
}

fn proxy_one(
    mut client: TcpStream,
    upstream: &str,
    counter: &AtomicUsize,
    faults: &AtomicUsize,
    requests: &std::sync::Mutex<Vec<String>>,
    (fail, drop, immutable_tags): (usize, usize, bool),
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("").to_string();
    requests.lock().unwrap().push(request_line.clone());
    let mut headers: Vec<String> = lines
        .filter(|l| !l.is_empty())
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(str::to_string)
        .collect();
    let len: usize = headers
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    if client.read_exact(&mut body).is_err() {
        return;
    }
    let upload = (request_line.starts_with("PUT ") || request_line.starts_with("PATCH "))
        && request_line.contains("/blobs/uploads/");
    if upload {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        if n < fail {
            faults.fetch_add(1, Ordering::SeqCst);
            let _ = client.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        }
        if n < fail + drop {
            faults.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
    if immutable_tags && let Some(path) = tag_put_path(&request_line) {
        // Ask the registry whether the tag exists, with the client's own credentials.
        let auth: Vec<&String> = headers
            .iter()
            .filter(|h| h.to_ascii_lowercase().starts_with("authorization:"))
            .collect();
        let exists = TcpStream::connect(upstream).ok().and_then(|mut up| {
            let head = format!(
                "HEAD {path} HTTP/1.1\r\nHost: {upstream}\r\n{}\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n",
                auth.iter().map(|h| h.as_str()).collect::<Vec<_>>().join("\r\n")
            );
            up.write_all(head.as_bytes()).ok()?;
            let mut answer = String::new();
            up.read_to_string(&mut answer).ok()?;
            Some(answer.starts_with("HTTP/1.1 200"))
        });
        if exists == Some(true) {
            faults.fetch_add(1, Ordering::SeqCst);
            let (repo, tag) = path
                .trim_start_matches("/v2/")
                .split_once("/manifests/")
                .unwrap_or(("", ""));
            let body = format!(
                r#"{{"errors":[{{"code":"TAG_INVALID","message":"The image tag '{tag}' already exists in the '{repo}' repository and cannot be overwritten because the tag is immutable."}}]}}"#
            );
            let _ = write!(
                client,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
    }
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return;
    };
    headers.push("Connection: close".into());
    let mut out = format!("{request_line}\r\n{}\r\n\r\n", headers.join("\r\n")).into_bytes();
    out.extend_from_slice(&body);
    if up.write_all(&out).is_err() {
        return;
    }
    let _ = std::io::copy(&mut up, &mut client);
}

/// The path of a `PUT /v2/<repo>/manifests/<tag>` request line (not a digest reference).
fn tag_put_path(request_line: &str) -> Option<&str> {
    let path = request_line.strip_prefix("PUT ")?.split(' ').next()?;
    let (_, reference) = path.split_once("/manifests/")?;
    (!reference.starts_with("sha256:")).then_some(path)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_immutable_repository_takes_the_same_digest_again_and_refuses_another() {
    let rig = Rig::start().unwrap();
    let app = hello_copy();
    let req = request(app.path());
    let first = image::build(&req).await.unwrap();
    let proxy = start_proxy(&rig.registry_url, 0, 0, true);
    let mut target = push_target(&rig, "hello", &proxy.url).await;
    target.tag_mutability = "IMMUTABLE".into();
    let pushed = image::push(&first, &target, &ecs_core::progress::Silent)
        .await
        .unwrap();
    assert!(pushed.repository_created);
    assert_eq!(
        proxy.faults.load(Ordering::SeqCst),
        0,
        "a new tag is accepted"
    );

    // The same image again: ECR answers TAG_INVALID for `latest`, which already names this
    // very digest, so the push is a success.
    let again = image::push(&first, &target, &ecs_core::progress::Silent)
        .await
        .unwrap();
    assert_eq!(again.reference, pushed.reference);
    assert_eq!(
        proxy.faults.load(Ordering::SeqCst),
        1,
        "the 400 was answered"
    );

    // Another image under the same tag: refused, with both digests and the way out.
    let main_rs = app.path().join("src/main.rs");
    let text = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(&main_rs, text.replace("Hello from", "Hi from")).unwrap();
    let changed = image::build(&req).await.unwrap();
    assert_ne!(changed.digest(), first.digest());
    let err = image::push(&changed, &target, &ecs_core::progress::Silent)
        .await
        .unwrap_err();
    let report = format!("{:?}", miette::Report::new(err));
    for want in [
        "latest",
        first.digest().as_str(),
        changed.digest().as_str(),
        "IMMUTABLE",
    ] {
        assert!(report.contains(want), "`{want}` missing from:\n{report}");
    }
    // The tag still names the first image.
    let tagged = skopeo_inspect(&rig, "hello:latest", false);
    assert_eq!(tagged["Digest"], first.digest().as_str());
}

#[test]
fn arm64_without_the_aarch64_target_says_how_to_add_it() {
    // A --target for another CPU than `architecture` is refused before cargo runs.
    let app = hello_copy();
    let out = cli_without_rig(
        app.path(),
        &["build", "--target", "aarch64-unknown-linux-gnu"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--target aarch64-unknown-linux-gnu does not build for linux/amd64"),
        "{stderr}"
    );
    assert!(!stderr.contains("Compiling"), "{stderr}");

    let sysroot = run(Command::new("rustc").args(["--print", "sysroot"]));
    let installed = Path::new(sysroot.trim())
        .join("lib/rustlib/aarch64-unknown-linux-gnu")
        .is_dir();
    let app = hello_copy();
    let out = cli_without_rig(
        app.path(),
        &["build", "--set", "architecture=\"arm64\""],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    if installed {
        // Where the target is installed the build goes on; it must not claim it is missing.
        assert!(!stderr.contains("is not installed"), "{stderr}");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("aarch64-unknown-linux-gnu")
            && stderr.contains("rustup target add aarch64-unknown-linux-gnu")
            && stderr.contains("arm64"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_faults_are_retried_into_a_complete_image() {
    let rig = Rig::start().unwrap();
    let app = hello_copy();
    // A 12 MiB incompressible include forces the chunked (PATCH) upload path.
    let data = incompressible(12 * 1024 * 1024 + 12345, 0x9E37_79B9_7F4A_7C15);
    std::fs::create_dir(app.path().join("static")).unwrap();
    std::fs::write(app.path().join("static/blob.bin"), &data).unwrap();
    let mut req = request(app.path());
    req.image.include = vec![Include {
        from: "static".into(),
        to: "/app/static".into(),
    }];
    let built: BuiltImage = image::build(&req).await.unwrap();
    assert!(built.layers[2].size > 12 * 1024 * 1024);

    let proxy = start_fault_proxy(&rig.registry_url, 3, 2);
    let target = push_target(&rig, "hello", &proxy.url).await;
    let pushed = image::push(&built, &target, &ecs_core::progress::Silent)
        .await
        .unwrap();
    assert_eq!(
        proxy.faults.load(Ordering::SeqCst),
        5,
        "every fault was hit"
    );
    assert_eq!(pushed.blobs_uploaded, 4);

    // Straight from the registry: skopeo copies it (verifying every digest) and the big
    // file comes back intact.
    let work = tempfile::tempdir().unwrap();
    let pulled = work.path().join("pulled");
    skopeo_pull(&rig, &format!("hello@{}", built.digest()), &pulled);
    let bundle = work.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:pulled", pulled.display()))
        .arg(&bundle));
    let back = std::fs::read(bundle.join("rootfs/app/static/blob.bin")).unwrap();
    assert!(back == data, "the included file survived the faults intact");
    let _ = (REGISTRY_USER, REGISTRY_PASSWORD);
}

/// The glibc runtime a dynamically linked Rust binary needs, copied from the host: the files
/// of a minimal base image with a libc.
fn stage_glibc_base(dir: &Path) {
    let libs = Path::new("/lib/x86_64-linux-gnu");
    let lib_dir = dir.join("lib/x86_64-linux-gnu");
    std::fs::create_dir_all(&lib_dir).unwrap();
    std::fs::create_dir_all(dir.join("lib64")).unwrap();
    for name in [
        "libc.so.6",
        "libgcc_s.so.1",
        "libm.so.6",
        "ld-linux-x86-64.so.2",
    ] {
        // fs::copy follows the host's symlinks: the image gets the real files.
        std::fs::copy(libs.join(name), lib_dir.join(name)).unwrap();
    }
    std::fs::copy(
        "/lib64/ld-linux-x86-64.so.2",
        dir.join("lib64/ld-linux-x86-64.so.2"),
    )
    .unwrap();
}

/// Makes an image with umoci from `layers` (one staging directory each) and the given
/// architecture and env, and copies it with skopeo to `repo:tag` in the registry. Returns the
/// digest of its manifest and that manifest's size.
fn umoci_image_to_registry(
    rig: &Rig,
    work: &Path,
    name: &str,
    layers: &[&Path],
    arch: &str,
    env: &str,
    dest: &str,
) -> (String, u64) {
    let layout = work.join(format!("umoci-{name}"));
    let image = format!("{}:{name}", layout.display());
    run(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    for dir in layers {
        run(Command::new("umoci")
            .args(["insert", "--rootless", "--image", &image])
            .arg(dir)
            .arg("/"));
    }
    run(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--architecture",
        arch,
        "--config.env",
        env,
    ]));
    run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        CREDS,
        &format!("oci:{image}"),
        &format!("docker://{}/{dest}", registry_hostport(rig)),
    ]));
    let raw = run(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        CREDS,
        &format!("docker://{}/{dest}", registry_hostport(rig)),
    ]));
    (
        ecs_core::image::layer::sha256(raw.as_bytes()).to_string(),
        raw.len() as u64,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_image_in_the_same_ecr_registry_is_pulled_by_digest_and_mounted() {
    let rig = Rig::start().unwrap();
    let work = tempfile::tempdir().unwrap();

    // A base image in another repository of the (stand-in) ECR registry: a glibc layer and a
    // marker layer, published as an image index whose FIRST entry is linux/arm64, so picking
    // the platform matters.
    let glibc = work.path().join("glibc");
    stage_glibc_base(&glibc);
    let marker = work.path().join("marker");
    std::fs::create_dir_all(marker.join("etc")).unwrap();
    std::fs::write(marker.join("etc/base-release"), "cargo-ecs test base 1\n").unwrap();
    let (amd64, amd64_size) = umoci_image_to_registry(
        &rig,
        work.path(),
        "amd64",
        &[&glibc, &marker],
        "amd64",
        "BASE_FLAVOUR=glibc",
        "base:amd64",
    );
    let (arm64, arm64_size) = umoci_image_to_registry(
        &rig,
        work.path(),
        "arm64",
        &[&marker],
        "arm64",
        "BASE_FLAVOUR=wrong-platform",
        "base:arm64",
    );
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm64,
             "size": arm64_size, "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64,
             "size": amd64_size, "platform": {"os": "linux", "architecture": "amd64"}},
        ]
    });
    let registry = ecs_core::registry::Registry::new(&ecs_core::registry::RegistryAccess {
        host: registry_hostport(&rig),
        endpoint: None,
        credentials: Some(ecs_core::registry::Credentials::new(
            REGISTRY_USER,
            REGISTRY_PASSWORD,
        )),
    })
    .unwrap();
    registry
        .put_manifest(
            "base",
            "multi",
            "application/vnd.oci.image.index.v1+json",
            &serde_json::to_vec(&index).unwrap(),
        )
        .await
        .unwrap();
    let base_layers: Vec<String> = skopeo_inspect(&rig, &format!("base@{amd64}"), false)["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert_eq!(base_layers.len(), 2);

    // The user's view: `image.base` names the private ECR repository by tag.
    let app = hello_copy();
    let base_ref = format!("{ECR_HOST}/base:multi");
    let cache = work.path().join("cache");
    let build = |endpoint: &str| {
        rig.cargo_ecs()
            .args(["build", "--push", "-vv", "--set"])
            .arg(format!("image.base=\"{base_ref}\""))
            .arg("--manifest-path")
            .arg(app.path().join("Cargo.toml"))
            .env(
                "CARGO_TARGET_DIR",
                workspace_root().join("target/ecs-e2e-base"),
            )
            .env("CARGO_ECS_CACHE_DIR", &cache)
            .env("CARGO_ECS_REGISTRY_ENDPOINT", endpoint)
            .output()
            .unwrap()
    };
    let out = build(&rig.registry_url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo ecs build failed:\n{stderr}");
    assert!(!stderr.contains(REGISTRY_PASSWORD), "token leaked");
    let reference = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let digest = reference
        .strip_prefix(&format!("{ECR_HOST}/hello@"))
        .unwrap_or_else(|| panic!("not an ECR reference: {reference}"));

    // Both base layers were mounted from `base`, not uploaded.
    for layer in &base_layers {
        assert!(
            stderr.contains(&format!("blob {layer} mounted from base")),
            "{layer} not mounted:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("2 blob(s) already present (2 mounted from another repository)"),
        "{stderr}"
    );

    // The image: base layers first (same digests), pinned by the amd64 digest, base env kept.
    let inspect = skopeo_inspect(&rig, &format!("hello@{digest}"), false);
    let layers: Vec<&str> = inspect["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        layers[..2],
        [base_layers[0].as_str(), base_layers[1].as_str()]
    );
    assert_eq!(
        layers.len(),
        3,
        "base layers + the app layer (no scratch files)"
    );
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.base.name"],
        format!("{ECR_HOST}/base@{amd64}")
    );
    let config = skopeo_inspect(&rig, &format!("hello@{digest}"), true);
    let env: Vec<&str> = config["config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(env.contains(&"BASE_FLAVOUR=glibc"), "{env:?}");

    // It runs: a dynamically linked hello on the base's glibc, under runc.
    let pulled = work.path().join("pulled");
    skopeo_pull(&rig, &format!("hello@{digest}"), &pulled);
    let answer = unpack_and_run(&pulled, "pulled", work.path());
    assert!(answer.starts_with("HTTP/1.1 200"), "answer: {answer:?}");
    assert!(
        answer.contains("Hello from cargo ecs!"),
        "answer: {answer:?}"
    );
    let bundle = work.path().join("bundle-pulled/rootfs");
    assert_eq!(
        std::fs::read_to_string(bundle.join("etc/base-release")).unwrap(),
        "cargo-ecs test base 1\n"
    );

    // The base's blobs were cached by digest: the next build reads the index and manifest
    // again (tags move) but downloads no blob, and gives the same image.
    for layer in &base_layers {
        let hex = layer.trim_start_matches("sha256:");
        assert!(
            cache.join("blobs/sha256").join(hex).is_file(),
            "{layer} not cached"
        );
    }
    let proxy = start_proxy(&rig.registry_url, 0, 0, false);
    let out = build(&proxy.url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), reference);
    let seen = proxy.requests.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|r| r.starts_with("GET /v2/base/manifests/multi")),
        "{seen:#?}"
    );
    let blob_gets: Vec<&String> = seen
        .iter()
        .filter(|r| r.starts_with("GET /v2/base/blobs/"))
        .collect();
    assert!(blob_gets.is_empty(), "downloaded again: {blob_gets:#?}");
}

#[test]
fn the_upload_shows_a_byte_progress_bar_on_a_terminal_and_plain_lines_elsewhere() {
    let rig = Rig::start().unwrap();
    let app = hello_copy();
    // 25 MiB that gzip cannot shrink: three 10 MiB parts, so the bar has bytes to count.
    let data = incompressible(25 * 1024 * 1024, 0x2545_F491_4F6C_DD1D);
    std::fs::create_dir(app.path().join("data")).unwrap();
    std::fs::write(app.path().join("data/blob.bin"), &data).unwrap();
    let include = r#"image.include=[{from="data",to="/app/data"}]"#;

    // On a terminal (a pty from util-linux `script`): indicatif redraws the bar in place.
    let shell_quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let command = [
        ecs_e2e::cargo_ecs_bin().display().to_string(),
        "ecs".into(),
        "build".into(),
        "--push".into(),
        "--set".into(),
        include.into(),
        "--set".into(),
        r#"image.repository="on-a-tty""#.into(),
        "--manifest-path".into(),
        app.path().join("Cargo.toml").display().to_string(),
    ]
    .iter()
    .map(|a| shell_quote(a))
    .collect::<Vec<_>>()
    .join(" ");
    let mut script = Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env("CARGO_TARGET_DIR", target_dir())
        .env("COLUMNS", "120")
        .stdin(Stdio::null());
    for (k, v) in rig.env() {
        script.env(k, v);
    }
    let tty = run(&mut script);
    assert!(
        tty.contains('\r') && tty.contains("\u{1b}["),
        "no redraws: {tty:?}"
    );
    assert!(tty.contains("B/25."), "no byte counts: {tty:?}");
    assert!(
        tty.contains("MiB uploaded, 0 blob(s) already present"),
        "{tty:?}"
    );

    // Not a terminal: plain lines, no control sequences, the same summary.
    let out = cli_on_rig(
        &rig,
        app.path(),
        &[
            "build",
            "--push",
            "--set",
            include,
            "--set",
            r#"image.repository="not-a-tty""#,
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
    assert!(
        stderr.contains("Push 4 blob(s)")
            && stderr.contains("MiB uploaded, 0 blob(s) already present"),
        "{stderr}"
    );
}

#[test]
fn an_oci_layout_build_prints_a_reference_skopeo_reads() {
    let app = hello_copy();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let layout_arg = layout.display().to_string();
    let out = cli_without_rig(app.path(), &["build", "--oci-layout", &layout_arg], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let reference = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(reference, format!("oci:{}:latest", layout.display()));
    // What a script does with it.
    let inspect: serde_json::Value =
        serde_json::from_str(&run(Command::new("skopeo").args(["inspect", &reference]))).unwrap();
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(inspect["Digest"], index["manifests"][0]["digest"]);
    assert_eq!(inspect["Architecture"], "amd64");

    // A second image into the same layout adds its tag and keeps `latest`.
    let out = cli_without_rig(
        app.path(),
        &[
            "build",
            "--set",
            r#"image.tags=["v2"]"#,
            "--set",
            "image.ca-certificates=false",
            "--oci-layout",
            &layout_arg,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(layout.join("index.json")).unwrap()).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["latest", "v2"]);
    for tag in ["latest", "v2"] {
        let reference = format!("oci:{}:{tag}", layout.display());
        run(Command::new("skopeo").args(["inspect", &reference]));
    }
    assert_ne!(
        index["manifests"][0]["digest"],
        index["manifests"][1]["digest"]
    );

    // A directory with other files in it is refused before anything is built, and kept.
    let other = work.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("important.txt"), "keep me").unwrap();
    let other_arg = other.display().to_string();
    let out = cli_without_rig(app.path(), &["build", "--oci-layout", &other_arg], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not an OCI image layout"), "{stderr}");
    assert!(
        !stderr.contains("Finished"),
        "refused before cargo runs: {stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&other).unwrap().count(),
        1,
        "nothing written into it"
    );
}

#[test]
fn an_unreachable_base_registry_is_named_with_the_cause() {
    let app = hello_copy();
    // Nothing listens on this loopback port: every attempt is refused.
    let port = free_port().unwrap();
    let base = format!("image.base=\"127.0.0.1:{port}/base:1\"");
    let out = cli_without_rig(
        app.path(),
        &["build", "--set", &base],
        Some(&workspace_root().join("target/ecs-e2e-base")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Compared without whitespace: miette wraps long lines anywhere.
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    let flat = squash(&stderr);
    let wanted =
        format!("gave up on GET /v2/base/manifests/1 at 127.0.0.1:{port} after 6 attempts");
    assert!(flat.contains(&squash(&wanted)), "{stderr}");
    assert!(flat.contains("Connectionrefused"), "{stderr}");
    assert!(!flat.contains("answered0"), "{stderr}");
    // The request is named once, not again in each cause.
    assert_eq!(flat.matches("/v2/base/manifests/1").count(), 1, "{stderr}");
}

#[test]
fn quiet_build_prints_only_the_digest() {
    let app = hello_copy();
    let out = cli_without_rig(app.path(), &["-q", "build"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr, "",
        "-q passes --quiet to cargo and prints no status"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.trim().starts_with("sha256:") && stdout.trim().len() == 71,
        "{stdout}"
    );

    // -q and -v contradict each other: a usage error, as in cargo.
    let out = cli_without_rig(app.path(), &["-q", "-v", "build"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));

    // --color reaches cargo: its own lines are coloured on a pipe when asked.
    let out = cli_without_rig(app.path(), &["--color", "always", "build"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let finished = stderr
        .lines()
        .find(|l| l.contains("Finished"))
        .unwrap_or_default();
    assert!(finished.contains("\u{1b}["), "{stderr:?}");
    let out = cli_without_rig(app.path(), &["--color", "never", "build"], None);
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}

#[test]
fn included_trees_land_in_the_image_with_links_as_links() {
    use std::os::unix::fs::symlink;
    let app = hello_copy();
    let root = app.path();
    std::fs::create_dir_all(root.join("static/css")).unwrap();
    std::fs::write(root.join("static/index.html"), "<h1>hi</h1>").unwrap();
    std::fs::write(root.join("static/css/site.css"), "h1{}").unwrap();
    symlink("index.html", root.join("static/home.html")).unwrap();
    // A link to a host file stays a link: the host's file is not copied in.
    symlink("/etc/hostname", root.join("static/host")).unwrap();

    // Missing sources are configuration errors, each at its key, before anything is built.
    let missing = r#"image.include=[{from="nosuch",to="/a"},{from="static",to="/s"},{from="/nonexistent/x",to="/b"}]"#;
    let out = cli_without_rig(root, &["build", "--set", missing], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let flat: String = stderr.split_whitespace().collect();
    assert!(flat.contains("2problems"), "{stderr}");
    for (key, path) in [
        ("image.include.0.from", root.join("nosuch")),
        ("image.include.2.from", "/nonexistent/x".into()),
    ] {
        let line = format!(
            "for `{key}` (from --set {key}=…): {} does not exist",
            path.display()
        );
        let line: String = line.split_whitespace().collect();
        assert!(flat.contains(&line), "{line} in {stderr}");
    }
    assert!(!stderr.contains("Building"), "{stderr}");

    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let layout_arg = layout.display().to_string();
    let include = r#"image.include=[{from="static",to="/app/static"}]"#;
    // A numeric user with a named group: /etc/group names it, or umoci cannot unpack.
    let out = cli_without_rig(
        root,
        &[
            "build",
            "--set",
            include,
            "--set",
            r#"image.user="1000:nogroup""#,
            "--oci-layout",
            &layout_arg,
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // umoci unpacks it as a runtime would; the tree is there, links as links.
    let bundle = work.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image", &format!("{layout_arg}:latest")])
        .arg(&bundle));
    let static_dir = bundle.join("rootfs/app/static");
    assert_eq!(
        std::fs::read_to_string(static_dir.join("index.html")).unwrap(),
        "<h1>hi</h1>"
    );
    assert_eq!(
        std::fs::read_to_string(static_dir.join("css/site.css")).unwrap(),
        "h1{}"
    );
    for (link, target) in [("home.html", "index.html"), ("host", "/etc/hostname")] {
        let p = static_dir.join(link);
        assert!(
            std::fs::symlink_metadata(&p)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{link} is a link"
        );
        assert_eq!(std::fs::read_link(&p).unwrap(), Path::new(target));
    }
    assert!(bundle.join("rootfs/app/hello").is_file());
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(cfg["process"]["user"]["uid"], 1000);
    assert_eq!(cfg["process"]["user"]["gid"], 65534);

    // A file over a directory of the image is refused, naming the include and the directory.
    let over = r#"image.include=[{from="static/index.html",to="/app"}]"#;
    let out = cli_without_rig(root, &["build", "--set", over], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(r#"include.0.to` = "/app" puts a file at /app"#),
        "{stderr}"
    );

    // An include over the binary's own path is refused, by name.
    let over = r#"image.include=[{from="static",to="/app/hello"}]"#;
    let out = cli_without_rig(root, &["build", "--set", over], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("over the binary /app/hello"), "{stderr}");

    // Several at once: every one named by its key, before cargo runs.
    let many = r#"image.include=[{from="static",to="/app/hello"},{from="static/index.html",to="/"},{from="static/index.html",to="/tmp"}]"#;
    let out = cli_without_rig(root, &["build", "--set", many], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for key in ["include.0.to", "include.1.to", "include.2.to"] {
        assert!(stderr.contains(key), "{key}: {stderr}");
    }
    assert!(
        !stderr.contains("Finished"),
        "refused before cargo: {stderr}"
    );
}

#[test]
fn a_closed_pipe_is_quiet_and_a_full_disk_is_an_error() {
    let app = hello_copy();
    let cli = || {
        let mut cmd = Command::new(ecs_e2e::cargo_ecs_bin());
        cmd.args(["ecs", "-q", "build", "--manifest-path"])
            .arg(app.path().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target_dir())
            .env("RUST_BACKTRACE", "1");
        cmd
    };
    // `cargo ecs build | head -c0`: the reader is gone before the digest is written.
    let mut child = cli()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // `cargo ecs build 2>&1 | head -1`: the status lines' reader is gone; the build goes on
    // (a panic in eprintln! was exit 101).
    let mut child = cli()
        .arg("-v")
        .args(["--set", "image.tags=[\"stderr-closed\"]"])
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sha256:"));

    // `> /dev/full`: the digest is lost, so the build is not a success.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = cli().stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write to stdout") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn bin_selects_one_of_several_binary_targets() {
    let app = hello_copy();
    let bin_dir = app.path().join("src/bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::write(
        bin_dir.join("other.rs"),
        "fn main() { println!(\"other\"); }\n",
    )
    .unwrap();
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    // Two binaries and no image.bin: the error offers --bin.
    let out = cli_without_rig(app.path(), &["build"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        squash(&stderr).contains("(orpass`--binNAME`tobuildanddeploy)"),
        "{stderr}"
    );
    // An unknown name is checked before anything is built, naming the flag and the targets.
    let out = cli_without_rig(app.path(), &["build", "--bin", "nope"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        squash(&stderr).contains(&squash(
            "invalid value \"nope\" for `image.bin` (from --bin): not a binary target of `hello`"
        )),
        "{stderr}"
    );
    assert!(squash(&stderr).contains("useoneofhello,other"), "{stderr}");
    assert!(!stderr.contains("Compiling"), "{stderr}");
    // --bin picks the binary cargo builds and the image runs, over image.bin in Cargo.toml.
    let manifest = app.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replacen(
        "[package.metadata.ecs]",
        "[package.metadata.ecs]\nimage.bin = \"hello\"",
        1,
    );
    assert!(text.contains("image.bin = \"hello\""), "{text}");
    std::fs::write(&manifest, text).unwrap();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let layout_arg = layout.display().to_string();
    let out = cli_without_rig(
        app.path(),
        &["build", "--bin", "other", "--oci-layout", &layout_arg],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let inspect: serde_json::Value = serde_json::from_str(&run(Command::new("skopeo").args([
        "inspect",
        "--config",
        &format!("oci:{}:latest", layout.display()),
    ])))
    .unwrap();
    assert_eq!(
        inspect["config"]["Entrypoint"],
        serde_json::json!(["/app/other"])
    );
}

#[test]
fn rustflags_from_cargo_config_are_kept_beside_crt_static() {
    let app = hello_copy();
    // The build fails unless the user's flag reaches rustc; the scratch base fails it unless
    // ours (+crt-static) does too.
    let main_rs = app.path().join("src/main.rs");
    let code = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(
        &main_rs,
        format!("{code}\n#[cfg(not(from_user_config))]\ncompile_error!(\"the user's rustflags were dropped\");\n"),
    )
    .unwrap();
    std::fs::create_dir(app.path().join(".cargo")).unwrap();
    for table in ["build", "target.x86_64-unknown-linux-gnu"] {
        std::fs::write(
            app.path().join(".cargo/config.toml"),
            format!("[{table}]\nrustflags = [\"--cfg\", \"from_user_config\"]\n"),
        )
        .unwrap();
        // cargo reads .cargo/config.toml from the directory it runs in.
        let out = Command::new(ecs_e2e::cargo_ecs_bin())
            .args(["ecs", "build"])
            .current_dir(app.path())
            .env("CARGO_TARGET_DIR", target_dir())
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "[{table}]: {stderr}");
    }
}
