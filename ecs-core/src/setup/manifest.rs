//! Cargo.toml edits, as pure text → text functions (the shell reads and writes the file):
//!
//! - [`write_network_ids`]: `cargo ecs setup --write` puts the subnets and the security group
//!   into `[package.metadata.ecs.network]` with `toml_edit`, so every comment, blank line and
//!   key order elsewhere survives;
//! - [`append_skeleton`]: `cargo ecs init` *appends* a commented `[package.metadata.ecs]`
//!   after the existing text, so every existing byte is kept verbatim (the result's prefix is
//!   the original file), and refuses when the table already exists;
//! - [`guess_port`]: the container port guessed from address literals in the sources.

use std::fmt::Write as _;

use toml_edit::{Array, DocumentMut, Item, Table, Value};

use crate::config::LaunchType;

/// A Cargo.toml we cannot edit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ManifestEditError {
    /// Not valid TOML.
    #[error("cannot parse `{path}` as TOML: {message}")]
    #[diagnostic(
        code(cargo_ecs::manifest::parse),
        help("fix the syntax error first; `cargo metadata` shows it too")
    )]
    Parse {
        /// The manifest.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A virtual workspace manifest (no `[package]`).
    #[error("`{path}` has no [package] table")]
    #[diagnostic(
        code(cargo_ecs::manifest::no_package),
        help(
            "run this in the package's directory, or pass `--manifest-path` / `-p NAME` to pick a workspace member"
        )
    )]
    NoPackage {
        /// The manifest.
        path: String,
    },
    /// `init` found the table already there.
    #[error("`{path}` already has a [package.metadata.ecs] table")]
    #[diagnostic(
        code(cargo_ecs::manifest::already_initialised),
        help(
            "edit it by hand (every key is described in docs/config.md), or remove it and run `cargo ecs init` again"
        )
    )]
    AlreadyInitialised {
        /// The manifest.
        path: String,
    },
    /// A key on the way is not a table (`metadata = "x"`, or an inline table we cannot
    /// extend by appending).
    #[error("`{key}` in `{path}` is not a table that can be extended")]
    #[diagnostic(
        code(cargo_ecs::manifest::not_a_table),
        help("write `{key}` as a [table] header instead of an inline table or value")
    )]
    NotATable {
        /// The manifest.
        path: String,
        /// The dotted key.
        key: String,
    },
}

fn parse(path: &str, text: &str) -> Result<DocumentMut, ManifestEditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| ManifestEditError::Parse {
            path: path.to_string(),
            message: e.message().to_string(),
        })
}

/// Walks/creates `keys` under `table` as implicit standard tables.
fn table_at<'a>(
    mut table: &'a mut dyn toml_edit::TableLike,
    keys: &[&str],
    path: &str,
) -> Result<&'a mut dyn toml_edit::TableLike, ManifestEditError> {
    let mut walked = String::new();
    for key in keys {
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(key);
        let item = table.entry(key).or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        table = item
            .as_table_like_mut()
            .ok_or_else(|| ManifestEditError::NotATable {
                path: path.to_string(),
                key: walked.clone(),
            })?;
    }
    Ok(table)
}

fn string_array(values: &[String]) -> Array {
    values.iter().map(String::as_str).collect()
}

