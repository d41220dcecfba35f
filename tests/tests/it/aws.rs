//! End-to-end tests of how `cargo ecs` reaches AWS: which credentials and region an explicit
//! `--aws-profile` brings (over `AWS_ACCESS_KEY_ID` in the environment, as the AWS CLI does),
//! and what a failed connection looks like (one or two lines naming the operation, the
//! endpoint and the cause, never the SDK's `Debug` dump). The endpoint is a tiny local HTTP
//! server that records each request's `Authorization` header and answers HTML.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use ecs_e2e::cargo_ecs_bin;

use crate::common::{hello_copy, run};

/// A server on loopback answering every request with `status` and an HTML page, keeping the
/// `Authorization` headers it saw.
struct HtmlServer {
    url: String,
    authorizations: Arc<Mutex<Vec<String>>>,
}

impl HtmlServer {
    fn start(status: u16) -> HtmlServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let seen = authorizations.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let header = |name: &str| {
                    head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                    })
                };
                let len = header("content-length")
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = stream.read_exact(&mut body);
                if let Some(auth) = header("authorization") {
                    seen.lock().unwrap().push(auth);
                }
                let page = "<html><body><h1>It works!</h1></body></html>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Whatever\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
            }
        });
        HtmlServer {
            url,
            authorizations,
        }
    }

    fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }
}

