//! `cargo ecs build [--oci-layout DIR] [--push]`: builds the binary and a daemonless OCI
//! image, writes an OCI layout and/or pushes it to ECR. stdout gets only the image reference
//! (`repo@sha256:…` after a push, `oci:DIR:TAG` for a layout, which skopeo reads, else the
//! bare digest), or with `--format json` one document with the digest, layers, layout and
//! push figures.

use std::process::ExitCode;

use ecs_core::config::Config;
use ecs_core::image::{self, BuildRequest, BuiltImage, CargoOptions, PushOutcome, PushTarget};
use ecs_core::registry::layout;
use miette::WrapErr;
use serde_json::json;

use crate::cli::{BuildArgs, BuildCmdArgs, Format};
use crate::context::Ctx;

/// Runs `cargo ecs build`.
pub async fn run(args: BuildCmdArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let config = ctx
        .load_with_bin(&args.settings, args.build.bin.as_deref())
        .await?;
    let outcome = build_and_push(
        &config,
        &args.build,
        args.oci_layout.as_deref(),
        args.push,
        ctx,
    )
    .await?;
    if ctx.ui.format == Format::Json {
        crate::ui::write_stdout(&format!("{}\n", outcome.json))?;
    } else {
        crate::ui::write_stdout(&format!("{}\n", outcome.reference))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What `cargo ecs build` made: the reference for humans and scripts, and the whole story
/// for `--format json`.
pub struct BuildOutcome {
    /// `repo@sha256:…`, `oci:DIR:TAG` or the bare digest.
    pub reference: String,
    /// The JSON document.
    pub json: serde_json::Value,
}

/// The cargo options from the command line.
pub fn cargo_options(build: &BuildArgs) -> CargoOptions {
    CargoOptions {
        profile: build.profile.clone(),
        features: build.features.clone(),
        all_features: build.all_features,
        no_default_features: build.no_default_features,
        target: build.target.clone(),
        prebuilt: None,
        quiet: false,
        color: None,
    }
}

/// The build request for `config` with the command line's cargo options. A base image in a
/// private ECR registry gets an ECR token (and the registry endpoint override) to be pulled.
pub async fn build_request(
    config: &Config,
    build: &BuildArgs,
    ctx: &Ctx,
) -> miette::Result<BuildRequest> {
    let mut req = BuildRequest::from_config(config)?;
    req.cargo = cargo_options(build);
    req.cargo.quiet = ctx.global.quiet;
    req.cargo.color = match ctx.global.color {
        crate::cli::ColorChoice::Always => Some("always".into()),
        crate::cli::ColorChoice::Never => Some("never".into()),
        crate::cli::ColorChoice::Auto => None,
    };
    if let Some(host) = image::ecr_base_host(&config.image.base) {
        let access = image::ecr_base_access(
            ctx.sdk().await?,
            &host,
            ctx.global.registry_endpoint.as_deref(),
        )
        .await
        .wrap_err_with(|| {
            format!("failed to get ECR credentials to pull the base image from {host}")
        })?;
        req.registries.push(access);
    }
    Ok(req)
}

/// Builds the image; writes the layout and/or pushes. Returns the reference to print.
pub async fn build_and_push(
    config: &Config,
    build: &BuildArgs,
    oci_layout: Option<&std::path::Path>,
    push: bool,
    ctx: &Ctx,
) -> miette::Result<BuildOutcome> {
    if let Some(dir) = oci_layout {
        // Before compiling: a directory we must not write into is found out now.
        layout::check(dir)
            .wrap_err_with(|| format!("cannot write the OCI layout {}", dir.display()))?;
        if dir.to_string_lossy().contains(':') {
            ctx.ui.warn(format!(
                "{} contains `:`: skopeo's `oci:DIR:TAG` cannot name it (umoci and the layout itself are fine)",
                dir.display()
            ));
        }
    }
    if push {
        // Credentials, region and endpoints are checked before the compiler runs.
        ctx.sdk().await?;
    }
    let image = build_image(config, build, ctx).await?;
    for note in &image.notes {
        ctx.ui.status("Note", note);
    }
    ctx.ui.status(
        "Assembled",
        format!(
            "{} ({} layers, {})",
            image.digest(),
            image.layers.len(),
            ecs_core::registry::http::human_bytes(image.layers.iter().map(|l| l.size).sum())
        ),
    );
    let mut reference = image.digest().to_string();
    let blob = |b: &ecs_core::image::Blob| json!({ "digest": b.digest, "size": b.size, "mediaType": b.media_type });
    let mut doc = json!({
        "digest": image.digest(),
        "mediaType": image.manifest_media_type,
        "base": image.base,
        "layers": image.layers.iter().map(blob).collect::<Vec<_>>(),
        "config": blob(&image.config),
        "ociLayout": null,
        "pushed": null,
    });
    if let Some(dir) = oci_layout {
        let tags = layout::write(dir, &image)
            .wrap_err_with(|| format!("failed to write the OCI layout {}", dir.display()))?;
        ctx.ui.status(
            "Wrote",
            format!("OCI layout {} (tags: {})", dir.display(), tags.join(", ")),
        );
        // skopeo's `oci:` transport takes `DIR:TAG` (not `DIR@DIGEST`): print what it reads.
        let tag = tags.first().map(String::as_str).unwrap_or("latest");
        reference = format!("oci:{}:{tag}", dir.display());
        doc["ociLayout"] = json!({ "path": dir, "tags": tags, "reference": reference });
    }
    if push {
        let p = push_image(&image, config, ctx).await?;
        doc["pushed"] = pushed_json(&p, config);
        reference = p.reference;
    }
    doc["reference"] = json!(reference);
    Ok(BuildOutcome {
        reference,
        json: doc,
    })
}

/// Builds the binary and the image of `config` (`build` and `deploy`), saying so on stderr.
pub async fn build_image(
    config: &Config,
    build: &BuildArgs,
    ctx: &Ctx,
) -> miette::Result<BuiltImage> {
    let req = build_request(config, build, ctx).await?;
    ctx.ui.status(
        "Building",
        format!(
            "{} {} for linux/{}",
            config.package,
            config.version,
            config.architecture.oci_name()
        ),
    );
    image::build(&req)
        .await
        .wrap_err_with(|| format!("failed to build the image of `{}`", config.package))
}

/// Pushes `image` to the configured ECR repository with the configured tags (`build --push`
/// and `deploy`), with progress on stderr.
/// What a push did, for `--format json` (build and deploy print the same fields).
pub fn pushed_json(p: &ecs_core::image::PushOutcome, config: &Config) -> serde_json::Value {
    json!({
        "reference": p.reference,
        "repository": config.image.repository,
        "tags": config.image.tags,
        "blobsUploaded": p.blobs_uploaded,
        "bytesUploaded": p.bytes_uploaded,
        "blobsPresent": p.blobs_present,
        "blobsMounted": p.blobs_mounted,
        "repositoryCreated": p.repository_created,
    })
}

pub async fn push_image(
    image: &BuiltImage,
    config: &Config,
    ctx: &Ctx,
) -> miette::Result<PushOutcome> {
    let target = PushTarget {
        sdk: ctx.sdk().await?.clone(),
        repository: config.image.repository.clone(),
        tags: config.image.tags.clone(),
        tag_mutability: config.image.tag_mutability.clone(),
        scan_on_push: true,
        registry_endpoint: ctx.global.registry_endpoint.clone(),
    };
    image::push(image, &target, &ctx.ui.reporter())
        .await
        .wrap_err_with(|| {
            format!(
                "failed to push the image to ECR repository `{}`",
                config.image.repository
            )
        })
}
