//! Where the log goes and how its levels reach the reader: `text` (stderr, one line per event,
//! as a terminal or a CI log wants it) or `octopus` (stdout, with the levels as Octopus service
//! messages).
//!
//! Why Octopus needs its own format: Calamari logs **every stderr line of a script at Error**
//! (`LogCommandInvocationOutputSink.WriteError` → `log.Error`; Octopus's docs: `>&2 echo` "will be
//! logged as an Error"), so a successful step that logs its progress on stderr shows red lines,
//! and with `Octopus.Action.FailScriptOnErrorOutput = True` it fails. Under `octopus`:
//!
//! - INFO is a plain stdout line;
//! - WARN is `##octopus[stdout-warning]`, the text, `##octopus[stdout-default]`;
//! - DEBUG and TRACE are the same with `stdout-verbose`, ERROR with `stdout-error`;
//! - [`progress`] prints `##octopus[progress percentage='…' message='…']` (nothing in `text`);
//! - stderr is left to the final error, which `main` prints once (with its `resultMessage`).
//!
//! Every log line printed on stdout is neutralized first: Calamari's parser takes `##octopus`
//! anywhere in a stdout line as the start of a service message (and keeps reading lines until a
//! `]`), so a name in a package or a server's error text must not be able to set a variable or
//! swallow the log.

use crate::service_messages::{emit, ServiceMessage, StdoutLevel};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Where the log goes (`Octofleet.Log.Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// The log on stderr, one line per event with its level.
    #[default]
    Text,
    /// The log on stdout with Octopus's levels; stderr only for the final error.
    Octopus,
}

impl LogFormat {
    /// `text` or `octopus`, in any case.
    pub fn parse(text: &str) -> Result<LogFormat, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "octopus" => Ok(LogFormat::Octopus),
            _ => Err(format!(
                "{} is not a log format: give `octopus` (inside an Octopus step) or `text`",
                crate::inputs::quoted(text)
            )),
        }
    }

    /// `text` or `octopus`, as the input takes it.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Octopus => "octopus",
        }
    }

    /// The format when none is given: `octopus` when Calamari runs us, else `text`.
    ///
    /// Calamari sets the environment variable `OctopusCalamariWorkingDirectory` in its own
    /// process when it starts, before it runs any command, and every script it runs inherits
    /// it (OctopusDeploy/Calamari `source/Calamari.Common/CalamariFlavourProgram.cs` and
    /// `CalamariFlavourProgramAsync.cs`, `EnvironmentHelper.SetEnvironmentVariable(
    /// "OctopusCalamariWorkingDirectory", Environment.CurrentDirectory)`; tested by
    /// `Calamari.Tests/Fixtures/ProgramFixture.cs`
    /// `OctopusCalamariWorkingDirectoryEnvironmentVariableIsSet`; Calamari's own
    /// `AzureContext.sh` reads it from a script). Octopus variables, by contrast, are not in the
    /// environment at all, so this is the one signal a binary started from a step script has.
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> LogFormat {
        match env(CALAMARI_MARKER) {
            Some(value) if !value.trim().is_empty() => LogFormat::Octopus,
            _ => LogFormat::Text,
        }
    }
}

/// The environment variable Calamari sets for every script it runs (see [`LogFormat::detect`]).
pub const CALAMARI_MARKER: &str = "OctopusCalamariWorkingDirectory";

static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The format the log was set up with (`text` before [`init`]).
pub fn current() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Set up the log: `filter` is an `EnvFilter` (`info`, `octofleet=debug`, ...).
pub fn init(filter: &str, format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            // Octopus task logs show escape codes as text: colour only for a person at a
            // terminal.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .without_time()
            .init(),
        LogFormat::Octopus => tracing_subscriber::registry()
            .with(filter)
            .with(OctopusLayer)
            .init(),
    }
}

/// How far a long action is, for Octopus's task progress: `##octopus[progress …]` under the
/// `octopus` format, nothing under `text` (the log lines say the same).
pub fn progress(percentage: u8, message: &str) {
    if current() == LogFormat::Octopus {
        // The message is base64 in the attribute: nothing in it can break out.
        emit(&[ServiceMessage::progress(percentage, message)]);
    }
}

