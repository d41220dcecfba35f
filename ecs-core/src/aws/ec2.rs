//! The EC2 adapter for `cargo ecs setup`: the default VPC and its subnets, the VPC of given
//! subnets, the service's security group and its inbound rules, and EC2 key pairs. Shell
//! code: every function is one or a few `aws-sdk-ec2` calls that take and return our types
//! ([`ObservedRule`], [`IngressRule`]); deciding what to change is `setup::rules`' job.
//!
//! EC2 has no typed service errors in the SDK (its errors are codes such as
//! `InvalidGroup.NotFound` or `UnauthorizedOperation`), so [`AwsCallError`] keeps the code and
//! maps the common ones to help text. The same error type serves the other services that
//! `setup` calls, through [`AwsCallError::from_sdk`].

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, KeyFormat, KeyType, ResourceType, Tag,
    TagSpecification,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::setup::rules::{IngressRule, ObservedRule, RuleSource};

/// A failed AWS call: which IAM action, on what, the service's error code and message.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("`{action}` failed for {resource}: {message}")]
#[diagnostic(code(cargo_ecs::aws::call_failed), help("{help}"))]
pub struct AwsCallError {
    /// The IAM action (`ec2:CreateSecurityGroup`).
    pub action: &'static str,
    /// What was being touched (`security group hello-ecs in vpc-…`).
    pub resource: String,
    /// The AWS error code, when the service sent one.
    pub code: Option<String>,
    /// The service's message, or the transport error.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl AwsCallError {
    /// From any SDK error, keeping its code and message.
    pub fn from_sdk<E>(
        action: &'static str,
        resource: impl Into<String>,
        err: aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        use crate::aws::error::{Service, describe};
        let service = match action.split(':').next() {
            Some("ecs") => Service::Ecs,
            Some("ecr") => Service::Ecr,
            Some("logs") => Service::Logs,
            Some("sts") => Service::Sts,
            _ => Service::Ec2,
        };
        let failure = describe(service, &err);
        let help = failure
            .common_help(service, &format!("`{action}`"))
            .unwrap_or_else(|| help_for(failure.code.as_deref()));
        let code = failure.code;
        let message = failure.message;
        AwsCallError {
            action,
            resource: resource.into(),
            code,
            message,
            help,
        }
    }

    /// An error detected on our side of an AWS call (a missing field in a response).
    pub fn local(action: &'static str, resource: impl Into<String>, message: &str) -> Self {
        AwsCallError {
            action,
            resource: resource.into(),
            code: None,
            message: message.to_string(),
            help: "this is unexpected; please report it with the output of `-vv`".into(),
        }
    }
}

/// Help for EC2's own error codes ([`CallFailure::common_help`] has the shared ones).
fn help_for(code: Option<&str>) -> String {
    match code {
        Some(c) if c.starts_with("InvalidSubnetID") || c.starts_with("InvalidSubnet") => {
            "check `network.subnets` in [package.metadata.ecs]: every id must exist in this \
             region"
                .into()
        }
        Some("VPCIdNotSpecified" | "InvalidVpcID.NotFound") => "no usable VPC: set \
             `network.subnets` in [package.metadata.ecs] to subnets of the VPC to use"
            .into(),
        _ => "check the AWS region and endpoint (`--region`, `--endpoint-url`) and the \
              credentials in use"
            .into(),
    }
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tags(resource: ResourceType, service: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("managed-by").value("cargo-ecs").build())
        .tags(
            Tag::builder()
                .key("cargo-ecs:service")
                .value(service)
                .build(),
        )
        .build()
}

/// The account's default VPC in this region, if it has one.
pub async fn default_vpc(client: &Client) -> Result<Option<String>, AwsCallError> {
    let out = client
        .describe_vpcs()
        .filters(filter("is-default", "true"))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ec2:DescribeVpcs", "the default VPC", e))?;
    Ok(out
        .vpcs()
        .iter()
        .find_map(|v| v.vpc_id().map(str::to_string)))
}

/// The subnets of a VPC, the default-for-AZ ones first when there are any (the default VPC's
/// public subnets), sorted by id within each kind for a stable result.
pub async fn subnets_of_vpc(client: &Client, vpc: &str) -> Result<Vec<String>, AwsCallError> {
    let resource = format!("the subnets of {vpc}");
    let mut default_for_az = Vec::new();
    let mut others = Vec::new();
    let mut pages = client
        .describe_subnets()
        .filters(filter("vpc-id", vpc))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsCallError::from_sdk("ec2:DescribeSubnets", resource.clone(), e))?;
        for s in page.subnets() {
            if let Some(id) = s.subnet_id() {
                if s.default_for_az() == Some(true) {
                    default_for_az.push(id.to_string());
                } else {
                    others.push(id.to_string());
                }
            }
        }
    }
    default_for_az.sort();
    others.sort();
    Ok(if default_for_az.is_empty() {
        others
    } else {
        default_for_az
    })
}

