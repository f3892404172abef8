//! The variable contract: one reader of raw values, and the validation of raw arguments into
//! typed settings, reporting every problem at once. Each input's names come from the input
//! table (`crate::inputs`), the only place they are spelled.
//!
//! - `values`: typed parsers of one value (URL, API key, name, package ID/version, bool, list,
//!   regular expression, timeout);
//! - `server`: the servers an action talks to, and the one management-server parse;
//! - one file per action with its `from_args` and its rows of `docs/inputs.md`;
//! - `docs`: renders `docs/inputs.md` from the table.

mod create_space;
mod deploy;
pub mod docs;
mod fleet;
mod fork;
mod merge;
mod serialize;
mod server;
pub(crate) mod values;

pub use create_space::CreateSpaceConfig;
pub use deploy::{DeployConfig, PackageSource, TargetSpace};
pub use fleet::{FleetConfig, RolloutConfig, Waves};
pub use fork::{ForkConfig, RepositoryConfig};
pub use merge::{DownstreamLookup, MergeConfig};
pub use serialize::SerializeConfig;
pub use server::{Management, ServerConfig, WriteBackConfig};

use crate::inputs::*;
use crate::log_format::LogFormat;
use std::fmt;

/// Octofleet.Timeout when unset: generous for a large space on a slow server, yet a hung server
/// fails the step instead of holding the worker.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// The whole action's deadline (Octofleet.Timeout): `90`, `90s`, `10m` or `1h`, more than zero.
pub fn parse_timeout(value: &Option<String>) -> Result<std::time::Duration, ConfigError> {
    let mut reader = Reader::default();
    let timeout = reader.optional_as(TIMEOUT, value, values::timeout);
    reader.finish(|| timeout.unwrap_or(DEFAULT_TIMEOUT))
}

/// What Octofleet.Log.Format is for, in every action's rows of docs/inputs.md.
pub(crate) const LOG_FORMAT_PURPOSE: &str = "`octopus`: the log on stdout with Octopus's levels (warnings as `stdout-warning`, debug as `stdout-verbose`, progress messages), stderr only for the final error; `text`: the log on stderr; default `octopus` inside Calamari (`OctopusCalamariWorkingDirectory` set), else `text`; always `text` with `--output json`; the step templates set `octopus`";

/// Octofleet.Log.Format: `octopus`, `text`, or unset for [`LogFormat::detect`]; with
/// `--output json` stdout is the JSON summary, so the log stays on stderr.
///
/// Read before the log is set up: a warning about an unsubstituted `#{…}` is not seen from this
/// call, so `main` reads it again afterwards (pure but for that warning) for the problems.
pub fn parse_log_format(
    value: &Option<String>,
    output: crate::cli::OutputFormat,
    env: impl Fn(&str) -> Option<String>,
) -> Result<LogFormat, ConfigError> {
    let mut reader = Reader::default();
    let given = reader.optional_as(LOG_FORMAT, value, LogFormat::parse);
    let json = output == crate::cli::OutputFormat::Json;
    if json && given == Some(LogFormat::Octopus) {
        reader.add(
            LOG_FORMAT,
            "`octopus` writes the log on stdout, where --output json writes its summary: use one of them",
        );
    }
    reader.finish(|| match given {
        Some(format) => format,
        None if json => LogFormat::Text,
        None => LogFormat::detect(env),
    })
}

/// What `Octofleet.ReportDir` is for, in every action that writes a report (docs/inputs.md).
pub(crate) const REPORT_DIR_PURPOSE: &str = "under Octopus the step's working directory (default), else none; a directory (created if missing) for `octofleet-<action>-<tenant>.html` and `.json`, the report attached to the Octopus task as artifacts";

/// What `Octofleet.NoReport` is for (docs/inputs.md).
pub(crate) const NO_REPORT_PURPOSE: &str =
    "`False` (default); `True`: write no report (and attach none), e.g. for a frequent drift check of many tenants";

/// Where reports go: none with `Octofleet.NoReport`; else `Octofleet.ReportDir`; else, under
/// Octopus, the step's working directory (named by Calamari's marker variable; Octopus collects
/// artifacts from it); else nowhere.
pub(crate) fn report_dir(
    reader: &mut Reader,
    given: &Option<String>,
    no_report: &Option<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<std::path::PathBuf> {
    let dir = reader.optional(REPORT_DIR, given);
    if reader.flag(NO_REPORT, no_report) {
        if dir.is_some() {
            reader.add(
                NO_REPORT,
                format!(
                    "asks for no report while {} names a directory for one: set one of them",
                    REPORT_DIR.octopus
                ),
            );
        }
        return None;
    }
    dir.or_else(|| env(crate::log_format::CALAMARI_MARKER).filter(|dir| !dir.trim().is_empty()))
        .map(std::path::PathBuf::from)
}

/// The process environment: what [`report_dir`] and the log format's detection read.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One thing wrong with one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The input.
    pub input: Input,
    /// What is wrong with it and what to do, without its value when that may be secret.
    pub problem: String,
}

