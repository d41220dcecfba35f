//! Pulls a non-`scratch` base image: resolves the reference to a digest (choosing the
//! linux/<arch> entry of an image index), fetches its config and layers, and remembers where
//! each layer came from so a push to the same registry can mount instead of upload. Blobs
//! are kept in a content-addressed cache ([`cache_dir`]) so the next build downloads only
//! the manifest. Shell code: network and files.

use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;

use super::{Blob, BlobOrigin, Digest, ImageError};
use crate::config::Architecture;
use crate::registry::{Registry, RegistryAccess};

/// A base image, pinned and downloaded.
#[derive(Debug, Clone)]
pub struct PulledBase {
    /// `host/repo@sha256:…` of the platform manifest.
    pub reference: String,
    /// Its configuration.
    pub config: ImageConfiguration,
    /// Its layers, in order.
    pub layers: Vec<Blob>,
}

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (`docker.io` for Docker Hub).
    pub host: String,
    /// Repository (`library/debian`).
    pub repository: String,
    /// Tag or digest.
    pub reference: String,
}

/// Parses `[host/]repo[:tag][@digest]` the way docker does.
pub fn parse_reference(s: &str) -> Option<ImageRef> {
    let s = s.trim();
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    let (name, reference) = if let Some((n, d)) = s.split_once('@') {
        (n, d.to_string())
    } else {
        match s.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t.to_string()),
            _ => (s, "latest".to_string()),
        }
    };
    let (host, repo) = match name.split_once('/') {
        Some((h, r)) if h.contains('.') || h.contains(':') || h == "localhost" => {
            (h.to_string(), r.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    let repo = if host == "docker.io" && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo
    };
    if repo.is_empty() || reference.is_empty() {
        return None;
    }
    Some(ImageRef {
        host,
        repository: repo,
        reference,
    })
}

/// Pulls `reference` for `arch`, using the matching entry of `registries` (endpoint override,
/// credentials) for its host, else anonymous https.
pub async fn pull(
    reference: &str,
    arch: Architecture,
    registries: &[RegistryAccess],
) -> Result<PulledBase, ImageError> {
    let bad = || ImageError::BadBase {
        reference: reference.to_string(),
    };
    let r = parse_reference(reference).ok_or_else(bad)?;
    let access = registries
        .iter()
        .find(|a| a.host == r.host)
        .cloned()
        .unwrap_or_else(|| RegistryAccess {
            host: r.host.clone(),
            ..Default::default()
        });
    let registry = Registry::new(&access)?;
    let (media, bytes) = registry.get_manifest(&r.repository, &r.reference).await?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(ImageError::json)?;
    let is_index =
        media.contains("index") || media.contains("manifest.list") || json["manifests"].is_array();
    let (manifest, digest) = if is_index {
        let entry = json["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| {
                m["platform"]["os"] == "linux" && m["platform"]["architecture"] == arch.oci_name()
            })
            .ok_or(ImageError::BasePlatform {
                reference: reference.to_string(),
                architecture: arch.oci_name(),
            })?;
        let d = entry["digest"].as_str().ok_or_else(bad)?.to_string();
        let (_, bytes) = registry.get_manifest(&r.repository, &d).await?;
        (
            serde_json::from_slice::<serde_json::Value>(&bytes).map_err(ImageError::json)?,
            Digest(d),
        )
    } else {
        (json, super::layer::sha256(&bytes))
    };
    let config_digest = Digest(
        manifest["config"]["digest"]
            .as_str()
            .ok_or_else(bad)?
            .to_string(),
    );
    let cache = cache_dir();
    let config_bytes =
        cached_blob(&registry, &r.repository, &config_digest, cache.as_deref()).await?;
    let config: ImageConfiguration =
        serde_json::from_slice(&config_bytes).map_err(ImageError::json)?;
    if config.architecture().to_string() != arch.oci_name() {
        return Err(ImageError::BasePlatform {
            reference: reference.to_string(),
            architecture: arch.oci_name(),
        });
    }
    let mut layers = Vec::new();
    for l in manifest["layers"].as_array().into_iter().flatten() {
        let d = Digest(l["digest"].as_str().ok_or_else(bad)?.to_string());
        let data = cached_blob(&registry, &r.repository, &d, cache.as_deref()).await?;
        layers.push(Blob {
            media_type: l["mediaType"].as_str().unwrap_or_default().to_string(),
            size: data.len() as u64,
            digest: d,
            data: data.into(),
            origin: Some(BlobOrigin {
                host: r.host.clone(),
                repository: r.repository.clone(),
            }),
        });
    }
    Ok(PulledBase {
        reference: format!("{}/{}@{}", r.host, r.repository, digest),
        config,
        layers,
    })
}

/// Where pulled base blobs are kept: `CARGO_ECS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/cargo-ecs`, else `~/.cache/cargo-ecs`; `None` when none is known.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("CARGO_ECS_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("cargo-ecs")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/cargo-ecs")))
}

fn cache_path(dir: &Path, digest: &Digest) -> Option<PathBuf> {
    let (algo, hex) = digest.as_str().split_once(':')?;
    let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (safe(algo) && safe(hex)).then(|| dir.join("blobs").join(algo).join(hex))
}

/// A blob from the cache when it is there and still hashes to its digest, else from the
/// registry (which checks the digest), then stored in the cache. The cache is best effort:
/// an unreadable or unwritable cache only costs the download.
async fn cached_blob(
    registry: &Registry,
    repo: &str,
    digest: &Digest,
    cache: Option<&Path>,
) -> Result<Vec<u8>, ImageError> {
    let path = cache.and_then(|d| cache_path(d, digest));
    if let Some(p) = &path
        && let Ok(data) = std::fs::read(p)
    {
        if &super::layer::sha256(&data) == digest {
            tracing::debug!("base blob {digest} from the cache {}", p.display());
            return Ok(data);
        }
        let _ = std::fs::remove_file(p);
    }
    let data = registry.get_blob(repo, digest).await?;
    if let Some(p) = &path
        && let Err(e) = store(p, &data)
    {
        tracing::debug!("cannot cache {digest} in {}: {e}", p.display());
    }
    Ok(data)
}

/// Writes `data` to `path` atomically (a temporary file in the same directory, renamed).
fn store(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, data)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_like_docker() {
        let r = parse_reference("debian:bookworm-slim").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("docker.io", "library/debian", "bookworm-slim")
        );
        let r = parse_reference("127.0.0.1:5000/base@sha256:abc").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "base", "sha256:abc")
        );
        let r = parse_reference("public.ecr.aws/docker/library/alpine").unwrap();
        assert_eq!(r.repository, "docker/library/alpine");
        assert_eq!(r.reference, "latest");
        assert!(parse_reference("").is_none());
        assert!(parse_reference("a b").is_none());
    }

    #[test]
    fn cache_paths_only_from_plain_digests() {
        let d = Path::new("/c");
        assert_eq!(
            cache_path(d, &Digest("sha256:ab12".into())),
            Some(PathBuf::from("/c/blobs/sha256/ab12"))
        );
        for bad in ["sha256:../x", "sha256:", "nocolon", "sha256:a/b", ":ab"] {
            assert_eq!(cache_path(d, &Digest(bad.into())), None, "{bad}");
        }
    }

    #[test]
    fn stored_blobs_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("blobs/sha256/abc");
        store(&p, b"layer bytes").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"layer bytes");
        store(&p, b"again").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"again");
    }
}
