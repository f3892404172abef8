//! The command line: clap derive, every input with its flag and environment alias. Values are
//! raw here; `config` validates them into typed settings.

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    #[command(subcommand)]
    pub command: Command,

    /// How to report the result on stdout: Octopus service messages (text) or one JSON summary.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, env = "OCTOFLEET_OUTPUT")]
    pub output: OutputFormat,

    /// Log filter for stderr (`info`, `debug`, `octofleet=debug`, ...).
    #[arg(long, global = true, default_value = "info", env = "OCTOFLEET_LOG")]
    pub log: String,

    /// Most time the whole action may take: seconds or a number with s, m or h (90, 90s, 10m; default 10m). [Octopus: Octofleet.Timeout]
    #[arg(
        long = "timeout",
        global = true,
        env = "OCTOFLEET_TIMEOUT",
        value_name = "DURATION"
    )]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

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
    /// Apply a template package to a managed space through the REST API: create or update the
    /// project, its channels, process, runbooks and variables.
    Deploy(Box<DeployArgs>),
    /// What deploy would change, per resource, without writing (exit 3 when there are changes).
    Plan(Box<DeployArgs>),
}

/// The managed space's Octopus server (`ManagedTenant.*`).
#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// URL of the Octopus server that hosts the managed space. [Octopus: ManagedTenant.Octopus.Url]
    #[arg(long = "url", env = "MANAGEDTENANT_OCTOPUS_URL", value_name = "URL")]
    pub url: Option<String>,

    /// API key for that server (`API-...`). [Octopus: ManagedTenant.Octopus.ApiKey]
    #[arg(
        long = "api-key",
        env = "MANAGEDTENANT_OCTOPUS_APIKEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,

    /// Extra CA certificate (PEM) to trust for that server. [Octopus: Octofleet.CaCertificateFile]
    #[arg(
        long = "ca-certificate",
        env = "OCTOFLEET_CACERTIFICATEFILE",
        value_name = "FILE"
    )]
    pub ca_certificate: Option<String>,
}

/// The management instance, where the tenants live (`Management.*`, Octopus system variables).
#[derive(Debug, Args, Clone, Default)]
pub struct ManagementArgs {
    #[command(flatten)]
    pub server: SourceArgs,

    /// The tenant this step runs for. [Octopus: Octopus.Deployment.Tenant.Id]
    #[arg(
        long = "tenant-id",
        env = "OCTOPUS_DEPLOYMENT_TENANT_ID",
        value_name = "ID"
    )]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct CreateSpaceArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    #[command(flatten)]
    pub management: ManagementArgs,

    /// The tenant's name: the managed space is named after it. [Octopus: Octopus.Deployment.Tenant.Name]
    #[arg(
        long = "tenant-name",
        env = "OCTOPUS_DEPLOYMENT_TENANT_NAME",
        value_name = "NAME"
    )]
    pub tenant_name: Option<String>,

    /// Name of the space, instead of the tenant's name. [Octopus: Octofleet.Space.Name]
    #[arg(long = "space-name", env = "OCTOFLEET_SPACE_NAME", value_name = "NAME")]
    pub space_name: Option<String>,

    /// Space manager teams for a new space, comma separated (default teams-administrators). [Octopus: Octofleet.Space.Managers]
    #[arg(
        long = "space-managers",
        env = "OCTOFLEET_SPACE_MANAGERS",
        value_name = "TEAMS"
    )]
    pub space_managers: Option<String>,

    /// Space blueprint file (YAML or JSON); the built-in default when absent. [Octopus: Octofleet.Blueprint]
    #[arg(long = "blueprint", env = "OCTOFLEET_BLUEPRINT", value_name = "FILE")]
    pub blueprint: Option<String>,

    /// Username of the shared git credential in the default blueprint. [Octopus: Git.Credentials.Username]
    #[arg(
        long = "git-username",
        env = "GIT_CREDENTIALS_USERNAME",
        value_name = "USER"
    )]
    pub git_username: Option<String>,

    /// Password or token of the shared git credential in the default blueprint. [Octopus: Git.Credentials.Password]
    #[arg(
        long = "git-password",
        env = "GIT_CREDENTIALS_PASSWORD",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub git_password: Option<String>,
}