/// Every problem found in the inputs; the binary exits 2 with all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Every problem, in the order the inputs were read.
    pub problems: Vec<InputProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [problem] = self.problems.as_slice() {
            return write!(f, "invalid input: {}: {}", problem.input, problem.problem);
        }
        write!(f, "invalid input ({} problems):", self.problems.len())?;
        for problem in &self.problems {
            write!(f, "\n  - {}: {}", problem.input, problem.problem)?;
        }
        Ok(())
    }
}

/// The one reader of raw values, collecting every problem while they are validated.
///
/// A value is the flag or env alias (clap has read both), else the dotted Octopus name from the
/// environment. Blank counts as absent: `get_octopusvariable` returns "" for an undefined
/// variable, and the step templates export that. A value still holding `#{…}` was bound to an
/// Octopus variable that is not defined where the step runs: unset (with a warning) for an
/// optional input, a problem for a required one.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    problems: Vec<InputProblem>,
    /// Optional inputs that held a `#{…}` and so count as unset, to name it if one is needed.
    placeholders: Vec<(Input, String)>,
}

/// The value as given, flag or env alias first, then the dotted name; `None` when blank.
fn raw(given: &Option<String>, input: Input, trim: bool) -> Option<String> {
    given
        .clone()
        .or_else(|| std::env::var(input.octopus).ok())
        .map(|value| if trim { value.trim().to_owned() } else { value })
        .filter(|value| !value.trim().is_empty())
}

impl Reader {
    pub fn add(&mut self, input: Input, problem: impl Into<String>) {
        self.problems.push(InputProblem {
            input,
            problem: problem.into(),
        });
    }

    /// The settings, or every problem found.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }

    /// An optional input, trimmed; `#{…}` counts as unset (said in the log).
    pub fn optional(&mut self, input: Input, given: &Option<String>) -> Option<String> {
        let value = raw(given, input, true);
        self.unless_placeholder(value, input)
    }

    /// As [`Reader::optional`], keeping surrounding spaces, which are part of a regular
    /// expression (`^__ ` must not become `^__`). Blank still counts as absent.
    pub fn optional_untrimmed(&mut self, input: Input, given: &Option<String>) -> Option<String> {
        let value = raw(given, input, false);
        self.unless_placeholder(value, input)
    }

    /// An optional input, trimmed, with a `#{…}` kept as [`Given::Unsubstituted`] and nothing
    /// logged: for an input whose `#{…}` matters only in some cases, which the action knows.
    pub fn optional_or_unsubstituted(&mut self, input: Input, given: &Option<String>) -> Given {
        match raw(given, input, true) {
            Some(value) if is_placeholder(&value) => Given::Unsubstituted(value),
            Some(value) => Given::Value(value),
            None => Given::Unset,
        }
    }

    fn unless_placeholder(&mut self, value: Option<String>, input: Input) -> Option<String> {
        if let Some(placeholder) = value.as_deref().filter(|value| is_placeholder(value)) {
            self.placeholders.push((input, placeholder.to_owned()));
        }
        unless_placeholder(value, input)
    }

    /// The `#{…}` an input read with [`Reader::optional`] held, which made it unset.
    pub fn placeholder(&self, input: Input) -> Option<&str> {
        self.placeholders
            .iter()
            .find(|(read, _)| *read == input)
            .map(|(_, placeholder)| placeholder.as_str())
    }

    /// How to say that an input read with [`Reader::optional`] is not there: `missing`, or
    /// the `#{…}` it held, so a problem names the variable to define (as for required inputs).
    pub fn unset(&self, input: Input) -> String {
        match self.placeholder(input) {
            Some(placeholder) => format!(
                "{}, an Octopus variable reference that was never substituted,",
                quoted(placeholder)
            ),
            None => "missing".to_owned(),
        }
    }

    /// A required input: missing or `#{…}` is a problem naming the input.
    pub fn required(&mut self, input: Input, given: &Option<String>) -> Option<String> {
        let value = raw(given, input, true);
        self.present(input, value)
    }

