//! The command line: clap derive, every input's flag and environment alias taken from the input
//! table (`crate::inputs`, never spelled here). Values are raw here; `config` validates them into
//! typed settings.

use crate::inputs::{self, Input};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// The whole command line: one action, and the options every action takes (its `--help` text is
/// the `about` below).
#[derive(Debug, Parser)]
#[command(
    name = "octofleet",
    version,
    about = "Run a fleet of managed Octopus Deploy spaces from template projects",
    long_about = "Run a fleet of managed Octopus Deploy spaces from template projects.\n\n\
        Every input has an Octopus variable name, an environment alias (upper case, `.` → `_`) and \
        a flag; a flag beats the environment. Octopus step templates export each parameter to its \
        alias before running octofleet."
)]
pub struct Cli {
    /// The action to run.
    #[command(subcommand)]
    pub command: Command,

    /// How to report the result on stdout: Octopus service messages (text) or one JSON summary.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, env = "OCTOFLEET_OUTPUT")]
    pub output: OutputFormat,

    /// Log filter (`info`, `debug`, `octofleet=debug`, ...).
    #[arg(long, global = true, default_value = "info", env = "OCTOFLEET_LOG")]
    pub log: String,

    /// Where the log goes: `octopus` (stdout, levels as Octopus service messages, stderr only for the final error) or `text` (stderr); default `octopus` when run by Calamari, else `text`.
    #[arg(
        long = inputs::LOG_FORMAT.flag,
        global = true,
        env = inputs::LOG_FORMAT.env,
        value_name = "FORMAT"
    )]
    pub log_format: Option<String>,

    /// Most time the whole action may take: seconds or a number with s, m or h (90, 90s, 10m; default 10m).
    #[arg(
        long = inputs::TIMEOUT.flag,
        global = true,
        env = inputs::TIMEOUT.env,
        value_name = "DURATION"
    )]
    pub timeout: Option<String>,
}

/// The command with each input's help ending in its Octopus variable name, `[Octopus: …]`,
/// taken from the input table by the argument's environment alias.
pub fn command() -> clap::Command {
    fn name_octopus_variable(argument: clap::Arg) -> clap::Arg {
        let input = argument
            .get_env()
            .and_then(|env| env.to_str())
            .and_then(Input::by_env);
        match input {
            Some(input) => {
                let help = match argument.get_help().map(ToString::to_string) {
                    Some(help) if !help.is_empty() => format!("{help}. "),
                    _ => String::new(),
                };
                argument.help(format!("{help}[Octopus: {}]", input.octopus))
            }
            None => argument,
        }
    }
    Cli::command()
        .mut_args(name_octopus_variable)
        .mut_subcommands(|subcommand| subcommand.mut_args(name_octopus_variable))
}

/// The command line as given, or clap's usage error (exit 2) or help (exit 0).
pub fn parse() -> Cli {
    Cli::from_arg_matches_mut(&mut command().get_matches()).unwrap_or_else(|error| error.exit())
}

/// What `--output` writes on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
// clap shows a value's doc as its help in `--help`; `--output`'s own help says what each does.
#[allow(missing_docs)]
pub enum OutputFormat {
    Text,
    Json,
}

/// The actions; each variant's doc is its `--help` text.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Find or create the tenant's space, converge it to a space blueprint, and write the space ID
    /// back to the tenant variable `ManagedTenant.Octopus.SpaceId`.
    CreateSpace(Box<CreateSpaceArgs>),
    /// Serialize a template project to a template package (project.json, secrets.json and a
    /// Terraform module) and push it to the built-in feed.
    Serialize(Box<SerializeArgs>),
    /// Create the tenant's downstream Config-as-Code repository on Gitea, GitHub or GitLab and
    /// mirror the upstream branch (or every branch and tag) into it with shared history.
    Fork(Box<ForkArgs>),
    /// Bring upstream's new commits into the tenant's downstream repository: fast-forward, or a
    /// three-way merge; on conflicts, a pull (merge) request from a branch with the upstream
    /// commit (exit 3). `--check` only says which.
    Merge(Box<MergeArgs>),
    /// Apply a template package to a managed space through the REST API: create or update the
    /// project, its channels, process, runbooks and variables.
    Deploy(Box<DeployArgs>),
    /// What deploy would change, per resource, without writing (exit 3 when there are changes).
    Plan(Box<DeployArgs>),
    /// One page (and its JSON) for every tenant of a template project: package deployed against
    /// the newest, drift, merge state, last run; read from the tasks and reports of its runbooks.
    Fleet(Box<FleetArgs>),
    /// Run a runbook of the template project for its tenants in waves on Octopus's task queue,
    /// stop after too many failures, resume on a re-run; end with the fleet report.
    Rollout(Box<RolloutArgs>),
}

