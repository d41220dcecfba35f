//! The schema of `[package.metadata.ecs]` and the rules that turn the layered values into a
//! valid [`Config`], collecting *every* problem (with its key path and origin) instead of
//! stopping at the first. Pure: no files, environment or network.
//!
//! The AWS rules encoded here are listed, with their sources, in `FACTS.md`: the Fargate
//! cpu/memory table, network modes and log drivers per launch type, awslogs options, secrets
//! ARNs, health checks, the execution role requirement.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::sources::Layered;
use super::{
    Architecture, BaseImage, Config, ContainerConfig, Cpu, HealthCheck, ImageConfig, Include,
    LaunchType, LogDriver, LogRouter, LogsConfig, MemoryMib, NetworkConfig, NetworkMode,
};
use crate::error::{ConfigError, ConfigWarning, Origin, Problem};
use crate::workspace::Workspace;

/// The type a key takes.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A string.
    Str,
    /// An integer.
    Int,
    /// An integer or a string with a unit (`"0.25 vCPU"`, `"1 GB"`).
    IntOrStr,
    /// A boolean.
    Bool,
    /// An array of strings.
    StrList,
    /// A table of strings (numbers and booleans are converted).
    StrMap,
    /// An array of `{ from, to }` tables.
    IncludeList,
    /// A table with known keys.
    Table(&'static [(&'static str, Ty)]),
    /// Any table (camelCase `overrides`, not checked here).
    Any,
    /// Named environments: a table of tables of top-level keys.
    Envs,
}

impl Ty {
    /// How the type is described in errors.
    pub fn expected(self) -> &'static str {
        match self {
            Ty::Str => "a string",
            Ty::Int => "an integer",
            Ty::IntOrStr => "an integer or a string such as \"0.25 vCPU\" / \"1 GB\"",
            Ty::Bool => "a boolean",
            Ty::StrList => "an array of strings",
            Ty::StrMap => "a table of strings",
            Ty::IncludeList => "an array of { from = …, to = … } tables",
            Ty::Table(_) | Ty::Any | Ty::Envs => "a table",
        }
    }
}

/// `[package.metadata.ecs]` keys.
pub const TOP_KEYS: &[(&str, Ty)] = &[
    ("cluster", Ty::Str),
    ("service", Ty::Str),
    ("family", Ty::Str),
    ("launch-type", Ty::Str),
    ("cpu", Ty::IntOrStr),
    ("memory", Ty::IntOrStr),
    ("network-mode", Ty::Str),
    ("architecture", Ty::Str),
    ("execution-role", Ty::Str),
    ("task-role", Ty::Str),
    ("desired-count", Ty::Int),
    ("task-definition", Ty::Str),
    ("image", Ty::Table(IMAGE_KEYS)),
    ("container", Ty::Table(CONTAINER_KEYS)),
    ("logs", Ty::Table(LOGS_KEYS)),
    ("network", Ty::Table(NETWORK_KEYS)),
    ("overrides", Ty::Any),
    ("env", Ty::Envs),
];

/// `[package.metadata.ecs.image]` keys.
pub const IMAGE_KEYS: &[(&str, Ty)] = &[
    ("repository", Ty::Str),
    ("base", Ty::Str),
    ("bin", Ty::Str),
    ("tags", Ty::StrList),
    ("include", Ty::IncludeList),
    ("user", Ty::Str),
    ("ca-certificates", Ty::Bool),
    ("tag-mutability", Ty::Str),
];

/// Keys of one `image.include` entry.
pub const INCLUDE_KEYS: &[(&str, Ty)] = &[("from", Ty::Str), ("to", Ty::Str)];

/// `[package.metadata.ecs.container]` keys.
pub const CONTAINER_KEYS: &[(&str, Ty)] = &[
    ("name", Ty::Str),
    ("port", Ty::Int),
    ("command", Ty::StrList),
    ("environment", Ty::StrMap),
    ("secrets", Ty::StrMap),
    ("health-check", Ty::Table(HEALTH_KEYS)),
];

/// `container.health-check` keys.
pub const HEALTH_KEYS: &[(&str, Ty)] = &[
    ("command", Ty::StrList),
    ("interval", Ty::Int),
    ("timeout", Ty::Int),
    ("retries", Ty::Int),
    ("start-period", Ty::Int),
];

/// `[package.metadata.ecs.logs]` keys.
pub const LOGS_KEYS: &[(&str, Ty)] = &[
    ("driver", Ty::Str),
    ("group", Ty::Str),
    ("stream-prefix", Ty::Str),
    ("create-group", Ty::Bool),
    ("mode", Ty::Str),
    ("max-buffer-size", Ty::Str),
    ("options", Ty::StrMap),
    ("secret-options", Ty::StrMap),
    ("retention-days", Ty::Int),
    ("router", Ty::Table(ROUTER_KEYS)),
];

/// `[package.metadata.ecs.logs.router]` keys (FireLens).
pub const ROUTER_KEYS: &[(&str, Ty)] = &[
    ("image", Ty::Str),
    ("type", Ty::Str),
    ("options", Ty::StrMap),
];

/// `[package.metadata.ecs.network]` keys.
pub const NETWORK_KEYS: &[(&str, Ty)] = &[
    ("subnets", Ty::StrList),
    ("security-groups", Ty::StrList),
    ("assign-public-ip", Ty::Bool),
];

/// The default FireLens router image (AWS for Fluent Bit, public ECR).
pub const DEFAULT_ROUTER_IMAGE: &str = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable";

/// Log drivers Fargate accepts (FACTS.md "Log drivers").
pub const FARGATE_LOG_DRIVERS: &[&str] = &["awslogs", "splunk", "awsfirelens"];

/// Log drivers the EC2 launch type accepts; `logentries` is agent-only and warned about.
pub const EC2_LOG_DRIVERS: &[&str] = &[
    "awslogs",
    "fluentd",
    "gelf",
    "json-file",
    "journald",
    "syslog",
    "splunk",
    "awsfirelens",
    "logentries",
];

/// CloudWatch Logs retention values (PutRetentionPolicy `retentionInDays`).
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Top-level RegisterTaskDefinition input fields, for "did you mean" on `overrides`.
pub const REGISTER_FIELDS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// Fargate task sizes: the memory sizes (MiB) allowed for a task CPU, or `None` if the CPU
/// is not a Fargate size. Source: AWS ECS developer guide, "Task CPU and memory"
/// (fargate-tasks-services.html#fargate-tasks-size), 8 and 16 vCPU need platform 1.4.0+.
pub fn fargate_memory(cpu: u32) -> Option<(Vec<u32>, String)> {
    let range = |lo: u32, hi: u32, step: u32| {
        (
            (lo..=hi).step_by(step as usize).collect::<Vec<_>>(),
            format!("{lo}–{hi} in steps of {step}"),
        )
    };
    Some(match cpu {
        256 => (vec![512, 1024, 2048], "one of 512, 1024, 2048".into()),
        512 => range(1024, 4096, 1024),
        1024 => range(2048, 8192, 1024),
        2048 => range(4096, 16384, 1024),
        4096 => range(8192, 30720, 1024),
        8192 => range(16384, 61440, 4096),
        16384 => range(32768, 122880, 8192),
        _ => return None,
    })
}

/// The Fargate CPU sizes, in units.
pub const FARGATE_CPUS: &[u32] = &[256, 512, 1024, 2048, 4096, 8192, 16384];

/// Parses task CPU: units (`256`, `"256"`) or vCPU (`"0.25 vCPU"`).
pub fn parse_cpu(value: &Value) -> Result<u32, String> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| "CPU units must be a positive integer".to_string()),
        Value::String(s) => {
            let lower = s.trim().to_ascii_lowercase();
            if let Some(num) = lower.strip_suffix("vcpu") {
                let v: f64 = num
                    .trim()
                    .parse()
                    .map_err(|_| "expected a number of vCPU such as \"0.25 vCPU\"".to_string())?;
                let units = v * 1024.0;
                if !(units.is_finite()
                    && units > 0.0
                    && units.fract() == 0.0
                    && units <= u32::MAX as f64)
                {
                    return Err("vCPU must be a positive multiple of 1/1024".into());
                }
                Ok(units as u32)
            } else {
                lower
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| "expected CPU units (256) or vCPU (\"0.25 vCPU\")".to_string())
            }
        }
        _ => Err("expected CPU units (256) or vCPU (\"0.25 vCPU\")".into()),
    }
}

/// Parses task memory: MiB (`512`, `"512"`, `"512 MiB"`) or GB (`"1 GB"` = 1024 MiB).
pub fn parse_memory(value: &Value) -> Result<u32, String> {
    let bad = || "expected MiB (512) or a size such as \"1 GB\"".to_string();
    match value {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| "memory must be a positive integer of MiB".to_string()),
        Value::String(s) => {
            let lower = s.trim().to_ascii_lowercase();
            let (num, factor) = if let Some(n) = lower
                .strip_suffix("gib")
                .or_else(|| lower.strip_suffix("gb"))
            {
                (n, 1024.0)
            } else if let Some(n) = lower
                .strip_suffix("mib")
                .or_else(|| lower.strip_suffix("mb"))
            {
                (n, 1.0)
            } else {
                (lower.as_str(), 1.0)
            };
            let v: f64 = num.trim().parse().map_err(|_| bad())?;
            let mib = v * factor;
            if !(mib.is_finite() && mib >= 1.0 && mib.fract() == 0.0 && mib <= u32::MAX as f64) {
                return Err(bad());
            }
            Ok(mib as u32)
        }
        _ => Err(bad()),
    }
}

/// The closest name by edit distance, if close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&name.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// An "unknown key" problem with a suggestion from `keys`.
pub fn unknown_key(name: &str, keys: &[(&str, Ty)]) -> Problem {
    let valid: Vec<String> = keys.iter().map(|(k, _)| k.to_string()).collect();
    Problem::UnknownKey {
        suggestion: closest(name, keys.iter().map(|(k, _)| *k)),
        valid,
    }
}

/// The type of the key at a dotted path (for command-line settings), if the path is valid.
pub fn ty_at(path: &[String]) -> Option<Ty> {
    let mut keys = TOP_KEYS;
    let mut iter = path.iter().peekable();
    while let Some(seg) = iter.next() {
        let (_, ty) = keys.iter().find(|(k, _)| k == seg)?;
        match (ty, iter.peek()) {
            (ty, None) => return Some(*ty),
            (Ty::Table(inner), Some(_)) => keys = inner,
            // `container.environment.KEY`: one more segment, a string.
            (Ty::StrMap, Some(_)) => return (iter.len() == 1).then_some(Ty::Str),
            // `overrides.a.b`: anything.
            (Ty::Any, Some(_)) => return Some(Ty::Any),
            _ => return None,
        }
    }
    None
}

/// Every settable leaf path with its type (tables are descended, other values are leaves).
pub fn leaf_paths() -> Vec<(Vec<String>, Ty)> {
    fn walk(keys: &[(&str, Ty)], prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Ty)>) {
        for (k, ty) in keys {
            prefix.push(k.to_string());
            match ty {
                Ty::Table(inner) => walk(inner, prefix, out),
                Ty::Envs => {}
                _ => out.push((prefix.clone(), *ty)),
            }
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    walk(TOP_KEYS, &mut Vec::new(), &mut out);
    out
}

/// What validation produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The valid config, when there were no errors.
    pub config: Option<Config>,
    /// Every problem.
    pub errors: Vec<ConfigError>,
    /// Every warning.
    pub warnings: Vec<ConfigWarning>,
}

