//! The OCI image configuration and manifest (oci-spec types), layered on the base image's
//! configuration when there is one. Pure: values in, canonical JSON bytes out.
//!
//! oci-spec keeps labels and annotations in `HashMap`s, whose iteration order changes from
//! run to run; every document is therefore serialized through [`canonical_json`], which sorts
//! object keys, so the same inputs always give the same bytes and digest.

use std::collections::BTreeMap;

use oci_spec::image::{
    Arch, ConfigBuilder, DescriptorBuilder, HistoryBuilder, ImageConfiguration,
    ImageConfigurationBuilder, ImageManifestBuilder, MediaType, Os, RootFsBuilder,
};

use super::{Digest, ImageError};
use crate::config::Architecture;

/// The runtime settings of the image, already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeSpec {
    /// CPU architecture.
    pub architecture: Architecture,
    /// `["/app/hello"]`.
    pub entrypoint: Vec<String>,
    /// Arguments after the entrypoint (`container.command`).
    pub cmd: Vec<String>,
    /// Environment (`container.environment`), merged over the base image's.
    pub env: BTreeMap<String, String>,
    /// `uid:gid`.
    pub user: String,
    /// Working directory.
    pub workdir: String,
    /// Exposed TCP port.
    pub port: Option<u16>,
    /// OCI labels (`org.opencontainers.image.*`).
    pub labels: BTreeMap<String, String>,
    /// RFC 3339 creation time (from `SOURCE_DATE_EPOCH`, else the epoch).
    pub created: String,
}

/// One layer as the config and manifest see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// Blob media type.
    pub media_type: String,
    /// Blob digest.
    pub digest: Digest,
    /// Blob size.
    pub size: u64,
    /// Uncompressed digest.
    pub diff_id: Digest,
    /// History line (`created_by`), `None` for base layers (their history is kept).
    pub created_by: Option<String>,
}

/// The OCI media type of a gzip layer.
pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The OCI image manifest media type.
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image config media type.
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// Serializes with every object's keys sorted (deterministic whatever the map type).
pub fn canonical_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ImageError> {
    fn sort(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<String, serde_json::Value> =
                    map.into_iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    let value = serde_json::to_value(value).map_err(ImageError::json)?;
    serde_json::to_vec(&sort(value)).map_err(ImageError::json)
}

/// The image configuration JSON: the base's config (if any) with our layers, entrypoint,
/// cmd, env, user, workdir, port and labels on top.
pub fn config_json(
    base: Option<&ImageConfiguration>,
    layers: &[LayerInfo],
    spec: &RuntimeSpec,
) -> Result<Vec<u8>, ImageError> {
    let base_cfg = base.and_then(|b| b.config().clone());
    // Environment: the base's entries, then ours (ours win on the same name).
    let mut env: Vec<(String, String)> = Vec::new();
    if let Some(e) = base_cfg.as_ref().and_then(|c| c.env().clone()) {
        for kv in e {
            let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
            env.push((k.to_string(), v.to_string()));
        }
    }
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push((
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ));
    }
    for (k, v) in &spec.env {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    let env: Vec<String> = env.into_iter().map(|(k, v)| format!("{k}={v}")).collect();

    let mut labels: BTreeMap<String, String> = base_cfg
        .as_ref()
        .and_then(|c| c.labels().clone())
        .map(|l| l.into_iter().collect())
        .unwrap_or_default();
    labels.extend(spec.labels.clone());

    let mut cfg = ConfigBuilder::default()
        .user(spec.user.clone())
        .env(env)
        .entrypoint(spec.entrypoint.clone())
        .working_dir(spec.workdir.clone())
        .labels(
            labels
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        );
    if !spec.cmd.is_empty() {
        cfg = cfg.cmd(spec.cmd.clone());
    }
    if let Some(port) = spec.port {
        cfg = cfg.exposed_ports(vec![format!("{port}/tcp")]);
    }
    if let Some(sig) = base_cfg.as_ref().and_then(|c| c.stop_signal().clone()) {
        cfg = cfg.stop_signal(sig);
    }
    let cfg = cfg.build().map_err(ImageError::spec)?;

    let mut diff_ids: Vec<String> = base
        .map(|b| b.rootfs().diff_ids().clone())
        .unwrap_or_default();
    let mut history = base.and_then(|b| b.history().clone()).unwrap_or_default();
    for l in layers {
        if let Some(created_by) = &l.created_by {
            diff_ids.push(l.diff_id.to_string());
            history.push(
                HistoryBuilder::default()
                    .created(spec.created.clone())
                    .created_by(created_by.clone())
                    .comment("cargo-ecs")
                    .build()
                    .map_err(ImageError::spec)?,
            );
        }
    }
    let rootfs = RootFsBuilder::default()
        .typ("layers")
        .diff_ids(diff_ids)
        .build()
        .map_err(ImageError::spec)?;
    let image = ImageConfigurationBuilder::default()
        .created(spec.created.clone())
        .architecture(Arch::from(spec.architecture.oci_name()))
        .os(Os::Linux)
        .config(cfg)
        .rootfs(rootfs)
        .history(history)
        .build()
        .map_err(ImageError::spec)?;
    canonical_json(&image)
}

/// The image manifest JSON for a config blob and the layers (base layers first).
pub fn manifest_json(
    config_digest: &Digest,
    config_size: u64,
    layers: &[LayerInfo],
) -> Result<Vec<u8>, ImageError> {
    let descriptor = |media: &str, digest: &Digest, size: u64| {
        let d: oci_spec::image::Digest = digest.as_str().parse().map_err(ImageError::spec)?;
        DescriptorBuilder::default()
            .media_type(MediaType::from(media))
            .digest(d)
            .size(size)
            .build()
            .map_err(ImageError::spec)
    };
    let config = descriptor(CONFIG, config_digest, config_size)?;
    let layers = layers
        .iter()
        .map(|l| descriptor(&l.media_type, &l.digest, l.size))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config)
        .layers(layers)
        .build()
        .map_err(ImageError::spec)?;
    canonical_json(&manifest)
}

