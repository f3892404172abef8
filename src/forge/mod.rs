//! Tenant repositories on git platforms: make sure the downstream repository exists through the
//! platform's REST API (Gitea, GitHub, GitLab) and mirror the upstream's refs into it with git2.

mod api;
mod git_http;
pub(crate) mod gitea;
pub(crate) mod github;
pub(crate) mod gitlab;
pub(crate) mod merge;
pub(crate) mod mirror;
mod mirror_error;
mod object_cache;
mod transport;

use crate::secret::Secret;
use std::fmt;
use std::future::Future;
use url::Url;

pub(crate) use api::ForgeError;

/// The platforms `fork` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Gitea (and Forgejo): REST API v1.
    Gitea,
    /// GitHub or GitHub Enterprise Server.
    GitHub,
    /// GitLab: REST API v4.
    GitLab,
}

impl Platform {
    /// The names `parse` takes, for messages.
    pub const NAMES: &'static str = "gitea, github, gitlab";

    /// A platform by name, in any case (`forgejo` is Gitea).
    pub fn parse(text: &str) -> Option<Platform> {
        match text.trim().to_ascii_lowercase().as_str() {
            "gitea" | "forgejo" => Some(Platform::Gitea),
            "github" => Some(Platform::GitHub),
            "gitlab" => Some(Platform::GitLab),
            _ => None,
        }
    }

    /// The REST API root for a server reached as `{protocol}://{host}`: Gitea `/api/v1`, GitLab
    /// `/api/v4`, GitHub `https://api.github.com` for github.com and `/api/v3` (GitHub
    /// Enterprise Server) for any other host.
    pub fn api_base(self, protocol: &str, host: &str) -> Result<Url, url::ParseError> {
        let text = match self {
            Platform::Gitea => format!("{protocol}://{host}/api/v1/"),
            Platform::GitLab => format!("{protocol}://{host}/api/v4/"),
            Platform::GitHub if host.eq_ignore_ascii_case("github.com") => {
                "https://api.github.com/".to_owned()
            }
            Platform::GitHub => format!("{protocol}://{host}/api/v3/"),
        };
        Url::parse(&text)
    }

    /// Whether the platform takes `name` for a new repository as it is: every platform's
    /// characters ([`is_valid_repository_name`]), and on GitLab a project path's rule: a letter
    /// or digit at either end and no two of `-`, `_`, `.` in a row (docs.gitlab.com/user/
    /// reserved_names; GitLab answers 400 otherwise).
    pub fn takes_repository_name(self, name: &str) -> bool {
        is_valid_repository_name(name)
            && (self != Platform::GitLab
                || (self.fit_repository_name(name) == name && !name.ends_with(".atom")))
    }

    /// `name` (already [`repository_name`]-sanitized) made one the platform takes: on GitLab a
    /// run of `-`, `_`, `.` becomes its first character and none is left at either end
    /// (`"hello_world__cac_"` → `hello_world_cac`); elsewhere unchanged.
    pub fn fit_repository_name(self, name: &str) -> String {
        if self != Platform::GitLab {
            return name.to_owned();
        }
        let mut fitted = String::new();
        let mut previous_special = true;
        for c in name.chars() {
            let special = !c.is_ascii_alphanumeric();
            if !(special && previous_special) {
                fitted.push(c);
            }
            previous_special = special;
        }
        fitted
            .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_owned()
    }

    /// The git username to send with a token when none is configured.
    pub fn token_username(self) -> &'static str {
        match self {
            Platform::Gitea | Platform::GitHub => "x-access-token",
            Platform::GitLab => "oauth2",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::Gitea => "Gitea",
            Platform::GitHub => "GitHub",
            Platform::GitLab => "GitLab",
        })
    }
}

/// How to reach a platform's API, and who we are there.
#[derive(Debug, Clone)]
pub struct ForgeAccess {
    /// The platform.
    pub platform: Platform,
    /// The REST API root (see [`Platform::api_base`]).
    pub api_base: Url,
    /// The user the credential belongs to.
    pub username: String,
    /// A password or an access token.
    pub password: Secret,
    /// The run's one HTTP client (built by `http_client::build` with the CA input): the API
    /// calls and git (see `git_http`) both go through it.
    pub http: reqwest::Client,
    /// When the action must be done (`Octofleet.Timeout`): a rate limit whose wait would end
    /// after it is an error at once instead of a wait. `None`: no deadline of ours.
    pub deadline: Option<std::time::Instant>,
}

/// The downstream repository as the platform reports it.
#[derive(Debug, Clone)]
pub struct Repository {
    /// `owner/name` (Gitea, GitHub) or the numeric project ID (GitLab): how the API names it.
    pub api_id: String,
    /// `owner/name` (a GitLab subgroup path included).
    pub full_name: String,
    /// The HTTP(S) clone URL, without credentials.
    pub clone_url: String,
    /// Created by this call.
    pub created: bool,
    /// What the platform says its default branch is (GitLab: none while empty).
    pub default_branch: Option<String>,
}

