//! Error and warning types for loading the workspace, resolving `[package.metadata.ecs]` and
//! rendering task definitions. Every error is a `thiserror` + `miette::Diagnostic` value that
//! holds data (key path, value, valid choices, source span), never a preformatted report;
//! the binary renders them. Nothing here prints.

use std::fmt;
use std::path::PathBuf;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

/// Link to the configuration reference, quoted in config error help.
pub const CONFIG_DOCS: &str = "docs/config.md";

/// Where a configuration value came from (lowest precedence first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A built-in default.
    Default,
    /// `[workspace.metadata.ecs]` of the workspace root manifest.
    Workspace,
    /// `[package.metadata.ecs]`.
    Package,
    /// `[workspace.metadata.ecs.env.NAME]` (`workspace = true`) or
    /// `[package.metadata.ecs.env.NAME]`.
    Env {
        /// The environment name (`--env NAME`).
        name: String,
        /// From the workspace manifest rather than the package's.
        workspace: bool,
    },
    /// A `CARGO_ECS_*` environment variable (its name).
    Var(String),
    /// A command-line flag (its spelling, e.g. `--cluster` or `--set cpu=…`).
    Flag(String),
}

impl Origin {
    /// The full key path a user would recognise for `key` (dotted, inside the ecs table):
    /// `package.metadata.ecs.memory`, `workspace.metadata.ecs.env.prod.cpu`; for values from
    /// a variable or a flag the dotted key itself (`cpu`), whose source [`Origin::given_by`]
    /// names.
    pub fn key_path(&self, key: &str) -> String {
        let dot = if key.is_empty() { "" } else { "." };
        match self {
            Origin::Default | Origin::Package => format!("package.metadata.ecs{dot}{key}"),
            Origin::Workspace => format!("workspace.metadata.ecs{dot}{key}"),
            Origin::Env { name, workspace } => {
                let table = if *workspace { "workspace" } else { "package" };
                format!("{table}.metadata.ecs.env.{name}{dot}{key}")
            }
            Origin::Var(_) | Origin::Flag(_) => key.to_string(),
        }
    }

    /// The variable or flag that gave `key`, as the user typed it (`CARGO_ECS_CPU`,
    /// `--set cpu=…`, `--cluster`); `None` for values from a manifest or a default. The value
    /// itself is not repeated (it may be long or secret).
    pub fn given_by(&self, key: &str) -> Option<String> {
        match self {
            Origin::Var(var) => Some(var.clone()),
            Origin::Flag(flag) if flag == "--set" => Some(format!("--set {key}=…")),
            Origin::Flag(flag) => Some(flag.clone()),
            _ => None,
        }
    }

    /// `` `package.metadata.ecs.cpu` ``, or `` `cpu` (from --set cpu=…) `` for a value that
    /// came from a variable or a flag.
    pub fn quoted(&self, key: &str) -> String {
        let path = self.key_path(key);
        match self.given_by(key) {
            Some(source) => format!("`{path}` (from {source})"),
            None => format!("`{path}`"),
        }
    }

    /// How a value's source reads after "set …" in an explanation: `in
    /// `package.metadata.ecs.logs.driver``, `by --set logs.driver=…`, `by default`.
    pub fn set_by(&self, key: &str) -> String {
        match (self, self.given_by(key)) {
            (Origin::Default, _) => "by default".into(),
            (_, Some(source)) => format!("by {source}"),
            (_, None) => format!("in `{}`", self.key_path(key)),
        }
    }

    /// Precedence rank, lowest first (a package's env table beats the workspace's).
    pub fn rank(&self) -> u8 {
        match self {
            Origin::Default => 0,
            Origin::Workspace => 1,
            Origin::Package => 2,
            Origin::Env {
                workspace: true, ..
            } => 3,
            Origin::Env { .. } => 4,
            Origin::Var(_) => 5,
            Origin::Flag(_) => 6,
        }
    }

