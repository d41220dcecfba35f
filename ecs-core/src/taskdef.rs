//! The task definition: [`render`] turns a valid [`Config`] and an image reference into
//! RegisterTaskDefinition input JSON (camelCase), either from the embedded template
//! (`templates/task-definition.json.j2`) or from the user's `task-definition` file (describe
//! output accepted: the wrapper and read-only fields are stripped, every other field kept),
//! with `overrides` deep-merged on top and the result checked against the ECS rules.
//! [`normalize`] gives the canonical form used to decide "register only if changed" and to
//! diff. Pure: no files, environment or network.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::validate::{
    FARGATE_LOG_DRIVERS, check_secret_ref, fargate_memory, parse_cpu, parse_memory,
};
use crate::config::{Config, LaunchType, LogDriver, NetworkMode};
use crate::error::{TaskDefError, TaskDefProblem};
use crate::templates;

/// The image written by `cargo ecs render` without `--image` (deploy writes the pushed digest).
pub const PLACEHOLDER_IMAGE: &str = "cargo-ecs.invalid/placeholder:render-with-image";

/// Fields of describe-task-definition output that RegisterTaskDefinition rejects
/// (FACTS.md "Task definition limits").
pub const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// The largest RegisterTaskDefinition request ECS accepts, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 65_536;

/// The most containers one task definition may hold.
pub const MAX_CONTAINERS: usize = 10;

/// Log drivers in the ECS API enum (EC2 also accepts `logentries`, agent-only).
const API_LOG_DRIVERS: &[&str] = &[
    "awslogs",
    "fluentd",
    "gelf",
    "journald",
    "json-file",
    "splunk",
    "syslog",
    "awsfirelens",
    "logentries",
];

/// The name of the FireLens router container the template adds.
pub const LOG_ROUTER_NAME: &str = "log-router";

#[derive(Serialize)]
struct NameValue<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct NameValueFrom<'a> {
    name: &'a str,
    value_from: &'a str,
}

#[derive(Serialize)]
struct AppContext<'a> {
    name: &'a str,
    image: &'a str,
    port: Option<u16>,
    host_port: Option<u16>,
    command: &'a [String],
    environment: Vec<NameValue<'a>>,
    secrets: Vec<NameValueFrom<'a>>,
    health_check: Option<&'a crate::config::HealthCheck>,
}

#[derive(Serialize)]
struct LogContext<'a> {
    driver: &'static str,
    options: BTreeMap<String, String>,
    secret_options: Vec<NameValueFrom<'a>>,
}

#[derive(Serialize)]
struct RouterContext<'a> {
    name: &'static str,
    image: &'a str,
    r#type: &'a str,
    options: &'a BTreeMap<String, String>,
}

/// What the task definition template sees.
#[derive(Serialize)]
struct TemplateContext<'a> {
    family: &'a str,
    task_role: Option<&'a str>,
    execution_role: Option<&'a str>,
    network_mode: &'static str,
    launch_type: String,
    cpu: Option<String>,
    memory: Option<String>,
    cpu_architecture: &'static str,
    app: AppContext<'a>,
    log: LogContext<'a>,
    router: Option<RouterContext<'a>>,
}

/// The log driver options written for a config: the driver's required options, `mode`
/// (always explicit: the default changed in June 2025) and the user's raw options on top.
pub fn log_options(config: &Config, region: &str) -> BTreeMap<String, String> {
    let logs = &config.logs;
    let mut options = BTreeMap::new();
    if logs.driver == LogDriver::Awslogs {
        if let Some(group) = &logs.group {
            options.insert("awslogs-group".into(), group.clone());
        }
        options.insert("awslogs-region".into(), region.to_string());
        if let Some(prefix) = &logs.stream_prefix
            && !prefix.is_empty()
        {
            options.insert("awslogs-stream-prefix".into(), prefix.clone());
        }
        if logs.create_group {
            options.insert("awslogs-create-group".into(), "true".into());
        }
    }
    // FireLens passes options to the router's output plugin, where `mode` means nothing.
    if logs.driver != LogDriver::Awsfirelens {
        options.insert("mode".into(), logs.mode.clone());
        if let Some(size) = &logs.max_buffer_size {
            options.insert("max-buffer-size".into(), size.clone());
        }
    }
    for (k, v) in &logs.options {
        options.insert(k.clone(), v.clone());
    }
    options
}

