//! The layering of configuration sources, lowest precedence first: built-in defaults <
//! `[workspace.metadata.ecs]` < `[package.metadata.ecs]` < `[…ecs.env.NAME]` (workspace, then
//! package) < `CARGO_ECS_*` variables < command-line settings. Each layer is checked against
//! the schema on its own (unknown keys, types), then deep-merged; every leaf remembers which
//! layer set it, so errors name the right key path and Cargo.toml line.
//!
//! Pure: environment variables and flags are passed in ([`Inputs`]), never read here. The one
//! file involved, the user's `task-definition`, is read through [`Workspace::read_file`] (the
//! shell side) by [`resolve`], so that rendering stays pure and a bad file is reported with
//! the other configuration problems.
//!
//! `CARGO_ECS_*` mapping: a key path's variable is `CARGO_ECS_` + the path upper-cased with
//! `.` and `-` turned into `_` (`cpu` → `CARGO_ECS_CPU`, `logs.driver` →
//! `CARGO_ECS_LOGS_DRIVER`, `image.ca-certificates` → `CARGO_ECS_IMAGE_CA_CERTIFICATES`).
//! Lists and tables take a TOML value (`CARGO_ECS_IMAGE_TAGS='["a", "b"]'`). The variables in
//! [`RESERVED_VARS`] (`CARGO_ECS_ENV`, `CARGO_ECS_CACHE_DIR`…) are not keys.

use std::collections::BTreeMap;
use std::path::Path;

use miette::{NamedSource, SourceSpan};
use serde_json::{Map, Value};

use super::Config;
use super::validate::{self, TOP_KEYS, Ty};
use crate::error::{ConfigError, ConfigErrors, ConfigWarning, Origin, Problem};
use crate::workspace::Workspace;

/// `CARGO_ECS_*` variables that are not keys, so they are neither layered nor warned about:
/// the command-line options `--env` and `--registry-endpoint`; the base image cache
/// (`CARGO_ECS_CACHE_DIR`, docs/image.md); the development rig's state directory
/// (`CARGO_ECS_RIG_DIR`, README); and the version and download URL the generated GitHub
/// workflow installs cargo-ecs with (`CARGO_ECS_VERSION`, `CARGO_ECS_RELEASES`).
pub const RESERVED_VARS: &[&str] = &[
    "CARGO_ECS_ENV",
    "CARGO_ECS_REGISTRY_ENDPOINT",
    "CARGO_ECS_CACHE_DIR",
    "CARGO_ECS_RIG_DIR",
    "CARGO_ECS_VERSION",
    "CARGO_ECS_RELEASES",
];

/// Everything besides the manifests that decides the configuration.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `--env NAME`.
    pub env_name: Option<String>,
    /// The process's `CARGO_ECS_*` variables (others are ignored), as (name, value).
    pub vars: Vec<(String, String)>,
    /// Command-line settings as (key path, raw value): `("cluster", "prod")` from
    /// `--cluster prod`, `("logs.driver", "splunk")` from `--set logs.driver=splunk`.
    pub settings: Vec<Setting>,
}

/// One command-line setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Dotted key path inside the ecs table.
    pub key: String,
    /// The value as typed (parsed as TOML where the key takes a number, list or table).
    pub value: String,
    /// How the user spelled it (`--cluster`, `--set`), for error messages.
    pub flag: String,
}

impl Setting {
    /// A setting from a dedicated flag such as `--cluster`.
    pub fn flag(flag: &str, key: &str, value: impl Into<String>) -> Setting {
        Setting {
            key: key.into(),
            value: value.into(),
            flag: flag.into(),
        }
    }

    /// Parses `--set key=value`.
    pub fn parse_set(arg: &str) -> Option<Setting> {
        let (key, value) = arg.split_once('=')?;
        let key = key.trim();
        if key.is_empty() {
            return None;
        }
        Some(Setting {
            key: key.to_string(),
            value: value.to_string(),
            flag: "--set".into(),
        })
    }
}

/// A resolved configuration and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The valid configuration.
    pub config: Config,
    /// Allowed but suspicious settings.
    pub warnings: Vec<ConfigWarning>,
    /// Where each set leaf came from (dotted key path → origin); defaults are absent.
    pub provenance: BTreeMap<String, Origin>,
}

/// The merged, schema-checked but not yet validated values.
#[derive(Debug, Clone, Default)]
pub struct Layered {
    /// The merged ecs table.
    pub value: Map<String, Value>,
    /// Origin per path (dotted keys joined by `\u{1f}` internally: see [`path_key`]).
    pub origins: BTreeMap<Vec<String>, Origin>,
    /// Problems found while layering.
    pub errors: Vec<ConfigError>,
    /// Warnings found while layering.
    pub warnings: Vec<ConfigWarning>,
}

impl Layered {
    /// The origin of the value at `path` (the deepest recorded prefix), `Default` if unset.
    pub fn origin(&self, path: &[&str]) -> Origin {
        let mut path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        loop {
            if let Some(origin) = self.origins.get(&path) {
                return origin.clone();
            }
            if path.pop().is_none() {
                return Origin::Default;
            }
        }
    }

    /// The origin of the value (or table) at exactly `path`, if some source wrote it.
    pub fn exact_origin(&self, path: &[&str]) -> Option<Origin> {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.origins.get(&path).cloned()
    }
}

/// Joins a path for display (`container.health-check.command`).
pub fn path_key(path: &[String]) -> String {
    path.join(".")
}

/// Resolves the configuration of the workspace's chosen package: layers, validates, and
/// attaches Cargo.toml spans to every problem. All problems are returned together.
pub fn resolve(ws: &Workspace, inputs: &Inputs) -> Result<Resolved, ConfigErrors> {
    let mut layered = layer(ws, inputs);
    let template = load_template(ws, &mut layered);
    let outcome = validate::validate(ws, &layered, template);
    let mut errors = std::mem::take(&mut layered.errors);
    let mut warnings = std::mem::take(&mut layered.warnings);
    warnings.extend(outcome.warnings);
    errors.extend(outcome.errors);
    if errors.is_empty()
        && let Some(config) = outcome.config
    {
        let provenance = layered
            .origins
            .iter()
            .map(|(k, v)| (path_key(k), v.clone()))
            .collect();
        return Ok(Resolved {
            config,
            warnings,
            provenance,
        });
    }
    dedupe(&mut errors);
    for error in &mut errors {
        attach_span(ws, error);
    }
    // Report in reading order: workspace file, then package file, each top to bottom;
    // variables and flags last (the sort is stable, so their order is kept).
    errors.sort_by_key(|e| {
        let file = match &e.origin {
            Origin::Workspace
            | Origin::Env {
                workspace: true, ..
            } => 0,
            Origin::Default | Origin::Package | Origin::Env { .. } => 1,
            Origin::Var(_) | Origin::Flag(_) => 2,
        };
        (file, e.span.map_or(usize::MAX, |s| s.offset()))
    });
    Err(ConfigErrors {
        package: ws.package.clone(),
        errors,
    })
}