struct V<'a> {
    layered: &'a Layered,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
}

impl<'a> V<'a> {
    fn get(&self, path: &[&str]) -> Option<&'a Value> {
        let (first, rest) = path.split_first()?;
        let mut cur = self.layered.value.get(*first)?;
        for seg in rest {
            cur = cur.as_object()?.get(*seg)?;
        }
        Some(cur)
    }
    fn str(&self, path: &[&str]) -> Option<String> {
        self.get(path).and_then(Value::as_str).map(str::to_string)
    }
    fn int(&self, path: &[&str]) -> Option<i64> {
        self.get(path).and_then(Value::as_i64)
    }
    fn bool(&self, path: &[&str]) -> Option<bool> {
        self.get(path).and_then(Value::as_bool)
    }
    fn list(&self, path: &[&str]) -> Vec<String> {
        self.get(path)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// The strings of a list with their indices in it (elements of another type were
    /// reported and blanked when the layers were checked).
    fn indexed(&self, path: &[&str]) -> Vec<(String, String)> {
        self.get(path)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.as_str().map(|s| (i.to_string(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
    fn map(&self, path: &[&str]) -> BTreeMap<String, String> {
        self.get(path)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }
    fn origin(&self, path: &[&str]) -> Origin {
        self.layered.origin(path)
    }
    fn err(&mut self, path: &[&str], problem: Problem) {
        // A required key is missing, so no source gave it: it is not attributed to the
        // source of its parent table (`--set logs.driver=…` created `logs`, not
        // `logs.secret-options`).
        let origin = match problem {
            Problem::Required { .. } => self.layered.exact_origin(path).unwrap_or(Origin::Default),
            _ => self.origin(path),
        };
        self.errors
            .push(ConfigError::new(path.join("."), origin, problem));
    }
    /// `path` is required because of the written key `because` (`logs.driver = "splunk"`
    /// needs `logs.secret-options`): the problem is shown at `because`, and the reason
    /// says where that was set.
    fn required_by(&mut self, path: &[&str], because: &[&str], reason: String, help: String) {
        let written = self.layered.exact_origin(path);
        let cause = self.origin(because);
        let because_key = because.join(".");
        let reason = format!(
            "{reason} ({because_key} set {})",
            cause.set_by(&because_key)
        );
        let mut error = ConfigError::new(
            path.join("."),
            written.clone().unwrap_or(Origin::Default),
            Problem::Required { reason, help },
        );
        // Shown at the table that lacks the entry when one was written, else at the cause.
        if written.is_none() && cause != Origin::Default {
            error = error.with_anchor(because_key, cause);
        }
        self.errors.push(error);
    }
    fn invalid(
        &mut self,
        path: &[&str],
        value: impl Into<String>,
        reason: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.err(
            path,
            Problem::InvalidValue {
                value: value.into(),
                reason: reason.into(),
                help: help.into(),
            },
        );
    }
    fn warn(&mut self, path: &[&str], message: impl Into<String>) {
        let origin = self.origin(path);
        let key = path.join(".");
        self.warnings.push(ConfigWarning {
            key_path: origin.key_path(&key),
            source: origin.given_by(&key),
            message: message.into(),
        });
    }
    /// A case-insensitive choice; reports and returns `None` when invalid.
    fn choice(
        &mut self,
        path: &[&str],
        choices: &[&str],
        context: Option<String>,
    ) -> Option<String> {
        let raw = self.str(path)?;
        let lower = raw.to_ascii_lowercase();
        if let Some(c) = choices.iter().find(|c| c.to_ascii_lowercase() == lower) {
            return Some(c.to_string());
        }
        self.err(
            path,
            Problem::InvalidChoice {
                value: format!("{raw:?}"),
                choices: choices.iter().map(|c| c.to_string()).collect(),
                context,
            },
        );
        None
    }
}

/// Checks a name against ECS's `[A-Za-z0-9_-]{1,255}` rule.
fn is_ecs_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// An IAM role ARN (`arn:aws:iam::123456789012:role/name`).
fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|r| !r.is_empty()))
}

/// A Secrets Manager secret ARN, an SSM parameter ARN, or an SSM parameter name.
pub fn check_secret_ref(s: &str) -> Result<(), String> {
    if s.starts_with("arn:") {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let ok = match parts.as_slice() {
            ["arn", partition, service, region, account, resource] => {
                partition.starts_with("aws")
                    && !region.is_empty()
                    && account.len() == 12
                    && account.chars().all(|c| c.is_ascii_digit())
                    && match *service {
                        "secretsmanager" => resource
                            .strip_prefix("secret:")
                            .is_some_and(|r| !r.is_empty()),
                        "ssm" => resource
                            .strip_prefix("parameter/")
                            .is_some_and(|r| !r.is_empty()),
                        _ => false,
                    }
            }
            _ => false,
        };
        return if ok {
            Ok(())
        } else {
            Err("not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME)".into())
        };
    }
    let valid_chars = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
    if s.is_empty() || s.len() > 2048 || !valid_chars {
        return Err(
            "not an SSM parameter name (letters, digits, and _ . - /) nor a secret ARN".into(),
        );
    }
    if s.contains('/') && !s.starts_with('/') {
        return Err("an SSM parameter name with a path must start with `/`".into());
    }
    Ok(())
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Names that look like credentials (warned about when set as plain environment).
pub fn looks_like_credential(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| upper.contains(w))
}

/// An ECR repository name: 2–256 characters matching
/// `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`
/// (ECR API reference, CreateRepository `repositoryName`): lowercase letters and digits,
/// single `.`, `_` or `-` between them, `/` between such components.
pub fn is_repository_name(s: &str) -> bool {
    let component_ok = |c: &str| {
        let alnum = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit();
        let mut prev_sep = true; // no separator first
        for ch in c.chars() {
            if alnum(ch) {
                prev_sep = false;
            } else if ".-_".contains(ch) && !prev_sep {
                prev_sep = true;
            } else {
                return false;
            }
        }
        !prev_sep // not empty, no separator last
    };
    (2..=256).contains(&s.len()) && s.split('/').all(component_ok)
}

/// The ECR repository name derived from a package name when `image.repository` is not set:
/// lower-cased, other characters turned into `-`, runs of separators collapsed, trimmed,
/// and `-app` appended to names shorter than ECR's 2 characters (`MySvc` → `mysvc`,
/// `a` → `a-app`). Always valid for [`is_repository_name`].
pub fn default_repository(package: &str) -> String {
    let mut out = String::new();
    for ch in package.chars() {
        let ch = ch.to_ascii_lowercase();
        let ch = if ch.is_ascii_lowercase() || ch.is_ascii_digit() || ".-_".contains(ch) {
            ch
        } else {
            '-'
        };
        let sep = ".-_".contains(ch);
        if sep && (out.is_empty() || out.ends_with(['.', '-', '_'])) {
            continue;
        }
        out.push(ch);
    }
    out.truncate(256 - "-app".len());
    while out.ends_with(['.', '-', '_']) {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("app");
    } else if out.len() < 2 {
        out.push_str("-app");
    }
    out
}

/// The ECS name (service, container) derived from a package name: characters outside
/// `[A-Za-z0-9_-]` turned into `-`, at most 255. Always valid for `is_ecs_name`.
pub fn default_ecs_name(package: &str) -> String {
    let name: String = package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(255)
        .collect();
    if name.is_empty() { "app".into() } else { name }
}

fn is_tag(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Validates the layered values into a [`Config`].
pub fn validate(ws: &Workspace, layered: &Layered, template: Option<Value>) -> Outcome {
    let mut v = V {
        layered,
        errors: Vec::new(),
        warnings: Vec::new(),
    };

    // Names. Defaults derived from the package name are made valid; a written name that is
    // invalid is reported once, naming the defaults derived from it, which are not checked
    // again (they would only repeat the same problem at keys nobody wrote).
    let service = v
        .str(&["service"])
        .unwrap_or_else(|| default_ecs_name(&ws.package));
    if !is_ecs_name(&service) {
        let awslogs = v
            .str(&["logs", "driver"])
            .is_none_or(|d| d.eq_ignore_ascii_case("awslogs"));
        let mut derived = Vec::new();
        if v.get(&["family"]).is_none() {
            derived.push("family");
        }
        if awslogs && v.get(&["logs", "group"]).is_none() {
            derived.push("logs.group (/ecs/<service>)");
        }
        if awslogs && v.get(&["logs", "stream-prefix"]).is_none() {
            derived.push("logs.stream-prefix");
        }
        let reason = match derived.as_slice() {
            [] => "not a valid ECS service name".to_string(),
            [one] => format!("not a valid ECS service name, and {one} defaults to it"),
            [init @ .., last] => format!(
                "not a valid ECS service name, and {} and {last} default to it",
                init.join(", ")
            ),
        };
        v.invalid(
            &["service"],
            format!("{service:?}"),
            reason,
            "use 1–255 letters, digits, hyphens and underscores",
        );
    }
    let family = match v.str(&["family"]) {
        Some(family) => {
            if !is_ecs_name(&family) {
                v.invalid(
                    &["family"],
                    format!("{family:?}"),
                    "not a valid task definition family",
                    "use 1–255 letters, digits, hyphens and underscores",
                );
            }
            family
        }
        None => service.clone(),
    };
    let cluster = v.str(&["cluster"]).unwrap_or_else(|| "default".into());
    if !(is_ecs_name(&cluster) || (cluster.starts_with("arn:") && cluster.contains(":cluster/"))) {
        v.invalid(
            &["cluster"],
            format!("{cluster:?}"),
            "not a cluster name or ARN",
            "use the cluster name (letters, digits, - and _) or its ARN",
        );
    }

    let launch_type = match v
        .choice(&["launch-type"], &["fargate", "ec2"], None)
        .as_deref()
    {
        Some("ec2") => LaunchType::Ec2,
        _ => LaunchType::Fargate,
    };
    let fargate = launch_type == LaunchType::Fargate;

    // Network mode.
    let network_mode = if v.get(&["network-mode"]).is_some() {
        let (choices, context): (&[&str], _) = if fargate {
            (
                &["awsvpc"],
                Some("Fargate supports only awsvpc".to_string()),
            )
        } else {
            (&["bridge", "host", "awsvpc", "none"], None)
        };
        match v.choice(&["network-mode"], choices, context).as_deref() {
            Some("host") => NetworkMode::Host,
            Some("bridge") => NetworkMode::Bridge,
            Some("none") => NetworkMode::None,
            Some(_) => NetworkMode::Awsvpc,
            None if fargate => NetworkMode::Awsvpc,
            None => NetworkMode::Bridge,
        }
    } else if fargate {
        NetworkMode::Awsvpc
    } else {
        NetworkMode::Bridge
    };

    let architecture = match v
        .choice(
            &["architecture"],
            &["x86_64", "arm64", "amd64", "aarch64"],
            None,
        )
        .as_deref()
    {
        Some("arm64") | Some("aarch64") => Architecture::Arm64,
        _ => Architecture::X86_64,
    };

    // CPU and memory.
    let mut cpu = None;
    if let Some(value) = v.get(&["cpu"]) {
        match parse_cpu(value) {
            Ok(units) => cpu = Some(units),
            Err(reason) => v.invalid(&["cpu"], value_text(value), reason, if fargate {
                "use one of 256, 512, 1024, 2048, 4096, 8192, 16384 (or \"0.25 vCPU\" … \"16 vCPU\")"
            } else {
                "use CPU units (1024 = 1 vCPU) between 128 and 196608"
            }),
        }
    }
    let mut memory = None;
    if let Some(value) = v.get(&["memory"]) {
        match parse_memory(value) {
            Ok(mib) => memory = Some(mib),
            Err(reason) => v.invalid(
                &["memory"],
                value_text(value),
                reason,
                "use MiB (512) or \"1 GB\"",
            ),
        }
    }
    if fargate {
        let cpu_given = v.get(&["cpu"]).is_some();
        let units = cpu.unwrap_or(256);
        match fargate_memory(units) {
            None => {
                if cpu_given && cpu.is_some() {
                    v.err(
                        &["cpu"],
                        Problem::InvalidChoice {
                            value: units.to_string(),
                            choices: FARGATE_CPUS.iter().map(|c| c.to_string()).collect(),
                            context: Some("not a Fargate CPU size".into()),
                        },
                    );
                }
            }
            Some((allowed, text)) => {
                let mib = memory.unwrap_or(allowed[0]);
                if !allowed.contains(&mib) && (memory.is_some() || v.get(&["memory"]).is_none()) {
                    // Shown at the one of the pair whose source wins (`--set cpu=512` over
                    // `memory = 512` in Cargo.toml): that is the value just changed, and a
                    // snippet of the other source would show a line that no longer applies.
                    let cpu_origin = v.origin(&["cpu"]);
                    let memory_origin = v.origin(&["memory"]);
                    let (key, other_key, other_origin, this_origin) =
                        if cpu_given && cpu_origin.rank() > memory_origin.rank() {
                            ("cpu", "memory", memory_origin, cpu_origin)
                        } else {
                            ("memory", "cpu", cpu_origin, memory_origin)
                        };
                    let other = (other_origin != this_origin).then(|| match other_origin {
                        Origin::Default => "the default".to_string(),
                        _ => match other_origin.given_by(other_key) {
                            Some(source) => format!("from {source}"),
                            None => format!("from `{}`", other_origin.key_path(other_key)),
                        },
                    });
                    v.err(
                        &[key],
                        Problem::CpuMemoryMismatch {
                            cpu: units,
                            memory: mib,
                            allowed: text,
                            other,
                        },
                    );
                }
                memory = Some(mib);
            }
        }
        cpu = Some(units);
    } else {
        if let Some(units) = cpu
            && !(128..=196_608).contains(&units)
        {
            v.invalid(
                &["cpu"],
                units.to_string(),
                "EC2 task CPU must be 128–196608 units",
                "use CPU units (1024 = 1 vCPU) between 128 and 196608",
            );
        }
        if memory.is_none() {
            memory = Some(512);
        }
    }

    // Roles.
    let execution_role = v.str(&["execution-role"]);
    if let Some(role) = &execution_role
        && !is_role_arn(role)
    {
        v.invalid(
            &["execution-role"],
            format!("{role:?}"),
            "not an IAM role ARN",
            "write arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        );
    }
    let task_role = v.str(&["task-role"]);
    if let Some(role) = &task_role {
        let name_ok = !role.is_empty()
            && role.len() <= 64
            && role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c));
        if !(is_role_arn(role) || name_ok) {
            v.invalid(
                &["task-role"],
                format!("{role:?}"),
                "not an IAM role ARN or role name",
                "write arn:aws:iam::123456789012:role/my-task-role",
            );
        }
    }

    let desired_count = match v.int(&["desired-count"]) {
        Some(n) if (0..=i64::from(u32::MAX)).contains(&n) => n as u32,
        Some(n) => {
            v.invalid(
                &["desired-count"],
                n.to_string(),
                "must not be negative",
                "use 0 or more",
            );
            1
        }
        None => 1,
    };

    let image = image_config(&mut v, ws);
    let container = container_config(&mut v, ws);
    let logs = logs_config(&mut v, launch_type, &service);
    let network = network_config(&mut v, network_mode);
    if let (NetworkMode::None, Some(port)) = (network_mode, container.port) {
        v.invalid(
            &["container", "port"],
            port.to_string(),
            "network-mode \"none\" has no network, so no port can be mapped",
            "remove container.port or use network-mode \"bridge\", \"host\" or \"awsvpc\"",
        );
    }

    // The execution role: Fargate pulls the image from ECR with it, sends awslogs with it and
    // reads secrets with it; EC2 needs it only for secrets.
    // A task-definition file or `overrides.executionRoleArn` may give the role instead.
    let template_fields = template
        .as_ref()
        .and_then(crate::taskdef::strip_describe_output);
    let role_elsewhere = template_fields
        .as_ref()
        .and_then(|t| t.get("executionRoleArn"))
        .or_else(|| v.get(&["overrides", "executionRoleArn"]))
        .and_then(Value::as_str)
        .is_some_and(|r| !r.is_empty());
    if execution_role.is_none() && !role_elsewhere {
        let uses_secrets = !container.secrets.is_empty() || !logs.secret_options.is_empty();
        let mut needs = Vec::new();
        if fargate {
            needs.push("Fargate pulls the image from ECR with the task execution role");
            // With a task-definition file, the log driver and secrets are the file's.
            if logs.driver == LogDriver::Awslogs && template.is_none() {
                needs.push("it sends awslogs to CloudWatch");
            }
        }
        if uses_secrets && template.is_none() {
            needs.push("secrets are read with it");
        }
        if template.is_some() && !needs.is_empty() {
            needs.push("the task-definition file has no executionRoleArn either");
        }
        if !needs.is_empty() {
            v.err(&["execution-role"], Problem::Required {
                reason: needs.join("; "),
                help: "set execution-role = \"arn:aws:iam::ACCOUNT:role/ecsTaskExecutionRole\" (`cargo ecs setup` prints the role's trust policy)".into(),
            });
        }
    }

    // A task-definition file: the task-level keys set in any source are written over the
    // file's fields; the container and log keys are not (the file has its own), so setting
    // them is reported rather than silently dropped.
    let mut file_fields = Map::new();
    if let Some(rel) = v.str(&["task-definition"]).filter(|_| template.is_some()) {
        let set = |v: &V<'_>, key: &str| v.get(&[key]).is_some();
        if let Some(role) = execution_role
            .as_ref()
            .filter(|_| set(&v, "execution-role"))
        {
            file_fields.insert("executionRoleArn".into(), Value::String(role.clone()));
        }
        if let Some(role) = task_role.as_ref().filter(|_| set(&v, "task-role")) {
            file_fields.insert("taskRoleArn".into(), Value::String(role.clone()));
        }
        if let Some(units) = cpu.filter(|_| set(&v, "cpu")) {
            file_fields.insert("cpu".into(), Value::String(units.to_string()));
        }
        if let Some(mib) = memory.filter(|_| set(&v, "memory")) {
            file_fields.insert("memory".into(), Value::String(mib.to_string()));
        }
        if set(&v, "network-mode") {
            file_fields.insert(
                "networkMode".into(),
                Value::String(network_mode.as_str().into()),
            );
        }
        if set(&v, "architecture") {
            file_fields.insert(
                "runtimePlatform".into(),
                serde_json::json!({ "cpuArchitecture": architecture.ecs_name() }),
            );
        }
        for (table, keys) in [
            (
                "container",
                &["port", "command", "environment", "secrets", "health-check"][..],
            ),
            (
                "logs",
                &[
                    "driver",
                    "group",
                    "stream-prefix",
                    "create-group",
                    "mode",
                    "max-buffer-size",
                    "options",
                    "secret-options",
                    "router",
                ][..],
            ),
        ] {
            for key in keys {
                if v.get(&[table, key]).is_some() {
                    v.warn(&[table, key], format!("not applied to the task definition read from {rel:?}: cargo ecs writes only family, the application container's image, and execution-role, task-role, cpu, memory, network-mode and architecture into that file's definition; edit the file, or use `overrides`"));
                }
            }
        }
    }

    // Overrides: camelCase register fields; unknown ones are allowed (newer than this tool)
    // but probably typos when close to a known one.
    let overrides = match v.get(&["overrides"]) {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    for key in overrides.keys() {
        if !REGISTER_FIELDS.contains(&key.as_str()) {
            let path = ["overrides", key.as_str()];
            match closest(key, REGISTER_FIELDS.iter().copied()) {
                Some(s) => v.warn(&path, format!("not a RegisterTaskDefinition field; did you mean `{s}`? (passed through as written)")),
                None => v.warn(&path, "not a RegisterTaskDefinition field this tool knows; passed through as written"),
            }
        }
    }

    let task_definition_file = v
        .str(&["task-definition"])
        .map(|rel| ws.package_root.join(rel));

    let errors = std::mem::take(&mut v.errors);
    let warnings = std::mem::take(&mut v.warnings);
    let config = errors.is_empty().then(|| Config {
        package: ws.package.clone(),
        version: ws.version.clone(),
        manifest_path: ws.manifest_path.clone(),
        cluster,
        service,
        family,
        launch_type,
        cpu: cpu.map(Cpu),
        memory: memory.map(MemoryMib),
        network_mode,
        architecture,
        execution_role,
        task_role,
        desired_count,
        task_definition_file,
        task_definition_template: template,
        task_definition_fields: file_fields,
        image,
        container,
        logs,
        network,
        overrides,
    });
    Outcome {
        config,
        errors,
        warnings,
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn image_config(v: &mut V<'_>, ws: &Workspace) -> ImageConfig {
    let repository = v
        .str(&["image", "repository"])
        .unwrap_or_else(|| default_repository(&ws.package));
    if !is_repository_name(&repository) {
        v.invalid(&["image", "repository"], format!("{repository:?}"), "not a valid ECR repository name", "use 2–256 characters: lowercase letters and digits, a single . _ or - between them, / between path components");
    }
    let base = match v.str(&["image", "base"]) {
        None => BaseImage::Scratch,
        Some(b) if b == "scratch" => BaseImage::Scratch,
        Some(b) => match base_problem(&b) {
            Some((reason, help)) => {
                v.invalid(&["image", "base"], format!("{b:?}"), reason, help);
                BaseImage::Scratch
            }
            None => BaseImage::Reference(b),
        },
    };
    let bin = match v.str(&["image", "bin"]) {
        Some(bin) => {
            if !ws.bins.contains(&bin) {
                let choices = if ws.bins.is_empty() {
                    vec!["(the package has no binary target)".to_string()]
                } else {
                    ws.bins.clone()
                };
                v.err(
                    &["image", "bin"],
                    Problem::InvalidChoice {
                        value: format!("{bin:?}"),
                        choices,
                        context: Some(format!("not a binary target of `{}`", ws.package)),
                    },
                );
            }
            bin
        }
        None => match ws.bins.as_slice() {
            [one] => one.clone(),
            [] => {
                v.err(
                    &["image", "bin"],
                    Problem::Required {
                        reason: format!(
                            "package `{}` has no binary target to put in the image",
                            ws.package
                        ),
                        help: "add src/main.rs or a [[bin]] target".into(),
                    },
                );
                String::new()
            }
            many => {
                v.err(
                    &["image", "bin"],
                    Problem::Required {
                        reason: format!("package `{}` has several binary targets", ws.package),
                        help: format!(
                            "set image.bin to one of {} (or pass `--bin NAME` to build and deploy)",
                            many.join(", ")
                        ),
                    },
                );
                String::new()
            }
        },
    };
    let indexed_tags = v.indexed(&["image", "tags"]);
    let tags: Vec<String> = indexed_tags.iter().map(|(_, t)| t.clone()).collect();
    for (i, (index, tag)) in indexed_tags.iter().enumerate() {
        if !is_tag(tag) {
            v.invalid(
                &["image", "tags", index],
                format!("{tag:?}"),
                "not a valid image tag",
                "use letters, digits, _ . - (at most 128, not starting with . or -)",
            );
        } else if let Some((first, _)) = indexed_tags[..i].iter().find(|(_, t)| t == tag) {
            // The layout's index.json and the registry would get the same tag twice.
            v.invalid(
                &["image", "tags", index],
                format!("{tag:?}"),
                format!("the tag {tag:?} is already image.tags.{first}"),
                "list each tag once",
            );
        }
    }
    let mut include = Vec::new();
    // Where each `to` was first given (trailing `/` ignored): a second include at the same
    // path would silently replace the first.
    let mut first_to: std::collections::BTreeMap<String, usize> = Default::default();
    if let Some(Value::Array(items)) = v.get(&["image", "include"]) {
        for (index, item) in items.iter().enumerate() {
            if item.is_null() {
                // Not a `{ from, to }` table with both keys: already reported.
                continue;
            }
            let from = item.get("from").and_then(Value::as_str).unwrap_or_default();
            let to = item.get("to").and_then(Value::as_str).unwrap_or_default();
            let i = index.to_string();
            let normalized = to.trim_end_matches('/').to_string();
            if let Some(first) = first_to.get(&normalized) {
                v.invalid(
                    &["image", "include", &i, "to"],
                    format!("{to:?}"),
                    format!("image.include.{first}.to already puts something at {to:?}"),
                    "give each include its own `to`, or include the parent directory once",
                );
            } else {
                first_to.insert(normalized, index);
            }
            if !to.starts_with('/') {
                v.invalid(
                    &["image", "include", &i, "to"],
                    format!("{to:?}"),
                    "`to` must be an absolute path in the image",
                    "write to = \"/app/static\"",
                );
            } else if to.split('/').any(|c| c == "..") {
                // A `..` would climb out of where the user said, and tar refuses it anyway.
                v.invalid(
                    &["image", "include", &i, "to"],
                    format!("{to:?}"),
                    "`to` must not contain `..`",
                    "write the absolute path it means, such as to = \"/app/static\"",
                );
            }
            if item.get("from").is_some() && from.trim().is_empty() {
                // An empty `from` is the package directory itself, target/ and all.
                v.invalid(
                    &["image", "include", &i, "from"],
                    format!("{from:?}"),
                    "`from` must name a file or directory of the package",
                    "write from = \"static\" (relative to the package's Cargo.toml)",
                );
            } else if item.get("from").is_some() {
                // Checked now, with every other problem, rather than after `cargo build`.
                // An absolute `from` is taken as it is (`join` keeps it).
                let path = ws.package_root.join(from);
                if !ws.path_exists(&path) {
                    v.invalid(
                        &["image", "include", &i, "from"],
                        format!("{from:?}"),
                        format!("{} does not exist", path.display()),
                        format!(
                            "`from` is a file or directory relative to the package directory {} (or an absolute path)",
                            ws.package_root.display()
                        ),
                    );
                }
            }
            include.push(Include {
                from: PathBuf::from(from),
                to: to.to_string(),
            });
        }
    }
    let user = v
        .str(&["image", "user"])
        .unwrap_or_else(|| "65532:65532".into());
    if let Some(problem) = user_problem(&user) {
        v.invalid(
            &["image", "user"],
            format!("{user:?}"),
            problem,
            "write USER or USER:GROUP, each a number (\"65532:65532\") or a name (\"nonroot\")",
        );
    }
    let tag_mutability = v
        .choice(
            &["image", "tag-mutability"],
            &["MUTABLE", "IMMUTABLE"],
            None,
        )
        .unwrap_or_else(|| "MUTABLE".into());
    ImageConfig {
        repository,
        base,
        bin,
        tags,
        include,
        user,
        ca_certificates: v.bool(&["image", "ca-certificates"]).unwrap_or(true),
        tag_mutability,
    }
}

/// Why `base` (not `scratch`) is not an image reference cargo ecs can pull, with what to
/// write instead. The grammar is the distribution project's reference grammar (what docker
/// and registries accept): `[DOMAIN[:PORT]/]PATH[:TAG][@sha256:HEX]`, where each `/`-separated
/// PATH component is lowercase `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`, a TAG is
/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` and the digest is 64 lowercase hex digits. The first
/// component is a domain when it holds a `.` or a `:` or is `localhost`, as docker decides.
pub fn base_problem(base: &str) -> Option<(String, String)> {
    const EXAMPLE: &str = "write an image reference such as \"debian:bookworm-slim\", \"public.ecr.aws/docker/library/alpine:3.20\" or \"localhost:5000/base@sha256:<64 hex digits>\", or \"scratch\"";
    let bad = |reason: String| Some((reason, EXAMPLE.to_string()));
    if base.is_empty() {
        return bad("the reference is empty".into());
    }
    if base.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("a reference has no spaces".into());
    }
    if base.contains("://") {
        return bad("a reference has no scheme (http://, https://): write the registry host and the repository, such as \"registry.example.com/team/base:1\"".into());
    }
    let (rest, digest) = match base.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (base, None),
    };
    if let Some(digest) = digest {
        let hex = digest.strip_prefix("sha256:");
        if !hex.is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }) {
            return bad(format!(
                "the digest {digest:?} is not sha256: followed by 64 lowercase hex digits"
            ));
        }
    }
    // A tag follows the last `:` after the last `/` (a `:` before it is the port).
    let after_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[after_slash..].find(':') {
        Some(i) => (&rest[..after_slash + i], Some(&rest[after_slash + i + 1..])),
        None => (rest, None),
    };
    if name.eq_ignore_ascii_case("scratch") {
        return Some((
            "`scratch` is not an image to pull: it means no base at all, written in lowercase with no tag or digest".into(),
            "write base = \"scratch\"".into(),
        ));
    }
    if let Some(tag) = tag {
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let ok = tag.len() <= 128
            && tag.bytes().next().is_some_and(word)
            && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-');
        if !ok {
            return bad(format!(
                "the tag {tag:?} is not 1–128 letters, digits, `_`, `.` and `-` (not starting with `.` or `-`)"
            ));
        }
    }
    if name.len() > 255 {
        return bad("the name (domain and repository) is longer than 255 characters".into());
    }
    let mut components: Vec<&str> = name.split('/').collect();
    if components.len() > 1 {
        let first = components[0];
        if first.contains('.') || first.contains(':') || first == "localhost" {
            if let Some(reason) = domain_problem(first) {
                return bad(reason);
            }
            components.remove(0);
        }
    }
    for component in components {
        if !is_path_component(component) {
            let reason = if component.bytes().any(|b| b.is_ascii_uppercase()) {
                format!("the repository part {component:?} must be lowercase")
            } else if component.is_empty() {
                "the repository path has an empty part".to_string()
            } else {
                format!(
                    "the repository part {component:?} is not lowercase letters and digits joined by `.`, `_`, `__` or `-`"
                )
            };
            return bad(reason);
        }
    }
    None
}

/// A registry `host[:port]`: dot-separated labels of letters, digits and inner `-`, or a
/// bracketed IPv6 address; a port of digits.
fn domain_problem(domain: &str) -> Option<String> {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, after))
                if !ip.is_empty() && ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') =>
            {
                match after {
                    "" => return None,
                    p => match p.strip_prefix(':') {
                        Some(port) => ("[ipv6]", Some(port)),
                        None => return Some(format!("the registry {domain:?} is not HOST[:PORT]")),
                    },
                }
            }
            _ => {
                return Some(format!(
                    "the registry {domain:?} is not a bracketed IPv6 address"
                ));
            }
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Some(format!("the registry port {port:?} is not a number"));
    }
    if host != "[ipv6]" {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Some(format!(
                "the registry host {host:?} is not a host name (letters, digits and `-`, dot-separated)"
            ));
        }
    }
    None
}

/// One repository path component: `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn is_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().copied().is_some_and(alnum) || !bytes.last().copied().is_some_and(alnum) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        // A separator between two alphanumerics.
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Why `user` is not a `USER[:GROUP]` the container runtime can use, if it is not.
fn user_problem(user: &str) -> Option<&'static str> {
    if user.is_empty() {
        return Some("the user must not be empty");
    }
    let parts: Vec<&str> = user.split(':').collect();
    if parts.len() > 2 {
        return Some("at most one `:` (USER:GROUP)");
    }
    for part in parts {
        if part.is_empty() {
            return Some("the user and the group must not be empty");
        }
        if part.bytes().all(|b| b.is_ascii_digit()) {
            // Linux ids are 32-bit; 4294967295 is (uid_t)-1, "no id".
            if part.parse::<u32>().map_or(true, |n| n == u32::MAX) {
                return Some("an id must be a number from 0 to 4294967294");
            }
        } else {
            // The portable user-name set (useradd's default NAME_REGEX), at most 32 long.
            let first_ok = part
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
            let rest_ok = part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
            if !first_ok || !rest_ok || part.len() > 32 {
                return Some(
                    "a name must start with a lowercase letter or `_` and hold only a-z, 0-9, `_` and `-` (at most 32)",
                );
            }
        }
    }
    None
}

fn container_config(v: &mut V<'_>, ws: &Workspace) -> ContainerConfig {
    let name = v
        .str(&["container", "name"])
        .unwrap_or_else(|| default_ecs_name(&ws.package));
    if !is_ecs_name(&name) {
        v.invalid(
            &["container", "name"],
            format!("{name:?}"),
            "not a valid container name",
            "use 1–255 letters, digits, hyphens and underscores",
        );
    }
    let port = match v.int(&["container", "port"]) {
        Some(p) if (1..=65535).contains(&p) => Some(p as u16),
        Some(p) => {
            v.invalid(
                &["container", "port"],
                p.to_string(),
                "ports are 1–65535",
                "use a port between 1 and 65535, e.g. 8080",
            );
            None
        }
        None => None,
    };
    let environment = v.map(&["container", "environment"]);
    for name in environment.keys() {
        if !is_env_name(name) {
            v.invalid(
                &["container", "environment", name],
                format!("{name:?}"),
                "not a valid environment variable name",
                "use letters, digits and _ (not starting with a digit)",
            );
        } else if looks_like_credential(name) {
            v.warn(&["container", "environment", name], format!("`{name}` looks like a credential but is a plain environment value, visible in the task definition; move it to container.secrets (a Secrets Manager or SSM reference)"));
        }
    }
    let secrets = v.map(&["container", "secrets"]);
    for (name, reference) in &secrets {
        if !is_env_name(name) {
            v.invalid(
                &["container", "secrets", name],
                format!("{name:?}"),
                "not a valid environment variable name",
                "use letters, digits and _ (not starting with a digit)",
            );
        }
        if let Err(reason) = check_secret_ref(reference) {
            v.invalid(&["container", "secrets", name], format!("{reference:?}"), reason, "use arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, arn:aws:ssm:REGION:ACCOUNT:parameter/NAME or an SSM parameter name");
        }
        if environment.contains_key(name) {
            v.invalid(
                &["container", "secrets", name],
                format!("{name:?}"),
                "also set in container.environment",
                "set each variable in only one of environment and secrets",
            );
        }
    }
    let health_check = v.get(&["container", "health-check"]).map(|_| {
        let command = v.list(&["container", "health-check", "command"]);
        match command.first().map(String::as_str) {
            Some("CMD") | Some("CMD-SHELL") if command.len() >= 2 => {}
            _ => v.invalid(
                &["container", "health-check", "command"],
                format!("{command:?}"),
                "a health-check command starts with \"CMD\" or \"CMD-SHELL\" followed by the command",
                "write [\"CMD\", \"/app/hello\", \"--health\"] or [\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]",
            ),
        }
        let mut bounded = |key: &str, lo: i64, hi: i64| -> Option<u32> {
            let n = v.int(&["container", "health-check", key])?;
            if (lo..=hi).contains(&n) {
                Some(n as u32)
            } else {
                v.invalid(&["container", "health-check", key], n.to_string(), format!("must be {lo}–{hi}"), format!("use a value between {lo} and {hi}"));
                None
            }
        };
        HealthCheck {
            command,
            interval: bounded("interval", 5, 300),
            timeout: bounded("timeout", 2, 120),
            retries: bounded("retries", 1, 10),
            start_period: bounded("start-period", 0, 300),
        }
    });
    ContainerConfig {
        name,
        port,
        command: v.list(&["container", "command"]),
        environment,
        secrets,
        health_check,
    }
}

fn logs_config(v: &mut V<'_>, launch_type: LaunchType, service: &str) -> LogsConfig {
    let fargate = launch_type == LaunchType::Fargate;
    let (choices, context) = if fargate {
        (
            FARGATE_LOG_DRIVERS,
            Some("Fargate supports only awslogs, splunk and awsfirelens".to_string()),
        )
    } else {
        (EC2_LOG_DRIVERS, None)
    };
    let driver = match v.choice(&["logs", "driver"], choices, context).as_deref() {
        Some("splunk") => LogDriver::Splunk,
        Some("awsfirelens") => LogDriver::Awsfirelens,
        Some("fluentd") => LogDriver::Fluentd,
        Some("gelf") => LogDriver::Gelf,
        Some("json-file") => LogDriver::JsonFile,
        Some("journald") => LogDriver::Journald,
        Some("syslog") => LogDriver::Syslog,
        Some("logentries") => LogDriver::Logentries,
        _ => LogDriver::Awslogs,
    };
    if driver == LogDriver::Logentries {
        v.warn(&["logs", "driver"], "logentries is not in the ECS API's log driver list: tasks are placed only on container instances whose agent lists it in ECS_AVAILABLE_LOGGING_DRIVERS (instance attribute com.amazonaws.ecs.capability.logging-driver.logentries); set that in /etc/ecs/ecs.config on every instance");
    }
    let awslogs = driver == LogDriver::Awslogs;
    for key in ["group", "stream-prefix", "create-group"] {
        if !awslogs && v.get(&["logs", key]).is_some() {
            v.warn(
                &["logs", key],
                format!(
                    "only used by the awslogs driver; ignored with {}",
                    driver.as_str()
                ),
            );
        }
    }
    let group = awslogs.then(|| {
        v.str(&["logs", "group"])
            .unwrap_or_else(|| format!("/ecs/{service}"))
    });
    // The defaults (`/ecs/<service>`, `<service>`) are valid whenever the service is; an
    // invalid service was reported at `service`.
    if let Some(g) = group
        .as_ref()
        .filter(|_| v.get(&["logs", "group"]).is_some())
    {
        let ok = !g.is_empty()
            && g.len() <= 512
            && g.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
        if !ok {
            v.invalid(
                &["logs", "group"],
                format!("{g:?}"),
                "not a valid CloudWatch log group name",
                "use 1–512 letters, digits and . _ - / #",
            );
        }
    }
    let stream_prefix = awslogs.then(|| {
        v.str(&["logs", "stream-prefix"])
            .unwrap_or_else(|| service.to_string())
    });
    if let Some(p) = stream_prefix
        .as_ref()
        .filter(|_| v.get(&["logs", "stream-prefix"]).is_some())
    {
        if p.is_empty() && fargate {
            v.err(
                &["logs", "stream-prefix"],
                Problem::Required {
                    reason: "Fargate requires awslogs-stream-prefix".into(),
                    help: format!("write stream-prefix = \"{service}\""),
                },
            );
        } else if p.contains(':') || p.contains('*') {
            v.invalid(
                &["logs", "stream-prefix"],
                format!("{p:?}"),
                "log stream names cannot contain : or *",
                "use letters, digits, - _ / .",
            );
        }
    }
    let mode = v
        .choice(&["logs", "mode"], &["non-blocking", "blocking"], None)
        .unwrap_or_else(|| "non-blocking".into());
    let max_buffer_size = v.str(&["logs", "max-buffer-size"]);
    if driver == LogDriver::Awsfirelens {
        // The ECS agent replaces the container's Docker log options with its own for FireLens
        // and gives logs.options to the router's output plugin, so mode is not written.
        for key in ["mode", "max-buffer-size"] {
            if v.get(&["logs", key]).is_some() {
                v.warn(&["logs", key], "has no effect with the awsfirelens driver: ECS passes the container's output to the log router itself and gives logs.options to the router's output plugin, so cargo ecs does not write it; to bound the buffer in front of the router, set logs.options.log-driver-buffer-limit (a number of log lines)");
            }
        }
    }
    if let Some(size) = &max_buffer_size {
        let lower = size.to_ascii_lowercase();
        let digits = lower.trim_end_matches(['k', 'm', 'g', 'b']);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            v.invalid(
                &["logs", "max-buffer-size"],
                format!("{size:?}"),
                "not a buffer size",
                "write a size such as \"25m\" or \"4194304\"",
            );
        }
        if mode != "non-blocking" {
            v.invalid(
                &["logs", "max-buffer-size"],
                format!("{size:?}"),
                "max-buffer-size only applies with mode = \"non-blocking\"",
                "remove max-buffer-size or set mode = \"non-blocking\"",
            );
        }
    }
    let options = v.map(&["logs", "options"]);
    let secret_options = v.map(&["logs", "secret-options"]);
    for (name, reference) in &secret_options {
        if let Err(reason) = check_secret_ref(reference) {
            v.invalid(
                &["logs", "secret-options", name],
                format!("{reference:?}"),
                reason,
                "use a Secrets Manager or SSM ARN, or an SSM parameter name",
            );
        }
    }
    match driver {
        LogDriver::Splunk => {
            if let Some(token) = options.get("splunk-token") {
                let _ = token;
                v.invalid(
                    &["logs", "options", "splunk-token"],
                    "(hidden)",
                    "the Splunk token would be stored in plain text in the task definition",
                    "move it to logs.secret-options: splunk-token = \"arn:aws:secretsmanager:…\"",
                );
            } else if !secret_options.contains_key("splunk-token") {
                v.required_by(
                    &["logs", "secret-options"],
                    &["logs", "driver"],
                    "the splunk driver needs `splunk-token`, passed as a secret".into(),
                    "write secret-options = { splunk-token = \"arn:aws:secretsmanager:REGION:ACCOUNT:secret:splunk-token\" }".into(),
                );
            }
            if !options.contains_key("splunk-url") {
                v.required_by(
                    &["logs", "options"],
                    &["logs", "driver"],
                    "the splunk driver needs `splunk-url`".into(),
                    "write options = { splunk-url = \"https://splunk.example.com:8088\" }".into(),
                );
            }
        }
        LogDriver::Gelf if !options.contains_key("gelf-address") => {
            v.required_by(
                &["logs", "options"],
                &["logs", "driver"],
                "the gelf driver needs `gelf-address`".into(),
                "write options = { gelf-address = \"udp://graylog.example.com:12201\" }".into(),
            );
        }
        _ => {}
    }
    let retention_days = match v.int(&["logs", "retention-days"]) {
        Some(n) if RETENTION_DAYS.contains(&n) => Some(n as i32),
        Some(n) => {
            v.err(
                &["logs", "retention-days"],
                Problem::InvalidChoice {
                    value: n.to_string(),
                    choices: RETENTION_DAYS.iter().map(|d| d.to_string()).collect(),
                    context: Some("not a CloudWatch Logs retention period".into()),
                },
            );
            None
        }
        None => None,
    };
    let router = if driver == LogDriver::Awsfirelens {
        let kind = v
            .choice(&["logs", "router", "type"], &["fluentbit", "fluentd"], None)
            .unwrap_or_else(|| "fluentbit".into());
        Some(LogRouter {
            image: v
                .str(&["logs", "router", "image"])
                .unwrap_or_else(|| DEFAULT_ROUTER_IMAGE.into()),
            kind,
            options: v.map(&["logs", "router", "options"]),
        })
    } else {
        if v.get(&["logs", "router"]).is_some() {
            v.warn(
                &["logs", "router"],
                "only used by the awsfirelens driver; ignored",
            );
        }
        None
    };
    LogsConfig {
        driver,
        group,
        stream_prefix,
        create_group: v.bool(&["logs", "create-group"]).unwrap_or(false),
        mode,
        max_buffer_size,
        options,
        secret_options,
        retention_days,
        router,
    }
}

fn network_config(v: &mut V<'_>, mode: NetworkMode) -> NetworkConfig {
    let subnets = v.list(&["network", "subnets"]);
    for (i, s) in v.indexed(&["network", "subnets"]) {
        if !s.starts_with("subnet-") {
            v.invalid(
                &["network", "subnets", &i],
                format!("{s:?}"),
                "not a subnet id",
                "write subnet ids such as \"subnet-0abc1234\"",
            );
        }
    }
    let security_groups = v.list(&["network", "security-groups"]);
    for (i, s) in v.indexed(&["network", "security-groups"]) {
        if !s.starts_with("sg-") {
            v.invalid(
                &["network", "security-groups", &i],
                format!("{s:?}"),
                "not a security group id",
                "write security group ids such as \"sg-0abc1234\"",
            );
        }
    }
    if mode != NetworkMode::Awsvpc && v.get(&["network"]).is_some() {
        v.warn(
            &["network"],
            format!(
                "only used with network-mode awsvpc; ignored with {}",
                mode.as_str()
            ),
        );
    }
    NetworkConfig {
        subnets,
        security_groups,
        assign_public_ip: v.bool(&["network", "assign-public-ip"]).unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sources::{Inputs, Setting, resolve};
    use std::path::Path;

    fn ws(rest: &str) -> Workspace {
        let text = format!("[package]\nname = \"svc\"\nversion = \"0.1.0\"\n\n{rest}");
        Workspace::from_manifest_text(Path::new("/w/Cargo.toml"), &text)
    }

    const ROLE: &str = "execution-role = \"arn:aws:iam::123456789012:role/r\"\n";

    fn ok(rest: &str) -> crate::config::sources::Resolved {
        match resolve(&ws(rest), &Inputs::default()) {
            Ok(r) => r,
            Err(e) => panic!("unexpected errors: {:#?}", e.errors),
        }
    }

    /// The problems for `rest`, as (key path, message) pairs.
    fn errs(rest: &str) -> Vec<(String, String)> {
        match resolve(&ws(rest), &Inputs::default()) {
            Ok(r) => panic!("expected errors, got {:?}", r.config),
            Err(e) => e
                .errors
                .iter()
                .map(|e| (e.key_path(), e.to_string()))
                .collect(),
        }
    }

    fn has(errors: &[(String, String)], key: &str) -> bool {
        errors.iter().any(|(k, _)| k == key)
    }

    #[test]
    fn fargate_table_in_every_form() {
        for (cpu, mem) in [
            ("256", "512"),
            ("256", "2048"),
            ("\"0.25 vCPU\"", "\"1 GB\""),
            ("512", "4096"),
            ("\"1 vCPU\"", "\"8 GB\""),
            ("2048", "16384"),
            ("4096", "30720"),
            ("\"8 vCPU\"", "\"16 GB\""),
            ("8192", "61440"),
            ("16384", "32768"),
            ("\"16 vcpu\"", "\"120 GB\""),
        ] {
            let r = ok(&format!(
                "[package.metadata.ecs]\n{ROLE}cpu = {cpu}\nmemory = {mem}\n"
            ));
            assert!(r.config.cpu.is_some() && r.config.memory.is_some());
        }
        for (cpu, mem, key) in [
            ("256", "4096", "memory"),
            ("256", "1536", "memory"),
            ("512", "512", "memory"),
            ("8192", "18432", "memory"),
            ("16384", "36864", "memory"),
            ("300", "1024", "cpu"),
            ("\"0.3 vCPU\"", "1024", "cpu"),
            ("\"lots\"", "1024", "cpu"),
            ("256", "\"1 TB\"", "memory"),
        ] {
            let e = errs(&format!(
                "[package.metadata.ecs]\n{ROLE}cpu = {cpu}\nmemory = {mem}\n"
            ));
            assert!(
                has(&e, &format!("package.metadata.ecs.{key}")),
                "{cpu}/{mem}: {e:?}"
            );
        }
    }

    #[test]
    fn image_user_forms() {
        for good in [
            "65532:65532",
            "0",
            "root",
            "nonroot",
            "alice:staff",
            "1000:2000",
            "_svc-1",
        ] {
            let r = ok(&format!(
                "[package.metadata.ecs]\n{ROLE}[package.metadata.ecs.image]\nuser = \"{good}\"\n"
            ));
            assert_eq!(r.config.image.user, good);
        }
        for bad in [
            "",
            "root:wheel:x",
            "-1",
            "65532:65532 ",
            "Alice",
            "1000:",
            ":1000",
            "4294967295",
        ] {
            let e = errs(&format!(
                "[package.metadata.ecs]\n{ROLE}[package.metadata.ecs.image]\nuser = \"{bad}\"\n"
            ));
            assert!(has(&e, "package.metadata.ecs.image.user"), "{bad:?}: {e:?}");
        }
    }

    /// A package in a fresh temporary directory holding the files `files` (empty), with
    /// `rest` after `[package.metadata.ecs]`; the problems, if any.
    fn in_package_dir(
        name: &str,
        files: &[&str],
        rest: &str,
    ) -> (
        Workspace,
        Result<crate::config::Resolved, Vec<(String, String)>>,
    ) {
        let dir =
            std::env::temp_dir().join(format!("ecs-core-include-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for file in files {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let text = format!(
            "[package]\nname = \"svc\"\nversion = \"0.1.0\"\n\n[package.metadata.ecs]\n{ROLE}{rest}"
        );
        let w = Workspace::from_manifest_text(&dir.join("Cargo.toml"), &text);
        let result = resolve(&w, &Inputs::default()).map_err(|e| {
            e.errors
                .iter()
                .map(|e| (e.key_path(), e.to_string()))
                .collect()
        });
        let _ = std::fs::remove_dir_all(&dir);
        (w, result)
    }

    #[test]
    fn include_paths() {
        let elsewhere = std::env::temp_dir().join(format!("ecs-core-abs-{}", std::process::id()));
        std::fs::write(&elsewhere, "").unwrap();
        let (_, r) = in_package_dir(
            "ok",
            &["static/index.html"],
            &format!(
                "image.include = [{{ from = \"static\", to = \"/app/static\" }}, {{ from = {:?}, to = \"/x\" }}]\n",
                elsewhere.display().to_string()
            ),
        );
        let _ = std::fs::remove_file(&elsewhere);
        let r = r.unwrap_or_else(|e| panic!("{e:#?}"));
        assert_eq!(r.config.image.include.len(), 2);
        let (_, e) = in_package_dir(
            "bad",
            &["a", "b"],
            "image.include = [{ from = \"a\", to = \"app\" }, { from = \"b\", to = \"/app/../etc\" }, \
             { from = \"\", to = \"/x\" }]\n",
        );
        let e = e.unwrap_err();
        let key = |k: &str| format!("package.metadata.ecs.image.include.{k}");
        assert!(has(&e, &key("0.to")), "{e:?}");
        assert!(has(&e, &key("1.to")), "{e:?}");
        assert!(has(&e, &key("2.from")), "{e:?}");
        assert_eq!(e.len(), 3, "{e:?}");
        // Every missing source is named at its own key, relative or absolute.
        let (w, e) = in_package_dir(
            "missing",
            &["static/x"],
            "image.include = [{ from = \"nosuch\", to = \"/a\" }, { from = \"static\", to = \"/s\" }, \
             { from = \"/nonexistent/abs\", to = \"/b\" }]\n",
        );
        let e = e.unwrap_err();
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, [key("0.from"), key("2.from")], "{e:?}");
        assert_eq!(
            e[0].1,
            format!(
                "invalid value \"nosuch\" for `{}`: {} does not exist",
                key("0.from"),
                w.package_root.join("nosuch").display()
            )
        );
        assert!(
            e[1].1.ends_with(": /nonexistent/abs does not exist"),
            "{e:?}"
        );
        // A misspelt `from` is named twice: unknown `form`, missing `from`.
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}[package.metadata.ecs.image]\n\
             include = [{{ form = \"a\", to = \"/x\" }}]\n"
        ));
        assert!(has(&e, &key("0.form")), "{e:?}");
        assert!(has(&e, &key("0.from")), "{e:?}");
        // The same `to` twice: the second is named.
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}[package.metadata.ecs.image]\n\
             include = [{{ from = \"/etc/passwd\", to = \"/srv/x\" }}, \
             {{ from = \"/etc/passwd\", to = \"/srv/x/\" }}]\n"
        ));
        assert!(has(&e, &key("1.to")), "{e:?}");
        assert_eq!(e.len(), 1, "{e:?}");
    }

    #[test]
    fn fargate_defaults_are_the_smallest_size() {
        let r = ok(&format!("[package.metadata.ecs]\n{ROLE}"));
        assert_eq!(r.config.cpu, Some(Cpu(256)));
        assert_eq!(r.config.memory, Some(MemoryMib(512)));
        let r = ok(&format!("[package.metadata.ecs]\n{ROLE}cpu = 1024\n"));
        assert_eq!(r.config.memory, Some(MemoryMib(2048)));
    }

    #[test]
    fn ec2_cpu_range() {
        assert!(has(
            &errs("[package.metadata.ecs]\nlaunch-type = \"ec2\"\ncpu = 64\n"),
            "package.metadata.ecs.cpu"
        ));
        let r = ok("[package.metadata.ecs]\nlaunch-type = \"ec2\"\ncpu = 300\nmemory = 300\n");
        assert_eq!(r.config.cpu, Some(Cpu(300)));
    }

    #[test]
    fn network_modes_per_launch_type() {
        for mode in ["bridge", "host", "none"] {
            let e = errs(&format!(
                "[package.metadata.ecs]\n{ROLE}network-mode = \"{mode}\"\n"
            ));
            assert!(e[0].1.contains("Fargate supports only awsvpc"), "{e:?}");
        }
        for (mode, expect) in [
            ("bridge", NetworkMode::Bridge),
            ("host", NetworkMode::Host),
            ("awsvpc", NetworkMode::Awsvpc),
            ("none", NetworkMode::None),
        ] {
            let r = ok(&format!(
                "[package.metadata.ecs]\nlaunch-type = \"ec2\"\nnetwork-mode = \"{mode}\"\n"
            ));
            assert_eq!(r.config.network_mode, expect);
        }
        let r = ok("[package.metadata.ecs]\nlaunch-type = \"EC2\"\n");
        assert_eq!(r.config.network_mode, NetworkMode::Bridge);
        let e = errs(
            "[package.metadata.ecs]\nlaunch-type = \"ec2\"\nnetwork-mode = \"none\"\ncontainer.port = 80\n",
        );
        assert!(has(&e, "package.metadata.ecs.container.port"), "{e:?}");
        assert!(has(
            &errs("[package.metadata.ecs]\nlaunch-type = \"ec2\"\nnetwork-mode = \"overlay\"\n"),
            "package.metadata.ecs.network-mode"
        ));
    }

    #[test]
    fn log_drivers_per_launch_type() {
        for driver in [
            "fluentd",
            "gelf",
            "json-file",
            "journald",
            "syslog",
            "logentries",
        ] {
            let e = errs(&format!(
                "[package.metadata.ecs]\n{ROLE}logs.driver = \"{driver}\"\n"
            ));
            assert!(e[0].1.contains("awslogs, splunk and awsfirelens"), "{e:?}");
        }
        for driver in [
            "fluentd",
            "json-file",
            "journald",
            "syslog",
            "awsfirelens",
            "awslogs",
        ] {
            ok(&format!(
                "[package.metadata.ecs]\nlaunch-type = \"ec2\"\nlogs.driver = \"{driver}\"\n"
            ));
        }
        let r = ok("[package.metadata.ecs]\nlaunch-type = \"ec2\"\nlogs.driver = \"logentries\"\n");
        assert!(
            r.warnings
                .iter()
                .any(|w| w.message.contains("ECS_AVAILABLE_LOGGING_DRIVERS"))
        );
        assert!(has(
            &errs("[package.metadata.ecs]\nlaunch-type = \"ec2\"\nlogs.driver = \"gelf\"\n"),
            "package.metadata.ecs.logs.options"
        ));
        assert!(has(
            &errs("[package.metadata.ecs]\nlaunch-type = \"ec2\"\nlogs.driver = \"loki\"\n"),
            "package.metadata.ecs.logs.driver"
        ));
    }

    #[test]
    fn awslogs_options() {
        let r = ok(&format!(
            "[package.metadata.ecs]\n{ROLE}service = \"api\"\n"
        ));
        assert_eq!(r.config.logs.group.as_deref(), Some("/ecs/api"));
        assert_eq!(r.config.logs.stream_prefix.as_deref(), Some("api"));
        assert_eq!(r.config.logs.mode, "non-blocking");
        assert!(has(
            &errs(&format!(
                "[package.metadata.ecs]\n{ROLE}logs.stream-prefix = \"\"\n"
            )),
            "package.metadata.ecs.logs.stream-prefix"
        ));
        assert!(has(
            &errs(&format!(
                "[package.metadata.ecs]\n{ROLE}logs.mode = \"blocking\"\nlogs.max-buffer-size = \"1m\"\n"
            )),
            "package.metadata.ecs.logs.max-buffer-size"
        ));
        assert!(has(
            &errs(&format!(
                "[package.metadata.ecs]\n{ROLE}logs.mode = \"sometimes\"\n"
            )),
            "package.metadata.ecs.logs.mode"
        ));
        assert!(has(
            &errs(&format!(
                "[package.metadata.ecs]\n{ROLE}logs.group = \"bad group\"\n"
            )),
            "package.metadata.ecs.logs.group"
        ));
        // EC2 may leave the prefix empty.
        ok("[package.metadata.ecs]\nlaunch-type = \"ec2\"\nlogs.stream-prefix = \"\"\n");
    }

    #[test]
    fn splunk_token_must_be_a_secret() {
        let base = format!(
            "[package.metadata.ecs]\n{ROLE}[package.metadata.ecs.logs]\ndriver = \"splunk\"\n"
        );
        let e = errs(&format!(
            "{base}options = {{ splunk-url = \"https://s\", splunk-token = \"t\" }}\n"
        ));
        assert!(
            has(&e, "package.metadata.ecs.logs.options.splunk-token"),
            "{e:?}"
        );
        let e = errs(&format!(
            "{base}options = {{ splunk-url = \"https://s\" }}\n"
        ));
        assert!(has(&e, "package.metadata.ecs.logs.secret-options"), "{e:?}");
        ok(&format!(
            "{base}options = {{ splunk-url = \"https://s\" }}\nsecret-options = {{ splunk-token = \"/splunk/token\" }}\n"
        ));
    }

    #[test]
    fn secrets_references() {
        for good in [
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::",
            "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db",
            "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/x",
            "/app/db",
            "plain_name.v2",
        ] {
            assert!(check_secret_ref(good).is_ok(), "{good}");
        }
        for bad in [
            "arn:aws:s3:::bucket/key",
            "arn:aws:secretsmanager:eu-west-1:1234:secret:db",
            "arn:aws:ssm:eu-west-1:123456789012:document/x",
            "app/db",
            "has space",
            "",
        ] {
            assert!(check_secret_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn execution_role_requirement() {
        let e = errs("[package.metadata.ecs]\n");
        assert!(
            e.iter()
                .any(|(k, m)| k == "package.metadata.ecs.execution-role" && m.contains("ECR")),
            "{e:?}"
        );
        ok("[package.metadata.ecs]\nlaunch-type = \"ec2\"\n");
        let e = errs(
            "[package.metadata.ecs]\nlaunch-type = \"ec2\"\ncontainer.secrets = { A = \"/a\" }\n",
        );
        assert!(
            e.iter()
                .any(|(k, m)| k == "package.metadata.ecs.execution-role" && m.contains("secrets")),
            "{e:?}"
        );
        assert!(has(
            &errs("[package.metadata.ecs]\nexecution-role = \"ecsTaskExecutionRole\"\n"),
            "package.metadata.ecs.execution-role"
        ));
    }

    #[test]
    fn ports_and_health_checks() {
        for port in ["0", "65536", "-1"] {
            assert!(has(
                &errs(&format!(
                    "[package.metadata.ecs]\n{ROLE}container.port = {port}\n"
                )),
                "package.metadata.ecs.container.port"
            ));
        }
        ok(&format!(
            "[package.metadata.ecs]\n{ROLE}container.port = 65535\n"
        ));
        let hc = |cmd: &str| {
            format!(
                "[package.metadata.ecs]\n{ROLE}container.health-check = {{ command = {cmd} }}\n"
            )
        };
        ok(&hc("[\"CMD\", \"/app\", \"--health\"]"));
        ok(&hc("[\"CMD-SHELL\", \"curl -f localhost || exit 1\"]"));
        for bad in ["[\"curl\", \"-f\"]", "[\"CMD\"]", "[]"] {
            assert!(
                has(
                    &errs(&hc(bad)),
                    "package.metadata.ecs.container.health-check.command"
                ),
                "{bad}"
            );
        }
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}container.health-check = {{ command = [\"CMD\", \"x\"], interval = 1, timeout = 500, retries = 0, start-period = 301 }}\n"
        ));
        assert_eq!(e.len(), 4, "{e:?}");
    }

    #[test]
    fn credential_looking_environment_warns() {
        let r = ok(&format!(
            "[package.metadata.ecs]\n{ROLE}container.environment = {{ DB_PASSWORD = \"x\", Api_Key = \"y\", RUST_LOG = \"info\" }}\n"
        ));
        let keys: Vec<&str> = r.warnings.iter().map(|w| w.key_path.as_str()).collect();
        assert_eq!(
            keys,
            [
                "package.metadata.ecs.container.environment.Api_Key",
                "package.metadata.ecs.container.environment.DB_PASSWORD"
            ]
        );
        assert!(r.warnings[0].message.contains("container.secrets"));
    }

    #[test]
    fn unknown_keys_suggest_at_every_level() {
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}servce = 1\nlogs.drivr = \"awslogs\"\ncontainer.health-check.intervl = 3\n"
        ));
        let texts: Vec<String> = e.iter().map(|(_, m)| m.clone()).collect();
        assert!(has(&e, "package.metadata.ecs.servce"), "{texts:?}");
        assert!(has(&e, "package.metadata.ecs.logs.drivr"), "{texts:?}");
        assert!(
            has(&e, "package.metadata.ecs.container.health-check.intervl"),
            "{texts:?}"
        );
        assert_eq!(
            closest("servce", TOP_KEYS.iter().map(|(k, _)| *k)).as_deref(),
            Some("service")
        );
        assert_eq!(
            closest("drivr", LOGS_KEYS.iter().map(|(k, _)| *k)).as_deref(),
            Some("driver")
        );
        assert_eq!(closest("zzzz", TOP_KEYS.iter().map(|(k, _)| *k)), None);
    }

    #[test]
    fn at_most_ten_containers_and_payload_limit_are_checked_after_overrides() {
        let many: Vec<String> = (0..10)
            .map(|i| format!("{{ name = \"side{i}\", image = \"busybox\" }}"))
            .collect();
        let rest = format!(
            "[package.metadata.ecs]\n{ROLE}overrides.containerDefinitions = [{}]\n",
            many.join(", ")
        );
        let r = ok(&rest);
        let err = crate::taskdef::render(&r.config, "img", "us-east-1").unwrap_err();
        assert!(err.to_string().contains("1 problem"), "{err}");
        let big = "x".repeat(70_000);
        let rest = format!(
            "[package.metadata.ecs]\n{ROLE}container.environment = {{ BIG = \"{big}\" }}\n"
        );
        let r = ok(&rest);
        match crate::taskdef::render(&r.config, "img", "us-east-1") {
            Err(crate::error::TaskDefError::Invalid { problems }) => {
                assert!(problems[0].message.contains("65,536"), "{problems:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn base_images_follow_the_reference_grammar() {
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        for good in [
            "debian".to_string(),
            "debian:bookworm-slim".into(),
            "library/debian:12".into(),
            "public.ecr.aws/docker/library/alpine:3.20".into(),
            "localhost:5000/x:y".into(),
            "localhost/x".into(),
            "127.0.0.1:5000/team/base".into(),
            "[::1]:5000/base:1".into(),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/base:multi".into(),
            "gcr.io/distroless/static-debian12:nonroot".into(),
            "a__b/c--d/e.f_g:V1.0_x-y".into(),
            format!("debian@{digest}"),
            format!("ghcr.io/o/r:1@{digest}"),
        ] {
            assert_eq!(base_problem(&good), None, "{good}");
        }
        for bad in [
            "",
            "UPPER/img",
            "Debian",
            "debian@sha256:abc",
            "debian@md5:0123",
            "localhost:5000/x:y:z",
            "http://foo/bar",
            "foo:",
            "foo:-x",
            "a//b",
            "-a/b",
            "a___b",
            "a.-b",
            "reg.example.com:port/x",
            "bad_host.com/x",
            "my image",
        ] {
            assert!(base_problem(bad).is_some(), "{bad:?}");
        }
        assert!(base_problem(&format!("x:{}", "t".repeat(129))).is_some());
        for scratch in [
            "SCRATCH",
            "scratch:latest",
            "Scratch",
            &format!("scratch@{digest}"),
        ] {
            let (reason, help) = base_problem(scratch).unwrap();
            assert!(
                reason.contains("`scratch` is not an image"),
                "{scratch}: {reason}"
            );
            assert_eq!(help, "write base = \"scratch\"");
        }
        // At config time, with the key path and an example.
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}image.base = \"http://foo/bar\"\n"
        ));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, "package.metadata.ecs.image.base");
        assert!(e[0].1.contains("no scheme"), "{e:?}");
        let err = resolve(
            &ws(&format!(
                "[package.metadata.ecs]\n{ROLE}image.base = \"UPPER/img\"\n"
            )),
            &Inputs::default(),
        )
        .unwrap_err();
        let help = miette::Diagnostic::help(&err.errors[0])
            .unwrap()
            .to_string();
        assert!(help.contains("debian:bookworm-slim"), "{help}");
        assert!(err.errors[0].to_string().contains("must be lowercase"));
    }

    #[test]
    fn every_element_of_a_list_is_checked_at_its_index() {
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}image.tags = [\"ok\", \"not ok\", 3]\nnetwork.subnets = [true, \"x\"]\n"
        ));
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "package.metadata.ecs.image.tags.1",
                "package.metadata.ecs.image.tags.2",
                "package.metadata.ecs.network.subnets.0",
                "package.metadata.ecs.network.subnets.1"
            ],
            "{e:#?}"
        );
        assert!(e[0].1.contains("\"not ok\""), "{e:?}");
        assert_eq!(
            e[1].1,
            "invalid type for `package.metadata.ecs.image.tags.2`: expected a string, found number `3`"
        );
        // An include entry missing a key does not hide the problems of the others.
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}image.include = [{{ from = \"static\" }}, {{ from = \"/abs\", to = \"x/../y\" }}, 5]\n"
        ));
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        for key in ["0.to", "1.from", "1.to", "2"] {
            let key = format!("package.metadata.ecs.image.include.{key}");
            assert!(keys.contains(&key.as_str()), "{key} in {e:#?}");
        }
        assert_eq!(e.len(), 4, "{e:#?}");
    }

    #[test]
    fn a_repeated_tag_is_named_at_its_second_place() {
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}image.tags = [\"a\", \"b\", \"a\", \"b\", \"c\"]\n"
        ));
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "package.metadata.ecs.image.tags.2",
                "package.metadata.ecs.image.tags.3"
            ],
            "{e:?}"
        );
        assert_eq!(
            e[0].1,
            "invalid value \"a\" for `package.metadata.ecs.image.tags.2`: the tag \"a\" is already image.tags.0"
        );
    }

    #[test]
    fn bins_choose_the_image_binary() {
        let mut w = ws(&format!("[package.metadata.ecs]\n{ROLE}"));
        w.bins = vec!["a".into(), "b".into()];
        let e = resolve(&w, &Inputs::default()).unwrap_err();
        assert!(e.errors[0].to_string().contains("several binary targets"));
        // render, diff… have no --bin: the help says which commands do.
        let help = miette::Diagnostic::help(&e.errors[0]).unwrap().to_string();
        assert_eq!(
            help,
            "set image.bin to one of a, b (or pass `--bin NAME` to build and deploy)"
        );
        let mut w = ws(&format!(
            "[package.metadata.ecs]\n{ROLE}image.bin = \"b\"\n"
        ));
        w.bins = vec!["a".into(), "b".into()];
        assert_eq!(
            resolve(&w, &Inputs::default()).unwrap().config.image.bin,
            "b"
        );
    }

    #[test]
    fn settings_paths_have_types() {
        let path = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        assert!(matches!(ty_at(&path("cpu")), Some(Ty::IntOrStr)));
        assert!(matches!(ty_at(&path("logs.driver")), Some(Ty::Str)));
        assert!(matches!(
            ty_at(&path("container.environment.RUST_LOG")),
            Some(Ty::Str)
        ));
        assert!(matches!(
            ty_at(&path("overrides.ephemeralStorage.sizeInGiB")),
            Some(Ty::Any)
        ));
        assert!(ty_at(&path("servce")).is_none());
        assert!(ty_at(&path("cpu.x")).is_none());
        let s = Setting::parse_set("container.port=8081").unwrap();
        let r = resolve(
            &ws(&format!("[package.metadata.ecs]\n{ROLE}")),
            &Inputs {
                settings: vec![s],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.config.container.port, Some(8081));
    }

    #[test]
    fn repository_names_follow_the_ecr_pattern() {
        for good in ["ab", "a1", "my-svc", "my_svc.v2", "team/svc", "a/b/c-d"] {
            assert!(is_repository_name(good), "{good}");
        }
        for bad in [
            "a", "", "MySvc", "-ab", "ab-", "a__b", "a-_b", "a//b", "/ab", "ab/", "a b", "é1",
        ] {
            assert!(!is_repository_name(bad), "{bad}");
        }
        assert!(!is_repository_name(&"a".repeat(257)));
    }

    #[test]
    fn defaults_derived_from_the_package_name_are_valid() {
        for (package, repository) in [
            ("MySvc", "mysvc"),
            ("a", "a-app"),
            ("A", "a-app"),
            ("my__svc", "my_svc"),
            ("_svc-", "svc"),
            ("x-_-y", "x-y"),
            ("svc", "svc"),
        ] {
            assert_eq!(default_repository(package), repository, "{package}");
            let text = format!(
                "[package]\nname = \"{package}\"\nversion = \"0.1.0\"\n\n[package.metadata.ecs]\n{ROLE}"
            );
            let w = Workspace::from_manifest_text(Path::new("/w/Cargo.toml"), &text);
            let r = resolve(&w, &Inputs::default())
                .unwrap_or_else(|e| panic!("{package}: {:#?}", e.errors));
            assert_eq!(r.config.image.repository, repository);
            // Names ECS takes as written keep the package name.
            assert_eq!(r.config.service, package);
            assert_eq!(r.config.family, package);
            assert_eq!(r.config.container.name, package);
            assert_eq!(r.config.logs.group.unwrap(), format!("/ecs/{package}"));
        }
        for name in ["a", "MySvc", "x.y", "ünï", "a b", ""] {
            let repo = default_repository(name);
            assert!(is_repository_name(&repo), "{name} -> {repo}");
            let ecs = default_ecs_name(name);
            assert!(is_ecs_name(&ecs), "{name} -> {ecs}");
        }
        assert!(is_repository_name(&default_repository(&"Ab".repeat(200))));
    }

    #[test]
    fn an_invalid_written_service_is_reported_once() {
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}service = \"bad name!\"\n"
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].0, "package.metadata.ecs.service");
        assert!(
            e[0].1.contains(
                "family, logs.group (/ecs/<service>) and logs.stream-prefix default to it"
            ),
            "{e:?}"
        );
        // Keys written explicitly are checked on their own and not named as consequences.
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}service = \"bad name!\"\nfamily = \"fam\"\nlogs.group = \"/g\"\n"
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(
            e[0].1.ends_with("and logs.stream-prefix defaults to it"),
            "{e:?}"
        );
        let e = errs(&format!(
            "[package.metadata.ecs]\n{ROLE}service = \"bad name!\"\nfamily = \"bad family\"\n"
        ));
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "package.metadata.ecs.service",
                "package.metadata.ecs.family"
            ]
        );
    }

    #[test]
    fn an_execution_role_in_overrides_is_enough() {
        let r = ok(
            "[package.metadata.ecs]\noverrides.executionRoleArn = \"arn:aws:iam::123456789012:role/o\"\n",
        );
        let td = crate::taskdef::render(&r.config, "img", "us-east-1").unwrap();
        assert_eq!(td["executionRoleArn"], "arn:aws:iam::123456789012:role/o");
    }

    /// A task-definition file next to a manifest in a fresh temporary directory.
    fn with_task_definition(name: &str, file: &str, rest: &str) -> Workspace {
        let dir =
            std::env::temp_dir().join(format!("ecs-core-validate-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("taskdef.json"), file).unwrap();
        let text = format!(
            "[package]\nname = \"svc\"\nversion = \"0.1.0\"\n\n[package.metadata.ecs]\ntask-definition = \"taskdef.json\"\n{rest}"
        );
        Workspace::from_manifest_text(&dir.join("Cargo.toml"), &text)
    }

    const FARGATE_FILE: &str = r#"{"family": "x", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "svc", "image": "busybox"}]}"#;

    #[test]
    fn a_task_definition_file_gets_the_task_level_keys_that_are_set() {
        let w = with_task_definition(
            "applied",
            FARGATE_FILE,
            &format!("{ROLE}task-role = \"app-role\"\narchitecture = \"arm64\"\n"),
        );
        let inputs = Inputs {
            settings: vec![
                Setting::parse_set("cpu=1024").unwrap(),
                Setting::parse_set("memory=2048").unwrap(),
            ],
            ..Default::default()
        };
        let r = resolve(&w, &inputs).unwrap_or_else(|e| panic!("{:#?}", e.errors));
        let _ = std::fs::remove_dir_all(&w.package_root);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let td = crate::taskdef::render(&r.config, "img", "us-east-1").unwrap();
        assert_eq!(td["cpu"], "1024");
        assert_eq!(td["memory"], "2048");
        assert_eq!(td["executionRoleArn"], "arn:aws:iam::123456789012:role/r");
        assert_eq!(td["taskRoleArn"], "app-role");
        assert_eq!(td["runtimePlatform"]["cpuArchitecture"], "ARM64");
        assert_eq!(td["containerDefinitions"][0]["image"], "img");
        // Keys not set leave the file alone (no default cpu/memory written over it).
        let w = with_task_definition("untouched", FARGATE_FILE, ROLE);
        let r = resolve(&w, &Inputs::default()).unwrap();
        let _ = std::fs::remove_dir_all(&w.package_root);
        let td = crate::taskdef::render(&r.config, "img", "us-east-1").unwrap();
        assert_eq!(
            (td["cpu"].as_str(), td["memory"].as_str()),
            (Some("256"), Some("512"))
        );
        assert!(td.get("runtimePlatform").is_none() && td.get("taskRoleArn").is_none());
    }

    #[test]
    fn a_task_definition_file_still_needs_an_execution_role_on_fargate() {
        let w = with_task_definition("norole", FARGATE_FILE, "");
        let e = resolve(&w, &Inputs::default()).unwrap_err();
        let _ = std::fs::remove_dir_all(&w.package_root);
        assert_eq!(e.errors.len(), 1, "{:#?}", e.errors);
        assert_eq!(
            e.errors[0].key_path(),
            "package.metadata.ecs.execution-role"
        );
        assert!(
            e.errors[0].to_string().contains("no executionRoleArn"),
            "{}",
            e.errors[0]
        );
        // The file's own role is enough.
        let with_role = FARGATE_FILE.replacen(
            "{\"family\"",
            "{\"executionRoleArn\": \"arn:aws:iam::123456789012:role/f\", \"family\"",
            1,
        );
        let w = with_task_definition("filerole", &with_role, "");
        let r = resolve(&w, &Inputs::default()).unwrap_or_else(|e| panic!("{:#?}", e.errors));
        let _ = std::fs::remove_dir_all(&w.package_root);
        let td = crate::taskdef::render(&r.config, "img", "us-east-1").unwrap();
        assert_eq!(td["executionRoleArn"], "arn:aws:iam::123456789012:role/f");
        // EC2 without secrets needs none.
        let ec2 = r#"{"family": "x", "containerDefinitions": [{"name": "svc", "image": "b", "memory": 128}]}"#;
        let w = with_task_definition("ec2", ec2, "launch-type = \"ec2\"\n");
        resolve(&w, &Inputs::default()).unwrap_or_else(|e| panic!("{:#?}", e.errors));
        let _ = std::fs::remove_dir_all(&w.package_root);
    }

    #[test]
    fn container_and_log_keys_are_warned_about_with_a_task_definition_file() {
        let w = with_task_definition(
            "warned",
            FARGATE_FILE,
            &format!(
                "{ROLE}container.port = 8080\ncontainer.environment = {{ A = \"1\" }}\nlogs.group = \"/g\"\ncontainer.name = \"svc\"\n"
            ),
        );
        let r = resolve(&w, &Inputs::default()).unwrap_or_else(|e| panic!("{:#?}", e.errors));
        let _ = std::fs::remove_dir_all(&w.package_root);
        let keys: Vec<&str> = r.warnings.iter().map(|w| w.key_path.as_str()).collect();
        assert_eq!(
            keys,
            [
                "package.metadata.ecs.container.port",
                "package.metadata.ecs.container.environment",
                "package.metadata.ecs.logs.group"
            ]
        );
        assert!(
            r.warnings[0].message.contains("\"taskdef.json\""),
            "{}",
            r.warnings[0]
        );
    }

    #[test]
    fn log_keys_that_have_no_effect_are_warned_about() {
        let r = ok(&format!(
            "[package.metadata.ecs]\n{ROLE}logs.driver = \"awsfirelens\"\nlogs.mode = \"blocking\"\n"
        ));
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert_eq!(r.warnings[0].key_path, "package.metadata.ecs.logs.mode");
        assert!(r.warnings[0].message.contains("awsfirelens"));
        assert!(r.warnings[0].message.contains("log-driver-buffer-limit"));
        let td = crate::taskdef::render(&r.config, "img", "us-east-1").unwrap();
        assert!(
            td["containerDefinitions"][0]["logConfiguration"]["options"]
                .get("mode")
                .is_none()
        );
        // Written with every other driver.
        let r = ok(&format!(
            "[package.metadata.ecs]\n{ROLE}logs.mode = \"blocking\"\n"
        ));
        assert!(r.warnings.is_empty());
        let td = crate::taskdef::render(&r.config, "img", "us-east-1").unwrap();
        assert_eq!(
            td["containerDefinitions"][0]["logConfiguration"]["options"]["mode"],
            "blocking"
        );
        // awslogs-only keys with another driver.
        let r = ok(
            "[package.metadata.ecs]\nlaunch-type = \"ec2\"\n[package.metadata.ecs.logs]\ndriver = \"json-file\"\ngroup = \"/g\"\nstream-prefix = \"p\"\ncreate-group = true\n",
        );
        let keys: Vec<&str> = r.warnings.iter().map(|w| w.key_path.as_str()).collect();
        assert_eq!(
            keys,
            [
                "package.metadata.ecs.logs.group",
                "package.metadata.ecs.logs.stream-prefix",
                "package.metadata.ecs.logs.create-group"
            ]
        );
        assert!(
            r.warnings
                .iter()
                .all(|w| w.message.contains("only used by the awslogs driver"))
        );
    }
}