/// Renders the RegisterTaskDefinition input for `config` with `image` as the application
/// container's image; `region` goes into `awslogs-region`.
pub fn render(config: &Config, image: &str, region: &str) -> Result<Value, TaskDefError> {
    let mut value = match &config.task_definition_template {
        Some(template) => from_file(config, template, image)?,
        None => generate(config, image, region)?,
    };
    if let Value::Object(map) = &mut value {
        deep_merge(map, &config.overrides);
    }
    let problems = check(&value);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(TaskDefError::Invalid { problems })
    }
}

fn generate(config: &Config, image: &str, region: &str) -> Result<Value, TaskDefError> {
    let c = &config.container;
    let host_port = match config.network_mode {
        // awsvpc and host: hostPort must equal containerPort (ECS fills it in anyway).
        NetworkMode::Awsvpc | NetworkMode::Host => c.port,
        // bridge: omitted = a dynamic host port, so several tasks fit on one instance.
        NetworkMode::Bridge | NetworkMode::None => None,
    };
    let router = config.logs.router.as_ref().map(|r| RouterContext {
        name: LOG_ROUTER_NAME,
        image: &r.image,
        r#type: &r.kind,
        options: &r.options,
    });
    let context = TemplateContext {
        family: &config.family,
        task_role: config.task_role.as_deref(),
        execution_role: config.execution_role.as_deref(),
        network_mode: config.network_mode.as_str(),
        launch_type: config.launch_type.to_string(),
        cpu: config.cpu.map(|c| c.0.to_string()),
        memory: config.memory.map(|m| m.0.to_string()),
        cpu_architecture: config.architecture.ecs_name(),
        app: AppContext {
            name: &c.name,
            image,
            port: if config.network_mode == NetworkMode::None {
                None
            } else {
                c.port
            },
            host_port,
            command: &c.command,
            environment: c
                .environment
                .iter()
                .map(|(name, value)| NameValue { name, value })
                .collect(),
            secrets: c
                .secrets
                .iter()
                .map(|(name, value_from)| NameValueFrom { name, value_from })
                .collect(),
            health_check: c.health_check.as_ref(),
        },
        log: LogContext {
            driver: config.logs.driver.as_str(),
            options: log_options(config, region),
            secret_options: config
                .logs
                .secret_options
                .iter()
                .map(|(name, value_from)| NameValueFrom { name, value_from })
                .collect(),
        },
        router,
    };
    let text =
        templates::render(templates::TASK_DEFINITION, &context).map_err(TaskDefError::Template)?;
    serde_json::from_str(&text).map_err(TaskDefError::Json)
}

/// Strips describe-task-definition output down to RegisterTaskDefinition input: unwraps
/// `{"taskDefinition": …, "tags": […]}` and removes the read-only fields. Every other field
/// is kept as written, including fields this tool does not know.
pub fn strip_describe_output(value: &Value) -> Option<Map<String, Value>> {
    let outer = value.as_object()?;
    let (mut inner, tags) = match outer.get("taskDefinition") {
        Some(Value::Object(inner)) => (inner.clone(), outer.get("tags").cloned()),
        Some(_) => return None,
        None => (outer.clone(), None),
    };
    for field in READ_ONLY_FIELDS {
        inner.remove(*field);
    }
    if let Some(Value::Array(tags)) = tags
        && !tags.is_empty()
        && !inner.contains_key("tags")
    {
        inner.insert("tags".into(), Value::Array(tags));
    }
    Some(inner)
}