    /// A short description of the source, for provenance lines.
    pub fn describe(&self) -> String {
        match self {
            Origin::Default => "default".into(),
            Origin::Workspace => "workspace.metadata.ecs".into(),
            Origin::Package => "package.metadata.ecs".into(),
            Origin::Env { name, workspace } => {
                let table = if *workspace { "workspace" } else { "package" };
                format!("{table}.metadata.ecs.env.{name}")
            }
            Origin::Var(var) => format!("environment variable {var}"),
            Origin::Flag(flag) => format!("flag {flag}"),
        }
    }
}

/// What is wrong with one configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A key the schema does not know.
    UnknownKey {
        /// The closest known key, when one is close enough.
        suggestion: Option<String>,
        /// All keys valid at that level.
        valid: Vec<String>,
    },
    /// The value has the wrong TOML type.
    WrongType {
        /// What the key takes (`a string`, `an integer`…).
        expected: String,
        /// The value as written.
        found: String,
    },
    /// The value is not one of a fixed set.
    InvalidChoice {
        /// The value as written.
        value: String,
        /// The accepted values.
        choices: Vec<String>,
        /// Why the set is restricted (`Fargate supports only`…), if it depends on other keys.
        context: Option<String>,
    },
    /// The value breaks a rule.
    InvalidValue {
        /// The value as written.
        value: String,
        /// Which rule it breaks.
        reason: String,
        /// What to write instead.
        help: String,
    },
    /// Fargate memory does not fit the chosen CPU. The error's key is the one of the pair
    /// set by the source with the higher precedence (`cpu` when `--set cpu=…` changed it).
    CpuMemoryMismatch {
        /// Task CPU units.
        cpu: u32,
        /// Task memory in MiB.
        memory: u32,
        /// The memory sizes allowed with that CPU.
        allowed: String,
        /// Where the other value of the pair was set, when another source set it
        /// (`package.metadata.ecs.memory`, `--set cpu=…`).
        other: Option<String>,
    },
    /// A key that exists, but not at this place (`env` inside a named environment).
    Misplaced {
        /// Why it is not allowed here.
        reason: String,
        /// What to write instead.
        help: String,
    },
    /// A key that must be set is missing.
    Required {
        /// Why it is needed.
        reason: String,
        /// An example of what to write.
        help: String,
    },
}

/// One problem in the configuration, located by key path and (when known) by span in the
/// Cargo.toml it came from.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// Dotted key path inside the ecs table (`logs.driver`).
    pub key: String,
    /// Where the offending value came from.
    pub origin: Origin,
    /// What is wrong.
    pub problem: Problem,
    /// The manifest text, when the value came from a manifest.
    pub source_code: Option<NamedSource<String>>,
    /// The value's (or unknown key's) span in `source_code`.
    pub span: Option<SourceSpan>,
    /// The written key the problem is shown at, when that is not `key` itself: a required
    /// key is missing because of another one (`logs.driver = "splunk"` needs
    /// `logs.secret-options`), so the snippet shows the key that was written.
    pub anchor: Option<(String, Origin)>,
}

impl ConfigError {
    /// A problem with no source location yet.
    pub fn new(key: impl Into<String>, origin: Origin, problem: Problem) -> Self {
        ConfigError {
            key: key.into(),
            origin,
            problem,
            source_code: None,
            span: None,
            anchor: None,
        }
    }

    /// Shows the problem at `key` as set by `origin` (see [`ConfigError::anchor`]).
    pub fn with_anchor(mut self, key: impl Into<String>, origin: Origin) -> Self {
        self.anchor = Some((key.into(), origin));
        self
    }

    /// The full key path (`package.metadata.ecs.memory`).
    pub fn key_path(&self) -> String {
        self.origin.key_path(&self.key)
    }

