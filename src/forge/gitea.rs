//! Gitea (and Forgejo) API v1: get the repository, or create it empty in the organization (or
//! for the user, when the "organization" is the user), and set its default branch.

use super::api::{segment, ApiClient, ApiResponse, Auth};
use super::{Forge, ForgeAccess, ForgeError, Repository};
use reqwest::Method;
use serde_json::json;

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

    async fn get(&self, owner: &str, name: &str) -> Result<Option<Repository>, ForgeError> {
        let response = self
            .api
            .send(Method::GET, &repo_path(owner, name), None)
            .await?;
        match response.status.as_u16() {
            200 => Ok(Some(repository(&response, false))),
            404 => Ok(None),
            _ => Err(response.unexpected(self.api.platform)),
        }
    }

    async fn login(&self) -> Result<Option<String>, ForgeError> {
        let response = self.api.send(Method::GET, "user", None).await?;
        Ok(response.text("login"))
    }
}

fn repo_path(owner: &str, name: &str) -> String {
    format!("repos/{}/{}", segment(owner), segment(name))
}

fn repository(response: &ApiResponse, created: bool) -> Repository {
    let full_name = response.text("full_name").unwrap_or_default();
    Repository {
        api_id: full_name.clone(),
        full_name,
        clone_url: response.text("clone_url").unwrap_or_default(),
        created,
        default_branch: response.text("default_branch"),
    }
}

impl Forge for Gitea {
    async fn ensure_repository(
        &self,
        owner: &str,
        name: &str,
        default_branch: &str,
    ) -> Result<Repository, ForgeError> {
        if let Some(repository) = self.get(owner, name).await? {
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
        if response.is(422) || response.is(404) {
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
            201 => Ok(repository(&response, true)),
            // Created meanwhile (another run for the same tenant): use it.
            409 => self
                .get(owner, name)
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
        let (owner, name) = repository
            .api_id
            .split_once('/')
            .unwrap_or((&repository.api_id, ""));
        let response = self
            .api
            .send(
                Method::PATCH,
                &repo_path(owner, name),
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
