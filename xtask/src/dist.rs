//! `cargo xtask dist [--target TRIPLE]`: the release archive for one target, built exactly as
//! `.github/workflows/release.yml` builds it — each matrix job of that workflow runs this
//! command, so what is tested here is what ships.
//!
//! Steps: `cargo build --release --locked -p cargo-ecs --target TRIPLE` (Linux: glibc with
//! `-C target-feature=+crt-static`, a fully static binary; see docs/release.md for why not
//! musl), a check that a Linux binary needs no dynamic loader, the archive
//! `target/dist/cargo-ecs-<version>-<target>.tar.gz` (one top-level directory holding
//! `cargo-ecs` and the README/licences), its `.sha256` in `sha256sum` format checked with
//! `sha256sum --check` (`shasum -a 256 -c` on macOS), and finally the archive unpacked into a
//! fresh directory and `cargo-ecs ecs --version` run from there. On a Linux host, last, the
//! "Install cargo-ecs" script of the rendered deploy workflow runs against a local HTTPS
//! server holding the archive (it must install it, and must refuse a corrupted copy).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::rig::workspace_root;

/// The flags for a static Linux binary (see docs/release.md). Set on every build, and
/// `RUSTFLAGS` is always overridden, so a developer's own flags never leak into a release.
const LINUX_RUSTFLAGS: &str = "-C target-feature=+crt-static";

