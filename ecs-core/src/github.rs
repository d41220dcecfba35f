//! The GitHub Actions deploy workflow that `cargo ecs init --github` writes: rendering the
//! embedded `templates/github/deploy.yml` from a [`WorkflowContext`], and [`check`] for
//! `--check` (drift between the file on disk and what the template renders today).
//!
//! The template uses `[[ ]]`, `[% %]` and `[# #]` as minijinja delimiters, so GitHub's own
//! `${{ }}` expressions pass through untouched. Every context value is validated before
//! rendering (a closed character set per field), so nothing a user passes can break the YAML
//! or inject a step. This module does no I/O and never prints: the caller reads and writes
//! the file.
//!
//! ```
//! use ecs_core::github::{self, WorkflowContext};
//!
//! // What `cargo ecs init --github` does (H6, `commands/init.rs`):
//! let mut ctx = WorkflowContext::new("hello", "production", "eu-west-1");
//! ctx.working_directory = "services/hello".into();
//! let yaml = github::render(&ctx).expect("valid context");
//! assert!(yaml.contains("cargo ecs deploy --env production --package hello"));
//! let path = ctx.workflow_path(); // ".github/workflows/deploy-hello-production.yml"
//!
//! // `--check`: `None` when the file on disk is what the template renders.
//! let on_disk = yaml.clone();
//! assert_eq!(github::check(&yaml, &on_disk), None);
//! # assert_eq!(path, ".github/workflows/deploy-hello-production.yml");
//! ```

use miette::Diagnostic;
use serde::Serialize;

/// The embedded workflow template (`templates/github/deploy.yml`). Read through the
/// `ecs-core/templates` symlink to the workspace's `templates/`, so `cargo package` ships it
/// inside the crate (a path outside the package would break `cargo publish`).
pub const TEMPLATE: &str = include_str!("../templates/github/deploy.yml");

/// The GitHub Actions expression used for `role-to-assume` when no role ARN is given: an
/// Actions variable, so the account id stays out of the repository and each GitHub
/// environment can point at its own role.
pub const ROLE_ARN_VARIABLE: &str = "${{ vars.CARGO_ECS_ROLE_ARN }}";

/// Where release archives are downloaded from: `<repository>/releases/download`.
pub const RELEASES_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/releases/download");

/// The values the deploy workflow template is rendered from. Every field appears in the
/// rendered file; [`render`] validates them all first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowContext {
    /// The cargo package to deploy (`--package`).
    pub package: String,
    /// The named environment (`--env`); also the GitHub environment the job runs in, so its
    /// protection rules and variables apply, and the `sub` claim of the OIDC token names it.
    pub env: String,
    /// The AWS region the credentials are configured for.
    pub aws_region: String,
    /// The IAM role the job assumes; `None` renders [`ROLE_ARN_VARIABLE`].
    #[serde(serialize_with = "role_or_variable")]
    pub role_arn: Option<String>,
    /// The cargo-ecs release the workflow installs (a version without the leading `v`).
    pub cargo_ecs_version: String,
    /// The package directory relative to the repository root (`.` for the root).
    pub working_directory: String,
    /// The runner label; `ubuntu-24.04-arm` builds arm64 images natively.
    pub runs_on: String,
    /// A Rust target to `rustup target add` before deploying (the image's build target),
    /// when the runner's toolchain lacks it.
    pub rust_target: Option<String>,
    /// Base URL of the release downloads (`…/releases/download`); the workflow fetches
    /// `<base>/v<version>/cargo-ecs-<version>-<target>.tar.gz` and its `.sha256`.
    pub releases_url: String,
}

fn role_or_variable<S: serde::Serializer>(role: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(role.as_deref().unwrap_or(ROLE_ARN_VARIABLE))
}

impl WorkflowContext {
    /// A context with the defaults: role from the `CARGO_ECS_ROLE_ARN` Actions variable,
    /// this crate's version, the repository root as working directory, an x86_64 Ubuntu
    /// runner, no extra Rust target, and this project's GitHub releases.
    pub fn new(
        package: impl Into<String>,
        env: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        WorkflowContext {
            package: package.into(),
            env: env.into(),
            aws_region: region.into(),
            role_arn: None,
            cargo_ecs_version: env!("CARGO_PKG_VERSION").into(),
            working_directory: ".".into(),
            runs_on: "ubuntu-24.04".into(),
            rust_target: None,
            releases_url: RELEASES_URL.into(),
        }
    }

