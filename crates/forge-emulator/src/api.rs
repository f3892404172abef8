//! The three platforms' repository APIs over the one shared store, each with its own routes,
//! auth rules, status codes and bodies. Sources, cited again at each rule: Gitea,
//! go-gitea/gitea `routers/api/v1/repo/repo.go` (`CreateOrgRepo`/`CreateUserRepo`: 201, 409 "The
//! repository with the same name already exists.", 422), `fork.go`, `pull.go` and
//! `modules/structs/repo.go`; GitHub, docs.github.com/en/rest/repos and /rest/pulls; GitLab,
//! docs.gitlab.com/api/projects, /api/merge_requests and gitlab#356008 (a taken path is 400,
//! not the documented 409).

use axum::http::{header, HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::auth::{Caller, Surface};
use crate::repos::{self, Owner, OwnerKind, PullError, PullRecord, RepoError, RepoRecord};
use crate::server::{Reply, Shared};

pub struct Call<'a> {
    pub method: &'a str,
    /// After `/api/vN`, percent-decoded.
    pub segments: &'a [String],
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl Call<'_> {
    fn route(&self) -> (&str, Vec<&str>) {
        (
            self.method,
            self.segments.iter().map(String::as_str).collect(),
        )
    }

    fn json(&self) -> Option<Value> {
        if self.body.is_empty() {
            return Some(json!({}));
        }
        serde_json::from_slice::<Value>(self.body)
            .ok()
            .filter(Value::is_object)
    }

    fn query_value(&self, key: &str) -> Option<String> {
        form_pairs(self.query)
            .into_iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| {
                percent_encoding::percent_decode_str(&text.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(name), decode(value))
        })
        .collect()
}

