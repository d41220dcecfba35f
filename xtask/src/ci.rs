//! `cargo xtask ci`.

use anyhow::{Result, bail};

pub fn run(_args: &[String]) -> Result<()> {
    bail!("`cargo xtask ci` is not built yet")
}
