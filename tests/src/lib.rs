//! The local test rig: real local stand-ins for AWS, started on loopback.
//!
//! - `moto_server` serves ECS, ECR (control plane), CloudWatch Logs, EC2 and STS;
//! - Debian's `docker-registry` (distribution 2.8) serves the OCI distribution API that ECR's
//!   registry endpoint would, behind htpasswd basic auth with exactly the credentials moto's
//!   `GetAuthorizationToken` hands out, so the real ECR auth path is exercised.
//!
//! Two ways to use it: [`Rig::start`] for a test (servers on free ports, stopped on drop), and
//! [`Rig::start_detached`] + [`RigState`] for `cargo xtask rig up/down/env` (servers outlive
//! the command; their pids are recorded so `down` stops exactly those processes).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The account moto pretends to be.
pub const ACCOUNT: &str = "123456789012";
/// The region the rig uses.
pub const REGION: &str = "us-east-1";
/// The user in moto's ECR authorization token (`AWS:<password>`).
pub const REGISTRY_USER: &str = "AWS";
/// The password in moto's ECR authorization token.
pub const REGISTRY_PASSWORD: &str = "123456789012-auth-token";

/// `REGISTRY_PASSWORD` hashed with bcrypt (cost 5, so each request stays cheap), the only
/// scheme distribution's htpasswd reader takes. It is a constant rather than computed at
/// start-up because the `bcrypt` crate's dependencies (cipher 0.5 → typenum
/// `const-generics`) change the feature set of crates the AWS SDK shares, and then every
/// `cargo build -p cargo-ecs` after a test build recompiled the whole SDK. The rig test
/// `rig_servers_answer_like_aws_and_ecr` logs in with exactly these credentials.
pub const REGISTRY_PASSWORD_BCRYPT: &str =
    "$2b$05$zbyxXu.RD9nP35HVVFCdquc8qMj3wZMHudu9axuGqzniidkfRgGwu";

/// The ECR registry host moto's proxyEndpoint names.
pub const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// Options for starting the rig.
#[derive(Debug, Clone)]
pub struct RigOptions {
    /// Where state (registry data, logs, config) lives.
    pub dir: PathBuf,
    /// `MOTO_ECS_SERVICE_RUNNING`: tasks moto reports running for new services/deployments.
    pub ecs_service_running: u32,
    /// Extra environment for `moto_server`.
    pub moto_env: Vec<(String, String)>,
}

impl RigOptions {
    /// Defaults: state under `dir`, one running task per service.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RigOptions {
            dir: dir.into(),
            ecs_service_running: 1,
            moto_env: Vec::new(),
        }
    }
}

/// A running rig.
#[derive(Debug)]
pub struct Rig {
    /// `http://127.0.0.1:PORT` of moto_server.
    pub moto_url: String,
    /// `http://127.0.0.1:PORT` of docker-registry.
    pub registry_url: String,
    /// State directory.
    pub dir: PathBuf,
    children: Vec<Child>,
    _tempdir: Option<tempdir::TempDir>,
}

/// What `cargo xtask rig up` records under `target/rig/state.env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RigState {
    /// moto URL.
    pub moto_url: String,
    /// Registry URL.
    pub registry_url: String,
    /// pids of the started processes (process-group leaders).
    pub pids: Vec<u32>,
}