/// Writes `network.subnets` (only when none are configured) and adds the security group to
/// `network.security-groups` (when missing). Returns the new text and what changed; the text
/// is unchanged when nothing had to change.
pub fn write_network_ids(
    path: &str,
    text: &str,
    subnets: &[String],
    security_group: &str,
) -> Result<(String, Vec<String>), ManifestEditError> {
    let mut doc = parse(path, text)?;
    if !doc.contains_table("package") {
        return Err(ManifestEditError::NoPackage {
            path: path.to_string(),
        });
    }
    let network_exists = doc
        .get("package")
        .and_then(Item::as_table_like)
        .and_then(|p| p.get("metadata"))
        .and_then(Item::as_table_like)
        .and_then(|m| m.get("ecs"))
        .and_then(Item::as_table_like)
        .is_some_and(|e| e.contains_key("network"));
    if !network_exists && let Some(out) = insert_network_table(text, subnets, security_group) {
        // Written as text, where the user would put it; used only if it reads back right.
        let reads_back = parse(path, &out).ok().is_some_and(|d| {
            d.get("package")
                .and_then(|p| p.get("metadata"))
                .and_then(|m| m.get("ecs"))
                .and_then(|e| e.get("network"))
                .and_then(|n| n.get("security-groups"))
                .and_then(Item::as_array)
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(security_group)))
        });
        if reads_back {
            let mut changes = Vec::new();
            if !subnets.is_empty() {
                changes.push(format!("network.subnets = {subnets:?}"));
            }
            changes.push(format!("network.security-groups = [{security_group:?}]"));
            return Ok((out, changes));
        }
    }
    let mut changes = Vec::new();
    let network = table_at(
        doc.as_table_mut(),
        &["package", "metadata", "ecs", "network"],
        path,
    )?;
    let has_subnets = network
        .get("subnets")
        .and_then(Item::as_array)
        .is_some_and(|a| !a.is_empty());
    if !has_subnets && !subnets.is_empty() {
        network.insert("subnets", toml_edit::value(string_array(subnets)));
        changes.push(format!("network.subnets = {subnets:?}"));
    }
    match network
        .get_mut("security-groups")
        .and_then(Item::as_array_mut)
    {
        Some(groups) => {
            if !groups.iter().any(|v| v.as_str() == Some(security_group)) {
                groups.push(security_group);
                changes.push(format!("network.security-groups += {security_group:?}"));
            }
        }
        None => {
            network.insert(
                "security-groups",
                toml_edit::value(string_array(&[security_group.to_string()])),
            );
            changes.push(format!("network.security-groups = [{security_group:?}]"));
        }
    }
    if changes.is_empty() {
        return Ok((text.to_string(), changes));
    }
    Ok((doc.to_string(), changes))
}

/// A new `[package.metadata.ecs.network]` table placed in the text where a person would put
/// it: in place of the commented `# [package.metadata.ecs.network]` block `cargo ecs init`
/// writes, else right after the last `[package.metadata.ecs…]` table (after its last key and
/// the comment lines directly under it, before any blank line or comment block that leads
/// into the next table). `None` when there is no ecs table header to place it by.
fn insert_network_table(text: &str, subnets: &[String], security_group: &str) -> Option<String> {
    let table = if subnets.is_empty() {
        format!(
            "[package.metadata.ecs.network]\nsecurity-groups = [{}]\n",
            Value::from(security_group).to_string().trim()
        )
    } else {
        network_lines(subnets, security_group)
    };
    // (start, end) byte ranges of the lines, end including the newline.
    let mut lines = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        lines.push((start, start + line.len()));
        start += line.len();
    }
    let line = |i: usize| text[lines[i].0..lines[i].1].trim();
    let uncommented = |i: usize| line(i).strip_prefix('#').map(str::trim);

    // 1. The commented skeleton block: replace it.
    let skeleton = (0..lines.len()).find(|&i| {
        uncommented(i).is_some_and(|c| {
            c.starts_with('[') && header_name(c).as_deref() == Some("package.metadata.ecs.network")
        })
    });
    if let Some(first) = skeleton {
        let mut last = first;
        while last + 1 < lines.len()
            && uncommented(last + 1).is_some_and(|c| {
                ["subnets", "security-groups", "assign-public-ip"]
                    .iter()
                    .any(|k| c.starts_with(k))
            })
        {
            last += 1;
        }
        let mut out = String::with_capacity(text.len() + table.len());
        out.push_str(&text[..lines[first].0]);
        out.push_str(&table);
        out.push_str(&text[lines[last].1..]);
        return Some(out);
    }

    // 2. After the last ecs table.
    let is_header = |i: usize| line(i).starts_with('[');
    let last_ecs = (0..lines.len()).rev().find(|&i| {
        is_header(i)
            && header_name(line(i)).is_some_and(|n| {
                n == "package.metadata.ecs" || n.starts_with("package.metadata.ecs.")
            })
    })?;
    let section_end = (last_ecs + 1..lines.len())
        .find(|&i| is_header(i))
        .unwrap_or(lines.len());
    let mut after = (last_ecs + 1..section_end)
        .rev()
        .find(|&i| !line(i).is_empty() && !line(i).starts_with('#'))
        .unwrap_or(last_ecs);
    // Comment lines right under the last key (no blank line between) belong to this table.
    while after + 1 < section_end && line(after + 1).starts_with('#') {
        after += 1;
    }
    let at = lines[after].1;
    let mut out = String::with_capacity(text.len() + table.len() + 2);
    out.push_str(&text[..at]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&table);
    let rest = &text[at..];
    if !rest.is_empty() && !rest.starts_with('\n') && !rest.starts_with("\r\n") {
        out.push('\n');
    }
    out.push_str(rest);
    Some(out)
}