/// The VPC of each given subnet, as (subnet, vpc) pairs in the order given.
pub async fn vpcs_of_subnets(
    client: &Client,
    subnets: &[String],
) -> Result<Vec<(String, String)>, AwsCallError> {
    let resource = format!("subnets {}", subnets.join(", "));
    let out = client
        .describe_subnets()
        .set_subnet_ids(Some(subnets.to_vec()))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ec2:DescribeSubnets", resource.clone(), e))?;
    let mut pairs = Vec::new();
    for wanted in subnets {
        let found = out
            .subnets()
            .iter()
            .find(|s| s.subnet_id() == Some(wanted.as_str()))
            .and_then(|s| s.vpc_id());
        match found {
            Some(vpc) => pairs.push((wanted.clone(), vpc.to_string())),
            None => {
                return Err(AwsCallError {
                    action: "ec2:DescribeSubnets",
                    resource,
                    code: Some("InvalidSubnetID.NotFound".into()),
                    message: format!("subnet {wanted} was not returned"),
                    help: help_for(Some("InvalidSubnetID.NotFound")),
                });
            }
        }
    }
    Ok(pairs)
}

/// The id of the security group called `name` in `vpc`, if it exists.
pub async fn find_security_group(
    client: &Client,
    vpc: &str,
    name: &str,
) -> Result<Option<String>, AwsCallError> {
    let out = client
        .describe_security_groups()
        .filters(filter("group-name", name))
        .filters(filter("vpc-id", vpc))
        .send()
        .await
        .map_err(|e| {
            AwsCallError::from_sdk(
                "ec2:DescribeSecurityGroups",
                format!("security group {name} in {vpc}"),
                e,
            )
        })?;
    Ok(out
        .security_groups()
        .iter()
        .find(|g| g.group_name() == Some(name) && g.vpc_id() == Some(vpc))
        .and_then(|g| g.group_id().map(str::to_string)))
}

/// Creates the security group (no inbound rules yet; AWS adds the default egress rule).
pub async fn create_security_group(
    client: &Client,
    vpc: &str,
    name: &str,
    description: &str,
    service: &str,
) -> Result<String, AwsCallError> {
    let resource = format!("security group {name} in {vpc}");
    let out = client
        .create_security_group()
        .group_name(name)
        .description(description)
        .vpc_id(vpc)
        .tag_specifications(tags(ResourceType::SecurityGroup, service))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ec2:CreateSecurityGroup", resource.clone(), e))?;
    out.group_id().map(str::to_string).ok_or_else(|| {
        AwsCallError::local(
            "ec2:CreateSecurityGroup",
            resource,
            "no GroupId in the response",
        )
    })
}

/// The group's inbound rules, one per source, with their rule ids.
pub async fn ingress_rules(
    client: &Client,
    group_id: &str,
) -> Result<Vec<ObservedRule>, AwsCallError> {
    let resource = format!("the rules of security group {group_id}");
    let mut rules = Vec::new();
    let mut pages = client
        .describe_security_group_rules()
        .filters(filter("group-id", group_id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            AwsCallError::from_sdk("ec2:DescribeSecurityGroupRules", resource.clone(), e)
        })?;
        for r in page.security_group_rules() {
            // The filter is by group; check anyway, and keep only inbound rules.
            if r.is_egress() == Some(true) || r.group_id() != Some(group_id) {
                continue;
            }
            let source = if let Some(c) = r.cidr_ipv4().or(r.cidr_ipv6()) {
                RuleSource::Cidr(c.to_string())
            } else if let Some(g) = r.referenced_group_info().and_then(|g| g.group_id()) {
                RuleSource::SecurityGroup(g.to_string())
            } else if let Some(p) = r.prefix_list_id() {
                RuleSource::PrefixList(p.to_string())
            } else {
                RuleSource::Other
            };
            rules.push(ObservedRule {
                id: r.security_group_rule_id().unwrap_or_default().to_string(),
                protocol: r.ip_protocol().unwrap_or("-1").to_string(),
                from_port: r.from_port().unwrap_or(-1),
                to_port: r.to_port().unwrap_or(-1),
                source,
            });
        }
    }
    Ok(rules)
}