mod tempdir {
    //! A tiny temporary directory so the rig library needs no extra crates.
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new(prefix: &str) -> std::io::Result<TempDir> {
            let base = std::env::temp_dir();
            for attempt in 0..1000u32 {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let p = base.join(format!("{prefix}-{}-{nanos}-{attempt}", std::process::id()));
                match std::fs::create_dir(&p) {
                    Ok(()) => return Ok(TempDir(p)),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(std::io::Error::other("cannot create a temporary directory"))
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Rig {
    /// Starts moto_server and docker-registry on free loopback ports in a fresh temporary
    /// directory; both stop when the `Rig` is dropped.
    pub fn start() -> Result<Rig> {
        Self::start_with(|_| {})
    }

    /// Like [`Rig::start`], with a chance to adjust the options (e.g. moto environment).
    pub fn start_with(adjust: impl FnOnce(&mut RigOptions)) -> Result<Rig> {
        let tmp = tempdir::TempDir::new("cargo-ecs-rig")?;
        let mut opts = RigOptions::new(tmp.path());
        adjust(&mut opts);
        let mut rig = start_servers(&opts)?;
        rig._tempdir = Some(tmp);
        Ok(rig)
    }

    /// Starts the servers for `cargo xtask rig up`: they keep running after this process
    /// exits. Returns the state to record.
    pub fn start_detached(opts: &RigOptions) -> Result<RigState> {
        let mut rig = start_servers(opts)?;
        let pids = rig.children.iter().map(Child::id).collect();
        // Forget the handles: the servers outlive us, `rig down` stops them by pid.
        rig.children.clear();
        Ok(RigState {
            moto_url: rig.moto_url.clone(),
            registry_url: rig.registry_url.clone(),
            pids,
        })
    }

    /// The environment a `cargo ecs` process (or an SDK client) needs to use this rig.
    pub fn env(&self) -> Vec<(String, String)> {
        env_for(&self.moto_url, &self.registry_url)
    }

    /// POST /moto-api/reset: wipes all moto state.
    pub fn reset_moto(&self) -> Result<()> {
        http_request(&self.moto_url, "POST", "/moto-api/reset", None).map(|_| ())
    }

    /// A `Command` for the built `cargo-ecs` binary, with the rig's environment applied and
    /// the first argument (`ecs`) given.
    pub fn cargo_ecs(&self) -> Command {
        let mut cmd = Command::new(cargo_ecs_bin());
        cmd.arg("ecs");
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// Stops the servers now (also done on drop).
    pub fn stop(&mut self) {
        for child in &mut self.children {
            terminate_group(child.id());
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
        self.children.clear();
    }

    /// pids of the server processes.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The environment for a rig at these URLs: fake credentials, region, endpoints.
pub fn env_for(moto_url: &str, registry_url: &str) -> Vec<(String, String)> {
    [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", REGION),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_ENDPOINT_URL", moto_url),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("CARGO_ECS_REGISTRY_ENDPOINT", registry_url),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The built `cargo-ecs` binary: `CARGO_ECS_BIN`, else next to this test executable's
/// `deps/` directory (`target/<profile>/cargo-ecs`).
pub fn cargo_ecs_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CARGO_ECS_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("cargo-ecs")
}

/// The workspace root (where the top Cargo.toml is). cargo sets `CARGO_MANIFEST_DIR` at run
/// time too (`cargo test`, nextest, `cargo run`) and that one wins: cargo gives workspace
/// members the same artifact names in every checkout, so two checkouts sharing a target dir
/// share binaries, and the compile-time value may name the other checkout. Both are one level
/// below the root (tests/, xtask/).
pub fn workspace_root() -> PathBuf {
    let is_root = |root: &Path| root.join("Cargo.toml").is_file() && root.join("xtask").is_dir();
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|dir| dir.parent().map(Path::to_path_buf))
        .filter(|root| is_root(root))
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("."))
        })
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    Ok(l.local_addr()?.port())
}

fn start_servers(opts: &RigOptions) -> Result<Rig> {
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("cannot create {}", opts.dir.display()))?;
    let mut rig = Rig {
        moto_url: String::new(),
        registry_url: String::new(),
        dir: opts.dir.clone(),
        children: Vec::new(),
        _tempdir: None,
    };

    // moto_server
    let moto_port = free_port()?;
    let moto_log = std::fs::File::create(opts.dir.join("moto.log"))?;
    let mut cmd = Command::new(which("moto_server")?);
    cmd.args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
        .env(
            "MOTO_ECS_SERVICE_RUNNING",
            opts.ecs_service_running.to_string(),
        )
        .stdin(Stdio::null())
        .stdout(moto_log.try_clone()?)
        .stderr(moto_log);
    for (k, v) in &opts.moto_env {
        cmd.env(k, v);
    }
    rig.children
        .push(spawn_group(&mut cmd).context("cannot start moto_server")?);
    rig.moto_url = format!("http://127.0.0.1:{moto_port}");

    // docker-registry with htpasswd auth
    let reg_port = free_port()?;
    let data = opts.dir.join("registry-data");
    std::fs::create_dir_all(&data)?;
    let htpasswd = opts.dir.join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("{REGISTRY_USER}:{REGISTRY_PASSWORD_BCRYPT}\n"),
    )?;
    let config = opts.dir.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{reg_port}\n\
             auth:\n  htpasswd:\n    realm: cargo-ecs-rig\n    path: {htpasswd}\n",
            data = data.display(),
            htpasswd = htpasswd.display(),
        ),
    )?;
    let reg_log = std::fs::File::create(opts.dir.join("registry.log"))?;
    let mut cmd = Command::new(which("docker-registry")?);
    cmd.arg("serve")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(reg_log.try_clone()?)
        .stderr(reg_log);
    rig.children
        .push(spawn_group(&mut cmd).context("cannot start docker-registry")?);
    rig.registry_url = format!("http://127.0.0.1:{reg_port}");

    wait_until(&rig.moto_url, "/moto-api/", &opts.dir.join("moto.log"))?;
    wait_until(&rig.registry_url, "/v2/", &opts.dir.join("registry.log"))?;
    Ok(rig)
}

