//! Runs `cargo build` for the image's binary and checks the result: the target triple the
//! architecture implies (static glibc via `+crt-static` on the gnu target, FACTS.md), cargo's
//! own progress left on stderr, and an ELF inspection so that a dynamically linked binary
//! never lands on a `scratch` base. Shell code: it spawns cargo and reads files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};

use super::ImageError;
use crate::config::Architecture;

/// `cargo build` options that pass through from the command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CargoOptions {
    /// `--profile` (default: release).
    pub profile: Option<String>,
    /// `--features`.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `--target` (default: from the architecture).
    pub target: Option<String>,
    /// Skip `cargo build` and package this already-built binary (benchmarks, tests).
    pub prebuilt: Option<PathBuf>,
    /// `--quiet` for cargo (cargo ecs's own `-q`): only cargo's warnings and errors.
    pub quiet: bool,
    /// `--color` for cargo (`always` / `never`); `None` lets cargo decide, as it does alone.
    pub color: Option<String>,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct CargoBuild<'a> {
    /// The package's Cargo.toml.
    pub manifest_path: &'a Path,
    /// The binary target.
    pub bin: &'a str,
    /// `CARGO_TARGET_DIR` override.
    pub target_dir: Option<&'a Path>,
    /// Architecture of the image.
    pub architecture: Architecture,
    /// The base is `scratch`: the binary must be static.
    pub needs_static: bool,
    /// Pass-through options.
    pub options: &'a CargoOptions,
}

/// The default target triple for an architecture, and whether it is a musl target.
pub fn default_triple(arch: Architecture, sysroot: Option<&Path>) -> String {
    let musl = format!("{}-unknown-linux-musl", arch.rust_arch());
    let gnu = format!("{}-unknown-linux-gnu", arch.rust_arch());
    match sysroot {
        // Prefer gnu (+crt-static) when installed; musl when it is the only one present.
        Some(root) if !target_installed(root, &gnu) && target_installed(root, &musl) => musl,
        _ => gnu,
    }
}

/// A `--target` must build Linux code for the image's CPU: the ELF check would refuse the
/// binary anyway, but only after a whole compile.
fn check_target(triple: &str, arch: Architecture) -> Result<(), ImageError> {
    let mut parts = triple.split('-');
    let cpu = parts.next().unwrap_or_default();
    let linux = parts.any(|p| p == "linux");
    if cpu == arch.rust_arch() && linux {
        Ok(())
    } else {
        Err(ImageError::TargetMismatch {
            triple: triple.to_string(),
            architecture: arch.oci_name(),
            rust_arch: arch.rust_arch(),
        })
    }
}

fn target_installed(sysroot: &Path, triple: &str) -> bool {
    sysroot
        .join("lib/rustlib")
        .join(triple)
        .join("lib")
        .is_dir()
}

fn sysroot() -> Option<PathBuf> {
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Whether cargo, run in `cwd`, sees target-specific rustflags for `triple`: the
/// `target.<triple>.rustflags` variable, or `rustflags` under `target.<triple>` or any
/// `target.'cfg(…)'` table in the config files cargo reads (`.cargo/config.toml` in `cwd` and
/// each parent, then `$CARGO_HOME`). A cfg table is counted without being evaluated.
fn config_has_target_rustflags(cwd: &Path, triple: &str) -> bool {
    let var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        triple.to_ascii_uppercase().replace(['-', '.'], "_")
    );
    if std::env::var_os(var).is_some() {
        return true;
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let dirs = cwd.ancestors().map(|d| d.join(".cargo")).chain(cargo_home);
    for dir in dirs {
        for name in ["config.toml", "config"] {
            let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
                continue;
            };
            let Ok(doc) = text.parse::<toml::Table>() else {
                continue;
            };
            let Some(targets) = doc.get("target").and_then(toml::Value::as_table) else {
                continue;
            };
            let found = targets.iter().any(|(k, v)| {
                (k == triple || k.starts_with("cfg(")) && v.get("rustflags").is_some()
            });
            if found {
                return true;
            }
        }
    }
    false
}