/// What fleet reads: the management server, the template project and which tenants.
#[derive(Debug, Args, Clone, Default)]
pub struct FleetArgs {
    /// The management server, where the template project, its tenants and their tasks are.
    #[command(flatten)]
    pub source: SourceArgs,

    /// Extra CA certificate (PEM) to trust for the management server.
    #[arg(
        long = inputs::CA_CERTIFICATE.flag,
        env = inputs::CA_CERTIFICATE.env,
        value_name = "FILE"
    )]
    pub ca_certificate: Option<String>,

    /// The template project (exact name).
    #[arg(
        long = inputs::PROJECT_NAME.flag,
        env = inputs::PROJECT_NAME.env,
        value_name = "NAME"
    )]
    pub project_name: Option<String>,

    /// The template package in the built-in feed (default: the sanitized project name).
    #[arg(long = inputs::PACKAGE_ID.flag, env = inputs::PACKAGE_ID.env, value_name = "ID")]
    pub package_id: Option<String>,

    /// Only the project's tenants with these tags, comma separated (`Tag Set/Tag`).
    #[arg(long = inputs::TENANT_TAGS.flag, env = inputs::TENANT_TAGS.env, value_name = "TAGS")]
    pub tenant_tags: Option<String>,

    /// Exit 3 when a tenant needs attention.
    #[arg(long = inputs::FAIL_ON_ATTENTION.flag, env = inputs::FAIL_ON_ATTENTION.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub fail_on_attention: Option<String>,

    /// Write the fleet report (HTML and JSON) into this directory and attach it to the Octopus task (default under Octopus: the step's working directory).
    #[arg(long = inputs::REPORT_DIR.flag, env = inputs::REPORT_DIR.env, value_name = "DIR")]
    pub report_dir: Option<String>,

    /// Write no report (and attach none).
    #[arg(long = inputs::NO_REPORT.flag, env = inputs::NO_REPORT.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_report: Option<String>,
}

/// What rollout reads besides the fleet's inputs.
#[derive(Debug, Args, Clone, Default)]
pub struct RolloutArgs {
    /// The fleet it rolls out to.
    #[command(flatten)]
    pub fleet: FleetArgs,

    /// The runbook of the template project to run for each tenant.
    #[arg(long = inputs::ROLLOUT_RUNBOOK.flag, env = inputs::ROLLOUT_RUNBOOK.env, value_name = "NAME")]
    pub runbook: Option<String>,

    /// The environment the runbook runs in (e.g. Sync).
    #[arg(long = inputs::ROLLOUT_ENVIRONMENT.flag, env = inputs::ROLLOUT_ENVIRONMENT.env, value_name = "NAME")]
    pub environment: Option<String>,

    /// Tenant tags, one wave each in this order, comma separated; the other tenants run last.
    #[arg(long = inputs::ROLLOUT_WAVES.flag, env = inputs::ROLLOUT_WAVES.env, value_name = "TAGS")]
    pub waves: Option<String>,

    /// At most this many tenants per wave.
    #[arg(long = inputs::ROLLOUT_BATCH_SIZE.flag, env = inputs::ROLLOUT_BATCH_SIZE.env, value_name = "N")]
    pub batch_size: Option<String>,

    /// Failed tenants the rollout goes on after (default 0).
    #[arg(long = inputs::ROLLOUT_MAX_FAILURES.flag, env = inputs::ROLLOUT_MAX_FAILURES.env, value_name = "N")]
    pub max_failures: Option<String>,