/// Adds inbound rules in one call (one `IpPermission` per port, both address families).
pub async fn authorize_ingress(
    client: &Client,
    group_id: &str,
    rules: &[IngressRule],
) -> Result<(), AwsCallError> {
    if rules.is_empty() {
        return Ok(());
    }
    let mut ports: Vec<u16> = rules.iter().map(|r| r.port).collect();
    ports.sort_unstable();
    ports.dedup();
    let mut req = client.authorize_security_group_ingress().group_id(group_id);
    for port in ports {
        let mut perm = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(i32::from(port))
            .to_port(i32::from(port));
        for rule in rules.iter().filter(|r| r.port == port) {
            let description = format!("{} (cargo ecs setup)", rule.label());
            if rule.cidr.is_ipv6() {
                perm = perm.ipv6_ranges(
                    Ipv6Range::builder()
                        .cidr_ipv6(rule.cidr.to_string())
                        .description(description)
                        .build(),
                );
            } else {
                perm = perm.ip_ranges(
                    IpRange::builder()
                        .cidr_ip(rule.cidr.to_string())
                        .description(description)
                        .build(),
                );
            }
        }
        req = req.ip_permissions(perm.build());
    }
    req.send().await.map_err(|e| {
        AwsCallError::from_sdk(
            "ec2:AuthorizeSecurityGroupIngress",
            format!("security group {group_id}"),
            e,
        )
    })?;
    Ok(())
}

/// Removes inbound rules by their `sgr-…` ids.
pub async fn revoke_ingress(
    client: &Client,
    group_id: &str,
    rule_ids: &[String],
) -> Result<(), AwsCallError> {
    if rule_ids.is_empty() {
        return Ok(());
    }
    client
        .revoke_security_group_ingress()
        .group_id(group_id)
        .set_security_group_rule_ids(Some(rule_ids.to_vec()))
        .send()
        .await
        .map_err(|e| {
            AwsCallError::from_sdk(
                "ec2:RevokeSecurityGroupIngress",
                format!("security group {group_id}"),
                e,
            )
        })?;
    Ok(())
}

/// The id of the key pair called `name`, if it exists.
pub async fn find_key_pair(client: &Client, name: &str) -> Result<Option<String>, AwsCallError> {
    // A filter, not KeyNames: an unknown name in KeyNames is an error, a filter just
    // matches nothing.
    let out = client
        .describe_key_pairs()
        .filters(filter("key-name", name))
        .send()
        .await
        .map_err(|e| {
            AwsCallError::from_sdk("ec2:DescribeKeyPairs", format!("key pair {name}"), e)
        })?;
    Ok(out
        .key_pairs()
        .iter()
        .find(|k| k.key_name() == Some(name))
        .map(|k| k.key_pair_id().unwrap_or(name).to_string()))
}

/// A newly created key pair. `private_key` is the only copy AWS will ever hand out.
pub struct NewKeyPair {
    /// `key-…`.
    pub id: String,
    /// The public key's fingerprint.
    pub fingerprint: String,
    /// PEM/OpenSSH private key material. Never log or print it.
    pub private_key: String,
}

impl std::fmt::Debug for NewKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKeyPair")
            .field("id", &self.id)
            .field("fingerprint", &self.fingerprint)
            .field("private_key", &"** redacted **")
            .finish()
    }
}

/// Creates an ED25519 key pair in PEM format.
pub async fn create_key_pair(
    client: &Client,
    name: &str,
    service: &str,
) -> Result<NewKeyPair, AwsCallError> {
    let resource = format!("key pair {name}");
    let out = client
        .create_key_pair()
        .key_name(name)
        .key_type(KeyType::Ed25519)
        .key_format(KeyFormat::Pem)
        .tag_specifications(tags(ResourceType::KeyPair, service))
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ec2:CreateKeyPair", resource.clone(), e))?;
    let private_key = out
        .key_material()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            AwsCallError::local("ec2:CreateKeyPair", resource.clone(), "no key material")
        })?
        .to_string();
    Ok(NewKeyPair {
        id: out.key_pair_id().unwrap_or(name).to_string(),
        fingerprint: out.key_fingerprint().unwrap_or_default().to_string(),
        private_key,
    })
}

/// Deletes a key pair (used to undo a creation whose private key could not be saved).
pub async fn delete_key_pair(client: &Client, name: &str) -> Result<(), AwsCallError> {
    client
        .delete_key_pair()
        .key_name(name)
        .send()
        .await
        .map_err(|e| AwsCallError::from_sdk("ec2:DeleteKeyPair", format!("key pair {name}"), e))?;
    Ok(())
}