pub fn not_found() -> Reply {
    Reply::json(StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
}

fn text(body: &Value, key: &str) -> Option<String> {
    body.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// What the three platforms share about a repository on disk.
struct Disk {
    empty: bool,
    default_branch: Option<String>,
}

fn disk(shared: &Shared, repo: &RepoRecord) -> Disk {
    let path = shared.repos.path(repo);
    Disk {
        empty: repos::is_empty(&path),
        default_branch: repos::head_branch(&path),
    }
}

/// Where a create call's `default_branch` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefaultBranchOnCreate {
    /// Taken as the new repository's HEAD, empty or not (Gitea).
    Honoured,
    /// Taken only for the README commit of `initialize_with_readme` (GitLab).
    WithReadmeOnly,
    /// Not a create parameter: HEAD is the platform's default, `main` (GitHub).
    Ignored,
}

/// Create the repository at `path` (shown as `display_name`), honouring `auto_init` /
/// `initialize_with_readme` (a README commit) and `default_branch` where the platform does.
fn create_repo(
    shared: &Shared,
    owner: &str,
    body: &Value,
    path: &str,
    display_name: &str,
    default_branch: DefaultBranchOnCreate,
) -> Result<RepoRecord, RepoError> {
    let private = body
        .get("private")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || body.get("visibility").and_then(Value::as_str) == Some("private");
    let description = text(body, "description").unwrap_or_default();
    let record = shared
        .repos
        .create(owner, path, display_name, &description, private)?;
    let disk_path = shared.repos.path(&record);
    let auto_init = ["auto_init", "initialize_with_readme"]
        .iter()
        .any(|key| body.get(*key).and_then(Value::as_bool) == Some(true));
    let requested = text(body, "default_branch");
    let branch = match default_branch {
        DefaultBranchOnCreate::Honoured => requested,
        DefaultBranchOnCreate::WithReadmeOnly => requested.filter(|_| auto_init),
        DefaultBranchOnCreate::Ignored => None,
    }
    .unwrap_or_else(|| "main".to_owned());
    repos::set_head(&disk_path, &branch).map_err(RepoError::Git)?;
    if auto_init {
        repos::commit_on(&disk_path, &branch, "Initial commit").map_err(RepoError::Git)?;
    }
    Ok(record)
}

/// GitHub's name for a new repository: every run of characters outside `[A-Za-z0-9._-]` becomes
/// one `-` ("My Repo" → `My-Repo`; defunkt/github-gem#47, dyad-sh/dyad#1856; a slash too,
/// 99designs/githubsurvivor#26). That a run becomes one `-` rather than one per character is
/// unverified.
fn github_repository_name(name: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out
}

/// GitLab's project path from a create call (app/services/projects/create_service.rb,
/// `set_project_name_from_path`, gitlab!52725): `path` when given; else the name when it is
/// already a valid path, else `name.parameterize` (Rails: runs of characters outside
/// `[A-Za-z0-9_-]` → `-`, no `--`, no leading/trailing `-`, lower case; Rails transliterates
/// accented letters first, approximated here by treating them as separators).
fn gitlab_path_from(name: &str) -> String {
    let format_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if format_ok {
        return name.to_owned();
    }
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-') {
            if c == '-' && out.ends_with('-') {
                continue;
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// GitLab's rule for a project path (lib/gitlab/regex.rb `oci_repository_path_regex`,
/// `\A[a-zA-Z0-9]+([._-][a-zA-Z0-9]+)*\z`, enforced on new paths since gitlab!80055; docs:
/// docs.gitlab.com/user/reserved_names, "Usernames and project or group slugs: must start and
/// end with a letter or digit, must not contain consecutive special characters, cannot end in
/// .git or .atom").
fn gitlab_path_is_valid(path: &str) -> bool {
    let mut previous_special = true;
    for c in path.chars() {
        let special = matches!(c, '.' | '_' | '-');
        if !(c.is_ascii_alphanumeric() || special) || (special && previous_special) {
            return false;
        }
        previous_special = special;
    }
    !previous_special && !path.ends_with(".git") && !path.ends_with(".atom")
}

/// Point HEAD at `branch` when it exists, or when the repository is still empty.
fn set_default_branch(shared: &Shared, repo: &RepoRecord, branch: &str) -> bool {
    let path = shared.repos.path(repo);
    (repos::is_empty(&path) || repos::has_branch(&path, branch))
        && repos::set_head(&path, branch).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Gitea / Forgejo API v1

fn gitea_error(status: StatusCode, message: &str, shared: &Shared) -> Reply {
    Reply::json(
        status,
        json!({"message": message, "url": format!("{}/api/swagger", shared.base_url())}),
    )
}

fn gitea_user(owner: &Owner) -> Value {
    json!({
        "id": owner.id, "login": owner.name, "username": owner.name, "full_name": "",
        "email": format!("{}@example.com", owner.name.to_ascii_lowercase()), "visibility": "public",
    })
}

fn gitea_repo(shared: &Shared, repo: &RepoRecord) -> Value {
    let disk = disk(shared, repo);
    let full_name = repo.full_name();
    let parent = repo
        .parent
        .as_ref()
        .and_then(|(owner, name)| shared.repos.find(owner, name))
        .map(|parent| gitea_repo(shared, &parent));
    json!({
        "id": repo.id,
        "owner": gitea_user(&repo.owner),
        "name": repo.name,
        "full_name": full_name,
        "description": repo.description,
        "empty": disk.empty,
        "private": repo.private,
        "fork": repo.parent.is_some(),
        "template": false,
        "parent": parent,
        "mirror": false,
        "html_url": format!("{}/{full_name}", shared.base_url()),
        "ssh_url": format!("git@127.0.0.1:{full_name}.git"),
        "clone_url": format!("{}/{full_name}.git", shared.base_url()),
        "default_branch": disk.default_branch.unwrap_or_else(|| "main".to_owned()),
        "archived": false,
        "created_at": repo.created_at,
        "permissions": {"admin": true, "push": true, "pull": true},
    })
}

pub fn gitea(shared: &Shared, call: &Call) -> Reply {
    match shared.caller(call.headers, Surface::Api) {
        Caller::User => {}
        Caller::Anonymous => {
            return gitea_error(StatusCode::UNAUTHORIZED, "token is required", shared)
        }
        Caller::Rejected => {
            return gitea_error(
                StatusCode::UNAUTHORIZED,
                "user does not exist or the password is wrong",
                shared,
            )
        }
    }
    let Some(body) = call.json() else {
        return gitea_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid JSON body",
            shared,
        );
    };
    let (method, route) = call.route();
    match (method, route.as_slice()) {
        ("GET", ["user"]) => Reply::json(StatusCode::OK, gitea_user(&shared.repos.user())),
        ("POST", ["orgs"]) => {
            let Some(name) = text(&body, "username") else {
                return gitea_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "[UserName]: Required",
                    shared,
                );
            };
            match shared.repos.try_create_org(&name) {
                Ok(org) => Reply::json(StatusCode::CREATED, gitea_user(&org)),
                Err(RepoError::NameTaken) => gitea_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("user already exists [name: {name}]"),
                    shared,
                ),
                Err(_) => gitea_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "[UserName]: invalid username",
                    shared,
                ),
            }
        }
        ("GET", ["orgs", org]) => match shared.repos.owner(org) {
            Some(owner) if owner.kind == OwnerKind::Org => {
                Reply::json(StatusCode::OK, gitea_user(&owner))
            }
            _ => gitea_error(
                StatusCode::NOT_FOUND,
                "The target couldn't be found.",
                shared,
            ),
        },
        ("POST", ["orgs" | "org", org, "repos"]) => {
            match shared.repos.owner(org) {
                Some(owner) if owner.kind == OwnerKind::Org => {}
                _ => {
                    return gitea_error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &format!("org does not exist [id: 0, name: {org}]"),
                        shared,
                    )
                }
            }
            gitea_create(shared, org, &body)
        }
        ("POST", ["user", "repos"]) => gitea_create(shared, &shared.username, &body),
        ("GET", ["repos", owner, name]) => match shared.repos.find(owner, name) {
            Some(repo) => Reply::json(StatusCode::OK, gitea_repo(shared, &repo)),
            None => gitea_error(
                StatusCode::NOT_FOUND,
                "The target couldn't be found.",
                shared,
            ),
        },
        ("PATCH", ["repos", owner, name]) => {
            let Some(repo) = shared.repos.find(owner, name) else {
                return gitea_error(
                    StatusCode::NOT_FOUND,
                    "The target couldn't be found.",
                    shared,
                );
            };
            // Gitea applies the default branch only when the branch exists or the repo is
            // empty, and otherwise answers 200 without applying it.
            if let Some(branch) = text(&body, "default_branch") {
                set_default_branch(shared, &repo, &branch);
            }
            Reply::json(StatusCode::OK, gitea_repo(shared, &repo))
        }
        ("GET", ["repos", owner, name, "pulls"]) => {
            let Some(repo) = shared.repos.find(owner, name) else {
                return gitea_error(
                    StatusCode::NOT_FOUND,
                    "The target couldn't be found.",
                    shared,
                );
            };
            // `state` open (default), closed or all; `page` from 1, `limit` (default 30 here,
            // the server's DEFAULT_PAGING_NUM; at most 50, MAX_RESPONSE_ITEMS).
            let state = call
                .query_value("state")
                .unwrap_or_else(|| "open".to_owned());
            let limit = call
                .query_value("limit")
                .and_then(|limit| limit.parse::<usize>().ok())
                .unwrap_or(30)
                .clamp(1, 50);
            let page = call
                .query_value("page")
                .and_then(|page| page.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1);
            let pulls: Vec<Value> = shared
                .repos
                .pulls(&repo)
                .iter()
                .rev()
                .filter(|pull| state == "all" || pull.state == state)
                .skip((page - 1) * limit)
                .take(limit)
                .map(|pull| gitea_pull(shared, &repo, pull))
                .collect();
            Reply::json(StatusCode::OK, Value::Array(pulls))
        }
        ("POST", ["repos", owner, name, "pulls"]) => {
            let Some(repo) = shared.repos.find(owner, name) else {
                return gitea_error(
                    StatusCode::NOT_FOUND,
                    "The target couldn't be found.",
                    shared,
                );
            };
            let (Some(head), Some(base)) = (text(&body, "head"), text(&body, "base")) else {
                return gitea_error(StatusCode::UNPROCESSABLE_ENTITY, "[Head]: Required", shared);
            };
            let title = text(&body, "title").unwrap_or_default();
            if title.is_empty() {
                return gitea_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "[Title]: Required",
                    shared,
                );
            }
            let description = text(&body, "body").unwrap_or_default();
            match shared.repos.create_pull(&repo, &head, &base, &title, &description) {
                Ok(pull) => Reply::json(StatusCode::CREATED, gitea_pull(shared, &repo, &pull)),
                // go-gitea/gitea routers/api/v1/repo/pull.go `CreatePullRequest`: an unmerged pull
                // request with the same head and base is `ErrPullRequestAlreadyExists`, a 409
                // whose message is that error's text.
                Err(PullError::Exists(pull)) => gitea_error(
                    StatusCode::CONFLICT,
                    &format!(
                        "pull request already exists for these targets [id: {}, issue_id: {}, head_repo_id: {}, base_repo_id: {}, head_branch: {head}, base_branch: {base}]",
                        pull.id, pull.id, repo.id, repo.id
                    ),
                    shared,
                ),
                Err(PullError::BranchMissing(..)) => gitea_error(StatusCode::NOT_FOUND, "The target couldn't be found.", shared),
                Err(PullError::SameBranch) => gitea_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid PullRequest: There are no changes between the head and the base",
                    shared,
                ),
            }
        }
        ("POST", ["repos", owner, name, "forks"]) => {
            let Some(base) = shared.repos.find(owner, name) else {
                return gitea_error(
                    StatusCode::NOT_FOUND,
                    "The target couldn't be found.",
                    shared,
                );
            };
            let target = match text(&body, "organization") {
                Some(org) => match shared.repos.owner(&org) {
                    Some(owner) if owner.kind == OwnerKind::Org => owner.name,
                    _ => {
                        return gitea_error(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            &format!("org does not exist [id: 0, name: {org}]"),
                            shared,
                        )
                    }
                },
                None => shared.username.clone(),
            };
            let fork_name = text(&body, "name").unwrap_or_else(|| base.name.clone());
            match shared.repos.fork(&base, &target, &fork_name) {
                // Gitea answers 202 ("TODO change back to 201").
                Ok(fork) => Reply::json(StatusCode::ACCEPTED, gitea_repo(shared, &fork)),
                Err(RepoError::AlreadyForked) => gitea_error(
                    StatusCode::CONFLICT,
                    &format!(
                        "repository is already forked by user [uname: {target}, repo path: {}]",
                        base.full_name()
                    ),
                    shared,
                ),
                Err(RepoError::NameTaken) => gitea_error(
                    StatusCode::CONFLICT,
                    "The repository with the same name already exists.",
                    shared,
                ),
                Err(error) => repo_error_gitea(error, shared),
            }
        }
        _ => gitea_error(
            StatusCode::NOT_FOUND,
            "The target couldn't be found.",
            shared,
        ),
    }
}