    /// Pick the runner for the image architecture, so the image is built natively.
    pub fn with_architecture(mut self, arch: crate::config::Architecture) -> Self {
        self.runs_on = match arch {
            crate::config::Architecture::X86_64 => "ubuntu-24.04",
            crate::config::Architecture::Arm64 => "ubuntu-24.04-arm",
        }
        .into();
        self
    }

    /// Where the workflow goes, relative to the repository root:
    /// `.github/workflows/deploy-<package>-<env>.yml`.
    pub fn workflow_path(&self) -> String {
        format!(".github/workflows/deploy-{}-{}.yml", self.package, self.env)
    }
}

/// Rendering the deploy workflow failed.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum GithubError {
    /// A context value that cannot go into the workflow.
    #[error("invalid {field} `{value}` for the GitHub workflow: {reason}")]
    #[diagnostic(code(cargo_ecs::github::invalid_value), help("{help}"))]
    InvalidValue {
        /// Which value (`package`, `env`, `aws_region`…).
        field: &'static str,
        /// The value as given.
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
        /// What to pass instead.
        help: &'static str,
    },
    /// The embedded template failed to render (a bug).
    #[error("cannot render the GitHub workflow template")]
    #[diagnostic(
        code(cargo_ecs::github::template),
        help("this is a bug in cargo ecs; please report it")
    )]
    Template(#[source] minijinja::Error),
}

/// Render the deploy workflow for `ctx`.
pub fn render(ctx: &WorkflowContext) -> Result<String, GithubError> {
    validate(ctx)?;
    let mut env = minijinja::Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .block_delimiters("[%", "%]")
        .variable_delimiters("[[", "]]")
        .comment_delimiters("[#", "#]")
        .build()
        .map_err(GithubError::Template)?;
    env.set_syntax(syntax);
    env.set_trim_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // minijinja JSON-escapes `.yml` templates by default; our values are validated plain
    // scalars, and quoting them would change the YAML.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_template("deploy.yml", TEMPLATE)
        .map_err(GithubError::Template)?;
    env.get_template("deploy.yml")
        .and_then(|t| t.render(ctx))
        .map_err(GithubError::Template)
}

/// Compare the rendered workflow with the file on disk: `None` when identical, otherwise a
/// unified diff from the file on disk to the rendered template (what `--check` prints before
/// suggesting `cargo ecs init --github` to rewrite it).
pub fn check(rendered: &str, on_disk: &str) -> Option<String> {
    if rendered == on_disk {
        return None;
    }
    let diff = similar::TextDiff::from_lines(on_disk, rendered);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header("on disk", "rendered by cargo ecs init --github")
            .to_string(),
    )
}

