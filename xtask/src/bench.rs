//! `cargo xtask bench image | logs`: side-by-side benchmarks against peer tools, measured in
//! one run on the same inputs, printed as a table with ratios.
//!
//! `image`: the release build of `examples/hello` (static, as `cargo ecs build` makes it),
//! plus a large case (the same files and a ~80 MB binary payload) so fixed costs do not hide
//! throughput. Assembly: cargo-ecs (`ecs_core::image::assemble`, in process) vs `umoci`
//! (init + new + insert + config) vs `tar | gzip -6 -n | sha256sum`. Push, to the rig's real
//! registry, fresh repository each time: cargo-ecs (`Registry::push_image`) vs
//! `skopeo copy oci:… docker://…` of the same layout. Median of N runs (`--runs N`, default 3).
//!
//! `logs` is H5's (`bench_logs.rs`); this module only dispatches to it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ecs_core::config::{Architecture, ContainerConfig, ImageConfig, Include};
use ecs_core::image::{BuildRequest, BuiltImage};
use ecs_core::registry::{Credentials, Registry, RegistryAccess};
use ecs_e2e::{REGISTRY_PASSWORD, REGISTRY_USER, Rig, workspace_root};

pub fn run(args: &[String]) -> Result<()> {
    let rest = args.get(1..).unwrap_or(&[]);
    match args.first().map(String::as_str) {
        Some("image") => image(rest),
        Some("logs") => logs(rest),
        _ => bail!("usage: cargo xtask bench <image|logs> [--runs N]"),
    }
}

fn logs(args: &[String]) -> Result<()> {
    crate::bench_logs::run(args)
}

