//! The variable contract: each input's Octopus name, environment alias and flag, and the
//! validation of raw arguments into typed settings, reporting every problem at once.

use crate::blueprint::{Blueprint, BlueprintSource};
use crate::cli::{CreateSpaceArgs, ManagementArgs, TargetArgs};
use crate::secret::Secret;
use std::fmt;
use std::path::PathBuf;
use url::Url;

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
        /// Every input, for the consistency test and the README table.
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
    TIMEOUT = "Octofleet.Timeout", "OCTOFLEET_TIMEOUT", "timeout";
}

/// Octofleet.Timeout when unset: generous for a large space on a slow server, yet a hung server
/// fails the step instead of holding the worker.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// The whole action's deadline (Octofleet.Timeout): `90`, `90s`, `10m` or `1h`, more than zero.
pub fn parse_timeout(value: &Option<String>) -> Result<std::time::Duration, ConfigError> {
    let mut problems = Problems::default();
    let mut timeout = DEFAULT_TIMEOUT;
    if let Some(text) = optional(raw(value, TIMEOUT), TIMEOUT) {
        let (number, unit) = text.split_at(
            text.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len()),
        );
        let unit_seconds = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "s" => Some(1),
            "m" => Some(60),
            "h" => Some(3600),
            _ => None,
        };
        // Up to a week: beyond that it is a typo, and tokio's timer has a ceiling anyway.
        let seconds = number
            .parse::<u64>()
            .ok()
            .zip(unit_seconds)
            .and_then(|(number, unit)| number.checked_mul(unit))
            .filter(|seconds| (1..=7 * 24 * 3600).contains(seconds));
        match seconds {
            Some(seconds) => timeout = std::time::Duration::from_secs(seconds),
            None => problems.add(
                TIMEOUT,
                format!(
                    "`{}` is not a duration of at most a week: give seconds or a number with s, m or h, more than zero (90, 90s, 10m, 1h)",
                    crate::octopus::error::truncate(&text, 40)
                ),
            ),
        }
    }
    problems.finish(|| timeout)
}

impl Input {
    /// The environment alias rule: upper case, `.` → `_`.
    pub fn alias_of(octopus_name: &str) -> String {
        octopus_name.to_ascii_uppercase().replace('.', "_")
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

/// Collects problems while raw values are validated.
#[derive(Default)]
pub struct Problems(Vec<InputProblem>);

impl Problems {
    pub fn add(&mut self, input: Input, problem: impl Into<String>) {
        self.0.push(InputProblem {
            input,
            problem: problem.into(),
        });
    }

    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ConfigError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(ConfigError { problems: self.0 })
        }
    }
}

