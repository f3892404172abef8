//! An in-process emulator of the Gitea API v1, GitHub and GitLab repository and pull request
//! subsets octofleet uses, serving real git smart HTTP for every repository through
//! `git http-backend` behind Basic auth, with a request log for tests. Each platform rule cites
//! its public source where it is made (`api.rs`, `auth.rs`): go-gitea/gitea's API routes
//! (`routers/api/v1/repo/*.go`), docs.github.com/rest, docs.gitlab.com/api and the issues named
//! there.
//!
//! Repositories are bare repositories in a temporary directory, laid out `<owner>/<name>.git`;
//! the helpers here build upstream histories with real git (`git fast-import`), so what a client
//! fetches and pushes is checked by git itself, not by this crate.

mod api;
mod auth;
mod git_http;
mod repos;
mod server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use repos::{PullRecord, UpstreamSpec};

use crate::server::Shared;

/// The platform a forge emulator plays: its API alone answers, and its rules apply (the auth
/// schemes it takes, how it names a new repository, GitLab's protected default branch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Gitea's API v1.
    Gitea,
    /// GitHub's REST API.
    GitHub,
    /// GitLab's REST API v4.
    GitLab,
}

impl Platform {
    /// `gitea`, `github` or `gitlab`, as octofleet's `Git.Platform` spells them.
    pub fn parse(text: &str) -> Option<Platform> {
        match text.to_ascii_lowercase().as_str() {
            "gitea" => Some(Platform::Gitea),
            "github" => Some(Platform::GitHub),
            "gitlab" => Some(Platform::GitLab),
            _ => None,
        }
    }
}

/// How a forge emulator starts: its address, its one user, and the platform it plays.
#[derive(Debug, Clone)]
pub struct ForgeConfig {
    /// Where it listens (port 0: any free port).
    pub listen: SocketAddr,
    /// The one user: API calls and git need this username with `password`, or `password` as a
    /// token (`Authorization: token …`/`Bearer …`, GitLab's `PRIVATE-TOKEN`), in the schemes
    /// `platform` takes.
    pub username: String,
    /// The user's password, also taken as a token.
    pub password: String,
    /// None: all three APIs answer and every scheme of the three is taken (no platform's own
    /// rules); Some: the emulator is that platform.
    pub platform: Option<Platform>,
}

impl Default for ForgeConfig {
    fn default() -> Self {
        ForgeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            username: "octopus".to_owned(),
            password: "Password01!".to_owned(),
            platform: None,
        }
    }
}

/// One request as the emulator saw it; `/_emulator/*` is not logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The HTTP method.
    pub method: String,
    /// As sent, still percent-encoded.
    pub path: String,
    /// The query string as sent.
    pub query: String,
    /// The status answered.
    pub status: u16,
    /// Whether the request carried credentials, and whether they were this forge's user's (the
    /// credentials themselves are never kept).
    #[serde(default)]
    pub credentials: CredentialsSeen,
    /// How they were sent: `Basic <username>` (plain `Basic` when the username may be a token),
    /// `token`, `Bearer`, `PRIVATE-TOKEN`; never a secret.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Request body bytes read (for git, what the client sent: a pushed pack is counted here).
    pub request_bytes: u64,
    /// Response body bytes written (for git, what the client fetched).
    pub response_bytes: u64,
}

/// A rule armed on the forge (see [`ForgeEmulator::gather`]) as it reports itself: what it does,
/// how many requests it was armed for and how many times it fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// What the rule does, e.g. `POST …/git-receive-pack: held until 2 have arrived`.
    pub rule: String,
    /// The requests it was armed for.
    pub shots: Option<usize>,
    /// How many times it fired (a gather fires once, when all its requests came).
    pub fired: usize,
}

/// How a platform refuses a call for going too fast (see [`ForgeEmulator::rate_limit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// GitHub's secondary rate limit: 403, a message naming it, `retry-after` when given
    /// (GitHub docs, "Rate limits for the REST API": "you will receive a 403 or 429 response and
    /// an error message that indicates that you exceeded a secondary rate limit. If the
    /// retry-after response header is present, you should not retry your request until after
    /// that many seconds has elapsed ... Otherwise, wait for at least one minute").
    GitHubSecondary {
        /// `retry-after`, in seconds.
        retry_after: Option<u64>,
    },
    /// GitHub's primary rate limit: 403 with `x-ratelimit-remaining: 0` and
    /// `x-ratelimit-reset` (UTC epoch seconds) this many seconds from now (same page).
    GitHubPrimary {
        /// Seconds from now to `x-ratelimit-reset`.
        reset_in: u64,
    },
    /// GitLab: 429 with the `RateLimit-*` headers, `RateLimit-Reset` (Unix time) this many
    /// seconds from now and no `Retry-After`, and the body gitlab-org/gitlab#199738 shows
    /// (`{"message":{"error":"This endpoint has been requested too many times. Try again
    /// later."}}`).
    GitLab {
        /// Seconds from now to `RateLimit-Reset`.
        reset_in: u64,
    },
}

