//! Deterministic layer tarballs: sorted entries, uid/gid 0, fixed modes, one mtime
//! (`SOURCE_DATE_EPOCH`, else 0), a fixed gzip header. The same entries always give the same
//! bytes, so the same digest (ko `tarBinary` fixes modes "so this isn't sensitive to umask").
//!
//! Streamed: the tar is written (host files read as their entries are reached, never loaded
//! whole) into 1 MiB chunks; each chunk is hashed in order (the `diff_id` and gzip CRC, on one
//! thread) and compressed independently on the others (pigz-style: deflate chunks joined by
//! sync flushes into one standard stream). At most a few chunks per thread are in flight, so a
//! layer costs about its compressed size in memory, and about max(read + hash,
//! compress / cores) in time.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::Digest;
use flate2::Compression;

/// What a tar entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file with these contents.
    File(Arc<[u8]>),
    /// A regular file of the host, of this size, read when its tar entry is written.
    HostFile(PathBuf, u64),
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
    /// A regular file read from `src` (of `size` bytes) while the layer is written.
    pub fn host_file(
        path: impl Into<String>,
        src: impl Into<PathBuf>,
        size: u64,
        mode: u32,
    ) -> Entry {
        Entry {
            path: normalize(&path.into()),
            kind: EntryKind::HostFile(src.into(), size),
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
    pub bytes: bytes::Bytes,
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
/// The tar is never held whole: it is cut into [`DEFLATE_CHUNK`] chunks as it is written, and
/// each chunk is hashed and compressed and then freed; host files are read as their entries
/// are written. Memory is the compressed layer plus a few chunks per thread.
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

    let level = opts.level.min(9);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    // Chunks between the tar writer and the gzip stream: each holds a token until it is in
    // the stream, so at most this many (plus one being filled) exist at once.
    let in_flight = 2 * threads + 2;
    let failed = AtomicBool::new(false);

    let (tokens_tx, tokens_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = tokens_tx.send(());
    }
    let (hash_tx, hash_rx) = sync_channel::<Arc<Vec<u8>>>(in_flight);
    let (job_tx, job_rx) = sync_channel::<(usize, Arc<Vec<u8>>, bool)>(in_flight);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = sync_channel::<(usize, io::Result<Vec<u8>>)>(in_flight);

    std::thread::scope(|s| {
        // The uncompressed digest, CRC and length, in stream order.
        let hasher = s.spawn(move || {
            let mut sha = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
            let mut crc = flate2::Crc::new();
            let mut len = 0u64;
            for chunk in hash_rx {
                sha.update(&chunk);
                crc.update(&chunk);
                len += chunk.len() as u64;
            }
            (digest_of(sha), crc.sum(), len)
        });
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            s.spawn(move || {
                loop {
                    let job = job_rx.lock().ok().and_then(|rx| rx.recv().ok());
                    let Some((i, chunk, last)) = job else { return };
                    let out = std::panic::catch_unwind(|| deflate_chunk(&chunk, level, last))
                        .unwrap_or_else(|_| Err(io::Error::other("compression thread panicked")));
                    drop(chunk);
                    if done_tx.send((i, out)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        // The gzip stream: the compressed chunks appended in order as they come, each freed
        // and its token given back once it is in place. A single-member gzip with a fixed
        // header (no name, mtime 0, OS 255); CRC32 and ISIZE follow.
        let failed = &failed;
        let collector = s.spawn(move || -> io::Result<(Vec<u8>, usize)> {
            let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, gzip_xfl(opts.level), 255];
            let mut next = 0;
            let mut early: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
            let mut error = None;
            for (i, out) in done_rx {
                match out {
                    Ok(part) if error.is_none() => {
                        early.insert(i, part);
                        while let Some(part) = early.remove(&next) {
                            gz.extend_from_slice(&part);
                            drop(part);
                            next += 1;
                            let _ = tokens_tx.send(());
                        }
                    }
                    Ok(_) => {
                        let _ = tokens_tx.send(());
                    }
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        for _ in 0..=early.len() {
                            let _ = tokens_tx.send(());
                        }
                        early.clear();
                        error.get_or_insert(e);
                    }
                }
            }
            match error {
                Some(e) => Err(e),
                None if early.is_empty() => Ok((gz, next)),
                None => Err(io::Error::other("missing compressed chunk")),
            }
        });

        let sink = ChunkSink {
            buf: Vec::with_capacity(DEFLATE_CHUNK),
            next: 0,
            tokens: tokens_rx,
            hash: hash_tx,
            jobs: job_tx,
            failed,
        };
        let written = write_tar(all, opts.mtime, sink).and_then(ChunkSink::finish);
        // The sink is gone: the hasher and the workers see their channels close.
        let (diff_id, crc, tar_len) = hasher
            .join()
            .map_err(|_| io::Error::other("hash thread panicked"))?;
        let gz = collector
            .join()
            .map_err(|_| io::Error::other("compression thread panicked"))?;
        let chunks = written?;
        let (mut gz, parts) = gz?;
        if parts != chunks {
            return Err(io::Error::other("missing compressed chunk"));
        }
        gz.extend_from_slice(&crc.to_le_bytes());
        gz.extend_from_slice(&(tar_len as u32).to_le_bytes());
        gz.shrink_to_fit();
        let digest = sha256(&gz);
        Ok(Layer {
            bytes: bytes::Bytes::from(gz),
            digest,
            diff_id,
        })
    })
}

/// Writes the sorted entries as a tar into `sink`.
fn write_tar(
    all: BTreeMap<String, Entry>,
    mtime: u64,
    sink: ChunkSink<'_>,
) -> io::Result<ChunkSink<'_>> {
    let mut tar = tar::Builder::new(sink);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, e) in all {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_mode(e.mode);
        match e.kind {
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
            EntryKind::HostFile(src, size) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(size);
                let file = std::fs::File::open(&src).map_err(|e| in_file(&src, e))?;
                let reader = ExactReader {
                    inner: io::BufReader::with_capacity(
                        (size as usize).clamp(8 * 1024, DEFLATE_CHUNK),
                        file.take(size),
                    ),
                    left: size,
                    src: &src,
                };
                tar.append_data(&mut h, &path, reader)?;
            }
            EntryKind::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                // append_link writes GNU long-name records for targets over 100 bytes.
                tar.append_link(&mut h, &path, target)?;
            }
        }
    }
    tar.into_inner()
}

