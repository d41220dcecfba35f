//! What every command needs: the global flags, the terminal/UI, the AWS configuration (built
//! once, lazily) and the loaded package configuration.

use aws_config::SdkConfig;
use ecs_core::aws::AwsOptions;
use tokio::sync::OnceCell;

use crate::cli::{GlobalArgs, SettingArgs};
use crate::ui::Ui;

/// The chosen package and its resolved configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The workspace and the chosen package.
    pub workspace: ecs_core::workspace::Workspace,
    /// The valid configuration.
    pub config: ecs_core::config::Config,
    /// Where each explicitly set key came from (dotted key → origin).
    pub provenance: std::collections::BTreeMap<String, ecs_core::error::Origin>,
}

/// `&loaded` works wherever a `&Config` is expected.
impl std::ops::Deref for Loaded {
    type Target = ecs_core::config::Config;
    fn deref(&self) -> &Self::Target {
        &self.config
    }
}

/// Shared state of one invocation.
pub struct Ctx {
    /// The global flags.
    pub global: GlobalArgs,
    /// Output and progress.
    pub ui: Ui,
    sdk: OnceCell<SdkConfig>,
}

impl Ctx {
    /// Builds the context from the global flags.
    pub fn new(global: GlobalArgs) -> Self {
        let ui = Ui::new(&global);
        Ctx {
            global,
            ui,
            sdk: OnceCell::new(),
        }
    }

    /// The AWS options from the flags.
    pub fn aws_options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.global.aws_profile.clone(),
            region: self.global.region.clone(),
            endpoint_url: self.global.endpoint_url.clone(),
        }
    }

    /// The shared SDK configuration, loaded on first use.
    pub async fn sdk(&self) -> miette::Result<&SdkConfig> {
        self.sdk
            .get_or_try_init(|| async { ecs_core::aws::load(&self.aws_options()).await })
            .await
            .map_err(miette::Report::new)
    }

    /// The region of the shared SDK configuration (the awslogs region of a rendered task
    /// definition). [`ecs_core::aws::load`] already refuses to go on without one.
    pub async fn region(&self) -> miette::Result<String> {
        self.sdk()
            .await?
            .region()
            .map(|r| r.as_ref().to_string())
            .ok_or_else(|| miette::Report::new(ecs_core::aws::AwsConfigError::NoRegion))
    }

    /// Finds the package (`--manifest-path`, `-p`, the current directory), resolves its
    /// configuration with `--env`, the `CARGO_ECS_*` variables and the setting flags, and
    /// prints the warnings. Config errors come back as one report listing every problem.
    pub async fn load(&self, settings: &SettingArgs) -> miette::Result<Loaded> {
        self.load_with_bin(settings, None).await
    }

    /// [`Ctx::load`] for `build` and `deploy`, whose `--bin NAME` sets `image.bin` like the
    /// other dedicated flags (over the manifests and variables; a later `--set image.bin=…`
    /// wins), so it is checked against the binary targets and is what both cargo and the
    /// image's entrypoint use.
    pub async fn load_with_bin(
        &self,
        settings: &SettingArgs,
        bin: Option<&str>,
    ) -> miette::Result<Loaded> {
        let cwd = std::env::current_dir()
            .map_err(|e| miette::miette!("cannot read the current directory: {e}"))?;
        let selection = ecs_core::workspace::Selection {
            manifest_path: self.global.manifest_path.clone(),
            package: self.global.package.clone(),
            cwd,
        };
        let workspace = tokio::task::spawn_blocking(move || ecs_core::workspace::load(&selection))
            .await
            .map_err(|e| miette::miette!("cargo metadata did not finish: {e}"))?
            .map_err(miette::Report::new)?;
        let inputs = ecs_core::config::Inputs {
            env_name: self.global.env_name.clone(),
            vars: std::env::vars()
                .filter(|(k, _)| k.starts_with("CARGO_ECS_"))
                .collect(),
            settings: settings_of(settings, bin)?,
        };
        let resolved =
            ecs_core::config::resolve(&workspace, &inputs).map_err(miette::Report::new)?;
        for warning in &resolved.warnings {
            self.ui.warn(warning);
        }
        Ok(Loaded {
            workspace,
            config: resolved.config,
            provenance: resolved.provenance,
        })
    }
}

/// The setting flags as key-path/value pairs, in precedence order (later wins).
fn settings_of(
    args: &SettingArgs,
    bin: Option<&str>,
) -> miette::Result<Vec<ecs_core::config::Setting>> {
    use ecs_core::config::Setting;
    let mut out = Vec::new();
    if let Some(bin) = bin {
        out.push(Setting::flag("--bin", "image.bin", bin));
    }
    for (flag, key, value) in [
        ("--cluster", "cluster", &args.cluster),
        ("--service", "service", &args.service),
        ("--launch-type", "launch-type", &args.launch_type),
        ("--desired-count", "desired-count", &args.desired_count),
    ] {
        if let Some(value) = value {
            out.push(Setting::flag(flag, key, value.clone()));
        }
    }
    for arg in &args.set {
        let setting = Setting::parse_set(arg).ok_or_else(|| {
            miette::miette!(
                help =
                    "write `--set key=value`, e.g. `--set cpu=512` or `--set logs.driver=splunk`",
                "invalid --set {arg:?}: expected KEY=VALUE"
            )
        })?;
        out.push(setting);
    }
    Ok(out)
}
