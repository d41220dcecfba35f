//! `cargo ecs diff`: a unified diff of the normalized task definitions, deployed (the
//! service's, else the family's latest ACTIVE revision) vs rendered now (with `--image`, else
//! the deployed image). Exit 0 when the same, 1 when different.

use std::process::ExitCode;

use ecs_core::aws::{ecs as ecs_api, taskdef_api};
use ecs_core::deploy::plan::unified_diff;
use ecs_core::deploy::wait::short_task_definition;
use serde_json::{Value, json};

use super::deploy::ecs_client;
use crate::cli::{DiffArgs, Format};
use crate::context::Ctx;
use crate::ui::write_stdout;

/// Runs `cargo ecs diff`.
pub async fn run(args: DiffArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let loaded = ctx.load(&args.settings).await?;
    let config = &loaded.config;
    let region = ctx.region().await?;
    let ecs = ecs_client(ctx).await?;
    let service = ecs_api::describe_service(&ecs, &config.cluster, &config.service)
        .await
        .map_err(miette::Report::new)?
        .filter(|s| s.status != "INACTIVE");
    let deployed = match &service {
        Some(s) if !s.task_definition.is_empty() => taskdef_api::describe(&ecs, &s.task_definition)
            .await
            .map_err(miette::Report::new)?,
        _ => taskdef_api::latest_active(&ecs, &config.family)
            .await
            .map_err(miette::Report::new)?,
    };
    let deployed_name = deployed
        .as_ref()
        .and_then(|d| d.get("taskDefinitionArn").and_then(Value::as_str))
        .map(|a| short_task_definition(a).to_string())
        .unwrap_or_else(|| "(nothing deployed)".into());
    let image = match (&args.image, &deployed) {
        (Some(i), _) => i.clone(),
        (None, Some(d)) => deployed_image(d, &config.container.name)
            .unwrap_or_else(|| ecs_core::taskdef::PLACEHOLDER_IMAGE.to_string()),
        (None, None) => ecs_core::taskdef::PLACEHOLDER_IMAGE.to_string(),
    };
    let rendered =
        ecs_core::taskdef::render(config, &image, &region).map_err(miette::Report::new)?;
    let diff = unified_diff(
        deployed.as_ref().unwrap_or(&Value::Null),
        &rendered,
        &deployed_name,
        "rendered",
    );
    if ctx.ui.format == Format::Json {
        write_stdout(&format!(
            "{}\n",
            json!({"deployed": deployed_name, "same": diff.is_empty(), "diff": diff})
        ))?;
    } else if diff.is_empty() {
        ctx.ui.status(
            "Same",
            format!("rendered task definition matches {deployed_name}"),
        );
    } else {
        write_stdout(&diff)?;
    }
    Ok(if diff.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The image of the container named `name` (else the first container).
fn deployed_image(td: &Value, name: &str) -> Option<String> {
    let containers = td.get("containerDefinitions")?.as_array()?;
    containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .or_else(|| containers.first())?
        .get("image")?
        .as_str()
        .map(String::from)
}