    fn label(&self) -> String {
        match &self.problem {
            Problem::UnknownKey { .. } => "unknown key".into(),
            Problem::WrongType { expected, .. } => format!("expected {expected}"),
            Problem::InvalidChoice { .. } => "not a valid choice".into(),
            Problem::InvalidValue { .. } => "invalid value".into(),
            Problem::CpuMemoryMismatch { cpu, memory, .. } => {
                if self.key == "cpu" {
                    format!("does not fit memory = {memory}")
                } else {
                    format!("does not fit cpu = {cpu}")
                }
            }
            Problem::Misplaced { .. } => "not allowed here".into(),
            Problem::Required { .. } => match &self.anchor {
                Some(_) => format!("needs `{}`", self.key),
                None => "required here".into(),
            },
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.origin.quoted(&self.key);
        match &self.problem {
            Problem::UnknownKey { .. } => write!(f, "unknown key {path}"),
            Problem::WrongType { expected, found } => {
                write!(
                    f,
                    "invalid type for {path}: expected {expected}, found {found}"
                )
            }
            Problem::InvalidChoice { value, context, .. } => {
                write!(f, "invalid value {value} for {path}")?;
                if let Some(context) = context {
                    write!(f, ": {context}")?;
                }
                Ok(())
            }
            Problem::InvalidValue { value, reason, .. } => {
                write!(f, "invalid value {value} for {path}: {reason}")
            }
            Problem::CpuMemoryMismatch {
                cpu, memory, other, ..
            } => {
                let key_path = self.key_path();
                let source = match self.origin.given_by(&self.key) {
                    Some(source) => format!(" (from {source})"),
                    None => String::new(),
                };
                let other = match other {
                    Some(other) => format!(" ({other})"),
                    None => String::new(),
                };
                if self.key == "cpu" {
                    write!(
                        f,
                        "`{key_path} = {cpu}`{source} does not fit memory = {memory}{other} on Fargate"
                    )
                } else {
                    write!(
                        f,
                        "`{key_path} = {memory}`{source} does not fit cpu = {cpu}{other} on Fargate"
                    )
                }
            }
            Problem::Misplaced { reason, .. } => write!(f, "{path} is not allowed here: {reason}"),
            Problem::Required { reason, .. } => write!(f, "{path} is required: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Diagnostic for ConfigError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let code = match &self.problem {
            Problem::UnknownKey { .. } => "cargo_ecs::config::unknown_key",
            Problem::WrongType { .. } => "cargo_ecs::config::wrong_type",
            Problem::InvalidChoice { .. } => "cargo_ecs::config::invalid_choice",
            Problem::InvalidValue { .. } => "cargo_ecs::config::invalid_value",
            Problem::CpuMemoryMismatch { .. } => "cargo_ecs::config::cpu_memory_mismatch",
            Problem::Misplaced { .. } => "cargo_ecs::config::misplaced",
            Problem::Required { .. } => "cargo_ecs::config::required",
        };
        Some(Box::new(code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let help = match &self.problem {
            Problem::UnknownKey { suggestion, valid } => {
                let valid = valid.join(", ");
                match suggestion {
                    Some(s) => format!("did you mean `{s}`? valid keys: {valid}"),
                    None => format!("valid keys: {valid}"),
                }
            }
            Problem::WrongType { expected, .. } => format!("write {expected}"),
            Problem::InvalidChoice { choices, .. } => format!("use one of {}", choices.join(", ")),
            Problem::InvalidValue { help, .. }
            | Problem::Required { help, .. }
            | Problem::Misplaced { help, .. } => help.clone(),
            Problem::CpuMemoryMismatch { cpu, allowed, .. } => {
                format!("with cpu = {cpu}, memory must be {allowed} (AWS Fargate task sizes)")
            }
        };
        Some(Box::new(help))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source_code
            .as_ref()
            .map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        self.source_code.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.label()),
            span,
        ))))
    }
}

/// Every problem found in one configuration, reported together.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} in the cargo ecs configuration of `{package}`", plural(.errors.len()))]
pub struct ConfigErrors {
    /// The package whose configuration was resolved.
    pub package: String,
    /// The problems, in a stable order.
    pub errors: Vec<ConfigError>,
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 problem".into()
    } else {
        format!("{n} problems")
    }
}

