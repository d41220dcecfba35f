//! `cargo ecs render`: print the RegisterTaskDefinition input JSON that deploy would
//! register (pretty, to stdout), with `--image REF` or a placeholder image. The awslogs
//! region is the configured AWS region (no silent default).

use std::process::ExitCode;

use crate::cli::RenderArgs;
use crate::context::Ctx;

/// Runs `cargo ecs render`.
pub async fn run(args: RenderArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let loaded = ctx.load(&args.settings).await?;
    ctx.ui.verbose(format!(
        "rendering `{}` {} ({})",
        loaded.workspace.package,
        loaded.workspace.version,
        loaded.workspace.manifest_path.display()
    ));
    for (key, origin) in &loaded.provenance {
        ctx.ui.verbose(format!("{key} from {}", origin.describe()));
    }
    let region = ctx.region().await?;
    let image = args
        .image
        .as_deref()
        .unwrap_or(ecs_core::taskdef::PLACEHOLDER_IMAGE);
    if args.image.is_none() {
        ctx.ui.verbose(format!(
            "no --image given: using the placeholder {}",
            ecs_core::taskdef::PLACEHOLDER_IMAGE
        ));
    }
    let rendered =
        ecs_core::taskdef::render(&loaded.config, image, &region).map_err(miette::Report::new)?;
    let text = serde_json::to_string_pretty(&rendered)
        .map_err(|e| miette::miette!("cannot print the task definition: {e}"))?;
    crate::ui::write_stdout(&format!("{text}\n"))?;
    Ok(ExitCode::SUCCESS)
}
