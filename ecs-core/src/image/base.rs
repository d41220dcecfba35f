//! Pulls a non-`scratch` base image: resolves the reference to a digest (choosing the
//! linux/<arch> entry of an image index), fetches its config and layers, and remembers where
//! each layer came from so a push to the same registry can mount instead of upload. Shell
//! code: network.

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
    let config_bytes = registry.get_blob(&r.repository, &config_digest).await?;
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
        let data = registry.get_blob(&r.repository, &d).await?;
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
}
