//! `cargo ecs setup` and `cargo ecs init`: the one-time AWS set-up and the Cargo.toml
//! skeleton.
//!
//! - [`cidr`] (pure) validates `--ssh-cidr`;
//! - [`rules`] (pure) is the exact inbound rule set of the service's security group and the
//!   reconciliation of what exists against it;
//! - [`policy`] (pure) builds the IAM policy and trust policy that setup prints;
//! - [`manifest`] (pure text → text) writes ids back into Cargo.toml with `toml_edit` and
//!   appends the `init` skeleton without touching any other byte;
//! - [`exec`] (shell) is the idempotent executor: look, create only what is missing, report
//!   found / created / updated per resource.
//!
//! The request takes plain values (cluster, repository, log group…) so it does not depend on
//! how the configuration was loaded. Nothing here prints.

pub mod cidr;
pub mod exec;
pub mod manifest;
pub mod policy;
pub mod rules;

use std::path::PathBuf;

use crate::aws::ec2::AwsCallError;
use crate::config::LaunchType;
use cidr::Cidr;

/// An EC2 key pair to create, and where its private key goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairRequest {
    /// Key pair name.
    pub name: String,
    /// Private key file (created new with mode 0600; never overwritten).
    pub path: PathBuf,
}

/// What `cargo ecs setup` should make sure exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupRequest {
    /// Service name (names the security group `<service>-ecs`).
    pub service: String,
    /// ECS cluster name.
    pub cluster: String,
    /// ECR repository name.
    pub repository: String,
    /// MUTABLE or IMMUTABLE, for a new repository.
    pub tag_mutability: String,
    /// CloudWatch log group (awslogs driver only).
    pub log_group: Option<String>,
    /// Retention for the log group, in days.
    pub retention_days: Option<i32>,
    /// Fargate or EC2.
    pub launch_type: LaunchType,
    /// Configured subnets (empty: the default VPC's).
    pub subnets: Vec<String>,
    /// The only source SSH is opened to; `None`: no SSH rule at all.
    pub ssh: Option<Cidr>,
    /// `--key-pair` (EC2 only).
    pub key_pair: Option<KeyPairRequest>,
}

impl SetupRequest {
    /// `<service>-ecs`.
    pub fn security_group_name(&self) -> String {
        format!("{}-ecs", self.service)
    }

    /// The checks that need no AWS call.
    pub fn validate(&self) -> Result<(), SetupError> {
        if let (LaunchType::Fargate, Some(kp)) = (self.launch_type, &self.key_pair) {
            return Err(SetupError::KeyPairOnFargate {
                name: kp.name.clone(),
            });
        }
        if let Some(kp) = &self.key_pair {
            validate_key_pair_name(&kp.name)?;
        }
        Ok(())
    }
}

/// EC2 key pair names: 1–255 ASCII characters (the EC2 API reference, CreateKeyPair
/// `KeyName`). We also refuse control characters and path separators, since the default key
/// file is named after it.
fn validate_key_pair_name(name: &str) -> Result<(), SetupError> {
    let bad = name.is_empty()
        || name.len() > 255
        || !name.is_ascii()
        || name
            .chars()
            .any(|c| c.is_ascii_control() || c == '/' || c == '\\');
    if bad {
        return Err(SetupError::InvalidKeyPairName {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Everything that can stop `cargo ecs setup`.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SetupError {
    /// A bad `--ssh-cidr`.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Cidr(#[from] cidr::CidrError),
    /// `--key-pair` with the Fargate launch type.
    #[error("`--key-pair {name}` is not used with the Fargate launch type")]
    #[diagnostic(
        code(cargo_ecs::setup::key_pair_on_fargate),
        help(
            "Fargate tasks run on no instance you can log in to, so no key pair is needed: drop `--key-pair`, or set `launch-type = \"ec2\"` in [package.metadata.ecs] (or pass `--launch-type ec2`)"
        )
    )]
    KeyPairOnFargate {
        /// The name given.
        name: String,
    },
    /// A key pair name EC2 would refuse.
    #[error("invalid key pair name `{name}`")]
    #[diagnostic(
        code(cargo_ecs::setup::key_pair_name),
        help("use 1 to 255 ASCII characters without `/`, `\\` or control characters")
    )]
    InvalidKeyPairName {
        /// The name given.
        name: String,
    },
    /// The key file is already there.
    #[error("refusing to overwrite the existing file `{path}` with a new private key")]
    #[diagnostic(
        code(cargo_ecs::setup::key_file_exists),
        help("choose another place with `--key-file PATH`, or move the existing file away")
    )]
    KeyFileExists {
        /// The path.
        path: String,
    },
    /// Writing the private key failed.
    #[error("cannot write the private key to `{path}`")]
    #[diagnostic(
        code(cargo_ecs::setup::key_file),
        help("check that the directory exists and is writable, or pass `--key-file PATH`")
    )]
    KeyFile {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No subnets configured and no default VPC.
    #[error("no subnets are configured and this region has no default VPC")]
    #[diagnostic(
        code(cargo_ecs::setup::no_default_vpc),
        help(
            "set `subnets = [\"subnet-…\"]` under [package.metadata.ecs.network]; the security group is made in their VPC"
        )
    )]
    NoDefaultVpc,
    /// The default VPC has no subnets.
    #[error("the default VPC {vpc} has no subnets")]
    #[diagnostic(
        code(cargo_ecs::setup::no_subnets),
        help("set `subnets = [\"subnet-…\"]` under [package.metadata.ecs.network]")
    )]
    NoSubnets {
        /// The VPC.
        vpc: String,
    },
    /// Configured subnets span VPCs.
    #[error("`network.subnets` spans more than one VPC: {pairs}")]
    #[diagnostic(
        code(cargo_ecs::setup::subnets_span_vpcs),
        help("a security group belongs to one VPC; list subnets of a single VPC")
    )]
    SubnetsInSeveralVpcs {
        /// `subnet in vpc` pairs.
        pairs: String,
    },
    /// After applying the changes, the rules still differ (someone else edits the group).
    #[error(
        "the inbound rules of {group} did not converge (missing: {missing:?}, extra: {extra:?})"
    )]
    #[diagnostic(
        code(cargo_ecs::setup::rules_diverged),
        help("another tool may be changing this security group at the same time; run setup again")
    )]
    RulesDidNotConverge {
        /// The group id.
        group: String,
        /// Wanted rules still missing.
        missing: Vec<String>,
        /// Unwanted rules still present.
        extra: Vec<String>,
    },
    /// Creating or describing the ECR repository failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Ecr(#[from] crate::aws::ecr::EcrError),
    /// An AWS call failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Aws(AwsCallError),
    /// A non-AWS step failed after this run had changed something.
    #[error("{cause}")]
    #[diagnostic(code(cargo_ecs::setup::partly_done), help("{help}"))]
    PartlyDone {
        /// What failed.
        cause: Box<SetupError>,
        /// Its help, then what this run had already changed.
        help: String,
    },
}

