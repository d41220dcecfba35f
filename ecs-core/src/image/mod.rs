//! Daemonless, reproducible OCI images of a Cargo binary, and their push to ECR.
//!
//! [`build`] runs `cargo build` ([`build::cargo_build`]), checks the ELF, pulls the base image
//! when it is not `scratch` ([`base`]), and assembles deterministic layers ([`layer`]) and the
//! config and manifest ([`manifest`]). [`push`] gets ECR credentials, ensures the repository
//! and pushes only missing blobs through [`crate::registry::http`].
//! [`crate::registry::layout::write`] writes the same image as an OCI layout directory.
//!
//! Layers of a `scratch` image, in order: system files (`/etc/passwd`, `/etc/group` with the
//! non-root user, `/etc/nsswitch.conf`, a writable `/tmp`), the CA bundle (when
//! `ca-certificates`), then the app (`/app/<bin>` and the `include` files). Only the last
//! changes when the code changes, so a rebuild uploads only the app layer.

pub mod base;
pub mod build;
pub mod layer;
pub mod manifest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use build::CargoOptions;

use crate::aws::ecr::{self, EcrError, RepositorySettings};
use crate::config::{Architecture, BaseImage, Config, ContainerConfig, ImageConfig};
use crate::progress::Reporter;
use crate::registry::{Registry, RegistryAccess, RegistryError};
use layer::{Entry, LayerOptions};
use manifest::{LayerInfo, RuntimeSpec};

/// A content digest, `sha256:<hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Digest(pub String);

impl Digest {
    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Image errors.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImageError {
    /// cargo could not be started.
    #[error("cannot run `cargo build`")]
    #[diagnostic(
        code(cargo_ecs::image::cargo_spawn),
        help("is cargo on PATH (or $CARGO set)?")
    )]
    CargoSpawn {
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// cargo failed.
    #[error("`cargo build` failed (exit status {status})")]
    #[diagnostic(
        code(cargo_ecs::image::cargo_failed),
        help("cargo's own errors are printed above")
    )]
    CargoFailed {
        /// Exit status.
        status: i32,
    },
    /// cargo built no such binary.
    #[error("`cargo build` produced no binary named `{bin}`")]
    #[diagnostic(
        code(cargo_ecs::image::no_binary),
        help("set `image.bin` in [package.metadata.ecs] or pass `--bin NAME`")
    )]
    NoBinary {
        /// The wanted binary.
        bin: String,
    },
    /// The Rust target for the architecture is missing.
    #[error("the Rust target `{triple}` for architecture {architecture} is not installed")]
    #[diagnostic(
        code(cargo_ecs::image::target_missing),
        help(
            "run `rustup target add {triple}` (and install a linker for it), or set `architecture` to match this machine"
        )
    )]
    TargetNotInstalled {
        /// The triple.
        triple: String,
        /// OCI architecture name.
        architecture: &'static str,
    },
    /// `--target` names another CPU, or another OS, than the image's `architecture`.
    #[error("--target {triple} does not build for linux/{architecture}, the image's architecture")]
    #[diagnostic(
        code(cargo_ecs::image::target_mismatch),
        help(
            "give a Linux target for {rust_arch} (such as {rust_arch}-unknown-linux-gnu), or set `architecture` to the target's CPU"
        )
    )]
    TargetMismatch {
        /// The --target given.
        triple: String,
        /// OCI architecture name.
        architecture: &'static str,
        /// The CPU name in Rust target triples.
        rust_arch: &'static str,
    },
    /// The binary is not an ELF file.
    #[error("{} is not a Linux ELF executable: {reason}", path.display())]
    #[diagnostic(
        code(cargo_ecs::image::not_elf),
        help("build for a Linux target (`--target x86_64-unknown-linux-gnu`)")
    )]
    NotElf {
        /// The file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// ELF machine mismatch.
    #[error("{} is not built for {architecture}", path.display())]
    #[diagnostic(
        code(cargo_ecs::image::wrong_architecture),
        help("make `--target` match `architecture`, or drop `--target`")
    )]
    WrongArchitecture {
        /// The file.
        path: PathBuf,
        /// Wanted.
        architecture: &'static str,
    },
    /// A dynamic binary cannot run on scratch.
    #[error(
        "{} is dynamically linked (interpreter {interpreter}) and cannot run on a `scratch` base",
        path.display()
    )]
    #[diagnostic(
        code(cargo_ecs::image::dynamic_on_scratch),
        help(
            "link it statically (drop --target/RUSTFLAGS overrides so cargo ecs adds `-C target-feature=+crt-static`, or use a musl target), or set `image.base` to an image with a libc such as `debian:bookworm-slim`"
        )
    )]
    DynamicOnScratch {
        /// The file.
        path: PathBuf,
        /// PT_INTERP.
        interpreter: String,
    },
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    #[diagnostic(code(cargo_ecs::image::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An include path does not exist.
    #[error("`image.include` source {} does not exist", path.display())]
    #[diagnostic(
        code(cargo_ecs::image::include_missing),
        help("`from` is relative to the package directory (next to Cargo.toml)")
    )]
    IncludeMissing {
        /// The path.
        path: PathBuf,
    },
    /// A single file included as `/`.
    #[error("`package.metadata.ecs.image.include.{index}.to` = \"/\" puts the file {} at the image's root directory", path.display())]
    #[diagnostic(
        code(cargo_ecs::image::include_file_at_root),
        help("name the file's path in the image, such as to = \"/app/config.toml\"")
    )]
    IncludeFileAtRoot {
        /// The include's position in `image.include`.
        index: usize,
        /// The file.
        path: PathBuf,
    },
    /// A socket, FIFO or device in an include.
    #[error("`image.include` reaches {}, which is not a regular file, directory or link", path.display())]
    #[diagnostic(
        code(cargo_ecs::image::include_special),
        help(
            "sockets, FIFOs and devices cannot go into an image layer; move it out of the included directory"
        )
    )]
    IncludeSpecial {
        /// The path.
        path: PathBuf,
    },
    /// An include lands on the binary's path.
    #[error("`package.metadata.ecs.image.include.{index}.to` puts {path} over the binary {binary}")]
    #[diagnostic(
        code(cargo_ecs::image::include_covers_binary),
        help("the entrypoint is {binary}; give the include another `to`, such as \"/app/static\"")
    )]
    IncludeCoversBinary {
        /// The include's position in `image.include`.
        index: usize,
        /// The path the include writes.
        path: String,
        /// The binary's path.
        binary: String,
    },
    /// Several problems with `image.include`, all found before anything was built.
    #[error("`image.include` has {} problems", problems.len())]
    #[diagnostic(code(cargo_ecs::image::includes))]
    Includes {
        /// Each problem.
        #[related]
        problems: Vec<ImageError>,
    },
    /// An include puts a file or link where the image has a directory.
    #[error(
        "`package.metadata.ecs.image.include.{index}.to` = \"{to}\" puts a {what} at {path}, which is a directory of the image"
    )]
    #[diagnostic(
        code(cargo_ecs::image::include_replaces_dir),
        help(
            "a {what} cannot replace the directory {path} (the image's own files are under it); put it inside, such as to = \"{path}/{name}\""
        )
    )]
    IncludeReplacesDir {
        /// The include's position in `image.include`.
        index: usize,
        /// The include's `to`.
        to: String,
        /// `file` or `link`.
        what: &'static str,
        /// The directory it would replace.
        path: String,
        /// The included file's own name, for the suggestion.
        name: String,
    },
    /// No host CA bundle.
    #[error("no CA bundle at {}", path.display())]
    #[diagnostic(
        code(cargo_ecs::image::ca_missing),
        help(
            "install the host's `ca-certificates` package, or set `image.ca-certificates = false`"
        )
    )]
    CaBundleMissing {
        /// Where we looked.
        path: PathBuf,
    },
    /// The host CA bundle is empty.
    #[error("the CA bundle at {} is empty", path.display())]
    #[diagnostic(
        code(cargo_ecs::image::ca_empty),
        help(
            "reinstall the host's `ca-certificates` package (`update-ca-certificates` fills the bundle), or set `image.ca-certificates = false`"
        )
    )]
    CaBundleEmpty {
        /// The bundle.
        path: PathBuf,
    },
    /// `SOURCE_DATE_EPOCH` is not a time.
    #[error("SOURCE_DATE_EPOCH is `{value}`, which is not a number of seconds since the epoch")]
    #[diagnostic(
        code(cargo_ecs::image::source_date_epoch),
        help(
            "set it to a whole number of seconds since 1970-01-01 UTC (at most 253402207200, 9999-12-30T22:00:00Z), such as `$(git log -1 --format=%ct)`, or unset it"
        )
    )]
    BadSourceDateEpoch {
        /// The variable's value.
        value: String,
    },
    /// Invalid base reference.
    #[error("invalid base image reference `{reference}`")]
    #[diagnostic(
        code(cargo_ecs::image::bad_base),
        help(
            "use `scratch` or a reference like `debian:bookworm-slim` or `public.ecr.aws/docker/library/debian@sha256:…`"
        )
    )]
    BadBase {
        /// The reference.
        reference: String,
    },
    /// No matching platform in the base's index.
    #[error("base image `{reference}` has no linux/{architecture} image")]
    #[diagnostic(
        code(cargo_ecs::image::base_platform),
        help("choose a base image published for linux/{architecture}, or change `architecture`")
    )]
    BasePlatform {
        /// The reference.
        reference: String,
        /// Wanted.
        architecture: &'static str,
    },
    /// JSON (de)serialization.
    #[error("invalid image JSON: {message}")]
    #[diagnostic(code(cargo_ecs::image::json))]
    Json {
        /// Message.
        message: String,
    },
    /// Layer writing failed.
    #[error("cannot write an image layer")]
    #[diagnostic(code(cargo_ecs::image::layer))]
    Layer {
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A background task died.
    #[error("image assembly task failed: {message}")]
    #[diagnostic(code(cargo_ecs::image::task))]
    Task {
        /// Message.
        message: String,
    },
    /// Registry.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Registry(#[from] RegistryError),
    /// ECR.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ecr(#[from] EcrError),
}