    /// Cancel the tasks not finished when the deadline passes.
    #[arg(long = inputs::ROLLOUT_CANCEL_ON_TIMEOUT.flag, env = inputs::ROLLOUT_CANCEL_ON_TIMEOUT.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub cancel_on_timeout: Option<String>,
}

/// The managed space's Octopus server (`ManagedTenant.*`).
#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// URL of the Octopus server that hosts the managed space.
    #[arg(long = inputs::TENANT_URL.flag, env = inputs::TENANT_URL.env, value_name = "URL")]
    pub url: Option<String>,

    /// API key for that server (`API-...`).
    #[arg(
        long = inputs::TENANT_API_KEY.flag,
        env = inputs::TENANT_API_KEY.env,
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,

    /// Extra CA certificate (PEM) to trust for that server.
    #[arg(
        long = inputs::CA_CERTIFICATE.flag,
        env = inputs::CA_CERTIFICATE.env,
        value_name = "FILE"
    )]
    pub ca_certificate: Option<String>,
}

/// The management instance, where the tenants live (`Management.*`, Octopus system variables).
#[derive(Debug, Args, Clone, Default)]
pub struct ManagementArgs {
    /// The management server.
    #[command(flatten)]
    pub server: SourceArgs,

    /// The tenant this step runs for.
    #[arg(
        long = inputs::TENANT_ID.flag,
        env = inputs::TENANT_ID.env,
        value_name = "ID"
    )]
    pub tenant_id: Option<String>,
}

/// `create-space`'s arguments (its help is the `Command` variant's).
#[derive(Debug, Args, Clone, Default)]
pub struct CreateSpaceArgs {
    /// The managed space's server.
    #[command(flatten)]
    pub target: TargetArgs,

    /// The management server and the tenant, for the write-back.
    #[command(flatten)]
    pub management: ManagementArgs,

    /// The tenant's name: the managed space is named after it.
    #[arg(
        long = inputs::TENANT_NAME.flag,
        env = inputs::TENANT_NAME.env,
        value_name = "NAME"
    )]
    pub tenant_name: Option<String>,

    /// Name of the space, instead of the tenant's name.
    #[arg(long = inputs::SPACE_NAME.flag, env = inputs::SPACE_NAME.env, value_name = "NAME")]
    pub space_name: Option<String>,

    /// Space manager teams for a new space, comma separated (default teams-administrators).
    #[arg(
        long = inputs::SPACE_MANAGERS.flag,
        env = inputs::SPACE_MANAGERS.env,
        value_name = "TEAMS"
    )]
    pub space_managers: Option<String>,

    /// Space blueprint file (YAML or JSON); the built-in default when absent.
    #[arg(long = inputs::BLUEPRINT.flag, env = inputs::BLUEPRINT.env, value_name = "FILE")]
    pub blueprint: Option<String>,

    /// Username of the shared git credential in the default blueprint.
    #[arg(
        long = inputs::GIT_USERNAME.flag,
        env = inputs::GIT_USERNAME.env,
        value_name = "USER"
    )]
    pub git_username: Option<String>,

    /// Password or token of the shared git credential in the default blueprint.
    #[arg(
        long = inputs::GIT_PASSWORD.flag,
        env = inputs::GIT_PASSWORD.env,
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub git_password: Option<String>,
}

/// The management server: where create-space writes the space ID back, serialize reads the
/// template project, deploy and plan find the package, and fork finds the upstream repository.
#[derive(Debug, Args, Clone, Default)]
pub struct SourceArgs {
    /// URL of the management Octopus server; defaults to Octopus.Web.ServerUri.
    #[arg(
        long = inputs::MANAGEMENT_URL.flag,
        env = inputs::MANAGEMENT_URL.env,
        value_name = "URL"
    )]
    pub management_url: Option<String>,

    /// The server running this step.
    #[arg(long = inputs::SERVER_URI.flag, env = inputs::SERVER_URI.env, value_name = "URL")]
    pub server_uri: Option<String>,

    /// API key for the management server.
    #[arg(
        long = inputs::MANAGEMENT_API_KEY.flag,
        env = inputs::MANAGEMENT_API_KEY.env,
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub management_api_key: Option<String>,

    /// Management space (ID or name); defaults to Octopus.Space.Id.
    #[arg(
        long = inputs::MANAGEMENT_SPACE.flag,
        env = inputs::MANAGEMENT_SPACE.env,
        value_name = "SPACE"
    )]
    pub management_space_id: Option<String>,

    /// The space running this step.
    #[arg(long = inputs::SPACE_ID.flag, env = inputs::SPACE_ID.env, value_name = "SPACE")]
    pub space_id: Option<String>,
}

