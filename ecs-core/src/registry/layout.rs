//! Writes an OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`) for
//! `cargo ecs build --oci-layout DIR`, readable by skopeo (`oci:DIR:TAG`) and umoci
//! (`--image DIR:TAG`). Like ko's `layout.go`: content-addressed blobs are written once,
//! atomically (temp file + rename), and the index names the image by each of its tags.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::image::{BuiltImage, Digest};

/// Layout errors.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LayoutError {
    /// I/O on a path.
    #[error("cannot write OCI layout file {}", path.display())]
    #[diagnostic(
        code(cargo_ecs::layout::io),
        help("check that the --oci-layout directory is writable")
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    let (algo, hex) = digest
        .as_str()
        .split_once(':')
        .unwrap_or(("sha256", digest.as_str()));
    dir.join("blobs").join(algo).join(hex)
}

/// Writes `image` into the layout at `dir` (created if missing). The index names the image
/// by each tag (`latest` when there are none). Returns the tags written.
pub fn write(dir: &Path, image: &BuiltImage) -> Result<Vec<String>, LayoutError> {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).map_err(io(&blobs))?;
    write_atomic(
        &dir.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    let manifest_digest = image.digest();
    let all = image
        .layers
        .iter()
        .map(|l| (&l.digest, &l.data[..]))
        .chain([
            (&image.config.digest, &image.config.data[..]),
            (manifest_digest, &image.manifest[..]),
        ]);
    for (digest, data) in all {
        let path = blob_path(dir, digest);
        if path.exists() {
            continue;
        }
        write_atomic(&path, data)?;
    }
    let tags: Vec<String> = if image.tags.is_empty() {
        vec!["latest".to_string()]
    } else {
        image.tags.clone()
    };
    let manifests: Vec<serde_json::Value> = tags
        .iter()
        .map(|t| {
            serde_json::json!({
                "mediaType": image.manifest_media_type,
                "digest": manifest_digest.as_str(),
                "size": image.manifest.len(),
                "annotations": { "org.opencontainers.image.ref.name": t },
            })
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let bytes = serde_json::to_vec_pretty(&index).unwrap_or_default();
    write_atomic(&dir.join("index.json"), &bytes)?;
    Ok(tags)
}