impl ImageError {
    pub(crate) fn json(e: impl std::fmt::Display) -> Self {
        ImageError::Json {
            message: e.to_string(),
        }
    }
    pub(crate) fn spec(e: impl std::fmt::Display) -> Self {
        ImageError::Json {
            message: e.to_string(),
        }
    }
}

/// Where a blob already lives (a base image layer), for cross-repository mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobOrigin {
    /// Registry host.
    pub host: String,
    /// Repository on that host.
    pub repository: String,
}

/// A blob of the image.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Media type.
    pub media_type: String,
    /// Digest.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Contents.
    pub data: bytes::Bytes,
    /// Where it came from (base layers).
    pub origin: Option<BlobOrigin>,
}

impl Blob {
    fn new(media_type: &str, data: bytes::Bytes, digest: Digest) -> Blob {
        Blob {
            media_type: media_type.to_string(),
            size: data.len() as u64,
            digest,
            data,
            origin: None,
        }
    }
}

/// A finished image: layers (base first), config and manifest.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    /// Layers, base first.
    pub layers: Vec<Blob>,
    /// The config blob.
    pub config: Blob,
    /// Manifest bytes.
    pub manifest: Arc<[u8]>,
    /// Manifest media type.
    pub manifest_media_type: String,
    /// Manifest digest.
    pub manifest_digest: Digest,
    /// Tags to apply on push / in a layout.
    pub tags: Vec<String>,
    /// The packaged binary.
    pub binary: PathBuf,
    /// The pinned base (`host/repo@sha256:…`), `None` for scratch.
    pub base: Option<String>,
    /// Things the user should know (e.g. where the CA bundle came from).
    pub notes: Vec<String>,
}

impl BuiltImage {
    /// The manifest digest (what deploys pin).
    pub fn digest(&self) -> &Digest {
        &self.manifest_digest
    }
}

/// Everything [`build`] needs, as plain values (testable without a workspace).
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The package's Cargo.toml.
    pub manifest_path: PathBuf,
    /// Package version (label `org.opencontainers.image.version`).
    pub version: String,
    /// `[package.metadata.ecs.image]`.
    pub image: ImageConfig,
    /// `[package.metadata.ecs.container]` (command, environment, port).
    pub container: ContainerConfig,
    /// CPU architecture.
    pub architecture: Architecture,
    /// `cargo build` pass-through options.
    pub cargo: CargoOptions,
    /// `CARGO_TARGET_DIR` override.
    pub target_dir: Option<PathBuf>,
    /// `SOURCE_DATE_EPOCH` (mtimes and `created`); `None` = 0.
    pub source_date_epoch: Option<u64>,
    /// Label `org.opencontainers.image.source`.
    pub source: Option<String>,
    /// Label `org.opencontainers.image.revision`.
    pub revision: Option<String>,
    /// Known registries (endpoint override, credentials) for pulling the base image.
    pub registries: Vec<RegistryAccess>,
    /// gzip level for our layers.
    pub compression_level: u32,
    /// Where the host CA bundle is read from.
    pub ca_bundle: PathBuf,
}

