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
