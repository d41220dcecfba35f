//! Register and describe task definitions as *raw JSON* through the AWS SDK, so no field is
//! lost, including fields newer than the SDK's model. Shell code: it talks to ECS.
//!
//! How: the operation is built with a minimal valid input; an interceptor replaces the
//! serialized HTTP body with our JSON in `modify_before_signing` (so the signature covers
//! it), and captures the raw response body in `read_after_deserialization`. The SDK still
//! does endpoint resolution, signing, retries and error parsing; only the payload is ours.
//! (ECS speaks awsJson1.1: the request body *is* the operation input as JSON.)

use std::sync::{Arc, Mutex};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    ContainerDefinition, SortOrder, TaskDefinitionField, TaskDefinitionStatus,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

/// A registered revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    /// `taskDefinitionArn`.
    pub arn: String,
    /// The family.
    pub family: String,
    /// The revision number.
    pub revision: i64,
    /// The task definition as ECS returned it (describe shape, unwrapped).
    pub task_definition: Value,
}

/// Errors talking to ECS about task definitions.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TaskDefApiError {
    /// The API call failed.
    #[error("ECS {operation} failed: {message}")]
    #[diagnostic(
        code(cargo_ecs::aws::ecs),
        help("{}", help_for(.code.as_deref(), .operation))
    )]
    Api {
        /// The operation (`RegisterTaskDefinition`).
        operation: &'static str,
        /// The AWS error code, when the service sent one.
        code: Option<String>,
        /// The message.
        message: String,
    },
    /// The input is not a JSON object with a family.
    #[error("the task definition has no `family`")]
    #[diagnostic(
        code(cargo_ecs::aws::no_family),
        help("render it with `cargo ecs render` first")
    )]
    NoFamily,
    /// ECS answered with something that is not the expected JSON.
    #[error("ECS {operation} returned an unexpected response: {reason}")]
    #[diagnostic(code(cargo_ecs::aws::bad_response))]
    BadResponse {
        /// The operation.
        operation: &'static str,
        /// What was wrong.
        reason: String,
    },
}

fn help_for(code: Option<&str>, operation: &str) -> String {
    match code {
        Some("AccessDeniedException") | Some("AccessDenied") => {
            format!("the credentials lack permission ecs:{operation}; add it to the IAM policy")
        }
        Some("ClientException") => {
            "ECS rejected the request; check the task definition with `cargo ecs render`".into()
        }
        Some("InvalidParameterException") => {
            "a field has a value ECS does not accept; check it with `cargo ecs render`".into()
        }
        _ => "check the AWS credentials, region and endpoint (--region, --endpoint-url)".into(),
    }
}

fn api_error<E>(
    operation: &'static str,
    err: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> TaskDefApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = crate::aws::error::describe(crate::aws::error::Service::Ecs, &err);
    TaskDefApiError::Api {
        operation,
        code: failure.code,
        message: failure.message,
    }
}

