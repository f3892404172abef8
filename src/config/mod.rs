//! The variable contract: each input's Octopus name, environment alias and flag (the table below
//! is the only place they are spelled), one reader of raw values, and the validation of raw
//! arguments into typed settings, reporting every problem at once.
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
pub mod values;

pub use crate::log_format::LogFormat;
pub use create_space::CreateSpaceConfig;
pub use deploy::{DeployConfig, PackageSource, TargetSpace};
pub use fleet::{FleetConfig, RolloutConfig, Waves};
pub use fork::{ForkConfig, RepositoryConfig};
pub use merge::{DownstreamLookup, MergeConfig};
pub use serialize::SerializeConfig;
pub use server::{Management, ServerConfig, WriteBackConfig};
pub use values::quoted;

use std::fmt;

/// One input: how Octopus, the environment and the command line each name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    pub octopus: &'static str,
    pub env: &'static str,
    pub flag: &'static str,
}

macro_rules! inputs {
    ($($const_name:ident = $octopus:literal, $env:literal, $flag:literal;)*) => {
        $(pub const $const_name: Input = Input { octopus: $octopus, env: $env, flag: $flag };)*
        /// Every input, for the consistency tests, `--help` and `docs/inputs.md`.
        pub const ALL_INPUTS: &[Input] = &[$($const_name),*];
    };
}