fn dedupe(errors: &mut Vec<ConfigError>) {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert(e.to_string()));
}

/// Reads and parses the `task-definition` file, if one is configured.
fn load_template(ws: &Workspace, layered: &mut Layered) -> Option<Value> {
    let rel = layered.value.get("task-definition")?.as_str()?.to_string();
    let origin = layered.origin(&["task-definition"]);
    let base = match origin {
        Origin::Workspace
        | Origin::Env {
            workspace: true, ..
        } => ws.root.clone(),
        _ => ws.package_root.clone(),
    };
    let path = base.join(&rel);
    let fail = |reason: String| {
        ConfigError::new(
            "task-definition",
            origin.clone(),
            Problem::InvalidValue {
                value: format!("{rel:?}"),
                reason,
                help: "point it at a JSON task definition (register input or describe-task-definition output), relative to the package's Cargo.toml".into(),
            },
        )
    };
    let text = match ws.read_file(&path) {
        Ok(text) => text,
        Err(e) => {
            layered
                .errors
                .push(fail(format!("cannot read {}: {e}", path.display())));
            return None;
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v) if v.is_object() => Some(v),
        Ok(_) => {
            layered.errors.push(fail(format!(
                "{} does not hold a JSON object",
                path.display()
            )));
            None
        }
        Err(e) => {
            layered
                .errors
                .push(fail(format!("{} is not valid JSON: {e}", path.display())));
            None
        }
    }
}

/// Builds the merged table from every source, checking each against the schema.
pub fn layer(ws: &Workspace, inputs: &Inputs) -> Layered {
    let mut out = Layered::default();
    let ws_table = table_of(&ws.workspace_metadata, Origin::Workspace, &mut out.errors);
    let pkg_table = table_of(&ws.metadata, Origin::Package, &mut out.errors);

    let mut layers: Vec<(Origin, Map<String, Value>)> = Vec::new();
    let mut envs: Vec<(Origin, Value)> = Vec::new();
    for (origin, mut table) in [(Origin::Workspace, ws_table), (Origin::Package, pkg_table)] {
        if let Some(env) = table.remove("env") {
            envs.push((origin.clone(), env));
        }
        layers.push((origin, table));
    }

    // Named environments: every one is checked, the chosen one is layered.
    let mut known_envs: Vec<String> = Vec::new();
    let mut env_layers: Vec<(Origin, Map<String, Value>)> = Vec::new();
    for (origin, env) in &envs {
        let workspace = matches!(origin, Origin::Workspace);
        match env {
            Value::Object(map) => {
                for (name, table) in map {
                    known_envs.push(name.clone());
                    let env_origin = Origin::Env {
                        name: name.clone(),
                        workspace,
                    };
                    match table {
                        Value::Object(t) => {
                            if inputs.env_name.as_deref() == Some(name.as_str()) {
                                env_layers.push((env_origin, t.clone()));
                            } else {
                                let mut probe = t.clone();
                                check_table(
                                    &mut probe,
                                    TOP_KEYS,
                                    &mut Vec::new(),
                                    &env_origin,
                                    &mut out.errors,
                                );
                            }
                        }
                        other => out.errors.push(ConfigError::new(
                            "",
                            env_origin,
                            Problem::WrongType {
                                expected: "a table of keys".into(),
                                found: describe(other),
                            },
                        )),
                    }
                }
            }
            other => out.errors.push(ConfigError::new(
                "env",
                origin.clone(),
                Problem::WrongType {
                    expected: "a table of named environments".into(),
                    found: describe(other),
                },
            )),
        }
    }
    if let Some(name) = &inputs.env_name
        && !known_envs.iter().any(|n| n == name)
    {
        known_envs.sort();
        known_envs.dedup();
        let choices = if known_envs.is_empty() {
            vec!["(none defined: add [package.metadata.ecs.env.NAME])".to_string()]
        } else {
            known_envs.clone()
        };
        out.errors.push(ConfigError::new(
            "env",
            Origin::Flag("--env".into()),
            Problem::InvalidChoice {
                value: format!("{name:?}"),
                choices,
                context: Some("no such named environment".into()),
            },
        ));
    }
    layers.extend(env_layers);
    layers.extend(var_layers(&inputs.vars, &mut out.errors, &mut out.warnings));
    for setting in &inputs.settings {
        let origin = Origin::Flag(setting.flag.clone());
        let path: Vec<String> = setting.key.split('.').map(str::to_string).collect();
        match validate::ty_at(&path) {
            Some(ty) => match coerce(&setting.value, ty) {
                Ok(v) => {
                    let mut table = Map::new();
                    insert_path(&mut table, &path, v);
                    layers.push((origin, table));
                }
                Err(found) => out.errors.push(ConfigError::new(
                    setting.key.clone(),
                    origin,
                    Problem::WrongType {
                        expected: ty.expected().into(),
                        found,
                    },
                )),
            },
            None => out.errors.push(unknown_path(&path, origin)),
        }
    }

    for (origin, mut table) in layers {
        check_table(
            &mut table,
            TOP_KEYS,
            &mut Vec::new(),
            &origin,
            &mut out.errors,
        );
        let mut path = Vec::new();
        merge(&mut out.value, table, &mut path, &origin, &mut out.origins);
    }
    out
}

fn table_of(value: &Value, origin: Origin, errors: &mut Vec<ConfigError>) -> Map<String, Value> {
    match value {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        other => {
            errors.push(ConfigError::new(
                "",
                origin,
                Problem::WrongType {
                    expected: "a table (`[package.metadata.ecs]`)".into(),
                    found: describe(other),
                },
            ));
            Map::new()
        }
    }
}