fn validate(ctx: &WorkflowContext) -> Result<(), GithubError> {
    let simple = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    field(
        "package",
        &ctx.package,
        !ctx.package.is_empty() && ctx.package.chars().all(simple),
        "a cargo package name is letters, digits, `-` and `_`",
        "pass the package name as in its Cargo.toml",
    )?;
    field(
        "env",
        &ctx.env,
        !ctx.env.is_empty() && ctx.env.chars().all(simple),
        "an environment name is letters, digits, `-` and `_`",
        "use the name of a [package.metadata.ecs.env.NAME] table, e.g. `production`",
    )?;
    let region_ok = {
        let parts: Vec<&str> = ctx.aws_region.split('-').collect();
        parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
    };
    field(
        "aws_region",
        &ctx.aws_region,
        region_ok,
        "not an AWS region code",
        "pass a region code such as `us-east-1` or `eu-west-1`",
    )?;
    if let Some(role) = &ctx.role_arn {
        let chars_ok = role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-:/".contains(c));
        let shape_ok =
            role.starts_with("arn:aws") && role.contains(":iam::") && role.contains(":role/");
        field(
            "role_arn",
            role,
            chars_ok && shape_ok,
            "not an IAM role ARN",
            "pass `arn:aws:iam::<account-id>:role/<name>`, or none to use the CARGO_ECS_ROLE_ARN Actions variable",
        )?;
    }
    field(
        "cargo_ecs_version",
        &ctx.cargo_ecs_version,
        ctx.cargo_ecs_version
            .starts_with(|c: char| c.is_ascii_digit())
            && ctx
                .cargo_ecs_version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c)),
        "not a release version",
        "pass a version such as `0.1.0` (without the leading `v`)",
    )?;
    let wd = &ctx.working_directory;
    let wd_ok = !wd.is_empty()
        && !wd.starts_with('/')
        && wd.split('/').all(|part| !part.is_empty() && part != "..")
        && wd
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    field(
        "working_directory",
        wd,
        wd_ok,
        "must be a plain path inside the repository (letters, digits, `.`, `_`, `-`, `/`; no `..`)",
        "pass the package directory relative to the repository root, or `.`",
    )?;
    field(
        "runs_on",
        &ctx.runs_on,
        !ctx.runs_on.is_empty()
            && ctx
                .runs_on
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
        "not a runner label",
        "use a GitHub-hosted runner label such as `ubuntu-24.04` or `ubuntu-24.04-arm`",
    )?;
    if let Some(target) = &ctx.rust_target {
        field(
            "rust_target",
            target,
            !target.is_empty()
                && target
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "not a Rust target triple",
            "pass a triple such as `x86_64-unknown-linux-musl`",
        )?;
    }
    let url = &ctx.releases_url;
    field(
        "releases_url",
        url,
        url.starts_with("https://")
            && url.len() > "https://".len()
            && url
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/:~".contains(c)),
        "must be an https URL of plain characters",
        "pass the `…/releases/download` URL of a GitHub repository",
    )?;
    Ok(())
}

