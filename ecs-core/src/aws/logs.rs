//! CloudWatch Logs adapter for `cargo ecs logs` ([`CloudWatchLogs`], a
//! [`LogSource`]), and the ECS look-up of the service's task definition and its containers'
//! log configurations ([`service_log_configs`]). Shell code: it talks to AWS; paging order,
//! merging, retries and de-duplication live in [`crate::logs::fetch`].

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_types::region::Region;

use crate::aws::error::{Service, describe};

use crate::logs::discover::ContainerLogConfig;
use crate::logs::fetch::{LogSource, Page, PageRequest, RawEvent, SourceError, StreamPage};
use crate::logs::{DiscoverError, GroupRef};

/// CloudWatch Logs through the SDK, one client per region (`awslogs-region` may differ from
/// the configured region).
pub struct CloudWatchLogs {
    sdk: SdkConfig,
    clients: Mutex<HashMap<Option<String>, Client>>,
}

impl CloudWatchLogs {
    /// From the shared SDK configuration.
    pub fn new(sdk: &SdkConfig) -> Self {
        CloudWatchLogs {
            sdk: sdk.clone(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn client(&self, region: Option<&str>) -> Client {
        let key = region
            .filter(|r| Some(*r) != self.sdk.region().map(Region::as_ref))
            .map(str::to_string);
        let mut clients = match self.clients.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        clients
            .entry(key.clone())
            .or_insert_with(|| {
                let mut b = aws_sdk_cloudwatchlogs::config::Builder::from(&self.sdk);
                if let Some(r) = key {
                    b = b.region(Region::new(r));
                }
                Client::from_conf(b.build())
            })
            .clone()
    }
}

/// Maps an SDK error by its code: CloudWatch Logs models no throttling error for these
/// operations, so `ThrottlingException` arrives unmodelled and only its code tells it apart.
fn classify<E>(err: SdkError<E, HttpResponse>) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err.code() {
        Some("ThrottlingException" | "TooManyRequestsException" | "LimitExceededException") => {
            SourceError::Throttled
        }
        Some("ResourceNotFoundException") => SourceError::GroupNotFound,
        _ => SourceError::Other(Box::new(describe(Service::Logs, &err))),
    }
}

impl LogSource for CloudWatchLogs {
    async fn list_streams(
        &self,
        group: &GroupRef,
        prefix: &str,
        token: Option<&str>,
    ) -> Result<StreamPage, SourceError> {
        let mut req = self
            .client(group.region.as_deref())
            .describe_log_streams()
            .log_group_name(&group.name)
            // 50 is DescribeLogStreams' largest page.
            .limit(50)
            .set_next_token(token.map(str::to_string));
        if !prefix.is_empty() {
            req = req.log_stream_name_prefix(prefix);
        }
        let out = req.send().await.map_err(classify)?;
        Ok(StreamPage {
            names: out
                .log_streams()
                .iter()
                .filter_map(|s| s.log_stream_name().map(str::to_string))
                .collect(),
            next_token: out.next_token().map(str::to_string),
        })
    }

    async fn filter_page(&self, req: &PageRequest<'_>) -> Result<Page, SourceError> {
        let out = self
            .client(req.group.region.as_deref())
            .filter_log_events()
            .log_group_name(&req.group.name)
            .set_log_stream_names(Some(req.streams.to_vec()))
            .start_time(req.start)
            .set_end_time(req.end)
            .set_filter_pattern(req.pattern.map(str::to_string))
            .set_next_token(req.token.map(str::to_string))
            .set_limit(req.limit)
            .send()
            .await
            .map_err(classify)?;
        let next_token = out.next_token().map(str::to_string);
        let events = out
            .events
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                Some(RawEvent {
                    stream: e.log_stream_name?,
                    timestamp: e.timestamp?,
                    id: e.event_id?,
                    message: e.message.unwrap_or_default(),
                })
            })
            .collect();
        Ok(Page { events, next_token })
    }
}

/// The service's task definition (or revision `revision` of its family) and each
/// container's log configuration: DescribeServices → DescribeTaskDefinition.
pub async fn service_log_configs(
    sdk: &SdkConfig,
    cluster: &str,
    service: &str,
    revision: Option<i32>,
) -> Result<(String, Vec<ContainerLogConfig>), DiscoverError> {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|se| se.is_cluster_not_found_exception())
            {
                DiscoverError::ClusterNotFound {
                    cluster: cluster.to_string(),
                }
            } else {
                DiscoverError::DescribeService {
                    cluster: cluster.to_string(),
                    service: service.to_string(),
                    source: Box::new(describe(Service::Ecs, &e)),
                }
            }
        })?;
    let not_found = || DiscoverError::ServiceNotFound {
        cluster: cluster.to_string(),
        service: service.to_string(),
    };
    let svc = out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
        .ok_or_else(not_found)?;
    let current = svc.task_definition().ok_or_else(not_found)?;
    let td = match revision {
        Some(n) => format!("{}:{n}", family_of(current)),
        None => current.to_string(),
    };
    task_definition_log_configs(sdk, &td).await
}

/// Each container's log configuration in task definition `td` (ARN or `family[:revision]`).
pub async fn task_definition_log_configs(
    sdk: &SdkConfig,
    td: &str,
) -> Result<(String, Vec<ContainerLogConfig>), DiscoverError> {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let out = ecs
        .describe_task_definition()
        .task_definition(td)
        .send()
        .await
        .map_err(|e| DiscoverError::TaskDefinition {
            task_definition: td.to_string(),
            source: Box::new(describe(Service::Ecs, &e)),
        })?;
    let Some(def) = out.task_definition() else {
        return Err(DiscoverError::TaskDefinition {
            task_definition: td.to_string(),
            source: "DescribeTaskDefinition returned no task definition".into(),
        });
    };
    let name = match (def.family(), def.revision()) {
        (Some(f), r) if r > 0 => format!("{f}:{r}"),
        _ => td.to_string(),
    };
    let containers = def
        .container_definitions()
        .iter()
        .map(|c| ContainerLogConfig {
            container: c.name().unwrap_or_default().to_string(),
            driver: c
                .log_configuration()
                .map(|l| l.log_driver().as_str().to_string()),
            options: c
                .log_configuration()
                .and_then(|l| l.options())
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
        .collect();
    Ok((name, containers))
}

/// `arn:…:task-definition/hello:7` or `hello:7` → `hello`.
fn family_of(td: &str) -> &str {
    let tail = td.rsplit('/').next().unwrap_or(td);
    tail.split(':').next().unwrap_or(tail)
}

#[cfg(test)]
mod tests {
    use super::family_of;

    #[test]
    fn families() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/hello:7"),
            "hello"
        );
        assert_eq!(family_of("hello:7"), "hello");
        assert_eq!(family_of("hello"), "hello");
    }
}
