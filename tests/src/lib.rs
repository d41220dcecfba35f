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

/// The workspace root (where the top Cargo.toml is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
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
    // bcrypt only (distribution's htpasswd reader); cost 5 keeps each request cheap.
    let hash = bcrypt::hash(REGISTRY_PASSWORD, 5).context("bcrypt")?;
    std::fs::write(&htpasswd, format!("{REGISTRY_USER}:{hash}\n"))?;
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

fn which(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain(["/usr/sbin".into(), "/usr/bin".into()]) {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("`{name}` is not installed: run `cargo xtask rig up` (it installs the rig's packages)")
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
    let hostport = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(hostport)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("bad HTTP answer from {base}{path}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
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
