//! GitHub REST (github.com and GitHub Enterprise Server): get the repository, or create it empty
//! in the organization (or for the user), and set its default branch.

use super::api::{owner_repository, repos_path, segment, ApiClient, ApiResponse, Auth, PULL_KEYS};
use super::{Forge, ForgeAccess, ForgeError, PullRequest, Repository};
use reqwest::Method;
use serde_json::json;

pub struct GitHub {
    api: ApiClient,
}

impl GitHub {
    pub fn new(access: &ForgeAccess) -> Result<GitHub, ForgeError> {
        // GitHub's API takes tokens only (a PAT or an installation token), never a password.
        let auth = Auth::Header {
            name: "authorization",
            value: crate::secret::Secret::new(format!("Bearer {}", access.password.expose())),
        };
        let headers = vec![
            ("accept", "application/vnd.github+json"),
            ("x-github-api-version", "2022-11-28"),
        ];
        Ok(GitHub {
            api: ApiClient::new(access, auth, headers)?,
        })
    }
}

impl Forge for GitHub {
    async fn find_repository(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<Repository>, ForgeError> {
        self.api.get_repository(owner, name).await
    }

    /// `GET /repos/{owner}/{repo}/pulls?state=open&head={owner}:{branch}&base={base}`
    /// (docs.github.com/en/rest/pulls/pulls#list-pull-requests: `head` is `user:ref-name`).
    async fn find_pull_request(
        &self,
        repository: &Repository,
        head: &str,
        base: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let (owner, name) = repository.owner_and_name();
        let path = format!(
            "{}/pulls?state=open&head={}&base={}&per_page=100",
            repos_path(owner, name),
            segment(&format!("{owner}:{head}")),
            segment(base)
        );
        self.api.first_pull_request(&path, PULL_KEYS).await
    }

    /// `POST /repos/{owner}/{repo}/pulls` with `title`, `head`, `base`, `body` → 201
    /// (docs.github.com/en/rest/pulls/pulls#create-a-pull-request); a second one for the same
    /// head and base is 422 "A pull request already exists for owner:branch.".
    async fn create_pull_request(
        &self,
        repository: &Repository,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let (owner, name) = repository.owner_and_name();
        let request = json!({"title": title, "head": head, "base": base, "body": body});
        let path = format!("{}/pulls", repos_path(owner, name));
        let exists = |response: &ApiResponse| {
            response.is(422) && response.message().contains("already exists")
        };
        match self
            .api
            .create_pull_request(&path, &request, PULL_KEYS, exists)
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
        _default_branch: &str,
    ) -> Result<Repository, ForgeError> {
        if let Some(repository) = self.api.get_repository(owner, name).await? {
            return Ok(repository);
        }
        // No `default_branch`: not a create parameter on GitHub (HEAD is the account's default);
        // fork sets the main line as default after its push.
        let body = json!({
            "name": name, "private": true, "auto_init": false, "description": "Forked by octofleet",
        });
        let mut response = self
            .api
            .send(
                Method::POST,
                &format!("orgs/{}/repos", segment(owner)),
                Some(&body),
            )
            .await?;
        // 404: no such organization, or it is the user's own account.
        if response.is(404) {
            let user = self.api.send(Method::GET, "user", None).await?;
            if user
                .text("login")
                .is_some_and(|login| login.eq_ignore_ascii_case(owner))
            {
                response = self
                    .api
                    .send(Method::POST, "user/repos", Some(&body))
                    .await?;
            } else {
                return Err(ForgeError::OrganizationMissing {
                    platform: self.api.platform,
                    organization: owner.to_owned(),
                    url: response.url.clone(),
                });
            }
        }
        match response.status.as_u16() {
            201 => Ok(owner_repository(&response, true)),
            // "name already exists on this account": created meanwhile.
            422 if response.message().contains("already exists") => self
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
        if response.is(200) {
            Ok(())
        } else {
            Err(response.unexpected(self.api.platform))
        }
    }
}