fn runs_arg(args: &[String]) -> Result<usize> {
    match args.iter().position(|a| a == "--runs") {
        Some(i) => match args.get(i + 1).and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n > 0 => Ok(n),
            _ => bail!("--runs needs a whole number of at least 1"),
        },
        None => Ok(3),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(f: impl FnOnce() -> Result<T>) -> Result<(Duration, T)> {
    let t = Instant::now();
    let v = f()?;
    Ok((t.elapsed(), v))
}

fn sh(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// One benchmark case: the request (whose include may add a payload) and its staging
/// directory holding the very same files as the image's layers.
struct Case {
    name: &'static str,
    req: BuildRequest,
    binary: PathBuf,
    staging: PathBuf,
}

fn image(args: &[String]) -> Result<()> {
    let runs = runs_arg(args)?;
    let root = workspace_root();
    let work = root.join("target/bench-image");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;

    // The binary, built the way `cargo ecs build` builds it (release, static).
    let hello = root.join("examples/hello");
    let mut req = request(&hello);
    req.target_dir = Some(root.join("target/bench-image-target"));
    eprintln!("bench: building examples/hello (release, static)…");
    let binary = ecs_core::image::build::cargo_build(&ecs_core::image::build::CargoBuild {
        manifest_path: &req.manifest_path,
        bin: "hello",
        target_dir: req.target_dir.as_deref(),
        architecture: Architecture::X86_64,
        needs_static: true,
        options: &req.cargo,
    })?;

    // The large case: the same image plus an ~80 MB payload, a realistic mix of code and
    // data: the debug cargo-ecs binary, or, when it is not built (or being relinked), this
    // xtask binary twice.
    let payload_dir = work.join("payload");
    std::fs::create_dir_all(&payload_dir)?;
    let payload = payload_dir.join("payload.bin");
    let cargo_ecs_debug = root.join("target/debug/cargo-ecs");
    if std::fs::copy(&cargo_ecs_debug, &payload).is_ok() {
        eprintln!("bench: large case payload = target/debug/cargo-ecs");
    } else {
        let exe = std::fs::read(std::env::current_exe()?)?;
        std::fs::write(&payload, [exe.as_slice(), exe.as_slice()].concat())?;
        eprintln!("bench: large case payload = the xtask binary, twice");
    }
    let mut big = req.clone();
    big.manifest_path = hello.join("Cargo.toml");
    big.image.include = vec![Include {
        from: payload_dir.clone(),
        to: "/app/data".into(),
    }];
    let cases = vec![
        Case {
            name: "hello",
            req: req.clone(),
            binary: binary.clone(),
            staging: work.join("stage-hello"),
        },
        Case {
            name: "hello+80MB",
            req: big,
            binary: binary.clone(),
            staging: work.join("stage-big"),
        },
    ];

    eprintln!("bench: starting the rig (moto + docker-registry)…");
    let rig = Rig::start()?;
    let hostport = rig.registry_url.trim_start_matches("http://").to_string();
    let rt = tokio::runtime::Runtime::new()?;
    let skopeo_cache = SkopeoCache::isolate(&work)?;

    let mut rows = Vec::new();
    for case in &cases {
        let image = ecs_core::image::assemble(&case.req, &case.binary, None)?;
        stage(&image, &case.staging)?;
        let size: u64 = image.layers.iter().map(|l| l.size).sum();
        let raw: u64 = dir_size(&case.staging);

        // Assembly.
        let mut ours = Vec::new();
        let mut umoci = Vec::new();
        let mut pipe = Vec::new();
        for i in 0..runs {
            ours.push(
                time(|| {
                    ecs_core::image::assemble(&case.req, &case.binary, None)
                        .map_err(anyhow::Error::from)
                })?
                .0,
            );
            let layout = work.join(format!("umoci-{}-{i}", case.name));
            umoci.push(time(|| umoci_assemble(&layout, &case.staging))?.0);
            pipe.push(time(|| tar_gzip_sha(&case.staging))?.0);
        }
        // Push: same layout, fresh repositories, and skopeo with an empty blob-info cache
        // each time: with its cache, skopeo mounts the blobs from the repository of its
        // previous run instead of uploading them, which is not a push of new content.
        let layout = work.join(format!("layout-{}", case.name));
        ecs_core::registry::layout::write(&layout, &image)?;
        let slug = case.name.replace('+', "-").to_lowercase();
        let mut ours_push = Vec::new();
        let mut skopeo = Vec::new();
        let mut ours_again = Vec::new();
        let mut skopeo_again = Vec::new();
        for i in 0..runs {
            let repo = format!("bench-ours-{slug}-{i}");
            ours_push.push(time(|| rt.block_on(push_ours(&hostport, &repo, &image)))?.0);
            // The same image again: every blob is present (the common re-deploy).
            ours_again.push(time(|| rt.block_on(push_ours(&hostport, &repo, &image)))?.0);
            let repo = format!("bench-skopeo-{slug}-{i}");
            skopeo_cache.clear()?;
            skopeo.push(time(|| skopeo_copy(&skopeo_cache, &layout, &hostport, &repo))?.0);
            skopeo_again.push(time(|| skopeo_copy(&skopeo_cache, &layout, &hostport, &repo))?.0);
        }
        rows.push((
            case.name,
            raw,
            size,
            median(ours),
            median(umoci),
            median(pipe),
            median(ours_push),
            median(skopeo),
            median(ours_again),
            median(skopeo_again),
        ));
    }

    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let ratio = |a: Duration, b: Duration| format!("{:.2}x", b.as_secs_f64() / a.as_secs_f64());
    println!(
        "image assembly (median of {runs}; ratio = peer time / cargo-ecs time, >1 means cargo-ecs is faster)"
    );
    println!(
        "{:<12} {:>9} {:>9} | {:>9} {:>9} {:>9} | {:>8} {:>8}",
        "case", "raw", "gzip", "cargo-ecs", "umoci", "tar|gz|sha", "umoci", "pipeline"
    );
    for r in &rows {
        println!(
            "{:<12} {:>9} {:>9} | {:>9} {:>9} {:>9} | {:>8} {:>8}",
            r.0,
            ecs_core::registry::http::human_bytes(r.1),
            ecs_core::registry::http::human_bytes(r.2),
            ms(r.3),
            ms(r.4),
            ms(r.5),
            ratio(r.3, r.4),
            ratio(r.3, r.5)
        );
    }
    println!();
    println!(
        "push to the local registry (median of {runs}; new = fresh repository, every blob uploaded; \
         again = the same image re-pushed, every blob present)"
    );
    println!(
        "{:<12} {:>9} {:>9} {:>8} | {:>9} {:>9} {:>8}",
        "case", "new ours", "skopeo", "ratio", "again ours", "skopeo", "ratio"
    );
    for r in &rows {
        println!(
            "{:<12} {:>9} {:>9} {:>8} | {:>9} {:>9} {:>8}",
            r.0,
            ms(r.6),
            ms(r.7),
            ratio(r.6, r.7),
            ms(r.8),
            ms(r.9),
            ratio(r.8, r.9)
        );
    }
    drop(rig);
    skopeo_cache.restore()?;
    Ok(())
}

fn skopeo_copy(cache: &SkopeoCache, layout: &Path, hostport: &str, repo: &str) -> Result<String> {
    let mut cmd = Command::new("skopeo");
    if let Some(data) = &cache.xdg_data_home {
        cmd.env("XDG_DATA_HOME", data);
    }
    sh(cmd.args([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        &format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}"),
        &format!("oci:{}:latest", layout.display()),
        &format!("docker://{hostport}/{repo}:latest"),
    ]))
}

/// skopeo (containers/image) remembers in a blob-info cache which repositories of a registry
/// hold each blob, and mounts from them. The bench gives it an empty cache before each fresh
/// push. As root the cache lives in /var/lib/containers/cache (it cannot be moved): the user's
/// cache is set aside and put back afterwards (also on error). Otherwise it follows
/// XDG_DATA_HOME, which the bench points at its own directory.
struct SkopeoCache {
    dir: PathBuf,
    xdg_data_home: Option<PathBuf>,
    backup: Option<PathBuf>,
}

impl SkopeoCache {
    fn isolate(work: &Path) -> Result<SkopeoCache> {
        let root = sh(Command::new("id").arg("-u"))?.trim() == "0";
        if !root {
            let data = work.join("xdg-data");
            return Ok(SkopeoCache {
                dir: data.join("containers/cache"),
                xdg_data_home: Some(data),
                backup: None,
            });
        }
        let dir = PathBuf::from("/var/lib/containers/cache");
        let backup = dir.with_file_name("cache.cargo-ecs-bench-backup");
        if dir.exists() && !backup.exists() {
            std::fs::rename(&dir, &backup)
                .with_context(|| format!("cannot set aside {}", dir.display()))?;
        }
        Ok(SkopeoCache {
            dir,
            xdg_data_home: None,
            backup: Some(backup),
        })
    }

    fn clear(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot clear {}", self.dir.display()))
            }
            _ => Ok(()),
        }
    }

    fn restore(mut self) -> Result<()> {
        self.put_back()
    }

    fn put_back(&mut self) -> Result<()> {
        if let Some(backup) = self.backup.take()
            && backup.exists()
        {
            self.clear()?;
            std::fs::rename(&backup, &self.dir)
                .with_context(|| format!("cannot restore {}", self.dir.display()))?;
        }
        Ok(())
    }
}

