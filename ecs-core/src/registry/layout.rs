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
    /// The directory holds other files and no OCI layout.
    #[error("{} is not empty and is not an OCI image layout (no oci-layout file)", path.display())]
    #[diagnostic(
        code(cargo_ecs::layout::not_a_layout),
        help(
            "give --oci-layout a new or empty directory, or an existing OCI layout to add this image to"
        )
    )]
    NotALayout {
        /// The directory.
        path: PathBuf,
    },
    /// An existing layout whose index cannot be read.
    #[error("{} is not a valid OCI image index: {reason}", path.display())]
    #[diagnostic(
        code(cargo_ecs::layout::bad_index),
        help("repair or remove the layout, or give --oci-layout another directory")
    )]
    BadIndex {
        /// index.json.
        path: PathBuf,
        /// What is wrong.
        reason: String,
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

/// The annotation that names an image in a layout's index (the `TAG` of `oci:DIR:TAG`).
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Whether [`write`] may write into `dir`: it is missing, empty, or an OCI layout whose index
/// can be read.
pub fn check(dir: &Path) -> Result<(), LayoutError> {
    existing_entries(dir).map(|_| ())
}

/// The index entries of the layout already at `dir`: none for a missing or empty directory,
/// an error for a directory that is something else.
fn existing_entries(dir: &Path) -> Result<Vec<serde_json::Value>, LayoutError> {
    let mut listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LayoutError::Io {
                path: dir.into(),
                source,
            });
        }
    };
    if listing.next().is_none() {
        return Ok(Vec::new());
    }
    if !dir.join("oci-layout").is_file() {
        return Err(LayoutError::NotALayout { path: dir.into() });
    }
    let path = dir.join("index.json");
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(LayoutError::Io { path, source }),
    };
    let bad = |reason: String| LayoutError::BadIndex {
        path: path.clone(),
        reason,
    };
    let index: serde_json::Value = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    match &index["manifests"] {
        serde_json::Value::Array(entries) => Ok(entries.clone()),
        serde_json::Value::Null => Ok(Vec::new()),
        _ => Err(bad("`manifests` is not an array".into())),
    }
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
///
/// An existing layout keeps its other images: entries named by another tag stay in the index
/// (as `skopeo copy` into a layout does), an entry with one of our tags is replaced. A
/// directory that holds anything else is refused rather than written into.
pub fn write(dir: &Path, image: &BuiltImage) -> Result<Vec<String>, LayoutError> {
    let kept = existing_entries(dir)?;
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
    let ours = tags.iter().map(|t| {
        serde_json::json!({
            "mediaType": image.manifest_media_type,
            "digest": manifest_digest.as_str(),
            "size": image.manifest.len(),
            "annotations": { REF_NAME: t },
        })
    });
    let manifests: Vec<serde_json::Value> = kept
        .into_iter()
        .filter(|m| {
            let name = m["annotations"][REF_NAME].as_str();
            !name.is_some_and(|n| tags.iter().any(|t| t == n))
        })
        .chain(ours)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(dir: &Path) -> Vec<(String, String)> {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let mut out: Vec<(String, String)> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["annotations"][REF_NAME].as_str().unwrap().to_string(),
                    m["digest"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_layout_gains_tags_and_other_directories_are_refused() {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("layout");
        check(&dir).unwrap();
        let entry = |tag: &str, digest: &str| {
            serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest, "size": 1, "annotations": {REF_NAME: tag}})
        };
        // A layout some other tool wrote, with tags `one` and `two`.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let index = serde_json::json!({"schemaVersion": 2,
            "manifests": [entry("one", "sha256:11"), entry("two", "sha256:22")]});
        std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
        let kept = existing_entries(&dir).unwrap();
        assert_eq!(kept.len(), 2);

        // An empty directory is fine; one with other files is not.
        let empty = work.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        check(&empty).unwrap();
        std::fs::write(empty.join("important.txt"), "keep me").unwrap();
        assert!(matches!(check(&empty), Err(LayoutError::NotALayout { .. })));
        // A layout with a broken index is named, not overwritten.
        std::fs::write(dir.join("index.json"), "{").unwrap();
        assert!(matches!(check(&dir), Err(LayoutError::BadIndex { .. })));
        std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
        assert_eq!(
            tagged(&dir),
            [
                ("one".to_string(), "sha256:11".to_string()),
                ("two".to_string(), "sha256:22".to_string())
            ]
        );
    }
}