/// One layer per `CARGO_ECS_*` variable that names a key; unknown names are warned about.
fn var_layers(
    vars: &[(String, String)],
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigWarning>,
) -> Vec<(Origin, Map<String, Value>)> {
    let leaves = validate::leaf_paths();
    let mut sorted: Vec<&(String, String)> = vars.iter().collect();
    sorted.sort();
    let mut layers = Vec::new();
    for (name, raw) in sorted {
        let Some(rest) = name.strip_prefix("CARGO_ECS_") else {
            continue;
        };
        if RESERVED_VARS.contains(&name.as_str()) || rest.is_empty() {
            continue;
        }
        let origin = Origin::Var(name.clone());
        match leaves.iter().find(|(path, _)| var_name(path) == *name) {
            Some((path, ty)) => match coerce(raw, *ty) {
                Ok(v) => {
                    let mut table = Map::new();
                    insert_path(&mut table, path, v);
                    layers.push((origin, table));
                }
                Err(found) => errors.push(ConfigError::new(
                    path_key(path),
                    origin,
                    Problem::WrongType {
                        expected: ty.expected().into(),
                        found,
                    },
                )),
            },
            None => {
                let names: Vec<String> = leaves.iter().map(|(p, _)| var_name(p)).collect();
                let suggestion = validate::closest(name, names.iter().map(String::as_str));
                warnings.push(ConfigWarning {
                    key_path: name.clone(),
                    source: None,
                    message: match suggestion {
                        Some(s) => format!("unknown variable ignored; did you mean `{s}`?"),
                        None => "unknown variable ignored (the CARGO_ECS_* names are listed in docs/config.md)".into(),
                    },
                });
            }
        }
    }
    layers
}

/// The `CARGO_ECS_*` variable for a key path.
pub fn var_name(path: &[String]) -> String {
    let mut name = String::from("CARGO_ECS");
    for seg in path {
        name.push('_');
        name.push_str(&seg.to_uppercase().replace(['-', '.'], "_"));
    }
    name
}

/// Turns a string from a variable or flag into the JSON value the key takes.
fn coerce(raw: &str, ty: Ty) -> Result<Value, String> {
    let toml_value = || -> Option<Value> {
        let doc: toml::Table = toml::from_str(&format!("v = {raw}")).ok()?;
        serde_json::to_value(doc.get("v")?).ok()
    };
    match ty {
        Ty::Str => Ok(Value::String(match toml_value() {
            Some(Value::String(s)) => s,
            _ => raw.to_string(),
        })),
        Ty::Int => match raw.trim().parse::<i64>() {
            Ok(n) => Ok(Value::from(n)),
            // TOML integers such as `1_000`.
            Err(_) => match toml_value() {
                Some(v) if v.is_i64() => Ok(v),
                _ => Err(format!("{raw:?}")),
            },
        },
        // A TOML value is taken as in Cargo.toml (`512`, `"1 GB"`); anything else is the
        // string as typed (`1 GB`, `0.25 vCPU`).
        Ty::IntOrStr => Ok(match toml_value() {
            Some(v @ (Value::Number(_) | Value::String(_))) => v,
            _ => Value::String(raw.to_string()),
        }),
        // A TOML boolean, as in Cargo.toml: `true` or `false`, nothing else (no yes/no/1/0).
        Ty::Bool => match toml_value() {
            Some(v @ Value::Bool(_)) => Ok(v),
            _ => Err(format!("{raw:?}")),
        },
        Ty::StrList | Ty::StrMap | Ty::IncludeList | Ty::Table(_) | Ty::Any | Ty::Envs => {
            toml_value().ok_or_else(|| format!("{raw:?} (not a TOML value)"))
        }
    }
}

fn insert_path(table: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = table;
    for seg in parents {
        let entry = cur
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(m) => cur = m,
            _ => return,
        }
    }
    cur.insert(last.clone(), value);
}

fn unknown_path(path: &[String], origin: Origin) -> ConfigError {
    // Find the first segment that is unknown, and suggest from its level.
    let mut keys: &[(&str, Ty)] = TOP_KEYS;
    for (i, seg) in path.iter().enumerate() {
        match keys.iter().find(|(k, _)| k == seg) {
            Some((_, Ty::Table(inner))) => keys = inner,
            Some((_, Ty::Envs)) => {
                return ConfigError::new(
                    path_key(&path[..=i]),
                    origin.clone(),
                    env_misplaced(&origin),
                );
            }
            Some(_) => {
                return ConfigError::new(
                    path_key(&path[..=i]),
                    origin,
                    Problem::WrongType {
                        expected: "a key path ending at a value".into(),
                        found: path_key(path),
                    },
                );
            }
            None => {
                let problem = unknown_key(seg, keys, &origin);
                return ConfigError::new(path_key(&path[..=i]), origin, problem);
            }
        }
    }
    let problem = unknown_key("", keys, &origin);
    ConfigError::new(path_key(path), origin, problem)
}

/// An unknown key at a level with `keys`. `env` is listed among the valid keys only where
/// named environments can be defined: the top of `[package.metadata.ecs]` and
/// `[workspace.metadata.ecs]`, not inside a named environment nor in a variable or flag.
fn unknown_key(name: &str, keys: &[(&str, Ty)], origin: &Origin) -> Problem {
    match origin {
        Origin::Default | Origin::Workspace | Origin::Package => validate::unknown_key(name, keys),
        Origin::Env { .. } | Origin::Var(_) | Origin::Flag(_) => {
            let keys: Vec<(&str, Ty)> = keys
                .iter()
                .copied()
                .filter(|(_, ty)| !matches!(ty, Ty::Envs))
                .collect();
            validate::unknown_key(name, &keys)
        }
    }
}

/// Checks a table against the schema in place: unknown keys and wrongly typed values are
/// reported and removed so the merge only carries well-typed values.
pub(crate) fn check_table(
    table: &mut Map<String, Value>,
    keys: &[(&str, Ty)],
    path: &mut Vec<String>,
    origin: &Origin,
    errors: &mut Vec<ConfigError>,
) {
    let names: Vec<String> = table.keys().cloned().collect();
    for name in names {
        path.push(name.clone());
        let Some(value) = table.get_mut(&name) else {
            path.pop();
            continue;
        };
        let keep = match keys.iter().find(|(k, _)| *k == name) {
            None => {
                errors.push(ConfigError::new(
                    path_key(path),
                    origin.clone(),
                    unknown_key(&name, keys, origin),
                ));
                false
            }
            Some((_, ty)) => check_value(value, *ty, path, origin, errors),
        };
        if !keep {
            table.remove(&name);
        }
        path.pop();
    }
}

/// Records `problem` at `path` + `key` (a list index or a table key below `path`).
fn error_below(
    errors: &mut Vec<ConfigError>,
    path: &mut Vec<String>,
    key: &str,
    origin: &Origin,
    problem: Problem,
) {
    path.push(key.to_string());
    errors.push(ConfigError::new(path_key(path), origin.clone(), problem));
    path.pop();
}