/// The host CA bundle cargo-ecs copies into scratch images (Debian/Ubuntu path).
pub const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl BuildRequest {
    /// A request with defaults for everything not in the arguments.
    pub fn new(
        manifest_path: impl Into<PathBuf>,
        version: impl Into<String>,
        image: ImageConfig,
        container: ContainerConfig,
        architecture: Architecture,
    ) -> BuildRequest {
        BuildRequest {
            manifest_path: manifest_path.into(),
            version: version.into(),
            image,
            container,
            architecture,
            cargo: CargoOptions::default(),
            target_dir: None,
            source_date_epoch: None,
            source: None,
            revision: None,
            registries: Vec::new(),
            compression_level: LayerOptions::default().level,
            ca_bundle: PathBuf::from(HOST_CA_BUNDLE),
        }
    }

    /// From the resolved config, with labels from git and `SOURCE_DATE_EPOCH` from the
    /// environment (shell: reads both).
    ///
    /// An invalid `SOURCE_DATE_EPOCH` is an error, as the reproducible-builds spec asks.
    pub fn from_config(config: &Config) -> Result<BuildRequest, ImageError> {
        let mut req = BuildRequest::new(
            &config.manifest_path,
            &config.version,
            config.image.clone(),
            config.container.clone(),
            config.architecture,
        );
        req.source_date_epoch = source_date_epoch(
            std::env::var_os("SOURCE_DATE_EPOCH")
                .map(|v| v.to_string_lossy().into_owned())
                .as_deref(),
        )?;
        let dir = req.package_dir();
        req.revision = git(&dir, &["rev-parse", "HEAD"]);
        req.source = git(&dir, &["remote", "get-url", "origin"]);
        Ok(req)
    }

    /// The directory holding Cargo.toml.
    pub fn package_dir(&self) -> PathBuf {
        self.manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The binary target name.
    pub fn bin(&self) -> &str {
        &self.image.bin
    }
}

/// The value of `SOURCE_DATE_EPOCH`: unset or empty is `None`; anything but a whole number
/// of seconds that is a time (at most 9999-12-30T22:00:00Z, the timestamp range) is an error naming the value, as
/// <https://reproducible-builds.org/specs/source-date-epoch/> asks.
pub fn source_date_epoch(value: Option<&str>) -> Result<Option<u64>, ImageError> {
    let Some(raw) = value else { return Ok(None) };
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let bad = || ImageError::BadSourceDateEpoch {
        value: raw.to_string(),
    };
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let secs: u64 = v.parse().map_err(|_| bad())?;
    let in_range = i64::try_from(secs)
        .ok()
        .is_some_and(|s| jiff::Timestamp::from_second(s).is_ok());
    if in_range { Ok(Some(secs)) } else { Err(bad()) }
}

/// The host CA bundle's contents; a missing or empty bundle is an error (an empty one would
/// give an image in which no TLS connection verifies).
fn read_ca_bundle(path: &Path) -> Result<Vec<u8>, ImageError> {
    let ca = std::fs::read(path).map_err(|_| ImageError::CaBundleMissing {
        path: path.to_path_buf(),
    })?;
    if ca.iter().all(u8::is_ascii_whitespace) {
        return Err(ImageError::CaBundleEmpty {
            path: path.to_path_buf(),
        });
    }
    Ok(ca)
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// Builds the binary and assembles the image.
pub async fn build(req: &BuildRequest) -> Result<BuiltImage, ImageError> {
    // A mistake in `image.include` is found before the compiler runs, all of it at once; the
    // entries found then are the ones assembled (the trees are walked once).
    let included = checked_include_sets(req)?;
    let binary = match &req.cargo.prebuilt {
        Some(p) => p.clone(),
        None => {
            let r = req.clone();
            tokio::task::spawn_blocking(move || {
                build::cargo_build(&build::CargoBuild {
                    manifest_path: &r.manifest_path,
                    bin: r.bin(),
                    target_dir: r.target_dir.as_deref(),
                    architecture: r.architecture,
                    needs_static: r.image.base == BaseImage::Scratch,
                    options: &r.cargo,
                })
            })
            .await
            .map_err(|e| ImageError::Task {
                message: e.to_string(),
            })??
        }
    };
    let base = match &req.image.base {
        BaseImage::Scratch => None,
        BaseImage::Reference(r) => Some(base::pull(r, req.architecture, &req.registries).await?),
    };
    let r = req.clone();
    tokio::task::spawn_blocking(move || assemble_with(&r, &binary, base.as_ref(), included))
        .await
        .map_err(|e| ImageError::Task {
            message: e.to_string(),
        })?
}

fn read(path: &Path) -> Result<Vec<u8>, ImageError> {
    std::fs::read(path).map_err(|source| ImageError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `/etc/passwd` and `/etc/group` for a scratch image whose process runs as `user`
/// (`USER[:GROUP]`, each an id or a name), as distroless/static carries them: `root` and
/// `nobody`, plus the user and the group the string names, so that the runtime can resolve
/// every name in it. No name is written twice.
pub fn system_files(user: &str) -> (String, String) {
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    // A name we know has its usual id; any other user name is given 65532, the distroless
    // non-root id. A number is used as it is.
    let known = |name: &str| match name {
        "root" => Some(0),
        "nobody" | "nogroup" => Some(65534),
        "nonroot" => Some(65532),
        _ => None,
    };
    let uid: u32 = u.parse().ok().or_else(|| known(u)).unwrap_or(65532);
    let user_name = match uid {
        _ if u.parse::<u32>().is_err() => u.to_string(),
        0 => "root".into(),
        65534 => "nobody".into(),
        65532 => "nonroot".into(),
        _ => "app".into(),
    };
    let (gid, group_name) = match g {
        None => (uid, user_name.clone()),
        Some(g) => match g.parse::<u32>() {
            Ok(0) => (0, "root".into()),
            Ok(65534) => (65534, "nobody".into()),
            Ok(gid) if gid == uid => (gid, user_name.clone()),
            Ok(gid) => (gid, format!("{user_name}-group")),
            // A group name we do not know gets the user's id as the user's own group, but
            // never root's or nobody's: those ids already have their groups.
            Err(_) => {
                let own = if uid == 0 || uid == 65534 { 65532 } else { uid };
                (known(g).unwrap_or(own), g.to_string())
            }
        },
    };
    let mut passwd = vec![
        (
            "root".to_string(),
            "x:0:0:root:/root:/sbin/nologin".to_string(),
        ),
        (
            "nobody".to_string(),
            "x:65534:65534:nobody:/nonexistent:/sbin/nologin".to_string(),
        ),
    ];
    let mut group = vec![
        ("root".to_string(), "x:0:".to_string()),
        ("nobody".to_string(), "x:65534:".to_string()),
    ];
    // The user's line unless root or nobody already is it (by name or, for a number, by id).
    if !passwd.iter().any(|(n, _)| *n == user_name) {
        passwd.push((
            user_name.clone(),
            format!("x:{uid}:{gid}:{user_name}:/tmp:/sbin/nologin"),
        ));
    }
    if !group.iter().any(|(n, _)| *n == group_name) {
        group.push((group_name.clone(), format!("x:{gid}:")));
    }
    let text = |lines: Vec<(String, String)>| {
        lines
            .into_iter()
            .map(|(name, rest)| format!("{name}:{rest}\n"))
            .collect::<String>()
    };
    (text(passwd), text(group))
}

/// The include entries: files and directory trees under `to`.
///
/// Symbolic links inside an included directory are stored as links, as `COPY` in a
/// Dockerfile stores them: the image gets exactly the tree you have, a link back up the tree
/// cannot make the walk loop, and a link to a host file does not copy that file into the
/// image. The `from` path itself is followed when it is a link. Sockets, FIFOs and devices
/// cannot be carried in a layer and are an error rather than silently left out.
#[cfg(test)]
fn include_sets(req: &BuildRequest) -> Result<Vec<Vec<Entry>>, ImageError> {
    req.image
        .include
        .iter()
        .enumerate()
        .map(|(index, inc)| include_set(req, index, inc))
        .collect()
}

/// The entries of the include at `index`.
fn include_set(
    req: &BuildRequest,
    index: usize,
    inc: &crate::config::Include,
) -> Result<Vec<Entry>, ImageError> {
    let mut out = Vec::new();
    let from = req.package_dir().join(&inc.from);
    let meta = std::fs::metadata(&from).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ImageError::IncludeMissing { path: from.clone() }
        } else {
            ImageError::Read {
                path: from.clone(),
                source,
            }
        }
    })?;
    let to = inc.to.trim_end_matches('/');
    if meta.is_file() {
        if to.is_empty() {
            return Err(ImageError::IncludeFileAtRoot {
                index,
                path: from.clone(),
            });
        }
        out.push(file_entry(&from, to, &meta)?);
    } else if meta.is_dir() {
        out.push(Entry::dir(to, 0o755));
        include_dir(&from, to, &mut out)?;
    } else {
        return Err(ImageError::IncludeSpecial { path: from.clone() });
    }
    Ok(out)
}

/// The directories of the layers cargo-ecs writes itself, with their parents: `app`, and
/// on scratch `etc`, `tmp` and the CA bundle's.
fn own_dirs(req: &BuildRequest) -> Vec<&'static str> {
    let mut dirs = vec!["app"];
    if req.image.base == BaseImage::Scratch {
        dirs.extend(["etc", "tmp"]);
        if req.image.ca_certificates {
            dirs.extend(["etc/ssl", "etc/ssl/certs"]);
        }
    }
    dirs
}