fn in_file(src: &std::path::Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", src.display()))
}

/// A host file's bytes, exactly as many as its tar header says: a file that shrank since it
/// was listed is an error rather than a short (corrupt) entry; one that grew is cut.
struct ExactReader<'a, R> {
    inner: R,
    left: u64,
    src: &'a std::path::Path,
}

impl<R: Read> Read for ExactReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf).map_err(|e| in_file(self.src, e))?;
        if n == 0 {
            return Err(in_file(
                self.src,
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file got shorter while the layer was written",
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The tar's destination: fills [`DEFLATE_CHUNK`]-byte chunks and hands each full one to the
/// hasher and the compressors. A full chunk is sent only once more bytes follow, so the last
/// chunk (the only one that ends the deflate stream) is known: the chunks are exactly
/// `tar.chunks(DEFLATE_CHUNK)`, whatever the writes.
struct ChunkSink<'a> {
    buf: Vec<u8>,
    next: usize,
    tokens: Receiver<()>,
    hash: SyncSender<Arc<Vec<u8>>>,
    jobs: SyncSender<(usize, Arc<Vec<u8>>, bool)>,
    failed: &'a AtomicBool,
}

impl ChunkSink<'_> {
    fn send(&mut self, last: bool) -> io::Result<()> {
        let gone = || io::Error::other("layer compression stopped");
        if self.failed.load(Ordering::Relaxed) {
            return Err(gone());
        }
        self.tokens.recv().map_err(|_| gone())?;
        let chunk = Arc::new(std::mem::replace(
            &mut self.buf,
            if last {
                Vec::new()
            } else {
                Vec::with_capacity(DEFLATE_CHUNK)
            },
        ));
        self.hash.send(chunk.clone()).map_err(|_| gone())?;
        self.jobs
            .send((self.next, chunk, last))
            .map_err(|_| gone())?;
        self.next += 1;
        Ok(())
    }

    /// Sends the last chunk (empty for an empty tar); the number of chunks.
    fn finish(mut self) -> io::Result<usize> {
        self.send(true)?;
        Ok(self.next)
    }
}

impl Write for ChunkSink<'_> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            if self.buf.len() == DEFLATE_CHUNK {
                self.send(false)?;
            }
            let take = (DEFLATE_CHUNK - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(bytes);
    digest_of(ctx)
}