fn check_value(
    value: &mut Value,
    ty: Ty,
    path: &mut Vec<String>,
    origin: &Origin,
    errors: &mut Vec<ConfigError>,
) -> bool {
    let mut wrong = |value: &Value| {
        errors.push(ConfigError::new(
            path_key(path),
            origin.clone(),
            Problem::WrongType {
                expected: ty.expected().into(),
                found: describe(value),
            },
        ));
        false
    };
    match ty {
        Ty::Str => value.is_string() || wrong(value),
        Ty::Int => value.is_i64() || value.is_u64() || wrong(value),
        Ty::IntOrStr => {
            value.is_i64() || value.is_u64() || value.is_string() || value.is_f64() || wrong(value)
        }
        Ty::Bool => value.is_boolean() || wrong(value),
        // Each element that is not a string is reported at its index and blanked (null), so
        // the strings keep their indices for the value checks in `validate`.
        Ty::StrList => match value {
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if item.is_string() {
                        continue;
                    }
                    let problem = Problem::WrongType {
                        expected: "a string".into(),
                        found: describe(item),
                    };
                    error_below(errors, path, &i.to_string(), origin, problem);
                    *item = Value::Null;
                }
                true
            }
            other => wrong(&other.clone()),
        },
        Ty::StrMap => match value {
            Value::Object(map) => {
                let mut ok = true;
                for (k, v) in map.iter_mut() {
                    match v {
                        Value::String(_) => {}
                        Value::Number(n) => *v = Value::String(n.to_string()),
                        Value::Bool(b) => *v = Value::String(b.to_string()),
                        other => {
                            let problem = Problem::WrongType {
                                expected: "a string".into(),
                                found: describe(other),
                            };
                            error_below(errors, path, k, origin, problem);
                            ok = false;
                        }
                    }
                }
                ok
            }
            other => wrong(&other.clone()),
        },
        // Like a string list: an entry that is not a `{ from, to }` table with both keys is
        // reported and blanked (null); the others keep their indices and are checked by
        // `validate` too, so every problem of every entry is reported at once.
        Ty::IncludeList => match value {
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let mut ok = true;
                    path.push(i.to_string());
                    match &mut *item {
                        Value::Object(map) => {
                            check_table(map, validate::INCLUDE_KEYS, path, origin, errors);
                            for key in ["from", "to"] {
                                if map.contains_key(key) {
                                    continue;
                                }
                                let problem = Problem::Required {
                                    reason: "each include needs `from` and `to`".into(),
                                    help: "write { from = \"static\", to = \"/app/static\" }"
                                        .into(),
                                };
                                error_below(errors, path, key, origin, problem);
                                ok = false;
                            }
                        }
                        other => {
                            errors.push(ConfigError::new(
                                path_key(path),
                                origin.clone(),
                                Problem::WrongType {
                                    expected: "a table { from = …, to = … }".into(),
                                    found: describe(other),
                                },
                            ));
                            ok = false;
                        }
                    }
                    if !ok {
                        *item = Value::Null;
                    }
                    path.pop();
                }
                true
            }
            other => wrong(&other.clone()),
        },
        Ty::Table(keys) => match value {
            Value::Object(map) => {
                check_table(map, keys, path, origin, errors);
                true
            }
            other => wrong(&other.clone()),
        },
        Ty::Any => match value {
            Value::Object(_) => true,
            other => wrong(&other.clone()),
        },
        Ty::Envs => {
            // The top-level `env` tables are taken apart before any table is checked, so an
            // `env` met here is nested in a named environment (or comes from a flag): it
            // would never be used. Say so, and still check what it holds.
            errors.push(ConfigError::new(
                path_key(path),
                origin.clone(),
                env_misplaced(origin),
            ));
            if let Value::Object(envs) = value {
                for (name, table) in envs.iter_mut() {
                    path.push(name.clone());
                    match table {
                        Value::Object(t) => check_table(t, TOP_KEYS, path, origin, errors),
                        other => errors.push(ConfigError::new(
                            path_key(path),
                            origin.clone(),
                            Problem::WrongType {
                                expected: "a table of keys".into(),
                                found: describe(other),
                            },
                        )),
                    }
                    path.pop();
                }
            }
            false
        }
    }
}

/// Why an `env` key is not allowed where it was found.
fn env_misplaced(origin: &Origin) -> Problem {
    match origin {
        Origin::Env { name, workspace } => {
            let table = if *workspace { "workspace" } else { "package" };
            Problem::Misplaced {
                reason: format!(
                    "named environments cannot be nested: `--env NAME` selects one [{table}.metadata.ecs.env.NAME] table, so keys under `env` inside `env.{name}` would never be used"
                ),
                help: format!(
                    "move those keys up into [{table}.metadata.ecs.env.{name}], or make them an environment of their own, [{table}.metadata.ecs.env.OTHER]"
                ),
            }
        }
        Origin::Var(_) | Origin::Flag(_) => Problem::Misplaced {
            reason: "named environments are tables in Cargo.toml, not settings".into(),
            help: "define [package.metadata.ecs.env.NAME] in Cargo.toml and select it with `--env NAME` (or CARGO_ECS_ENV=NAME)".into(),
        },
        Origin::Default | Origin::Workspace | Origin::Package => Problem::Misplaced {
            reason: "named environments are defined only at the top of the ecs table".into(),
            help: "write [package.metadata.ecs.env.NAME]".into(),
        },
    }
}

/// A short description of a JSON value for type errors.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) => format!("number `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "a table".into(),
    }
}

/// Deep merge: tables merge key by key, anything else replaces. Records the origin of every
/// leaf (and of every table the layer wrote).
fn merge(
    into: &mut Map<String, Value>,
    from: Map<String, Value>,
    path: &mut Vec<String>,
    origin: &Origin,
    origins: &mut BTreeMap<Vec<String>, Origin>,
) {
    for (key, value) in from {
        path.push(key.clone());
        match (into.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                merge(existing, incoming, path, origin, origins);
            }
            (_, Value::Object(incoming)) => {
                let mut fresh = Map::new();
                merge(&mut fresh, incoming, path, origin, origins);
                origins.insert(path.clone(), origin.clone());
                into.insert(key, Value::Object(fresh));
            }
            (_, value) => {
                // A replaced table's children no longer come from the old layer.
                origins.retain(|k, _| !(k.len() > path.len() && k.starts_with(path)));
                origins.insert(path.clone(), origin.clone());
                into.insert(key, value);
            }
        }
        path.pop();
    }
}