/// The entries of each include, once every problem of `image.include` is known to be absent:
/// a source that is missing or cannot go into a layer, a file at `/`, a path over the binary,
/// a file over a directory. All of them are reported at once; [`build`] runs this before
/// cargo, without building anything.
fn checked_include_sets(req: &BuildRequest) -> Result<Vec<Vec<Entry>>, ImageError> {
    let bin = req.bin().to_string();
    let mut problems = Vec::new();
    let mut sets = Vec::new();
    for (index, inc) in req.image.include.iter().enumerate() {
        match include_set(req, index, inc) {
            Ok(entries) => sets.push((index, inc, entries)),
            Err(e) => problems.push(e),
        }
    }
    for (index, _, entries) in &sets {
        if let Err(e) = check_binary_not_covered(&bin, *index, entries) {
            problems.push(e);
        }
    }
    let views: Vec<(usize, &Path, &str, &[Entry])> = sets
        .iter()
        .map(|(i, inc, es)| (*i, inc.from.as_path(), inc.to.as_str(), es.as_slice()))
        .collect();
    problems.extend(dirs_replaced(&own_dirs(req), &views));
    match problems.len() {
        0 => Ok(sets.into_iter().map(|(_, _, entries)| entries).collect()),
        1 => Err(problems.remove(0)),
        _ => Err(ImageError::Includes { problems }),
    }
}

#[cfg(test)]
fn include_entries(req: &BuildRequest) -> Result<Vec<Entry>, ImageError> {
    Ok(include_sets(req)?.into_iter().flatten().collect())
}

/// An include may not put a file or link where the image has a directory: the directory's
/// other entries would still be in the layer under a path that is now a file, which no
/// runtime can unpack (`/app`), or the file would silently replace what the image needs
/// there (`/tmp`, `/etc/ssl/certs`). The image's directories are `own_dirs` (those cargo-ecs
/// writes itself) and every directory an include makes or needs. `includes` holds each
/// include's `from`, `to` and entries, in order.
fn dirs_replaced(
    own_dirs: &[&str],
    includes: &[(usize, &Path, &str, &[Entry])],
) -> Vec<ImageError> {
    let mut problems = Vec::new();
    let mut dirs: std::collections::BTreeSet<&str> = own_dirs.iter().copied().collect();
    for e in includes.iter().flat_map(|(_, _, _, es)| es.iter()) {
        if e.kind == layer::EntryKind::Dir {
            dirs.insert(&e.path);
        }
        let mut p = e.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(parent);
            p = parent;
        }
    }
    for (index, from, to, entries) in includes {
        for e in entries.iter() {
            let what = match e.kind {
                layer::EntryKind::Dir => continue,
                layer::EntryKind::Symlink(_) => "link",
                _ => "file",
            };
            if dirs.contains(e.path.as_str()) {
                problems.push(ImageError::IncludeReplacesDir {
                    index: *index,
                    to: to.to_string(),
                    what,
                    path: format!("/{}", e.path),
                    name: from
                        .file_name()
                        .map_or_else(|| "NAME".into(), |n| n.to_string_lossy().into_owned()),
                });
            }
        }
    }
    problems
}

