//! Deterministic layer tarballs: sorted entries, uid/gid 0, fixed modes, one mtime
//! (`SOURCE_DATE_EPOCH`, else 0), a fixed gzip header. The same entries always give the same
//! bytes, so the same digest (ko `tarBinary` fixes modes "so this isn't sensitive to umask").
//!
//! Pure: bytes in, bytes out. The tar is hashed (the `diff_id`) on one thread while it is
//! compressed in 1 MiB chunks on the others (pigz-style: independent deflate chunks joined by
//! sync flushes into one standard stream), so a layer costs about max(hash, compress / cores).

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use super::Digest;
use flate2::Compression;

/// What a tar entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file with these contents.
    File(Arc<[u8]>),
    /// A symbolic link to this target, stored as written (relative or absolute).
    Symlink(String),
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
    /// A symbolic link (mode 0777, as every link has).
    pub fn symlink(path: impl Into<String>, target: impl Into<String>) -> Entry {
        Entry {
            path: normalize(&path.into()),
            kind: EntryKind::Symlink(target.into()),
            mode: 0o777,
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

/// Builds a layer from `entries`: parent directories are added (mode 0755) where missing,
/// entries are sorted by path, later duplicates replace earlier ones.
///
/// The entries are taken by value so that each file's bytes can be freed once they are in
/// the tar, and the tar is freed before the gzip stream is put together from its compressed
/// chunks: a layer then peaks at about its tar plus its compressed size, not five copies.
pub fn build(entries: Vec<Entry>, opts: LayerOptions) -> io::Result<Layer> {
    let mut all: BTreeMap<String, Entry> = BTreeMap::new();
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
    for (path, e) in parents {
        all.entry(path).or_insert(e);
    }

    let mut tar = tar::Builder::new(Vec::with_capacity(estimate(&all)));
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, e) in all {
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
                tar.append_data(&mut h, &path, &data[..])?;
            }
            EntryKind::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                // append_link writes GNU long-name records for targets over 100 bytes.
                tar.append_link(&mut h, &path, target)?;
            }
        }
    }
    let tar = tar.into_inner()?;
    let tar_len = tar.len();

    // The uncompressed digest and CRC on one thread while the compressor threads work.
    let (diff_id, crc, body) = std::thread::scope(|s| {
        let hasher = s.spawn(|| {
            let mut crc = flate2::Crc::new();
            crc.update(&tar);
            (sha256(&tar), crc.sum())
        });
        let body = deflate_parallel(&tar, opts.level.min(9));
        let (diff_id, crc) = hasher
            .join()
            .map_err(|_| io::Error::other("hash thread panicked"))?;
        Ok::<_, io::Error>((diff_id, crc, body?))
    })?;
    drop(tar);

    // A single-member gzip: fixed header (no name, mtime 0, OS 255), deflate, CRC32, ISIZE.
    // Each compressed chunk is freed as soon as it is copied in.
    let mut gz = Vec::with_capacity(body.iter().map(Vec::len).sum::<usize>() + 18);
    gz.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, gzip_xfl(opts.level), 255]);
    for part in body {
        gz.extend_from_slice(&part);
    }
    gz.extend_from_slice(&crc.to_le_bytes());
    gz.extend_from_slice(&(tar_len as u32).to_le_bytes());
    let digest = sha256(&gz);
    Ok(Layer {
        bytes: gz.into(),
        digest,
        diff_id,
    })
}

fn estimate(all: &BTreeMap<String, Entry>) -> usize {
    all.values()
        .map(|e| match &e.kind {
            EntryKind::File(d) => d.len() + 1024,
            EntryKind::Dir => 512,
            EntryKind::Symlink(t) => 1536 + t.len(),
        })
        .sum::<usize>()
        + 2048
}

/// gzip's XFL byte: 2 = best compression, 4 = fastest (what gzip itself writes).
fn gzip_xfl(level: u32) -> u8 {
    match level {
        9 => 2,
        0 | 1 => 4,
        _ => 0,
    }
}

/// Input per compression job. Chunks are compressed independently and joined with sync
/// flushes (as pigz does): the result is one ordinary deflate stream, identical for the same
/// input whatever the number of threads.
pub const DEFLATE_CHUNK: usize = 1 << 20;

