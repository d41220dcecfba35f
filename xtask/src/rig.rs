//! `cargo xtask rig`.

use anyhow::{Result, bail};

pub fn run(_args: &[String]) -> Result<()> {
    bail!("`cargo xtask rig` is not built yet")
}