/// Adds the tree under `src` at `dst`, links as links.
fn include_dir(src: &Path, dst: &str, out: &mut Vec<Entry>) -> Result<(), ImageError> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImageError::Read { path, source }
    };
    for e in std::fs::read_dir(src).map_err(read_err(src))? {
        let e = e.map_err(read_err(src))?;
        let p = e.path();
        let target = format!("{dst}/{}", e.file_name().to_string_lossy());
        let meta = std::fs::symlink_metadata(&p).map_err(read_err(&p))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let link = std::fs::read_link(&p).map_err(read_err(&p))?;
            out.push(Entry::symlink(target, link.to_string_lossy()));
        } else if kind.is_dir() {
            out.push(Entry::dir(target.clone(), 0o755));
            include_dir(&p, &target, out)?;
        } else if kind.is_file() {
            out.push(file_entry(&p, &target, &meta)?);
        } else {
            return Err(ImageError::IncludeSpecial { path: p });
        }
    }
    Ok(())
}

/// An include may add files anywhere, even replace the system files, but not at or around
/// the binary's own path: the entrypoint would silently be something else.
fn check_binary_not_covered(bin: &str, index: usize, include: &[Entry]) -> Result<(), ImageError> {
    let bin_path = format!("app/{bin}");
    let covered = include
        .iter()
        .find(|e| e.path == bin_path || e.path.starts_with(&format!("{bin_path}/")));
    match covered {
        Some(e) => Err(ImageError::IncludeCoversBinary {
            index,
            path: format!("/{}", e.path),
            binary: format!("/{bin_path}"),
        }),
        None => Ok(()),
    }
}

fn file_entry(src: &Path, to: &str, meta: &std::fs::Metadata) -> Result<Entry, ImageError> {
    use std::os::unix::fs::PermissionsExt;
    let exec = meta.permissions().mode() & 0o111 != 0;
    // Read while the layer is written, not now: a big file is never held in memory whole.
    Ok(Entry::host_file(
        to,
        src,
        meta.len(),
        if exec { 0o755 } else { 0o644 },
    ))
}

/// Assembles the image around an already-built `binary` (no cargo, no network).
pub fn assemble(
    req: &BuildRequest,
    binary: &Path,
    base: Option<&base::PulledBase>,
) -> Result<BuiltImage, ImageError> {
    let included = checked_include_sets(req)?;
    assemble_with(req, binary, base, included)
}

/// [`assemble`] with the include entries already listed and checked.
fn assemble_with(
    req: &BuildRequest,
    binary: &Path,
    base: Option<&base::PulledBase>,
    included: Vec<Vec<Entry>>,
) -> Result<BuiltImage, ImageError> {
    let data = read(binary)?;
    build::check_binary(binary, &data, req.architecture, base.is_none())?;
    let mtime = req.source_date_epoch.unwrap_or(0);
    let opts = LayerOptions {
        mtime,
        level: req.compression_level,
    };
    let bin = req.bin().to_string();
    let mut notes = Vec::new();

    // (created_by, entries) for each of our layers.
    let mut ours: Vec<(String, Vec<Entry>)> = Vec::new();
    if base.is_none() {
        let (passwd, group) = system_files(&req.image.user);
        ours.push((
            "cargo-ecs: system files (passwd, group, nsswitch.conf, /tmp)".into(),
            vec![
                Entry::file("etc/passwd", passwd.into_bytes(), 0o644),
                Entry::file("etc/group", group.into_bytes(), 0o644),
                Entry::file("etc/nsswitch.conf", b"hosts: files dns\n".to_vec(), 0o644),
                Entry::dir("tmp", 0o1777),
            ],
        ));
        if req.image.ca_certificates {
            let ca = read_ca_bundle(&req.ca_bundle)?;
            notes.push(format!(
                "CA bundle taken from the host's {}",
                req.ca_bundle.display()
            ));
            ours.push((
                "cargo-ecs: CA certificates".into(),
                vec![Entry::file("etc/ssl/certs/ca-certificates.crt", ca, 0o644)],
            ));
        }
    }
    let mut app = vec![
        Entry::dir("app", 0o755),
        Entry::file(format!("app/{bin}"), data, 0o755),
    ];
    app.extend(included.into_iter().flatten());
    ours.push((format!("cargo-ecs: /app/{bin}"), app));

    // Compress layers in parallel: they are independent.
    let (names, entry_sets): (Vec<String>, Vec<Vec<Entry>>) = ours.into_iter().unzip();
    let built: Vec<Result<layer::Layer, std::io::Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = entry_sets
            .into_iter()
            .map(|entries| s.spawn(move || layer::build(entries, opts)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("layer thread panicked")))
            })
            .collect()
    });

    let mut layers: Vec<Blob> = Vec::new();
    let mut infos: Vec<LayerInfo> = Vec::new();
    if let Some(b) = base {
        for l in &b.layers {
            infos.push(LayerInfo {
                media_type: l.media_type.clone(),
                digest: l.digest.clone(),
                size: l.size,
                diff_id: Digest(String::new()),
                created_by: None,
            });
            layers.push(l.clone());
        }
    }
    for (created_by, l) in names.into_iter().zip(built) {
        let l = l.map_err(|source| ImageError::Layer { source })?;
        infos.push(LayerInfo {
            media_type: manifest::LAYER_GZIP.into(),
            digest: l.digest.clone(),
            size: l.bytes.len() as u64,
            diff_id: l.diff_id.clone(),
            created_by: Some(created_by),
        });
        layers.push(Blob::new(manifest::LAYER_GZIP, l.bytes, l.digest));
    }

    let mut labels = BTreeMap::new();
    labels.insert(
        "org.opencontainers.image.version".to_string(),
        req.version.clone(),
    );
    let created = manifest::rfc3339(mtime);
    labels.insert(
        "org.opencontainers.image.created".to_string(),
        created.clone(),
    );
    if let Some(s) = &req.source {
        labels.insert("org.opencontainers.image.source".to_string(), s.clone());
    }
    if let Some(r) = &req.revision {
        labels.insert("org.opencontainers.image.revision".to_string(), r.clone());
    }
    if let Some(b) = base.map(|b| &b.reference) {
        labels.insert("org.opencontainers.image.base.name".to_string(), b.clone());
    }
    let spec = RuntimeSpec {
        architecture: req.architecture,
        entrypoint: vec![format!("/app/{bin}")],
        cmd: req.container.command.clone(),
        env: req.container.environment.clone(),
        user: req.image.user.clone(),
        workdir: "/app".into(),
        port: req.container.port,
        labels,
        created,
    };
    let config_bytes: bytes::Bytes =
        manifest::config_json(base.map(|b| &b.config), &infos, &spec)?.into();
    let config = Blob::new(
        manifest::CONFIG,
        config_bytes.clone(),
        layer::sha256(&config_bytes),
    );
    let manifest_bytes: Arc<[u8]> =
        manifest::manifest_json(&config.digest, config.size, &infos)?.into();
    let manifest_digest = layer::sha256(&manifest_bytes);
    Ok(BuiltImage {
        layers,
        config,
        manifest: manifest_bytes,
        manifest_media_type: manifest::MANIFEST.into(),
        manifest_digest,
        tags: req.image.tags.clone(),
        binary: binary.to_path_buf(),
        base: base.map(|b| b.reference.clone()),
        notes,
    })
}

