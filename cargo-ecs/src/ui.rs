//! Everything the user sees on stderr: cargo-style status lines (`    Pushing …`), warnings,
//! errors (miette), and progress. Progress bars (indicatif) only when stderr is a terminal;
//! plain lines otherwise. stdout is never written here: it is for data.

use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use ecs_core::progress::Reporter;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use miette::{Diagnostic, LabeledSpan, Severity, SourceCode};

use crate::cli::{ColorChoice, Format, GlobalArgs};

/// Terminal output settings and helpers.
pub struct Ui {
    /// Colour on stderr.
    pub color: bool,
    /// `-q`.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
    /// `--format`.
    pub format: Format,
    bars: MultiProgress,
    active: Mutex<HashMap<String, ProgressBar>>,
}

impl Ui {
    /// From the global flags.
    pub fn new(global: &GlobalArgs) -> Self {
        let tty = std::io::stderr().is_terminal();
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
        };
        let bars = MultiProgress::with_draw_target(if tty && !global.quiet {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let handler_color = color;
        let _ = miette::set_hook(Box::new(move |_| {
            Box::new(
                miette::MietteHandlerOpts::new()
                    .color(handler_color)
                    .unicode(handler_color)
                    .terminal_links(false)
                    .width(100)
                    .build(),
            )
        }));
        Ui {
            color,
            quiet: global.quiet,
            verbose: global.verbose,
            format: global.format,
            bars,
            active: Mutex::new(HashMap::new()),
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn line(&self, line: String) {
        if self.bars.is_hidden() {
            to_stderr(&format!("{line}\n"));
        } else {
            self.bars.suspend(|| to_stderr(&format!("{line}\n")));
        }
    }

    /// A cargo-style status line: a right-aligned green verb and a message.
    pub fn status(&self, verb: &str, message: impl std::fmt::Display) {
        if self.quiet {
            return;
        }
        self.line(format!(
            "{} {message}",
            self.paint("1;32", &format!("{verb:>12}"))
        ));
    }

    /// A note that is only shown with `-v`.
    pub fn verbose(&self, message: impl std::fmt::Display) {
        if self.verbose > 0 && !self.quiet {
            self.line(format!(
                "{} {message}",
                self.paint("1;36", &format!("{:>12}", "Info"))
            ));
        }
    }

    /// `warning: …`, shown even with `-q`.
    pub fn warn(&self, message: impl std::fmt::Display) {
        self.line(format!("{} {message}", self.paint("1;33", "warning:")));
    }

    /// Renders an error report to stderr (JSON with `--format json`).
    pub fn error(&self, report: &miette::Report) {
        let _ = self.bars.clear();
        if self.format == Format::Json {
            let mut causes = Vec::new();
            let mut source = report.source();
            while let Some(s) = source {
                causes.push(s.to_string());
                source = s.source();
            }
            let help = report.help().map(|h| h.to_string());
            let related: Vec<String> = report
                .related()
                .map(|r| r.map(|d| d.to_string()).collect())
                .unwrap_or_default();
            let json = serde_json::json!({
                "error": report.to_string(),
                "causes": causes,
                "help": help,
                "related": related,
            });
            to_stderr(&format!("{json}\n"));
        } else {
            let label = |severity: Option<Severity>| match severity {
                Some(Severity::Warning) => self.paint("1;33", "warning:"),
                Some(Severity::Advice) => self.paint("1;36", "note:"),
                Some(Severity::Error) | None => self.paint("1;31", "error:"),
            };
            to_stderr(&error_text(report.handler(), &**report, None, &label));
        }
    }

    /// A [`Reporter`] that draws on this UI.
    pub fn reporter(&self) -> UiReporter<'_> {
        UiReporter { ui: self }
    }
}

/// Renders `ecs-core` progress events.
pub struct UiReporter<'a> {
    ui: &'a Ui,
}

impl Reporter for UiReporter<'_> {
    fn step_started(&self, step: &str, message: &str, total: Option<u64>) {
        if self.ui.quiet {
            return;
        }
        if self.ui.bars.is_hidden() {
            self.ui.status(&title(step), message);
            return;
        }
        let bar = match total {
            Some(total) => {
                let bar = ProgressBar::new(total);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>12.cyan.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>12.cyan.bold} {spinner} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            }
        };
        let bar = self.ui.bars.add(bar);
        bar.set_prefix(title(step));
        bar.set_message(message.to_string());
        if let Ok(mut active) = self.ui.active.lock()
            && let Some(old) = active.insert(step.to_string(), bar)
        {
            old.finish_and_clear();
        }
    }

    fn bytes_done(&self, step: &str, n: u64) {
        if let Ok(active) = self.ui.active.lock()
            && let Some(bar) = active.get(step)
        {
            bar.inc(n);
        }
    }

    fn note(&self, message: &str) {
        self.ui.verbose(message);
    }

    fn warn(&self, message: &str) {
        self.ui.warn(message);
    }

    fn step_done(&self, step: &str, message: &str) {
        let bar = self.ui.active.lock().ok().and_then(|mut a| a.remove(step));
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        if !message.is_empty() {
            self.ui.status(&title(step), message);
        }
    }
}