fn from_file(config: &Config, template: &Value, image: &str) -> Result<Value, TaskDefError> {
    let path = config.task_definition_file.clone().unwrap_or_default();
    let not = |reason: &str| TaskDefError::NotATaskDefinition {
        path: path.clone(),
        reason: reason.to_string(),
    };
    let mut map = strip_describe_output(template).ok_or_else(|| not("expected a JSON object"))?;
    map.insert("family".into(), Value::String(config.family.clone()));
    // The task-level keys the configuration sets (execution-role, cpu, …) win over the file.
    deep_merge(&mut map, &config.task_definition_fields);
    let containers = match map.get_mut("containerDefinitions") {
        Some(Value::Array(c)) if !c.is_empty() => c,
        _ => return Err(not("it has no containerDefinitions")),
    };
    // The application container is the one named like the configured container, else the
    // first one; only its image changes.
    let index = containers
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(config.container.name.as_str()))
        .unwrap_or(0);
    match containers.get_mut(index) {
        Some(Value::Object(app)) => {
            app.insert("image".into(), Value::String(image.to_string()));
        }
        _ => {
            return Err(not(
                "containerDefinitions holds something other than objects",
            ));
        }
    }
    Ok(Value::Object(map))
}

/// Deep-merges `overrides` into `target`: tables merge key by key; arrays merge element by
/// element, matching objects by `name` when the override element has one (so
/// `containerDefinitions = [{ name = "app", ulimits = … }]` edits that container, and an
/// unknown name appends a container); anything else replaces.
pub fn deep_merge(target: &mut Map<String, Value>, overrides: &Map<String, Value>) {
    for (key, value) in overrides {
        match (target.get_mut(key), value) {
            (Some(Value::Object(t)), Value::Object(o)) => deep_merge(t, o),
            (Some(Value::Array(t)), Value::Array(o)) => merge_arrays(t, o),
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

fn merge_arrays(target: &mut Vec<Value>, overrides: &[Value]) {
    for (i, item) in overrides.iter().enumerate() {
        let by_name = item.get("name").and_then(Value::as_str).and_then(|name| {
            target
                .iter()
                .position(|t| t.get("name").and_then(Value::as_str) == Some(name))
        });
        let slot = match (item, by_name) {
            (Value::Object(_), Some(pos)) => Some(pos),
            (Value::Object(o), None) if !o.contains_key("name") && i < target.len() => Some(i),
            (Value::Object(_), None) => None,
            (_, _) if i < target.len() => {
                target[i] = item.clone();
                continue;
            }
            _ => None,
        };
        match slot.and_then(|pos| target.get_mut(pos)) {
            Some(Value::Object(t)) => {
                if let Value::Object(o) = item {
                    deep_merge(t, o);
                }
            }
            Some(other) => *other = item.clone(),
            None => target.push(item.clone()),
        }
    }
}

fn problem(
    path: impl Into<String>,
    message: impl Into<String>,
    help: impl Into<String>,
) -> TaskDefProblem {
    TaskDefProblem {
        path: path.into(),
        message: message.into(),
        help: help.into(),
    }
}

/// Checks a RegisterTaskDefinition input against the ECS rules this tool knows (FACTS.md):
/// container count, payload size, Fargate network mode / sizes / log drivers, awslogs
/// options, FireLens router, ports, health checks, secrets. Returns every problem.
pub fn check(value: &Value) -> Vec<TaskDefProblem> {
    let mut out = Vec::new();
    let Some(map) = value.as_object() else {
        out.push(problem(
            "",
            "not a JSON object",
            "a task definition is a JSON object",
        ));
        return out;
    };
    let fargate = map
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("FARGATE")));
    let network_mode = map
        .get("networkMode")
        .and_then(Value::as_str)
        .unwrap_or(if fargate { "" } else { "bridge" });

    if let Ok(bytes) = serde_json::to_vec(value)
        && bytes.len() > MAX_PAYLOAD_BYTES
    {
        out.push(problem(
            "",
            format!(
                "the RegisterTaskDefinition request would be {} bytes, over the 65,536-byte limit",
                bytes.len()
            ),
            "move large values (environment, command lines) into secrets or files in the image",
        ));
    }
    if fargate {
        if network_mode != "awsvpc" {
            out.push(problem(
                "networkMode",
                format!("Fargate requires networkMode awsvpc, found {network_mode:?}"),
                "set networkMode to \"awsvpc\"",
            ));
        }
        let cpu = map.get("cpu").map(parse_cpu);
        let memory = map.get("memory").map(parse_memory);
        match (cpu, memory) {
            (Some(Ok(cpu)), Some(Ok(memory))) => match fargate_memory(cpu) {
                None => out.push(problem(
                    "cpu",
                    format!("{cpu} is not a Fargate CPU size"),
                    "use one of 256, 512, 1024, 2048, 4096, 8192, 16384",
                )),
                Some((allowed, text)) if !allowed.contains(&memory) => out.push(problem(
                    "memory",
                    format!("memory {memory} does not fit cpu {cpu} on Fargate"),
                    format!("with cpu = {cpu}, memory must be {text} (AWS Fargate task sizes)"),
                )),
                Some(_) => {}
            },
            (Some(Err(e)), _) => out.push(problem("cpu", e, "use CPU units such as \"256\"")),
            (_, Some(Err(e))) => out.push(problem("memory", e, "use MiB such as \"512\"")),
            _ => out.push(problem(
                "cpu",
                "Fargate requires task-level cpu and memory",
                "set cpu and memory, e.g. \"256\" and \"512\"",
            )),
        }
    }

    let containers = match map.get("containerDefinitions") {
        Some(Value::Array(c)) => c.as_slice(),
        _ => {
            out.push(problem(
                "containerDefinitions",
                "missing",
                "a task definition needs at least one container",
            ));
            return out;
        }
    };
    if containers.is_empty() {
        out.push(problem(
            "containerDefinitions",
            "empty",
            "a task definition needs at least one container",
        ));
    }
    if containers.len() > MAX_CONTAINERS {
        out.push(problem(
            "containerDefinitions",
            format!("{} containers, over the limit of 10", containers.len()),
            "split the task into several services",
        ));
    }
    let has_router = containers
        .iter()
        .any(|c| c.get("firelensConfiguration").is_some());
    for (i, container) in containers.iter().enumerate() {
        let at = |rest: &str| format!("containerDefinitions[{i}]{rest}");
        let Some(c) = container.as_object() else {
            out.push(problem(
                at(""),
                "not an object",
                "each container definition is a JSON object",
            ));
            continue;
        };
        if c.get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            out.push(problem(
                at(".name"),
                "missing",
                "every container needs a name",
            ));
        }
        if c.get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            out.push(problem(
                at(".image"),
                "missing",
                "every container needs an image",
            ));
        }
        if let Some(log) = c.get("logConfiguration").and_then(Value::as_object) {
            let driver = log
                .get("logDriver")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let options = log.get("options").and_then(Value::as_object);
            let option = |k: &str| options.and_then(|o| o.get(k)).and_then(Value::as_str);
            if fargate && !FARGATE_LOG_DRIVERS.contains(&driver) {
                out.push(problem(
                    at(".logConfiguration.logDriver"),
                    format!("Fargate does not support the {driver:?} log driver"),
                    "use one of awslogs, splunk, awsfirelens",
                ));
            } else if !API_LOG_DRIVERS.contains(&driver) {
                out.push(problem(
                    at(".logConfiguration.logDriver"),
                    format!("unknown log driver {driver:?}"),
                    format!("use one of {}", API_LOG_DRIVERS.join(", ")),
                ));
            }
            if driver == "awslogs" {
                for key in ["awslogs-group", "awslogs-region"] {
                    if option(key).is_none_or(str::is_empty) {
                        out.push(problem(
                            at(&format!(".logConfiguration.options.{key}")),
                            "required by the awslogs driver",
                            format!("set {key}"),
                        ));
                    }
                }
                if fargate && option("awslogs-stream-prefix").is_none_or(str::is_empty) {
                    out.push(problem(
                        at(".logConfiguration.options.awslogs-stream-prefix"),
                        "required by awslogs on Fargate",
                        "set awslogs-stream-prefix",
                    ));
                }
            }
            if option("max-buffer-size").is_some() && option("mode") != Some("non-blocking") {
                out.push(problem(
                    at(".logConfiguration.options.max-buffer-size"),
                    "only valid with mode non-blocking",
                    "set mode to \"non-blocking\" or remove max-buffer-size",
                ));
            }
            if driver == "splunk" && option("splunk-token").is_some() {
                out.push(problem(
                    at(".logConfiguration.options.splunk-token"),
                    "the Splunk token is in plain options",
                    "pass it in secretOptions (valueFrom a secret)",
                ));
            }
            if driver == "awsfirelens" && !has_router {
                out.push(problem(
                    at(".logConfiguration.logDriver"),
                    "awsfirelens needs a log-router container with firelensConfiguration",
                    "add a container with firelensConfiguration { type = \"fluentbit\" }",
                ));
            }
            if let Some(Value::Array(secrets)) = log.get("secretOptions") {
                check_secrets(secrets, &at(".logConfiguration.secretOptions"), &mut out);
            }
        }
        if let Some(Value::Array(secrets)) = c.get("secrets") {
            check_secrets(secrets, &at(".secrets"), &mut out);
        }
        if let Some(Value::Array(ports)) = c.get("portMappings") {
            if network_mode == "none" && !ports.is_empty() {
                out.push(problem(
                    at(".portMappings"),
                    "networkMode none allows no port mappings",
                    "remove the port or choose another network mode",
                ));
            }
            for (j, port) in ports.iter().enumerate() {
                let p = |k: &str| port.get(k).and_then(Value::as_i64);
                let container_port = p("containerPort");
                if !container_port.is_some_and(|p| (1..=65535).contains(&p)) {
                    out.push(problem(
                        at(&format!(".portMappings[{j}].containerPort")),
                        "ports are 1–65535",
                        "use a port between 1 and 65535",
                    ));
                }
                if let Some(host) = p("hostPort") {
                    if !(0..=65535).contains(&host) {
                        out.push(problem(
                            at(&format!(".portMappings[{j}].hostPort")),
                            "ports are 0–65535",
                            "use 0 (dynamic) or a port up to 65535",
                        ));
                    } else if matches!(network_mode, "awsvpc" | "host")
                        && Some(host) != container_port
                    {
                        out.push(problem(
                            at(&format!(".portMappings[{j}].hostPort")),
                            format!(
                                "with networkMode {network_mode}, hostPort must equal containerPort"
                            ),
                            "remove hostPort or set it to containerPort",
                        ));
                    }
                }
            }
        }
        if let Some(hc) = c.get("healthCheck") {
            let first = hc
                .get("command")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str);
            if !matches!(first, Some("CMD") | Some("CMD-SHELL")) {
                out.push(problem(
                    at(".healthCheck.command"),
                    "a health-check command starts with CMD or CMD-SHELL",
                    "write [\"CMD\", \"/app\", \"--health\"] or [\"CMD-SHELL\", \"…\"]",
                ));
            }
        }
    }
    out
}

