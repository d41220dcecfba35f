//! Finds the package to deploy, the way cargo does (`-p`, `--manifest-path`, the member in the
//! current directory), through `cargo metadata --no-deps`, and returns its raw
//! `[package.metadata.ecs]` and `[workspace.metadata.ecs]` JSON together with the manifest
//! texts (for line numbers in errors). Shell code: it runs cargo and reads files. It does not
//! interpret the metadata; that is [`crate::config`]'s job.

use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, Package, TargetKind};
use serde_json::Value;

use crate::error::WorkspaceError;

/// Which package the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `-p/--package` (a name, optionally `name@version`).
    pub package: Option<String>,
    /// The current directory.
    pub cwd: PathBuf,
}

/// The chosen package and its workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root directory.
    pub root: PathBuf,
    /// The workspace root's Cargo.toml.
    pub root_manifest_path: PathBuf,
    /// Text of the workspace root's Cargo.toml (for spans in errors).
    pub root_manifest_text: String,
    /// The target directory (`target/`).
    pub target_directory: PathBuf,
    /// Package name.
    pub package: String,
    /// Package version.
    pub version: String,
    /// The package's Cargo.toml.
    pub manifest_path: PathBuf,
    /// Text of the package's Cargo.toml (for spans in errors).
    pub manifest_text: String,
    /// The package's root directory.
    pub package_root: PathBuf,
    /// The package's binary targets.
    pub bins: Vec<String>,
    /// `[package.metadata.ecs]` as JSON (`Null` when absent).
    pub metadata: Value,
    /// `[workspace.metadata.ecs]` as JSON (`Null` when absent).
    pub workspace_metadata: Value,
}

impl Workspace {
    /// Reads a file of the workspace (the `task-definition` template). Kept here so that
    /// `config` itself touches no file system.
    pub fn read_file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    /// Whether something (a file, a directory, a link) is at `path`: an `image.include`
    /// source is checked with the configuration, before anything is built.
    pub fn path_exists(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }

    /// Builds a workspace description from parts (tests, and callers that already ran cargo
    /// metadata). `manifest_text` is parsed for `[package]` name/version if present.
    pub fn from_manifest_text(manifest_path: &Path, manifest_text: &str) -> Workspace {
        let parsed: Option<toml::Table> = toml::from_str(manifest_text).ok();
        let pkg = parsed
            .as_ref()
            .and_then(|t| t.get("package"))
            .and_then(|p| p.as_table());
        let text_of = |key: &str| {
            pkg.and_then(|p| p.get(key))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let to_json = |v: Option<&toml::Value>| -> Value {
            v.and_then(|v| serde_json::to_value(v).ok())
                .unwrap_or(Value::Null)
        };
        let metadata = to_json(
            pkg.and_then(|p| p.get("metadata"))
                .and_then(|m| m.get("ecs")),
        );
        let workspace_metadata = to_json(
            parsed
                .as_ref()
                .and_then(|t| t.get("workspace"))
                .and_then(|w| w.get("metadata"))
                .and_then(|m| m.get("ecs")),
        );
        let root = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let package = text_of("name");
        Workspace {
            root: root.clone(),
            root_manifest_path: manifest_path.to_path_buf(),
            root_manifest_text: manifest_text.to_string(),
            target_directory: root.join("target"),
            bins: vec![package.clone()],
            package,
            version: text_of("version"),
            manifest_path: manifest_path.to_path_buf(),
            manifest_text: manifest_text.to_string(),
            package_root: root,
            metadata,
            workspace_metadata,
        }
    }
}

/// Runs `cargo metadata --no-deps` and picks the package as cargo would.
pub fn load(selection: &Selection) -> Result<Workspace, WorkspaceError> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps().current_dir(&selection.cwd);
    if let Some(path) = &selection.manifest_path {
        let path = if path.is_absolute() {
            path.clone()
        } else {
            selection.cwd.join(path)
        };
        cmd.manifest_path(path);
    }
    let metadata = cmd.exec().map_err(WorkspaceError::Metadata)?;
    let package = choose(&metadata, selection)?;
    let root = metadata.workspace_root.clone().into_std_path_buf();
    let root_manifest_path = root.join("Cargo.toml");
    let manifest_path = package.manifest_path.clone().into_std_path_buf();
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| WorkspaceError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let manifest_text = read(&manifest_path)?;
    let root_manifest_text = if root_manifest_path == manifest_path {
        manifest_text.clone()
    } else {
        read(&root_manifest_path)?
    };
    Ok(Workspace {
        target_directory: metadata.target_directory.clone().into_std_path_buf(),
        package: package.name.to_string(),
        version: package.version.to_string(),
        package_root: manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        manifest_path,
        manifest_text,
        root,
        root_manifest_path,
        root_manifest_text,
        bins: bins(package),
        metadata: package.metadata.get("ecs").cloned().unwrap_or(Value::Null),
        workspace_metadata: metadata
            .workspace_metadata
            .get("ecs")
            .cloned()
            .unwrap_or(Value::Null),
    })
}

fn bins(package: &Package) -> Vec<String> {
    package
        .targets
        .iter()
        .filter(|t| t.kind.contains(&TargetKind::Bin))
        .map(|t| t.name.clone())
        .collect()
}

fn members(metadata: &Metadata) -> Vec<&Package> {
    metadata.workspace_packages()
}

fn deployable(package: &Package) -> bool {
    package.metadata.get("ecs").is_some() || !bins(package).is_empty()
}

/// Cargo's rules: `-p` wins; then a `--manifest-path` naming a package; then the member whose
/// directory holds the current directory; at a (virtual) root, the only deployable member.
fn choose<'m>(
    metadata: &'m Metadata,
    selection: &Selection,
) -> Result<&'m Package, WorkspaceError> {
    let members = members(metadata);
    let names = || {
        let mut names: Vec<String> = members.iter().map(|p| p.name.to_string()).collect();
        names.sort();
        names
    };
    if let Some(spec) = &selection.package {
        let (name, version) = match spec.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (spec.as_str(), None),
        };
        return members
            .iter()
            .copied()
            .find(|p| p.name.as_str() == name && version.is_none_or(|v| p.version.to_string() == v))
            .ok_or_else(|| WorkspaceError::NoSuchPackage {
                spec: spec.clone(),
                members: names(),
            });
    }
    let root = metadata.workspace_root.as_std_path();
    let start: PathBuf = match &selection.manifest_path {
        Some(path) => {
            let path = if path.is_absolute() {
                path.clone()
            } else {
                selection.cwd.join(path)
            };
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        }
        None => selection.cwd.clone(),
    };
    let start = start.canonicalize().unwrap_or(start);
    // The deepest member whose directory contains `start`.
    let mut best: Option<(&Package, usize)> = None;
    for package in &members {
        let Some(dir) = package.manifest_path.parent() else {
            continue;
        };
        let dir = dir.as_std_path();
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        if start.starts_with(&dir) {
            let depth = dir.components().count();
            if best.is_none_or(|(_, d)| depth > d) {
                best = Some((package, depth));
            }
        }
    }
    if let Some((package, _)) = best {
        return Ok(package);
    }
    let mut candidates: Vec<&Package> = members.iter().copied().filter(|p| deployable(p)).collect();
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(WorkspaceError::NoPackage {
            root: root.to_path_buf(),
        }),
        many => Err(WorkspaceError::Ambiguous {
            candidates: many.iter().map(|p| p.name.to_string()).collect(),
        }),
    }
}
