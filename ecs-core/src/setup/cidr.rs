//! The `--ssh-cidr` value: parsed with `std::net`, normalised and checked before anything
//! reaches AWS. Pure: no I/O.
//!
//! Decisions (documented in `docs/setup.md`):
//! - a bare address is one host: `203.0.113.25` → `203.0.113.25/32`, `2001:db8::1` →
//!   `2001:db8::1/128`;
//! - host bits set below the prefix (`203.0.113.25/24`) are an error, not silently masked:
//!   the user meant either the one host or the whole network, and only they know which, so
//!   the error names both (`203.0.113.25/32` or `203.0.113.0/24`);
//! - `0.0.0.0/0` and `::/0` (SSH from the whole internet) are refused unless the caller
//!   allows it explicitly, and then flagged so the shell can warn.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A valid CIDR block: a network address and a prefix length with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The whole IPv4 internet, `0.0.0.0/0`.
    pub const ANY_V4: Cidr = Cidr {
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        prefix: 0,
    };
    /// The whole IPv6 internet, `::/0`.
    pub const ANY_V6: Cidr = Cidr {
        addr: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        prefix: 0,
    };

    /// Parses `ADDR/PREFIX` or a bare `ADDR` (one host). Rejects host bits below the prefix.
    pub fn parse(input: &str) -> Result<Cidr, CidrError> {
        let value = input.trim();
        let invalid = |reason: &str| CidrError::Invalid {
            value: input.to_string(),
            reason: reason.to_string(),
        };
        if value.is_empty() {
            return Err(invalid("it is empty"));
        }
        let (addr_part, prefix_part) = match value.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (value, None),
        };
        let addr: IpAddr = addr_part
            .parse()
            .map_err(|_| invalid(&format!("`{addr_part}` is not an IPv4 or IPv6 address")))?;
        let max = max_prefix(addr);
        let prefix = match prefix_part {
            None => max,
            Some(p) => {
                let n: u8 = p.parse().map_err(|_| {
                    invalid(&format!(
                        "the prefix length `{p}` is not a number from 0 to {max}"
                    ))
                })?;
                if n > max {
                    return Err(invalid(&format!(
                        "the prefix length {n} is larger than {max}, the most an {} address has",
                        family(addr)
                    )));
                }
                n
            }
        };
        if let IpAddr::V6(v6) = addr
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            // `::ffff:a.b.c.d`: IPv4 traffic never arrives as IPv6 with this source, and
            // EC2 refuses it as `CidrIpv6` (its dotted form is no IPv6 CIDR to AWS).
            let v4_prefix = if prefix >= 96 { prefix - 96 } else { 32 };
            return Err(CidrError::Ipv4Mapped {
                value: input.to_string(),
                suggestion: Cidr {
                    addr: mask(IpAddr::V4(v4), v4_prefix),
                    prefix: v4_prefix,
                }
                .to_string(),
            });
        }
        if let IpAddr::V6(v6) = addr
            && v6.segments()[..6] == [0; 6]
            && addr_part.contains('.')
        {
            // `::a.b.c.d`, the deprecated IPv4-compatible form (RFC 4291 2.5.5.1): no host
            // has such a source address; the user means the IPv4 address.
            let v4 = addr_part.rsplit(':').next().unwrap_or_default();
            return Err(CidrError::Ipv4Mapped {
                value: input.to_string(),
                suggestion: format!("{v4}/32"),
            });
        }
        let network = mask(addr, prefix);
        if network != addr {
            return Err(CidrError::HostBitsSet {
                value: input.to_string(),
                host: Cidr { addr, prefix: max }.to_string(),
                network: Cidr {
                    addr: network,
                    prefix,
                }
                .to_string(),
            });
        }
        Ok(Cidr { addr, prefix })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// An IPv6 block (goes into `Ipv6Ranges`, not `IpRanges`).
    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// `0.0.0.0/0` or `::/0`: every address of its family.
    pub fn is_anywhere(&self) -> bool {
        self.prefix == 0
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl std::str::FromStr for Cidr {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cidr::parse(s)
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn family(addr: IpAddr) -> &'static str {
    match addr {
        IpAddr::V4(_) => "IPv4",
        IpAddr::V6(_) => "IPv6",
    }
}

/// Clears the bits below `prefix`.
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

/// The source `--ssh-cidr` allows, after the policy checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshSource {
    /// The block port 22 is opened to.
    pub cidr: Cidr,
    /// It is the whole internet and the user allowed it: the shell must warn.
    pub from_anywhere: bool,
}

/// Parses and checks `--ssh-cidr`: a valid block, and not the whole internet unless
/// `allow_anywhere` (`--allow-ssh-from-anywhere`).
pub fn parse_ssh_cidr(input: &str, allow_anywhere: bool) -> Result<SshSource, CidrError> {
    let cidr = Cidr::parse(input)?;
    if cidr.is_anywhere() && !allow_anywhere {
        return Err(CidrError::SshFromAnywhere {
            value: input.to_string(),
        });
    }
    Ok(SshSource {
        cidr,
        from_anywhere: cidr.is_anywhere(),
    })
}