/// `package.metadata.ecs` from a `[ package . metadata . "ecs" ]  # comment` header line;
/// `None` for array-of-tables headers and anything unreadable.
fn header_name(line: &str) -> Option<String> {
    let inner = line.strip_prefix('[')?;
    if inner.starts_with('[') {
        return None;
    }
    let inner = &inner[..inner.find(']')?];
    let parts: Vec<&str> = inner
        .split('.')
        .map(|k| k.trim().trim_matches('"').trim_matches('\''))
        .collect();
    Some(parts.join("."))
}

/// The lines to add by hand when `--write` is not given.
pub fn network_lines(subnets: &[String], security_group: &str) -> String {
    let quote = |v: &[String]| {
        v.iter()
            .map(|s| Value::from(s.as_str()).to_string().trim().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "[package.metadata.ecs.network]\nsubnets = [{}]\nsecurity-groups = [{}]\n",
        quote(subnets),
        quote(&[security_group.to_string()])
    )
}

/// Where the guessed port came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortGuess {
    /// The port.
    pub port: u16,
    /// `src/main.rs:17`.
    pub location: String,
    /// The trimmed source line.
    pub line: String,
}

/// Finds the most common port in address literals (`"0.0.0.0:8080"`, `":3000"`,
/// `"[::]:8000"`, `localhost:8080`) or on lines naming `PORT` (`unwrap_or("8080")`).
/// `files` are (display path, contents). Ties go to the first seen.
pub fn guess_port(files: &[(String, String)]) -> Option<PortGuess> {
    let mut found: Vec<(u16, String, String)> = Vec::new();
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.starts_with("//") {
                continue;
            }
            let mut ports = address_ports(line);
            if ports.is_empty() && line.contains("PORT") {
                ports = quoted_numbers(line);
            }
            for port in ports {
                found.push((port, format!("{path}:{}", n + 1), trimmed.to_string()));
            }
        }
    }
    let mut best: Option<(usize, &(u16, String, String))> = None;
    for entry in &found {
        let count = found.iter().filter(|e| e.0 == entry.0).count();
        if best.is_none_or(|(c, _)| count > c) {
            best = Some((count, entry));
        }
    }
    best.map(|(_, (port, location, line))| PortGuess {
        port: *port,
        location: location.clone(),
        line: line.clone(),
    })
}

/// Ports after a `:` that follows an address-looking prefix or opens a string literal.
fn address_ports(line: &str) -> Vec<u16> {
    let bytes = line.as_bytes();
    let mut ports = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        if b != b':' || i == 0 {
            continue;
        }
        let before = &line[..i];
        let addressy = before.ends_with('"')
            || before.ends_with(']')
            || before.ends_with("localhost")
            || ends_with_ipv4(before);
        if !addressy {
            continue;
        }
        let digits: String = line[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let next = line[i + 1 + digits.len()..].chars().next();
        if (2..=5).contains(&digits.len())
            && next.is_none_or(|c| !c.is_ascii_alphanumeric())
            && let Ok(p) = digits.parse::<u16>()
            && p > 0
        {
            ports.push(p);
        }
    }
    ports
}

fn ends_with_ipv4(s: &str) -> bool {
    let tail: String = s
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    tail.parse::<std::net::Ipv4Addr>().is_ok()
}

fn quoted_numbers(line: &str) -> Vec<u16> {
    line.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| (2..=5).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit()))
        .filter_map(|s| s.parse::<u16>().ok())
        .filter(|p| *p > 0)
        .collect()
}