/// `serialize`'s arguments (its help is the `Command` variant's).
#[derive(Debug, Args, Clone, Default)]
pub struct SerializeArgs {
    /// The management server, where the template project is.
    #[command(flatten)]
    pub source: SourceArgs,

    /// Extra CA certificate (PEM) to trust for the management server.
    #[arg(
        long = inputs::CA_CERTIFICATE.flag,
        env = inputs::CA_CERTIFICATE.env,
        value_name = "FILE"
    )]
    pub ca_certificate: Option<String>,

    /// The template project to serialize (exact name).
    #[arg(
        long = inputs::PROJECT_NAME.flag,
        env = inputs::PROJECT_NAME.env,
        value_name = "NAME"
    )]
    pub project_name: Option<String>,

    /// Library variable sets left out, comma separated (default "Export Options"; "-" for none).
    #[arg(
        long = inputs::EXCLUDE_LIBRARY_VARIABLE_SETS.flag,
        env = inputs::EXCLUDE_LIBRARY_VARIABLE_SETS.env,
        value_name = "NAMES"
    )]
    pub exclude_library_variable_sets: Option<String>,

    /// Environments removed from variable scopes, comma separated (default "Sync"; "-" for none).
    #[arg(
        long = inputs::EXCLUDE_VARIABLE_ENVIRONMENTS.flag,
        env = inputs::EXCLUDE_VARIABLE_ENVIRONMENTS.env,
        value_name = "NAMES"
    )]
    pub exclude_variable_environment_scopes: Option<String>,

    /// Runbooks left out, by regular expression on the name (default "^__ "; "-" for none).
    #[arg(
        long = inputs::EXCLUDE_RUNBOOKS.flag,
        env = inputs::EXCLUDE_RUNBOOKS.env,
        value_name = "REGEX"
    )]
    pub exclude_runbooks: Option<String>,

    /// Variables left out, by regular expression on the name (default none).
    #[arg(
        long = inputs::EXCLUDE_VARIABLES.flag,
        env = inputs::EXCLUDE_VARIABLES.env,
        value_name = "REGEX"
    )]
    pub exclude_variables: Option<String>,

    /// Config-as-Code: also read the process, variables and settings from the default branch.
    #[arg(long = inputs::INCLUDE_CAC_VALUES.flag, env = inputs::INCLUDE_CAC_VALUES.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub include_cac_values: Option<String>,

    /// Export a sensitive name that has several scoped values (warns and names them).
    #[arg(long = inputs::ALLOW_AMBIGUOUS_SECRETS.flag, env = inputs::ALLOW_AMBIGUOUS_SECRETS.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub allow_ambiguous_secrets: Option<String>,

    /// Terraform backend block for the module (pg, s3, azurerm, gcs, http, consul, kubernetes, remote, local).
    #[arg(
        long = inputs::TERRAFORM_BACKEND.flag,
        env = inputs::TERRAFORM_BACKEND.env,
        value_name = "TYPE"
    )]
    pub terraform_backend: Option<String>,

    /// Package ID (default: the project name with every character outside A-Z, a-z, 0-9 as `_`).
    #[arg(long = inputs::PACKAGE_ID.flag, env = inputs::PACKAGE_ID.env, value_name = "ID")]
    pub package_id: Option<String>,

    /// Package version (default: UTC YYYY.MM.DD.HHMMSS).
    #[arg(
        long = inputs::PACKAGE_VERSION.flag,
        env = inputs::PACKAGE_VERSION.env,
        value_name = "VERSION"
    )]
    pub package_version: Option<String>,

    /// Space whose built-in feed receives the package (ID or name; default the management space).
    #[arg(
        long = inputs::UPLOAD_SPACE.flag,
        env = inputs::UPLOAD_SPACE.env,
        value_name = "SPACE"
    )]
    pub upload_space: Option<String>,

    /// FailIfExists, OverwriteExisting (default) or IgnoreIfExists.
    #[arg(
        long = inputs::OVERWRITE_MODE.flag,
        env = inputs::OVERWRITE_MODE.env,
        value_name = "MODE"
    )]
    pub overwrite_mode: Option<String>,

    /// Also write the zip into this directory.
    #[arg(long = inputs::OUTPUT_DIR.flag, env = inputs::OUTPUT_DIR.env, value_name = "DIR")]
    pub output_dir: Option<String>,

    /// Do not upload the package.
    #[arg(long = inputs::NO_PUSH.flag, env = inputs::NO_PUSH.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_push: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
