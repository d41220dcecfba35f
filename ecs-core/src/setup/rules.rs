//! The security group's inbound rules: the exact set `cargo ecs setup` wants (HTTP 80 and
//! HTTPS 443 from anywhere over IPv4 and IPv6, SSH 22 only from `--ssh-cidr`) and the pure
//! reconciliation of what exists against it. No I/O: the EC2 adapter observes and applies.
//!
//! Reconciliation is exact: a rule that is not in the wanted set is removed, whatever it is
//! (another port, a source group, a prefix list, an old SSH address), because a group named
//! for this service is ours to keep in shape. That is what makes a re-run with a new
//! `--ssh-cidr` replace the old SSH rule instead of adding a second one.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::cidr::Cidr;

/// The ports opened to the whole internet.
pub const PUBLIC_PORTS: [u16; 2] = [80, 443];
/// The SSH port, opened only to `--ssh-cidr`.
pub const SSH_PORT: u16 = 22;

/// One wanted inbound rule: TCP on one port from one CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IngressRule {
    /// The TCP port.
    pub port: u16,
    /// The source block.
    pub cidr: Cidr,
}

impl IngressRule {
    /// A short label for humans (`HTTP`, `HTTPS`, `SSH`).
    pub fn label(&self) -> &'static str {
        match self.port {
            80 => "HTTP",
            443 => "HTTPS",
            22 => "SSH",
            _ => "TCP",
        }
    }
}

impl fmt::Display for IngressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tcp/{} from {} ({})", self.port, self.cidr, self.label())
    }
}

impl Serialize for IngressRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("IngressRule", 3)?;
        st.serialize_field("protocol", "tcp")?;
        st.serialize_field("port", &self.port)?;
        st.serialize_field("cidr", &self.cidr.to_string())?;
        st.end()
    }
}

/// The exact inbound rule set for the service's security group.
pub fn wanted_rules(ssh: Option<Cidr>) -> BTreeSet<IngressRule> {
    let mut rules = BTreeSet::new();
    for port in PUBLIC_PORTS {
        rules.insert(IngressRule {
            port,
            cidr: Cidr::ANY_V4,
        });
        rules.insert(IngressRule {
            port,
            cidr: Cidr::ANY_V6,
        });
    }
    if let Some(cidr) = ssh {
        rules.insert(IngressRule {
            port: SSH_PORT,
            cidr,
        });
    }
    rules
}

/// One inbound rule as it exists in AWS (a `SecurityGroupRule`, one source each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedRule {
    /// `sgr-…`: what revoking it needs.
    pub id: String,
    /// `tcp`, `udp`, `icmp`, `-1`…
    pub protocol: String,
    /// First port (or -1).
    pub from_port: i32,
    /// Last port (or -1).
    pub to_port: i32,
    /// Where traffic may come from, as AWS reports it.
    pub source: RuleSource,
}

/// The source of an observed rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum RuleSource {
    /// An IPv4 or IPv6 block (kept as text; it may not even parse).
    Cidr(String),
    /// Another security group.
    SecurityGroup(String),
    /// A managed prefix list.
    PrefixList(String),
    /// Something we do not model.
    Other,
}

impl ObservedRule {
    /// The wanted rule this is, if it is exactly one of ours.
    pub fn as_ingress_rule(&self) -> Option<IngressRule> {
        let tcp = self.protocol.eq_ignore_ascii_case("tcp") || self.protocol == "6";
        if !tcp || self.from_port != self.to_port {
            return None;
        }
        let port = u16::try_from(self.from_port).ok()?;
        match &self.source {
            RuleSource::Cidr(text) => Cidr::parse(text)
                .ok()
                .map(|cidr| IngressRule { port, cidr }),
            _ => None,
        }
    }
}

impl fmt::Display for ObservedRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ports = if self.protocol == "-1" {
            "all traffic".to_string()
        } else if self.from_port == self.to_port {
            format!("{}/{}", self.protocol, self.from_port)
        } else {
            format!("{}/{}-{}", self.protocol, self.from_port, self.to_port)
        };
        match &self.source {
            RuleSource::Cidr(c) => write!(f, "{ports} from {c}"),
            RuleSource::SecurityGroup(g) => write!(f, "{ports} from security group {g}"),
            RuleSource::PrefixList(p) => write!(f, "{ports} from prefix list {p}"),
            RuleSource::Other => write!(f, "{ports} ({})", self.id),
        }
    }
}

/// What to change so the group has exactly the wanted rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleChanges {
    /// Wanted rules that are missing.
    pub add: Vec<IngressRule>,
    /// Existing rules that are not wanted (revoked by id).
    pub remove: Vec<ObservedRule>,
    /// Wanted rules that are already there.
    pub keep: Vec<IngressRule>,
}

