//! The one place that builds an AWS `SdkConfig` (profile, region, endpoint override) and the
//! SDK adapters for ECR, ECS, CloudWatch Logs, STS and EC2. Shell code: it talks to AWS.
//!
//! The region is never silently defaulted: when neither `--region`, `AWS_REGION`,
//! `AWS_DEFAULT_REGION` nor the profile names one, [`load`] fails and says how to set it.
//! `--endpoint-url` and the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`
//! variables send every call elsewhere (moto in the tests).

pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod logs;
pub mod taskdef_api;

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// How to reach AWS, from the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
}

/// Errors building the AWS configuration.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AwsConfigError {
    /// No region anywhere in the chain.
    #[error("no AWS region is configured")]
    #[diagnostic(
        code(cargo_ecs::aws::no_region),
        help("pass `--region us-east-1`, set AWS_REGION, or set `region` in your AWS profile")
    )]
    NoRegion,
}

/// Builds the shared SDK configuration once, in the shell.
pub async fn load(opts: &AwsOptions) -> Result<SdkConfig, AwsConfigError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    load_from(loader, opts).await
}

/// Like [`load`], with fixed static credentials (tests against local stand-ins, so no
/// process-global environment needs changing). `opts.profile` is not used.
pub async fn load_with_credentials(
    opts: &AwsOptions,
    access_key: &str,
    secret_key: &str,
) -> Result<SdkConfig, AwsConfigError> {
    let creds =
        aws_credential_types::Credentials::new(access_key, secret_key, None, None, "static");
    let loader = aws_config::defaults(BehaviorVersion::latest()).credentials_provider(creds);
    load_from(loader, opts).await
}

/// Applies `--region` and `--endpoint-url` to `loader`, loads, and insists on a region.
async fn load_from(
    mut loader: aws_config::ConfigLoader,
    opts: &AwsOptions,
) -> Result<SdkConfig, AwsConfigError> {
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(AwsConfigError::NoRegion);
    }
    Ok(config)
}