/// The value of an input: the flag or env alias (clap has read both), else the dotted Octopus
/// name from the environment. Blank counts as absent: `get_octopusvariable` returns "" for an
/// undefined variable, and the step templates export that.
pub fn raw(value: &Option<String>, input: Input) -> Option<String> {
    value
        .clone()
        .or_else(|| std::env::var(input.octopus).ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// As [`raw`], but keeping surrounding spaces, which are part of a regular expression
/// (`^__ ` must not become `^__`). Blank still counts as absent.
pub fn raw_untrimmed(value: &Option<String>, input: Input) -> Option<String> {
    value
        .clone()
        .or_else(|| std::env::var(input.octopus).ok())
        .filter(|value| !value.trim().is_empty())
}

/// `#{Name}` left as it was: the Octopus variable it names was not defined where the step ran.
pub fn is_placeholder(value: &str) -> bool {
    value.starts_with("#{") && value.ends_with('}')
}

/// An optional input still holding `#{...}` was bound to an Octopus variable that is not defined
/// where the step runs: it counts as unset (said in the log), never as a literal value.
pub fn optional(value: Option<String>, input: Input) -> Option<String> {
    match value {
        Some(value) if is_placeholder(&value) => {
            tracing::warn!("{input} is {value_shown}, an Octopus variable reference that was never substituted; treating it as unset", value_shown = quoted(&value));
            None
        }
        other => other,
    }
}

fn required(value: Option<String>, input: Input, problems: &mut Problems) -> Option<String> {
    match value {
        Some(value) if is_placeholder(&value) => {
            problems.add(
                input,
                format!("{value_shown} is an Octopus variable reference that was never substituted: define that variable for this step (tenant, environment or scope) or pass --{}", input.flag, value_shown = quoted(&value)),
            );
            None
        }
        Some(value) => Some(value),
        None => {
            problems.add(
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

fn parse_url(value: Option<String>, input: Input, problems: &mut Problems) -> Option<Url> {
    let value = required(value, input, problems)?;
    // Never echo the value as given: it may carry a password.
    let shown = quoted(&crate::origin::display_text(&value));
    match Url::parse(&value) {
        Ok(url) if crate::origin::has_userinfo(&url) => {
            problems.add(input, format!("{shown} has a user name or password in it, which would be sent and shown wherever the URL goes: give the server's address alone; the API key is the credential"));
            None
        }
        Ok(url) if (url.scheme() == "http" || url.scheme() == "https") && url.host().is_some() => {
            Some(url)
        }
        Ok(_) => {
            problems.add(input, format!("{shown} is not an http(s) URL: use the server's address, e.g. https://octopus.example.com/"));
            None
        }
        Err(error) => {
            problems.add(input, format!("{shown} is not a valid URL ({error}): use the server's address, e.g. https://octopus.example.com/"));
            None
        }
    }
}

/// Longest part of an input's value repeated in an error.
const SHOWN_VALUE_LIMIT: usize = 120;

/// A value for an error message: in backticks, cut to a readable length (a 1 MiB value must
/// not become a 1 MiB message), with control characters escaped so it cannot forge log lines.
pub fn quoted(value: &str) -> String {
    let mut shown: String = value
        .chars()
        .take(SHOWN_VALUE_LIMIT)
        .flat_map(char::escape_debug)
        .collect();
    let total = value.chars().count();
    if total > SHOWN_VALUE_LIMIT {
        shown.push_str(&format!(
            "… ({} more characters)",
            total - SHOWN_VALUE_LIMIT
        ));
    }
    format!("`{shown}`")
}

/// Octopus API keys are `API-` followed by upper-case letters and digits; the Go client (and so the
/// Terraform provider) refuses anything else before sending it, and so do we. The value itself is
/// never repeated in the message.
fn parse_api_key(value: Option<String>, input: Input, problems: &mut Problems) -> Option<Secret> {
    let value = required(value, input, problems)?;
    let valid = value.strip_prefix("API-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    });
    if valid {
        Some(Secret::new(value))
    } else {
        problems.add(input, "is not an Octopus API key: it must look like API-XXXXXXXX (upper-case letters and digits); create one under your profile's API keys");
        None
    }
}

/// A server to talk to.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub url: Url,
    pub api_key: Secret,
    pub ca_file: Option<PathBuf>,
}

fn parse_ca_file(value: &Option<String>, problems: &mut Problems) -> Option<PathBuf> {
    let path = PathBuf::from(optional(raw(value, CA_CERTIFICATE), CA_CERTIFICATE)?);
    if !path.is_file() {
        problems.add(
            CA_CERTIFICATE,
            format!(
                "{} is not a readable file: give the path of a PEM certificate",
                path.display()
            ),
        );
    }
    Some(path)
}

pub fn parse_target(args: &TargetArgs, problems: &mut Problems) -> Option<ServerConfig> {
    let url = parse_url(raw(&args.url, TENANT_URL), TENANT_URL, problems);
    let api_key = parse_api_key(raw(&args.api_key, TENANT_API_KEY), TENANT_API_KEY, problems);
    let ca_file = parse_ca_file(&args.ca_certificate, problems);
    Some(ServerConfig {
        url: url?,
        api_key: api_key?,
        ca_file,
    })
}

/// Where and for whom to write the space ID back on the management instance.
#[derive(Debug, Clone)]
pub struct WriteBackConfig {
    pub server: ServerConfig,
    /// A space ID (`Spaces-1`) or a space name.
    pub space: String,
    pub tenant_id: String,
}

/// The management server's URL: `Management.Octopus.Url`, else `Octopus.Web.ServerUri`.
fn management_url(
    explicit: Option<String>,
    server_uri: &Option<String>,
    problems: &mut Problems,
) -> Option<Url> {
    let input = if explicit.is_some() {
        MANAGEMENT_URL
    } else {
        SERVER_URI
    };
    parse_url(
        explicit.or_else(|| raw(server_uri, SERVER_URI)),
        input,
        problems,
    )
}

/// The management space: `Management.Octopus.SpaceId`, else `Octopus.Space.Id` (an ID or a name).
fn management_space(
    explicit: Option<String>,
    space_id: &Option<String>,
    problems: &mut Problems,
) -> Option<String> {
    let input = if explicit.is_some() {
        MANAGEMENT_SPACE
    } else {
        SPACE_ID
    };
    required(
        explicit.or_else(|| raw(space_id, SPACE_ID)),
        input,
        problems,
    )
}

/// Management inputs are optional as a whole: none given means no write-back. Given in part,
/// the missing ones are reported (a half-configured write-back is a mistake, not a choice).
pub fn parse_management(
    args: &ManagementArgs,
    ca_file: Option<PathBuf>,
    problems: &mut Problems,
) -> Option<WriteBackConfig> {
    let api_key = optional(
        raw(&args.server.management_api_key, MANAGEMENT_API_KEY),
        MANAGEMENT_API_KEY,
    );
    let tenant_id = raw(&args.tenant_id, TENANT_ID);
    let explicit_url = optional(
        raw(&args.server.management_url, MANAGEMENT_URL),
        MANAGEMENT_URL,
    );
    let explicit_space = optional(
        raw(&args.server.management_space_id, MANAGEMENT_SPACE),
        MANAGEMENT_SPACE,
    );
    if api_key.is_none() && explicit_url.is_none() && explicit_space.is_none() {
        return None;
    }
    let url = management_url(explicit_url, &args.server.server_uri, problems);
    let api_key = parse_api_key(api_key, MANAGEMENT_API_KEY, problems);
    let space = management_space(explicit_space, &args.server.space_id, problems);
    let tenant_id = required(tenant_id, TENANT_ID, problems);
    Some(WriteBackConfig {
        server: ServerConfig {
            url: url?,
            api_key: api_key?,
            ca_file,
        },
        space: space?,
        tenant_id: tenant_id?,
    })
}

/// Octopus checkboxes send "True"/"False"; people type the rest.
fn parse_bool(value: Option<String>, input: Input, problems: &mut Problems) -> bool {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "no" | "0" | "off") => false,
        Some("true" | "yes" | "1" | "on") => true,
        Some(other) => {
            problems.add(
                input,
                format!(
                    "{other_shown} is not a yes/no value: use True or False",
                    other_shown = quoted(other)
                ),
            );
            false
        }
    }
}

/// A comma-separated list with a default; `-` means none.
fn parse_list(value: Option<String>, default: &[&str]) -> Vec<String> {
    match value.as_deref() {
        None => default.iter().map(|item| item.to_string()).collect(),
        Some("-") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    }
}

/// A regular expression with a default; `-` means none.
fn parse_regex(
    value: Option<String>,
    default: Option<&str>,
    input: Input,
    problems: &mut Problems,
) -> Option<regex::Regex> {
    let pattern = match value.as_deref() {
        Some("-") => return None,
        Some(pattern) => pattern.to_owned(),
        None => default?.to_owned(),
    };
    match regex::Regex::new(&pattern) {
        Ok(regex) => Some(regex),
        Err(error) => {
            let reason = error
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned();
            problems.add(
                input,
                format!(
                    "{pattern_shown} is not a valid regular expression ({reason})",
                    pattern_shown = quoted(&pattern)
                ),
            );
            None
        }
    }
}

/// Backends Terraform itself ships (`backend "<type>" {}`).
const TERRAFORM_BACKENDS: &[&str] = &[
    "azurerm",
    "consul",
    "cos",
    "gcs",
    "http",
    "kubernetes",
    "local",
    "oci",
    "oss",
    "pg",
    "remote",
    "s3",
];

/// A package ID as the built-in feed takes it: it becomes a path segment of feed requests, so
/// nothing else may pass (`../users/me` must not turn a download into another request).
fn parse_package_id(value: Option<String>, problems: &mut Problems) -> Option<String> {
    let id = value?;
    let valid = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !id.contains("..")
        && id.len() <= 100;
    if valid {
        Some(id)
    } else {
        problems.add(PACKAGE_ID, format!("{} is not a package ID: use letters, digits, `.`, `-` and `_`, starting with a letter or digit", quoted(&id)));
        None
    }
}

/// A package version (SemVer or Octopus's dotted numbers), also a path segment of feed requests.
fn parse_package_version(value: Option<String>, problems: &mut Problems) -> Option<String> {
    let version = value?;
    let valid = version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        && !version.contains("..")
        && version.len() <= 100;
    if valid {
        Some(version)
    } else {
        problems.add(
            PACKAGE_VERSION,
            format!(
                "{} is not a package version: use a version such as 1.2.3 or 2026.11.26.120000",
                quoted(&version)
            ),
        );
        None
    }
}

/// A name (project, tenant, space): control characters are refused, since a name is printed in
/// logs and service messages, where a newline would forge a line of its own.
fn parse_name(value: Option<String>, input: Input, problems: &mut Problems) -> Option<String> {
    let name = value?;
    if name.chars().any(char::is_control) {
        problems.add(
            input,
            format!(
                "{} has a control character (a line break or tab) in it: give the name on one line",
                quoted(&name)
            ),
        );
        return None;
    }
    Some(name)
}

/// Validated settings for `serialize`.
#[derive(Debug, Clone)]
pub struct SerializeConfig {
    pub source: ServerConfig,
    /// Management space, an ID or a name.
    pub space: String,
    pub project_name: String,
    pub filters: crate::portable::reader::Filters,
    pub include_cac_values: bool,
    pub terraform_backend: Option<String>,
    pub package_id: Option<String>,
    pub package_version: Option<String>,
    /// Defaults to the management space.
    pub upload_space: Option<String>,
    pub overwrite_mode: crate::package::OverwriteMode,
    pub output_dir: Option<PathBuf>,
    pub push: bool,
}

impl SerializeConfig {
    pub fn from_args(args: &crate::cli::SerializeArgs) -> Result<Self, ConfigError> {
        let mut problems = Problems::default();
        let source_args = &args.source;
        let url = management_url(
            raw(&source_args.management_url, MANAGEMENT_URL),
            &source_args.server_uri,
            &mut problems,
        );
        let api_key = parse_api_key(
            raw(&source_args.management_api_key, MANAGEMENT_API_KEY),
            MANAGEMENT_API_KEY,
            &mut problems,
        );
        let ca_file = parse_ca_file(&args.ca_certificate, &mut problems);
        let space = management_space(
            raw(&source_args.management_space_id, MANAGEMENT_SPACE),
            &source_args.space_id,
            &mut problems,
        );
        let project_name = parse_name(
            required(
                raw(&args.project_name, PROJECT_NAME),
                PROJECT_NAME,
                &mut problems,
            ),
            PROJECT_NAME,
            &mut problems,
        );

        let filters = crate::portable::reader::Filters {
            excluded_library_variable_sets: parse_list(
                optional(
                    raw(
                        &args.exclude_library_variable_sets,
                        EXCLUDE_LIBRARY_VARIABLE_SETS,
                    ),
                    EXCLUDE_LIBRARY_VARIABLE_SETS,
                ),
                &["Export Options"],
            ),
            excluded_variable_environments: parse_list(
                optional(
                    raw(
                        &args.exclude_variable_environment_scopes,
                        EXCLUDE_VARIABLE_ENVIRONMENTS,
                    ),
                    EXCLUDE_VARIABLE_ENVIRONMENTS,
                ),
                &["Sync"],
            ),
            excluded_runbooks: parse_regex(
                optional(
                    raw_untrimmed(&args.exclude_runbooks, EXCLUDE_RUNBOOKS),
                    EXCLUDE_RUNBOOKS,
                ),
                Some("^__ "),
                EXCLUDE_RUNBOOKS,
                &mut problems,
            ),
            excluded_variables: parse_regex(
                optional(
                    raw_untrimmed(&args.exclude_variables, EXCLUDE_VARIABLES),
                    EXCLUDE_VARIABLES,
                ),
                None,
                EXCLUDE_VARIABLES,
                &mut problems,
            ),
            allow_ambiguous_secrets: parse_bool(
                optional(
                    raw(&args.allow_ambiguous_secrets, ALLOW_AMBIGUOUS_SECRETS),
                    ALLOW_AMBIGUOUS_SECRETS,
                ),
                ALLOW_AMBIGUOUS_SECRETS,
                &mut problems,
            ),
        };
        let include_cac_values = parse_bool(
            optional(
                raw(&args.include_cac_values, INCLUDE_CAC_VALUES),
                INCLUDE_CAC_VALUES,
            ),
            INCLUDE_CAC_VALUES,
            &mut problems,
        );
        let push = !parse_bool(
            optional(raw(&args.no_push, NO_PUSH), NO_PUSH),
            NO_PUSH,
            &mut problems,
        );

        let terraform_backend = optional(
            raw(&args.terraform_backend, TERRAFORM_BACKEND),
            TERRAFORM_BACKEND,
        )
        .map(|backend| backend.to_ascii_lowercase());
        if let Some(backend) = &terraform_backend {
            if !TERRAFORM_BACKENDS.contains(&backend.as_str()) {
                problems.add(
                    TERRAFORM_BACKEND,
                    format!(
                        "{backend_shown} is not a Terraform backend: use one of {}",
                        TERRAFORM_BACKENDS.join(", "),
                        backend_shown = quoted(backend)
                    ),
                );
            }
        }
        let package_id = parse_package_id(
            optional(raw(&args.package_id, PACKAGE_ID), PACKAGE_ID),
            &mut problems,
        );
        let package_version = parse_package_version(
            optional(raw(&args.package_version, PACKAGE_VERSION), PACKAGE_VERSION),
            &mut problems,
        );
        let overwrite_mode = match optional(
            raw(&args.overwrite_mode, OVERWRITE_MODE),
            OVERWRITE_MODE,
        ) {
            None => crate::package::OverwriteMode::default(),
            Some(mode) => match crate::package::OverwriteMode::parse(&mode) {
                Some(mode) => mode,
                None => {
                    problems.add(OVERWRITE_MODE, format!("{mode_shown} is not an overwrite mode: use FailIfExists, OverwriteExisting or IgnoreIfExists", mode_shown = quoted(&mode)));
                    crate::package::OverwriteMode::default()
                }
            },
        };
        let output_dir = optional(raw(&args.output_dir, OUTPUT_DIR), OUTPUT_DIR).map(PathBuf::from);
        if let Some(dir) = &output_dir {
            if dir.exists() && !dir.is_dir() {
                problems.add(
                    OUTPUT_DIR,
                    format!("{} exists and is not a directory", dir.display()),
                );
            }
        }
        let upload_space = optional(raw(&args.upload_space, UPLOAD_SPACE), UPLOAD_SPACE);
        problems.finish(|| SerializeConfig {
            source: ServerConfig {
                url: url.expect("no problems means a URL"),
                api_key: api_key.expect("no problems means a key"),
                ca_file,
            },
            space: space.expect("no problems means a space"),
            project_name: project_name.expect("no problems means a project"),
            filters,
            include_cac_values,
            terraform_backend,
            package_id,
            package_version,
            upload_space,
            overwrite_mode,
            output_dir,
            push,
        })
    }
}

/// Validated settings for `create-space`.
#[derive(Debug, Clone)]
pub struct CreateSpaceConfig {
    pub target: ServerConfig,
    pub space_name: String,
    pub space_managers: Vec<String>,
    pub blueprint: Blueprint,
    pub blueprint_source: BlueprintSource,
    pub write_back: Option<WriteBackConfig>,
}

/// Octopus limits space names to 50 characters.
const SPACE_NAME_LIMIT: usize = 50;

impl CreateSpaceConfig {
    pub fn from_args(args: &CreateSpaceArgs) -> Result<Self, ConfigError> {
        let mut problems = Problems::default();
        let target = parse_target(&args.target, &mut problems);
        let ca_file = target.as_ref().and_then(|target| target.ca_file.clone());
        let write_back = parse_management(&args.management, ca_file, &mut problems);

        let (name_input, name) = match optional(raw(&args.space_name, SPACE_NAME), SPACE_NAME) {
            Some(name) => (SPACE_NAME, Some(name)),
            None => (TENANT_NAME, raw(&args.tenant_name, TENANT_NAME)),
        };
        let space_name = parse_name(
            required(name, name_input, &mut problems),
            name_input,
            &mut problems,
        );
        if let Some(name) = &space_name {
            if name.chars().count() > SPACE_NAME_LIMIT {
                problems.add(name_input, format!("{name_shown} is longer than Octopus allows for a space name ({SPACE_NAME_LIMIT} characters): pass a shorter --space-name", name_shown = quoted(name)));
            }
        }

        let space_managers: Vec<String> =
            optional(raw(&args.space_managers, SPACE_MANAGERS), SPACE_MANAGERS)
                .unwrap_or_else(|| "teams-administrators".to_owned())
                .split(',')
                .map(str::trim)
                .filter(|team| !team.is_empty())
                .map(str::to_owned)
                .collect();
        if space_managers.is_empty() {
            problems.add(
                SPACE_MANAGERS,
                "names no team: give at least one team ID, e.g. teams-administrators",
            );
        }

        let git_username = optional(raw(&args.git_username, GIT_USERNAME), GIT_USERNAME);
        let git_password =
            optional(raw(&args.git_password, GIT_PASSWORD), GIT_PASSWORD).map(Secret::new);
        let (blueprint, blueprint_source) =
            match optional(raw(&args.blueprint, BLUEPRINT), BLUEPRINT) {
                Some(path) => {
                    let source = BlueprintSource::File(PathBuf::from(&path));
                    match Blueprint::load_file(&PathBuf::from(&path), |name| {
                        std::env::var(name).ok()
                    }) {
                        Ok(blueprint) => (Some(blueprint), source),
                        Err(errors) => {
                            for error in errors {
                                problems.add(BLUEPRINT, error);
                            }
                            (None, source)
                        }
                    }
                }
                None => {
                    match (&git_username, &git_password) {
                        (Some(_), None) => problems.add(
                            GIT_PASSWORD,
                            "missing while Git.Credentials.Username is set: give both or neither",
                        ),
                        (None, Some(_)) => problems.add(
                            GIT_USERNAME,
                            "missing while Git.Credentials.Password is set: give both or neither",
                        ),
                        _ => {}
                    }
                    let credential = git_username.zip(git_password);
                    (
                        Some(Blueprint::built_in(credential)),
                        BlueprintSource::BuiltIn,
                    )
                }
            };

        problems.finish(|| CreateSpaceConfig {
            target: target.expect("no problems means a target"),
            space_name: space_name.expect("no problems means a name"),
            space_managers,
            blueprint: blueprint.expect("no problems means a blueprint"),
            blueprint_source,
            write_back,
        })
    }
}

/// Validated settings for `fork`.
#[derive(Debug, Clone)]
pub struct ForkConfig {
    pub platform: crate::forge::Platform,
    pub protocol: String,
    pub host: String,
    pub organization: String,
    /// The downstream repository's name.
    pub new_repo: String,
    /// The upstream repository's clone URL (no credentials in it), unless it is read from
    /// `upstream_project` first.
    pub upstream_url: String,
    /// With management inputs and no `Git.Url.Upstream`: the template project whose
    /// Config-as-Code repository is the upstream (server, space ID or name, project name).
    pub upstream_project: Option<(ServerConfig, String, String)>,
    pub main_line: String,
    /// The forge credential: offered only to `protocol://host`.
    pub username: String,
    pub password: Secret,
    /// The upstream's own credential (`Git.Upstream.Credentials.*`): offered only to the
    /// upstream's origin. Without it, an upstream on the forge's origin gets the forge credential
    /// and one elsewhere gets none.
    pub upstream_credentials: Option<crate::forge::mirror::GitCredentials>,
    /// Extra CA certificate (PEM) for the forge, the upstream and the management server.
    pub ca_file: Option<PathBuf>,
    pub all_branches: bool,
    pub force: bool,
}

impl ForkConfig {
    pub fn from_args(args: &crate::cli::ForkArgs) -> Result<Self, ConfigError> {
        use crate::forge::{is_valid_repository_name, repository_name, Platform};
        let mut problems = Problems::default();
        let ca_file = parse_ca_file(&args.ca_certificate, &mut problems);
        let platform = match optional(raw(&args.git_platform, GIT_PLATFORM), GIT_PLATFORM) {
            None => Platform::Gitea,
            Some(text) => Platform::parse(&text).unwrap_or_else(|| {
                problems.add(
                    GIT_PLATFORM,
                    format!(
                        "`{text}` is not a supported platform: use one of {}",
                        Platform::NAMES
                    ),
                );
                Platform::Gitea
            }),
        };
        let protocol = optional(raw(&args.git_protocol, GIT_PROTOCOL), GIT_PROTOCOL)
            .map(|protocol| protocol.to_ascii_lowercase())
            .unwrap_or_else(|| "https".to_owned());
        if protocol != "http" && protocol != "https" {
            problems.add(
                GIT_PROTOCOL,
                format!("`{protocol}` is not a protocol fork speaks: use http or https"),
            );
        }
        let host = required(raw(&args.git_host, GIT_HOST), GIT_HOST, &mut problems);
        if let Some(host) = &host {
            let valid = Url::parse(&format!("{protocol}://{host}/")).is_ok_and(|url| {
                url.host().is_some() && url.path() == "/" && url.username().is_empty()
            });
            if !valid {
                problems.add(GIT_HOST, format!("`{host}` is not a host name with an optional port, e.g. gitea:3000 or github.com"));
            }
        }
        let organization = required(
            raw(&args.git_organization, GIT_ORGANIZATION),
            GIT_ORGANIZATION,
            &mut problems,
        );
        let project_name = optional(raw(&args.project_name, PROJECT_NAME), PROJECT_NAME);
        let exported_name = optional(
            raw(&args.exported_project_name, EXPORTED_PROJECT_NAME),
            EXPORTED_PROJECT_NAME,
        );
        let tenant_name = optional(raw(&args.tenant_name, TENANT_NAME), TENANT_NAME);

        // The new repository: given, or `<tenant>_<project>` sanitized as the reference
        // implementation does.
        let new_repo = match optional(raw(&args.git_new_repo, GIT_NEW_REPO), GIT_NEW_REPO) {
            Some(name) => Some(name),
            None => match (
                &tenant_name,
                exported_name.as_ref().or(project_name.as_ref()),
            ) {
                (Some(tenant), Some(project)) => Some(format!(
                    "{}_{}",
                    repository_name(tenant),
                    repository_name(project)
                )),
                _ => {
                    problems.add(
                        GIT_NEW_REPO,
                        format!(
                        "missing: set it, or set {} and {} (or {}) to name it <tenant>_<project>",
                        TENANT_NAME.octopus, EXPORTED_PROJECT_NAME.octopus, PROJECT_NAME.octopus
                    ),
                    );
                    None
                }
            },
        };
        if let Some(name) = &new_repo {
            if !is_valid_repository_name(name) {
                problems.add(
                    GIT_NEW_REPO,
                    format!(
                    "`{name}` is not a repository name (letters, digits, `-`, `_`, `.`): e.g. `{}`",
                    repository_name(name)
                ),
                );
            }
        }

        let explicit_upstream =
            optional(raw(&args.git_upstream, GIT_UPSTREAM), GIT_UPSTREAM).is_some();
        let management_key = optional(
            raw(&args.source.management_api_key, MANAGEMENT_API_KEY),
            MANAGEMENT_API_KEY,
        );
        let upstream_project = match (explicit_upstream, management_key, &project_name) {
            (false, Some(key), Some(project)) => {
                let url = management_url(
                    optional(
                        raw(&args.source.management_url, MANAGEMENT_URL),
                        MANAGEMENT_URL,
                    ),
                    &args.source.server_uri,
                    &mut problems,
                );
                let api_key = parse_api_key(Some(key), MANAGEMENT_API_KEY, &mut problems);
                let space = management_space(
                    optional(
                        raw(&args.source.management_space_id, MANAGEMENT_SPACE),
                        MANAGEMENT_SPACE,
                    ),
                    &args.source.space_id,
                    &mut problems,
                );
                match (url, api_key, space) {
                    (Some(url), Some(api_key), Some(space)) => Some((
                        ServerConfig {
                            url,
                            api_key,
                            ca_file: ca_file.clone(),
                        },
                        space,
                        project.clone(),
                    )),
                    _ => None,
                }
            }
            _ => None,
        };
        let upstream_url = match optional(raw(&args.git_upstream, GIT_UPSTREAM), GIT_UPSTREAM) {
            Some(text) => match Url::parse(&text) {
                Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                    // The value is not repeated: it holds a credential.
                    problems.add(GIT_UPSTREAM, format!("has credentials in it: give the URL without them ({}) and the credentials as {} and {} (or nothing, when the upstream is on Git.Url.Host and Git.Credentials.* may read it)", crate::origin::display(&url), GIT_UPSTREAM_USERNAME.octopus, GIT_UPSTREAM_PASSWORD.octopus));
                    None
                }
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                    Some(text)
                }
                _ => {
                    problems.add(GIT_UPSTREAM, format!("`{text}` is not an http(s) repository URL, e.g. https://gitea.example.com/org/template.git"));
                    None
                }
            },
            None => {
                let template = match optional(raw(&args.git_template, GIT_TEMPLATE), GIT_TEMPLATE) {
                    Some(template) => Some(template),
                    None => project_name.as_deref().map(repository_name),
                };
                match (&template, &host, &organization) {
                    (Some(template), _, _) if !is_valid_repository_name(template) => {
                        problems.add(GIT_TEMPLATE, format!("`{template}` is not a repository name (letters, digits, `-`, `_`, `.`)"));
                        None
                    }
                    (Some(template), Some(host), Some(organization)) => {
                        Some(format!("{protocol}://{host}/{organization}/{template}.git"))
                    }
                    (None, _, _) => {
                        problems.add(
                            GIT_TEMPLATE,
                            format!(
                            "missing: set it (or {}), or set {} to use the sanitized project name",
                            GIT_UPSTREAM.octopus, PROJECT_NAME.octopus
                        ),
                        );
                        None
                    }
                    _ => None,
                }
            }
        };

        let main_line = optional(raw(&args.git_main_line, GIT_MAIN_LINE), GIT_MAIN_LINE)
            .unwrap_or_else(|| "main".to_owned());
        if !git2::Reference::is_valid_name(&format!("refs/heads/{main_line}")) {
            problems.add(
                GIT_MAIN_LINE,
                format!("`{main_line}` is not a valid branch name"),
            );
        }
        let password = required(
            raw(&args.git_password, GIT_PASSWORD),
            GIT_PASSWORD,
            &mut problems,
        )
        .map(Secret::new);
        // GitHub and GitLab take a token for git with any username; Gitea needs the user's name.
        let username = match optional(raw(&args.git_username, GIT_USERNAME), GIT_USERNAME) {
            Some(username) => Some(username),
            None if platform != Platform::Gitea => Some(platform.token_username().to_owned()),
            None => required(None, GIT_USERNAME, &mut problems),
        };
        let upstream_username = optional(
            raw(&args.git_upstream_username, GIT_UPSTREAM_USERNAME),
            GIT_UPSTREAM_USERNAME,
        );
        let upstream_password = optional(
            raw(&args.git_upstream_password, GIT_UPSTREAM_PASSWORD),
            GIT_UPSTREAM_PASSWORD,
        );
        // Both or neither: the upstream's platform is unknown, so no token username is guessed.
        let upstream_credentials = match (upstream_username, upstream_password) {
            (None, None) => None,
            (Some(username), Some(password)) => Some(crate::forge::mirror::GitCredentials {
                username,
                password: Secret::new(password),
            }),
            (None, Some(_)) => {
                problems.add(GIT_UPSTREAM_USERNAME, format!("missing while {} is set: give the upstream's user name (for a token, any name the upstream's platform accepts, e.g. x-access-token or oauth2)", GIT_UPSTREAM_PASSWORD.octopus));
                None
            }
            (Some(_), None) => {
                problems.add(GIT_UPSTREAM_PASSWORD, format!("missing while {} is set: give the upstream's password or access token, or clear both", GIT_UPSTREAM_USERNAME.octopus));
                None
            }
        };
        let all_branches = parse_bool(
            optional(
                raw(&args.all_branches, FORK_ALL_BRANCHES),
                FORK_ALL_BRANCHES,
            ),
            FORK_ALL_BRANCHES,
            &mut problems,
        );
        let force = parse_bool(
            optional(raw(&args.force, FORK_FORCE), FORK_FORCE),
            FORK_FORCE,
            &mut problems,
        );
        problems.finish(|| ForkConfig {
            platform,
            protocol,
            host: host.expect("no problems means a host"),
            organization: organization.expect("no problems means an organization"),
            new_repo: new_repo.expect("no problems means a repository name"),
            upstream_url: upstream_url.expect("no problems means an upstream"),
            upstream_project,
            main_line,
            username: username.expect("no problems means a username"),
            password: password.expect("no problems means a password"),
            upstream_credentials,
            ca_file,
            all_branches,
            force,
        })
    }
}

/// Where the managed space is: its ID, or the space named after the tenant (the article's
/// "Lookup New Space" step) while `ManagedTenant.Octopus.SpaceId` still holds its placeholder
/// (`#{…}`, "TBD", anything that is not a space ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpace {
    /// `ManagedTenant.Octopus.SpaceId` when it holds a space ID (`Spaces-N`).
    pub id: Option<String>,
    /// `Octopus.Deployment.Tenant.Name`: the space's name when the ID is unknown.
    pub tenant_name: Option<String>,
}

/// Where the template package comes from.
#[derive(Debug, Clone)]
pub enum PackageSource {
    /// As Octopus extracts a referenced package for a step (secrets.json already substituted).
    Dir(PathBuf),
    /// The built-in feed of the management space; `None` version means the latest.
    Feed {
        server: ServerConfig,
        space: String,
        package_id: String,
        version: Option<String>,
    },
}

/// Validated settings for `deploy` and `plan`.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    pub target: ServerConfig,
    pub space: TargetSpace,
    pub source: PackageSource,
    /// `Exported.Project.Name`; the package's project name when absent.
    pub project_name: Option<String>,
    pub git_url: Option<String>,
    pub overwrite_variables: bool,
    pub dry_run: bool,
}