/// The region of a private ECR registry host
/// (`<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`), `None` for any other host.
pub fn ecr_host_region(host: &str) -> Option<&str> {
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let (account, rest) = rest.split_once(".dkr.")?;
    let region = rest
        .strip_prefix("ecr-fips.")
        .or_else(|| rest.strip_prefix("ecr."))?;
    let ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (ok && region_ok).then_some(region)
}

/// The host of `base` when it is stored in a private ECR registry, which needs an ECR token
/// to pull (`scratch` and every other registry: `None`).
pub fn ecr_base_host(base: &BaseImage) -> Option<String> {
    let BaseImage::Reference(r) = base else {
        return None;
    };
    let host = base::parse_reference(r)?.host;
    ecr_host_region(&host).is_some().then_some(host)
}

/// Credentials (and, for the registry that `registry_endpoint` stands in for, the endpoint)
/// to pull a base image from the private ECR registry `host`: a `GetAuthorizationToken` in
/// that registry's region.
pub async fn ecr_base_access(
    sdk: &aws_config::SdkConfig,
    host: &str,
    registry_endpoint: Option<&str>,
) -> Result<RegistryAccess, ImageError> {
    let region = ecr_host_region(host).unwrap_or_default().to_string();
    let sdk = if sdk.region().map(|r| r.as_ref()) == Some(region.as_str()) {
        sdk.clone()
    } else {
        sdk.to_builder()
            .region(aws_config::Region::new(region))
            .build()
    };
    let auth = ecr::authorize(&sdk).await?;
    Ok(RegistryAccess {
        host: host.to_string(),
        endpoint: registry_endpoint
            .filter(|_| auth.host == host)
            .map(str::to_string),
        credentials: Some(auth.credentials),
    })
}

/// Where and how to push.
#[derive(Debug, Clone)]
pub struct PushTarget {
    /// The SDK configuration (ECR control plane).
    pub sdk: aws_config::SdkConfig,
    /// ECR repository name.
    pub repository: String,
    /// Tags besides the digest.
    pub tags: Vec<String>,
    /// Tag mutability when creating the repository.
    pub tag_mutability: String,
    /// Scan on push when creating the repository.
    pub scan_on_push: bool,
    /// `--registry-endpoint`: send registry traffic for the ECR host here.
    pub registry_endpoint: Option<String>,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// `123456789012.dkr.ecr.us-east-1.amazonaws.com/hello@sha256:…`.
    pub reference: String,
    /// Blob bytes sent.
    pub bytes_uploaded: u64,
    /// Blobs sent.
    pub blobs_uploaded: usize,
    /// Blobs already present (or mounted).
    pub blobs_present: usize,
    /// Of those, blobs mounted from another repository of the registry.
    pub blobs_mounted: usize,
    /// Whether the repository was created.
    pub repository_created: bool,
}