fn check_secrets(secrets: &[Value], at: &str, out: &mut Vec<TaskDefProblem>) {
    for (i, s) in secrets.iter().enumerate() {
        let from = s
            .get("valueFrom")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Err(reason) = check_secret_ref(from) {
            out.push(problem(
                format!("{at}[{i}].valueFrom"),
                reason,
                "use a Secrets Manager or SSM ARN, or an SSM parameter name",
            ));
        }
    }
}

/// The canonical form of a task definition, for "register only if changed" and `diff`:
/// the wrapper and read-only fields removed; server-side defaults applied (`essential: true`,
/// `protocol: "tcp"`, hostPort = containerPort under awsvpc/host); nulls, empty strings'
/// absent twins and empty collections dropped; cpu/memory as strings of units/MiB
/// (`"1 vCPU"` → `"1024"`, `"2 GB"` → `"2048"`); environment, secrets and options sorted;
/// object keys sorted.
pub fn normalize(value: &Value) -> Value {
    let Some(mut map) = strip_describe_output(value) else {
        return value.clone();
    };
    for key in ["cpu", "memory"] {
        if let Some(v) = map.get(key) {
            let parsed = if key == "cpu" {
                parse_cpu(v)
            } else {
                parse_memory(v)
            };
            if let Ok(n) = parsed {
                map.insert(key.into(), Value::String(n.to_string()));
            }
        }
    }
    let network_mode = map
        .get("networkMode")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(Value::Array(containers)) = map.get_mut("containerDefinitions") {
        for container in containers.iter_mut() {
            let Value::Object(c) = container else {
                continue;
            };
            c.entry("essential").or_insert(Value::Bool(true));
            if let Some(Value::Array(ports)) = c.get_mut("portMappings") {
                for port in ports.iter_mut() {
                    let Value::Object(p) = port else { continue };
                    p.entry("protocol")
                        .or_insert_with(|| Value::String("tcp".into()));
                    if matches!(network_mode.as_str(), "awsvpc" | "host")
                        && let Some(cp) = p.get("containerPort").cloned()
                    {
                        p.entry("hostPort").or_insert(cp);
                    }
                }
            }
            // ECS reports an unset container cpu as 0.
            if c.get("cpu").and_then(Value::as_i64) == Some(0) {
                c.remove("cpu");
            }
            for key in ["environment", "secrets"] {
                if let Some(Value::Array(items)) = c.get_mut(key) {
                    items.sort_by_key(sort_key);
                }
            }
            if let Some(Value::Object(log)) = c.get_mut("logConfiguration")
                && let Some(Value::Array(items)) = log.get_mut("secretOptions")
            {
                items.sort_by_key(sort_key);
            }
        }
    }
    canonical(Value::Object(map)).unwrap_or(Value::Object(Map::new()))
}

