//! The input table: each input's Octopus name, environment alias and flag (spelled here and
//! nowhere else), and the two helpers every layer uses to speak of a value it was given
//! ([`quoted`], [`is_placeholder`]). A leaf: it imports nothing of the crate, so every module
//! may name an input without reaching up into `config`.

use std::fmt;

/// One input: how Octopus, the environment and the command line each name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    /// The Octopus variable name (`ManagedTenant.Octopus.Url`), as step templates bind it.
    pub octopus: &'static str,
    /// The environment alias: the Octopus name in upper case, `.` → `_`.
    pub env: &'static str,
    /// The command-line flag, without `--`.
    pub flag: &'static str,
}

macro_rules! inputs {
    ($($const_name:ident = $octopus:literal, $env:literal, $flag:literal;)*) => {
        $(
            #[doc = concat!("`", $octopus, "` (env `", $env, "`, flag `--", $flag, "`).")]
            pub const $const_name: Input = Input { octopus: $octopus, env: $env, flag: $flag };
        )*
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
    OVERWRITE_TRIGGERS = "Octofleet.OverwriteTriggers", "OCTOFLEET_OVERWRITETRIGGERS", "overwrite-triggers";
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

/// `#{Name}` left as it was: the Octopus variable it names was not defined where the step ran.
pub fn is_placeholder(value: &str) -> bool {
    value.starts_with("#{") && value.ends_with('}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_follow_the_rule() {
        for input in ALL_INPUTS {
            assert_eq!(input.env, Input::alias_of(input.octopus), "{input}");
        }
    }
}