/// Where the upstream and the tenant's downstream repositories are, and the credentials for them:
/// what fork and merge read alike.
pub struct RepositoryArgs {
    /// The management server: with its API key, the upstream URL defaults to the template
    /// project's Config-as-Code repository.
    #[command(flatten)]
    pub source: SourceArgs,

    /// gitea (default), github or gitlab.
    #[arg(long = inputs::GIT_PLATFORM.flag, env = inputs::GIT_PLATFORM.env, value_name = "PLATFORM")]
    pub git_platform: Option<String>,

    /// http or https (default https).
    #[arg(
        long = inputs::GIT_PROTOCOL.flag,
        env = inputs::GIT_PROTOCOL.env,
        value_name = "PROTOCOL"
    )]
    pub git_protocol: Option<String>,

    /// Host (and port) of the git server, e.g. gitea:3000 or github.com.
    #[arg(long = inputs::GIT_HOST.flag, env = inputs::GIT_HOST.env, value_name = "HOST")]
    pub git_host: Option<String>,

    /// Organization (GitLab: group) that holds the repositories; may be your own user name.
    #[arg(
        long = inputs::GIT_ORGANIZATION.flag,
        env = inputs::GIT_ORGANIZATION.env,
        value_name = "ORG"
    )]
    pub git_organization: Option<String>,

    /// Upstream repository name in the organization (default: the project name, sanitized).
    #[arg(long = inputs::GIT_TEMPLATE.flag, env = inputs::GIT_TEMPLATE.env, value_name = "NAME")]
    pub git_template: Option<String>,

    /// Downstream repository name (default: <tenant>_<project>, sanitized).
    #[arg(long = inputs::GIT_NEW_REPO.flag, env = inputs::GIT_NEW_REPO.env, value_name = "NAME")]
    pub git_new_repo: Option<String>,

    /// Full URL of the upstream repository (default: <protocol>://<host>/<organization>/<template>.git).
    #[arg(long = inputs::GIT_UPSTREAM.flag, env = inputs::GIT_UPSTREAM.env, value_name = "URL")]
    pub git_upstream: Option<String>,

    /// The branch to mirror and make the default branch (default main).
    #[arg(
        long = inputs::GIT_MAIN_LINE.flag,
        env = inputs::GIT_MAIN_LINE.env,
        value_name = "BRANCH"
    )]
    pub git_main_line: Option<String>,

    /// Git and API username.
    #[arg(
        long = inputs::GIT_USERNAME.flag,
        env = inputs::GIT_USERNAME.env,
        value_name = "USER"
    )]
    pub git_username: Option<String>,

    /// Git and API password or access token.
    #[arg(
        long = inputs::GIT_PASSWORD.flag,
        env = inputs::GIT_PASSWORD.env,
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub git_password: Option<String>,

    /// Username for an upstream that is not on Git.Url.Host (Git.Credentials.* go only there).
    #[arg(
        long = inputs::GIT_UPSTREAM_USERNAME.flag,
        env = inputs::GIT_UPSTREAM_USERNAME.env,
        value_name = "USER"
    )]
    pub git_upstream_username: Option<String>,

    /// Password or access token for that upstream; sent only to the upstream's scheme, host and port.
    #[arg(
        long = inputs::GIT_UPSTREAM_PASSWORD.flag,
        env = inputs::GIT_UPSTREAM_PASSWORD.env,
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub git_upstream_password: Option<String>,

    /// Extra CA certificate (PEM) to trust for the git platform, the upstream and the management server.
    #[arg(
        long = inputs::CA_CERTIFICATE.flag,
        env = inputs::CA_CERTIFICATE.env,
        value_name = "FILE"
    )]
    pub ca_certificate: Option<String>,

    /// The tenant the repository is for.
    #[arg(
        long = inputs::TENANT_NAME.flag,
        env = inputs::TENANT_NAME.env,
        value_name = "NAME"
    )]
    pub tenant_name: Option<String>,

    /// The template project's name, for the repository names.
    #[arg(
        long = inputs::PROJECT_NAME.flag,
        env = inputs::PROJECT_NAME.env,
        value_name = "NAME"
    )]
    pub project_name: Option<String>,

    /// The exported project's name, preferred to Octopus.Project.Name for the new repository's name.
    #[arg(
        long = inputs::EXPORTED_PROJECT_NAME.flag,
        env = inputs::EXPORTED_PROJECT_NAME.env,
        value_name = "NAME"
    )]
    pub exported_project_name: Option<String>,
}