/// Fills in `source_code` and `span` from the manifest the value came from.
fn attach_span(ws: &Workspace, error: &mut ConfigError) {
    // A problem about a missing key is shown at the written key that needs it.
    let (key, origin) = match &error.anchor {
        Some((key, origin)) => (key.clone(), origin.clone()),
        None => (error.key.clone(), error.origin.clone()),
    };
    let (text, file, base): (&str, &Path, Vec<String>) = match &origin {
        Origin::Package | Origin::Default => (
            &ws.manifest_text,
            &ws.manifest_path,
            base_path("package", None),
        ),
        Origin::Workspace => (
            &ws.root_manifest_text,
            &ws.root_manifest_path,
            base_path("workspace", None),
        ),
        Origin::Env { name, workspace } => {
            if *workspace {
                (
                    &ws.root_manifest_text,
                    &ws.root_manifest_path,
                    base_path("workspace", Some(name)),
                )
            } else {
                (
                    &ws.manifest_text,
                    &ws.manifest_path,
                    base_path("package", Some(name)),
                )
            }
        }
        Origin::Var(_) | Origin::Flag(_) => return,
    };
    let mut path = base;
    if !key.is_empty() {
        path.extend(key.split('.').map(str::to_string));
    }
    let key_only = matches!(
        error.problem,
        Problem::UnknownKey { .. } | Problem::Misplaced { .. }
    );
    let range = locate(text, &path, key_only).or_else(|| {
        // Missing keys: point at the closest existing parent.
        let mut p = path.clone();
        while p.pop().is_some() {
            if let Some(r) = locate(text, &p, true) {
                return Some(r);
            }
        }
        None
    });
    if let Some(range) = range {
        let name = display_name(ws, file);
        error.source_code = Some(NamedSource::new(name, text.to_string()).with_language("toml"));
        error.span = Some(SourceSpan::from(range));
    }
}

fn display_name(ws: &Workspace, file: &Path) -> String {
    file.strip_prefix(&ws.root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.display().to_string())
}

fn base_path(table: &str, env: Option<&str>) -> Vec<String> {
    let mut p = vec![table.to_string(), "metadata".to_string(), "ecs".to_string()];
    if let Some(env) = env {
        p.push("env".into());
        p.push(env.into());
    }
    p
}

