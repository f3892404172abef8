//! `merge`'s settings: the repositories exactly as fork reads them, plus the merge commits'
//! author, `--check`, the report directory and the git object cache.

use super::deploy::target_space;
use super::fork::RepositoryConfig;
use super::*;
use crate::cli::MergeArgs;

/// The inputs merge reads, each with what it is for (docs/inputs.md).
pub(crate) const INPUTS: &[(Input, &str)] = &[
    (GIT_PLATFORM, "`gitea` (default); or `github`, `gitlab`"),
    (GIT_PROTOCOL, "`https` (default); or `http`"),
    (GIT_HOST, "required; host and port, e.g. `gitea:3000`, `github.com`"),
    (GIT_ORGANIZATION, "required; the organization or group (or your user name) holding both repositories"),
    (GIT_TEMPLATE, "as for fork: the upstream repository's name; default `Octopus.Project.Name` sanitized"),
    (GIT_NEW_REPO, "as for fork: the downstream repository's name; default: the repository the downstream project in the managed space points at (with `ManagedTenant.Octopus.Url` and `.ApiKey`), else `<tenant>_<project>` sanitized; it must exist (fork creates it)"),
    (TENANT_URL, "none; with `ManagedTenant.Octopus.ApiKey`: the managed space's server, where the downstream project's Config-as-Code settings name the downstream repository (a `#{…}` counts as unset)"),
    (TENANT_API_KEY, "none; with `ManagedTenant.Octopus.Url`"),
    (MANAGED_SPACE_ID, "`Spaces-N`; blank, `#{…}` or `TBD`: the space named after the tenant"),
    (GIT_UPSTREAM, "as for fork: the upstream's full clone URL; default the template project's Config-as-Code repository (with `Management.Octopus.ApiKey`), else `<protocol>://<host>/<organization>/<template>.git`"),
    (GIT_MAIN_LINE, "`main` (default); must exist on both sides; pull requests target it"),
    (GIT_USERNAME, "required for Gitea; for GitHub and GitLab tokens default `x-access-token` / `oauth2`"),
    (GIT_PASSWORD, "required; a password (Gitea) or an access token allowed to push and open pull requests; sent only to `Git.Url.Protocol://Git.Url.Host`"),
    (GIT_UPSTREAM_USERNAME, "none; as for fork, for an upstream elsewhere that needs credentials"),
    (GIT_UPSTREAM_PASSWORD, "none; sent only to the upstream's scheme, host and port (both or neither)"),
    (CA_CERTIFICATE, "none; a PEM CA certificate to trust for the platform, the upstream and the management server"),
    (TENANT_NAME, "system variable, for the default `Git.Url.NewRepo`"),
    (PROJECT_NAME, "system variable, for the default names and the template project"),
    (EXPORTED_PROJECT_NAME, "preferred to the project name for the downstream name"),
    (MANAGEMENT_URL, "for the upstream lookup; default `Octopus.Web.ServerUri`"),
    (SERVER_URI, "system variable: the server running the step"),
    (MANAGEMENT_API_KEY, "turns the upstream lookup on (unless `Git.Url.Upstream` is given)"),
    (MANAGEMENT_SPACE, "for the upstream lookup (ID or name); default `Octopus.Space.Id`"),
    (SPACE_ID, "system variable: the space running the step"),
    (FORK_ALL_BRANCHES, "`False` (default): only the main line; `True`: every branch both repositories have"),
    (GIT_AUTHOR, "`Octofleet <octofleet@localhost>` (default): author and committer of merge commits, `Name <email>`"),
    (MERGE_CHECK, "`False` (default); `True`: say what merge would do (exit 3 when upstream changes are pending), push nothing, open nothing"),
    (REPORT_DIR, REPORT_DIR_PURPOSE),
    (NO_REPORT, NO_REPORT_PURPOSE),
    (GIT_CACHE_DIR, "none: each run fetches into a temporary repository; a directory (created if missing) where merge keeps one bare repository per upstream and downstream pair, for its git objects only, so a re-run fetches only what is new. Refs are always read from the remotes: deleting it changes no outcome. Runs sharing it take a lock per pair; one it cannot use is a warning, and the run goes on without it"),
    (TIMEOUT, "`10m` (default): the whole action's deadline"),
    (LOG_FORMAT, LOG_FORMAT_PURPOSE),
];

pub(crate) const DEFAULT_AUTHOR: (&str, &str) = ("Octofleet", "octofleet@localhost");

/// Where the downstream project is (`ManagedTenant.*`, `Exported.Project.Name`): its
/// Config-as-Code settings name the downstream repository, so no state or naming rule is needed.
#[derive(Debug, Clone)]
pub struct DownstreamLookup {
    pub(crate) server: ServerConfig,
    pub(crate) space: TargetSpace,
    pub(crate) project: String,
}

/// Validated settings for `merge`.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    pub(crate) repository: RepositoryConfig,
    pub(crate) all_branches: bool,
    pub(crate) author_name: String,
    pub(crate) author_email: String,
    pub(crate) check: bool,
    /// Read the downstream repository from the managed space (none: `Git.Url.NewRepo` or the
    /// naming rule).
    pub(crate) downstream_lookup: Option<DownstreamLookup>,
    /// Where to write the report (see [`report_dir`]).
    pub(crate) report_dir: Option<std::path::PathBuf>,
    /// Where to keep git objects between runs.
    pub(crate) git_cache_dir: Option<std::path::PathBuf>,
}

