//! The idempotent executor of `cargo ecs setup`: for each resource, look first, create only
//! what is missing, and record whether it was found, created or updated. Shell code: it talks
//! to ECS, ECR, CloudWatch Logs and EC2 through the SDK clients it is given, writes the new
//! key pair's private key (mode 0600, `create_new`), and reports progress; it never prints.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::rules::{self, IngressRule, ObservedRule, RuleChanges};
use super::{KeyPairRequest, SetupError, SetupRequest};
use crate::aws::ec2::{self, AwsCallError};
use crate::config::LaunchType;
use crate::progress::Reporter;

/// The SDK clients setup uses, built once by the shell from one `SdkConfig`.
#[derive(Debug, Clone)]
pub struct SetupClients {
    /// The configuration they were built from (the ECR adapter takes it).
    pub sdk: aws_types::SdkConfig,
    /// ECS.
    pub ecs: aws_sdk_ecs::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
}

impl SetupClients {
    /// The clients from one configuration.
    pub fn new(sdk: &aws_types::SdkConfig) -> Self {
        SetupClients {
            sdk: sdk.clone(),
            ecs: aws_sdk_ecs::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
            ec2: aws_sdk_ec2::Client::new(sdk),
        }
    }
}

/// What happened to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It already existed as wanted.
    Found,
    /// It did not exist and was created.
    Created,
    /// It existed and was changed (retention, rules).
    Updated,
}

impl Status {
    /// The word the human output uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Found => "found",
            Status::Created => "created",
            Status::Updated => "updated",
        }
    }
}

/// A simple resource (cluster, repository, log group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceOutcome {
    /// Its name.
    pub name: String,
    /// Its ARN or URI, when AWS returned one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Found / created / updated.
    pub status: Status,
    /// What was changed or noticed, for humans.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Where the security group lives and which subnets the service uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkOutcome {
    /// The VPC.
    pub vpc: String,
    /// The subnets (configured, or the default VPC's).
    pub subnets: Vec<String>,
    /// `config` or `default-vpc`.
    pub subnets_from: &'static str,
}

/// The service's security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityGroupOutcome {
    /// `<service>-ecs`.
    pub name: String,
    /// `sg-…`.
    pub id: String,
    /// Found / created / updated (rules changed).
    pub status: Status,
    /// Rules added on this run.
    pub added: Vec<IngressRule>,
    /// Rules removed on this run.
    pub removed: Vec<ObservedRule>,
    /// The inbound rules it has now (exactly the wanted set).
    pub rules: Vec<IngressRule>,
}

/// The EC2 key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum KeyPairOutcome {
    /// Fargate: there are no instances to log in to.
    NotNeeded,
    /// EC2, but `--key-pair` was not given.
    NotRequested,
    /// It already existed; its private key cannot be fetched again, so no file was written.
    Found {
        /// Name.
        name: String,
        /// `key-…`.
        id: String,
    },
    /// Created; the private key is in `path` (mode 0600).
    Created {
        /// Name.
        name: String,
        /// `key-…`.
        id: String,
        /// Public key fingerprint.
        fingerprint: String,
        /// Where the private key was written.
        path: String,
    },
}

/// Everything `cargo ecs setup` did or found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupOutcome {
    /// ECS cluster.
    pub cluster: ResourceOutcome,
    /// ECR repository.
    pub repository: ResourceOutcome,
    /// CloudWatch log group (none unless the log driver is awslogs).
    pub log_group: Option<ResourceOutcome>,
    /// VPC and subnets.
    pub network: NetworkOutcome,
    /// The security group.
    pub security_group: SecurityGroupOutcome,
    /// The key pair.
    pub key_pair: KeyPairOutcome,
}

impl SetupOutcome {
    /// True when this run created or changed nothing.
    pub fn changed_nothing(&self) -> bool {
        let simple = [
            Some(&self.cluster),
            Some(&self.repository),
            self.log_group.as_ref(),
        ];
        simple
            .into_iter()
            .flatten()
            .all(|r| r.status == Status::Found)
            && self.security_group.status == Status::Found
            && !matches!(self.key_pair, KeyPairOutcome::Created { .. })
    }
}

/// Runs the set-up. Each step looks before it creates, so a second run changes nothing. When
/// a step fails after others changed something, the error lists those changes.
pub async fn run_setup(
    clients: &SetupClients,
    req: &SetupRequest,
    reporter: &dyn Reporter,
) -> Result<SetupOutcome, SetupError> {
    let mut done = Vec::new();
    match run_steps(clients, req, reporter, &mut done).await {
        Ok(outcome) => Ok(outcome),
        Err(e) => Err(e.after_changes(&done)),
    }
}