fn sort_key(v: &Value) -> String {
    v.get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Sorts object keys and drops nulls and empty arrays/objects (recursively).
fn canonical(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(canonical).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map
                .into_iter()
                .filter_map(|(k, v)| canonical(v).map(|v| (k, v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            (!entries.is_empty()).then(|| Value::Object(entries.into_iter().collect()))
        }
        other => Some(other),
    }
}

/// Whether `rendered` would register as something different from `deployed` (both in any
/// form: input, describe output, wrapped or not).
pub fn differs(rendered: &Value, deployed: &Value) -> bool {
    normalize(rendered) != normalize(deployed)
}

/// The launch type a task definition requires (FARGATE if listed, else EC2).
pub fn launch_type_of(value: &Value) -> LaunchType {
    let fargate = value
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("FARGATE")));
    if fargate {
        LaunchType::Fargate
    } else {
        LaunchType::Ec2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_applies_server_defaults_units_and_order() {
        let ours = json!({
            "family": "f", "networkMode": "awsvpc", "cpu": "0.25 vCPU", "memory": "1 GB",
            "containerDefinitions": [{
                "name": "a", "image": "i",
                "portMappings": [{"containerPort": 80}],
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
                "secrets": [{"name": "Z", "valueFrom": "/z"}, {"name": "Y", "valueFrom": "/y"}]
            }]
        });
        let theirs = json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/f:3",
            "revision": 3, "status": "ACTIVE", "compatibilities": ["EC2", "FARGATE"],
            "requiresAttributes": [{"name": "x"}], "registeredAt": 1.0, "registeredBy": "me",
            "family": "f", "networkMode": "awsvpc", "cpu": "256", "memory": "1024",
            "volumes": [], "placementConstraints": [],
            "containerDefinitions": [{
                "name": "a", "image": "i", "cpu": 0, "essential": true,
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "secrets": [{"name": "Y", "valueFrom": "/y"}, {"name": "Z", "valueFrom": "/z"}],
                "mountPoints": [], "volumesFrom": []
            }]
        }, "tags": []});
        assert_eq!(normalize(&ours), normalize(&theirs));
        assert!(!differs(&ours, &theirs));
        let mut changed = theirs.clone();
        changed["taskDefinition"]["containerDefinitions"][0]["environment"][0]["value"] =
            json!("9");
        assert!(differs(&ours, &changed));
        // A container cpu that is really set, or essential false, is a difference.
        let mut changed = theirs.clone();
        changed["taskDefinition"]["containerDefinitions"][0]["essential"] = json!(false);
        assert!(differs(&ours, &changed));
    }

    #[test]
    fn bridge_host_port_is_not_defaulted() {
        let a = json!({"networkMode": "bridge", "containerDefinitions": [{"name": "a", "portMappings": [{"containerPort": 80}]}]});
        let b = json!({"networkMode": "bridge", "containerDefinitions": [{"name": "a", "portMappings": [{"containerPort": 80, "hostPort": 80}]}]});
        assert!(differs(&a, &b));
    }

    #[test]
    fn strip_keeps_unknown_fields_and_wrapper_tags() {
        let v = json!({"taskDefinition": {"family": "f", "revision": 2, "newThing": {"x": 1}, "status": "INACTIVE", "deregisteredAt": "t"}, "tags": [{"key": "k", "value": "v"}]});
        let stripped = strip_describe_output(&v).unwrap();
        assert_eq!(
            Value::Object(stripped),
            json!({"family": "f", "newThing": {"x": 1}, "tags": [{"key": "k", "value": "v"}]})
        );
        assert!(strip_describe_output(&json!([1])).is_none());
    }

    #[test]
    fn deep_merge_by_key_and_container_name() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "containerDefinitions": [{"name": "app", "image": "i"}], "list": [1, 2]})
            .as_object().unwrap().clone();
        let over = json!({"a": {"c": 3}, "containerDefinitions": [{"name": "side", "image": "s"}, {"name": "app", "cpu": 5}], "list": [9]})
            .as_object().unwrap().clone();
        deep_merge(&mut base, &over);
        assert_eq!(
            Value::Object(base),
            json!({"a": {"b": 1, "c": 3}, "containerDefinitions": [{"name": "app", "image": "i", "cpu": 5}, {"name": "side", "image": "s"}], "list": [9, 2]})
        );
    }

    fn problems(v: Value) -> Vec<String> {
        check(&v)
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    }

    #[test]
    fn check_rules_on_json() {
        let fargate = |containers: Value| json!({"family": "f", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "containerDefinitions": containers});
        assert!(problems(fargate(json!([{"name": "a", "image": "i"}]))).is_empty());
        let p = problems(fargate(
            json!([{"name": "a", "image": "i", "logConfiguration": {"logDriver": "fluentd"}}]),
        ));
        assert!(p[0].contains("Fargate does not support"), "{p:?}");
        let p = problems(fargate(
            json!([{"name": "a", "image": "i", "logConfiguration": {"logDriver": "awsfirelens"}}]),
        ));
        assert!(p[0].contains("log-router"), "{p:?}");
        let p = problems(fargate(
            json!([{"name": "a", "image": "i", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}}]),
        ));
        assert_eq!(p.len(), 2, "region and stream prefix: {p:?}");
        let p = problems(fargate(
            json!([{"name": "a", "image": "i", "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]),
        ));
        assert!(p[0].contains("hostPort must equal containerPort"), "{p:?}");
        let p = problems(fargate(
            json!([{"name": "a", "image": "i", "healthCheck": {"command": ["curl"]}}]),
        ));
        assert!(p[0].contains("CMD"), "{p:?}");
        let p = problems(fargate(
            json!([{"name": "a", "image": "i", "secrets": [{"name": "S", "valueFrom": "arn:aws:s3:::b"}]}]),
        ));
        assert!(p[0].contains("secrets[0].valueFrom"), "{p:?}");
        let many: Vec<Value> = (0..11)
            .map(|i| json!({"name": format!("c{i}"), "image": "i"}))
            .collect();
        assert!(problems(fargate(Value::Array(many)))[0].contains("over the limit of 10"));
        let mut bad = fargate(json!([{"name": "a", "image": "i"}]));
        bad["networkMode"] = json!("bridge");
        bad["memory"] = json!("4096");
        assert_eq!(problems(bad).len(), 2);
        let ec2 = json!({"family": "f", "networkMode": "none", "containerDefinitions": [{"name": "a", "image": "i", "portMappings": [{"containerPort": 1}], "logConfiguration": {"logDriver": "logentries"}}]});
        assert_eq!(problems(ec2).len(), 1);
    }
}