/// Gitea's `PullRequest` (docs.gitea.com API reference, `PullRequest` schema; fields octofleet
/// does not read are a subset): `url` and `html_url` are the web page.
fn gitea_pull(shared: &Shared, repo: &RepoRecord, pull: &PullRecord) -> Value {
    let full_name = repo.full_name();
    let path = shared.repos.path(repo);
    let branch = |name: &str| {
        json!({
            "label": name, "ref": name,
            "sha": repos::rev_parse(&path, &format!("refs/heads/{name}")),
            "repo_id": repo.id, "repo": gitea_repo(shared, repo),
        })
    };
    let html_url = format!("{}/{full_name}/pulls/{}", shared.base_url(), pull.number);
    json!({
        "id": pull.id,
        "number": pull.number,
        "url": html_url,
        "html_url": html_url,
        "diff_url": format!("{html_url}.diff"),
        "patch_url": format!("{html_url}.patch"),
        "user": gitea_user(&shared.repos.user()),
        "title": pull.title,
        "body": pull.body,
        "state": pull.state,
        "is_locked": false,
        "mergeable": false,
        "merged": false,
        "head": branch(&pull.head),
        "base": branch(&pull.base),
        "created_at": pull.created_at,
        "updated_at": pull.created_at,
    })
}

fn repo_error_gitea(error: RepoError, shared: &Shared) -> Reply {
    match error {
        RepoError::NameTaken => gitea_error(
            StatusCode::CONFLICT,
            "The repository with the same name already exists.",
            shared,
        ),
        // Gitea's API answers a binding error as "[Field]: Rule" (as "[Name]: Required" above):
        // `CreateRepoOption.Name` is `binding:"Required;AlphaDashDot;MaxSize(100)"`
        // (modules/structs/repo.go), so a name outside it is "[Name]: AlphaDashDot", 422, as
        // Forgejo's `fj repo create` reports it ("validation failed: [Name]: AlphaDashDot") and
        // Gitea API clients' fixtures record it (`{"message": "[Name]: AlphaDashDot"}`).
        RepoError::InvalidName => gitea_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "[Name]: AlphaDashDot",
            shared,
        ),
        RepoError::OwnerMissing => gitea_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "org does not exist",
            shared,
        ),
        RepoError::AlreadyForked => gitea_error(StatusCode::CONFLICT, "already forked", shared),
        RepoError::Git(message) => gitea_error(StatusCode::INTERNAL_SERVER_ERROR, &message, shared),
    }
}

