//! The IAM documents `cargo ecs setup` prints: the identity policy the deploying principal
//! needs (ECR push, ECS register/update/describe, CloudWatch Logs read, `iam:PassRole` on the
//! task and execution roles) and the trust policy of the task execution role. Pure: builds
//! JSON from names, never calls IAM (there is no IAM client among our SDK crates).
//!
//! Sources: "Amazon ECS task execution IAM role" (trust principal `ecs-tasks.amazonaws.com`),
//! "Actions, resources, and condition keys for Amazon ECS / Amazon ECR / CloudWatch Logs"
//! (which actions support resource-level permissions: `ecs:RegisterTaskDefinition`,
//! `ecs:DescribeTaskDefinition`, `ecs:ListTaskDefinitions` and `ecr:GetAuthorizationToken`
//! do not, so they get `"*"`), and "Granting a user permissions to pass a role"
//! (`iam:PassedToService`).

use serde_json::{Value, json};

/// The names the policy is scoped to.
#[derive(Debug, Clone)]
pub struct PolicyScope<'a> {
    /// AWS partition (`aws`).
    pub partition: &'a str,
    /// Region.
    pub region: &'a str,
    /// Account id (`*` when unknown).
    pub account: &'a str,
    /// Cluster name.
    pub cluster: &'a str,
    /// Service name.
    pub service: &'a str,
    /// ECR repository name.
    pub repository: &'a str,
    /// CloudWatch log group (awslogs), if any.
    pub log_group: Option<&'a str>,
    /// Execution role ARN, if configured.
    pub execution_role: Option<&'a str>,
    /// Task role ARN, if configured.
    pub task_role: Option<&'a str>,
}

/// The identity policy for whoever runs `cargo ecs deploy` (and `setup`, `logs`).
pub fn deployer_policy(s: &PolicyScope<'_>) -> Value {
    let (p, r, a) = (s.partition, s.region, s.account);
    let repo_arn = format!("arn:{p}:ecr:{r}:{a}:repository/{}", s.repository);
    let cluster_arn = format!("arn:{p}:ecs:{r}:{a}:cluster/{}", s.cluster);
    let service_arn = format!("arn:{p}:ecs:{r}:{a}:service/{}/{}", s.cluster, s.service);
    let mut statements = vec![
        json!({
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": "*"
        }),
        json!({
            "Sid": "EcrPush",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:CreateRepository",
                "ecr:DescribeImages",
                "ecr:DescribeRepositories",
                "ecr:GetDownloadUrlForLayer",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart"
            ],
            "Resource": repo_arn
        }),
        json!({
            "Sid": "EcsTaskDefinitions",
            "Effect": "Allow",
            "Action": [
                "ecs:DescribeTaskDefinition",
                "ecs:ListTaskDefinitions",
                "ecs:RegisterTaskDefinition"
            ],
            "Resource": "*"
        }),
        json!({
            "Sid": "EcsService",
            "Effect": "Allow",
            "Action": [
                "ecs:CreateService",
                "ecs:DescribeServices",
                "ecs:DescribeTasks",
                "ecs:ListTasks",
                "ecs:UpdateService"
            ],
            "Resource": [
                service_arn,
                format!("arn:{p}:ecs:{r}:{a}:task/{}/*", s.cluster)
            ]
        }),
        json!({
            "Sid": "EcsCluster",
            "Effect": "Allow",
            "Action": [
                "ecs:CreateCluster",
                "ecs:DescribeClusters",
                "ecs:DescribeContainerInstances",
                "ecs:ListContainerInstances"
            ],
            "Resource": [
                cluster_arn,
                format!("arn:{p}:ecs:{r}:{a}:container-instance/{}/*", s.cluster)
            ]
        }),
    ];
    if let Some(group) = s.log_group {
        statements.push(json!({
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:FilterLogEvents",
                "logs:GetLogEvents",
                "logs:PutRetentionPolicy",
                "logs:StartLiveTail"
            ],
            "Resource": [
                format!("arn:{p}:logs:{r}:{a}:log-group:{group}"),
                format!("arn:{p}:logs:{r}:{a}:log-group:{group}:*")
            ]
        }));
    }
    let roles: Vec<&str> = [s.execution_role, s.task_role]
        .into_iter()
        .flatten()
        .collect();
    let pass_role_resources: Value = if roles.is_empty() {
        json!(format!("arn:{p}:iam::{a}:role/*"))
    } else {
        json!(roles)
    };
    statements.push(json!({
        "Sid": "PassTaskRoles",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": pass_role_resources,
        "Condition": { "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }
    }));
    // Deploy reads the network (default VPC, subnets, the `<service>-ecs` group) when
    // `network.*` is not configured; setup also changes it. EC2 has no resource-level
    // permissions for the Describe* actions.
    statements.push(json!({
        "Sid": "NetworkRead",
        "Effect": "Allow",
        "Action": [
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "sts:GetCallerIdentity"
        ],
        "Resource": "*"
    }));
    statements.push(json!({
        "Sid": "SetupOnly",
        "Effect": "Allow",
        "Action": [
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:CreateKeyPair",
            "ec2:CreateSecurityGroup",
            "ec2:CreateTags",
            "ec2:DeleteKeyPair",
            "ec2:DescribeKeyPairs",
            "ec2:DescribeSecurityGroupRules",
            "ec2:RevokeSecurityGroupIngress"
        ],
        "Resource": "*"
    }));
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The trust policy of the task execution role: ECS tasks may assume it, only on behalf of
/// this account (confused-deputy guard with `aws:SourceAccount`).
pub fn execution_role_trust_policy(account: &str) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": { "Service": "ecs-tasks.amazonaws.com" },
        "Action": "sts:AssumeRole"
    });
    if account != "*" {
        statement["Condition"] = json!({ "StringEquals": { "aws:SourceAccount": account } });
    }
    json!({ "Version": "2012-10-17", "Statement": [statement] })
}