/// `error: <message>` and what miette shows after it (labelled source, causes, help), then
/// the same, after a blank line, for each related diagnostic (a configuration error lists
/// every problem that way), as cargo reports several errors. The message opens miette's
/// report (`× message`); it is cut off there so it is not said twice, and the diagnostic code
/// (`cargo_ecs::config`), which miette puts above it, is left out: people read the message.
/// `label` gives the `error:` word for a severity.
fn error_text(
    handler: &dyn miette::ReportHandler,
    diagnostic: &dyn Diagnostic,
    parent_source: Option<&dyn SourceCode>,
    label: &dyn Fn(Option<Severity>) -> String,
) -> String {
    let message = diagnostic.to_string();
    let full = Rendered(
        handler,
        &Uncoded {
            inner: diagnostic,
            parent_source,
        },
    )
    .to_string();
    let opening = Rendered(
        handler,
        &MessageOnly {
            message: &message,
            severity: diagnostic.severity(),
        },
    )
    .to_string();
    let details = match full.strip_prefix(&opening) {
        Some(rest) => rest,
        // Another handler (say, the narrated one): show all of it rather than guess.
        None => &full,
    };
    let mut out = format!("{} {message}\n{details}", label(diagnostic.severity()));
    let source = diagnostic.source_code().or(parent_source);
    for related in diagnostic.related().into_iter().flatten() {
        out.push('\n');
        out.push_str(&error_text(handler, related, source, label));
    }
    out
}

/// A diagnostic as `handler` renders it.
struct Rendered<'a>(&'a dyn miette::ReportHandler, &'a dyn Diagnostic);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug(self.1, f)
    }
}

/// A diagnostic without its code, URL and related diagnostics (those get their own `error:`
/// line); its labels point into the parent's source when it has none of its own, as in miette.
struct Uncoded<'a> {
    inner: &'a dyn Diagnostic,
    parent_source: Option<&'a dyn SourceCode>,
}

impl fmt::Debug for Uncoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.inner, f)
    }
}

impl fmt::Display for Uncoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for Uncoded<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl Diagnostic for Uncoded<'_> {
    fn severity(&self) -> Option<Severity> {
        self.inner.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.help()
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.inner.source_code().or(self.parent_source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.inner.labels()
    }
    fn diagnostic_source(&self) -> Option<&dyn Diagnostic> {
        self.inner.diagnostic_source()
    }
}

/// Just a message: rendered, it is exactly the opening of the report it came from.
#[derive(Debug)]
struct MessageOnly<'a> {
    message: &'a str,
    severity: Option<Severity>,
}

impl fmt::Display for MessageOnly<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for MessageOnly<'_> {}

impl Diagnostic for MessageOnly<'_> {
    fn severity(&self) -> Option<Severity> {
        self.severity
    }
}

/// `push` → `Push`, the verb column.
fn title(step: &str) -> String {
    let mut c = step.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Writes a message to stderr. A reader that went away (`cargo ecs build 2>&1 | head -1`)
/// must not stop the work, so a failed write is dropped, never a panic as in `eprintln!`.
pub fn to_stderr(s: &str) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(s.as_bytes());
    let _ = stderr.flush();
}

/// Writes data to stdout, the one place this crate does. A reader that closed the pipe early
/// (`cargo ecs build | head -c0`) is not an error; any other failure (a full disk behind
/// `> file`) is, so a script never takes a missing result for success.
pub fn write_stdout(s: &str) -> miette::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(s.as_bytes()).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(miette::miette!("cannot write to stdout: {e}")),
        Ok(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(diagnostic: &dyn Diagnostic) -> String {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(100)
                .with_links(false);
        let label = |s: Option<Severity>| {
            match s {
                Some(Severity::Warning) => "warning:",
                _ => "error:",
            }
            .to_string()
        };
        error_text(&handler, diagnostic, None, &label)
    }

    #[test]
    fn error_line_says_the_message_not_the_code_and_only_once() {
        let diagnostic = miette::MietteDiagnostic::new("3 problems in the configuration of `svc`")
            .with_code("cargo_ecs::config")
            .with_help("the keys are described in docs/config.md");
        assert_eq!(
            plain(&diagnostic),
            "error: 3 problems in the configuration of `svc`\n  \
             help: the keys are described in docs/config.md\n"
        );
    }

    #[test]
    fn causes_stay_below_the_message() {
        let report = miette::miette!("inner cause").wrap_err("failed to push the image");
        let text = plain(&*report);
        assert!(
            text.starts_with("error: failed to push the image\n"),
            "{text}"
        );
        assert_eq!(text.matches("failed to push").count(), 1, "{text}");
        assert!(text.contains("inner cause"), "{text}");
    }

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("2 problems")]
    #[diagnostic(code(cargo_ecs::config))]
    struct Problems {
        #[source_code]
        manifest: String,
        #[related]
        problems: Vec<Problem>,
    }

    #[derive(Debug, thiserror::Error, miette::Diagnostic)]
    #[error("{what}")]
    #[diagnostic(code(cargo_ecs::config::problem), help("fix {what}"))]
    struct Problem {
        what: &'static str,
        #[label("here")]
        span: (usize, usize),
    }

    #[test]
    fn each_related_problem_is_its_own_error_with_the_parent_source() {
        let text = plain(&Problems {
            manifest: "cpu = 300\nservce = 1\n".into(),
            problems: vec![
                Problem {
                    what: "bad cpu",
                    span: (6, 3),
                },
                Problem {
                    what: "unknown key",
                    span: (10, 6),
                },
            ],
        });
        assert!(!text.contains("cargo_ecs::"), "{text}");
        assert!(text.starts_with("error: 2 problems\n"), "{text}");
        assert!(text.contains("\n\nerror: bad cpu\n"), "{text}");
        assert!(text.contains("\n\nerror: unknown key\n"), "{text}");
        assert!(text.contains("1 │ cpu = 300"), "{text}");
        assert!(text.contains("2 │ servce = 1"), "{text}");
        assert_eq!(
            text.matches("bad cpu").count(),
            2,
            "message and help:\n{text}"
        );
    }
}