/// The management server: where create-space writes the space ID back, serialize reads the
/// template project, deploy and plan find the package, and fork finds the upstream repository.
#[derive(Debug, Args, Clone, Default)]
pub struct SourceArgs {
    /// URL of the management Octopus server; defaults to Octopus.Web.ServerUri. [Octopus: Management.Octopus.Url]
    #[arg(
        long = "management-url",
        env = "MANAGEMENT_OCTOPUS_URL",
        value_name = "URL"
    )]
    pub management_url: Option<String>,

    /// The server running this step. [Octopus: Octopus.Web.ServerUri]
    #[arg(long = "server-uri", env = "OCTOPUS_WEB_SERVERURI", value_name = "URL")]
    pub server_uri: Option<String>,

    /// API key for the management server. [Octopus: Management.Octopus.ApiKey]
    #[arg(
        long = "management-api-key",
        env = "MANAGEMENT_OCTOPUS_APIKEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub management_api_key: Option<String>,

    /// Management space (ID or name); defaults to Octopus.Space.Id. [Octopus: Management.Octopus.SpaceId]
    #[arg(
        long = "management-space-id",
        env = "MANAGEMENT_OCTOPUS_SPACEID",
        value_name = "SPACE"
    )]
    pub management_space_id: Option<String>,

    /// The space running this step. [Octopus: Octopus.Space.Id]
    #[arg(long = "space-id", env = "OCTOPUS_SPACE_ID", value_name = "SPACE")]
    pub space_id: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct SerializeArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Extra CA certificate (PEM) to trust for the management server. [Octopus: Octofleet.CaCertificateFile]
    #[arg(
        long = "ca-certificate",
        env = "OCTOFLEET_CACERTIFICATEFILE",
        value_name = "FILE"
    )]
    pub ca_certificate: Option<String>,

    /// The template project to serialize (exact name). [Octopus: Octopus.Project.Name]
    #[arg(
        long = "project-name",
        env = "OCTOPUS_PROJECT_NAME",
        value_name = "NAME"
    )]
    pub project_name: Option<String>,

    /// Library variable sets left out, comma separated (default "Export Options"; "-" for none). [Octopus: Octofleet.Exclude.LibraryVariableSets]
    #[arg(
        long = "exclude-library-variable-sets",
        env = "OCTOFLEET_EXCLUDE_LIBRARYVARIABLESETS",
        value_name = "NAMES"
    )]
    pub exclude_library_variable_sets: Option<String>,

    /// Environments removed from variable scopes, comma separated (default "Sync"; "-" for none). [Octopus: Octofleet.Exclude.VariableEnvironmentScopes]
    #[arg(
        long = "exclude-variable-environment-scopes",
        env = "OCTOFLEET_EXCLUDE_VARIABLEENVIRONMENTSCOPES",
        value_name = "NAMES"
    )]
    pub exclude_variable_environment_scopes: Option<String>,

    /// Runbooks left out, by regular expression on the name (default "^__ "; "-" for none). [Octopus: Octofleet.Exclude.Runbooks]
    #[arg(
        long = "exclude-runbooks",
        env = "OCTOFLEET_EXCLUDE_RUNBOOKS",
        value_name = "REGEX"
    )]
    pub exclude_runbooks: Option<String>,

    /// Variables left out, by regular expression on the name (default none). [Octopus: Octofleet.Exclude.Variables]
    #[arg(
        long = "exclude-variables",
        env = "OCTOFLEET_EXCLUDE_VARIABLES",
        value_name = "REGEX"
    )]
    pub exclude_variables: Option<String>,

    /// Config-as-Code: also read the process, variables and settings from the default branch. [Octopus: Octofleet.IncludeCacValues]
    #[arg(long = "include-cac-values", env = "OCTOFLEET_INCLUDECACVALUES", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub include_cac_values: Option<String>,

    /// Export a sensitive name that has several scoped values (warns and names them). [Octopus: Octofleet.AllowAmbiguousSecrets]
    #[arg(long = "allow-ambiguous-secrets", env = "OCTOFLEET_ALLOWAMBIGUOUSSECRETS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub allow_ambiguous_secrets: Option<String>,

    /// Terraform backend block for the module (pg, s3, azurerm, gcs, http, consul, kubernetes, remote, local). [Octopus: Octofleet.Terraform.Backend]
    #[arg(
        long = "terraform-backend",
        env = "OCTOFLEET_TERRAFORM_BACKEND",
        value_name = "TYPE"
    )]
    pub terraform_backend: Option<String>,

    /// Package ID (default: the project name with every character outside A-Z, a-z, 0-9 as `_`). [Octopus: Octofleet.Package.Id]
    #[arg(long = "package-id", env = "OCTOFLEET_PACKAGE_ID", value_name = "ID")]
    pub package_id: Option<String>,

    /// Package version (default: UTC YYYY.MM.DD.HHMMSS). [Octopus: Octofleet.Package.Version]
    #[arg(
        long = "package-version",
        env = "OCTOFLEET_PACKAGE_VERSION",
        value_name = "VERSION"
    )]
    pub package_version: Option<String>,

    /// Space whose built-in feed receives the package (ID or name; default the management space). [Octopus: Octofleet.Package.UploadSpace]
    #[arg(
        long = "upload-space",
        env = "OCTOFLEET_PACKAGE_UPLOADSPACE",
        value_name = "SPACE"
    )]
    pub upload_space: Option<String>,

    /// FailIfExists, OverwriteExisting (default) or IgnoreIfExists. [Octopus: Octofleet.Package.OverwriteMode]
    #[arg(
        long = "overwrite-mode",
        env = "OCTOFLEET_PACKAGE_OVERWRITEMODE",
        value_name = "MODE"
    )]
    pub overwrite_mode: Option<String>,

    /// Also write the zip into this directory. [Octopus: Octofleet.OutputDir]
    #[arg(long = "output-dir", env = "OCTOFLEET_OUTPUTDIR", value_name = "DIR")]
    pub output_dir: Option<String>,

    /// Do not upload the package. [Octopus: Octofleet.NoPush]
    #[arg(long = "no-push", env = "OCTOFLEET_NOPUSH", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_push: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ForkArgs {
    /// The management server: with its API key, the upstream URL defaults to the template
    /// project's Config-as-Code repository.
    #[command(flatten)]
    pub source: SourceArgs,

    /// gitea (default), github or gitlab. [Octopus: Git.Platform]
    #[arg(long = "git-platform", env = "GIT_PLATFORM", value_name = "PLATFORM")]
    pub git_platform: Option<String>,

    /// http or https (default https). [Octopus: Git.Url.Protocol]
    #[arg(
        long = "git-protocol",
        env = "GIT_URL_PROTOCOL",
        value_name = "PROTOCOL"
    )]
    pub git_protocol: Option<String>,

    /// Host (and port) of the git server, e.g. gitea:3000 or github.com. [Octopus: Git.Url.Host]
    #[arg(long = "git-host", env = "GIT_URL_HOST", value_name = "HOST")]
    pub git_host: Option<String>,

    /// Organization (GitLab: group) that holds the repositories; may be your own user name. [Octopus: Git.Url.Organization]
    #[arg(
        long = "git-organization",
        env = "GIT_URL_ORGANIZATION",
        value_name = "ORG"
    )]
    pub git_organization: Option<String>,

    /// Upstream repository name in the organization (default: the project name, sanitized). [Octopus: Git.Url.Template]
    #[arg(long = "git-template", env = "GIT_URL_TEMPLATE", value_name = "NAME")]
    pub git_template: Option<String>,

    /// Downstream repository name (default: <tenant>_<project>, sanitized). [Octopus: Git.Url.NewRepo]
    #[arg(long = "git-new-repo", env = "GIT_URL_NEWREPO", value_name = "NAME")]
    pub git_new_repo: Option<String>,

    /// Full URL of the upstream repository (default: <protocol>://<host>/<organization>/<template>.git). [Octopus: Git.Url.Upstream]
    #[arg(long = "git-upstream", env = "GIT_URL_UPSTREAM", value_name = "URL")]
    pub git_upstream: Option<String>,

    /// The branch to mirror and make the default branch (default main). [Octopus: Git.Branch.MainLine]
    #[arg(
        long = "git-main-line",
        env = "GIT_BRANCH_MAINLINE",
        value_name = "BRANCH"
    )]
    pub git_main_line: Option<String>,

    /// Git and API username. [Octopus: Git.Credentials.Username]
    #[arg(
        long = "git-username",
        env = "GIT_CREDENTIALS_USERNAME",
        value_name = "USER"
    )]
    pub git_username: Option<String>,

    /// Git and API password or access token. [Octopus: Git.Credentials.Password]
    #[arg(
        long = "git-password",
        env = "GIT_CREDENTIALS_PASSWORD",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub git_password: Option<String>,

    /// Username for an upstream that is not on Git.Url.Host (Git.Credentials.* go only there). [Octopus: Git.Upstream.Credentials.Username]
    #[arg(
        long = "git-upstream-username",
        env = "GIT_UPSTREAM_CREDENTIALS_USERNAME",
        value_name = "USER"
    )]
    pub git_upstream_username: Option<String>,

    /// Password or access token for that upstream; sent only to the upstream's scheme, host and port. [Octopus: Git.Upstream.Credentials.Password]
    #[arg(
        long = "git-upstream-password",
        env = "GIT_UPSTREAM_CREDENTIALS_PASSWORD",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub git_upstream_password: Option<String>,

    /// Extra CA certificate (PEM) to trust for the git platform, the upstream and the management server. [Octopus: Octofleet.CaCertificateFile]
    #[arg(
        long = "ca-certificate",
        env = "OCTOFLEET_CACERTIFICATEFILE",
        value_name = "FILE"
    )]
    pub ca_certificate: Option<String>,

    /// The tenant the repository is for. [Octopus: Octopus.Deployment.Tenant.Name]
    #[arg(
        long = "tenant-name",
        env = "OCTOPUS_DEPLOYMENT_TENANT_NAME",
        value_name = "NAME"
    )]
    pub tenant_name: Option<String>,

    /// The template project's name, for the repository names. [Octopus: Octopus.Project.Name]
    #[arg(
        long = "project-name",
        env = "OCTOPUS_PROJECT_NAME",
        value_name = "NAME"
    )]
    pub project_name: Option<String>,

    /// The exported project's name, preferred to Octopus.Project.Name for the new repository's name. [Octopus: Exported.Project.Name]
    #[arg(
        long = "exported-project-name",
        env = "EXPORTED_PROJECT_NAME",
        value_name = "NAME"
    )]
    pub exported_project_name: Option<String>,

    /// Mirror every upstream branch and tag, not only the main line. [Octopus: Octofleet.Fork.AllBranches]
    #[arg(long = "all-branches", env = "OCTOFLEET_FORK_ALLBRANCHES", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub all_branches: Option<String>,

    /// Reset downstream refs that diverged from upstream (discards the tenant's commits on them). [Octopus: Octofleet.Fork.Force]
    #[arg(long = "force", env = "OCTOFLEET_FORK_FORCE", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub force: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DeployArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// The managed space (ID); when missing or still a placeholder, the space named after the tenant. [Octopus: ManagedTenant.Octopus.SpaceId]
    #[arg(
        long = "managed-space-id",
        env = "MANAGEDTENANT_OCTOPUS_SPACEID",
        value_name = "SPACE"
    )]
    pub managed_space_id: Option<String>,

    /// The tenant: names the managed space when its ID is unknown. [Octopus: Octopus.Deployment.Tenant.Name]
    #[arg(
        long = "tenant-name",
        env = "OCTOPUS_DEPLOYMENT_TENANT_NAME",
        value_name = "NAME"
    )]
    pub tenant_name: Option<String>,

    /// The extracted package (project.json, secrets.json) instead of the built-in feed. [Octopus: Octofleet.Package.Dir]
    #[arg(
        long = "package-dir",
        env = "OCTOFLEET_PACKAGE_DIR",
        value_name = "DIR"
    )]
    pub package_dir: Option<String>,

    /// The management server with the built-in feed holding the package.
    #[command(flatten)]
    pub source: SourceArgs,

    /// The template project; its sanitized name is the default package ID. [Octopus: Octopus.Project.Name]
    #[arg(
        long = "project-name",
        env = "OCTOPUS_PROJECT_NAME",
        value_name = "NAME"
    )]
    pub project_name: Option<String>,

    /// Package ID in the built-in feed (default: the sanitized Octopus.Project.Name). [Octopus: Octofleet.Package.Id]
    #[arg(long = "package-id", env = "OCTOFLEET_PACKAGE_ID", value_name = "ID")]
    pub package_id: Option<String>,

    /// Package version (default: the latest). [Octopus: Octofleet.Package.Version]
    #[arg(
        long = "package-version",
        env = "OCTOFLEET_PACKAGE_VERSION",
        value_name = "VERSION"
    )]
    pub package_version: Option<String>,

    /// The downstream project's name (default: the package's). [Octopus: Exported.Project.Name]
    #[arg(
        long = "exported-project-name",
        env = "EXPORTED_PROJECT_NAME",
        value_name = "NAME"
    )]
    pub exported_project_name: Option<String>,

    /// Config-as-Code: the tenant's repository (the fork step's RepositoryUrl output). [Octopus: Octofleet.Git.Url]
    #[arg(long = "git-url", env = "OCTOFLEET_GIT_URL", value_name = "URL")]
    pub git_url: Option<String>,

    /// Make variables equal to the package instead of keeping downstream edits. [Octopus: Octofleet.OverwriteVariables]
    #[arg(long = "overwrite-variables", env = "OCTOFLEET_OVERWRITEVARIABLES", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub overwrite_variables: Option<String>,

    /// Show what would change and write nothing (as `plan`). [Octopus: Octofleet.DryRun]
    #[arg(long = "dry-run", env = "OCTOFLEET_DRYRUN", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: Option<String>,
}