/// What `init` knows about the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    /// The package name.
    pub package: String,
    /// The binary target to package.
    pub bin: String,
    /// Other binaries (mentioned in a comment).
    pub other_bins: Vec<String>,
    /// The container port.
    pub port: u16,
    /// Where the port came from; `None`: the default 8080.
    pub port_from: Option<String>,
    /// Fargate or EC2.
    pub launch_type: LaunchType,
    /// The execution role ARN if known (Fargate + awslogs needs one).
    pub execution_role: Option<String>,
}

/// Column where the skeleton's trailing comments start.
const COMMENT_COLUMN: usize = 34;

/// `code`, padded to [`COMMENT_COLUMN`] (at least one space), then `# comment`.
fn commented(out: &mut String, code: &str, comment: &str) {
    let pad = COMMENT_COLUMN.saturating_sub(code.chars().count()).max(1);
    let _ = writeln!(out, "{code}{:pad$}# {comment}", "");
}

/// The commented `[package.metadata.ecs]` text `init` appends.
pub fn render_skeleton(s: &Skeleton) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "# Deployment settings for `cargo ecs` (written by `cargo ecs init`; every key is described"
    );
    let _ = writeln!(
        o,
        "# in docs/config.md). `cargo ecs render` shows the task definition they make."
    );
    let _ = writeln!(o, "[package.metadata.ecs]");
    commented(
        o,
        "cluster = \"default\"",
        "ECS cluster; `cargo ecs setup` creates it",
    );
    commented(
        o,
        &format!("# service = \"{}\"", s.package),
        "default: the package name (made a valid ECS name)",
    );
    let launch = match s.launch_type {
        LaunchType::Fargate => "fargate",
        LaunchType::Ec2 => "ec2",
    };
    commented(o, &format!("launch-type = \"{launch}\""), "fargate | ec2");
    match s.launch_type {
        LaunchType::Fargate => {
            commented(
                o,
                "cpu = 256",
                "task CPU units: 256, 512, 1024, 2048, 4096, 8192, 16384",
            );
            commented(
                o,
                "memory = 512",
                "MiB; must fit cpu (the Fargate table in docs/config.md)",
            );
        }
        LaunchType::Ec2 => {
            commented(o, "cpu = 256", "task CPU units (1024 = 1 vCPU)");
            commented(o, "memory = 512", "MiB");
        }
    }
    match &s.execution_role {
        Some(arn) => {
            let _ = writeln!(o, "execution-role = \"{arn}\"");
        }
        None => {
            let _ = writeln!(
                o,
                "# execution-role = \"arn:aws:iam::<account>:role/ecsTaskExecutionRole\"  # pulls the image, writes logs"
            );
        }
    }
    let _ = writeln!(o, "desired-count = 1");
    let _ = writeln!(o);
    let _ = writeln!(o, "[package.metadata.ecs.image]");
    let bins = if s.other_bins.is_empty() {
        "the package's only binary".to_string()
    } else {
        format!("detected; others: {}", s.other_bins.join(", "))
    };
    commented(o, &format!("bin = \"{}\"", s.bin), &bins);
    commented(
        o,
        "# base = \"scratch\"",
        "scratch (static binary) or an image reference",
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "[package.metadata.ecs.container]");
    let origin = match &s.port_from {
        Some(at) => format!("guessed from {at}; check it"),
        None => "no address literal found in src/: the default, check it".to_string(),
    };
    commented(o, &format!("port = {}", s.port), &origin);
    let _ = writeln!(o, "# environment = {{ RUST_LOG = \"info\" }}");
    let _ = writeln!(o);
    let _ = writeln!(o, "[package.metadata.ecs.logs]");
    commented(
        o,
        "driver = \"awslogs\"",
        "CloudWatch Logs, read by `cargo ecs logs`",
    );
    commented(
        o,
        "# retention-days = 30",
        "log group retention set by `cargo ecs setup`",
    );
    let _ = writeln!(o);
    commented(
        o,
        "# [package.metadata.ecs.network]",
        "`cargo ecs setup --write` fills these in",
    );
    let _ = writeln!(o, "# subnets = [\"subnet-…\"]");
    let _ = writeln!(o, "# security-groups = [\"sg-…\"]");
    out
}