/// AWS error codes that mean "this value is not acceptable": AWS answered, so the region,
/// endpoint and credentials are not what to check.
const VALUE_REJECTIONS: [&str; 10] = [
    "InvalidParameterValue",
    "InvalidParameter",
    "InvalidParameterCombination",
    "InvalidParameterException",
    "InvalidPermission.Malformed",
    "MissingParameter",
    "ValidationError",
    "ValidationException",
    "InvalidRequest",
    "InvalidInput",
];

impl From<AwsCallError> for SetupError {
    fn from(mut e: AwsCallError) -> Self {
        if e.code
            .as_deref()
            .is_some_and(|c| VALUE_REJECTIONS.contains(&c))
        {
            e.help = format!(
                "AWS answered and refused a value in the `{}` request: the message above \
                 names it; change that value (this is no connection or sign-in problem)",
                e.action
            );
        }
        SetupError::Aws(e)
    }
}

impl SetupError {
    /// Adds to the help what this run had already changed (`done`) before failing, so the
    /// user knows the state AWS is left in. Unchanged when nothing was changed.
    pub fn after_changes(self, done: &[String]) -> SetupError {
        if done.is_empty() {
            return self;
        }
        let changed = format!("already changed by this run: {}", done.join("; "));
        match self {
            SetupError::Aws(mut e) => {
                e.help = format!("{}\n{changed}", e.help);
                SetupError::Aws(e)
            }
            other => {
                let help = match miette::Diagnostic::help(&other) {
                    Some(h) => format!("{h}\n{changed}"),
                    None => changed,
                };
                SetupError::PartlyDone {
                    cause: Box::new(other),
                    help,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SetupRequest {
        SetupRequest {
            service: "hello".into(),
            cluster: "default".into(),
            repository: "hello".into(),
            tag_mutability: "MUTABLE".into(),
            log_group: Some("/ecs/hello".into()),
            retention_days: None,
            launch_type: LaunchType::Fargate,
            subnets: vec![],
            ssh: None,
            key_pair: None,
        }
    }

    #[test]
    fn key_pair_is_refused_on_fargate_and_accepted_on_ec2() {
        let mut req = request();
        req.key_pair = Some(KeyPairRequest {
            name: "hello".into(),
            path: "hello.pem".into(),
        });
        assert!(matches!(
            req.validate(),
            Err(SetupError::KeyPairOnFargate { ref name }) if name == "hello"
        ));
        req.launch_type = LaunchType::Ec2;
        assert!(req.validate().is_ok());
    }

    #[test]
    fn key_pair_names_are_checked() {
        let mut req = request();
        req.launch_type = LaunchType::Ec2;
        for bad in ["", "a/b", "tab\there", "ünï"] {
            req.key_pair = Some(KeyPairRequest {
                name: bad.into(),
                path: "k.pem".into(),
            });
            assert!(
                matches!(req.validate(), Err(SetupError::InvalidKeyPairName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_refused_value_is_not_blamed_on_region_or_credentials() {
        let generic = "check the AWS region and endpoint (`--region`, `--endpoint-url`) and the \
                       credentials in use";
        let err = |code: &str| AwsCallError {
            action: "ec2:AuthorizeSecurityGroupIngress",
            resource: "security group sg-1".into(),
            code: Some(code.into()),
            message: "invalid CIDR subnet specification".into(),
            help: generic.into(),
        };
        let help = |e: SetupError| miette::Diagnostic::help(&e).unwrap().to_string();
        let refused = help(SetupError::from(err("InvalidParameterValue")));
        assert!(!refused.contains("region"), "{refused}");
        assert!(!refused.contains("credentials in use"), "{refused}");
        assert!(refused.contains("refused a value"), "{refused}");
        // Other codes keep the adapter's help.
        assert_eq!(help(SetupError::from(err("SomethingElse"))), generic);
    }

    #[test]
    fn errors_after_changes_say_what_was_changed() {
        let err = SetupError::NoDefaultVpc.after_changes(&["created cluster default".into()]);
        let help = miette::Diagnostic::help(&err).unwrap().to_string();
        assert!(help.contains("already changed by this run: created cluster default"));
        assert_eq!(
            err.to_string(),
            "no subnets are configured and this region has no default VPC"
        );
        assert!(matches!(
            SetupError::NoDefaultVpc.after_changes(&[]),
            SetupError::NoDefaultVpc
        ));
    }

    #[test]
    fn security_group_is_named_after_the_service() {
        assert_eq!(request().security_group_name(), "hello-ecs");
    }
}