impl DeployConfig {
    pub fn from_args(args: &crate::cli::DeployArgs, plan: bool) -> Result<Self, ConfigError> {
        let mut problems = Problems::default();
        let target = parse_target(&args.target, &mut problems);
        let given_id = optional(
            raw(&args.managed_space_id, MANAGED_SPACE_ID),
            MANAGED_SPACE_ID,
        );
        // Only "not known yet" falls back to the tenant's name (blank and `#{…}` are already
        // `None`; the article's tenants start with `TBD`); anything else that is not a space ID
        // is a typo that must not silently pick a space by name.
        let id = match given_id {
            Some(id) if crate::octopus::resources::is_space_id(&id) => Some(id),
            Some(placeholder) if placeholder.eq_ignore_ascii_case("TBD") => {
                tracing::info!("{MANAGED_SPACE_ID} is `TBD`, not a space ID yet: finding the space by the tenant's name");
                None
            }
            Some(other) => {
                problems.add(MANAGED_SPACE_ID, format!("{} is not a space ID: give the tenant's space ID (Spaces-N, which create-space writes), or leave it `TBD` to find the space by the tenant's name", quoted(&other)));
                None
            }
            None => None,
        };
        let tenant_name = parse_name(
            optional(raw(&args.tenant_name, TENANT_NAME), TENANT_NAME),
            TENANT_NAME,
            &mut problems,
        );
        let space = match (id, tenant_name) {
            (None, None) => {
                problems.add(
                    MANAGED_SPACE_ID,
                    format!(
                        "missing (and {} is not set either to find the space by name): set the tenant's ManagedTenant.Octopus.SpaceId (create-space writes it) or run as a tenant",
                        TENANT_NAME.octopus
                    ),
                );
                None
            }
            (id, tenant_name) => Some(TargetSpace { id, tenant_name }),
        };
        let source = match optional(raw(&args.package_dir, PACKAGE_DIR), PACKAGE_DIR) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if !dir.is_dir() {
                    problems.add(PACKAGE_DIR, format!("{} is not a directory: give the directory Octopus extracted the package into", dir.display()));
                }
                Some(PackageSource::Dir(dir))
            }
            None => {
                let source_args = &args.source;
                let url = management_url(
                    optional(
                        raw(&source_args.management_url, MANAGEMENT_URL),
                        MANAGEMENT_URL,
                    ),
                    &source_args.server_uri,
                    &mut problems,
                );
                let api_key = parse_api_key(
                    raw(&source_args.management_api_key, MANAGEMENT_API_KEY),
                    MANAGEMENT_API_KEY,
                    &mut problems,
                );
                let ca_file = target.as_ref().and_then(|target| target.ca_file.clone());
                let feed_space = management_space(
                    optional(
                        raw(&source_args.management_space_id, MANAGEMENT_SPACE),
                        MANAGEMENT_SPACE,
                    ),
                    &source_args.space_id,
                    &mut problems,
                );
                let given_id = optional(raw(&args.package_id, PACKAGE_ID), PACKAGE_ID);
                let package_id = match given_id {
                    Some(id) => parse_package_id(Some(id), &mut problems),
                    None => {
                        let derived = parse_name(
                            optional(raw(&args.project_name, PROJECT_NAME), PROJECT_NAME),
                            PROJECT_NAME,
                            &mut problems,
                        )
                        .map(|name| crate::package::package_id_for(&name));
                        if derived.is_none() {
                            problems.add(PACKAGE_ID, format!("missing: give the package ID, {} to derive it, or {} for an extracted package", PROJECT_NAME.octopus, PACKAGE_DIR.octopus));
                        }
                        derived
                    }
                };
                let version = parse_package_version(
                    optional(raw(&args.package_version, PACKAGE_VERSION), PACKAGE_VERSION),
                    &mut problems,
                );
                match (url, api_key, feed_space, package_id) {
                    (Some(url), Some(api_key), Some(space), Some(package_id)) => {
                        Some(PackageSource::Feed {
                            server: ServerConfig {
                                url,
                                api_key,
                                ca_file,
                            },
                            space,
                            package_id,
                            version,
                        })
                    }
                    _ => None,
                }
            }
        };
        let git_url = optional(raw(&args.git_url, GIT_URL), GIT_URL).filter(|text| {
            let shown = quoted(&crate::origin::display_text(text));
            match Url::parse(text) {
                Ok(url) if crate::origin::has_userinfo(&url) => {
                    problems.add(GIT_URL, format!("{shown} has a user name or password in it, which Octopus would store and show in the project's settings: give the clone URL alone; the credential is the space's git credential"));
                    false
                }
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => true,
                _ => {
                    problems.add(GIT_URL, format!("{shown} is not an http(s) clone URL: give the repository's clone URL (the fork step's RepositoryUrl output)"));
                    false
                }
            }
        });
        let overwrite_variables = parse_bool(
            optional(
                raw(&args.overwrite_variables, OVERWRITE_VARIABLES),
                OVERWRITE_VARIABLES,
            ),
            OVERWRITE_VARIABLES,
            &mut problems,
        );
        let dry_run = plan
            || parse_bool(
                optional(raw(&args.dry_run, DRY_RUN), DRY_RUN),
                DRY_RUN,
                &mut problems,
            );
        let project_name = parse_name(
            optional(
                raw(&args.exported_project_name, EXPORTED_PROJECT_NAME),
                EXPORTED_PROJECT_NAME,
            ),
            EXPORTED_PROJECT_NAME,
            &mut problems,
        );
        problems.finish(|| DeployConfig {
            target: target.expect("no problems means a target"),
            space: space.expect("no problems means a space"),
            source: source.expect("no problems means a package source"),
            project_name,
            git_url,
            overwrite_variables,
            dry_run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    #[test]
    fn aliases_follow_the_rule() {
        for input in ALL_INPUTS {
            assert_eq!(input.env, Input::alias_of(input.octopus), "{input}");
        }
    }

    /// Every flag with an environment alias is in the table, with the same alias, and its help
    /// names the Octopus variable; so `--help`, errors and the README agree.
    #[test]
    fn fork_takes_the_ca_file_for_the_management_server_and_both_upstream_credentials() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let ca_path = ca.path().to_string_lossy().into_owned();
        let args = crate::cli::ForkArgs {
            source: crate::cli::SourceArgs {
                server_uri: Some("https://octopus.example.com/".into()),
                management_api_key: Some("API-TESTKEY000000000000000000001".into()),
                space_id: Some("Spaces-1".into()),
                ..Default::default()
            },
            git_host: Some("gitea:3000".into()),
            git_organization: Some("octopuscac".into()),
            git_new_repo: Some("team_a".into()),
            git_username: Some("octopus".into()),
            git_password: Some("forge-secret".into()),
            git_upstream_username: Some("reader".into()),
            git_upstream_password: Some("upstream-secret".into()),
            project_name: Some("Hello World CaC".into()),
            ca_certificate: Some(ca_path.clone()),
            ..Default::default()
        };
        let config = ForkConfig::from_args(&args).unwrap();
        assert_eq!(config.ca_file.as_deref(), Some(ca.path()));
        let (server, _, _) = config.upstream_project.as_ref().unwrap();
        assert_eq!(server.ca_file.as_deref(), Some(ca.path()));
        let upstream = config.upstream_credentials.as_ref().unwrap();
        assert_eq!(upstream.username, "reader");
        assert_eq!(upstream.password.expose(), "upstream-secret");
        assert!(!format!("{config:?}").contains("upstream-secret"));

        let alone = crate::cli::ForkArgs {
            git_upstream_username: None,
            ..args
        };
        let error = ForkConfig::from_args(&alone).unwrap_err();
        assert_eq!(error.problems.len(), 1, "{error}");
        assert_eq!(error.problems[0].input, GIT_UPSTREAM_USERNAME);
    }

    #[test]
    fn clap_arguments_match_the_input_table() {
        let command = Cli::command();
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
                let input = ALL_INPUTS
                    .iter()
                    .find(|input| input.env == env)
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
        assert_eq!(
            raw_untrimmed(&Some("^__ ".into()), EXCLUDE_RUNBOOKS).as_deref(),
            Some("^__ ")
        );
        assert_eq!(raw_untrimmed(&Some("  ".into()), EXCLUDE_RUNBOOKS), None);
        let sets = parse_list(
            optional(
                Some("#{Excluded.Sets}".into()),
                EXCLUDE_LIBRARY_VARIABLE_SETS,
            ),
            &["Export Options"],
        );
        assert_eq!(
            sets,
            ["Export Options"],
            "an undefined variable falls back to the default"
        );
        assert!(parse_list(Some("-".into()), &["Export Options"]).is_empty());
    }

    #[test]
    fn placeholders_and_blanks() {
        assert!(is_placeholder("#{ManagedTenant.Octopus.SpaceId}"));
        assert!(!is_placeholder("Spaces-1"));
        assert_eq!(raw(&Some("  ".into()), TENANT_URL), None);
        let mut problems = Problems::default();
        assert!(parse_url(
            Some("#{ManagedTenant.Octopus.Url}".into()),
            TENANT_URL,
            &mut problems
        )
        .is_none());
        assert!(
            parse_api_key(Some("api-lowercase".into()), TENANT_API_KEY, &mut problems).is_none()
        );
        assert!(parse_url(Some("ftp://x".into()), TENANT_URL, &mut problems).is_none());
        let error = problems.finish(|| ()).unwrap_err();
        assert_eq!(error.problems.len(), 3);
        assert!(!error.to_string().contains("api-lowercase"));
    }
}