/// Replaces the request body and keeps the raw response body.
#[derive(Debug, Clone, Default)]
struct RawJson {
    request: Option<Arc<Vec<u8>>>,
    response: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Intercept for RawJson {
    fn name(&self) -> &'static str {
        "cargo-ecs-raw-json"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(body) = &self.request {
            let request = context.request_mut();
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = SdkBody::from(body.as_slice().to_vec());
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes()
            && let Ok(mut slot) = self.response.lock()
        {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}

impl RawJson {
    fn response_json(&self, operation: &'static str) -> Result<Value, TaskDefApiError> {
        let bytes = self
            .response
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .ok_or_else(|| TaskDefApiError::BadResponse {
                operation,
                reason: "no response body was captured".into(),
            })?;
        serde_json::from_slice(&bytes).map_err(|e| TaskDefApiError::BadResponse {
            operation,
            reason: format!("not JSON: {e}"),
        })
    }
}

fn registered_from(response: &Value) -> Result<Registered, TaskDefApiError> {
    let bad = |reason: &str| TaskDefApiError::BadResponse {
        operation: "RegisterTaskDefinition",
        reason: reason.into(),
    };
    let td = response
        .get("taskDefinition")
        .ok_or_else(|| bad("no taskDefinition in the response"))?;
    let arn = td
        .get("taskDefinitionArn")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no taskDefinitionArn"))?;
    Ok(Registered {
        arn: arn.to_string(),
        family: td
            .get("family")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        revision: td
            .get("revision")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        task_definition: td.clone(),
    })
}

/// Registers `task_definition` (RegisterTaskDefinition input JSON; describe output is
/// stripped first) exactly as given.
pub async fn register(
    client: &Client,
    task_definition: &Value,
) -> Result<Registered, TaskDefApiError> {
    let input =
        crate::taskdef::strip_describe_output(task_definition).ok_or(TaskDefApiError::NoFamily)?;
    let family = input
        .get("family")
        .and_then(Value::as_str)
        .ok_or(TaskDefApiError::NoFamily)?
        .to_string();
    let body =
        serde_json::to_vec(&Value::Object(input)).map_err(|e| TaskDefApiError::BadResponse {
            operation: "RegisterTaskDefinition",
            reason: format!("cannot serialize the request: {e}"),
        })?;
    let raw = RawJson {
        request: Some(Arc::new(body)),
        ..Default::default()
    };
    // The typed input only has to pass the SDK's own checks; the body is replaced.
    let placeholder = ContainerDefinition::builder()
        .name("placeholder")
        .image("placeholder")
        .build();
    client
        .register_task_definition()
        .family(family)
        .container_definitions(placeholder)
        .customize()
        .interceptor(raw.clone())
        .send()
        .await
        .map_err(|e| api_error("RegisterTaskDefinition", e))?;
    registered_from(&raw.response_json("RegisterTaskDefinition")?)
}

/// Describes a task definition (family, `family:revision` or ARN) as raw JSON, unwrapped
/// (`tags` are folded in when present). `None` when it does not exist.
pub async fn describe(
    client: &Client,
    family_or_arn: &str,
) -> Result<Option<Value>, TaskDefApiError> {
    let raw = RawJson::default();
    let result = client
        .describe_task_definition()
        .task_definition(family_or_arn)
        .include(TaskDefinitionField::Tags)
        .customize()
        .interceptor(raw.clone())
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(err) => {
            // ECS has no typed "not found" here: a missing family or revision is a
            // ClientException with this message (moto mirrors it).
            let missing = err.code() == Some("ClientException")
                && err
                    .message()
                    .is_some_and(|m| m.contains("Unable to describe task definition"));
            if missing {
                return Ok(None);
            }
            return Err(api_error("DescribeTaskDefinition", err));
        }
    }
    let response = raw.response_json("DescribeTaskDefinition")?;
    let Some(Value::Object(td)) = response.get("taskDefinition") else {
        return Err(TaskDefApiError::BadResponse {
            operation: "DescribeTaskDefinition",
            reason: "no taskDefinition in the response".into(),
        });
    };
    let mut td = td.clone();
    if let Some(Value::Array(tags)) = response.get("tags")
        && !tags.is_empty()
    {
        td.insert("tags".into(), Value::Array(tags.clone()));
    }
    Ok(Some(Value::Object(td)))
}

/// The latest ACTIVE revision of `family` (ListTaskDefinitions newest first, exact family
/// match, then describe), or `None` when the family has no active revision.
pub async fn latest_active(
    client: &Client,
    family: &str,
) -> Result<Option<Value>, TaskDefApiError> {
    let mut pages = client
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .into_paginator()
        .send();
    let mut best: Option<(i64, String)> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("ListTaskDefinitions", e))?;
        for arn in page.task_definition_arns() {
            // …:task-definition/FAMILY:REVISION; familyPrefix may match longer families.
            let Some((fam, rev)) = arn.rsplit('/').next().and_then(|s| s.rsplit_once(':')) else {
                continue;
            };
            let Ok(rev) = rev.parse::<i64>() else {
                continue;
            };
            if fam == family && best.as_ref().is_none_or(|(b, _)| rev > *b) {
                best = Some((rev, arn.clone()));
            }
        }
        if best.is_some() {
            break;
        }
    }
    match best {
        Some((_, arn)) => describe(client, &arn).await,
        None => Ok(None),
    }
}
