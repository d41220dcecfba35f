//! Helpers shared by several end-to-end modules.

use ecs_e2e::workspace_root;

/// A private copy of examples/hello (its own workspace), so tests can edit it.
pub fn hello_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = workspace_root().join("examples/hello");
    let manifest = std::fs::read_to_string(src.join("Cargo.toml")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!("{manifest}\n[workspace]\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::copy(src.join("src/main.rs"), dir.path().join("src/main.rs")).unwrap();
    dir
}

/// Runs `cmd` to the end: (exit code, or -1 when killed by a signal; stdout; stderr).
pub fn run(cmd: &mut std::process::Command) -> (i32, String, String) {
    let std::process::Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("cargo-ecs runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}