async fn run_steps(
    clients: &SetupClients,
    req: &SetupRequest,
    reporter: &dyn Reporter,
    done: &mut Vec<String>,
) -> Result<SetupOutcome, SetupError> {
    req.validate()?;
    // Before creating anything: does the key pair exist, and if not, is its file free? A
    // re-run finds the pair (and leaves its file alone); a new pair never overwrites a file.
    let existing_key_pair = match (&req.launch_type, &req.key_pair) {
        (LaunchType::Ec2, Some(kp)) => {
            let found = ec2::find_key_pair(&clients.ec2, &kp.name).await?;
            if found.is_none() {
                check_key_file_free(kp)?;
            }
            found
        }
        _ => None,
    };

    let cluster = ensure_cluster(&clients.ecs, &req.cluster, reporter).await?;
    if cluster.status == Status::Created {
        done.push(format!("created cluster {}", cluster.name));
    }
    let repository = ensure_repository(&clients.sdk, req, reporter).await?;
    if repository.status == Status::Created {
        done.push(format!("created repository {}", repository.name));
    }
    let log_group = match &req.log_group {
        Some(group) => {
            let g = ensure_log_group(&clients.logs, group, req.retention_days, reporter).await?;
            match g.status {
                Status::Created => done.push(format!("created log group {}", g.name)),
                Status::Updated => done.push(format!("updated log group {}", g.name)),
                Status::Found => {}
            }
            Some(g)
        }
        None => None,
    };
    let network = resolve_network(&clients.ec2, &req.subnets).await?;
    let security_group =
        ensure_security_group(&clients.ec2, req, &network.vpc, reporter, done).await?;
    let key_pair = match (&req.launch_type, &req.key_pair) {
        (LaunchType::Fargate, _) => KeyPairOutcome::NotNeeded,
        (LaunchType::Ec2, None) => KeyPairOutcome::NotRequested,
        (LaunchType::Ec2, Some(kp)) => match existing_key_pair {
            Some(id) => {
                reporter.note(&format!("key pair {} exists", kp.name));
                KeyPairOutcome::Found {
                    name: kp.name.clone(),
                    id,
                }
            }
            None => create_key_pair(&clients.ec2, kp, &req.service, reporter).await?,
        },
    };
    if let KeyPairOutcome::Created { name, .. } = &key_pair {
        done.push(format!("created key pair {name}"));
    }
    Ok(SetupOutcome {
        cluster,
        repository,
        log_group,
        network,
        security_group,
        key_pair,
    })
}

async fn ensure_cluster(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    reporter: &dyn Reporter,
) -> Result<ResourceOutcome, SetupError> {
    let resource = format!("cluster {name}");
    let out = ecs
        .describe_clusters()
        .clusters(name)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecs:DescribeClusters", resource.clone(), e))?;
    // A deleted cluster is INACTIVE and still described for a while: create it again.
    let active = out
        .clusters()
        .iter()
        .find(|c| c.status() == Some("ACTIVE"))
        .map(|c| c.cluster_arn().map(str::to_string));
    if let Some(arn) = active {
        reporter.note(&format!("cluster {name} exists"));
        return Ok(ResourceOutcome {
            name: name.to_string(),
            id: arn,
            status: Status::Found,
            notes: Vec::new(),
        });
    }
    let created = ecs
        .create_cluster()
        .cluster_name(name)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ecs:CreateCluster", resource, e))?;
    reporter.note(&format!("created cluster {name}"));
    Ok(ResourceOutcome {
        name: name.to_string(),
        id: created
            .cluster()
            .and_then(|c| c.cluster_arn())
            .map(str::to_string),
        status: Status::Created,
        notes: Vec::new(),
    })
}

async fn ensure_repository(
    sdk: &aws_types::SdkConfig,
    req: &SetupRequest,
    reporter: &dyn Reporter,
) -> Result<ResourceOutcome, SetupError> {
    let settings = crate::aws::ecr::RepositorySettings {
        scan_on_push: true,
        tag_mutability: req.tag_mutability.clone(),
    };
    let repo = crate::aws::ecr::ensure_repository(sdk, &req.repository, &settings).await?;
    let (status, notes) = if repo.created {
        reporter.note(&format!("created repository {}", req.repository));
        (
            Status::Created,
            vec![format!(
                "scan on push, tags {}",
                repo.tag_mutability.to_ascii_lowercase()
            )],
        )
    } else {
        reporter.note(&format!("repository {} exists", req.repository));
        (Status::Found, Vec::new())
    };
    Ok(ResourceOutcome {
        name: req.repository.clone(),
        id: Some(repo.uri).filter(|u| !u.is_empty()),
        status,
        notes,
    })
}