fn field(
    field: &'static str,
    value: &str,
    ok: bool,
    reason: &'static str,
    help: &'static str,
) -> Result<(), GithubError> {
    if ok {
        Ok(())
    } else {
        Err(GithubError::InvalidValue {
            field,
            value: value.to_owned(),
            reason,
            help,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed example of a rendered workflow; `cargo xtask lint-workflows` runs
    /// actionlint on it, and this test keeps it identical to what [`render`] produces.
    const EXAMPLE_PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates/github/deploy.example.yml"
    );

    fn example() -> WorkflowContext {
        let mut ctx = WorkflowContext::new("hello", "production", "us-east-1");
        ctx.working_directory = "examples/hello".into();
        ctx.cargo_ecs_version = "0.1.0".into();
        ctx
    }

    #[test]
    fn example_file_is_what_render_produces() {
        let rendered = render(&example()).unwrap();
        if std::env::var_os("CARGO_ECS_BLESS").is_some() {
            std::fs::write(EXAMPLE_PATH, &rendered).unwrap();
            return;
        }
        let on_disk = std::fs::read_to_string(EXAMPLE_PATH).unwrap_or_default();
        if let Some(diff) = check(&rendered, &on_disk) {
            panic!(
                "templates/github/deploy.example.yml is stale; rerun with CARGO_ECS_BLESS=1\n{diff}"
            );
        }
    }

    #[test]
    fn render_keeps_github_expressions_and_fills_every_field() {
        let mut ctx = example();
        ctx.role_arn = Some("arn:aws:iam::123456789012:role/deploy-hello".into());
        ctx.rust_target = Some("x86_64-unknown-linux-musl".into());
        ctx = ctx.with_architecture(crate::config::Architecture::Arm64);
        let yaml = render(&ctx).unwrap();
        for needle in [
            "name: Deploy hello to production\n",
            "  id-token: write\n",
            "  contents: read\n",
            "  group: cargo-ecs-deploy-production-hello\n",
            "    runs-on: ubuntu-24.04-arm\n",
            "    environment: production\n",
            "        working-directory: examples/hello\n",
            "          role-to-assume: arn:aws:iam::123456789012:role/deploy-hello\n",
            "          aws-region: us-east-1\n",
            "          CARGO_ECS_VERSION: \"0.1.0\"\n",
            "run: rustup target add x86_64-unknown-linux-musl\n",
            "sha256sum --check \"${name}.tar.gz.sha256\"\n",
            "\"${CARGO_ECS_RELEASES}/v${CARGO_ECS_VERSION}/${file}\"",
            "run: cargo ecs deploy --env production --package hello\n",
        ] {
            assert!(yaml.contains(needle), "missing {needle:?} in\n{yaml}");
        }
        assert!(!yaml.contains("[["), "unrendered delimiter in\n{yaml}");
        assert!(!yaml.contains("[%"), "unrendered block in\n{yaml}");
        assert!(yaml.ends_with("--package hello\n"));
    }

    #[test]
    fn default_role_is_the_actions_variable() {
        let yaml = render(&example()).unwrap();
        assert!(yaml.contains("role-to-assume: ${{ vars.CARGO_ECS_ROLE_ARN }}\n"));
        assert!(!yaml.contains("rustup target add"));
        assert!(yaml.contains(&format!(
            "CARGO_ECS_RELEASES: \"{}\"",
            "https://github.com/cargo-ecs/cargo-ecs/releases/download"
        )));
    }

    #[test]
    fn rejects_values_that_could_break_the_yaml() {
        type Edit = Box<dyn Fn(&mut WorkflowContext)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "package",
                Box::new(|c| c.package = "hello\n    evil: 1".into()),
            ),
            ("env", Box::new(|c| c.env = "prod ${{ secrets.X }}".into())),
            ("env", Box::new(|c| c.env = String::new())),
            ("aws_region", Box::new(|c| c.aws_region = "mars".into())),
            (
                "aws_region",
                Box::new(|c| c.aws_region = "us-east-1; rm".into()),
            ),
            (
                "role_arn",
                Box::new(|c| c.role_arn = Some("deploy-role".into())),
            ),
            (
                "role_arn",
                Box::new(|c| c.role_arn = Some("arn:aws:iam::1:role/x\"y".into())),
            ),
            (
                "cargo_ecs_version",
                Box::new(|c| c.cargo_ecs_version = "v0.1.0".into()),
            ),
            (
                "working_directory",
                Box::new(|c| c.working_directory = "../x".into()),
            ),
            (
                "working_directory",
                Box::new(|c| c.working_directory = "/abs".into()),
            ),
            (
                "working_directory",
                Box::new(|c| c.working_directory = "a b".into()),
            ),
            ("runs_on", Box::new(|c| c.runs_on = "[self-hosted]".into())),
            (
                "rust_target",
                Box::new(|c| c.rust_target = Some("x y".into())),
            ),
            (
                "releases_url",
                Box::new(|c| c.releases_url = "http://x".into()),
            ),
        ];
        for (want, edit) in cases {
            let mut ctx = example();
            edit(&mut ctx);
            match render(&ctx) {
                Err(GithubError::InvalidValue { field, help, .. }) => {
                    assert_eq!(field, want);
                    assert!(!help.is_empty());
                }
                other => panic!("{want}: expected InvalidValue, got {other:?}"),
            }
        }
    }

    #[test]
    fn error_names_the_field_and_the_value() {
        let mut ctx = example();
        ctx.aws_region = "Frankfurt".into();
        let err = render(&ctx).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid aws_region `Frankfurt` for the GitHub workflow: not an AWS region code"
        );
        let help = err.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("us-east-1"), "{help}");
    }

    #[test]
    fn check_reports_drift_as_a_unified_diff() {
        let rendered = render(&example()).unwrap();
        assert_eq!(check(&rendered, &rendered), None);
        let edited = rendered.replace("timeout-minutes: 45", "timeout-minutes: 10");
        let diff = check(&rendered, &edited).unwrap();
        assert!(
            diff.starts_with("--- on disk\n+++ rendered by cargo ecs init --github\n"),
            "{diff}"
        );
        assert!(diff.contains("\n-    timeout-minutes: 10\n"), "{diff}");
        assert!(diff.contains("\n+    timeout-minutes: 45\n"), "{diff}");
        assert!(diff.contains("@@ "), "{diff}");
    }

    #[test]
    fn workflow_path_names_package_and_env() {
        assert_eq!(
            example().workflow_path(),
            ".github/workflows/deploy-hello-production.yml"
        );
    }
}
