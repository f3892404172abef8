//! Gitea (and Forgejo) API v1: get the repository, or create it empty in the organization (or
//! for the user, when the "organization" is the user), and set its default branch.

use super::api::{owner_repository, repos_path, segment, ApiClient, Auth, PULL_KEYS};
use super::{Forge, ForgeAccess, ForgeError, PullRequest, Repository};
use reqwest::Method;
use serde_json::{json, Value};

pub struct Gitea {
    api: ApiClient,
}

impl Gitea {
    pub fn new(access: &ForgeAccess) -> Result<Gitea, ForgeError> {
        // Basic works with a password and with a token as the password (Gitea tries both), which
        // is also how git authenticates, so one pair of inputs serves both.
        let auth = Auth::Basic {
            username: access.username.clone(),
            password: access.password.clone(),
        };
        Ok(Gitea {
            api: ApiClient::new(access, auth, Vec::new())?,
        })
    }

    async fn login(&self) -> Result<Option<String>, ForgeError> {
        let response = self.api.send(Method::GET, "user", None).await?;
        Ok(response.text("login"))
    }
}

/// Pages of open pull requests read before giving up (50 each).
const PULL_PAGES: usize = 20;

impl Forge for Gitea {
    async fn find_repository(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<Repository>, ForgeError> {
        self.api.get_repository(owner, name).await
    }

    /// `GET /repos/{owner}/{repo}/pulls?state=open` (docs.gitea.com, API "repoListPullRequests":
    /// `state`, `page`, `limit`), filtered here by `head.ref` and `base.ref`: older Gitea has no
    /// head/base filter on the list.
    async fn find_pull_request(
        &self,
        repository: &Repository,
        head: &str,
        base: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let (owner, name) = repository.owner_and_name();
        for page in 1..=PULL_PAGES {
            let path = format!(
                "{}/pulls?state=open&limit=50&page={page}",
                repos_path(owner, name)
            );
            let response = self.api.send(Method::GET, &path, None).await?;
            if !response.is(200) {
                return Err(response.unexpected(self.api.platform));
            }
            let pulls = response.body.as_array().cloned().unwrap_or_default();
            let found = pulls.iter().find(|pull| {
                pull.pointer("/head/ref").and_then(Value::as_str) == Some(head)
                    && pull.pointer("/base/ref").and_then(Value::as_str) == Some(base)
            });
            if let Some(found) = found {
                return Ok(PULL_KEYS.read(found, false));
            }
            if pulls.len() < 50 {
                break;
            }
        }
        Ok(None)
    }

    /// `POST /repos/{owner}/{repo}/pulls` with `CreatePullRequestOption` (`head`, `base`,
    /// `title`, `body`) → 201 `PullRequest`; 409 when an open one has the same head and base
    /// (go-gitea/gitea `routers/api/v1/repo/pull.go` `CreatePullRequest`: an unmerged pull
    /// request with the same head and base is `ErrPullRequestAlreadyExists`, answered 409).
    async fn create_pull_request(
        &self,
        repository: &Repository,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let (owner, name) = repository.owner_and_name();
        let request = json!({"head": head, "base": base, "title": title, "body": body});
        let path = format!("{}/pulls", repos_path(owner, name));
        match self
            .api
            .create_pull_request(&path, &request, PULL_KEYS, |response| response.is(409))
            .await?
        {
            Ok(created) => Ok(created),
            Err(exists) => self
                .find_pull_request(repository, head, base)
                .await?
                .ok_or_else(|| exists.unexpected(self.api.platform)),
        }
    }

    async fn ensure_repository(
        &self,
        owner: &str,
        name: &str,
        default_branch: &str,
    ) -> Result<Repository, ForgeError> {
        if let Some(repository) = self.api.get_repository(owner, name).await? {
            return Ok(repository);
        }
        // auto_init false: the repository starts empty, so the upstream history pushes as is.
        let body = json!({
            "name": name, "private": true, "auto_init": false, "default_branch": default_branch,
            "description": "Forked by octofleet",
        });
        let mut response = self
            .api
            .send(
                Method::POST,
                &format!("orgs/{}/repos", segment(owner)),
                Some(&body),
            )
            .await?;
        // 422 "org does not exist" (or 404 when not visible): the owner may be the user itself.
        // A 422 about a field ("[Name]: AlphaDashDot", Gitea's binding errors) is no such thing.
        let field_error = response.message().starts_with('[');
        if (response.is(422) && !field_error) || response.is(404) {
            let login = self.login().await?;
            if login.is_some_and(|login| login.eq_ignore_ascii_case(owner)) {
                response = self
                    .api
                    .send(Method::POST, "user/repos", Some(&body))
                    .await?;
            } else if response.message().contains("org does not exist") || response.is(404) {
                return Err(ForgeError::OrganizationMissing {
                    platform: self.api.platform,
                    organization: owner.to_owned(),
                    url: response.url.clone(),
                });
            }
        }
        match response.status.as_u16() {
            201 => Ok(owner_repository(&response, true)),
            // Created meanwhile (another run for the same tenant): use it.
            409 => self
                .api
                .get_repository(owner, name)
                .await?
                .ok_or_else(|| response.unexpected(self.api.platform)),
            _ => Err(response.unexpected(self.api.platform)),
        }
    }

    async fn set_default_branch(
        &self,
        repository: &Repository,
        branch: &str,
    ) -> Result<(), ForgeError> {
        let (owner, name) = repository.owner_and_name();
        let response = self
            .api
            .send(
                Method::PATCH,
                &repos_path(owner, name),
                Some(&json!({"default_branch": branch})),
            )
            .await?;
        // Gitea answers 200 even when it did not apply the branch: check what it says now.
        if response.is(200) && response.text("default_branch").as_deref() == Some(branch) {
            Ok(())
        } else {
            Err(response.unexpected(self.api.platform))
        }
    }
}