pub fn run(args: &[String]) -> Result<()> {
    let mut target: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--target" => match it.next() {
                Some(t) => target = Some(t.clone()),
                None => bail!("`--target` needs a value, e.g. --target x86_64-unknown-linux-gnu"),
            },
            other => match other.strip_prefix("--target=") {
                Some(t) => target = Some(t.to_owned()),
                None => {
                    bail!("unknown argument `{other}`\nusage: cargo xtask dist [--target TRIPLE]")
                }
            },
        }
    }
    let started = Instant::now();
    let root = workspace_root();
    let host = host_triple()?;
    let target = target.unwrap_or_else(|| host.clone());
    let version = package_version(&root)?;
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root.join("target"),
    };
    let name = format!("cargo-ecs-{version}-{target}");

    // 1. Build.
    let rustflags = if target.contains("-linux-") {
        LINUX_RUSTFLAGS
    } else {
        ""
    };
    let build_args = [
        "build",
        "--release",
        "--locked",
        "-p",
        "cargo-ecs",
        "--bin",
        "cargo-ecs",
        "--target",
        &target,
    ];
    println!(
        "==> dist: RUSTFLAGS=\"{rustflags}\" cargo {}",
        build_args.join(" ")
    );
    let build_started = Instant::now();
    let status = Command::new(cargo())
        .args(build_args)
        .env("RUSTFLAGS", rustflags)
        .current_dir(&root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("the release build for {target} failed ({status})");
    }
    println!(
        "==> dist: built in {:.0} s",
        build_started.elapsed().as_secs_f64()
    );
    let exe = target_dir
        .join(&target)
        .join("release")
        .join(exe_name(&target));

    // 2. A Linux release binary must not need a dynamic loader.
    if target.contains("-linux-") {
        let bytes =
            std::fs::read(&exe).with_context(|| format!("cannot read {}", exe.display()))?;
        match elf_interpreter(&bytes) {
            Ok(None) => println!("==> dist: {} is statically linked", exe.display()),
            Ok(Some(interp)) => bail!(
                "{} is dynamically linked (interpreter {interp}); RUSTFLAGS={LINUX_RUSTFLAGS} did not apply",
                exe.display()
            ),
            Err(why) => bail!("{} is not a usable ELF file: {why}", exe.display()),
        }
    }

    // 3. Archive: one top-level directory, like most release tarballs.
    let dist = target_dir.join("dist");
    let stage = dist.join("stage").join(&name);
    if stage.exists() {
        std::fs::remove_dir_all(&stage)
            .with_context(|| format!("cannot clear {}", stage.display()))?;
    }
    std::fs::create_dir_all(&stage)
        .with_context(|| format!("cannot create {}", stage.display()))?;
    std::fs::copy(&exe, stage.join(exe_name(&target)))
        .with_context(|| format!("cannot copy {}", exe.display()))?;
    for extra in ["README.md", "LICENSE-MIT", "LICENSE-APACHE", "CHANGELOG.md"] {
        let src = root.join(extra);
        if src.is_file() {
            std::fs::copy(&src, stage.join(extra))
                .with_context(|| format!("cannot copy {}", src.display()))?;
        }
    }
    let archive = format!("{name}.tar.gz");
    let stage_parent = dist.join("stage");
    run_in(
        &dist,
        Command::new("tar")
            .arg("-czf")
            .arg(dist.join(&archive))
            .arg("-C")
            .arg(&stage_parent)
            .arg(&name)
            // macOS tar would add AppleDouble `._*` entries for extended attributes.
            .env("COPYFILE_DISABLE", "1"),
        "tar",
    )?;

    // 4. Checksum in `sha256sum` format (`<hex>  <file name>`), then checked by the same tool
    //    a user would run.
    let sum_file = dist.join(format!("{archive}.sha256"));
    let line = sha256_line(&dist, &archive)?;
    std::fs::write(&sum_file, &line)
        .with_context(|| format!("cannot write {}", sum_file.display()))?;
    check_sha256(&dist, &format!("{archive}.sha256"))?;
    println!("==> dist: {}", dist.join(&archive).display());
    println!("==> dist: {} ({})", sum_file.display(), line.trim_end());

    // 5. Unpack into a fresh directory and run the binary from there.
    let verify = dist.join("verify").join(&name);
    if verify.exists() {
        std::fs::remove_dir_all(&verify)
            .with_context(|| format!("cannot clear {}", verify.display()))?;
    }
    std::fs::create_dir_all(&verify)
        .with_context(|| format!("cannot create {}", verify.display()))?;
    run_in(
        &dist,
        Command::new("tar")
            .arg("-xzf")
            .arg(dist.join(&archive))
            .arg("-C")
            .arg(&verify),
        "tar",
    )?;
    let unpacked = verify.join(&name).join(exe_name(&target));
    if !unpacked.is_file() {
        bail!("the archive has no {name}/{}", exe_name(&target));
    }
    if can_run(&host, &target) {
        let out = Command::new(&unpacked)
            .args(["ecs", "--version"])
            .output()
            .with_context(|| format!("cannot run {}", unpacked.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !stdout.contains(&version) {
            bail!(
                "`cargo-ecs ecs --version` from the archive failed ({}): stdout {:?}, stderr {:?}",
                out.status,
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        println!(
            "==> dist: the unpacked binary answers `cargo-ecs ecs --version`: {}",
            stdout.trim()
        );
    } else {
        println!("==> dist: not running the {target} binary on {host} (cannot execute it here)");
    }

    // 6. Install it the way the generated deploy workflow does (its own script, over HTTPS).
    if host == target && target.contains("-linux-") {
        install_check(&root, &dist, &archive, &version)?;
    }
    println!("==> dist: done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Run the "Install cargo-ecs" step of the rendered deploy workflow
/// (`templates/github/deploy.example.yml`) against a local HTTPS server that serves
/// `target/dist` in the GitHub release layout (`/v<version>/<file>`), with a throw-away
/// certificate and a throw-away `$HOME`: the download names, the `.sha256` format, the archive
/// layout and the install path must all line up. Then corrupt the archive and require the
/// same script to fail at the checksum. Skipped with a notice when python3, openssl, curl or
/// bash is missing.
fn install_check(root: &Path, dist: &Path, archive: &str, version: &str) -> Result<()> {
    for tool in ["python3", "openssl", "curl", "bash"] {
        if Command::new(tool).arg("--version").output().is_err() {
            println!("==> dist: install check skipped ({tool} is not installed)");
            return Ok(());
        }
    }
    let workflow = root.join("templates/github/deploy.example.yml");
    let text = std::fs::read_to_string(&workflow)
        .with_context(|| format!("cannot read {}", workflow.display()))?;
    let script = install_script(&text)
        .with_context(|| format!("no `Install cargo-ecs` run step in {}", workflow.display()))?;

    let dir = dist.join("install-check");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let www = dir.join("www").join(format!("v{version}"));
    let home_bin = dir.join("home").join(".cargo").join("bin");
    std::fs::create_dir_all(&www).with_context(|| format!("cannot create {}", www.display()))?;
    std::fs::create_dir_all(&home_bin)
        .with_context(|| format!("cannot create {}", home_bin.display()))?;
    for file in [archive.to_owned(), format!("{archive}.sha256")] {
        std::fs::copy(dist.join(&file), www.join(&file))
            .with_context(|| format!("cannot copy {file}"))?;
    }
    run_in(
        &dir,
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .stderr(std::process::Stdio::null()),
        "openssl req",
    )?;
    const SERVER: &str = r#"
import functools, http.server, ssl, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
"#;
    let mut server = Command::new("python3")
        .args(["-c", SERVER])
        .arg(dir.join("www"))
        .arg(dir.join("cert.pem"))
        .arg(dir.join("key.pem"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot start the local HTTPS server")?;
    let rustup_home = match std::env::var_os("RUSTUP_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".rustup"),
    };
    let result = (|| -> Result<()> {
        let mut port = String::new();
        if let Some(out) = server.stdout.as_mut() {
            use std::io::BufRead;
            std::io::BufReader::new(out).read_line(&mut port)?;
        }
        let port = port.trim();
        if port.is_empty() {
            bail!("the local HTTPS server did not start");
        }
        let install = |expect_ok: bool| -> Result<std::process::Output> {
            let path = format!(
                "{}:{}",
                home_bin.display(),
                std::env::var("PATH").unwrap_or_default()
            );
            let out = Command::new("bash")
                .arg("-c")
                .arg(&script)
                .env("HOME", dir.join("home"))
                // cargo's own home moves with $HOME, as on a runner; rustup keeps its toolchains.
                .env("CARGO_HOME", dir.join("home").join(".cargo"))
                .env("RUSTUP_HOME", &rustup_home)
                .env("PATH", path)
                .env("CARGO_ECS_VERSION", version)
                .env("CARGO_ECS_RELEASES", format!("https://127.0.0.1:{port}"))
                .env("CURL_CA_BUNDLE", dir.join("cert.pem"))
                .current_dir(&dir)
                .output()
                .context("cannot run bash")?;
            if out.status.success() != expect_ok {
                let what = if expect_ok {
                    "failed"
                } else {
                    "succeeded on a corrupt archive"
                };
                bail!(
                    "the workflow's install script {what} ({}):\n{}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(out)
        };
        let out = install(true)?;
        let installed = home_bin.join("cargo-ecs");
        let said = String::from_utf8_lossy(&out.stdout);
        if !installed.is_file() || !said.contains(version) {
            bail!("the install script did not install cargo-ecs {version}: {said:?}");
        }
        println!(
            "==> dist: the deploy workflow's install step installed it: {}",
            said.lines().last().unwrap_or_default().trim()
        );
        // Flip one byte of the served archive: the same script must stop at the checksum.
        let served = www.join(archive);
        let mut bytes = std::fs::read(&served)?;
        let mid = bytes.len() / 2;
        if let Some(b) = bytes.get_mut(mid) {
            *b ^= 0xff;
        }
        std::fs::write(&served, bytes)?;
        std::fs::remove_file(&installed)?;
        let out = install(false)?;
        // sha256sum says `<file>: FAILED` on stdout and `WARNING: … did NOT match` on stderr.
        if installed.exists() || !String::from_utf8_lossy(&out.stdout).contains(": FAILED") {
            bail!("the install script did not stop at the checksum of a corrupt archive");
        }
        println!("==> dist: and refused a corrupted archive (sha256sum --check: FAILED)");
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// The `run: |` block of the step named `Install cargo-ecs …`, dedented.
fn install_script(workflow: &str) -> Option<String> {
    let mut lines = workflow
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("- name: Install cargo-ecs"));
    lines.next()?;
    let mut lines = lines.skip_while(|l| l.trim() != "run: |");
    let run = lines.next()?;
    let indent = run.len() - run.trim_start().len() + 2;
    let mut script = String::new();
    for line in lines {
        if !line.trim().is_empty() && line.len() - line.trim_start().len() < indent {
            break;
        }
        script.push_str(line.get(indent..).unwrap_or(""));
        script.push('\n');
    }
    script.truncate(script.trim_end().len());
    script.push('\n');
    (!script.trim().is_empty()).then_some(script)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn exe_name(target: &str) -> &'static str {
    if target.contains("windows") {
        "cargo-ecs.exe"
    } else {
        "cargo-ecs"
    }
}

/// Whether a binary for `target` can run on `host`: the same triple, or x86_64 macOS on Apple
/// silicon (Rosetta 2, which the release workflow installs).
fn can_run(host: &str, target: &str) -> bool {
    host == target || (host == "aarch64-apple-darwin" && target == "x86_64-apple-darwin")
}

fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("`rustc -vV` printed no host line")
}

/// The version of the cargo-ecs package, from `cargo pkgid` (`…#0.1.0` or `…#cargo-ecs@0.1.0`).
fn package_version(root: &Path) -> Result<String> {
    let out = Command::new(cargo())
        .args(["pkgid", "-p", "cargo-ecs"])
        .current_dir(root)
        .output()
        .context("cannot run cargo pkgid")?;
    if !out.status.success() {
        bail!(
            "cargo pkgid -p cargo-ecs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse_pkgid_version(String::from_utf8_lossy(&out.stdout).trim())
}

fn parse_pkgid_version(pkgid: &str) -> Result<String> {
    let fragment = pkgid
        .rsplit_once('#')
        .map(|(_, f)| f)
        .with_context(|| format!("unexpected package id `{pkgid}`"))?;
    let version = fragment.rsplit_once('@').map_or(fragment, |(_, v)| v);
    if version.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
        bail!("no version in package id `{pkgid}`");
    }
    Ok(version.to_owned())
}

fn run_in(dir: &Path, cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .current_dir(dir)
        .status()
        .with_context(|| format!("cannot run {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// `sha256sum FILE` (or `shasum -a 256 FILE` where coreutils are absent, as on macOS), run in
/// `dir` so the line names the bare file.
fn sha256_line(dir: &Path, file: &str) -> Result<String> {
    let attempts: [(&str, &[&str]); 2] = [("sha256sum", &[]), ("shasum", &["-a", "256"])];
    for (tool, args) in attempts {
        let out = match Command::new(tool)
            .args(args)
            .arg(file)
            .current_dir(dir)
            .output()
        {
            Ok(out) => out,
            Err(_) => continue,
        };
        if !out.status.success() {
            bail!(
                "{tool} {file} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let line = String::from_utf8_lossy(&out.stdout).into_owned();
        let (hex, name) = line
            .trim_end()
            .split_once("  ")
            .with_context(|| format!("unexpected {tool} output {line:?}"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || name != file {
            bail!("unexpected {tool} output {line:?}");
        }
        return Ok(format!("{hex}  {file}\n"));
    }
    bail!("neither sha256sum nor shasum is installed")
}

fn check_sha256(dir: &Path, sum_file: &str) -> Result<()> {
    let attempts: [(&str, &[&str]); 2] = [
        ("sha256sum", &["--check"]),
        ("shasum", &["-a", "256", "-c"]),
    ];
    for (tool, args) in attempts {
        match Command::new(tool)
            .args(args)
            .arg(sum_file)
            .current_dir(dir)
            .status()
        {
            Ok(status) if status.success() => return Ok(()),
            Ok(status) => bail!("{tool} could not verify {sum_file} ({status})"),
            Err(_) => continue,
        }
    }
    bail!("neither sha256sum nor shasum is installed")
}

/// The program interpreter (PT_INTERP) of a 64-bit little-endian ELF file, `None` for a
/// static binary. Hand-parsed (ELF64 header: e_phoff at 0x20, e_phentsize at 0x36, e_phnum
/// at 0x38; program header: p_type, p_offset at +8, p_filesz at +32) so xtask stays light.
fn elf_interpreter(bytes: &[u8]) -> Result<Option<String>, String> {
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err("no ELF magic".into());
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let u16_at = |off: usize| -> Result<usize, String> {
        bytes
            .get(off..off + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or_else(|| format!("truncated at {off:#x}"))
    };
    let u64_at = |off: usize| -> Result<usize, String> {
        bytes
            .get(off..off + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(|b| u64::from_le_bytes(b) as usize)
            .ok_or_else(|| format!("truncated at {off:#x}"))
    };
    let phoff = u64_at(0x20)?;
    let phentsize = u16_at(0x36)?;
    let phnum = u16_at(0x38)?;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let p_type = bytes
            .get(ph..ph + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| format!("truncated program header {i}"))?;
        const PT_INTERP: u32 = 3;
        if p_type == PT_INTERP {
            let off = u64_at(ph + 8)?;
            let size = u64_at(ph + 32)?;
            let raw = bytes
                .get(off..off + size)
                .ok_or_else(|| "truncated interpreter path".to_string())?;
            let path = String::from_utf8_lossy(raw)
                .trim_end_matches('\0')
                .to_owned();
            return Ok(Some(path));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkgid_versions() {
        assert_eq!(
            parse_pkgid_version("path+file:///w/cargo-ecs#0.1.0").unwrap(),
            "0.1.0"
        );
        assert_eq!(
            parse_pkgid_version("path+file:///w/tools/ecs#cargo-ecs@1.2.3-rc.1").unwrap(),
            "1.2.3-rc.1"
        );
        assert!(parse_pkgid_version("cargo-ecs").is_err());
    }

    #[test]
    fn install_script_is_the_workflow_step() {
        let example = workspace_root().join("templates/github/deploy.example.yml");
        let text = std::fs::read_to_string(example).unwrap();
        let script = install_script(&text).unwrap();
        assert!(script.starts_with("set -euo pipefail\n"), "{script}");
        assert!(script.contains("\nsha256sum --check "), "{script}");
        assert!(script.ends_with("cargo ecs --version\n"), "{script}");
        assert_eq!(install_script("jobs: {}\n"), None);
    }

    #[test]
    fn which_targets_run_here() {
        assert!(can_run(
            "x86_64-unknown-linux-gnu",
            "x86_64-unknown-linux-gnu"
        ));
        assert!(can_run("aarch64-apple-darwin", "x86_64-apple-darwin"));
        assert!(!can_run(
            "x86_64-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu"
        ));
    }

    /// The ELF check against real binaries on this machine: the dynamic `rustc`/`sh` has an
    /// interpreter; garbage is rejected.
    #[test]
    fn elf_interpreter_of_real_binaries() {
        if let Ok(bytes) = std::fs::read("/bin/sh") {
            let interp = elf_interpreter(&bytes).unwrap();
            assert!(
                interp.as_deref().is_some_and(|p| p.contains("ld-")),
                "{interp:?}"
            );
        }
        assert!(elf_interpreter(b"#!/bin/sh\n").is_err());
        assert!(elf_interpreter(b"\x7fELF\x02\x01").is_err());
    }
}