/// Runs `cargo build` and returns the path of the built binary.
pub fn cargo_build(b: &CargoBuild<'_>) -> Result<PathBuf, ImageError> {
    let root = sysroot();
    let triple = match &b.options.target {
        Some(t) => t.clone(),
        None => default_triple(b.architecture, root.as_deref()),
    };
    check_target(&triple, b.architecture)?;
    if let Some(root) = &root
        && !target_installed(root, &triple)
    {
        return Err(ImageError::TargetNotInstalled {
            triple: triple.clone(),
            architecture: b.architecture.oci_name(),
        });
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(b.manifest_path)
        .args(["--bin", b.bin])
        // An explicit --target keeps build scripts and proc macros built for the host, without
        // the target's rustflags, in their own directory (no host rebuilds invalidated).
        .args(["--target", &triple])
        .args(["--message-format", "json-render-diagnostics"]);
    match &b.options.profile {
        Some(p) => cmd.args(["--profile", p]),
        None => cmd.arg("--release"),
    };
    for f in &b.options.features {
        cmd.args(["--features", f]);
    }
    if b.options.all_features {
        cmd.arg("--all-features");
    }
    if let Some(color) = &b.options.color {
        cmd.args(["--color", color]);
    }
    if b.options.quiet {
        cmd.arg("--quiet");
    }
    if b.options.no_default_features {
        cmd.arg("--no-default-features");
    }
    if let Some(dir) = b.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    if b.needs_static && triple.ends_with("-gnu") {
        // FACTS.md: `+crt-static` on the gnu target gives a static-pie binary. RUSTFLAGS in
        // the environment replaces config rustflags, so append to it when set; else add ours
        // through --config so the user's config rustflags are kept.
        let flag = "-C target-feature=+crt-static";
        let ours = "[\"-C\", \"target-feature=+crt-static\"]";
        match std::env::var("RUSTFLAGS") {
            Ok(existing) if !existing.trim().is_empty() => {
                cmd.env("RUSTFLAGS", format!("{existing} {flag}"));
            }
            _ => {
                // --config arrays are joined with the config files' ones, but
                // target.<triple|cfg>.rustflags, when set anywhere, hide build.rustflags: add
                // ours where the user's flags are, so both apply.
                let cwd = std::env::current_dir().unwrap_or_default();
                let key = if config_has_target_rustflags(&cwd, &triple) {
                    format!("target.{triple}.rustflags")
                } else {
                    "build.rustflags".to_string()
                };
                cmd.arg("--config").arg(format!("{key}={ours}"));
            }
        }
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .map_err(|source| ImageError::CargoSpawn { source })?;
    let mut binary = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == b.bin
                && msg["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "bin"))
                && let Some(exe) = msg["executable"].as_str()
            {
                binary = Some(PathBuf::from(exe));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|source| ImageError::CargoSpawn { source })?;
    if !status.success() {
        return Err(ImageError::CargoFailed {
            status: status.code().unwrap_or(-1),
        });
    }
    binary.ok_or_else(|| ImageError::NoBinary {
        bin: b.bin.to_string(),
    })
}

/// What the ELF inspection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// The `PT_INTERP` path, for a dynamically linked binary.
    pub interpreter: Option<String>,
    /// The machine matches the requested architecture.
    pub machine_ok: bool,
}

/// Inspects an ELF executable.
pub fn inspect_elf(data: &[u8], arch: Architecture) -> Result<ElfInfo, String> {
    let elf = ElfFile64::<object::Endianness>::parse(data).map_err(|e| e.to_string())?;
    let endian = elf.endian();
    let machine = elf.elf_header().e_machine(endian);
    let machine_ok = match arch {
        Architecture::X86_64 => machine == object::elf::EM_X86_64,
        Architecture::Arm64 => machine == object::elf::EM_AARCH64,
    };
    let mut interpreter = None;
    for ph in elf.elf_program_headers() {
        if ph.p_type(endian) == object::elf::PT_INTERP {
            let bytes = ph.data(endian, data).unwrap_or(&[]);
            let s = String::from_utf8_lossy(bytes)
                .trim_end_matches('\0')
                .to_string();
            interpreter = Some(s);
        }
    }
    Ok(ElfInfo {
        interpreter,
        machine_ok,
    })
}

/// Checks a built binary for the image: an ELF of the right machine, and static on scratch.
pub fn check_binary(
    path: &Path,
    data: &[u8],
    arch: Architecture,
    scratch: bool,
) -> Result<(), ImageError> {
    let info = inspect_elf(data, arch).map_err(|reason| ImageError::NotElf {
        path: path.to_path_buf(),
        reason,
    })?;
    if !info.machine_ok {
        return Err(ImageError::WrongArchitecture {
            path: path.to_path_buf(),
            architecture: arch.oci_name(),
        });
    }
    if scratch && let Some(interpreter) = info.interpreter {
        return Err(ImageError::DynamicOnScratch {
            path: path.to_path_buf(),
            interpreter,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_target_must_be_linux_for_the_image_cpu() {
        for ok in ["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"] {
            assert!(check_target(ok, Architecture::X86_64).is_ok(), "{ok}");
        }
        assert!(check_target("aarch64-unknown-linux-gnu", Architecture::Arm64).is_ok());
        for bad in [
            "aarch64-unknown-linux-gnu",
            "x86_64-apple-darwin",
            "x86_64-pc-windows-msvc",
            "nope-nope-nope",
            "",
        ] {
            let err = check_target(bad, Architecture::X86_64).unwrap_err();
            assert!(
                matches!(&err, ImageError::TargetMismatch { triple, .. } if triple == bad),
                "{bad}: {err:?}"
            );
        }
    }

    use super::*;

    #[test]
    fn the_running_test_binary_is_dynamic_and_rejected_on_scratch() {
        // Test executables are ordinary dynamically linked binaries on this host.
        let exe = std::env::current_exe().unwrap();
        let data = std::fs::read(&exe).unwrap();
        let info = inspect_elf(&data, Architecture::X86_64).unwrap();
        if cfg!(all(target_arch = "x86_64", target_env = "gnu")) {
            assert!(info.interpreter.is_some());
            let err = check_binary(&exe, &data, Architecture::X86_64, true).unwrap_err();
            assert!(matches!(err, ImageError::DynamicOnScratch { .. }));
            assert!(check_binary(&exe, &data, Architecture::X86_64, false).is_ok());
            assert!(matches!(
                check_binary(&exe, &data, Architecture::Arm64, false).unwrap_err(),
                ImageError::WrongArchitecture { .. }
            ));
        }
    }

    #[test]
    fn garbage_is_not_an_elf() {
        assert!(inspect_elf(b"#!/bin/sh\n", Architecture::X86_64).is_err());
    }
}
