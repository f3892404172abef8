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
        let count = self.problems.len();
        write!(
            f,
            "invalid input ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        )?;
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

/// `#{Name}` left as it was: the Octopus variable it names was not defined where the step ran.
pub fn is_placeholder(value: &str) -> bool {
    value.starts_with("#{") && value.ends_with('}')
}

fn required(value: Option<String>, input: Input, problems: &mut Problems) -> Option<String> {
    match value {
        Some(value) if is_placeholder(&value) => {
            problems.add(
                input,
                format!("`{value}` is an Octopus variable reference that was never substituted: define that variable for this step (tenant, environment or scope) or pass --{}", input.flag),
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
    match Url::parse(&value) {
        Ok(url) if (url.scheme() == "http" || url.scheme() == "https") && url.host().is_some() => {
            Some(url)
        }
        Ok(_) => {
            problems.add(input, format!("`{value}` is not an http(s) URL: use the server's address, e.g. https://octopus.example.com/"));
            None
        }
        Err(error) => {
            problems.add(input, format!("`{value}` is not a valid URL ({error}): use the server's address, e.g. https://octopus.example.com/"));
            None
        }
    }
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

fn parse_ca_file(value: Option<PathBuf>, problems: &mut Problems) -> Option<PathBuf> {
    let path = value
        .or_else(|| std::env::var_os(CA_CERTIFICATE.octopus).map(PathBuf::from))
        .filter(|path| !path.as_os_str().is_empty())?;
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
    let ca_file = parse_ca_file(args.ca_certificate.clone(), problems);
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

/// Management inputs are optional as a whole: none given means no write-back. Given in part,
/// the missing ones are reported (a half-configured write-back is a mistake, not a choice).
pub fn parse_management(
    args: &ManagementArgs,
    ca_file: Option<PathBuf>,
    problems: &mut Problems,
) -> Option<WriteBackConfig> {
    let api_key = raw(&args.management_api_key, MANAGEMENT_API_KEY);
    let tenant_id = raw(&args.tenant_id, TENANT_ID);
    let explicit_url = raw(&args.management_url, MANAGEMENT_URL);
    let explicit_space = raw(&args.management_space_id, MANAGEMENT_SPACE);
    if api_key.is_none() && explicit_url.is_none() && explicit_space.is_none() {
        return None;
    }
    let url_input = if explicit_url.is_some() {
        MANAGEMENT_URL
    } else {
        SERVER_URI
    };
    let url = parse_url(
        explicit_url.or_else(|| raw(&args.server_uri, SERVER_URI)),
        url_input,
        problems,
    );
    let api_key = parse_api_key(api_key, MANAGEMENT_API_KEY, problems);
    let space_input = if explicit_space.is_some() {
        MANAGEMENT_SPACE
    } else {
        SPACE_ID
    };
    let space = required(
        explicit_space.or_else(|| raw(&args.space_id, SPACE_ID)),
        space_input,
        problems,
    );
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
        let ca_file = args.target.ca_certificate.clone();
        let write_back = parse_management(&args.management, ca_file, &mut problems);

        let (name_input, name) = match raw(&args.space_name, SPACE_NAME) {
            Some(name) => (SPACE_NAME, Some(name)),
            None => (TENANT_NAME, raw(&args.tenant_name, TENANT_NAME)),
        };
        let space_name = required(name, name_input, &mut problems);
        if let Some(name) = &space_name {
            if name.chars().count() > SPACE_NAME_LIMIT {
                problems.add(name_input, format!("`{name}` is longer than Octopus allows for a space name ({SPACE_NAME_LIMIT} characters): pass a shorter --space-name"));
            }
        }

        let space_managers: Vec<String> = raw(&args.space_managers, SPACE_MANAGERS)
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

        let git_username = raw(&args.git_username, GIT_USERNAME);
        let git_password = raw(&args.git_password, GIT_PASSWORD).map(Secret::new);
        let (blueprint, blueprint_source) = match raw(&args.blueprint, BLUEPRINT) {
            Some(path) => {
                let source = BlueprintSource::File(PathBuf::from(&path));
                match Blueprint::load_file(&PathBuf::from(&path), |name| std::env::var(name).ok()) {
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
    fn clap_arguments_match_the_input_table() {
        let command = Cli::command();
        let mut seen = Vec::new();
        for subcommand in command.get_subcommands() {
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
