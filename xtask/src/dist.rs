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
//! fresh directory and `cargo-ecs ecs --version` run from there.

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
    println!("==> dist: done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
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