/// The byte range of the value (or, with `key_only`, the key) at `path` in a TOML text.
/// Paths stop at arrays: an index segment points at the array element.
pub fn locate(text: &str, path: &[String], key_only: bool) -> Option<std::ops::Range<usize>> {
    let doc = toml_edit::Document::parse(text.to_string()).ok()?;
    let mut item: &toml_edit::Item = doc.as_item();
    let mut key_span = None;
    for seg in path {
        if let Ok(index) = seg.parse::<usize>() {
            if let Some(array) = item.as_array() {
                return array.get(index)?.span();
            }
            if let Some(tables) = item.as_array_of_tables() {
                return tables.get(index)?.span();
            }
        }
        let table = item.as_table_like()?;
        let (key, next) = table.get_key_value(seg)?;
        key_span = key.span();
        item = next;
    }
    if key_only {
        key_span.or_else(|| item.span())
    } else {
        item.span().or(key_span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const ROLE: &str = "execution-role = \"arn:aws:iam::123456789012:role/r\"\n";

    /// A workspace whose root manifest is also the package (so both tables are in one file).
    fn ws(text: &str) -> Workspace {
        let text = format!("[package]\nname = \"svc\"\nversion = \"0.1.0\"\n\n{text}");
        Workspace::from_manifest_text(Path::new("/w/Cargo.toml"), &text)
    }

    fn cluster(ws: &Workspace, inputs: &Inputs) -> (String, Origin) {
        let r = resolve(ws, inputs).unwrap_or_else(|e| panic!("{:#?}", e.errors));
        let origin = r
            .provenance
            .get("cluster")
            .cloned()
            .unwrap_or(Origin::Default);
        (r.config.cluster, origin)
    }

    const ALL_LEVELS: &str = "[workspace.metadata.ecs]\ncluster = \"from-workspace\"\n\n[package.metadata.ecs]\nexecution-role = \"arn:aws:iam::123456789012:role/r\"\ncluster = \"from-package\"\n\n[package.metadata.ecs.env.prod]\ncluster = \"from-env\"\n";

    #[test]
    fn precedence_default() {
        assert_eq!(
            cluster(
                &ws(&format!("[package.metadata.ecs]\n{ROLE}")),
                &Inputs::default()
            ),
            ("default".into(), Origin::Default)
        );
    }

    #[test]
    fn precedence_workspace_over_default() {
        let w = ws(&format!(
            "[workspace.metadata.ecs]\ncluster = \"from-workspace\"\n\n[package.metadata.ecs]\n{ROLE}"
        ));
        assert_eq!(
            cluster(&w, &Inputs::default()),
            ("from-workspace".into(), Origin::Workspace)
        );
    }

    #[test]
    fn precedence_package_over_workspace() {
        assert_eq!(
            cluster(&ws(ALL_LEVELS), &Inputs::default()),
            ("from-package".into(), Origin::Package)
        );
    }

    #[test]
    fn precedence_env_table_over_package() {
        let inputs = Inputs {
            env_name: Some("prod".into()),
            ..Default::default()
        };
        assert_eq!(
            cluster(&ws(ALL_LEVELS), &inputs),
            (
                "from-env".into(),
                Origin::Env {
                    name: "prod".into(),
                    workspace: false
                }
            )
        );
        // A workspace-level env table sits below the package's env table.
        let w = ws(&format!(
            "[workspace.metadata.ecs.env.prod]\ncluster = \"ws-env\"\ndesired-count = 4\n\n[package.metadata.ecs]\n{ROLE}cluster = \"pkg\"\n"
        ));
        let r = resolve(&w, &inputs).unwrap();
        assert_eq!(r.config.cluster, "ws-env");
        assert_eq!(r.config.desired_count, 4);
    }

    #[test]
    fn precedence_variables_over_env_table() {
        let inputs = Inputs {
            env_name: Some("prod".into()),
            vars: vec![("CARGO_ECS_CLUSTER".into(), "from-var".into())],
            ..Default::default()
        };
        assert_eq!(
            cluster(&ws(ALL_LEVELS), &inputs),
            ("from-var".into(), Origin::Var("CARGO_ECS_CLUSTER".into()))
        );
    }

    #[test]
    fn precedence_flags_over_variables() {
        let inputs = Inputs {
            env_name: Some("prod".into()),
            vars: vec![("CARGO_ECS_CLUSTER".into(), "from-var".into())],
            settings: vec![Setting::flag("--cluster", "cluster", "from-flag")],
        };
        assert_eq!(
            cluster(&ws(ALL_LEVELS), &inputs),
            ("from-flag".into(), Origin::Flag("--cluster".into()))
        );
        // Later flags win over earlier ones (`--cluster a --set cluster=b`).
        let inputs = Inputs {
            settings: vec![
                Setting::flag("--cluster", "cluster", "a"),
                Setting::parse_set("cluster=b").unwrap(),
            ],
            ..Default::default()
        };
        assert_eq!(cluster(&ws(ALL_LEVELS), &inputs).0, "b");
    }

    #[test]
    fn tables_merge_key_by_key_across_levels() {
        let w = ws(&format!(
            "[workspace.metadata.ecs.container]\nenvironment = {{ A = \"ws\", B = \"ws\" }}\n\n[package.metadata.ecs]\n{ROLE}container.environment = {{ B = \"pkg\" }}\n"
        ));
        let inputs = Inputs {
            settings: vec![Setting::parse_set("container.environment.C=flag").unwrap()],
            ..Default::default()
        };
        let r = resolve(&w, &inputs).unwrap();
        let env: Vec<(&str, &str)> = r
            .config
            .container
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(env, [("A", "ws"), ("B", "pkg"), ("C", "flag")]);
    }

    #[test]
    fn variable_names_map_to_nested_keys() {
        let leaves = validate::leaf_paths();
        let names: Vec<String> = leaves.iter().map(|(p, _)| var_name(p)).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "two keys share a variable name");
        for expected in [
            "CARGO_ECS_CPU",
            "CARGO_ECS_LOGS_DRIVER",
            "CARGO_ECS_LOGS_STREAM_PREFIX",
            "CARGO_ECS_IMAGE_CA_CERTIFICATES",
            "CARGO_ECS_CONTAINER_HEALTH_CHECK_START_PERIOD",
            "CARGO_ECS_EXECUTION_ROLE",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}");
        }
        let inputs = Inputs {
            vars: vec![
                ("CARGO_ECS_LOGS_DRIVER".into(), "splunk".into()),
                (
                    "CARGO_ECS_LOGS_OPTIONS".into(),
                    "{ splunk-url = \"https://s\" }".into(),
                ),
                (
                    "CARGO_ECS_LOGS_SECRET_OPTIONS".into(),
                    "{ splunk-token = \"/t\" }".into(),
                ),
                ("CARGO_ECS_IMAGE_TAGS".into(), "[\"a\", \"b\"]".into()),
                ("CARGO_ECS_DESIRED_COUNT".into(), "3".into()),
                ("CARGO_ECS_IMAGE_CA_CERTIFICATES".into(), "false".into()),
                ("CARGO_ECS_ENV".into(), "ignored".into()),
                (
                    "CARGO_ECS_REGISTRY_ENDPOINT".into(),
                    "http://127.0.0.1:1".into(),
                ),
                ("CARGO_ECS_CACHE_DIR".into(), "/tmp/cache".into()),
                ("CARGO_ECS_RIG_DIR".into(), "/tmp/rig".into()),
                ("CARGO_ECS_VERSION".into(), "0.1.0".into()),
                ("CARGO_ECS_RELEASES".into(), "https://example.com".into()),
                ("CARGO_ECS_CLUSTR".into(), "typo".into()),
            ],
            ..Default::default()
        };
        let r = resolve(&ws(&format!("[package.metadata.ecs]\n{ROLE}")), &inputs)
            .unwrap_or_else(|e| panic!("{:#?}", e.errors));
        assert_eq!(r.config.logs.driver, crate::config::LogDriver::Splunk);
        assert_eq!(r.config.image.tags, ["a", "b"]);
        assert_eq!(r.config.desired_count, 3);
        assert!(!r.config.image.ca_certificates);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].message.contains("CARGO_ECS_CLUSTER"));
    }

    #[test]
    fn booleans_are_true_or_false_from_variables_and_flags_as_in_cargo_toml() {
        let w = ws(&format!("[package.metadata.ecs]\n{ROLE}"));
        let var = |v: &str| Inputs {
            vars: vec![("CARGO_ECS_IMAGE_CA_CERTIFICATES".into(), v.into())],
            ..Default::default()
        };
        for (raw, want) in [("true", true), ("false", false), (" false ", false)] {
            let r = resolve(&w, &var(raw)).unwrap_or_else(|e| panic!("{raw}: {:#?}", e.errors));
            assert_eq!(r.config.image.ca_certificates, want, "{raw}");
            let r = resolve(&w, &settings(&[&format!("image.ca-certificates={raw}")]))
                .unwrap_or_else(|e| panic!("{raw}: {:#?}", e.errors));
            assert_eq!(r.config.image.ca_certificates, want, "{raw}");
        }
        for raw in ["yes", "no", "1", "0", "TRUE", "\"true\"", ""] {
            let e = problems(&w, &var(raw));
            assert_eq!(
                e,
                [(
                    "image.ca-certificates".to_string(),
                    format!(
                        "invalid type for `image.ca-certificates` (from CARGO_ECS_IMAGE_CA_CERTIFICATES): expected a boolean, found {raw:?}"
                    )
                )]
            );
            let e = problems(&w, &settings(&[&format!("image.ca-certificates={raw}")]));
            assert_eq!(e.len(), 1, "{raw}: {e:?}");
            assert!(
                e[0].1
                    .ends_with(&format!("expected a boolean, found {raw:?}")),
                "{e:?}"
            );
        }
        // The same word in Cargo.toml is refused too.
        let e = problems(
            &ws(&format!(
                "[package.metadata.ecs]\n{ROLE}image.ca-certificates = \"yes\"\n"
            )),
            &Inputs::default(),
        );
        assert_eq!(e[0].0, "package.metadata.ecs.image.ca-certificates");
    }

    #[test]
    fn bad_variable_values_name_the_variable() {
        let inputs = Inputs {
            vars: vec![("CARGO_ECS_DESIRED_COUNT".into(), "many".into())],
            ..Default::default()
        };
        let e = resolve(&ws(&format!("[package.metadata.ecs]\n{ROLE}")), &inputs).unwrap_err();
        assert_eq!(e.errors.len(), 1);
        assert!(
            e.errors[0].to_string().contains("CARGO_ECS_DESIRED_COUNT"),
            "{}",
            e.errors[0]
        );
    }

    #[test]
    fn unknown_env_name_lists_the_defined_ones() {
        let inputs = Inputs {
            env_name: Some("prd".into()),
            ..Default::default()
        };
        let e = resolve(&ws(ALL_LEVELS), &inputs).unwrap_err();
        let msg = format!("{:?}", e.errors);
        assert!(msg.contains("prod"), "{msg}");
    }

    #[test]
    fn spans_point_at_the_value_or_the_key() {
        let text = "[package]\nname = \"svc\"\n\n[package.metadata.ecs]\ncpu = 300\ncontainer = { port = 0 }\n";
        let path = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        let r = locate(text, &path("package.metadata.ecs.cpu"), false).unwrap();
        assert_eq!(&text[r], "300");
        let r = locate(text, &path("package.metadata.ecs.cpu"), true).unwrap();
        assert_eq!(&text[r], "cpu");
        let r = locate(text, &path("package.metadata.ecs.container.port"), false).unwrap();
        assert_eq!(&text[r], "0");
    }

    fn settings(args: &[&str]) -> Inputs {
        Inputs {
            settings: args
                .iter()
                .map(|a| Setting::parse_set(a).unwrap())
                .collect(),
            ..Default::default()
        }
    }

    fn problems(w: &Workspace, inputs: &Inputs) -> Vec<(String, String)> {
        match resolve(w, inputs) {
            Ok(r) => panic!("expected errors, got {:?}", r.config),
            Err(e) => e
                .errors
                .iter()
                .map(|e| (e.key_path(), e.to_string()))
                .collect(),
        }
    }

    #[test]
    fn nested_env_tables_are_checked_and_rejected_at_any_depth() {
        let text = format!(
            "[package.metadata.ecs]\n{ROLE}\n[package.metadata.ecs.env.prod]\ncpu = 1024\n\n[package.metadata.ecs.env.prod.env.x]\ncpu = 1\nbogus = 2\n\n[package.metadata.ecs.env.prod.env.x.env.y]\nzzz = 3\n\n[package.metadata.ecs.env.stage.logs]\ndrivr = \"awslogs\"\n"
        );
        let w = ws(&text);
        for env_name in [Some("prod"), Some("stage"), None] {
            let inputs = Inputs {
                env_name: env_name.map(str::to_string),
                ..Default::default()
            };
            let e = problems(&w, &inputs);
            let keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
            for expected in [
                "package.metadata.ecs.env.prod.env",
                "package.metadata.ecs.env.prod.env.x.bogus",
                "package.metadata.ecs.env.prod.env.x.env",
                "package.metadata.ecs.env.prod.env.x.env.y.zzz",
                "package.metadata.ecs.env.stage.logs.drivr",
            ] {
                assert!(
                    keys.contains(&expected),
                    "{env_name:?}: {expected} in {e:#?}"
                );
            }
            let nested = &e
                .iter()
                .find(|(k, _)| k == "package.metadata.ecs.env.prod.env")
                .unwrap()
                .1;
            assert!(nested.contains("cannot be nested"), "{nested}");
            // Inside a named environment, `env` is not offered as a valid key.
            let err = resolve(&w, &inputs).unwrap_err();
            let bogus = err
                .errors
                .iter()
                .find(|e| e.key_path() == "package.metadata.ecs.env.prod.env.x.bogus")
                .unwrap();
            let help = miette::Diagnostic::help(bogus).unwrap().to_string();
            assert!(!help.contains(", env"), "{help}");
            // The nested error points at the `env` key of the prod table.
            assert!(err.errors.iter().all(|e| e.span.is_some()), "{err:#?}");
        }
        // The same from the workspace manifest.
        let w = ws(&format!(
            "[workspace.metadata.ecs.env.prod.env.x]\nbogus = 1\n\n[package.metadata.ecs]\n{ROLE}"
        ));
        let e = problems(&w, &Inputs::default());
        let keys: Vec<&str> = e.iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            keys.contains(&"workspace.metadata.ecs.env.prod.env"),
            "{e:?}"
        );
        assert!(
            keys.contains(&"workspace.metadata.ecs.env.prod.env.x.bogus"),
            "{e:?}"
        );
        // And from a flag: named environments are not settings.
        let w = ws(&format!("[package.metadata.ecs]\n{ROLE}"));
        for arg in ["env.prod.cpu=512", "env={ prod = { cpu = 512 } }"] {
            let e = problems(&w, &settings(&[arg]));
            assert_eq!(e.len(), 1, "{e:?}");
            assert!(e[0].1.starts_with("`env` (from --set env"), "{e:?}");
            assert!(e[0].1.contains("not allowed here"), "{e:?}");
        }
    }

    #[test]
    fn quoted_sizes_are_taken_from_variables_and_flags_as_in_cargo_toml() {
        let w = ws(&format!("[package.metadata.ecs]\n{ROLE}"));
        for (vars, sets, cpu, memory) in [
            (vec![], vec!["memory=\"1 GB\""], 256, 1024),
            (vec![], vec!["memory=1 GB"], 256, 1024),
            (
                vec![],
                vec!["cpu=\"0.5 vCPU\"", "memory=\"2048\""],
                512,
                2048,
            ),
            (vec![], vec!["cpu=1_024"], 1024, 2048),
            (vec![("CARGO_ECS_CPU", "\"0.5 vCPU\"")], vec![], 512, 1024),
            (vec![("CARGO_ECS_CPU", "0.25 vCPU")], vec![], 256, 512),
            (vec![("CARGO_ECS_MEMORY", "\"1 GB\"")], vec![], 256, 1024),
            (vec![("CARGO_ECS_MEMORY", "1024")], vec![], 256, 1024),
        ] {
            let inputs = Inputs {
                vars: vars
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..settings(&sets)
            };
            let r = resolve(&w, &inputs)
                .unwrap_or_else(|e| panic!("{vars:?} {sets:?}: {:#?}", e.errors));
            assert_eq!(
                (r.config.cpu.unwrap().0, r.config.memory.unwrap().0),
                (cpu, memory),
                "{vars:?} {sets:?}"
            );
        }
        // Other keys keep working: a TOML string, a bare word, a TOML integer.
        let r = resolve(
            &w,
            &settings(&["family=\"fam\"", "cluster=c1", "desired-count=1_0"]),
        )
        .unwrap();
        assert_eq!(
            (r.config.family.as_str(), r.config.cluster.as_str()),
            ("fam", "c1")
        );
        assert_eq!(r.config.desired_count, 10);
    }

    #[test]
    fn problems_from_variables_and_flags_name_the_key_and_its_source() {
        let w = ws(&format!("[package.metadata.ecs]\n{ROLE}"));
        let e = problems(&w, &settings(&["nosuch=1"]));
        assert_eq!(e[0].1, "unknown key `nosuch` (from --set nosuch=…)");
        assert_eq!(e[0].0, "nosuch");
        let inputs = Inputs {
            vars: vec![("CARGO_ECS_CPU".into(), "300".into())],
            ..Default::default()
        };
        let e = problems(&w, &inputs);
        assert_eq!(
            e[0].1,
            "invalid value 300 for `cpu` (from CARGO_ECS_CPU): not a Fargate CPU size"
        );
        let inputs = Inputs {
            settings: vec![Setting::flag("--cluster", "cluster", "bad name!")],
            ..Default::default()
        };
        let e = problems(&w, &inputs);
        assert!(
            e[0].1
                .starts_with("invalid value \"bad name!\" for `cluster` (from --cluster):"),
            "{e:?}"
        );
        for (_, message) in problems(&w, &settings(&["logs.drivr=x", "cpu=abc"])) {
            assert!(!message.contains("(`"), "garbled: {message}");
        }
        // Warnings too.
        let r = resolve(
            &ws("[package.metadata.ecs]\nlaunch-type = \"ec2\"\n"),
            &settings(&["logs.driver=json-file", "logs.group=/g"]),
        )
        .unwrap();
        assert_eq!(
            r.warnings[0].to_string(),
            "`logs.group` (from --set logs.group=…): only used by the awslogs driver; ignored with json-file"
        );
    }

    #[test]
    fn a_required_key_is_not_blamed_on_the_flag_that_made_its_table() {
        // No [logs] table in Cargo.toml: `--set logs.driver=splunk` creates it.
        let w = ws(&format!("[package.metadata.ecs]\n{ROLE}"));
        let err = resolve(&w, &settings(&["logs.driver=splunk"])).unwrap_err();
        let keys: Vec<String> = err.errors.iter().map(|e| e.key_path()).collect();
        assert_eq!(
            keys,
            [
                "package.metadata.ecs.logs.secret-options",
                "package.metadata.ecs.logs.options"
            ]
        );
        for e in &err.errors {
            let text = e.to_string();
            assert!(!text.contains("(from --set logs."), "{text}");
            assert!(
                text.contains("logs.driver set by --set logs.driver=…"),
                "{text}"
            );
            // The flag is not in Cargo.toml: no snippet at all.
            assert!(e.span.is_none(), "{text}");
        }
        // With the driver written in Cargo.toml, the snippet shows the driver line.
        let text = format!(
            "[package.metadata.ecs]\n{ROLE}\n[package.metadata.ecs.logs]\ndriver = \"splunk\"\n"
        );
        let w = ws(&text);
        let err = resolve(&w, &Inputs::default()).unwrap_err();
        for e in &err.errors {
            let span = e.span.expect("a snippet");
            let full = format!("[package]\nname = \"svc\"\nversion = \"0.1.0\"\n\n{text}");
            assert_eq!(
                &full[span.offset()..span.offset() + span.len()],
                "\"splunk\""
            );
            assert!(
                e.to_string()
                    .contains("logs.driver set in `package.metadata.ecs.logs.driver`"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_cpu_memory_mismatch_is_shown_at_the_source_that_wins() {
        let text = format!("[package.metadata.ecs]\n{ROLE}cpu = 256\nmemory = 512\n");
        let w = ws(&text);
        let err = resolve(&w, &settings(&["cpu=512"])).unwrap_err();
        assert_eq!(err.errors.len(), 1, "{:#?}", err.errors);
        let e = &err.errors[0];
        assert_eq!(e.key, "cpu");
        assert_eq!(e.origin, Origin::Flag("--set".into()));
        assert!(
            e.span.is_none() && e.source_code.is_none(),
            "no Cargo.toml snippet"
        );
        assert_eq!(
            e.to_string(),
            "`cpu = 512` (from --set cpu=…) does not fit memory = 512 (from `package.metadata.ecs.memory`) on Fargate"
        );
        // Memory from a flag over cpu in Cargo.toml: shown at memory.
        let err = resolve(&w, &settings(&["memory=4096"])).unwrap_err();
        assert_eq!(err.errors[0].key, "memory");
        assert!(err.errors[0].span.is_none());
        // Both in Cargo.toml: at memory, with its line.
        let w = ws(&format!(
            "[package.metadata.ecs]\n{ROLE}cpu = 256\nmemory = 4096\n"
        ));
        let err = resolve(&w, &Inputs::default()).unwrap_err();
        assert_eq!(err.errors[0].key, "memory");
        assert!(err.errors[0].span.is_some());
        assert_eq!(
            err.errors[0].to_string(),
            "`package.metadata.ecs.memory = 4096` does not fit cpu = 256 on Fargate"
        );
    }

    proptest::proptest! {
        /// No TOML value in any key position makes resolve (or render) panic.
        #[test]
        fn arbitrary_values_never_panic(
            key in proptest::sample::select(validate::leaf_paths().into_iter().map(|(p, _)| path_key(&p)).chain(["env.x".to_string(), "overrides".into(), "image".into(), "zzz".into()]).collect::<Vec<_>>()),
            value in arb_toml(),
            var in proptest::option::of(("[A-Z_]{1,20}", ".{0,20}")),
        ) {
            let text = format!("[package.metadata.ecs]\n{ROLE}{key} = {value}\n");
            if toml::from_str::<toml::Table>(&format!("[package]\nname = \"svc\"\n\n{text}")).is_ok() {
                let inputs = Inputs {
                    vars: var.map(|(k, v)| vec![(format!("CARGO_ECS_{k}"), v)]).unwrap_or_default(),
                    settings: vec![Setting { key: key.clone(), value: value.clone(), flag: "--set".into() }],
                    ..Default::default()
                };
                if let Ok(r) = resolve(&ws(&text), &inputs) {
                    let _ = crate::taskdef::render(&r.config, "img", "us-east-1");
                }
            }
        }
    }

    fn arb_toml() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:?}")),
            any::<bool>().prop_map(|b| b.to_string()),
            ".{0,12}".prop_map(|s| format!("{s:?}")),
            Just("\"0.25 vCPU\"".to_string()),
            Just("\"99999999999 GB\"".to_string()),
            Just("\"1e400 vCPU\"".to_string()),
            Just("1979-05-27T07:32:00Z".to_string()),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                proptest::collection::vec(("[a-z][a-z-]{0,8}", inner), 0..4).prop_map(|kv| {
                    let mut seen = std::collections::HashSet::new();
                    let body: Vec<String> = kv
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect();
                    format!("{{ {} }}", body.join(", "))
                }),
            ]
        })
    }
}
