//! `cargo ecs logs`: every container's logs of the service, in time order, optionally
//! followed. Finds the service's task definition, says where non-awslogs containers send their
//! logs, and streams awslogs events to stdout (human lines or NDJSON). A closed pipe
//! (`| head`) ends quietly with exit 0.

use std::collections::HashMap;
use std::io::{BufWriter, IsTerminal, StdoutLock, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

use ecs_core::aws::logs::{CloudWatchLogs, service_log_configs};
use ecs_core::logs::discover::{self, AwslogsTarget, Destination};
use ecs_core::logs::fetch::{self, FollowOptions, ReadOptions};
use ecs_core::logs::{LogEvent, LogsError, sanitize, time};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use miette::{IntoDiagnostic, WrapErr};

use crate::cli::{ColorChoice, Format, LogsArgs};
use crate::context::Ctx;

/// The containers whose logs are not in CloudWatch: `(container, driver, where they went)`.
fn elsewhere(dests: &[Destination]) -> impl Iterator<Item = (&str, &str, &str)> {
    dests.iter().filter_map(|d| match d {
        Destination::Elsewhere {
            container,
            driver,
            description,
        } => Some((container.as_str(), driver.as_str(), description.as_str())),
        Destination::Awslogs(_) => None,
    })
}

/// Runs `cargo ecs logs`.
pub async fn run(args: LogsArgs, ctx: &Ctx) -> miette::Result<ExitCode> {
    let (cluster, service) = target(&args, ctx).await?;
    if args.follow && args.until.is_some() {
        return Err(miette::miette!(
            help = "leave out --until to follow, or --follow to read a closed range",
            "`--until` cannot be used with `--follow`"
        ));
    }
    let now = Timestamp::now();
    let start = time::parse_when("--since", &args.since, now)?;
    let end = args
        .until
        .as_deref()
        .map(|u| time::parse_when("--until", u, now))
        .transpose()?;
    if let Some(end) = end.filter(|e| *e < start) {
        return Err(LogsError::EmptyRange {
            since: rfc3339(start),
            until: rfc3339(end),
        }
        .into());
    }

    let sdk = ctx.sdk().await?;
    let (td, containers) = service_log_configs(sdk, &cluster, &service, args.revision).await?;
    let dests = discover::select_container(
        discover::destinations(&containers),
        args.container.as_deref(),
        &td,
    )?;
    let targets: Vec<AwslogsTarget> = dests
        .iter()
        .filter_map(|d| match d {
            Destination::Awslogs(t) => Some(t.clone()),
            Destination::Elsewhere { .. } => None,
        })
        .collect();

    let mut printer = Printer::new(ctx, &args);
    if targets.is_empty() {
        // Nothing to read: where the logs went *is* the answer, so it goes to stdout.
        for (container, driver, description) in elsewhere(&dests) {
            printer.destination(container, driver, description);
        }
        return printer.finish();
    }
    for (container, driver, description) in elsewhere(&dests) {
        ctx.ui
            .status("Skipping", format!("{container}: {driver} → {description}"));
    }

    let task = args.task.as_deref().map(discover::task_id);
    let source = CloudWatchLogs::new(sdk);
    let reporter = ctx.ui.reporter();
    let read = ReadOptions {
        start,
        end,
        pattern: args.filter.clone(),
        ..ReadOptions::default()
    };
    let since = printer.time(start);
    let until = end
        .map(|e| format!(" until {}", printer.time(e)))
        .unwrap_or_default();
    ctx.ui.status(
        "Reading",
        format!(
            "{} of {td} since {since}{until} (times in {})",
            targets
                .iter()
                .map(|t| format!("{} → {}", t.container, t.group.name))
                .collect::<Vec<_>>()
                .join(", "),
            printer.zone_label(),
        ),
    );

    let mut sink = |e: &LogEvent| printer.event(e);
    let outcome = if args.follow {
        let opts = FollowOptions {
            read,
            ..FollowOptions::default()
        };
        let clock = || Timestamp::now().as_millisecond();
        let follow = fetch::follow(&source, &targets, task, &opts, &clock, &reporter, &mut sink);
        tokio::select! {
            r = follow => Some(r?),
            _ = tokio::signal::ctrl_c() => None,
        }
    } else {
        let streams =
            fetch::discover_streams(&source, &targets, task, &read.backoff, &reporter).await?;
        if streams.is_empty() {
            ctx.ui.warn(format_args!(
                "no log streams{} under {}",
                task.map(|t| format!(" for task {t}")).unwrap_or_default(),
                targets
                    .iter()
                    .map(|t| format!("{}:{}*", t.group.name, t.stream_prefix(task)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Some(fetch::read_range(&source, &streams, &read, &reporter, &mut sink).await?)
    };
    if let Some(o) = outcome {
        ctx.ui.verbose(format_args!(
            "{} events; at most {} held in memory",
            o.events, o.peak_buffered
        ));
    }
    printer.finish()
}

/// The cluster and service to read: from `[package.metadata.ecs]` with the usual precedence;
/// outside any package, `--service` (and `--cluster`, default `default`) alone will do.
async fn target(args: &LogsArgs, ctx: &Ctx) -> miette::Result<(String, String)> {
    let outside_package = ctx.global.manifest_path.is_none()
        && std::env::current_dir()
            .map(|d| !d.ancestors().any(|a| a.join("Cargo.toml").is_file()))
            .unwrap_or(false);
    if let Some(service) = args.settings.service.as_ref().filter(|_| outside_package) {
        let cluster = args.settings.cluster.as_deref().unwrap_or("default");
        return Ok((cluster.to_string(), service.clone()));
    }
    let loaded = ctx.load(&args.settings).await?;
    Ok((loaded.config.cluster.clone(), loaded.config.service.clone()))
}

/// RFC3339 in UTC with exactly three fractional digits, so the text sorts like the time.
fn rfc3339(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// Writes events to stdout; remembers the first write error (a closed pipe stops the read).
struct Printer {
    out: BufWriter<StdoutLock<'static>>,
    json: bool,
    color: bool,
    /// stdout is a terminal: strip control sequences from messages.
    terminal: bool,
    /// Flush after every event (follow mode: the reader is waiting).
    flush_each: bool,
    tz: Option<TimeZone>,
    /// (second, formatted "YYYY-MM-DD HH:MM:SS") of the last event.
    last_second: Option<(i64, String)>,
    colors: HashMap<(String, String), &'static str>,
    error: Option<std::io::Error>,
}

/// Prefix colours, cycled per task/container pair.
const PALETTE: [&str; 6] = ["36", "33", "35", "32", "34", "31"];

impl Printer {
    fn new(ctx: &Ctx, args: &LogsArgs) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let color = match ctx.global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
        };
        Printer {
            out: BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
            json: ctx.global.format == Format::Json,
            color,
            terminal,
            flush_each: args.follow,
            tz: (!args.utc).then(TimeZone::system),
            last_second: None,
            colors: HashMap::new(),
            error: None,
        }
    }

    /// "local time, UTC+02:00" or "UTC".
    fn zone_label(&self) -> String {
        match &self.tz {
            None => "UTC".to_string(),
            Some(tz) => {
                let offset = tz.to_offset(Timestamp::now());
                format!("local time, UTC{offset}; --utc for UTC")
            }
        }
    }

    /// A timestamp as printed: `2024-05-01T12:00:00.123Z` (UTC) or `2024-05-01 14:00:00.123`.
    fn time(&mut self, ms: i64) -> String {
        let second = ms.div_euclid(1000);
        let millis = ms.rem_euclid(1000);
        if self.last_second.as_ref().is_none_or(|(s, _)| *s != second) {
            let text = match Timestamp::from_second(second) {
                Ok(t) => match &self.tz {
                    None => t.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                    Some(tz) => t
                        .to_zoned(tz.clone())
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                },
                Err(_) => second.to_string(),
            };
            self.last_second = Some((second, text));
        }
        let base = self
            .last_second
            .as_ref()
            .map(|(_, t)| t.as_str())
            .unwrap_or("");
        let z = if self.tz.is_none() { "Z" } else { "" };
        format!("{base}.{millis:03}{z}")
    }

    fn event(&mut self, e: &LogEvent) -> ControlFlow<()> {
        if self.error.is_some() {
            return ControlFlow::Break(());
        }
        let result = if self.json {
            let line = serde_json::json!({
                "timestamp": rfc3339(e.timestamp),
                "task": e.stream.task,
                "container": e.stream.container,
                "stream": e.stream.name,
                "message": sanitize::trim_newline(&e.message),
            });
            writeln!(self.out, "{line}")
        } else {
            let time = self.time(e.timestamp);
            let task: String = e.stream.task.chars().take(8).collect();
            let prefix = format!("[{task}/{}]", e.stream.container);
            let prefix = if self.color {
                let n = self.colors.len();
                let code = *self
                    .colors
                    .entry((e.stream.task.clone(), e.stream.container.clone()))
                    .or_insert(PALETTE[n % PALETTE.len()]);
                format!("\x1b[{code}m{prefix}\x1b[0m")
            } else {
                prefix
            };
            let message = sanitize::trim_newline(&e.message);
            let message = if self.terminal {
                sanitize::for_terminal(message)
            } else {
                message.into()
            };
            writeln!(self.out, "{time} {prefix} {message}")
        };
        let result = result.and_then(|()| {
            if self.flush_each {
                self.out.flush()
            } else {
                Ok(())
            }
        });
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                self.error = Some(err);
                ControlFlow::Break(())
            }
        }
    }

    fn destination(&mut self, container: &str, driver: &str, description: &str) {
        let r = if self.json {
            let line = serde_json::json!({
                "container": container,
                "driver": driver,
                "destination": description,
            });
            writeln!(self.out, "{line}")
        } else {
            writeln!(
                self.out,
                "{container}: `{driver}` log driver → {description} (not read by cargo ecs logs)"
            )
        };
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }

    /// Flushes; a closed pipe is a normal end (exit 0), any other write error is an error.
    fn finish(mut self) -> miette::Result<ExitCode> {
        let flushed = self.out.flush();
        match self.error.take().map_or(flushed, Err) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
            Err(e) => Err(e)
                .into_diagnostic()
                .wrap_err("cannot write the log events to stdout"),
        }
    }
}