/// `fork`'s arguments (its help is the `Command` variant's).
#[derive(Debug, Args, Clone, Default)]
pub struct ForkArgs {
    /// The platform, the repositories and their credentials.
    #[command(flatten)]
    pub repository: RepositoryArgs,

    /// Mirror every upstream branch and tag, not only the main line.
    #[arg(long = inputs::FORK_ALL_BRANCHES.flag, env = inputs::FORK_ALL_BRANCHES.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub all_branches: Option<String>,

    /// Reset downstream refs that diverged from upstream (discards the tenant's commits on them).
    #[arg(long = inputs::FORK_FORCE.flag, env = inputs::FORK_FORCE.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub force: Option<String>,

    /// Write the fork report (HTML and JSON) into this directory and attach it to the Octopus task (default under Octopus: the step's working directory).
    #[arg(long = inputs::REPORT_DIR.flag, env = inputs::REPORT_DIR.env, value_name = "DIR")]
    pub report_dir: Option<String>,

    /// Write no report (and attach none).
    #[arg(long = inputs::NO_REPORT.flag, env = inputs::NO_REPORT.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_report: Option<String>,
}

/// `merge`'s arguments (its help is the `Command` variant's).
#[derive(Debug, Args, Clone, Default)]
pub struct MergeArgs {
    /// The platform, the repositories and their credentials (as for fork).
    #[command(flatten)]
    pub repository: RepositoryArgs,

    /// The managed space's server: with its API key, the downstream repository is the one the downstream project's Config-as-Code settings name.
    #[arg(long = inputs::TENANT_URL.flag, env = inputs::TENANT_URL.env, value_name = "URL")]
    pub tenant_url: Option<String>,

    /// API key for the managed space's server.
    #[arg(
        long = inputs::TENANT_API_KEY.flag,
        env = inputs::TENANT_API_KEY.env,
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub tenant_api_key: Option<String>,

    /// The managed space (ID); when missing or still a placeholder, the space named after the tenant.
    #[arg(
        long = inputs::MANAGED_SPACE_ID.flag,
        env = inputs::MANAGED_SPACE_ID.env,
        value_name = "SPACE"
    )]
    pub managed_space_id: Option<String>,

    /// Merge every branch upstream and the downstream both have, not only the main line.
    #[arg(long = inputs::FORK_ALL_BRANCHES.flag, env = inputs::FORK_ALL_BRANCHES.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub all_branches: Option<String>,

    /// Author and committer of merge commits, `Name <email>` (default `Octofleet <octofleet@localhost>`).
    #[arg(long = inputs::GIT_AUTHOR.flag, env = inputs::GIT_AUTHOR.env, value_name = "NAME <EMAIL>")]
    pub git_author: Option<String>,

    /// Only say what merge would do (exit 3 when there are upstream changes to bring in): push nothing, open nothing.
    #[arg(long = inputs::MERGE_CHECK.flag, env = inputs::MERGE_CHECK.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub check: Option<String>,

    /// Write the merge report (HTML and JSON) into this directory and attach it to the Octopus task (default under Octopus: the step's working directory).
    #[arg(long = inputs::REPORT_DIR.flag, env = inputs::REPORT_DIR.env, value_name = "DIR")]
    pub report_dir: Option<String>,

    /// Write no report (and attach none).
    #[arg(long = inputs::NO_REPORT.flag, env = inputs::NO_REPORT.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_report: Option<String>,

    /// Keep git objects between runs in this directory (one bare repository per upstream and downstream pair), so a re-run fetches only new objects; safe to delete at any time.
    #[arg(long = inputs::GIT_CACHE_DIR.flag, env = inputs::GIT_CACHE_DIR.env, value_name = "DIR")]
    pub git_cache_dir: Option<String>,
}