inputs! {
    TENANT_URL = "ManagedTenant.Octopus.Url", "MANAGEDTENANT_OCTOPUS_URL", "url";
    TENANT_API_KEY = "ManagedTenant.Octopus.ApiKey", "MANAGEDTENANT_OCTOPUS_APIKEY", "api-key";
    CA_CERTIFICATE = "Octofleet.CaCertificateFile", "OCTOFLEET_CACERTIFICATEFILE", "ca-certificate";
    MANAGEMENT_URL = "Management.Octopus.Url", "MANAGEMENT_OCTOPUS_URL", "management-url";
    SERVER_URI = "Octopus.Web.ServerUri", "OCTOPUS_WEB_SERVERURI", "server-uri";
    MANAGEMENT_API_KEY = "Management.Octopus.ApiKey", "MANAGEMENT_OCTOPUS_APIKEY", "management-api-key";
    MANAGEMENT_SPACE = "Management.Octopus.SpaceId", "MANAGEMENT_OCTOPUS_SPACEID", "management-space-id";
    SPACE_ID = "Octopus.Space.Id", "OCTOPUS_SPACE_ID", "space-id";
    TENANT_ID = "Octopus.Deployment.Tenant.Id", "OCTOPUS_DEPLOYMENT_TENANT_ID", "tenant-id";
    TENANT_NAME = "Octopus.Deployment.Tenant.Name", "OCTOPUS_DEPLOYMENT_TENANT_NAME", "tenant-name";
    SPACE_NAME = "Octofleet.Space.Name", "OCTOFLEET_SPACE_NAME", "space-name";
    SPACE_MANAGERS = "Octofleet.Space.Managers", "OCTOFLEET_SPACE_MANAGERS", "space-managers";
    BLUEPRINT = "Octofleet.Blueprint", "OCTOFLEET_BLUEPRINT", "blueprint";
    GIT_USERNAME = "Git.Credentials.Username", "GIT_CREDENTIALS_USERNAME", "git-username";
    GIT_PASSWORD = "Git.Credentials.Password", "GIT_CREDENTIALS_PASSWORD", "git-password";
    PROJECT_NAME = "Octopus.Project.Name", "OCTOPUS_PROJECT_NAME", "project-name";
    EXCLUDE_LIBRARY_VARIABLE_SETS = "Octofleet.Exclude.LibraryVariableSets", "OCTOFLEET_EXCLUDE_LIBRARYVARIABLESETS", "exclude-library-variable-sets";
    EXCLUDE_VARIABLE_ENVIRONMENTS = "Octofleet.Exclude.VariableEnvironmentScopes", "OCTOFLEET_EXCLUDE_VARIABLEENVIRONMENTSCOPES", "exclude-variable-environment-scopes";
    EXCLUDE_RUNBOOKS = "Octofleet.Exclude.Runbooks", "OCTOFLEET_EXCLUDE_RUNBOOKS", "exclude-runbooks";
    EXCLUDE_VARIABLES = "Octofleet.Exclude.Variables", "OCTOFLEET_EXCLUDE_VARIABLES", "exclude-variables";
    INCLUDE_CAC_VALUES = "Octofleet.IncludeCacValues", "OCTOFLEET_INCLUDECACVALUES", "include-cac-values";
    ALLOW_AMBIGUOUS_SECRETS = "Octofleet.AllowAmbiguousSecrets", "OCTOFLEET_ALLOWAMBIGUOUSSECRETS", "allow-ambiguous-secrets";
    TERRAFORM_BACKEND = "Octofleet.Terraform.Backend", "OCTOFLEET_TERRAFORM_BACKEND", "terraform-backend";
    PACKAGE_ID = "Octofleet.Package.Id", "OCTOFLEET_PACKAGE_ID", "package-id";
    PACKAGE_VERSION = "Octofleet.Package.Version", "OCTOFLEET_PACKAGE_VERSION", "package-version";
    UPLOAD_SPACE = "Octofleet.Package.UploadSpace", "OCTOFLEET_PACKAGE_UPLOADSPACE", "upload-space";
    OVERWRITE_MODE = "Octofleet.Package.OverwriteMode", "OCTOFLEET_PACKAGE_OVERWRITEMODE", "overwrite-mode";
    OUTPUT_DIR = "Octofleet.OutputDir", "OCTOFLEET_OUTPUTDIR", "output-dir";
    NO_PUSH = "Octofleet.NoPush", "OCTOFLEET_NOPUSH", "no-push";
    MANAGED_SPACE_ID = "ManagedTenant.Octopus.SpaceId", "MANAGEDTENANT_OCTOPUS_SPACEID", "managed-space-id";
    PACKAGE_DIR = "Octofleet.Package.Dir", "OCTOFLEET_PACKAGE_DIR", "package-dir";
    GIT_URL = "Octofleet.Git.Url", "OCTOFLEET_GIT_URL", "git-url";
    OVERWRITE_VARIABLES = "Octofleet.OverwriteVariables", "OCTOFLEET_OVERWRITEVARIABLES", "overwrite-variables";
    DRY_RUN = "Octofleet.DryRun", "OCTOFLEET_DRYRUN", "dry-run";
    GIT_PLATFORM = "Git.Platform", "GIT_PLATFORM", "git-platform";
    GIT_PROTOCOL = "Git.Url.Protocol", "GIT_URL_PROTOCOL", "git-protocol";
    GIT_HOST = "Git.Url.Host", "GIT_URL_HOST", "git-host";
    GIT_ORGANIZATION = "Git.Url.Organization", "GIT_URL_ORGANIZATION", "git-organization";
    GIT_TEMPLATE = "Git.Url.Template", "GIT_URL_TEMPLATE", "git-template";
    GIT_NEW_REPO = "Git.Url.NewRepo", "GIT_URL_NEWREPO", "git-new-repo";
    GIT_UPSTREAM = "Git.Url.Upstream", "GIT_URL_UPSTREAM", "git-upstream";
    GIT_UPSTREAM_USERNAME = "Git.Upstream.Credentials.Username", "GIT_UPSTREAM_CREDENTIALS_USERNAME", "git-upstream-username";
    GIT_UPSTREAM_PASSWORD = "Git.Upstream.Credentials.Password", "GIT_UPSTREAM_CREDENTIALS_PASSWORD", "git-upstream-password";
    GIT_MAIN_LINE = "Git.Branch.MainLine", "GIT_BRANCH_MAINLINE", "git-main-line";
    EXPORTED_PROJECT_NAME = "Exported.Project.Name", "EXPORTED_PROJECT_NAME", "exported-project-name";
    FORK_ALL_BRANCHES = "Octofleet.Fork.AllBranches", "OCTOFLEET_FORK_ALLBRANCHES", "all-branches";
    FORK_FORCE = "Octofleet.Fork.Force", "OCTOFLEET_FORK_FORCE", "force";
    GIT_AUTHOR = "Octofleet.Git.Author", "OCTOFLEET_GIT_AUTHOR", "git-author";
    MERGE_CHECK = "Octofleet.Merge.Check", "OCTOFLEET_MERGE_CHECK", "check";
    REPORT_DIR = "Octofleet.ReportDir", "OCTOFLEET_REPORTDIR", "report-dir";
    NO_REPORT = "Octofleet.NoReport", "OCTOFLEET_NOREPORT", "no-report";
    GIT_CACHE_DIR = "Octofleet.Git.CacheDir", "OCTOFLEET_GIT_CACHEDIR", "git-cache-dir";
    TIMEOUT = "Octofleet.Timeout", "OCTOFLEET_TIMEOUT", "timeout";
    LOG_FORMAT = "Octofleet.Log.Format", "OCTOFLEET_LOG_FORMAT", "log-format";
    TENANT_TAGS = "Octofleet.TenantTags", "OCTOFLEET_TENANTTAGS", "tenant-tags";
    FAIL_ON_ATTENTION = "Octofleet.FailOnAttention", "OCTOFLEET_FAILONATTENTION", "fail-on-attention";
    ROLLOUT_RUNBOOK = "Octofleet.Rollout.Runbook", "OCTOFLEET_ROLLOUT_RUNBOOK", "runbook";
    ROLLOUT_ENVIRONMENT = "Octofleet.Rollout.Environment", "OCTOFLEET_ROLLOUT_ENVIRONMENT", "environment";
    ROLLOUT_WAVES = "Octofleet.Rollout.Waves", "OCTOFLEET_ROLLOUT_WAVES", "waves";
    ROLLOUT_BATCH_SIZE = "Octofleet.Rollout.BatchSize", "OCTOFLEET_ROLLOUT_BATCHSIZE", "batch-size";
    ROLLOUT_MAX_FAILURES = "Octofleet.Rollout.MaxFailures", "OCTOFLEET_ROLLOUT_MAXFAILURES", "max-failures";
    ROLLOUT_CANCEL_ON_TIMEOUT = "Octofleet.Rollout.CancelOnTimeout", "OCTOFLEET_ROLLOUT_CANCELONTIMEOUT", "cancel-on-timeout";
}