fn gitea_create(shared: &Shared, owner: &str, body: &Value) -> Reply {
    let Some(name) = text(body, "name") else {
        return gitea_error(StatusCode::UNPROCESSABLE_ENTITY, "[Name]: Required", shared);
    };
    // Gitea takes `default_branch` as HEAD even without auto_init (services/repository/create.go,
    // `initRepository`: "if len(opts.DefaultBranch) > 0 { ... SetDefaultBranch"); an invalid
    // name is a 422 (modules/structs/repo.go, `CreateRepoOption.Name`
    // `binding:"Required;AlphaDashDot;MaxSize(100)"`).
    match create_repo(
        shared,
        owner,
        body,
        &name,
        &name,
        DefaultBranchOnCreate::Honoured,
    ) {
        Ok(repo) => Reply::json(StatusCode::CREATED, gitea_repo(shared, &repo)),
        Err(error) => repo_error_gitea(error, shared),
    }
}

// ---------------------------------------------------------------------------------------------
// GitHub REST (GitHub Enterprise Server's `/api/v3` layout)

const GITHUB_DOCS: &str = "https://docs.github.com/rest";

fn github_error(status: StatusCode, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"message": message, "documentation_url": GITHUB_DOCS, "status": status.as_u16().to_string()}),
    )
}

fn github_owner(owner: &Owner) -> Value {
    json!({
        "login": owner.name, "id": owner.id,
        "type": if owner.kind == OwnerKind::Org { "Organization" } else { "User" },
    })
}