/// The compressed chunks, in order; concatenated they are one deflate stream.
fn deflate_parallel(data: &[u8], level: u32) -> io::Result<Vec<Vec<u8>>> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(DEFLATE_CHUNK).collect()
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(chunks.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut parts: Vec<Option<Vec<u8>>> = vec![None; chunks.len()];
    let results = std::sync::Mutex::new(&mut parts);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> io::Result<()> {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(chunk) = chunks.get(i) else {
                            return Ok(());
                        };
                        let out = deflate_chunk(chunk, level, i + 1 == chunks.len())?;
                        if let Ok(mut r) = results.lock() {
                            r[i] = Some(out);
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| io::Error::other("compression thread panicked"))??;
        }
        Ok::<(), io::Error>(())
    })?;
    parts
        .into_iter()
        .map(|p| p.ok_or_else(|| io::Error::other("missing compressed chunk")))
        .collect()
}

fn deflate_chunk(chunk: &[u8], level: u32, last: bool) -> io::Result<Vec<u8>> {
    let mut c = flate2::Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(chunk.len() / 2 + 4096);
    let flush = if last {
        flate2::FlushCompress::Finish
    } else {
        flate2::FlushCompress::Sync
    };
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&chunk[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() as usize == chunk.len();
        let room_left = out.len() < out.capacity();
        match status {
            flate2::Status::StreamEnd => return Ok(out),
            _ if !last && all_in && room_left => return Ok(out),
            _ => out.reserve(64 * 1024),
        }
    }
}

/// sha256 of `bytes` as a [`Digest`]. aws-lc's assembly SHA-256 (SHA-NI/AVX2) is used
/// because it is fast in every build profile; `sha2` at opt-level 0 (tests, `cargo xtask`)
/// ran at ~40 MB/s and dominated layer assembly.
pub fn sha256(bytes: &[u8]) -> Digest {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    Digest(format!("sha256:{}", hex::encode(d.as_ref())))
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
        let la = build(a.clone(), LayerOptions::default()).unwrap();
        let lb = build(b.clone(), LayerOptions::default()).unwrap();
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
        let base = build(a.clone(), LayerOptions::default()).unwrap();
        assert_ne!(
            base.digest,
            build(b.clone(), LayerOptions::default()).unwrap().digest
        );
        let later = build(
            a.clone(),
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
    fn multi_chunk_layers_decompress_to_the_same_bytes() {
        let mut x: u32 = 1;
        let data: Vec<u8> = (0..3 * DEFLATE_CHUNK + 777)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i % 3 == 0 { (x >> 24) as u8 } else { b'a' }
            })
            .collect();
        let l = build(
            vec![Entry::file("big", data.clone(), 0o644)],
            LayerOptions::default(),
        )
        .unwrap();
        let again = build(
            vec![Entry::file("big", data.clone(), 0o644)],
            LayerOptions::default(),
        )
        .unwrap();
        assert_eq!(l.digest, again.digest);
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&l.bytes[..]));
        let mut e = ar.entries().unwrap().next().unwrap().unwrap();
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut back).unwrap();
        assert!(back == data);
        // `gzip -t` agrees it is one valid member.
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&l.bytes[..]), &mut raw)
            .unwrap();
        assert_eq!(sha256(&raw), l.diff_id);
    }

    #[test]
    fn gzip_header_is_fixed() {
        let l = build(vec![Entry::dir("a", 0o755)], LayerOptions::default()).unwrap();
        // magic, deflate, no flags, mtime 0, xfl, OS 255 (unknown)
        assert_eq!(&l.bytes[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&l.bytes[4..8], &[0, 0, 0, 0]);
        assert_eq!(l.bytes[9], 255);
    }

    #[test]
    fn symlinks_are_stored_as_links_with_long_targets_intact() {
        let long = format!("../{}/target.txt", "d".repeat(150));
        let l = build(
            vec![
                Entry::file("app/static/a.txt", b"a".to_vec(), 0o644),
                Entry::symlink("app/static/b.txt", "a.txt"),
                Entry::symlink("app/static/far", long.clone()),
            ],
            LayerOptions::default(),
        )
        .unwrap();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&l.bytes[..]));
        let links: Vec<(String, String)> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.header().entry_type() == tar::EntryType::Symlink)
            .map(|e| {
                (
                    e.path().unwrap().display().to_string(),
                    e.link_name().unwrap().unwrap().display().to_string(),
                )
            })
            .collect();
        assert_eq!(
            links,
            [
                ("app/static/b.txt".to_string(), "a.txt".to_string()),
                ("app/static/far".to_string(), long),
            ]
        );
    }
}
