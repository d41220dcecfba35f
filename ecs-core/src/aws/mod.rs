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
pub mod error;
pub mod logs;
pub mod taskdef_api;

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// How to reach AWS, from the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--aws-profile`: when given, its credentials win over `AWS_ACCESS_KEY_ID` & co.
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
    /// `--aws-profile` names a profile that is in none of the files.
    #[error("AWS profile `{name}` not found in {files}")]
    #[diagnostic(code(cargo_ecs::aws::no_profile), help("{help}"))]
    NoProfile {
        /// The profile asked for.
        name: String,
        /// The files looked at.
        files: String,
        /// The profiles there are, or how to make one.
        help: String,
    },
    /// The profile files cannot be read or parsed.
    #[error("cannot read the AWS profile files for profile `{name}`: {reason}")]
    #[diagnostic(code(cargo_ecs::aws::profile_files))]
    ProfileFiles {
        /// The profile asked for.
        name: String,
        /// Why.
        reason: String,
    },
    /// An endpoint URL that cannot work.
    #[error("invalid endpoint URL `{value}` in {origin}: {reason}")]
    #[diagnostic(
        code(cargo_ecs::aws::bad_endpoint),
        help(
            "write a URL such as `http://127.0.0.1:5000` or `https://ecs.eu-west-1.amazonaws.com`"
        )
    )]
    BadEndpoint {
        /// `--endpoint-url`, `AWS_ENDPOINT_URL`…
        origin: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A region (from the environment or a profile) that is not a region name.
    #[error("the AWS region `{value}` is not a region name")]
    #[diagnostic(
        code(cargo_ecs::aws::bad_region),
        help(
            "set AWS_REGION (or the profile's `region`, or --region) to a name such as us-east-1"
        )
    )]
    BadRegion {
        /// The value.
        value: String,
    },
}

/// Whether `name` can be an AWS region name: lowercase letters, digits and dashes
/// (`us-east-1`, `eu-west-3`), neither starting nor ending with a dash.
pub fn is_region_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

impl From<error::BadEndpoint> for AwsConfigError {
    fn from(e: error::BadEndpoint) -> Self {
        AwsConfigError::BadEndpoint {
            origin: e.origin,
            value: e.value,
            reason: e.reason,
        }
    }
}

/// Builds the shared SDK configuration once, in the shell.
///
/// Credentials and region follow the AWS CLI: an explicit `--aws-profile` takes its
/// credentials from that profile even when `AWS_ACCESS_KEY_ID` & co. are set (while with
/// `AWS_PROFILE` the environment keys win, as in the SDKs' default chain), and a profile that
/// is in neither file is an error. The region is `--region`, else `AWS_REGION` /
/// `AWS_DEFAULT_REGION`, else the profile's.
pub async fn load(opts: &AwsOptions) -> Result<SdkConfig, AwsConfigError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &opts.profile {
        check_profile(profile).await?;
        loader = loader.profile_name(profile).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    load_from(loader, opts).await
}

/// The shared config and credentials files, as the SDK finds them.
fn profile_file_paths() -> [String; 2] {
    let home = std::env::var("HOME").unwrap_or_else(|_| "~".to_string());
    let file = |var: &str, default: &str| match std::env::var(var) {
        Ok(path) if !path.is_empty() => path,
        _ => format!("{home}/.aws/{default}"),
    };
    [
        file("AWS_CONFIG_FILE", "config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
    ]
}

/// Fails unless `name` is a profile of the config or credentials file.
async fn check_profile(name: &str) -> Result<(), AwsConfigError> {
    use aws_types::os_shim_internal::{Env, Fs};
    let profiles = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &Default::default(),
        Some(name.to_string().into()),
    )
    .await
    .map_err(|e| AwsConfigError::ProfileFiles {
        name: name.to_string(),
        reason: e.to_string(),
    })?;
    if profiles.get_profile(name).is_some() {
        return Ok(());
    }
    let [config, credentials] = profile_file_paths();
    let mut known: Vec<&str> = profiles.profiles().collect();
    known.sort_unstable();
    let help = if known.is_empty() {
        format!(
            "create it with `aws configure --profile {name}`, or point AWS_CONFIG_FILE / \
             AWS_SHARED_CREDENTIALS_FILE at the files that have it"
        )
    } else {
        format!("the profiles there are: {}", known.join(", "))
    };
    Err(AwsConfigError::NoProfile {
        name: name.to_string(),
        files: format!("{config} or {credentials}"),
        help,
    })
}

/// Checks `--endpoint-url`, else `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`, up front.
fn check_endpoints(opts: &AwsOptions) -> Result<(), AwsConfigError> {
    if let Some(url) = &opts.endpoint_url {
        return Ok(error::check_endpoint_url("--endpoint-url", url)?);
    }
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if ignored {
        return Ok(());
    }
    let variables = std::iter::once("AWS_ENDPOINT_URL".to_string())
        .chain(error::Service::ALL.iter().map(|s| s.endpoint_variable()));
    for var in variables {
        if let Ok(url) = std::env::var(&var)
            && !url.is_empty()
        {
            error::check_endpoint_url(&var, &url)?;
        }
    }
    Ok(())
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
    check_endpoints(opts)?;
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    match config.region().map(|r| r.as_ref()) {
        // An empty AWS_REGION is no region at all.
        None | Some("") => return Err(AwsConfigError::NoRegion),
        Some(r) if !is_region_name(r) => {
            return Err(AwsConfigError::BadRegion {
                value: r.to_string(),
            });
        }
        Some(_) => {}
    }
    error::remember(&config);
    Ok(config)
}