fn github_repo(shared: &Shared, repo: &RepoRecord) -> Value {
    let disk = disk(shared, repo);
    let full_name = repo.full_name();
    json!({
        "id": repo.id,
        "node_id": format!("R_{}", repo.id),
        "name": repo.name,
        "full_name": full_name,
        "private": repo.private,
        "visibility": if repo.private { "private" } else { "public" },
        "owner": github_owner(&repo.owner),
        "html_url": format!("{}/{full_name}", shared.base_url()),
        "description": repo.description,
        "fork": repo.parent.is_some(),
        "clone_url": format!("{}/{full_name}.git", shared.base_url()),
        "git_url": format!("git://127.0.0.1/{full_name}.git"),
        "ssh_url": format!("git@127.0.0.1:{full_name}.git"),
        "size": if disk.empty { 0 } else { 1 },
        "default_branch": disk.default_branch.unwrap_or_else(|| "main".to_owned()),
        "archived": false,
        "created_at": repo.created_at,
        "permissions": {"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
    })
}

pub fn github(shared: &Shared, call: &Call) -> Reply {
    if !call.headers.contains_key(header::USER_AGENT) {
        return Reply::json(
            StatusCode::FORBIDDEN,
            json!({"message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes."}),
        );
    }
    match shared.caller(call.headers, Surface::Api) {
        Caller::User => {}
        Caller::Anonymous => {
            return github_error(StatusCode::UNAUTHORIZED, "Requires authentication")
        }
        Caller::Rejected => return github_error(StatusCode::UNAUTHORIZED, "Bad credentials"),
    }
    let Some(body) = call.json() else {
        return github_error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    let (method, route) = call.route();
    match (method, route.as_slice()) {
        ("GET", ["user"]) => Reply::json(StatusCode::OK, github_owner(&shared.repos.user())),
        ("POST", ["orgs", org, "repos"]) => match shared.repos.owner(org) {
            Some(owner) if owner.kind == OwnerKind::Org => github_create(shared, org, &body),
            _ => github_error(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("POST", ["user", "repos"]) => github_create(shared, &shared.username, &body),
        ("GET", ["repos", owner, name]) => match shared.repos.find(owner, name) {
            Some(repo) => Reply::json(StatusCode::OK, github_repo(shared, &repo)),
            None => github_error(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("GET", ["repos", owner, name, "pulls"]) => {
            let Some(repo) = shared.repos.find(owner, name) else {
                return github_error(StatusCode::NOT_FOUND, "Not Found");
            };
            // `state` open (default), closed or all; `head` as `user:ref-name`; `base`.
            let state = call
                .query_value("state")
                .unwrap_or_else(|| "open".to_owned());
            let head = call.query_value("head");
            let base = call.query_value("base");
            let pulls: Vec<Value> = shared
                .repos
                .pulls(&repo)
                .iter()
                .rev()
                .filter(|pull| state == "all" || pull.state == state)
                .filter(|pull| {
                    head.as_deref().is_none_or(|head| {
                        // GitHub matches `user:ref`; a head without the owner matches nothing.
                        head.split_once(':').is_some_and(|(user, branch)| {
                            user.eq_ignore_ascii_case(&repo.owner.name) && branch == pull.head
                        })
                    })
                })
                .filter(|pull| base.as_deref().is_none_or(|base| base == pull.base))
                .map(|pull| github_pull(shared, &repo, pull))
                .collect();
            Reply::json(StatusCode::OK, Value::Array(pulls))
        }
        ("POST", ["repos", owner, name, "pulls"]) => {
            let Some(repo) = shared.repos.find(owner, name) else {
                return github_error(StatusCode::NOT_FOUND, "Not Found");
            };
            let validation = |errors: Value| {
                Reply::json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Validation Failed", "errors": errors, "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "422"}),
                )
            };
            let (Some(head), Some(base)) = (text(&body, "head"), text(&body, "base")) else {
                return validation(
                    json!([{"resource": "PullRequest", "field": "head", "code": "missing_field"}]),
                );
            };
            // `head` may be `owner:branch` (a branch of this repository's owner) or the branch.
            let head_branch = match head.split_once(':') {
                Some((user, branch)) if user.eq_ignore_ascii_case(&repo.owner.name) => {
                    branch.to_owned()
                }
                Some(_) => {
                    return validation(
                        json!([{"resource": "PullRequest", "field": "head", "code": "invalid"}]),
                    )
                }
                None => head.clone(),
            };
            let title = text(&body, "title").unwrap_or_default();
            let description = text(&body, "body").unwrap_or_default();
            match shared
                .repos
                .create_pull(&repo, &head_branch, &base, &title, &description)
            {
                Ok(pull) => Reply::json(StatusCode::CREATED, github_pull(shared, &repo, &pull)),
                // docs.github.com/en/rest/pulls/pulls#create-a-pull-request; the body as clients
                // logged it: gm3dmo/the-power#175, google/go-github#1441.
                Err(PullError::Exists(_)) => validation(json!([{
                    "resource": "PullRequest", "code": "custom",
                    "message": format!("A pull request already exists for {}:{head_branch}.", repo.owner.name),
                }])),
                Err(PullError::BranchMissing(field, _)) => validation(
                    json!([{"resource": "PullRequest", "field": field, "code": "invalid"}]),
                ),
                Err(PullError::SameBranch) => validation(json!([{
                    "resource": "PullRequest", "code": "custom",
                    "message": format!("No commits between {base} and {head_branch}"),
                }])),
            }
        }
        ("PATCH", ["repos", owner, name]) => {
            let Some(repo) = shared.repos.find(owner, name) else {
                return github_error(StatusCode::NOT_FOUND, "Not Found");
            };
            if let Some(branch) = text(&body, "default_branch") {
                let path = shared.repos.path(&repo);
                if !repos::has_branch(&path, &branch) || repos::set_head(&path, &branch).is_err() {
                    return Reply::json(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"message": "Validation Failed", "errors": [{"resource": "Repository", "code": "invalid", "field": "default_branch"}], "documentation_url": GITHUB_DOCS, "status": "422"}),
                    );
                }
            }
            Reply::json(StatusCode::OK, github_repo(shared, &repo))
        }
        _ => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// GitHub's pull request (docs.github.com/en/rest/pulls/pulls, "Get a pull request"; a subset).
fn github_pull(shared: &Shared, repo: &RepoRecord, pull: &PullRecord) -> Value {
    let full_name = repo.full_name();
    let path = shared.repos.path(repo);
    let branch = |name: &str| {
        json!({
            "label": format!("{}:{name}", repo.owner.name), "ref": name,
            "sha": repos::rev_parse(&path, &format!("refs/heads/{name}")),
            "user": github_owner(&repo.owner), "repo": github_repo(shared, repo),
        })
    };
    json!({
        "id": pull.id,
        "node_id": format!("PR_{}", pull.id),
        "number": pull.number,
        "url": format!("{}/api/v3/repos/{full_name}/pulls/{}", shared.base_url(), pull.number),
        "html_url": format!("{}/{full_name}/pull/{}", shared.base_url(), pull.number),
        "state": pull.state,
        "locked": false,
        "title": pull.title,
        "body": pull.body,
        "user": github_owner(&shared.repos.user()),
        "draft": false,
        "merged": false,
        "head": branch(&pull.head),
        "base": branch(&pull.base),
        "created_at": pull.created_at,
        "updated_at": pull.created_at,
    })
}

fn github_create(shared: &Shared, owner: &str, body: &Value) -> Reply {
    let Some(name) = text(body, "name") else {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    };
    // `default_branch` is not a create parameter (the generated `ReposCreateInOrgRequest` of
    // github/rest-api-description lists name, description, homepage, private, visibility,
    // has_*, is_template, team_id, auto_init, gitignore_template, license_template, allow_*,
    // …), so it is ignored and HEAD is the account's default, `main`.
    let name = github_repository_name(&name);
    match create_repo(
        shared,
        owner,
        body,
        &name,
        &name,
        DefaultBranchOnCreate::Ignored,
    ) {
        Ok(repo) => Reply::json(StatusCode::CREATED, github_repo(shared, &repo)),
        // The body as clients logged it: dyad-sh/dyad#1601, hipstas/AudiAnnotate#92.
        Err(RepoError::NameTaken) => Reply::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({
                "message": "Repository creation failed.",
                "errors": [{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}],
                "documentation_url": "https://docs.github.com/rest/repos/repos#create-an-organization-repository",
                "status": "422",
            }),
        ),
        Err(RepoError::Git(message)) => github_error(StatusCode::INTERNAL_SERVER_ERROR, &message),
        Err(_) => github_error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed"),
    }
}

// ---------------------------------------------------------------------------------------------
// GitLab REST v4

fn gitlab_message(status: StatusCode, message: Value) -> Reply {
    Reply::json(status, json!({ "message": message }))
}

fn gitlab_namespace(shared: &Shared, owner: &Owner) -> Value {
    json!({
        "id": owner.id,
        "name": owner.name,
        "path": owner.name,
        "kind": if owner.kind == OwnerKind::Org { "group" } else { "user" },
        "full_path": owner.name,
        "parent_id": null,
        "web_url": format!("{}/{}", shared.base_url(), owner.name),
    })
}

fn gitlab_project(shared: &Shared, repo: &RepoRecord) -> Value {
    let disk = disk(shared, repo);
    let full_path = repo.full_name();
    json!({
        "id": repo.id,
        "name": repo.display_name,
        "path": repo.name,
        "path_with_namespace": full_path,
        "name_with_namespace": format!("{} / {}", repo.owner.name, repo.display_name),
        "namespace": gitlab_namespace(shared, &repo.owner),
        "description": repo.description,
        // GitLab reports no default branch (null) until the first push (gitlabhq/gitlabhq#1375,
        // "`default_branch` will now be null by default. Upon the first repository push…";
        // gitlabhq/terraform-provider-gitlab#41).
        "default_branch": if disk.empty { Value::Null } else { json!(disk.default_branch) },
        "empty_repo": disk.empty,
        "visibility": if repo.private { "private" } else { "public" },
        "http_url_to_repo": format!("{}/{full_path}.git", shared.base_url()),
        "ssh_url_to_repo": format!("git@127.0.0.1:{full_path}.git"),
        "web_url": format!("{}/{full_path}", shared.base_url()),
        "import_status": "none",
        "created_at": repo.created_at,
    })
}

/// GitLab's merge request (docs.gitlab.com/api/merge_requests, "Get single MR"; a subset).
fn gitlab_merge_request(shared: &Shared, repo: &RepoRecord, pull: &PullRecord) -> Value {
    let full_path = repo.full_name();
    let path = shared.repos.path(repo);
    json!({
        "id": pull.id,
        "iid": pull.number,
        "project_id": repo.id,
        "title": pull.title,
        "description": pull.body,
        "state": if pull.state == "open" { "opened" } else { pull.state.as_str() },
        "source_branch": pull.head,
        "target_branch": pull.base,
        "source_project_id": repo.id,
        "target_project_id": repo.id,
        "sha": repos::rev_parse(&path, &format!("refs/heads/{}", pull.head)),
        "merge_status": "cannot_be_merged",
        "draft": false,
        "web_url": format!("{}/{full_path}/-/merge_requests/{}", shared.base_url(), pull.number),
        "created_at": pull.created_at,
        "updated_at": pull.created_at,
    })
}

/// `:id` is numeric or a URL-encoded full path (`group/project`, already decoded here).
fn gitlab_find_project(shared: &Shared, id: &str) -> Option<RepoRecord> {
    if let Ok(number) = id.parse::<u64>() {
        return shared.repos.find_by_id(number);
    }
    let (owner, name) = id.rsplit_once('/')?;
    shared.repos.find(owner, name)
}

fn gitlab_find_namespace(shared: &Shared, id: &str) -> Option<Owner> {
    match id.parse::<u64>() {
        Ok(number) => shared.repos.owner_by_id(number),
        Err(_) => shared.repos.owner(id),
    }
}

pub fn gitlab(shared: &Shared, call: &Call) -> Reply {
    match shared.caller(call.headers, Surface::Api) {
        Caller::User => {}
        Caller::Anonymous | Caller::Rejected => {
            return gitlab_message(StatusCode::UNAUTHORIZED, json!("401 Unauthorized"))
        }
    }
    let Some(body) = call.json() else {
        return gitlab_message(StatusCode::BAD_REQUEST, json!("400 Bad request"));
    };
    let (method, route) = call.route();
    match (method, route.as_slice()) {
        ("GET", ["user"]) => {
            let user = shared.repos.user();
            Reply::json(
                StatusCode::OK,
                json!({"id": user.id, "username": user.name, "name": user.name, "state": "active"}),
            )
        }
        // `search` matches part of a namespace's path or name, without case, as GitLab's
        // "List namespaces" does (docs.gitlab.com/ee/api/namespaces.html: "Returns a list of
        // namespaces the user is authorized to view based on the search criteria"); a client
        // must pick the exact one itself.
        ("GET", ["namespaces"]) => {
            let search = call
                .query_value("search")
                .unwrap_or_default()
                .to_lowercase();
            let found: Vec<Value> = shared
                .repos
                .owners()
                .into_iter()
                .filter(|owner| owner.name.to_lowercase().contains(&search))
                .map(|owner| gitlab_namespace(shared, &owner))
                .collect();
            Reply::json(StatusCode::OK, Value::Array(found))
        }
        ("GET", ["namespaces", id]) => match gitlab_find_namespace(shared, id) {
            Some(owner) => Reply::json(StatusCode::OK, gitlab_namespace(shared, &owner)),
            None => gitlab_message(StatusCode::NOT_FOUND, json!("404 Namespace Not Found")),
        },
        ("POST", ["groups"]) => {
            let Some(path) = text(&body, "path").or_else(|| text(&body, "name")) else {
                return gitlab_message(
                    StatusCode::BAD_REQUEST,
                    json!("400 Bad request - path is missing"),
                );
            };
            match shared.repos.try_create_org(&path) {
                Ok(group) => Reply::json(StatusCode::CREATED, gitlab_namespace(shared, &group)),
                Err(_) => gitlab_message(
                    StatusCode::BAD_REQUEST,
                    json!("Failed to save group {:path=>[\"has already been taken\"]}"),
                ),
            }
        }
        ("POST", ["projects"]) => {
            let Some(name) = text(&body, "name").or_else(|| text(&body, "path")) else {
                return gitlab_message(
                    StatusCode::BAD_REQUEST,
                    json!("400 Bad request - name, path are missing, at least one parameter must be provided"),
                );
            };
            let path = text(&body, "path").unwrap_or_else(|| gitlab_path_from(&name));
            if !gitlab_path_is_valid(&path) {
                return gitlab_message(
                    StatusCode::BAD_REQUEST,
                    json!({"path": ["must not start or end with a special character and must not contain consecutive special characters."]}),
                );
            }
            let namespace = match body.get("namespace_id") {
                None | Some(Value::Null) => shared.repos.user(),
                Some(id) => {
                    let id = match id {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    match gitlab_find_namespace(shared, &id) {
                        Some(owner) => owner,
                        None => {
                            return gitlab_message(
                                StatusCode::NOT_FOUND,
                                json!("404 Namespace Not Found"),
                            )
                        }
                    }
                }
            };
            // `default_branch` names the README commit's branch only (gitlab!63771; an empty
            // repository keeps the instance default until its first push, gitlab#333426).
            match create_repo(
                shared,
                &namespace.name,
                &body,
                &path,
                &name,
                DefaultBranchOnCreate::WithReadmeOnly,
            ) {
                Ok(repo) => Reply::json(StatusCode::CREATED, gitlab_project(shared, &repo)),
                // Documented as 409, answered as 400 (gitlab#356008).
                Err(RepoError::NameTaken) => gitlab_message(
                    StatusCode::BAD_REQUEST,
                    json!({"name": ["has already been taken"], "path": ["has already been taken"]}),
                ),
                Err(RepoError::Git(message)) => {
                    gitlab_message(StatusCode::INTERNAL_SERVER_ERROR, json!(message))
                }
                Err(_) => gitlab_message(
                    StatusCode::BAD_REQUEST,
                    json!({"path": ["can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"]}),
                ),
            }
        }
        ("GET", ["projects", id]) => match gitlab_find_project(shared, id) {
            Some(repo) => Reply::json(StatusCode::OK, gitlab_project(shared, &repo)),
            None => gitlab_message(StatusCode::NOT_FOUND, json!("404 Project Not Found")),
        },
        ("GET", ["projects", id, "merge_requests"]) => {
            let Some(repo) = gitlab_find_project(shared, id) else {
                return gitlab_message(StatusCode::NOT_FOUND, json!("404 Project Not Found"));
            };
            // `state` opened, closed, locked, merged or all (default all); `source_branch`,
            // `target_branch`.
            let state = call
                .query_value("state")
                .unwrap_or_else(|| "all".to_owned());
            let source = call.query_value("source_branch");
            let target = call.query_value("target_branch");
            let requests: Vec<Value> = shared
                .repos
                .pulls(&repo)
                .iter()
                .rev()
                .filter(|pull| state == "all" || (state == "opened" && pull.state == "open"))
                .filter(|pull| source.as_deref().is_none_or(|source| source == pull.head))
                .filter(|pull| target.as_deref().is_none_or(|target| target == pull.base))
                .map(|pull| gitlab_merge_request(shared, &repo, pull))
                .collect();
            Reply::json(StatusCode::OK, Value::Array(requests))
        }
        ("POST", ["projects", id, "merge_requests"]) => {
            let Some(repo) = gitlab_find_project(shared, id) else {
                return gitlab_message(StatusCode::NOT_FOUND, json!("404 Project Not Found"));
            };
            let (Some(source), Some(target), Some(title)) = (
                text(&body, "source_branch"),
                text(&body, "target_branch"),
                text(&body, "title"),
            ) else {
                return gitlab_message(
                    StatusCode::BAD_REQUEST,
                    json!("400 Bad request - source_branch, target_branch, title are missing"),
                );
            };
            let description = text(&body, "description").unwrap_or_default();
            match shared
                .repos
                .create_pull(&repo, &source, &target, &title, &description)
            {
                Ok(pull) => Reply::json(
                    StatusCode::CREATED,
                    gitlab_merge_request(shared, &repo, &pull),
                ),
                // As clients logged it: voxpupuli/modulesync#195, renovatebot/renovate#17391; the
                // model's `:validate_branches` error, which the API answers with `conflict!` (409)
                // (lib/api/helpers/merge_requests_helpers.rb, `handle_merge_request_errors!`).
                Err(PullError::Exists(pull)) => gitlab_message(
                    StatusCode::CONFLICT,
                    json!([format!(
                        "Another open merge request already exists for this source branch: !{}",
                        pull.number
                    )]),
                ),
                // A guess at the shape: GitLab validates the branches and answers 422 with the
                // model's errors.
                Err(PullError::BranchMissing(which, branch)) => gitlab_message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!([format!(
                        "{} branch \"{branch}\" does not exist",
                        if which == "head" { "Source" } else { "Target" }
                    )]),
                ),
                // `MergeRequest#validate_branches` adds this as `:branch_conflict`, which the API
                // answers 422 (`handle_merge_request_errors!`: `error!(errors[:branch_conflict],
                // 422)`, now `UNPROCESSABLE_ERROR_KEYS`); only `:validate_branches` (the
                // "Another open merge request already exists…" text above) is `conflict!`, 409
                // (gitlab-org/gitlab app/models/merge_request.rb, lib/api/helpers/
                // merge_requests_helpers.rb). Older GitLab spelled it "You can not use…".
                Err(PullError::SameBranch) => gitlab_message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!(["You can't use same project/branch for source and target"]),
                ),
            }
        }
        ("PUT", ["projects", id]) => {
            let Some(repo) = gitlab_find_project(shared, id) else {
                return gitlab_message(StatusCode::NOT_FOUND, json!("404 Project Not Found"));
            };
            if let Some(branch) = text(&body, "default_branch") {
                if !set_default_branch(shared, &repo, &branch) {
                    return gitlab_message(
                        StatusCode::BAD_REQUEST,
                        json!(format!(
                            "Could not change HEAD: branch '{branch}' does not exist"
                        )),
                    );
                }
            }
            Reply::json(StatusCode::OK, gitlab_project(shared, &repo))
        }
        _ => gitlab_message(StatusCode::NOT_FOUND, json!("404 Not Found")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_replaces_what_a_name_may_not_hold_by_dashes() {
        assert_eq!(github_repository_name("My Repo"), "My-Repo");
        assert_eq!(github_repository_name("a / b"), "a-b");
        assert_eq!(github_repository_name("team_a.x-y"), "team_a.x-y");
    }

    #[test]
    fn gitlab_derives_a_path_from_a_name_as_rails_parameterize_does() {
        assert_eq!(gitlab_path_from("team_a_web"), "team_a_web");
        assert_eq!(gitlab_path_from("My Repo"), "my-repo");
        assert_eq!(gitlab_path_from("Team A: Web App!"), "team-a-web-app");
        assert_eq!(gitlab_path_from(" -x- "), "x");
        assert!(gitlab_path_is_valid("team_a.web-app2"));
        for invalid in [
            "team__a", "team_a_", "_team", "a-.b", "x.git", "x.atom", "a b", "",
        ] {
            assert!(!gitlab_path_is_valid(invalid), "{invalid}");
        }
    }
}