/// `cargo-ecs ecs` in `dir` with the environment keys `testing`, no region and no profile
/// from the caller's environment, and profile files that do not exist.
fn cargo_ecs(dir: &Path) -> Command {
    let mut cmd = Command::new(cargo_ecs_bin());
    for (k, _) in std::env::vars() {
        if (k.starts_with("CARGO_ECS_") && k != "CARGO_ECS_BIN") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("ecs")
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("NO_COLOR", "1");
    cmd
}

/// Writes a config file with `[profile other]` (region eu-west-1) and a credentials file with
/// its keys (PROFILEKEY) into `dir`, and points `cmd` at them.
fn with_profile_files(cmd: &mut Command, dir: &Path) {
    let config = dir.join("aws-config");
    let credentials = dir.join("aws-credentials");
    std::fs::write(&config, "[profile other]\nregion = eu-west-1\n").unwrap();
    std::fs::write(
        &credentials,
        "[other]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = PROFILESECRET\n",
    )
    .unwrap();
    cmd.env("AWS_CONFIG_FILE", config)
        .env("AWS_SHARED_CREDENTIALS_FILE", credentials);
}

/// The `Credential=KEY/DATE/REGION/…` scope of the one signed request `server` got.
fn credential_scope(server: &HtmlServer, stderr: &str) -> (String, String) {
    let auths = server.authorizations();
    let auth = auths
        .first()
        .unwrap_or_else(|| panic!("no signed request reached the server; stderr:\n{stderr}"));
    let scope = auth
        .split("Credential=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or_else(|| panic!("no credential scope in {auth}"));
    let parts: Vec<&str> = scope.split('/').collect();
    (parts[0].to_string(), parts[2].to_string())
}

#[test]
fn an_explicit_aws_profile_wins_over_environment_keys() {
    let dir = hello_copy();
    let server = HtmlServer::start(200);
    let mut cmd = cargo_ecs(dir.path());
    with_profile_files(&mut cmd, dir.path());
    let (_, _, stderr) =
        run(cmd
            .env("AWS_ENDPOINT_URL", &server.url)
            .args(["status", "--aws-profile", "other"]));
    assert_eq!(
        credential_scope(&server, &stderr),
        ("PROFILEKEY".to_string(), "eu-west-1".to_string()),
        "the profile's keys and region; stderr:\n{stderr}"
    );
}

#[test]
fn region_variable_and_flag_beat_the_profile_region() {
    let dir = hello_copy();
    for (extra, env_region, want) in [
        (&[][..], Some("us-west-2"), "us-west-2"),
        (
            &["--region", "ap-south-1"][..],
            Some("us-west-2"),
            "ap-south-1",
        ),
    ] {
        let server = HtmlServer::start(200);
        let mut cmd = cargo_ecs(dir.path());
        with_profile_files(&mut cmd, dir.path());
        if let Some(region) = env_region {
            cmd.env("AWS_REGION", region);
        }
        let (_, _, stderr) = run(cmd
            .env("AWS_ENDPOINT_URL", &server.url)
            .args(["status", "--aws-profile", "other"])
            .args(extra));
        assert_eq!(
            credential_scope(&server, &stderr),
            ("PROFILEKEY".to_string(), want.to_string()),
            "{extra:?}; stderr:\n{stderr}"
        );
    }
}

#[test]
fn with_aws_profile_the_environment_keys_still_win() {
    // The SDKs' default chain (and the AWS CLI): AWS_ACCESS_KEY_ID beats AWS_PROFILE; the
    // profile still gives the region.
    let dir = hello_copy();
    let server = HtmlServer::start(200);
    let mut cmd = cargo_ecs(dir.path());
    with_profile_files(&mut cmd, dir.path());
    let (_, _, stderr) = run(cmd
        .env("AWS_ENDPOINT_URL", &server.url)
        .env("AWS_PROFILE", "other")
        .arg("status"));
    assert_eq!(
        credential_scope(&server, &stderr),
        ("testing".to_string(), "eu-west-1".to_string()),
        "stderr:\n{stderr}"
    );
}

#[test]
fn a_missing_aws_profile_is_an_error_naming_it_and_the_files() {
    let dir = hello_copy();
    let server = HtmlServer::start(200);
    let mut cmd = cargo_ecs(dir.path());
    with_profile_files(&mut cmd, dir.path());
    let (code, stdout, stderr) = run(cmd
        .env("AWS_ENDPOINT_URL", &server.url)
        .env("AWS_REGION", "us-east-1")
        .args(["status", "--aws-profile", "nosuchprofile"]));
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.starts_with("error: AWS profile `nosuchprofile` not found in "),
        "{stderr}"
    );
    assert!(
        stderr.contains("aws-config") && stderr.contains("aws-credentials"),
        "{stderr}"
    );
    assert!(
        stderr.contains("other"),
        "lists the profiles there are: {stderr}"
    );
    assert!(server.authorizations().is_empty(), "no call was made");
}

/// Asserts a short error: at most `lines` lines, naming `needles`, and no SDK dump.
fn assert_short(stderr: &str, lines: usize, needles: &[&str]) {
    assert!(
        stderr.lines().count() <= lines,
        "at most {lines} lines:\n{stderr}"
    );
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` missing:\n{stderr}");
    }
    for dump in [
        "SdkBody",
        "Unhandled",
        "Request {",
        "ConnectorError",
        "DispatchFailure",
        "unexpected token",
    ] {
        assert!(!stderr.contains(dump), "`{dump}` in:\n{stderr}");
    }
}

#[test]
fn aws_connection_errors_are_short_and_name_the_endpoint() {
    let dir = hello_copy();
    let status = |endpoint_env: Option<&str>, args: &[&str]| {
        let mut cmd = cargo_ecs(dir.path());
        cmd.env("AWS_REGION", "us-east-1");
        if let Some(url) = endpoint_env {
            cmd.env("AWS_ENDPOINT_URL", url);
        }
        let (code, stdout, stderr) = run(cmd.arg("status").args(args));
        assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
        stderr
    };

    // A port nobody listens on.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let stderr = status(Some(&refused), &[]);
    assert_short(
        &stderr,
        2,
        &["DescribeServices", &refused, "connection refused"],
    );

    // Something that answers, but not as AWS does.
    let html = HtmlServer::start(200);
    let stderr = status(Some(&html.url), &[]);
    assert_short(
        &stderr,
        2,
        &["DescribeServices", &html.url, "HTTP 200", "text/html"],
    );
    let gateway = HtmlServer::start(502);
    let stderr = status(Some(&gateway.url), &[]);
    assert_short(&stderr, 2, &["DescribeServices", &gateway.url, "HTTP 502"]);

    // Endpoints that cannot work are refused before any call, naming the flag or variable.
    let stderr = status(Some("notaurl"), &[]);
    assert_short(&stderr, 2, &["AWS_ENDPOINT_URL", "`notaurl`", "http://"]);
    // A flag that cannot work is a usage error (exit 2), even where no AWS call is made.
    for args in [
        &["status", "--endpoint-url", "ftp://x"][..],
        &["render", "--endpoint-url", "ftp://x"],
    ] {
        let (code, _, stderr) = run(cargo_ecs(dir.path()).args(args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_short(&stderr, 3, &["--endpoint-url", "'ftp://x'", "http://"]);
    }
    let (code, _, stderr) = run(cargo_ecs(dir.path()).args(["render", "--region", ""]));
    assert_eq!(code, 2, "{stderr}");
    assert_short(&stderr, 3, &["--region", "us-east-1"]);
    // The same mistake in the environment is caught before any work, with its own words.
    let (code, _, stderr) = run(cargo_ecs(dir.path())
        .env("AWS_REGION", "us east")
        .arg("render"));
    assert_eq!(code, 1, "{stderr}");
    assert_short(
        &stderr,
        2,
        &["`us east` is not a region name", "AWS_REGION"],
    );
}

#[test]
fn an_unreachable_ecr_is_a_network_problem_not_an_iam_one() {
    let dir = hello_copy();
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut cmd = cargo_ecs(dir.path());
    cmd.env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &refused)
        .env(
            "CARGO_TARGET_DIR",
            ecs_e2e::workspace_root().join("target/ecs-e2e-build"),
        );
    let (code, _, stderr) = run(cmd.args(["build", "--push"]));
    assert_eq!(code, 1, "{stderr}");
    let flat: String = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("cannot get an ECR authorization token"),
        "{stderr}"
    );
    assert!(flat.contains("connection refused"), "{stderr}");
    assert!(flat.contains("no answer from ECR"), "{stderr}");
    assert!(!flat.contains("IAM"), "{stderr}");
}
