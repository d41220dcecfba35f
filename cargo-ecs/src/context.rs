//! What every command needs: the global flags, the terminal/UI, the AWS configuration (built
//! once, lazily) and the loaded package configuration.

use aws_config::SdkConfig;
use ecs_core::aws::AwsOptions;
use tokio::sync::OnceCell;

use crate::cli::GlobalArgs;
use crate::ui::Ui;

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
}