/// Where `name` is installed: `PATH`, then the usual system and pip locations (pip puts
/// `moto_server` in `/usr/local/bin` or `~/.local/bin`, which a minimal `PATH` may lack).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(
        [
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ]
        .map(PathBuf::from),
    );
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn which(name: &str) -> Result<PathBuf> {
    find_program(name).with_context(|| {
        format!(
            "`{name}` is not installed: run `cargo xtask rig up` (it installs the rig's packages)"
        )
    })
}

fn spawn_group(cmd: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    // Own process group, so stopping the rig stops any children the server forks, and a
    // Ctrl-C in the user's terminal does not kill a detached rig.
    cmd.process_group(0).spawn()
}

/// SIGTERM to the process group led by `pid`, then SIGKILL if it is still alive after 3 s.
pub fn terminate_group(pid: u32) {
    let group = format!("-{pid}");
    let _ = Command::new("kill")
        .args(["-TERM", "--", &group])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && is_alive(pid) {
        std::thread::sleep(Duration::from_millis(50));
    }
    if is_alive(pid) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
    }
}

/// Whether `pid` is a live (non-zombie) process.
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Field 3 is the state; Z is a zombie (dead, not yet reaped).
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .map(|s| !s.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

fn wait_until(base: &str, path: &str, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http_request(base, "GET", path, None).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            bail!("{base} did not answer within 30 s; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal HTTP/1.1 request over loopback: returns (status, body). Enough for health checks
/// and moto's admin API without an HTTP client dependency.
pub fn http_request(
    base: &str,
    method: &str,
    path: &str,
    auth: Option<&str>,
) -> Result<(u16, String)> {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    http_call(base, method, path, &headers, b"")
}

/// Like [`http_request`] with any headers and a body. Understands chunked answers.
pub fn http_call(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String)> {
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s =
        TcpStream::connect(hostport).with_context(|| format!("cannot connect to {hostport}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {hostport}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("bad HTTP answer from {base}{path}"))?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// One AWS JSON-protocol call to moto without an SDK (for xtask, which stays dependency-light):
/// `target` is the `X-Amz-Target` header, e.g.
/// `AmazonEC2ContainerServiceV20141113.DescribeServices`. moto checks no signature; the
/// credential scope only tells it the region and service.
pub fn aws_json(
    moto_url: &str,
    service: &str,
    target: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value> {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20250101/{REGION}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0"
    );
    let body = serde_json::to_vec(body)?;
    let (status, text) = http_call(
        moto_url,
        "POST",
        "/",
        &[
            ("X-Amz-Target", target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", &auth),
        ],
        &body,
    )?;
    if status != 200 {
        bail!("{target} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{target} answered non-JSON: {text}"))
}

/// The task definition ARN a service runs and the image of its first container, read from
/// moto the way `aws ecs describe-services` / `describe-task-definition` would.
pub fn deployed_image(moto_url: &str, cluster: &str, service: &str) -> Result<(String, String)> {
    const ECS: &str = "AmazonEC2ContainerServiceV20141113";
    let services = aws_json(
        moto_url,
        "ecs",
        &format!("{ECS}.DescribeServices"),
        &serde_json::json!({ "cluster": cluster, "services": [service] }),
    )?;
    let taskdef = services
        .pointer("/services/0/taskDefinition")
        .and_then(|v| v.as_str())
        .with_context(|| {
            format!("service `{service}` not found in cluster `{cluster}`: {services}")
        })?
        .to_string();
    let described = aws_json(
        moto_url,
        "ecs",
        &format!("{ECS}.DescribeTaskDefinition"),
        &serde_json::json!({ "taskDefinition": taskdef }),
    )?;
    let image = described
        .pointer("/taskDefinition/containerDefinitions/0/image")
        .and_then(|v| v.as_str())
        .with_context(|| format!("{taskdef} has no container image"))?
        .to_string();
    Ok((taskdef, image))
}

/// The command line of a live process (NUL separators replaced by spaces), if it exists.
pub fn process_cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(text.join(" "))
}

/// The process group of `pid` (field 5 of /proc/PID/stat).
pub fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the `(comm)` field: state, ppid, pgrp.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

/// What [`stop_if_ours`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// It was ours and is now stopped.
    Stopped,
    /// It had already exited.
    AlreadyGone,
    /// The pid now belongs to another process (pid reuse): left alone.
    NotOurs(String),
}

/// Stops the process group led by `pid` only if that process is still the one we started:
/// alive, leading its own group, and its command line contains every one of `marks` (program
/// name, port, config path). A reused pid is never touched.
pub fn stop_if_ours(pid: u32, marks: &[&str]) -> StopOutcome {
    if !is_alive(pid) {
        return StopOutcome::AlreadyGone;
    }
    let Some(cmdline) = process_cmdline(pid) else {
        return StopOutcome::AlreadyGone;
    };
    if !marks.iter().all(|m| cmdline.contains(m)) || process_group(pid) != Some(pid) {
        return StopOutcome::NotOurs(cmdline);
    }
    terminate_group(pid);
    StopOutcome::Stopped
}

/// A container started from an image with runc, on the host network (so its port is reachable
/// on 127.0.0.1). Killed and deleted on drop.
#[derive(Debug)]
pub struct RunningImage {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The runc container id.
    pub id: String,
    child: Option<Child>,
    log: PathBuf,
    _work: tempdir::TempDir,
}

impl RunningImage {
    /// GET `path` on the container.
    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        http_request(&self.url, "GET", path, None)
    }

    /// What the container printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RunningImage {
    fn drop(&mut self) {
        let _ = Command::new(runc_bin())
            .args(["kill", &self.id, "KILL"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new(runc_bin())
            .args(["delete", "--force", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn runc_bin() -> PathBuf {
    find_program("runc").unwrap_or_else(|| PathBuf::from("runc"))
}

/// Pulls `image` from the rig's registry with skopeo (ECR-token credentials) and runs it with
/// [`run_oci_layout`]. `image` may name the ECR host (`123456789012.dkr.ecr…/hello@sha256:…`,
/// what a task definition holds) or be a bare `repo@digest` / `repo:tag`; either way it is
/// fetched from `registry_url`.
pub fn run_image(registry_url: &str, image: &str, port: u16) -> Result<RunningImage> {
    let work = tempdir::TempDir::new("cargo-ecs-image")?;
    let layout = work.path().join("layout");
    let reference = registry_reference(registry_url, image);
    let out = Command::new(which("skopeo")?)
        .args([
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            "--src-creds",
            &format!("{REGISTRY_USER}:{REGISTRY_PASSWORD}"),
            &format!("docker://{reference}"),
            &format!("oci:{}:run", layout.display()),
        ])
        .output()
        .context("cannot run skopeo")?;
    if !out.status.success() {
        bail!(
            "skopeo copy docker://{reference} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    run_layout_in(work, &layout, "run", port)
}

/// Where `image` lives on the rig's registry: the host part (anything before the first `/`
/// that looks like a host) is replaced by the registry's `host:port`.
pub fn registry_reference(registry_url: &str, image: &str) -> String {
    let hostport = registry_url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let path = match image.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            rest
        }
        _ => image,
    };
    format!("{hostport}/{path}")
}

/// Runs the image tagged `tag` in the OCI image layout `layout` (e.g. from
/// `cargo ecs build --oci-layout DIR`): `umoci unpack` into a bundle, then `runc run` with the
/// host network and `PORT=port` added to the environment. Waits until `GET /` answers (any
/// status) for up to 20 s.
pub fn run_oci_layout(layout: &Path, tag: &str, port: u16) -> Result<RunningImage> {
    let work = tempdir::TempDir::new("cargo-ecs-image")?;
    run_layout_in(work, layout, tag, port)
}

fn run_layout_in(
    work: tempdir::TempDir,
    layout: &Path,
    tag: &str,
    port: u16,
) -> Result<RunningImage> {
    let bundle = work.path().join("bundle");
    let out = Command::new(which("umoci")?)
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:{tag}", layout.display()))
        .arg(&bundle)
        .output()
        .context("cannot run umoci")?;
    if !out.status.success() {
        bail!(
            "umoci unpack {}:{tag} failed: {}",
            layout.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Share the host network (so 127.0.0.1:PORT reaches the service) and tell it the port.
    let config_path = bundle.join("config.json");
    let mut config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&config_path).context("umoci wrote no config.json")?,
    )?;
    if let Some(ns) = config
        .pointer_mut("/linux/namespaces")
        .and_then(|v| v.as_array_mut())
    {
        ns.retain(|n| n.get("type").and_then(|t| t.as_str()) != Some("network"));
    }
    if let Some(process) = config.get_mut("process") {
        process["terminal"] = serde_json::Value::Bool(false);
        let env = process
            .get_mut("env")
            .and_then(|e| e.as_array_mut())
            .context("config.json has no process.env")?;
        env.retain(|e| !e.as_str().unwrap_or("").starts_with("PORT="));
        env.push(format!("PORT={port}").into());
    }
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;

    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = format!("cargo-ecs-{}-{n}-{port}", std::process::id());
    let log = work.path().join("container.log");
    let logf = std::fs::File::create(&log)?;
    let child = Command::new(runc_bin())
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(logf.try_clone()?)
        .stderr(logf)
        .spawn()
        .context("cannot run runc")?;
    let mut running = RunningImage {
        url: format!("http://127.0.0.1:{port}"),
        id,
        child: Some(child),
        log,
        _work: work,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if running.get("/").is_ok() {
            return Ok(running);
        }
        if let Some(child) = running.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            bail!(
                "the container exited ({status}) before answering; its output:\n{}",
                running.log()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "the container did not answer on port {port} within 20 s; its output:\n{}",
                running.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl RigState {
    /// `KEY=VALUE` lines.
    pub fn to_file(&self) -> String {
        let pids: Vec<String> = self.pids.iter().map(u32::to_string).collect();
        format!(
            "MOTO_URL={}\nREGISTRY_URL={}\nPIDS={}\n",
            self.moto_url,
            self.registry_url,
            pids.join(",")
        )
    }

    /// Parses [`RigState::to_file`].
    pub fn from_file(text: &str) -> Result<RigState> {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(str::to_string)
                .with_context(|| format!("rig state has no {key}"))
        };
        let pids = get("PIDS")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().context("bad pid in rig state"))
            .collect::<Result<Vec<u32>>>()?;
        Ok(RigState {
            moto_url: get("MOTO_URL")?,
            registry_url: get("REGISTRY_URL")?,
            pids,
        })
    }

    /// Whether both servers still answer.
    pub fn is_up(&self) -> bool {
        http_request(&self.moto_url, "GET", "/moto-api/", None).is_ok()
            && http_request(&self.registry_url, "GET", "/v2/", None).is_ok()
    }
}