impl RuleChanges {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// Compares the existing inbound rules with the wanted set. A duplicate of a wanted rule
/// (possible through other tools) is removed so exactly one of each remains.
pub fn reconcile(observed: &[ObservedRule], wanted: &BTreeSet<IngressRule>) -> RuleChanges {
    let mut changes = RuleChanges::default();
    let mut seen = BTreeSet::new();
    for rule in observed {
        match rule.as_ingress_rule() {
            Some(r) if wanted.contains(&r) && seen.insert(r) => changes.keep.push(r),
            _ => changes.remove.push(rule.clone()),
        }
    }
    changes.add = wanted.difference(&seen).copied().collect();
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    fn observed(id: &str, proto: &str, from: i32, to: i32, source: RuleSource) -> ObservedRule {
        ObservedRule {
            id: id.into(),
            protocol: proto.into(),
            from_port: from,
            to_port: to,
            source,
        }
    }

    fn tcp(id: &str, port: i32, c: &str) -> ObservedRule {
        observed(id, "tcp", port, port, RuleSource::Cidr(c.into()))
    }

    #[test]
    fn wanted_set_without_ssh_is_http_and_https_on_both_families() {
        let rules: Vec<String> = wanted_rules(None).iter().map(|r| r.to_string()).collect();
        assert_eq!(
            rules,
            [
                "tcp/80 from 0.0.0.0/0 (HTTP)",
                "tcp/80 from ::/0 (HTTP)",
                "tcp/443 from 0.0.0.0/0 (HTTPS)",
                "tcp/443 from ::/0 (HTTPS)",
            ]
        );
    }

    #[test]
    fn wanted_set_with_ssh_adds_exactly_one_rule() {
        let rules = wanted_rules(Some(cidr("203.0.113.25")));
        assert_eq!(rules.len(), 5);
        assert!(rules.contains(&IngressRule {
            port: 22,
            cidr: cidr("203.0.113.25/32")
        }));
    }

    #[test]
    fn empty_group_gets_everything_added() {
        let wanted = wanted_rules(Some(cidr("203.0.113.25")));
        let changes = reconcile(&[], &wanted);
        assert_eq!(changes.add.len(), 5);
        assert!(changes.remove.is_empty() && changes.keep.is_empty());
    }

    #[test]
    fn matching_group_needs_nothing() {
        let wanted = wanted_rules(Some(cidr("203.0.113.25")));
        let existing = [
            tcp("sgr-1", 80, "0.0.0.0/0"),
            tcp("sgr-2", 80, "::/0"),
            tcp("sgr-3", 443, "0.0.0.0/0"),
            tcp("sgr-4", 443, "::/0"),
            tcp("sgr-5", 22, "203.0.113.25/32"),
        ];
        let changes = reconcile(&existing, &wanted);
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(changes.keep.len(), 5);
    }

    #[test]
    fn new_ssh_address_replaces_the_old_one_and_strays_go() {
        let wanted = wanted_rules(Some(cidr("198.51.100.7")));
        let existing = [
            tcp("sgr-1", 80, "0.0.0.0/0"),
            tcp("sgr-2", 80, "::/0"),
            tcp("sgr-3", 443, "0.0.0.0/0"),
            tcp("sgr-4", 443, "::/0"),
            tcp("sgr-5", 22, "203.0.113.25/32"),
            tcp("sgr-6", 22, "0.0.0.0/0"),
            observed(
                "sgr-7",
                "tcp",
                0,
                65535,
                RuleSource::Cidr("10.0.0.0/8".into()),
            ),
            observed(
                "sgr-8",
                "-1",
                -1,
                -1,
                RuleSource::SecurityGroup("sg-1".into()),
            ),
            tcp("sgr-9", 80, "0.0.0.0/0"),
        ];
        let changes = reconcile(&existing, &wanted);
        assert_eq!(
            changes.add,
            [IngressRule {
                port: 22,
                cidr: cidr("198.51.100.7/32")
            }]
        );
        let removed: Vec<&str> = changes.remove.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(removed, ["sgr-5", "sgr-6", "sgr-7", "sgr-8", "sgr-9"]);
    }

    #[test]
    fn dropping_ssh_cidr_removes_the_ssh_rule() {
        let wanted = wanted_rules(None);
        let existing = [tcp("sgr-5", 22, "203.0.113.25/32")];
        let changes = reconcile(&existing, &wanted);
        assert_eq!(changes.remove.len(), 1);
        assert_eq!(changes.add.len(), 4);
    }

    #[test]
    fn observed_rules_print_readably() {
        assert_eq!(
            tcp("x", 22, "203.0.113.25/32").to_string(),
            "tcp/22 from 203.0.113.25/32"
        );
        assert_eq!(
            observed("x", "-1", -1, -1, RuleSource::SecurityGroup("sg-1".into())).to_string(),
            "all traffic from security group sg-1"
        );
    }
}