    /// A value read before (or derived) that must be there.
    pub fn present(&mut self, input: Input, value: Option<String>) -> Option<String> {
        // Read before with `optional`, a `#{…}` became `None`: name it all the same.
        let value = value.or_else(|| self.placeholder(input).map(str::to_owned));
        match value {
            Some(value) if is_placeholder(&value) => {
                self.add(input, format!("{value_shown} is an Octopus variable reference that was never substituted: define that variable for this step (tenant, environment or scope) or pass --{}", input.flag, value_shown = quoted(&value)));
                None
            }
            Some(value) => Some(value),
            None => {
                self.add(
                    input,
                    format!(
                        "missing: set the Octopus variable, export {} or pass --{}",
                        input.env, input.flag
                    ),
                );
                None
            }
        }
    }

    /// Parse a value that was read; a parser's complaint becomes the input's problem.
    pub fn check<T>(
        &mut self,
        input: Input,
        value: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(&value?) {
            Ok(parsed) => Some(parsed),
            Err(problem) => {
                self.add(input, problem);
                None
            }
        }
    }

    pub fn optional_as<T>(
        &mut self,
        input: Input,
        given: &Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.optional(input, given);
        self.check(input, value, parse)
    }

    pub fn required_as<T>(
        &mut self,
        input: Input,
        given: &Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.required(input, given);
        self.check(input, value, parse)
    }

    /// A yes/no input; unset is no.
    pub fn flag(&mut self, input: Input, given: &Option<String>) -> bool {
        self.optional_as(input, given, values::boolean)
            .unwrap_or(false)
    }
}

/// An input that may hold an unsubstituted `#{…}` (see [`Reader::optional_or_unsubstituted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Given {
    Unset,
    Value(String),
    /// The `#{…}` as written.
    Unsubstituted(String),
}

fn unless_placeholder(value: Option<String>, input: Input) -> Option<String> {
    match value {
        Some(value) if is_placeholder(&value) => {
            tracing::warn!("{input} is {value_shown}, an Octopus variable reference that was never substituted; treating it as unset", value_shown = quoted(&value));
            None
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_seconds_or_a_unit() {
        use std::time::Duration;
        let parse = |text: &str| parse_timeout(&Some(text.to_owned()));
        assert_eq!(parse("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(
            parse("#{Octofleet.Timeout}").unwrap(),
            DEFAULT_TIMEOUT,
            "an undefined variable falls back to the default"
        );
        for bad in [
            "0",
            "-5",
            "ten",
            "10x",
            "1.5m",
            "99999999999999999999",
            "8d",
            "200h",
        ] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.problems.len(), 1, "{bad}");
            assert!(error.to_string().contains("Octofleet.Timeout"), "{error}");
        }
    }

    #[test]
    fn regex_inputs_keep_their_spaces_and_lists_ignore_placeholders() {
        let mut reader = Reader::default();
        assert_eq!(
            reader
                .optional_untrimmed(EXCLUDE_RUNBOOKS, &Some("^__ ".into()))
                .as_deref(),
            Some("^__ ")
        );
        assert_eq!(
            reader.optional_untrimmed(EXCLUDE_RUNBOOKS, &Some("  ".into())),
            None
        );
        let sets = values::list(
            reader.optional(
                EXCLUDE_LIBRARY_VARIABLE_SETS,
                &Some("#{Excluded.Sets}".into()),
            ),
            &["Export Options"],
        );
        assert_eq!(
            sets,
            ["Export Options"],
            "an undefined variable falls back to the default"
        );
        assert!(values::list(Some("-".into()), &["Export Options"]).is_empty());
        assert!(reader.finish(|| ()).is_ok());
    }

    #[test]
    fn placeholders_and_blanks() {
        assert!(is_placeholder("#{ManagedTenant.Octopus.SpaceId}"));
        assert!(!is_placeholder("Spaces-1"));
        let mut reader = Reader::default();
        assert_eq!(reader.optional(TENANT_URL, &Some("  ".into())), None);
        let server_url = |text: &str| values::http_url(text, &values::SERVER_URL);
        assert!(reader
            .required_as(
                TENANT_URL,
                &Some("#{ManagedTenant.Octopus.Url}".into()),
                server_url
            )
            .is_none());
        assert!(reader
            .required_as(
                TENANT_API_KEY,
                &Some("api-lowercase".into()),
                values::api_key
            )
            .is_none());
        assert!(reader
            .required_as(TENANT_URL, &Some("ftp://x".into()), server_url)
            .is_none());
        let error = reader.finish(|| ()).unwrap_err();
        assert_eq!(error.problems.len(), 3);
        assert!(!error.to_string().contains("api-lowercase"));
    }
}