fn digest_of(ctx: aws_lc_rs::digest::Context) -> Digest {
    Digest(format!("sha256:{}", hex::encode(ctx.finish().as_ref())))
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

    /// The layer as the one-shot builder made it: the whole tar cut into `DEFLATE_CHUNK`
    /// chunks, each deflated alone (sync flush, the last finished), in one gzip member.
    fn one_shot(tar: &[u8], level: u32) -> Vec<u8> {
        let chunks: Vec<&[u8]> = tar.chunks(DEFLATE_CHUNK).collect();
        let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, gzip_xfl(level), 255];
        for (i, c) in chunks.iter().enumerate() {
            gz.extend(deflate_chunk(c, level, i + 1 == chunks.len()).unwrap());
        }
        let mut crc = flate2::Crc::new();
        crc.update(tar);
        gz.extend_from_slice(&crc.sum().to_le_bytes());
        gz.extend_from_slice(&(tar.len() as u32).to_le_bytes());
        gz
    }

    #[test]
    fn streamed_host_files_give_the_one_shot_bytes_at_every_chunk_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let mut x: u32 = 7;
        // One header (512) + data + the 1024-byte end: tars of exactly 1 and 2 chunks, one
        // byte over and under, and a small one.
        for size in [
            DEFLATE_CHUNK - 1536,
            2 * DEFLATE_CHUNK - 1536,
            2 * DEFLATE_CHUNK - 1535,
            2 * DEFLATE_CHUNK - 2048,
            3 * DEFLATE_CHUNK + 5,
            10,
        ] {
            let data: Vec<u8> = (0..size)
                .map(|i| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    if i % 4 == 0 { (x >> 24) as u8 } else { b'z' }
                })
                .collect();
            let src = dir.path().join(format!("f{size}"));
            std::fs::write(&src, &data).unwrap();
            let streamed = build(
                vec![Entry::host_file("data/f", &src, size as u64, 0o644)],
                LayerOptions::default(),
            )
            .unwrap();
            let in_memory = build(
                vec![Entry::file("data/f", data.clone(), 0o644)],
                LayerOptions::default(),
            )
            .unwrap();
            assert_eq!(streamed.digest, in_memory.digest, "{size}");
            let mut tar = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(&streamed.bytes[..]),
                &mut tar,
            )
            .unwrap();
            assert_eq!(sha256(&tar), streamed.diff_id, "{size}");
            assert!(
                one_shot(&tar, 6) == streamed.bytes[..],
                "{size}: not the one-shot bytes"
            );
            assert_eq!(sha256(&streamed.bytes), streamed.digest);
        }
    }

    #[test]
    fn a_host_file_that_shrank_or_vanished_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("short.bin");
        std::fs::write(&src, vec![1u8; 3 * DEFLATE_CHUNK]).unwrap();
        // Listed at 5 MiB, 3 MiB on disk: no short (corrupt) entry.
        let err = build(
            vec![Entry::host_file("x", &src, 5 * DEFLATE_CHUNK as u64, 0o644)],
            LayerOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("short.bin"), "{err}");
        assert!(err.to_string().contains("shorter"), "{err}");
        let gone = dir.path().join("gone.bin");
        let err = build(
            vec![Entry::host_file("x", &gone, 1, 0o644)],
            LayerOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("gone.bin"), "{err}");
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
