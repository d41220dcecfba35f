//! `cargo xtask rig up | down | env | status`: the local stand-ins for AWS (moto_server) and
//! the ECR registry endpoint (docker-registry), started detached so they outlive the command.
//!
//! State (pids, URLs, server logs, registry data) lives under `target/rig/`, or under
//! `CARGO_ECS_RIG_DIR` when set (the end-to-end test uses a temporary one so it never touches
//! a developer's rig). `down` stops exactly the recorded processes, after checking each pid
//! still runs the server we started (pid reuse), and nothing else.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use ecs_e2e::{RigOptions, RigState, StopOutcome, env_for, find_program, stop_if_ours};

/// The packages the rig and the image checks need, by the binary each provides.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("runc", "runc"),
];

/// The moto the measured behaviour in DESIGN.md comes from.
const MOTO_REQUIREMENT: &str = "moto[server]>=5.2,<5.3";

pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("up") => {
            let state = up()?;
            println!("rig is up (state in {})", state_dir().display());
            println!("  moto_server      {}", state.moto_url);
            println!("  docker-registry  {}", state.registry_url);
            println!("use it from a shell:  eval \"$(cargo xtask rig env)\"");
            Ok(())
        }
        Some("down") => down(),
        Some("env") => {
            let state = running_state()?;
            for (k, v) in env_for(&state.moto_url, &state.registry_url) {
                println!("export {k}='{v}'");
            }
            Ok(())
        }
        Some("status") => {
            match read_state()? {
                Some(state) if state.is_up() => {
                    println!("up: moto_server {}", state.moto_url);
                    println!("up: docker-registry {}", state.registry_url);
                    let pids: Vec<String> = state.pids.iter().map(u32::to_string).collect();
                    println!("pids: {}", pids.join(" "));
                }
                Some(_) => println!("down (stale state in {})", state_file().display()),
                None => println!("down"),
            }
            Ok(())
        }
        _ => bail!("usage: cargo xtask rig <up | down | env | status>"),
    }
}

/// The workspace root: xtask lives one level below it (the run-time `CARGO_MANIFEST_DIR`
/// first, see [`ecs_e2e::workspace_root`]).
pub fn workspace_root() -> PathBuf {
    ecs_e2e::workspace_root()
}

/// `CARGO_ECS_RIG_DIR`, else `target/rig/` in the workspace.
pub fn state_dir() -> PathBuf {
    match std::env::var_os("CARGO_ECS_RIG_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target").join("rig"),
    }
}

fn state_file() -> PathBuf {
    state_dir().join("state.env")
}