impl std::fmt::Display for FaultRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (fired {})", self.rule, self.fired)
    }
}

/// What a request presented as credentials (any scheme: Basic, token, `PRIVATE-TOKEN`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsSeen {
    /// No credentials were sent.
    #[default]
    None,
    /// Credentials that are not this forge's user's: someone else's were sent here.
    Rejected,
    /// This forge's user's credentials.
    Accepted,
}

impl RequestRecord {
    /// A git push that reached `git-receive-pack` (not the ref advertisement).
    pub fn is_receive_pack(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/git-receive-pack")
    }

    /// A write through the REST API (any of the three platforms): not GET/HEAD, not git, < 400.
    pub fn is_api_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD")
            && self.path.starts_with("/api/")
            && self.status < 400
    }
}

struct Running {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// A running forge emulator; clones are handles to the same server.
#[derive(Clone)]
pub struct ForgeEmulator {
    running: Arc<Running>,
}

impl ForgeEmulator {
    /// Start a forge with no repositories on a task of the current runtime.
    pub async fn start(config: ForgeConfig) -> std::io::Result<ForgeEmulator> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(&config, format!("http://{addr}"))?);
        let (shutdown, signal) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), signal));
        Ok(ForgeEmulator {
            running: Arc::new(Running {
                shared,
                addr,
                shutdown,
                task: std::sync::Mutex::new(Some(task)),
            }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.running.shared
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// `127.0.0.1:PORT`, what `Git.Url.Host` takes.
    pub fn host(&self) -> String {
        self.running.addr.to_string()
    }

    /// Served behind `public_url` (`https://127.0.0.1:PORT`, a TLS front relaying to [`url`]):
    /// the API's clone URLs and web links name it from now on, as a platform behind a
    /// terminating proxy names its public address (Gitea's `ROOT_URL`, GitLab's `external_url`).
    ///
    /// [`url`]: ForgeEmulator::url
    pub fn serve_as(&self, public_url: &str) {
        self.shared().set_base_url(public_url);
    }

    /// The one user's name.
    pub fn username(&self) -> &str {
        &self.shared().username
    }

    /// The one user's password (or token).
    pub fn password(&self) -> &str {
        &self.shared().password
    }

    /// Where the bare repositories live (`<owner>/<name>.git`).
    pub fn root(&self) -> &Path {
        self.shared().repos.root()
    }

    /// Every request so far, API and git, in the order they finished.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared().log_snapshot()
    }

    /// Forget the requests seen so far.
    pub fn clear_requests(&self) {
        self.shared().clear_log();
    }

    /// Create an organization (a Gitea org, a GitHub org, a GitLab group). Idempotent.
    pub fn create_org(&self, name: &str) {
        self.shared().repos.create_org(name);
    }

    /// Create an empty bare repository owned by `owner` (an org or the user), as the API would.
    /// Panics when the owner is unknown or the name is taken.
    pub fn create_repo(&self, owner: &str, name: &str) -> PathBuf {
        self.shared()
            .repos
            .create_repo(owner, name)
            .unwrap_or_else(|error| panic!("create_repo({owner}/{name}): {error:?}"))
    }

    /// Create a repository with history: see [`UpstreamSpec`]. Returns its path.
    pub fn create_upstream(&self, owner: &str, name: &str, spec: &UpstreamSpec) -> PathBuf {
        let path = self.create_repo(owner, name);
        repos::build_history(&path, spec).expect("git fast-import builds the upstream history");
        path
    }

    /// The bare repository of `owner/name` (case-insensitive), if it exists.
    pub fn repo_path(&self, owner: &str, name: &str) -> Option<PathBuf> {
        self.shared().repos.path_of(owner, name)
    }

    /// Add a commit (one changed file) on top of `branch` (creating the branch from nothing if it
    /// does not exist) in `owner/name`; returns the new commit ID.
    pub fn commit(&self, owner: &str, name: &str, branch: &str, message: &str) -> String {
        let path = self.existing(owner, name);
        repos::commit_on(&path, branch, message).expect("git fast-import adds the commit")
    }

    /// `git rev-parse --verify <rev>` in `owner/name`: None when it does not resolve.
    pub fn rev_parse(&self, owner: &str, name: &str, rev: &str) -> Option<String> {
        repos::rev_parse(&self.existing(owner, name), rev)
    }

    /// Every ref of `owner/name` with the object it points at (`git for-each-ref`), sorted.
    pub fn refs(&self, owner: &str, name: &str) -> Vec<(String, String)> {
        repos::refs(&self.existing(owner, name))
    }

    /// The branch `HEAD` points at, as the platform's default branch.
    pub fn default_branch(&self, owner: &str, name: &str) -> Option<String> {
        self.shared().repos.default_branch(owner, name)
    }

    /// Every pull (merge) request of `owner/name`, oldest first.
    pub fn pull_requests(&self, owner: &str, name: &str) -> Vec<PullRecord> {
        let repo = self
            .shared()
            .repos
            .find(owner, name)
            .unwrap_or_else(|| panic!("the forge emulator has no repository {owner}/{name}"));
        self.shared().repos.pulls(&repo)
    }

    /// Commit files (path → content; `None` deletes) on top of `branch` of `owner/name`, with
    /// `message`; returns the new commit ID. For histories whose files two sides both change.
    pub fn commit_files(
        &self,
        owner: &str,
        name: &str,
        branch: &str,
        message: &str,
        files: &[(&str, Option<&str>)],
    ) -> String {
        let path = self.existing(owner, name);
        repos::commit_files(&path, branch, message, files).expect("git fast-import adds the commit")
    }

    /// The content of `path` at `rev` in `owner/name` (`git show rev:path`), if it exists.
    pub fn file_at(&self, owner: &str, name: &str, rev: &str, path: &str) -> Option<String> {
        repos::show(&self.existing(owner, name), &format!("{rev}:{path}"))
    }

    /// The parents of commit `rev` in `owner/name`.
    pub fn parents(&self, owner: &str, name: &str, rev: &str) -> Vec<String> {
        repos::parents(&self.existing(owner, name), rev)
    }

    /// GitLab mode: allow force pushes to the default branch of `owner/name`, as a maintainer
    /// does under Settings → Repository → Protected branches ("Allowed to force push").
    pub fn allow_force_push(&self, owner: &str, name: &str) {
        repos::allow_force_push(&self.existing(owner, name)).expect("git config is written");
    }

    /// The platform this emulator plays, if any.
    pub fn platform(&self) -> Option<Platform> {
        self.shared().platform
    }

    /// Hold the next `count` requests whose method is `method` and whose path contains
    /// `path_contains` until all `count` have arrived, then let them go on together: two runs'
    /// creates or pushes meet every time, not only when timing happens to overlap them. After
    /// `within` a held request goes on alone, and [`ForgeEmulator::unfired_rules`] names the rule.
    pub fn gather(&self, method: &str, path_contains: &str, count: usize, within: Duration) {
        self.shared().gather(method, path_contains, count, within);
    }

    /// Every rule armed with [`ForgeEmulator::gather`], with whether it fired.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.shared().rules()
    }

    /// The armed rules that never fired: a race a test arranged that did not happen.
    pub fn unfired_rules(&self) -> Vec<FaultRule> {
        self.rules()
            .into_iter()
            .filter(|rule| rule.fired == 0)
            .collect()
    }

    /// Refuse the next `times` API calls whose method is `method` and whose path contains
    /// `path_contains` as the platform does when they come too fast ([`RateLimit`]); each
    /// refusal is logged with its status like any request.
    pub fn rate_limit(&self, method: &str, path_contains: &str, times: usize, limit: RateLimit) {
        self.shared()
            .rate_limit(method, path_contains, times, limit);
    }

    /// GitLab mode: the default branch of `owner/name` takes no push from the forge user's
    /// role (its "Allowed to push and merge" names a role above it, e.g. Maintainers for a
    /// Developer): every push to it is refused with GitLab's text "You are not allowed to push
    /// code to protected branches on this project." (gitlab-org/gitlab
    /// `lib/gitlab/checks/branch_check.rb`, as its spec quotes it).
    pub fn deny_pushes_by_role(&self, owner: &str, name: &str) {
        repos::deny_pushes_by_role(&self.existing(owner, name)).expect("git config is written");
    }

    /// Install a `pre-receive` hook that refuses every push with `message`.
    pub fn refuse_pushes(&self, owner: &str, name: &str, message: &str) {
        repos::install_refusing_hook(&self.existing(owner, name), message)
            .expect("the pre-receive hook is written");
    }

    fn existing(&self, owner: &str, name: &str) -> PathBuf {
        self.repo_path(owner, name)
            .unwrap_or_else(|| panic!("the forge emulator has no repository {owner}/{name}"))
    }

    /// Stop serving and wait for the server task to end.
    pub async fn shutdown(&self) {
        let _ = self.running.shutdown.send(true);
        let task = self
            .running
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
