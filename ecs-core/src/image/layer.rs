//! Deterministic layer tarballs: sorted entries, uid/gid 0, fixed modes, one mtime
//! (`SOURCE_DATE_EPOCH`, else 0), a fixed gzip header. The same entries always give the same
//! bytes, so the same digest (ko `tarBinary` fixes modes "so this isn't sensitive to umask").
//!
//! Pure: bytes in, bytes out. The uncompressed stream is hashed while it is written (the
//! `diff_id`) and the compressed stream while it is compressed (the blob digest), so each
//! byte is touched once.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use flate2::Compression;
use sha2::{Digest as _, Sha256};

use super::Digest;

/// What a tar entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file with these contents.
    File(Arc<[u8]>),
}

/// One entry of a layer: a path inside the image (no leading `/`), its kind and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the image root (`app/hello`).
    pub path: String,
    /// File or directory.
    pub kind: EntryKind,
    /// Permission bits (`0o755`, `0o1777`…).
    pub mode: u32,
}

impl Entry {
    /// A regular file.
    pub fn file(path: impl Into<String>, data: impl Into<Arc<[u8]>>, mode: u32) -> Entry {
        Entry {
            path: normalize(&path.into()),
            kind: EntryKind::File(data.into()),
            mode,
        }
    }
    /// A directory.
    pub fn dir(path: impl Into<String>, mode: u32) -> Entry {
        Entry {
            path: normalize(&path.into()),
            kind: EntryKind::Dir,
            mode,
        }
    }
}

fn normalize(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// A finished, compressed layer.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The gzip bytes (the blob).
    pub bytes: Arc<[u8]>,
    /// sha256 of the gzip bytes.
    pub digest: Digest,
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
}

/// Layer compression settings.
#[derive(Debug, Clone, Copy)]
pub struct LayerOptions {
    /// Every entry's mtime (seconds since the epoch).
    pub mtime: u64,
    /// gzip level 0–9.
    pub level: u32,
}

impl Default for LayerOptions {
    fn default() -> Self {
        // Level 6 is gzip's own default; zlib-rs makes it cheap (see `cargo xtask bench image`).
        LayerOptions { mtime: 0, level: 6 }
    }
}

/// A writer that hashes and counts what passes through it.
pub struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    /// The inner writer, the digest and the byte count.
    pub fn finish(self) -> (W, Digest, u64) {
        let hex = hex::encode(self.hasher.finalize());
        (self.inner, Digest(format!("sha256:{hex}")), self.count)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Builds a layer from `entries`: parent directories are added (mode 0755) where missing,
/// entries are sorted by path, later duplicates replace earlier ones.
pub fn build(entries: &[Entry], opts: LayerOptions) -> io::Result<Layer> {
    let mut all: BTreeMap<String, &Entry> = BTreeMap::new();
    let mut parents: BTreeMap<String, Entry> = BTreeMap::new();
    for e in entries {
        if e.path.is_empty() {
            continue;
        }
        let mut p = e.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            parents
                .entry(parent.to_string())
                .or_insert_with(|| Entry::dir(parent, 0o755));
            p = parent;
        }
        all.insert(e.path.clone(), e);
    }
    for (path, e) in &parents {
        all.entry(path.clone()).or_insert(e);
    }

    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(
            HashWriter::new(Vec::with_capacity(1 << 20)),
            Compression::new(opts.level.min(9)),
        );
    let mut tar = tar::Builder::new(HashWriter::new(gz));
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, e) in &all {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(opts.mtime);
        h.set_mode(e.mode);
        match &e.kind {
            EntryKind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                tar.append_data(&mut h, format!("{path}/"), io::empty())?;
            }
            EntryKind::File(data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                tar.append_data(&mut h, path, &data[..])?;
            }
        }
    }
    let tar_hash = tar.into_inner()?;
    let (gz, diff_id, _) = tar_hash.finish();
    let gz_hash = gz.finish()?;
    let (bytes, digest, _) = gz_hash.finish();
    Ok(Layer {
        bytes: bytes.into(),
        digest,
        diff_id,
    })
}

/// sha256 of `bytes` as a [`Digest`].
pub fn sha256(bytes: &[u8]) -> Digest {
    Digest(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(layer: &Layer) -> Vec<(String, u32, u64, u64)> {
        let gz = flate2::read::GzDecoder::new(&layer.bytes[..]);
        let mut ar = tar::Archive::new(gz);
        ar.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn same_entries_in_any_order_give_the_same_digest() {
        let a = vec![
            Entry::file("/app/hello", b"bin".to_vec(), 0o755),
            Entry::dir("tmp", 0o1777),
            Entry::file("etc/passwd", b"root".to_vec(), 0o644),
        ];
        let mut b = a.clone();
        b.reverse();
        let la = build(&a, LayerOptions::default()).unwrap();
        let lb = build(&b, LayerOptions::default()).unwrap();
        assert_eq!(la.digest, lb.digest);
        assert_eq!(la.diff_id, lb.diff_id);
        assert_eq!(sha256(&la.bytes), la.digest);
        assert_eq!(
            list(&la),
            vec![
                ("app/".into(), 0o755, 0, 0),
                ("app/hello".into(), 0o755, 0, 0),
                ("etc/".into(), 0o755, 0, 0),
                ("etc/passwd".into(), 0o644, 0, 0),
                ("tmp/".into(), 0o1777, 0, 0),
            ]
        );
    }

    #[test]
    fn mtime_and_content_change_the_digest() {
        let a = vec![Entry::file("app/x", b"1".to_vec(), 0o755)];
        let b = vec![Entry::file("app/x", b"2".to_vec(), 0o755)];
        let base = build(&a, LayerOptions::default()).unwrap();
        assert_ne!(
            base.digest,
            build(&b, LayerOptions::default()).unwrap().digest
        );
        let later = build(
            &a,
            LayerOptions {
                mtime: 1_700_000_000,
                ..Default::default()
            },
        )
        .unwrap();
        assert_ne!(base.digest, later.digest);
        assert_eq!(list(&later)[1].3, 1_700_000_000);
    }

    #[test]
    fn gzip_header_is_fixed() {
        let l = build(&[Entry::dir("a", 0o755)], LayerOptions::default()).unwrap();
        // magic, deflate, no flags, mtime 0, xfl, OS 255 (unknown)
        assert_eq!(&l.bytes[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&l.bytes[4..8], &[0, 0, 0, 0]);
        assert_eq!(l.bytes[9], 255);
    }
}