fn read_state() -> Result<Option<RigState>> {
    let path = state_file();
    match std::fs::read_to_string(&path) {
        Ok(text) => RigState::from_file(&text)
            .map(Some)
            .with_context(|| format!("cannot read {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn running_state() -> Result<RigState> {
    match read_state()? {
        Some(state) if state.is_up() => Ok(state),
        _ => bail!("the rig is not running; start it with `cargo xtask rig up`"),
    }
}

/// Installs what is missing, then starts both servers unless a recorded rig still answers.
pub fn up() -> Result<RigState> {
    ensure_installed()?;
    if let Some(state) = read_state()? {
        if state.is_up() {
            eprintln!("rig: reusing the running servers (pids {:?})", state.pids);
            return Ok(state);
        }
        // Half-dead rig (one server died): stop what is left of it before starting afresh.
        stop_recorded(&state);
    }
    let dir = state_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let state = ecs_e2e::Rig::start_detached(&RigOptions::new(&dir))?;
    let path = state_file();
    std::fs::write(&path, state.to_file())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(state)
}

fn down() -> Result<()> {
    let Some(state) = read_state()? else {
        println!(
            "rig: nothing recorded in {}; nothing to stop",
            state_file().display()
        );
        return Ok(());
    };
    let foreign = stop_recorded(&state);
    let path = state_file();
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    if foreign > 0 {
        println!("rig: {foreign} recorded pid(s) now belong to other processes; left them alone");
    }
    Ok(())
}

/// Stops each recorded server that is still ours; returns how many pids were reused by others.
fn stop_recorded(state: &RigState) -> usize {
    let dir = state_dir();
    let config = dir.join("registry.yml");
    let config = config.to_string_lossy();
    let moto_port = port_of(&state.moto_url);
    let moto_marks = ["moto_server", "-p", moto_port.as_str()];
    let registry_marks = ["docker-registry", "serve", &*config];
    let mut foreign = 0;
    for pid in &state.pids {
        // Which server a pid was is told by its command line; each must match one fully.
        let cmdline = ecs_e2e::process_cmdline(*pid).unwrap_or_default();
        let marks: &[&str] = if cmdline.contains("moto_server") {
            &moto_marks
        } else {
            &registry_marks
        };
        match stop_if_ours(*pid, marks) {
            StopOutcome::Stopped => println!("rig: stopped pid {pid}"),
            StopOutcome::AlreadyGone => println!("rig: pid {pid} had already exited"),
            StopOutcome::NotOurs(cmd) => {
                foreign += 1;
                println!("rig: pid {pid} is now `{cmd}`, not ours: left alone");
            }
        }
    }
    foreign
}

fn port_of(url: &str) -> String {
    url.rsplit(':').next().unwrap_or("").to_string()
}

/// Installs the rig's packages when a binary is missing: apt (docker-registry, skopeo, umoci,
/// runc) and pip (`moto[server]`). Shared by `rig up`, `demo` and `ci`.
pub fn ensure_installed() -> Result<()> {
    let missing = missing_packages(APT_PACKAGES);
    let need_pip = find_program("moto_server").is_none();
    if !missing.is_empty() || (need_pip && !python_has_pip()) {
        let mut pkgs = missing.clone();
        if need_pip && !python_has_pip() {
            pkgs.extend(["python3-pip", "python3-venv"]);
        }
        eprintln!("rig: installing {} with apt-get", pkgs.join(" "));
        run_privileged(&["apt-get", "update"])?;
        let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
        install.extend(pkgs);
        run_privileged(&install)?;
    }
    if need_pip {
        eprintln!("rig: installing {MOTO_REQUIREMENT} with pip");
        let python = python();
        let base = [python.as_str(), "-m", "pip", "install", MOTO_REQUIREMENT];
        if !run_cmd(&base)? {
            // Debian's Python refuses system-wide pip installs (PEP 668) unless told.
            let mut again = base.to_vec();
            again.push("--break-system-packages");
            if !run_cmd(&again)? {
                bail!("`pip install {MOTO_REQUIREMENT}` failed (see above)");
            }
        }
        if find_program("moto_server").is_none() {
            bail!("pip installed moto but `moto_server` is not on PATH");
        }
    }
    Ok(())
}

/// The packages (second of each pair) whose binary (first) is not installed.
pub fn missing_packages<'a>(wanted: &[(&str, &'a str)]) -> Vec<&'a str> {
    wanted
        .iter()
        .filter(|(bin, _)| find_program(bin).is_none())
        .map(|(_, pkg)| *pkg)
        .collect()
}

/// `apt-get update` then `apt-get install -y` of the packages whose binary is missing.
pub fn ensure_apt(wanted: &[(&str, &str)]) -> Result<()> {
    let missing = missing_packages(wanted);
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing {} with apt-get", missing.join(" "));
    run_privileged(&["apt-get", "update"])?;
    let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
    install.extend(missing);
    run_privileged(&install)
}

fn python() -> String {
    if find_program("python3").is_some() {
        "python3".into()
    } else {
        "python".into()
    }
}

fn python_has_pip() -> bool {
    Command::new(python())
        .args(["-m", "pip", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn run_cmd(argv: &[&str]) -> Result<bool> {
    eprintln!("+ {}", argv.join(" "));
    let status = Command::new(argv[0])
        .args(&argv[1..])
        .status()
        .with_context(|| format!("cannot run `{}`", argv[0]))?;
    Ok(status.success())
}

/// Runs as root, through sudo when we are not root already.
fn run_privileged(argv: &[&str]) -> Result<()> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut full: Vec<&str> = Vec::new();
    if !is_root {
        if find_program("sudo").is_none() {
            bail!("`{}` needs root and sudo is not installed", argv.join(" "));
        }
        full.push("sudo");
    }
    full.extend(["env", "DEBIAN_FRONTEND=noninteractive"]);
    full.extend(argv);
    if !run_cmd(&full)? {
        bail!("`{}` failed", argv.join(" "));
    }
    Ok(())
}