impl Diagnostic for ConfigErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("cargo_ecs::config"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!(
            "the keys of [package.metadata.ecs] are described in {CONFIG_DOCS}"
        )))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn Diagnostic)))
    }
}

/// A configuration value that is allowed but probably not what the user wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The full key path it concerns (the dotted key for a variable or a flag).
    pub key_path: String,
    /// The variable or flag that gave the value (`CARGO_ECS_LOGS_GROUP`, `--set logs.group=…`),
    /// when it did not come from a manifest.
    pub source: Option<String>,
    /// What is suspicious, and what to do about it.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.key_path)?;
        if let Some(source) = &self.source {
            write!(f, " (from {source})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Failures finding the package to deploy.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum WorkspaceError {
    /// `cargo metadata` failed.
    #[error("cannot read the cargo workspace")]
    #[diagnostic(
        code(cargo_ecs::workspace::metadata),
        help(
            "check that `cargo metadata` works here, or pass `--manifest-path path/to/Cargo.toml`"
        )
    )]
    Metadata(#[source] cargo_metadata::Error),
    /// `-p NAME` names no workspace member.
    #[error("package `{spec}` is not a member of the workspace")]
    #[diagnostic(
        code(cargo_ecs::workspace::no_such_package),
        help("members: {}", .members.join(", "))
    )]
    NoSuchPackage {
        /// The `-p` argument.
        spec: String,
        /// Workspace members.
        members: Vec<String>,
    },
    /// A workspace root with several deployable members and no `-p`.
    #[error("the workspace has several deployable packages; choose one")]
    #[diagnostic(
        code(cargo_ecs::workspace::ambiguous),
        help("pass `-p NAME` with one of: {}", .candidates.join(", "))
    )]
    Ambiguous {
        /// Members with `[package.metadata.ecs]` or a binary target.
        candidates: Vec<String>,
    },
    /// No member could be chosen.
    #[error("no deployable package found in the workspace at {}", .root.display())]
    #[diagnostic(
        code(cargo_ecs::workspace::none),
        help("add [package.metadata.ecs] and a binary target to a package, or pass `-p NAME`")
    )]
    NoPackage {
        /// The workspace root.
        root: PathBuf,
    },
    /// A manifest could not be read.
    #[error("cannot read {}", .path.display())]
    #[diagnostic(code(cargo_ecs::workspace::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// One problem in a rendered task definition (generated or from a file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Diagnostic)]
#[error("task definition `{path}`: {message}")]
#[diagnostic(code(cargo_ecs::taskdef::invalid), help("{help}"))]
pub struct TaskDefProblem {
    /// JSON path (`containerDefinitions[0].logConfiguration.logDriver`).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// Rendering a task definition failed.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum TaskDefError {
    /// The embedded template failed (a bug).
    #[error("cannot render the task definition template")]
    #[diagnostic(
        code(cargo_ecs::taskdef::template),
        help("this is a bug in cargo ecs; please report it")
    )]
    Template(#[source] minijinja::Error),
    /// The template produced invalid JSON (a bug).
    #[error("the task definition template produced invalid JSON")]
    #[diagnostic(
        code(cargo_ecs::taskdef::json),
        help("this is a bug in cargo ecs; please report it")
    )]
    Json(#[source] serde_json::Error),
    /// The user's task-definition file is not a task definition object.
    #[error("`{}` is not a task definition: {reason}", .path.display())]
    #[diagnostic(
        code(cargo_ecs::taskdef::file),
        help(
            "the file must hold a RegisterTaskDefinition input or describe-task-definition output (a JSON object)"
        )
    )]
    NotATaskDefinition {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The result breaks ECS rules.
    #[error("{} in the rendered task definition", plural(.problems.len()))]
    #[diagnostic(code(cargo_ecs::taskdef::invalid))]
    Invalid {
        /// Every problem found.
        #[related]
        problems: Vec<TaskDefProblem>,
    },
}