impl Input {
    /// The environment alias rule: upper case, `.` → `_`.
    pub fn alias_of(octopus_name: &str) -> String {
        octopus_name.to_ascii_uppercase().replace('.', "_")
    }

    /// The input whose environment alias this is.
    pub fn by_env(env: &str) -> Option<Input> {
        ALL_INPUTS.iter().copied().find(|input| input.env == env)
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (env {}, flag --{})",
            self.octopus, self.env, self.flag
        )
    }
}

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
pub const LOG_FORMAT_PURPOSE: &str = "`octopus`: the log on stdout with Octopus's levels (warnings as `stdout-warning`, debug as `stdout-verbose`, progress messages), stderr only for the final error; `text`: the log on stderr; default `octopus` inside Calamari (`OctopusCalamariWorkingDirectory` set), else `text`; always `text` with `--output json`; the step templates set `octopus`";

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
pub const REPORT_DIR_PURPOSE: &str = "under Octopus the step's working directory (default), else none; a directory (created if missing) for `octofleet-<action>-<tenant>.html` and `.json`, the report attached to the Octopus task as artifacts";

/// What `Octofleet.NoReport` is for (docs/inputs.md).
pub const NO_REPORT_PURPOSE: &str =
    "`False` (default); `True`: write no report (and attach none), e.g. for a frequent drift check of many tenants";

/// Where reports go: none with `Octofleet.NoReport`; else `Octofleet.ReportDir`; else, under
/// Octopus, the step's working directory (named by Calamari's marker variable; Octopus collects
/// artifacts from it); else nowhere.
pub fn report_dir(
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
    pub input: Input,
    pub problem: String,
}

/// Every problem found in the inputs; the binary exits 2 with all of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
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
pub struct Reader {
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

/// `#{Name}` left as it was: the Octopus variable it names was not defined where the step ran.
pub fn is_placeholder(value: &str) -> bool {
    value.starts_with("#{") && value.ends_with('}')
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
pub enum Given {
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
    use crate::cli::command;

    #[test]
    fn aliases_follow_the_rule() {
        for input in ALL_INPUTS {
            assert_eq!(input.env, Input::alias_of(input.octopus), "{input}");
        }
    }

    /// Every flag with an environment alias is in the table, with the same alias, and its help
    /// names the Octopus variable; so `--help`, errors and docs/inputs.md agree.
    #[test]
    fn clap_arguments_match_the_input_table() {
        let command = command();
        let mut seen = Vec::new();
        // Global arguments (Octofleet.Timeout) live on the top-level command.
        for subcommand in std::iter::once(&command).chain(command.get_subcommands()) {
            for argument in subcommand.get_arguments() {
                let (Some(env), Some(long)) = (argument.get_env(), argument.get_long()) else {
                    continue;
                };
                let env = env.to_str().unwrap();
                if env.starts_with("OCTOFLEET_") && (long == "output" || long == "log") {
                    continue;
                }
                let input = Input::by_env(env)
                    .unwrap_or_else(|| panic!("--{long} ({env}) is not in the input table"));
                assert_eq!(input.flag, long, "{input}");
                let help = argument.get_help().unwrap().to_string();
                assert!(
                    help.contains(&format!("[Octopus: {}]", input.octopus)),
                    "{help}"
                );
                seen.push(input.octopus);
            }
        }
        for input in ALL_INPUTS {
            assert!(seen.contains(&input.octopus), "{input} has no flag");
        }
    }

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
