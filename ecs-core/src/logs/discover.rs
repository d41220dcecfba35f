//! Where each container's logs go, from the task definition's `logConfiguration`s (pure).
//!
//! awslogs streams are named `<awslogs-stream-prefix>/<container-name>/<task-id>` (AWS ECS
//! developer guide, "Using the awslogs log driver"), so knowing the task definition tells us
//! exactly which stream names to list: `prefix/container/` for a container, plus the task id
//! for `--task`. Other drivers send logs elsewhere; we say where instead of fetching.

use std::collections::BTreeMap;

use super::{GroupRef, LogStream, LogsError};

/// A container's `logConfiguration`, as the task definition has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLogConfig {
    /// Container name.
    pub container: String,
    /// `logDriver`; `None` when the container has no log configuration.
    pub driver: Option<String>,
    /// `options`.
    pub options: BTreeMap<String, String>,
}

/// Where one container's logs can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// CloudWatch Logs through the awslogs driver: we can read these.
    Awslogs(AwslogsTarget),
    /// Any other driver (or none): a sentence saying where the logs went.
    Elsewhere {
        /// Container name.
        container: String,
        /// The driver (`none` when absent).
        driver: String,
        /// Where they went, for people.
        description: String,
    },
}

/// An awslogs container: its group and stream prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwslogsTarget {
    /// Container name.
    pub container: String,
    /// `awslogs-group` and `awslogs-region`.
    pub group: GroupRef,
    /// `awslogs-stream-prefix`; `None` on EC2 without one (streams named by Docker container id).
    pub prefix: Option<String>,
}

impl AwslogsTarget {
    /// The stream-name prefix to list: `prefix/container/` or `prefix/container/<task>`.
    pub fn stream_prefix(&self, task: Option<&str>) -> String {
        match &self.prefix {
            Some(p) => format!("{p}/{}/{}", self.container, task.unwrap_or("")),
            None => String::new(),
        }
    }

    /// Names a listed stream: the task id is what follows `prefix/container/`. Without a
    /// prefix the stream is named by the Docker container id, which we show as the task.
    pub fn stream(&self, name: &str) -> Option<LogStream> {
        let task = match &self.prefix {
            Some(_) => name.strip_prefix(&self.stream_prefix(None))?,
            None => name,
        };
        Some(LogStream {
            group: self.group.clone(),
            name: name.to_string(),
            task: task.to_string(),
            container: self.container.clone(),
        })
    }
}

/// Each container's destination, in task definition order.
pub fn destinations(containers: &[ContainerLogConfig]) -> Vec<Destination> {
    containers.iter().map(destination).collect()
}

fn destination(c: &ContainerLogConfig) -> Destination {
    let opt = |k: &str| c.options.get(k).map(String::as_str);
    let elsewhere = |driver: &str, description: String| Destination::Elsewhere {
        container: c.container.clone(),
        driver: driver.to_string(),
        description,
    };
    let Some(driver) = c.driver.as_deref() else {
        return elsewhere(
            "none",
            "no logConfiguration: on Fargate the output is discarded; on EC2 it stays in the \
             instance's Docker default log driver"
                .to_string(),
        );
    };
    match driver {
        "awslogs" => match opt("awslogs-group") {
            Some(group) => Destination::Awslogs(AwslogsTarget {
                container: c.container.clone(),
                group: GroupRef {
                    region: opt("awslogs-region").map(str::to_string),
                    name: group.to_string(),
                },
                prefix: opt("awslogs-stream-prefix").map(str::to_string),
            }),
            None => elsewhere(
                driver,
                "awslogs without awslogs-group: the task cannot start".to_string(),
            ),
        },
        "splunk" => elsewhere(
            driver,
            format!(
                "Splunk HTTP Event Collector at {}{}",
                opt("splunk-url").unwrap_or("(no splunk-url option)"),
                opt("splunk-index")
                    .map(|i| format!(", index {i}"))
                    .unwrap_or_default()
            ),
        ),
        "awsfirelens" => elsewhere(driver, firelens(&c.options)),
        "fluentd" => elsewhere(
            driver,
            format!(
                "Fluentd at {}{}",
                opt("fluentd-address").unwrap_or("localhost:24224 on the container instance"),
                opt("tag").map(|t| format!(", tag {t}")).unwrap_or_default()
            ),
        ),
        "gelf" => elsewhere(
            driver,
            format!(
                "GELF (Graylog) at {}",
                opt("gelf-address").unwrap_or("(no gelf-address option)")
            ),
        ),
        "syslog" => elsewhere(
            driver,
            format!(
                "syslog at {}",
                opt("syslog-address").unwrap_or("the container instance's local syslog daemon")
            ),
        ),
        "json-file" => elsewhere(
            driver,
            "Docker json-file logs on the EC2 container instance (`docker logs <container>` there)"
                .to_string(),
        ),
        "journald" => elsewhere(
            driver,
            "the EC2 container instance's systemd journal (`journalctl CONTAINER_NAME=…` there)"
                .to_string(),
        ),
        "logentries" => elsewhere(driver, "Logentries (through the ECS agent)".to_string()),
        other => elsewhere(other, format!("the `{other}` log driver's destination")),
    }
}