/// The AWS managed policy to attach to the execution role (ECR pull, awslogs).
pub const EXECUTION_ROLE_MANAGED_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

#[cfg(test)]
mod tests {
    use super::*;

    fn scope<'a>() -> PolicyScope<'a> {
        PolicyScope {
            partition: "aws",
            region: "eu-west-1",
            account: "123456789012",
            cluster: "prod",
            service: "hello",
            repository: "hello",
            log_group: Some("/ecs/hello"),
            execution_role: Some("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
            task_role: None,
        }
    }

    fn statement<'v>(policy: &'v Value, sid: &str) -> &'v Value {
        policy["Statement"]
            .as_array()
            .and_then(|s| s.iter().find(|st| st["Sid"] == sid))
            .unwrap_or_else(|| panic!("no statement {sid}"))
    }

    #[test]
    fn deployer_policy_scopes_resources_to_this_service() {
        let p = deployer_policy(&scope());
        assert_eq!(
            statement(&p, "EcrPush")["Resource"],
            "arn:aws:ecr:eu-west-1:123456789012:repository/hello"
        );
        assert_eq!(
            statement(&p, "EcsService")["Resource"][0],
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/hello"
        );
        let logs = statement(&p, "Logs");
        assert_eq!(
            logs["Resource"][0],
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/hello"
        );
        let pass = statement(&p, "PassTaskRoles");
        assert_eq!(
            pass["Resource"],
            json!(["arn:aws:iam::123456789012:role/ecsTaskExecutionRole"])
        );
        assert_eq!(
            pass["Condition"]["StringEquals"]["iam:PassedToService"],
            "ecs-tasks.amazonaws.com"
        );
    }

    #[test]
    fn every_action_cargo_ecs_calls_is_allowed() {
        let p = deployer_policy(&scope());
        let allowed: Vec<&str> = p["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|st| st["Action"].as_array().into_iter().flatten())
            .filter_map(|a| a.as_str())
            .collect();
        // The SDK operations the adapters use (grep of `ecs-core/src/aws` and `setup`).
        for action in [
            "ecr:GetAuthorizationToken",
            "ecr:DescribeRepositories",
            "ecr:CreateRepository",
            "ecs:RegisterTaskDefinition",
            "ecs:DescribeTaskDefinition",
            "ecs:ListTaskDefinitions",
            "ecs:CreateService",
            "ecs:UpdateService",
            "ecs:DescribeServices",
            "ecs:DescribeTasks",
            "ecs:ListTasks",
            "ecs:DescribeClusters",
            "ecs:CreateCluster",
            "ecs:ListContainerInstances",
            "ecs:DescribeContainerInstances",
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DescribeLogGroups",
            "logs:DescribeLogStreams",
            "logs:FilterLogEvents",
            "ec2:DescribeVpcs",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSecurityGroupRules",
            "ec2:CreateSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:DescribeKeyPairs",
            "ec2:CreateKeyPair",
            "ec2:DeleteKeyPair",
            "sts:GetCallerIdentity",
            "iam:PassRole",
        ] {
            assert!(allowed.contains(&action), "{action} missing");
        }
    }

    #[test]
    fn without_roles_pass_role_covers_the_account_roles() {
        let mut s = scope();
        s.execution_role = None;
        let p = deployer_policy(&s);
        assert_eq!(
            statement(&p, "PassTaskRoles")["Resource"],
            "arn:aws:iam::123456789012:role/*"
        );
    }

    #[test]
    fn trust_policy_names_ecs_tasks_and_the_account() {
        let t = execution_role_trust_policy("123456789012");
        assert_eq!(
            t["Statement"][0]["Principal"]["Service"],
            "ecs-tasks.amazonaws.com"
        );
        assert_eq!(t["Statement"][0]["Action"], "sts:AssumeRole");
        assert_eq!(
            t["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
            "123456789012"
        );
    }
}