impl Drop for SkopeoCache {
    fn drop(&mut self) {
        if let Err(e) = self.put_back() {
            eprintln!("bench: {e:#}");
        }
    }
}

fn request(hello: &Path) -> BuildRequest {
    let image = ImageConfig {
        tags: vec!["latest".into()],
        ..ImageConfig::scratch("hello")
    };
    let container = ContainerConfig {
        port: Some(8080),
        ..ContainerConfig::named("hello")
    };
    BuildRequest::new(
        hello.join("Cargo.toml"),
        "0.1.0",
        image,
        container,
        Architecture::X86_64,
    )
}

/// Unpacks our layers into a directory: the same files the peers package.
fn stage(image: &BuiltImage, dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    for l in &image.layers {
        let mut cmd = Command::new("tar");
        cmd.args(["-xzf", "-", "-C"]).arg(dir).stdin(Stdio::piped());
        let mut child = cmd.spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            std::io::Write::write_all(&mut stdin, &l.data)?;
        }
        if !child.wait()?.success() {
            bail!("tar -x of a layer failed");
        }
    }
    Ok(())
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn umoci_assemble(layout: &Path, staging: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(layout);
    let image = format!("{}:latest", layout.display());
    sh(Command::new("umoci").args(["init", "--layout"]).arg(layout))?;
    sh(Command::new("umoci").args(["new", "--image", &image]))?;
    sh(Command::new("umoci")
        .args(["insert", "--rootless", "--image", &image])
        .arg(staging)
        .arg("/"))?;
    sh(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--config.entrypoint",
        "/app/hello",
        "--config.user",
        "65532:65532",
    ]))?;
    Ok(())
}

fn tar_gzip_sha(staging: &Path) -> Result<()> {
    sh(Command::new("sh").arg("-c").arg(format!(
        "tar --sort=name --owner=0 --group=0 --mtime=@0 -C '{}' -cf - . | gzip -6 -n | sha256sum",
        staging.display()
    )))?;
    Ok(())
}

async fn push_ours(hostport: &str, repo: &str, image: &BuiltImage) -> Result<()> {
    let registry = Registry::new(&RegistryAccess {
        host: hostport.to_string(),
        endpoint: None,
        credentials: Some(Credentials::new(REGISTRY_USER, REGISTRY_PASSWORD)),
    })?;
    registry
        .push_image(
            repo,
            image,
            &["latest".to_string()],
            &ecs_core::progress::Silent,
        )
        .await?;
    Ok(())
}
