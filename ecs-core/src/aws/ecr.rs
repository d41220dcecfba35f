//! Amazon ECR's control plane: registry credentials from `GetAuthorizationToken` (basic auth
//! on the registry, never printed or logged) and `CreateRepository` when the repository is
//! missing (scan on push; tag mutability from config). The image bytes go through the
//! ordinary OCI distribution client in [`crate::registry::http`]: ECR is auth in front of a
//! standard registry. Shell code: it talks to AWS.

use aws_config::SdkConfig;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};
use base64::Engine;

use crate::aws::error::{CallFailure, Service, describe};
use crate::registry::Credentials;

/// ECR errors.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EcrError {
    /// GetAuthorizationToken failed.
    #[error("cannot get an ECR authorization token")]
    #[diagnostic(code(cargo_ecs::ecr::auth))]
    Auth {
        /// What went wrong.
        #[source]
        source: CallFailure,
        /// What to check, by the kind of failure.
        #[help]
        help: String,
    },
    /// The token was not `user:password` base64.
    #[error("ECR returned an authorization token that is not base64 `user:password`")]
    #[diagnostic(code(cargo_ecs::ecr::bad_token))]
    BadToken,
    /// Describe/Create repository failed.
    #[error("cannot {action} ECR repository `{repository}`")]
    #[diagnostic(code(cargo_ecs::ecr::repository))]
    Repository {
        /// describe / create.
        action: &'static str,
        /// The name.
        repository: String,
        /// What went wrong.
        #[source]
        source: CallFailure,
        /// What to check, by the kind of failure.
        #[help]
        help: String,
    },
    /// Invalid tag mutability value.
    #[error("invalid `image.tag-mutability` value `{value}`")]
    #[diagnostic(
        code(cargo_ecs::ecr::tag_mutability),
        help("use one of MUTABLE, IMMUTABLE")
    )]
    TagMutability {
        /// The value.
        value: String,
    },
}

/// What to check after `failure` of a call that needs `actions`.
fn help_for(failure: &CallFailure, actions: &str) -> String {
    failure
        .common_help(Service::Ecr, actions)
        .unwrap_or_else(|| format!("check the credentials and region; the caller needs {actions}"))
}

/// Registry host and credentials for this account and region.
#[derive(Debug, Clone)]
pub struct EcrAuth {
    /// Registry host from `proxyEndpoint` (`123456789012.dkr.ecr.us-east-1.amazonaws.com`).
    pub host: String,
    /// Basic-auth credentials (`AWS` + token).
    pub credentials: Credentials,
}

/// Calls `GetAuthorizationToken`.
pub async fn authorize(sdk: &SdkConfig) -> Result<EcrAuth, EcrError> {
    let client = aws_sdk_ecr::Client::new(sdk);
    let out = client.get_authorization_token().send().await.map_err(|e| {
        let source = describe(Service::Ecr, &e);
        let help = help_for(&source, "ecr:GetAuthorizationToken");
        EcrError::Auth { source, help }
    })?;
    let data = out.authorization_data().first().ok_or(EcrError::BadToken)?;
    let token = data.authorization_token().ok_or(EcrError::BadToken)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| EcrError::BadToken)?;
    let decoded = String::from_utf8(decoded).map_err(|_| EcrError::BadToken)?;
    let (user, password) = decoded.split_once(':').ok_or(EcrError::BadToken)?;
    let endpoint = data.proxy_endpoint().unwrap_or_default();
    let host = endpoint
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    Ok(EcrAuth {
        host,
        credentials: Credentials::new(user, password),
    })
}

/// Repository settings used when creating it.
#[derive(Debug, Clone)]
pub struct RepositorySettings {
    /// Scan images on push.
    pub scan_on_push: bool,
    /// MUTABLE or IMMUTABLE.
    pub tag_mutability: String,
}

/// The repository as ECR reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com/hello`.
    pub uri: String,
    /// Whether this call created it.
    pub created: bool,
    /// MUTABLE / IMMUTABLE.
    pub tag_mutability: String,
}

/// Describes the repository, creating it when missing.
pub async fn ensure_repository(
    sdk: &SdkConfig,
    name: &str,
    settings: &RepositorySettings,
) -> Result<Repository, EcrError> {
    let mutability = match settings.tag_mutability.to_ascii_uppercase().as_str() {
        "MUTABLE" => ImageTagMutability::Mutable,
        "IMMUTABLE" => ImageTagMutability::Immutable,
        _ => {
            return Err(EcrError::TagMutability {
                value: settings.tag_mutability.clone(),
            });
        }
    };
    let client = aws_sdk_ecr::Client::new(sdk);
    let boxed = |action: &'static str, e: CallFailure| EcrError::Repository {
        action,
        repository: name.to_string(),
        help: help_for(
            &e,
            "ecr:DescribeRepositories and ecr:CreateRepository (or run `cargo ecs setup`)",
        ),
        source: e,
    };
    match client
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(out) => {
            if let Some(r) = out.repositories().first() {
                return Ok(Repository {
                    uri: r.repository_uri().unwrap_or_default().to_string(),
                    created: false,
                    tag_mutability: r
                        .image_tag_mutability()
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default(),
                });
            }
        }
        Err(e) => {
            let not_found = e
                .as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception());
            if !not_found {
                return Err(boxed("describe", describe(Service::Ecr, &e)));
            }
        }
    }
    let created = client
        .create_repository()
        .repository_name(name)
        .image_tag_mutability(mutability.clone())
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(settings.scan_on_push)
                .build(),
        )
        .send()
        .await;
    match created {
        Ok(out) => Ok(Repository {
            uri: out
                .repository()
                .and_then(|r| r.repository_uri())
                .unwrap_or_default()
                .to_string(),
            created: true,
            tag_mutability: mutability.as_str().to_string(),
        }),
        // Created concurrently by someone else: describe it again.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_already_exists_exception()) =>
        {
            let out = client
                .describe_repositories()
                .repository_names(name)
                .send()
                .await
                .map_err(|e| boxed("describe", describe(Service::Ecr, &e)))?;
            let r = out.repositories().first();
            Ok(Repository {
                uri: r
                    .and_then(|r| r.repository_uri())
                    .unwrap_or_default()
                    .to_string(),
                created: false,
                tag_mutability: mutability.as_str().to_string(),
            })
        }
        Err(e) => Err(boxed("create", describe(Service::Ecr, &e))),
    }
}