/// `deploy`'s and `plan`'s arguments (their help is the `Command` variants').
#[derive(Debug, Args, Clone, Default)]
pub struct DeployArgs {
    /// The managed space's server.
    #[command(flatten)]
    pub target: TargetArgs,

    /// The managed space (ID); when missing or still a placeholder, the space named after the tenant.
    #[arg(
        long = inputs::MANAGED_SPACE_ID.flag,
        env = inputs::MANAGED_SPACE_ID.env,
        value_name = "SPACE"
    )]
    pub managed_space_id: Option<String>,

    /// The tenant: names the managed space when its ID is unknown.
    #[arg(
        long = inputs::TENANT_NAME.flag,
        env = inputs::TENANT_NAME.env,
        value_name = "NAME"
    )]
    pub tenant_name: Option<String>,

    /// The extracted package (project.json, secrets.json) instead of the built-in feed.
    #[arg(
        long = inputs::PACKAGE_DIR.flag,
        env = inputs::PACKAGE_DIR.env,
        value_name = "DIR"
    )]
    pub package_dir: Option<String>,

    /// The management server with the built-in feed holding the package.
    #[command(flatten)]
    pub source: SourceArgs,

    /// The template project; its sanitized name is the default package ID.
    #[arg(
        long = inputs::PROJECT_NAME.flag,
        env = inputs::PROJECT_NAME.env,
        value_name = "NAME"
    )]
    pub project_name: Option<String>,

    /// Package ID in the built-in feed (default: the sanitized Octopus.Project.Name).
    #[arg(long = inputs::PACKAGE_ID.flag, env = inputs::PACKAGE_ID.env, value_name = "ID")]
    pub package_id: Option<String>,

    /// Package version (default: the latest).
    #[arg(
        long = inputs::PACKAGE_VERSION.flag,
        env = inputs::PACKAGE_VERSION.env,
        value_name = "VERSION"
    )]
    pub package_version: Option<String>,

    /// The downstream project's name (default: the package's).
    #[arg(
        long = inputs::EXPORTED_PROJECT_NAME.flag,
        env = inputs::EXPORTED_PROJECT_NAME.env,
        value_name = "NAME"
    )]
    pub exported_project_name: Option<String>,

    /// Config-as-Code: the tenant's repository (the fork step's RepositoryUrl output).
    #[arg(long = inputs::GIT_URL.flag, env = inputs::GIT_URL.env, value_name = "URL")]
    pub git_url: Option<String>,

    /// Make variables, and the step templates and script modules the package carries, equal to
    /// the package instead of keeping downstream edits.
    #[arg(long = inputs::OVERWRITE_VARIABLES.flag, env = inputs::OVERWRITE_VARIABLES.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub overwrite_variables: Option<String>,

    /// Enable triggers a tenant disabled downstream, as the package has them.
    #[arg(long = inputs::OVERWRITE_TRIGGERS.flag, env = inputs::OVERWRITE_TRIGGERS.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub overwrite_triggers: Option<String>,

    /// Show what would change and write nothing (as `plan`).
    #[arg(long = inputs::DRY_RUN.flag, env = inputs::DRY_RUN.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: Option<String>,

    /// Write the report (HTML and JSON) into this directory and attach it to the Octopus task (default under Octopus: the step's working directory).
    #[arg(long = inputs::REPORT_DIR.flag, env = inputs::REPORT_DIR.env, value_name = "DIR")]
    pub report_dir: Option<String>,

    /// Write no report (and attach none).
    #[arg(long = inputs::NO_REPORT.flag, env = inputs::NO_REPORT.env, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_report: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::ALL_INPUTS;

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
}