impl MergeConfig {
    /// The same settings, bound to finish by `deadline` (the action's `Octofleet.Timeout`).
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> Self {
        self.repository.deadline = Some(deadline);
        self
    }
}

impl std::ops::Deref for MergeConfig {
    type Target = RepositoryConfig;
    fn deref(&self) -> &RepositoryConfig {
        &self.repository
    }
}

/// `Name <email>`: both non-empty, nothing git would mangle in a commit header.
fn author(text: &str) -> Result<(String, String), String> {
    let bad = || {
        format!(
            "{} is not `Name <email>`, e.g. `Octofleet <octofleet@example.com>`",
            quoted(text)
        )
    };
    let (name, rest) = text.split_once('<').ok_or_else(bad)?;
    let email = rest.strip_suffix('>').ok_or_else(bad)?;
    let (name, email) = (name.trim(), email.trim());
    let clean = |part: &str| !part.is_empty() && !part.contains(['<', '>', '\n', '\r', '\0']);
    if clean(name) && clean(email) && !email.contains(char::is_whitespace) {
        Ok((name.to_owned(), email.to_owned()))
    } else {
        Err(bad())
    }
}

/// The managed space to read the downstream repository from: only with both
/// `ManagedTenant.Octopus.Url` and `.ApiKey` (a `#{…}` counts as unset: the step may run for a
/// tenant without a managed space's variables), and not when `Git.Url.NewRepo` names it.
fn downstream_lookup(
    reader: &mut Reader,
    args: &MergeArgs,
    repository: Option<&RepositoryConfig>,
) -> Option<DownstreamLookup> {
    let url = reader.optional_or_unsubstituted(TENANT_URL, &args.tenant_url);
    let api_key = reader.optional_or_unsubstituted(TENANT_API_KEY, &args.tenant_api_key);
    let (url, api_key) = match (url, api_key) {
        (Given::Value(url), Given::Value(api_key)) => (url, api_key),
        (Given::Value(_), _) => {
            reader.add(TENANT_API_KEY, format!("missing while {} is set: set both to find the downstream repository in the managed space, or neither", TENANT_URL.octopus));
            return None;
        }
        (_, Given::Value(_)) => {
            reader.add(TENANT_URL, format!("missing while {} is set: set both to find the downstream repository in the managed space, or neither", TENANT_API_KEY.octopus));
            return None;
        }
        _ => return None,
    };
    let url = reader.check(TENANT_URL, Some(url), |text| {
        values::http_url(text, &values::SERVER_URL)
    });
    let api_key = reader.check(TENANT_API_KEY, Some(api_key), values::api_key);
    let repository = repository?;
    if repository.new_repo_given {
        tracing::info!(
            "{} names the downstream repository: the managed space is not asked",
            GIT_NEW_REPO.octopus
        );
        return None;
    }
    let space = target_space(reader, &args.managed_space_id, &repository.tenant_name);
    let Some(project) = repository.downstream_project.clone() else {
        reader.add(EXPORTED_PROJECT_NAME, format!("missing (and {} too): the downstream project's name, to read its repository in the managed space", PROJECT_NAME.octopus));
        return None;
    };
    Some(DownstreamLookup {
        server: ServerConfig {
            url: url?,
            api_key: api_key?,
            ca_file: repository.ca_file.clone(),
        },
        space: space?,
        project,
    })
}

impl MergeConfig {
    /// `merge`'s inputs, validated: every problem at once.
    pub fn from_args(args: &MergeArgs) -> Result<Self, ConfigError> {
        let mut reader = Reader::default();
        let repository = RepositoryConfig::read(&mut reader, &args.repository);
        let downstream_lookup = downstream_lookup(&mut reader, args, repository.as_ref());
        let all_branches = reader.flag(FORK_ALL_BRANCHES, &args.all_branches);
        let (author_name, author_email) = reader
            .optional_as(GIT_AUTHOR, &args.git_author, author)
            .unwrap_or_else(|| (DEFAULT_AUTHOR.0.to_owned(), DEFAULT_AUTHOR.1.to_owned()));
        let check = reader.flag(MERGE_CHECK, &args.check);
        let report_dir = report_dir(&mut reader, &args.report_dir, &args.no_report, process_env);
        let git_cache_dir = reader
            .optional(GIT_CACHE_DIR, &args.git_cache_dir)
            .map(std::path::PathBuf::from);
        reader.finish(|| MergeConfig {
            repository: repository.expect("no problems means the repositories"),
            downstream_lookup,
            all_branches,
            author_name,
            author_email,
            check,
            report_dir,
            git_cache_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authors_are_name_and_email() {
        assert_eq!(
            author("Ops Team <ops@example.com>").unwrap(),
            ("Ops Team".to_owned(), "ops@example.com".to_owned())
        );
        for bad in [
            "ops@example.com",
            "<ops@example.com>",
            "Ops <>",
            "Ops <a b@c>",
            "Ops <x> y",
        ] {
            assert!(author(bad).is_err(), "{bad}");
        }
    }
}