async fn ensure_log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    name: &str,
    retention_days: Option<i32>,
    reporter: &dyn Reporter,
) -> Result<ResourceOutcome, SetupError> {
    let resource = format!("log group {name}");
    let mut existing = None;
    let mut pages = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| AwsCallError::from_sdk("logs:DescribeLogGroups", resource.clone(), e))?;
        if let Some(g) = page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
        {
            existing = Some((g.arn().map(str::to_string), g.retention_in_days()));
            break;
        }
    }
    let (arn, status, current_retention) = match existing {
        Some((arn, retention)) => (arn, Status::Found, retention),
        None => {
            logs.create_log_group()
                .log_group_name(name)
                .send()
                .await
                .map_err(|e| AwsCallError::from_sdk("logs:CreateLogGroup", resource.clone(), e))?;
            reporter.note(&format!("created log group {name}"));
            (None, Status::Created, None)
        }
    };
    let mut notes = Vec::new();
    let mut status = status;
    if let Some(days) = retention_days
        && current_retention != Some(days)
    {
        logs.put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .map_err(|e| AwsCallError::from_sdk("logs:PutRetentionPolicy", resource.clone(), e))?;
        notes.push(match current_retention {
            Some(old) => format!("retention {old} → {days} days"),
            None => format!("retention {days} days"),
        });
        if status == Status::Found {
            status = Status::Updated;
        }
    }
    Ok(ResourceOutcome {
        name: name.to_string(),
        id: arn,
        status,
        notes,
    })
}