/// A bad `--ssh-cidr`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum CidrError {
    /// Not an address or CIDR block at all.
    #[error("invalid value `{value}` for `--ssh-cidr`: {reason}")]
    #[diagnostic(
        code(cargo_ecs::setup::invalid_cidr),
        help(
            "give an address (203.0.113.25, taken as /32) or a CIDR block (203.0.113.0/24, 2001:db8::/64)"
        )
    )]
    Invalid {
        /// What was given.
        value: String,
        /// Why it is not valid.
        reason: String,
    },
    /// An address with host bits below the prefix, e.g. `203.0.113.25/24`.
    #[error("`--ssh-cidr {value}` has host bits set below the prefix length")]
    #[diagnostic(
        code(cargo_ecs::setup::cidr_host_bits),
        help("for this one host use `{host}`; for the whole network use `{network}`")
    )]
    HostBitsSet {
        /// What was given.
        value: String,
        /// The single-host block of the address.
        host: String,
        /// The network the prefix describes.
        network: String,
    },
    /// An IPv4 address written as IPv6 (`::ffff:1.2.3.4`, `::1.2.3.4`): AWS refuses it as an
    /// IPv6 block, and IPv4 clients are matched by IPv4 rules anyway.
    #[error(
        "`--ssh-cidr {value}` is an IPv4 address written as IPv6, which AWS does not accept in a security group rule"
    )]
    #[diagnostic(
        code(cargo_ecs::setup::cidr_ipv4_mapped),
        help("IPv4 clients are matched by IPv4 rules: use `--ssh-cidr {suggestion}`")
    )]
    Ipv4Mapped {
        /// What was given.
        value: String,
        /// The IPv4 block meant.
        suggestion: String,
    },
    /// SSH from the whole internet without `--allow-ssh-from-anywhere`.
    #[error("refusing to open SSH (port 22) to the whole internet (`--ssh-cidr {value}`)")]
    #[diagnostic(
        code(cargo_ecs::setup::ssh_from_anywhere),
        help(
            "give your own address (e.g. `--ssh-cidr 203.0.113.25`, taken as /32), or pass `--allow-ssh-from-anywhere` if you really mean it"
        )
    )]
    SshFromAnywhere {
        /// What was given.
        value: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        match Cidr::parse(s) {
            Ok(c) => c.to_string(),
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn bare_addresses_become_single_host_blocks() {
        assert_eq!(ok("203.0.113.25"), "203.0.113.25/32");
        assert_eq!(ok(" 203.0.113.25 "), "203.0.113.25/32");
        assert_eq!(ok("2001:db8::1"), "2001:db8::1/128");
    }

    #[test]
    fn network_blocks_are_kept() {
        assert_eq!(ok("203.0.113.0/24"), "203.0.113.0/24");
        assert_eq!(ok("203.0.113.25/32"), "203.0.113.25/32");
        assert_eq!(ok("2001:DB8::/32"), "2001:db8::/32");
        assert_eq!(ok("10.0.0.0/8"), "10.0.0.0/8");
        assert_eq!(ok("0.0.0.0/0"), "0.0.0.0/0");
        assert_eq!(ok("::/0"), "::/0");
    }

    #[test]
    fn host_bits_are_refused_with_both_suggestions() {
        let err = Cidr::parse("203.0.113.25/24").unwrap_err();
        assert_eq!(
            err,
            CidrError::HostBitsSet {
                value: "203.0.113.25/24".into(),
                host: "203.0.113.25/32".into(),
                network: "203.0.113.0/24".into(),
            }
        );
        let err = Cidr::parse("2001:db8::1/64").unwrap_err();
        assert!(
            matches!(err, CidrError::HostBitsSet { ref network, .. } if network == "2001:db8::/64")
        );
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        for bad in [
            "",
            "/",
            "203.0.113",
            "203.0.113.256",
            "203.0.113.0/33",
            "2001:db8::/129",
            "203.0.113.0/-1",
            "203.0.113.0/abc",
            "example.com",
            "203.0.113.0/24/1",
        ] {
            assert!(
                matches!(Cidr::parse(bad), Err(CidrError::Invalid { .. })),
                "{bad:?} should be invalid"
            );
        }
    }

    #[test]
    fn ipv4_written_as_ipv6_is_refused_with_the_ipv4_block() {
        for (bad, suggestion) in [
            ("::ffff:1.2.3.4", "1.2.3.4/32"),
            ("::FFFF:1.2.3.4/128", "1.2.3.4/32"),
            ("::ffff:102:304", "1.2.3.4/32"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("::ffff:0.0.0.0/96", "0.0.0.0/0"),
            ("::1.2.3.4", "1.2.3.4/32"),
        ] {
            assert_eq!(
                Cidr::parse(bad),
                Err(CidrError::Ipv4Mapped {
                    value: bad.into(),
                    suggestion: suggestion.into()
                }),
                "{bad}"
            );
        }
        // What reaches AWS as CidrIpv6 never has a dotted part.
        for fine in ["::/0", "2001:db8::/64", "::1", "64:ff9b::1.2.3.4", "::/96"] {
            let text = ok(fine);
            assert!(!text.contains('.'), "{fine} -> {text}");
        }
    }

    #[test]
    fn ssh_from_anywhere_needs_explicit_permission() {
        for any in ["0.0.0.0/0", "::/0"] {
            assert_eq!(
                parse_ssh_cidr(any, false),
                Err(CidrError::SshFromAnywhere { value: any.into() })
            );
            let allowed = parse_ssh_cidr(any, true).unwrap();
            assert!(allowed.from_anywhere);
        }
        let one = parse_ssh_cidr("203.0.113.25", false).unwrap();
        assert!(!one.from_anywhere);
        assert_eq!(one.cidr.to_string(), "203.0.113.25/32");
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        // A cheap fuzz over short strings of the characters that matter.
        let alphabet = ['0', '1', '9', '2', '5', '.', ':', '/', 'a', 'f', ' ', '-'];
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let len = rng.usize(0..16);
            let s: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let _ = parse_ssh_cidr(&s, rng.bool());
        }
    }
}