/// A warning Octopus shows highlighted in the task log: `stdout-warning`, the text, `stdout-default`.
///
/// For a warning also logged with `tracing::warn!`: under `--log-format octopus` the log already
/// prints this block, so only the `text` format (log on stderr) prints it here.
pub fn emit_warning(text: &str) {
    if current() == LogFormat::Octopus {
        return;
    }
    let text = neutralize(text);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(
        out,
        "{}\n{text}\n{}",
        ServiceMessage::stdout_level(StdoutLevel::Warning).render(),
        ServiceMessage::stdout_level(StdoutLevel::Default).render()
    );
    let _ = out.flush();
}

/// Break every `##octopus` (any case) so Calamari does not take the line for a service message.
pub fn neutralize(text: &str) -> String {
    const MARKER: &str = "##octopus";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_ignoring_ascii_case(rest, MARKER) {
        out.push_str(&rest[..at]);
        // "#", a word joiner (invisible), then the rest: Calamari's parser needs "##octopus"
        // exactly, and the line still reads the same.
        out.push('#');
        out.push('\u{2060}');
        out.push_str(&rest[at + 1..at + MARKER.len()]);
        rest = &rest[at + MARKER.len()..];
    }
    out.push_str(rest);
    out
}

fn find_ignoring_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The stdout lines of one event: the text, wrapped in level messages unless it is INFO.
pub fn render(level: Level, text: &str) -> String {
    let text = neutralize(text);
    let wrap = match level {
        Level::INFO => None,
        Level::WARN => Some(StdoutLevel::Warning),
        Level::ERROR => Some(StdoutLevel::Error),
        _ => Some(StdoutLevel::Verbose),
    };
    match wrap {
        None => format!("{text}\n"),
        Some(level) => format!(
            "{}\n{text}\n{}\n",
            ServiceMessage::stdout_level(level).render(),
            ServiceMessage::stdout_level(StdoutLevel::Default).render()
        ),
    }
}

/// The `octopus` format: each event rendered by [`render`] on stdout, one write per event.
struct OctopusLayer;

impl<S: Subscriber> Layer<S> for OctopusLayer {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let mut visitor = Line::default();
        event.record(&mut visitor);
        let block = render(*event.metadata().level(), &visitor.text());
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        // A closed stdout must not turn a finished action into a failure.
        let _ = out.write_all(block.as_bytes());
        let _ = out.flush();
    }
}

/// The message, then each other field as ` key=value`, as the text format shows them.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn text(self) -> String {
        self.message + &self.fields
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_become_octopus_blocks() {
        assert_eq!(render(Level::INFO, "created project"), "created project\n");
        assert_eq!(
            render(Level::WARN, "careful"),
            "##octopus[stdout-warning]\ncareful\n##octopus[stdout-default]\n"
        );
        assert_eq!(
            render(Level::DEBUG, "GET /api"),
            "##octopus[stdout-verbose]\nGET /api\n##octopus[stdout-default]\n"
        );
        assert_eq!(
            render(Level::ERROR, "odd"),
            "##octopus[stdout-error]\nodd\n##octopus[stdout-default]\n"
        );
    }

    /// A value from a package or a server cannot become a service message, in any case.
    #[test]
    fn service_messages_in_logged_text_are_neutralized() {
        for hostile in [
            "project ##octopus[setVariable name='U3BhY2VJZA==' value='eA==']",
            "##OCTOPUS[stdout-ignore]",
            "a ##octopus without a bracket",
        ] {
            let line = render(Level::INFO, hostile);
            assert!(!line.to_ascii_lowercase().contains("##octopus"), "{line}");
            assert!(crate::service_messages::parse(&line).is_none(), "{line}");
        }
        assert_eq!(neutralize("no marker # here"), "no marker # here");
        assert_eq!(neutralize("##octopus").replace('\u{2060}', ""), "##octopus");
    }

    #[test]
    fn formats_parse_and_detect() {
        assert_eq!(LogFormat::parse("Octopus"), Ok(LogFormat::Octopus));
        assert_eq!(LogFormat::parse(" text "), Ok(LogFormat::Text));
        assert!(LogFormat::parse("json").unwrap_err().contains("`json`"));
        let calamari = |name: &str| (name == CALAMARI_MARKER).then(|| "/work/1".to_owned());
        assert_eq!(LogFormat::detect(calamari), LogFormat::Octopus);
        assert_eq!(LogFormat::detect(|_| None), LogFormat::Text);
        assert_eq!(LogFormat::detect(|_| Some(" ".into())), LogFormat::Text);
    }
}
