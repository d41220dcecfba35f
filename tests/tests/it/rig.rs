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