/// Appends the skeleton to the manifest text, keeping every existing byte. Refuses when
/// `[package.metadata.ecs]` exists in any form, or when the result would not parse.
pub fn append_skeleton(
    path: &str,
    text: &str,
    skeleton: &str,
) -> Result<String, ManifestEditError> {
    let doc = parse(path, text)?;
    let package = doc
        .get("package")
        .and_then(Item::as_table_like)
        .ok_or_else(|| ManifestEditError::NoPackage {
            path: path.to_string(),
        })?;
    let has_ecs = package
        .get("metadata")
        .and_then(Item::as_table_like)
        .is_some_and(|m| m.contains_key("ecs"));
    if has_ecs {
        return Err(ManifestEditError::AlreadyInitialised {
            path: path.to_string(),
        });
    }
    let mut out = String::with_capacity(text.len() + skeleton.len() + 1);
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        // Keep the original bytes; the newline only terminates the last line.
        out.push('\n');
    }
    out.push_str(skeleton);
    parse(path, &out).map_err(|_| ManifestEditError::NotATable {
        path: path.to_string(),
        key: "package.metadata".into(),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"# My service.
[package]
name = "api"   # the name
version = "0.1.0"
edition = "2024"

# deps below
[dependencies]
serde = "1"  # keep

[package.metadata.ecs]
cluster = "prod"  # the cluster

[package.metadata.ecs.network]
assign-public-ip = true # why not
"#;

    #[test]
    fn write_network_ids_keeps_comments_and_adds_ids() {
        let subnets = vec!["subnet-1".to_string(), "subnet-2".to_string()];
        let (out, changes) = write_network_ids("Cargo.toml", MANIFEST, &subnets, "sg-1").unwrap();
        assert_eq!(changes.len(), 2, "{changes:?}");
        for kept in [
            "# My service.",
            "name = \"api\"   # the name",
            "serde = \"1\"  # keep",
            "cluster = \"prod\"  # the cluster",
            "assign-public-ip = true # why not",
        ] {
            assert!(out.contains(kept), "lost {kept:?} in\n{out}");
        }
        assert!(
            out.contains(r#"subnets = ["subnet-1", "subnet-2"]"#),
            "{out}"
        );
        assert!(out.contains(r#"security-groups = ["sg-1"]"#), "{out}");
        // Idempotent: a second write changes nothing at all.
        let (again, changes) = write_network_ids("Cargo.toml", &out, &subnets, "sg-1").unwrap();
        assert!(changes.is_empty());
        assert_eq!(again, out);
    }

    #[test]
    fn write_network_ids_keeps_configured_subnets_and_appends_the_group() {
        let text = "[package]\nname = \"a\"\n[package.metadata.ecs.network]\nsubnets = [\"subnet-x\"]\nsecurity-groups = [\"sg-other\"]\n";
        let (out, changes) =
            write_network_ids("Cargo.toml", text, &["subnet-y".into()], "sg-1").unwrap();
        assert_eq!(changes, ["network.security-groups += \"sg-1\""]);
        assert!(out.contains("subnets = [\"subnet-x\"]"));
        assert!(out.contains("\"sg-other\", \"sg-1\""), "{out}");
    }

    #[test]
    fn write_network_ids_creates_the_tables_when_absent() {
        let text = "[package]\nname = \"a\"\n";
        let (out, _) = write_network_ids("Cargo.toml", text, &["subnet-1".into()], "sg-1").unwrap();
        let doc: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(
            doc["package"]["metadata"]["ecs"]["network"]["security-groups"][0].as_str(),
            Some("sg-1")
        );
        assert!(out.starts_with(text));
    }

    #[test]
    fn write_network_ids_replaces_the_init_skeleton_and_keeps_the_logs_hint() {
        let manifest = format!(
            "[package]\nname = \"hello\"\n{}",
            render_skeleton(&skeleton())
        );
        let subnets = vec!["subnet-1".to_string()];
        let (out, changes) = write_network_ids("Cargo.toml", &manifest, &subnets, "sg-1").unwrap();
        assert_eq!(changes.len(), 2, "{changes:?}");
        // The retention hint stays under the logs table, the skeleton becomes the table.
        let logs = out.find("[package.metadata.ecs.logs]").unwrap();
        let hint = out.find("# retention-days = 30").unwrap();
        let network = out.find("\n[package.metadata.ecs.network]\n").unwrap();
        assert!(logs < hint && hint < network, "{out}");
        assert!(!out.contains("# [package.metadata.ecs.network]"), "{out}");
        assert!(!out.contains("# subnets"), "{out}");
        assert!(out.ends_with(
            "[package.metadata.ecs.network]\nsubnets = [\"subnet-1\"]\nsecurity-groups = [\"sg-1\"]\n"
        ));
        // Uncommenting the hint gives the logs key it describes.
        let uncommented = out.replace("# retention-days = 30", "retention-days = 30");
        let doc: toml::Table = toml::from_str(&uncommented).unwrap();
        let ecs = &doc["package"]["metadata"]["ecs"];
        assert_eq!(ecs["logs"]["retention-days"].as_integer(), Some(30));
        assert!(ecs["network"].get("retention-days").is_none());
        // Everything before the skeleton is untouched, and a second write changes nothing.
        let prefix = &manifest[..manifest.find("# [package.metadata.ecs.network]").unwrap()];
        assert!(out.starts_with(prefix));
        let (again, changes) = write_network_ids("Cargo.toml", &out, &subnets, "sg-1").unwrap();
        assert!(changes.is_empty());
        assert_eq!(again, out);
    }

    #[test]
    fn write_network_ids_goes_after_the_last_ecs_table_not_into_the_next_comments() {
        let text = "[package]\nname = \"a\"\n\n[package.metadata.ecs]\ncluster = \"c\"\n\n[package.metadata.ecs.logs]\ndriver = \"awslogs\"\n# retention-days = 30  (a hint for logs)\n\n# The dependencies.\n[dependencies]\nserde = \"1\"\n# trailing\n";
        let (out, _) = write_network_ids("Cargo.toml", text, &["subnet-1".into()], "sg-1").unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"a\"\n\n[package.metadata.ecs]\ncluster = \"c\"\n\n[package.metadata.ecs.logs]\ndriver = \"awslogs\"\n# retention-days = 30  (a hint for logs)\n\n[package.metadata.ecs.network]\nsubnets = [\"subnet-1\"]\nsecurity-groups = [\"sg-1\"]\n\n# The dependencies.\n[dependencies]\nserde = \"1\"\n# trailing\n"
        );
    }

    #[test]
    fn write_network_ids_refuses_a_virtual_manifest_and_non_tables() {
        assert!(matches!(
            write_network_ids("Cargo.toml", "[workspace]\n", &[], "sg-1"),
            Err(ManifestEditError::NoPackage { .. })
        ));
        assert!(matches!(
            write_network_ids("Cargo.toml", "[package]\nmetadata = 3\n", &[], "sg-1"),
            Err(ManifestEditError::NotATable { ref key, .. }) if key == "package.metadata"
        ));
    }

    #[test]
    fn network_lines_are_valid_toml() {
        let lines = network_lines(&["subnet-1".into()], "sg-1");
        let t: toml::Table = toml::from_str(&lines).unwrap();
        assert_eq!(
            t["package"]["metadata"]["ecs"]["network"]["subnets"][0].as_str(),
            Some("subnet-1")
        );
    }

    fn skeleton() -> Skeleton {
        Skeleton {
            package: "api".into(),
            bin: "api".into(),
            other_bins: vec![],
            port: 3000,
            port_from: Some("src/main.rs:4".into()),
            launch_type: LaunchType::Fargate,
            execution_role: None,
        }
    }

    #[test]
    fn append_keeps_every_byte_and_parses() {
        let text =
            "# top comment\n[package]\nname = \"api\" # n\nversion = \"0.1.0\"\n\n[dependencies]\n";
        let out = append_skeleton("Cargo.toml", text, &render_skeleton(&skeleton())).unwrap();
        assert!(out.starts_with(text));
        let doc: toml::Table = toml::from_str(&out).unwrap();
        let ecs = &doc["package"]["metadata"]["ecs"];
        assert_eq!(ecs["launch-type"].as_str(), Some("fargate"));
        assert_eq!(ecs["image"]["bin"].as_str(), Some("api"));
        assert_eq!(ecs["container"]["port"].as_integer(), Some(3000));
    }

    #[test]
    fn append_adds_a_newline_only_when_the_file_lacks_one() {
        let text = "[package]\nname = \"api\"";
        let out = append_skeleton("Cargo.toml", text, &render_skeleton(&skeleton())).unwrap();
        assert!(out.starts_with(text));
        assert!(toml::from_str::<toml::Table>(&out).is_ok());
    }

    #[test]
    fn append_refuses_existing_tables_in_any_form() {
        for text in [
            "[package]\nname = \"a\"\n[package.metadata.ecs]\ncluster = \"x\"\n",
            "[package]\nname = \"a\"\nmetadata.ecs.cluster = \"x\"\n",
            "[package]\nname = \"a\"\nmetadata = { ecs = { cluster = \"x\" } }\n",
            "[package]\nname = \"a\"\n[package.metadata.ecs.image]\nbin = \"x\"\n",
        ] {
            assert!(
                matches!(
                    append_skeleton("Cargo.toml", text, "x"),
                    Err(ManifestEditError::AlreadyInitialised { .. })
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn append_refuses_inline_metadata_it_cannot_extend() {
        let text = "[package]\nname = \"a\"\nmetadata = { docs = 1 }\n";
        assert!(matches!(
            append_skeleton("Cargo.toml", text, &render_skeleton(&skeleton())),
            Err(ManifestEditError::NotATable { .. })
        ));
    }

    #[test]
    fn ec2_skeleton_parses_too() {
        let mut s = skeleton();
        s.launch_type = LaunchType::Ec2;
        s.port_from = None;
        s.other_bins = vec!["tool".into()];
        s.execution_role = Some("arn:aws:iam::123456789012:role/ecsTaskExecutionRole".into());
        let out = append_skeleton(
            "Cargo.toml",
            "[package]\nname = \"api\"\n",
            &render_skeleton(&s),
        )
        .unwrap();
        let doc: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(
            doc["package"]["metadata"]["ecs"]["launch-type"].as_str(),
            Some("ec2")
        );
        assert!(
            doc["package"]["metadata"]["ecs"]["execution-role"]
                .as_str()
                .is_some()
        );
    }

    fn files(src: &str) -> Vec<(String, String)> {
        vec![("src/main.rs".to_string(), src.to_string())]
    }

    #[test]
    fn port_is_guessed_from_address_literals() {
        let g = guess_port(&files(
            "fn main() {\n    let l = TcpListener::bind(\"0.0.0.0:3000\");\n}\n",
        ))
        .unwrap();
        assert_eq!((g.port, g.location.as_str()), (3000, "src/main.rs:2"));
        assert_eq!(
            guess_port(&files("bind(\"[::]:8000\")")).unwrap().port,
            8000
        );
        assert_eq!(guess_port(&files("let a = \":9090\";")).unwrap().port, 9090);
        assert_eq!(
            guess_port(&files("connect(\"localhost:5432\")"))
                .unwrap()
                .port,
            5432
        );
    }

    #[test]
    fn port_is_guessed_from_port_env_defaults() {
        let src = "let port = std::env::var(\"PORT\").unwrap_or_else(|_| \"8080\".to_string());";
        assert_eq!(guess_port(&files(src)).unwrap().port, 8080);
    }

    #[test]
    fn port_guess_ignores_non_addresses_and_prefers_the_most_common() {
        assert!(guess_port(&files("let t = \"12:30\"; x::y(); a:b")).is_none());
        assert!(
            guess_port(&files(
                "use std::io::Write; let m: u32 = 5; // \"0.0.0.0:1\""
            ))
            .is_none()
        );
        let src = "a(\"127.0.0.1:9000\");\nb(\"0.0.0.0:8080\");\nc(\"0.0.0.0:8080\");\n";
        assert_eq!(guess_port(&files(src)).unwrap().port, 8080);
    }
}