async fn resolve_network(
    ec2: &aws_sdk_ec2::Client,
    configured: &[String],
) -> Result<NetworkOutcome, SetupError> {
    if configured.is_empty() {
        let vpc = ec2::default_vpc(ec2)
            .await?
            .ok_or(SetupError::NoDefaultVpc)?;
        let subnets = ec2::subnets_of_vpc(ec2, &vpc).await?;
        if subnets.is_empty() {
            return Err(SetupError::NoSubnets { vpc });
        }
        return Ok(NetworkOutcome {
            vpc,
            subnets,
            subnets_from: "default-vpc",
        });
    }
    let pairs = ec2::vpcs_of_subnets(ec2, configured).await?;
    let mut vpcs: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
    vpcs.sort_unstable();
    vpcs.dedup();
    match vpcs.as_slice() {
        [one] => Ok(NetworkOutcome {
            vpc: (*one).to_string(),
            subnets: configured.to_vec(),
            subnets_from: "config",
        }),
        _ => Err(SetupError::SubnetsInSeveralVpcs {
            pairs: pairs
                .iter()
                .map(|(s, v)| format!("{s} in {v}"))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

async fn ensure_security_group(
    ec2: &aws_sdk_ec2::Client,
    req: &SetupRequest,
    vpc: &str,
    reporter: &dyn Reporter,
    done: &mut Vec<String>,
) -> Result<SecurityGroupOutcome, SetupError> {
    let name = req.security_group_name();
    let (id, created) = match ec2::find_security_group(ec2, vpc, &name).await? {
        Some(id) => (id, false),
        None => {
            let description = format!(
                "cargo ecs: HTTP/HTTPS from anywhere, SSH only from a chosen address ({})",
                req.service
            );
            let id =
                ec2::create_security_group(ec2, vpc, &name, &description, &req.service).await?;
            reporter.note(&format!("created security group {name} ({id}) in {vpc}"));
            done.push(format!("created security group {name} ({id})"));
            (id, true)
        }
    };
    let wanted = rules::wanted_rules(req.ssh);
    let observed = ec2::ingress_rules(ec2, &id).await?;
    let RuleChanges { add, remove, .. } = rules::reconcile(&observed, &wanted);
    apply_rule_changes(ec2, &id, &add, &remove, done).await?;
    // Read back what AWS now has, so the outcome reports facts, not intentions.
    let after = ec2::ingress_rules(ec2, &id).await?;
    let check = rules::reconcile(&after, &wanted);
    if !check.is_empty() {
        return Err(SetupError::RulesDidNotConverge {
            group: id,
            missing: check.add.iter().map(|r| r.to_string()).collect(),
            extra: check.remove.iter().map(|r| r.to_string()).collect(),
        });
    }
    let status = if created {
        Status::Created
    } else if add.is_empty() && remove.is_empty() {
        Status::Found
    } else {
        Status::Updated
    };
    Ok(SecurityGroupOutcome {
        name,
        id,
        status,
        added: add,
        removed: remove,
        rules: wanted.into_iter().collect(),
    })
}

/// The two EC2 calls that change inbound rules; a trait so the order of the calls and the
/// failures between them are unit-tested.
pub(crate) trait RuleApi {
    async fn authorize(&self, group: &str, rules: &[IngressRule]) -> Result<(), AwsCallError>;
    async fn revoke(&self, group: &str, rule_ids: &[String]) -> Result<(), AwsCallError>;
}

impl RuleApi for aws_sdk_ec2::Client {
    async fn authorize(&self, group: &str, rules: &[IngressRule]) -> Result<(), AwsCallError> {
        ec2::authorize_ingress(self, group, rules).await
    }
    async fn revoke(&self, group: &str, rule_ids: &[String]) -> Result<(), AwsCallError> {
        ec2::revoke_ingress(self, group, rule_ids).await
    }
}

/// Adds the missing rules, *then* revokes the unwanted ones: if adding fails (a value AWS
/// refuses, a permission), the group keeps every rule it had, so a new `--ssh-cidr` never
/// leaves SSH closed. Only when the group is full (`RulesPerSecurityGroupLimitExceeded`) are
/// the unwanted rules revoked first, to make room. Each change made is pushed to `done`.
pub(crate) async fn apply_rule_changes(
    api: &impl RuleApi,
    group: &str,
    add: &[IngressRule],
    remove: &[ObservedRule],
    done: &mut Vec<String>,
) -> Result<(), SetupError> {
    let remove_ids: Vec<String> = remove.iter().map(|r| r.id.clone()).collect();
    let added = |done: &mut Vec<String>| {
        done.extend(add.iter().map(|r| format!("added {r} to {group}")));
    };
    let removed = |done: &mut Vec<String>| {
        done.extend(remove.iter().map(|r| format!("removed {r} from {group}")));
    };
    if !add.is_empty() {
        match api.authorize(group, add).await {
            Ok(()) => added(done),
            Err(e)
                if e.code.as_deref() == Some("RulesPerSecurityGroupLimitExceeded")
                    && !remove_ids.is_empty() =>
            {
                api.revoke(group, &remove_ids).await?;
                removed(done);
                api.authorize(group, add).await?;
                added(done);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !remove_ids.is_empty() {
        api.revoke(group, &remove_ids).await?;
        removed(done);
    }
    Ok(())
}

fn check_key_file_free(kp: &KeyPairRequest) -> Result<(), SetupError> {
    if kp.path.exists() {
        return Err(SetupError::KeyFileExists {
            path: kp.path.display().to_string(),
        });
    }
    Ok(())
}

/// Opens the private key file: new only (never overwrites), mode 0600 from the start so the
/// key is never readable by others even for a moment.
fn open_key_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

async fn create_key_pair(
    ec2: &aws_sdk_ec2::Client,
    kp: &KeyPairRequest,
    service: &str,
    reporter: &dyn Reporter,
) -> Result<KeyPairOutcome, SetupError> {
    let path_text = kp.path.display().to_string();
    let key_file_error = |source: std::io::Error| SetupError::KeyFile {
        path: path_text.clone(),
        source,
    };
    let mut file = match open_key_file(&kp.path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(SetupError::KeyFileExists {
                path: path_text.clone(),
            });
        }
        Err(e) => return Err(key_file_error(e)),
    };
    let created = match ec2::create_key_pair(ec2, &kp.name, service).await {
        Ok(k) => k,
        Err(e) => {
            // Nothing was written: remove the empty file we reserved.
            drop(file);
            let _ = std::fs::remove_file(&kp.path);
            return Err(e.into());
        }
    };
    let mut material = created.private_key.clone();
    if !material.ends_with('\n') {
        material.push('\n');
    }
    if let Err(e) = file
        .write_all(material.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        let _ = std::fs::remove_file(&kp.path);
        // The private key is lost with the file; a key pair nobody can use must not stay.
        let undo = ec2::delete_key_pair(ec2, &kp.name).await;
        reporter.warn(&match undo {
            Ok(()) => format!(
                "deleted key pair {} again: its private key could not be saved",
                kp.name
            ),
            Err(u) => format!(
                "key pair {} exists but its private key was lost; delete it: {u}",
                kp.name
            ),
        });
        return Err(key_file_error(e));
    }
    reporter.note(&format!("created key pair {} → {}", kp.name, path_text));
    Ok(KeyPairOutcome::Created {
        name: kp.name.clone(),
        id: created.id,
        fingerprint: created.fingerprint,
        path: path_text,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::setup::cidr::Cidr;
    use crate::setup::rules::RuleSource;

    /// Records the calls; fails the ones named in `fail` (`authorize`, `revoke`, or
    /// `authorize-full` for the rule quota on the first authorize only).
    struct Fake {
        calls: RefCell<Vec<String>>,
        fail: &'static [&'static str],
    }

    fn refused(action: &'static str, code: &str) -> AwsCallError {
        AwsCallError {
            action,
            resource: "security group sg-1".into(),
            code: Some(code.into()),
            message: "no".into(),
            help: "check the AWS region and endpoint".into(),
        }
    }

    impl RuleApi for Fake {
        async fn authorize(&self, _: &str, rules: &[IngressRule]) -> Result<(), AwsCallError> {
            let first = !self
                .calls
                .borrow()
                .iter()
                .any(|c| c.starts_with("authorize"));
            self.calls
                .borrow_mut()
                .push(format!("authorize {}", rules.len()));
            if self.fail.contains(&"authorize") {
                return Err(refused(
                    "ec2:AuthorizeSecurityGroupIngress",
                    "InvalidParameterValue",
                ));
            }
            if first && self.fail.contains(&"authorize-full") {
                return Err(refused(
                    "ec2:AuthorizeSecurityGroupIngress",
                    "RulesPerSecurityGroupLimitExceeded",
                ));
            }
            Ok(())
        }
        async fn revoke(&self, _: &str, ids: &[String]) -> Result<(), AwsCallError> {
            self.calls
                .borrow_mut()
                .push(format!("revoke {}", ids.join(",")));
            if self.fail.contains(&"revoke") {
                return Err(refused(
                    "ec2:RevokeSecurityGroupIngress",
                    "UnauthorizedOperation",
                ));
            }
            Ok(())
        }
    }

    fn change() -> (Vec<IngressRule>, Vec<ObservedRule>) {
        let add = vec![IngressRule {
            port: 22,
            cidr: Cidr::parse("198.51.100.7").unwrap(),
        }];
        let remove = vec![ObservedRule {
            id: "sgr-old".into(),
            protocol: "tcp".into(),
            from_port: 22,
            to_port: 22,
            source: RuleSource::Cidr("10.0.0.1/32".into()),
        }];
        (add, remove)
    }

    fn run(fail: &'static [&'static str]) -> (Vec<String>, Vec<String>, Result<(), SetupError>) {
        let fake = Fake {
            calls: RefCell::new(Vec::new()),
            fail,
        };
        let (add, remove) = change();
        let mut done = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = rt.block_on(apply_rule_changes(&fake, "sg-1", &add, &remove, &mut done));
        (fake.calls.into_inner(), done, result)
    }

    #[test]
    fn wanted_rules_are_added_before_unwanted_ones_are_revoked() {
        let (calls, done, result) = run(&[]);
        assert!(result.is_ok());
        assert_eq!(calls, ["authorize 1", "revoke sgr-old"]);
        assert_eq!(
            done,
            [
                "added tcp/22 from 198.51.100.7/32 (SSH) to sg-1",
                "removed tcp/22 from 10.0.0.1/32 from sg-1"
            ]
        );
    }

    #[test]
    fn a_refused_rule_leaves_the_old_rules_in_place() {
        let (calls, done, result) = run(&["authorize"]);
        assert!(result.is_err());
        assert_eq!(calls, ["authorize 1"], "nothing may be revoked");
        assert!(done.is_empty());
    }

    #[test]
    fn a_failed_revoke_reports_what_was_already_added() {
        let (calls, done, result) = run(&["revoke"]);
        assert_eq!(calls, ["authorize 1", "revoke sgr-old"]);
        let err = result.unwrap_err().after_changes(&done);
        let help = miette::Diagnostic::help(&err).unwrap().to_string();
        assert!(
            help.contains("added tcp/22 from 198.51.100.7/32 (SSH) to sg-1"),
            "{help}"
        );
    }

    #[test]
    fn a_full_group_makes_room_first() {
        let (calls, done, result) = run(&["authorize-full"]);
        assert!(result.is_ok());
        assert_eq!(calls, ["authorize 1", "revoke sgr-old", "authorize 1"]);
        assert_eq!(done.len(), 2);
    }
}
