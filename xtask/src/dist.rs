//! `cargo xtask dist`.

use anyhow::{Result, bail};

pub fn run(_args: &[String]) -> Result<()> {
    bail!("`cargo xtask dist` is not built yet")
}
