//! GitLab REST v4: get the project by path, or create it empty in the namespace (a group or the
//! user) looked up by path, and set its default branch.

use super::api::{segment, ApiClient, ApiResponse, Auth, PullKeys};

/// GitLab's merge request: `iid` and `web_url`.
const MERGE_REQUEST_KEYS: PullKeys = PullKeys {
    number: "iid",
    url: "web_url",
};
use super::{Forge, ForgeAccess, ForgeError, PullRequest, Repository};
use reqwest::Method;
use serde_json::{json, Value};

pub struct GitLab {
    api: ApiClient,
}

impl GitLab {
    pub fn new(access: &ForgeAccess) -> Result<GitLab, ForgeError> {
        // GitLab's API takes a personal, group or project access token, never a password.
        let auth = Auth::Header {
            name: "private-token",
            value: access.password.clone(),
        };
        Ok(GitLab {
            api: ApiClient::new(access, auth, Vec::new())?,
        })
    }

    async fn get(&self, namespace: &str, path: &str) -> Result<Option<Repository>, ForgeError> {
        let id = segment(&format!("{namespace}/{path}"));
        let response = self
            .api
            .send(Method::GET, &format!("projects/{id}"), None)
            .await?;
        match response.status.as_u16() {
            200 => Ok(Some(project(&response, false))),
            404 => Ok(None),
            _ => Err(response.unexpected(self.api.platform)),
        }
    }
}

fn project(response: &ApiResponse, created: bool) -> Repository {
    Repository {
        api_id: response
            .body
            .get("id")
            .map(|id| match id {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default(),
        full_name: response.text("path_with_namespace").unwrap_or_default(),
        clone_url: response.text("http_url_to_repo").unwrap_or_default(),
        created,
        default_branch: response.text("default_branch"),
    }
}

impl Forge for GitLab {
    async fn find_repository(
        &self,
        namespace: &str,
        path: &str,
    ) -> Result<Option<Repository>, ForgeError> {
        self.get(namespace, path).await
    }

    /// `GET /projects/:id/merge_requests?state=opened&source_branch=…&target_branch=…`
    /// (docs.gitlab.com/api/merge_requests, "List project merge requests").
    async fn find_pull_request(
        &self,
        repository: &Repository,
        head: &str,
        base: &str,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let path = format!(
            "projects/{}/merge_requests?state=opened&source_branch={}&target_branch={}",
            segment(&repository.api_id),
            segment(head),
            segment(base)
        );
        self.api.first_pull_request(&path, MERGE_REQUEST_KEYS).await
    }

    /// `POST /projects/:id/merge_requests` with `source_branch`, `target_branch`, `title`,
    /// `description` → 201 (docs.gitlab.com/api/merge_requests, "Create MR"); 409 "Another open
    /// merge request already exists for this source branch: !N". The API answers every
    /// `validate_branches` error of the model with 409 (`handle_merge_request_errors!`), so only
    /// that text means "it exists"; a source equal to its target is a 422 (`branch_conflict`).
    async fn create_pull_request(
        &self,
        repository: &Repository,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, ForgeError> {
        let request = json!({
            "source_branch": head, "target_branch": base, "title": title, "description": body,
        });
        let path = format!("projects/{}/merge_requests", segment(&repository.api_id));
        match self
            .api
            .create_pull_request(&path, &request, MERGE_REQUEST_KEYS, |response| {
                response.is(409) && response.message().contains("already exists")
            })
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
        namespace: &str,
        path: &str,
        _default_branch: &str,
    ) -> Result<Repository, ForgeError> {
        if let Some(repository) = self.get(namespace, path).await? {
            return Ok(repository);
        }
        let lookup = self
            .api
            .send(
                Method::GET,
                &format!("namespaces/{}", segment(namespace)),
                None,
            )
            .await?;
        if lookup.is(404) {
            return Err(ForgeError::OrganizationMissing {
                platform: self.api.platform,
                organization: namespace.to_owned(),
                url: lookup.url.clone(),
            });
        }
        let Some(namespace_id) = lookup.body.get("id").filter(|_| lookup.is(200)).cloned() else {
            return Err(lookup.unexpected(self.api.platform));
        };
        // No `default_branch`: GitLab takes it only for the README commit of
        // `initialize_with_readme` (gitlab!63771, gitlab#333426); the first pushed branch
        // becomes the default, and fork sets the main line as default after its push.
        let body = json!({
            "name": path, "path": path, "namespace_id": namespace_id, "visibility": "private",
            "initialize_with_readme": false, "description": "Forked by octofleet",
        });
        let response = self.api.send(Method::POST, "projects", Some(&body)).await?;
        match response.status.as_u16() {
            201 => Ok(project(&response, true)),
            // Documented as 409, answered as 400 "has already been taken": created meanwhile.
            400 | 409 if response.message().contains("has already been taken") => self
                .get(namespace, path)
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
        let response = self
            .api
            .send(
                Method::PUT,
                &format!("projects/{}", segment(&repository.api_id)),
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