/// Pushes to ECR: credentials, repository, missing blobs, manifest, tags.
pub async fn push(
    image: &BuiltImage,
    target: &PushTarget,
    reporter: &dyn Reporter,
) -> Result<PushOutcome, ImageError> {
    let auth = ecr::authorize(&target.sdk).await?;
    let repo = ecr::ensure_repository(
        &target.sdk,
        &target.repository,
        &RepositorySettings {
            scan_on_push: target.scan_on_push,
            tag_mutability: target.tag_mutability.clone(),
        },
    )
    .await?;
    if repo.created {
        reporter.note(&format!("created ECR repository {}", repo.uri));
    }
    let registry = Registry::new(&RegistryAccess {
        host: auth.host.clone(),
        endpoint: target.registry_endpoint.clone(),
        credentials: Some(auth.credentials),
    })?;
    let stats = registry
        .push_image(&target.repository, image, &target.tags, reporter)
        .await?;
    Ok(PushOutcome {
        reference: format!("{}/{}@{}", auth.host, target.repository, image.digest()),
        bytes_uploaded: stats.bytes_uploaded,
        blobs_uploaded: stats.blobs_uploaded,
        blobs_present: stats.blobs_present,
        blobs_mounted: stats.blobs_mounted,
        repository_created: repo.created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn include_request(dir: &Path, include: Vec<crate::config::Include>) -> BuildRequest {
        let image = ImageConfig {
            include,
            ca_certificates: false,
            ..ImageConfig::scratch("svc")
        };
        let container = ContainerConfig::named("svc");
        BuildRequest::new(
            dir.join("Cargo.toml"),
            "0.1.0",
            image,
            container,
            Architecture::X86_64,
        )
    }

    fn inc(from: &str, to: &str) -> crate::config::Include {
        crate::config::Include {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn includes_keep_links_as_links_and_refuse_what_a_layer_cannot_hold() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("static/css")).unwrap();
        std::fs::write(root.join("static/index.html"), "<h1>hi</h1>").unwrap();
        std::fs::write(root.join("static/css/site.css"), "h1{}").unwrap();
        std::fs::write(root.join("real.toml"), "a = 1").unwrap();
        // A link to a host file, a link back up the tree and a dangling one: all kept as
        // links, none followed (no host file copied in, no loop).
        symlink("/etc/passwd", root.join("static/hostpasswd")).unwrap();
        symlink("../..", root.join("static/css/up")).unwrap();
        symlink("nowhere", root.join("static/dangling")).unwrap();
        // The `from` itself may be a link: it is followed.
        symlink(root.join("static"), root.join("public")).unwrap();

        let req = include_request(root, vec![inc("public", "/app/static/")]);
        let mut got: Vec<(String, String)> = include_entries(&req)
            .unwrap()
            .into_iter()
            .map(|e| {
                let kind = match e.kind {
                    layer::EntryKind::Dir => "dir".to_string(),
                    layer::EntryKind::File(d) => format!("file {}", d.len()),
                    layer::EntryKind::HostFile(_, len) => format!("file {len}"),
                    layer::EntryKind::Symlink(t) => format!("-> {t}"),
                };
                (e.path, kind)
            })
            .collect();
        got.sort();
        let want: Vec<(String, String)> = [
            ("app/static", "dir"),
            ("app/static/css", "dir"),
            ("app/static/css/site.css", "file 4"),
            ("app/static/css/up", "-> ../.."),
            ("app/static/dangling", "-> nowhere"),
            ("app/static/hostpasswd", "-> /etc/passwd"),
            ("app/static/index.html", "file 11"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);

        // A missing source is "does not exist"; a single file at `/` has no name.
        let err = include_entries(&include_request(root, vec![inc("nope", "/x")])).unwrap_err();
        assert!(matches!(err, ImageError::IncludeMissing { .. }), "{err:?}");
        let err = include_entries(&include_request(root, vec![inc("real.toml", "/")])).unwrap_err();
        assert!(
            matches!(err, ImageError::IncludeFileAtRoot { .. }),
            "{err:?}"
        );
        // A directory at `/` is fine: its contents land at the root.
        let entries =
            include_entries(&include_request(root, vec![inc("static/css", "/")])).unwrap();
        assert!(entries.iter().any(|e| e.path == "site.css"));
        // A device is refused by name, not skipped.
        let err =
            include_entries(&include_request(root, vec![inc("/dev/null", "/x")])).unwrap_err();
        assert!(matches!(err, ImageError::IncludeSpecial { .. }), "{err:?}");
        // A FIFO inside a tree too.
        let fifo = root.join("static/pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = include_entries(&req).unwrap_err();
            assert!(
                matches!(&err, ImageError::IncludeSpecial { path } if path.ends_with("pipe")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn system_files_name_every_user_and_group_once() {
        fn line<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
            text.lines()
                .filter(|l| l.split(':').next() == Some(name))
                .collect()
        }
        let (p, g) = system_files("65532:65532");
        assert_eq!(
            line(&p, "nonroot"),
            ["nonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin"]
        );
        assert_eq!(line(&g, "nonroot"), ["nonroot:x:65532:"]);
        // Known ids and names are not written twice.
        for user in [
            "root",
            "0",
            "0:0",
            "nobody",
            "65534",
            "1000:0",
            "nobody:65534",
        ] {
            let (_, g) = system_files(user);
            assert_eq!(g.lines().count(), 2, "{user}: {g}");
        }
        for user in ["root", "0", "0:0", "nobody", "65534", "nobody:nogroup"] {
            let (p, _) = system_files(user);
            assert_eq!(p.lines().count(), 2, "{user}: {p}");
        }
        // Every name the user string mentions resolves, each name once in each file, and
        // an unknown group name never gets root's or nobody's id.
        for user in [
            "1000:nogroup",
            "nobody:web",
            "root:nonroot",
            "root:web",
            "alice:staff",
            "alice:alice",
            "nonroot:nogroup",
            "nobody:nogroup",
            "1000:2000",
            "65532",
        ] {
            let (p, g) = system_files(user);
            for text in [&p, &g] {
                let mut names: Vec<&str> =
                    text.lines().filter_map(|l| l.split(':').next()).collect();
                let all = names.len();
                names.sort();
                names.dedup();
                assert_eq!(names.len(), all, "{user}: duplicate name in\n{text}");
            }
            let (u, grp) = user.split_once(':').unwrap_or((user, ""));
            if u.parse::<u32>().is_err() {
                assert_eq!(line(&p, u).len(), 1, "{user}: {p}");
            }
            if !grp.is_empty() && grp.parse::<u32>().is_err() {
                assert_eq!(line(&g, grp).len(), 1, "{user}: {g}");
            }
        }
        assert_eq!(
            line(&system_files("1000:nogroup").1, "nogroup"),
            ["nogroup:x:65534:"]
        );
        assert_eq!(line(&system_files("nobody:web").1, "web"), ["web:x:65532:"]);
        assert_eq!(
            line(&system_files("root:nonroot").1, "nonroot"),
            ["nonroot:x:65532:"]
        );
        // Named user and group: both exist, so the runtime can resolve `alice:staff`.
        let (p, g) = system_files("alice:staff");
        assert_eq!(
            line(&p, "alice"),
            ["alice:x:65532:65532:alice:/tmp:/sbin/nologin"]
        );
        assert_eq!(line(&g, "staff"), ["staff:x:65532:"]);
        let (p, g) = system_files("1000:2000");
        assert_eq!(line(&p, "app"), ["app:x:1000:2000:app:/tmp:/sbin/nologin"]);
        assert_eq!(line(&g, "app-group"), ["app-group:x:2000:"]);
    }

    #[test]
    fn source_date_epoch_is_a_time_or_an_error_naming_it() {
        assert_eq!(source_date_epoch(None).unwrap(), None);
        assert_eq!(source_date_epoch(Some("")).unwrap(), None);
        assert_eq!(source_date_epoch(Some("0")).unwrap(), Some(0));
        assert_eq!(
            source_date_epoch(Some(" 1700000000\n")).unwrap(),
            Some(1_700_000_000)
        );
        assert_eq!(
            source_date_epoch(Some("4102444800")).unwrap(),
            Some(4_102_444_800)
        );
        for bad in [
            "abc",
            "-5",
            "+5",
            "1.5",
            "1e9",
            "253402300800",
            "99999999999999999999999",
        ] {
            let err = source_date_epoch(Some(bad)).unwrap_err();
            assert!(
                matches!(&err, ImageError::BadSourceDateEpoch { value } if value == bad),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("SOURCE_DATE_EPOCH"), "{err}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn an_empty_ca_bundle_is_refused_like_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca-certificates.crt");
        let err = read_ca_bundle(&path).unwrap_err();
        assert!(matches!(err, ImageError::CaBundleMissing { .. }), "{err:?}");
        for empty in ["", "\n"] {
            std::fs::write(&path, empty).unwrap();
            let err = read_ca_bundle(&path).unwrap_err();
            assert!(matches!(err, ImageError::CaBundleEmpty { .. }), "{err:?}");
            assert!(err.to_string().contains("is empty"), "{err}");
        }
        std::fs::write(&path, "-----BEGIN CERTIFICATE-----\n").unwrap();
        assert!(read_ca_bundle(&path).is_ok());
    }

    /// The first of [`dirs_replaced`]'s problems, the includes numbered in order.
    fn check_no_dir_replaced(
        own: &[&str],
        includes: &[(&Path, &str, &[Entry])],
    ) -> Result<(), ImageError> {
        let numbered: Vec<_> = includes
            .iter()
            .enumerate()
            .map(|(i, (from, to, es))| (i, *from, *to, *es))
            .collect();
        match dirs_replaced(own, &numbered).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    #[test]
    fn every_include_problem_is_reported_before_anything_is_built() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("static")).unwrap();
        std::fs::write(root.join("plain.txt"), "x").unwrap();
        let req = include_request(
            root,
            vec![
                inc("plain.txt", "/app"),
                inc("plain.txt", "/"),
                inc("static", "/app/svc"),
                inc("nope", "/x"),
                inc("static", "/app/static"),
            ],
        );
        let err = checked_include_sets(&req).unwrap_err();
        let ImageError::Includes { problems } = &err else {
            panic!("{err:?}")
        };
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 4, "{text:#?}");
        for key in ["include.1.to", "include.2.to", "include.0.to"] {
            assert!(text.iter().any(|t| t.contains(key)), "{key}: {text:#?}");
        }
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, ImageError::IncludeMissing { .. })),
            "{text:#?}"
        );
        // The good ones alone pass.
        let req = include_request(root, vec![inc("static", "/app/static")]);
        checked_include_sets(&req).unwrap();
    }

    #[test]
    fn an_include_may_not_put_a_file_or_link_over_a_directory_of_the_image() {
        let scratch = ["app", "etc", "tmp", "etc/ssl", "etc/ssl/certs"];
        let file = |p: &str| Entry::file(p, b"x".to_vec(), 0o644);
        for (to, e, dir) in [
            ("/app", file("app"), "/app"),
            ("/tmp", file("tmp"), "/tmp"),
            ("/etc/ssl/certs", file("etc/ssl/certs"), "/etc/ssl/certs"),
            ("/etc", Entry::symlink("etc", "/srv/etc"), "/etc"),
        ] {
            let entries = [e];
            let err = check_no_dir_replaced(&scratch, &[(Path::new("conf/x.toml"), to, &entries)])
                .unwrap_err();
            assert!(
                matches!(&err, ImageError::IncludeReplacesDir { path, to: t, index: 0, .. } if path == dir && t == to),
                "{to}: {err:?}"
            );
            assert!(
                err.to_string()
                    .contains(&format!("include.0.to` = \"{to}\"")),
                "{err}"
            );
        }
        // A file where another include puts a directory (or needs one) is refused too.
        let tree = [Entry::dir("srv/www", 0o755), file("srv/www/index.html")];
        let over = [file("srv/www")];
        let err = check_no_dir_replaced(
            &["app"],
            &[
                (Path::new("www"), "/srv/www", &tree),
                (Path::new("i.html"), "/srv/www", &over),
            ],
        )
        .unwrap_err();
        assert!(
            matches!(
                &err,
                ImageError::IncludeReplacesDir {
                    index: 1,
                    what: "file",
                    ..
                }
            ),
            "{err:?}"
        );
        // Files inside those directories, and directories over directories, are fine; with
        // another base only /app is known.
        let fine = [
            file("app/config.toml"),
            file("etc/ssl/certs/extra.pem"),
            Entry::dir("tmp", 0o1777),
            file("etc/hosts"),
        ];
        assert!(check_no_dir_replaced(&scratch, &[(Path::new("root"), "/", &fine)]).is_ok());
        let tmp = [file("tmp")];
        assert!(check_no_dir_replaced(&["app"], &[(Path::new("t"), "/tmp", &tmp)]).is_ok());
    }

    #[test]
    fn an_include_may_not_cover_the_binary() {
        let ok = [Entry::file("app/hello-data/x", b"x".to_vec(), 0o644)];
        assert!(check_binary_not_covered("hello", 0, &ok).is_ok());
        for path in ["app/hello", "app/hello/index.html"] {
            let e = [Entry::file(path, b"x".to_vec(), 0o644)];
            let err = check_binary_not_covered("hello", 0, &e).unwrap_err();
            assert!(
                matches!(&err, ImageError::IncludeCoversBinary { binary, .. } if binary == "/app/hello"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn private_ecr_hosts_and_their_regions() {
        assert_eq!(
            ecr_host_region("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            Some("us-east-1")
        );
        assert_eq!(
            ecr_host_region("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com"),
            Some("us-gov-west-1")
        );
        assert_eq!(
            ecr_host_region("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            Some("cn-north-1")
        );
        for other in [
            "public.ecr.aws",
            "docker.io",
            "127.0.0.1:5000",
            "12345.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr..amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.example.com",
        ] {
            assert_eq!(ecr_host_region(other), None, "{other}");
        }
        let base = BaseImage::Reference(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/base/debian:12".into(),
        );
        assert_eq!(
            ecr_base_host(&base).as_deref(),
            Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
        );
        assert_eq!(ecr_base_host(&BaseImage::Scratch), None);
        assert_eq!(
            ecr_base_host(&BaseImage::Reference("debian:bookworm-slim".into())),
            None
        );
    }
}