impl Repository {
    /// `(owner, name)` from `api_id` (Gitea, GitHub: `owner/name`).
    pub fn owner_and_name(&self) -> (&str, &str) {
        self.api_id.split_once('/').unwrap_or((&self.api_id, ""))
    }
}

/// A pull request (GitLab: merge request) in the downstream repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PullRequest {
    /// Gitea's and GitHub's `number`, GitLab's `iid`: what people call it (`#3`, `!3`).
    pub number: u64,
    /// Its web page.
    pub url: String,
    /// Opened by this run (else an open one was found).
    pub created: bool,
}

/// One platform's repository API.
pub trait Forge {
    /// `owner/name` as the platform reports it, or None when it does not exist.
    fn find_repository(
        &self,
        owner: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<Repository>, ForgeError>> + Send;

    /// The open pull request from branch `head` into branch `base`, both in `repository`.
    fn find_pull_request(
        &self,
        repository: &Repository,
        head: &str,
        base: &str,
    ) -> impl Future<Output = Result<Option<PullRequest>, ForgeError>> + Send;

    /// Open a pull request from `head` into `base`; one opened meanwhile by someone else (the
    /// platform refuses a second) is found and returned instead.
    fn create_pull_request(
        &self,
        repository: &Repository,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> impl Future<Output = Result<PullRequest, ForgeError>> + Send;

    /// Find `owner/name`, creating it empty (no README; `default_branch` as its HEAD where the
    /// platform takes it on create, Gitea only) when it does not exist; a concurrent creation
    /// by someone else counts as found. The caller sets the default branch after its first push
    /// where the platform reports another.
    fn ensure_repository(
        &self,
        owner: &str,
        name: &str,
        default_branch: &str,
    ) -> impl Future<Output = Result<Repository, ForgeError>> + Send;

    /// Make `branch` (which exists by now) the repository's default branch.
    fn set_default_branch(
        &self,
        repository: &Repository,
        branch: &str,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
}

/// The reference implementation's rule for repository names: lower case, every character
/// outside `[a-z0-9]` → `_` (so `"Team A"` → `team_a`).
pub fn repository_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// What the platforms accept as a repository name: letters, digits, `-`, `_`, `.`, at most 100,
/// not `.`/`..`, not ending in `.git`.
pub fn is_valid_repository_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && !name.ends_with(".git")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_reference_implementation() {
        assert_eq!(repository_name("Team A"), "team_a");
        assert_eq!(repository_name("Hello World (CaC)!"), "hello_world__cac__");
        assert_eq!(repository_name("Ünïcode"), "_n_code");
        assert!(is_valid_repository_name("team_a_hello_world"));
        assert!(!is_valid_repository_name("team a"));
        assert!(!is_valid_repository_name("x.git"));
    }

    #[test]
    fn gitlab_takes_only_project_paths_and_names_are_fitted_to_them() {
        let gitlab = Platform::GitLab;
        assert!(gitlab.takes_repository_name("team_a_hello_world_cac"));
        for refused in ["hello_world__cac_", "_x", "x_", "a.-b", "x.atom", "team a"] {
            assert!(!gitlab.takes_repository_name(refused), "{refused}");
        }
        assert!(Platform::Gitea.takes_repository_name("hello_world__cac_"));
        assert_eq!(
            gitlab.fit_repository_name("acme_corp___eu__web_app__blue_green_"),
            "acme_corp_eu_web_app_blue_green"
        );
        assert_eq!(gitlab.fit_repository_name("_n_code"), "n_code");
        assert_eq!(gitlab.fit_repository_name("team__a.-b"), "team_a.b");
        assert_eq!(
            Platform::GitHub.fit_repository_name("hello_world__cac_"),
            "hello_world__cac_"
        );
        for name in ["acme_corp___eu__", "x", "a__b__c"] {
            assert!(gitlab.takes_repository_name(&gitlab.fit_repository_name(name)));
        }
    }

    #[test]
    fn api_roots() {
        let url = |platform: Platform, host| platform.api_base("http", host).unwrap().to_string();
        assert_eq!(
            url(Platform::Gitea, "gitea:3000"),
            "http://gitea:3000/api/v1/"
        );
        assert_eq!(
            url(Platform::GitHub, "github.com"),
            "https://api.github.com/"
        );
        assert_eq!(
            url(Platform::GitHub, "ghe.local"),
            "http://ghe.local/api/v3/"
        );
        assert_eq!(
            url(Platform::GitLab, "gitlab.local"),
            "http://gitlab.local/api/v4/"
        );
        assert_eq!(Platform::parse(" GitHub "), Some(Platform::GitHub));
        assert_eq!(Platform::parse("bitbucket"), None);
    }
}