/// RFC 3339 for `SOURCE_DATE_EPOCH` seconds (the epoch when unset).
pub fn rfc3339(epoch: u64) -> String {
    jiff::Timestamp::from_second(i64::try_from(epoch).unwrap_or(0))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RuntimeSpec {
        RuntimeSpec {
            architecture: Architecture::X86_64,
            entrypoint: vec!["/app/hello".into()],
            cmd: vec!["--listen".into(), "0.0.0.0:8080".into()],
            env: [("RUST_LOG".to_string(), "info".to_string())].into(),
            user: "65532:65532".into(),
            workdir: "/app".into(),
            port: Some(8080),
            labels: [
                (
                    "org.opencontainers.image.version".to_string(),
                    "0.1.0".to_string(),
                ),
                (
                    "org.opencontainers.image.revision".to_string(),
                    "abc".to_string(),
                ),
                ("z".to_string(), "1".to_string()),
            ]
            .into(),
            created: rfc3339(0),
        }
    }

    #[test]
    fn config_is_canonical_and_complete() {
        let layers = vec![LayerInfo {
            media_type: LAYER_GZIP.into(),
            digest: Digest("sha256:aa".into()),
            size: 3,
            diff_id: Digest("sha256:bb".into()),
            created_by: Some("app".into()),
        }];
        let a = config_json(None, &layers, &spec()).unwrap();
        for _ in 0..5 {
            assert_eq!(a, config_json(None, &layers, &spec()).unwrap());
        }
        let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
        assert_eq!(v["architecture"], "amd64");
        assert_eq!(v["os"], "linux");
        assert_eq!(v["created"], "1970-01-01T00:00:00Z");
        assert_eq!(v["config"]["Entrypoint"][0], "/app/hello");
        assert_eq!(v["config"]["User"], "65532:65532");
        assert_eq!(
            v["config"]["ExposedPorts"]["8080/tcp"],
            serde_json::json!({})
        );
        assert_eq!(
            v["config"]["Labels"]["org.opencontainers.image.version"],
            "0.1.0"
        );
        assert_eq!(v["rootfs"]["diff_ids"][0], "sha256:bb");
        let env = v["config"]["Env"].as_array().unwrap();
        assert!(env.iter().any(|e| e == "RUST_LOG=info"));
    }

    #[test]
    fn base_env_is_kept_and_overridden() {
        let base: ImageConfiguration = serde_json::from_str(
            r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","RUST_LOG=warn"]},
"rootfs":{"type":"layers","diff_ids":["sha256:00"]},"history":[{"created_by":"base"}]}"#,
        )
        .unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&config_json(Some(&base), &[], &spec()).unwrap()).unwrap();
        assert_eq!(
            v["config"]["Env"],
            serde_json::json!(["PATH=/bin", "RUST_LOG=info"])
        );
        assert_eq!(v["rootfs"]["diff_ids"], serde_json::json!(["sha256:00"]));
    }
}