/// The FireLens output plugin and its destination keys (never the secret options).
fn firelens(options: &BTreeMap<String, String>) -> String {
    let name = options
        .get("Name")
        .map(String::as_str)
        .unwrap_or("(no Name)");
    let interesting = [
        "log_group_name",
        "region",
        "delivery_stream",
        "stream",
        "Host",
        "Port",
        "Index",
        "bucket",
        "endpoint",
        "Match",
    ];
    let details: Vec<String> = interesting
        .iter()
        .filter_map(|k| options.get(*k).map(|v| format!("{k}={v}")))
        .collect();
    if details.is_empty() {
        format!("FireLens log router, output plugin `{name}`")
    } else {
        format!(
            "FireLens log router, output plugin `{name}` ({})",
            details.join(", ")
        )
    }
}

/// `--task`: a short id, an id prefix or a task ARN (`arn:…:task/cluster/id`) → the id part.
pub fn task_id(arg: &str) -> &str {
    let arg = arg.trim();
    if arg.starts_with("arn:") {
        arg.rsplit('/').next().unwrap_or(arg)
    } else {
        arg
    }
}

/// Keeps the targets of `--container NAME`; an unknown name is an error listing the choices.
pub fn select_container(
    targets: Vec<Destination>,
    name: Option<&str>,
    task_definition: &str,
) -> Result<Vec<Destination>, LogsError> {
    let Some(name) = name else {
        return Ok(targets);
    };
    let names: Vec<&str> = targets.iter().map(Destination::container).collect();
    if names.contains(&name) {
        return Ok(targets
            .into_iter()
            .filter(|t| t.container() == name)
            .collect());
    }
    let suggestion = names
        .iter()
        .map(|n| (strsim::jaro_winkler(n, name), *n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    Err(LogsError::UnknownContainer {
        name: name.to_string(),
        task_definition: task_definition.to_string(),
        help: format!("{suggestion}containers: {}", names.join(", ")),
    })
}

impl Destination {
    /// The container name.
    pub fn container(&self) -> &str {
        match self {
            Destination::Awslogs(t) => &t.container,
            Destination::Elsewhere { container, .. } => container,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(container: &str, driver: Option<&str>, opts: &[(&str, &str)]) -> ContainerLogConfig {
        ContainerLogConfig {
            container: container.to_string(),
            driver: driver.map(str::to_string),
            options: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn awslogs_stream_names_map_back_to_task_and_container() {
        let d = destinations(&[cfg(
            "web",
            Some("awslogs"),
            &[
                ("awslogs-group", "/ecs/hello"),
                ("awslogs-stream-prefix", "hello"),
                ("awslogs-region", "eu-west-1"),
            ],
        )]);
        let Destination::Awslogs(t) = &d[0] else {
            panic!("{d:?}")
        };
        assert_eq!(t.group.region.as_deref(), Some("eu-west-1"));
        assert_eq!(t.stream_prefix(None), "hello/web/");
        assert_eq!(t.stream_prefix(Some("abc")), "hello/web/abc");
        let s = t.stream("hello/web/0123abcd").unwrap();
        assert_eq!((s.task.as_str(), s.container.as_str()), ("0123abcd", "web"));
        assert_eq!(t.stream("hello/sidecar/0123"), None);
    }

    #[test]
    fn other_drivers_say_where_logs_went() {
        let d = destinations(&[
            cfg(
                "a",
                Some("splunk"),
                &[("splunk-url", "https://splunk.example:8088")],
            ),
            cfg(
                "b",
                Some("awsfirelens"),
                &[
                    ("Name", "cloudwatch_logs"),
                    ("log_group_name", "/fl"),
                    ("region", "us-east-1"),
                ],
            ),
            cfg(
                "c",
                Some("fluentd"),
                &[("fluentd-address", "10.0.0.5:24224")],
            ),
            cfg(
                "d",
                Some("gelf"),
                &[("gelf-address", "udp://graylog:12201")],
            ),
            cfg("e", Some("syslog"), &[("syslog-address", "tcp://logs:514")]),
            cfg("f", Some("json-file"), &[]),
            cfg("g", Some("journald"), &[]),
            cfg("h", None, &[]),
        ]);
        let texts: Vec<String> = d
            .iter()
            .map(|d| match d {
                Destination::Elsewhere { description, .. } => description.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(texts[0].contains("https://splunk.example:8088"));
        assert!(texts[1].contains("cloudwatch_logs") && texts[1].contains("log_group_name=/fl"));
        assert!(texts[2].contains("10.0.0.5:24224"));
        assert!(texts[3].contains("udp://graylog:12201"));
        assert!(texts[4].contains("tcp://logs:514"));
        assert!(texts[5].contains("json-file") && texts[5].contains("instance"));
        assert!(texts[6].contains("journal"));
        assert!(texts[7].contains("no logConfiguration"));
    }

    #[test]
    fn task_ids_from_arns() {
        assert_eq!(
            task_id("arn:aws:ecs:us-east-1:123456789012:task/default/0123abcd"),
            "0123abcd"
        );
        assert_eq!(task_id("0123abcd"), "0123abcd");
    }

    #[test]
    fn unknown_container_suggests() {
        let d = destinations(&[cfg("web", None, &[]), cfg("sidecar", None, &[])]);
        match select_container(d.clone(), Some("sidecr"), "hello:3") {
            Err(LogsError::UnknownContainer { help, .. }) => {
                assert!(help.contains("did you mean `sidecar`"), "{help}");
                assert!(help.contains("web, sidecar"), "{help}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            select_container(d, Some("web"), "hello:3").unwrap().len(),
            1
        );
    }
}
