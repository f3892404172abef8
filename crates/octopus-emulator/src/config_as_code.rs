//! Config-as-Code projects: conversion, the per-branch document store behind `{gitRef}` routes,
//! branches, migrations, and the optional reachability check of repository URLs.

use serde_json::{json, Value};

use crate::documents::{find_by_id, id_of, into_object, is_missing, same_id, str_field};
use crate::paging::{page, Query};
use crate::projects::{is_version_controlled, settings_from_project};
use crate::reply::{ApiError, ApiResult};
use crate::secrets::{absorb, is_sensitive_variable, secret_of};
use crate::state::{BranchDocs, GitRepo, SpaceStore, State};
use crate::{processes, variables};
use std::collections::BTreeMap;

/// The 400 answer when a repository URL does not answer (convert, persistence settings with
/// `check_git_urls`): `updateProject`'s text in the server's swagger (2020.5), OctopusDeploy/go-octopusdeploy `api/octopus_deploy.json`; the emulator adds what the remote
/// said after it.
pub const UNREACHABLE: &str =
    "Unable to connect to the specified Git repository. Please use the test button to validate the connection details.";

/// `main`, `refs/heads/main` and (decoded) `refs%2Fheads%2Fmain` all name branch `main`.
pub fn branch_name(git_ref: &str) -> String {
    git_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(git_ref)
        .to_string()
}

/// The URL-encoded full ref used in `{gitRef}` links: `refs%2Fheads%2Fmain`.
pub fn encoded_ref(branch: &str) -> String {
    format!("refs/heads/{branch}").replace('/', "%2F")
}

pub fn default_branch(project: &Value) -> String {
    project
        .pointer("/PersistenceSettings/DefaultBranch")
        .and_then(Value::as_str)
        .unwrap_or("main")
        .to_string()
}

fn conversion_flag(project: &Value, flag: &str) -> bool {
    project
        .pointer(&format!("/PersistenceSettings/ConversionState/{flag}"))
        .and_then(Value::as_bool)
        == Some(true)
}

pub fn variables_in_git(project: &Value) -> bool {
    is_version_controlled(project) && conversion_flag(project, "VariablesAreInGit")
}

pub fn runbooks_in_git(project: &Value) -> bool {
    is_version_controlled(project) && conversion_flag(project, "RunbooksAreInGit")
}

/// Where to GET a repository's `info/refs`, with Basic credentials when it has any.
#[derive(Debug, Clone)]
pub struct UrlCheck {
    pub url: String,
    pub credentials: Option<(String, String)>,
}

/// Complete sent persistence settings (defaults, credential rules, secrets against `previous`).
pub fn persistence_settings(
    space: &SpaceStore,
    sent: &Value,
    previous: Option<&Value>,
) -> ApiResult<Value> {
    let mut settings = into_object(sent.clone())?;
    settings.entry("Type").or_insert(json!("VersionControlled"));
    if settings.get("Type").and_then(Value::as_str) != Some("VersionControlled") {
        return Err(ApiError::bad_request(
            "The VersionControlSettings Type must be VersionControlled.",
        ));
    }
    if is_missing(&settings, "Url") {
        return Err(ApiError::required("Url"));
    }
    for (key, default) in [
        ("DefaultBranch", json!("main")),
        ("BasePath", json!(".octopus")),
        ("ProtectedDefaultBranch", json!(false)),
        ("ProtectedBranchNamePatterns", json!([])),
        ("Credentials", json!({"Type": "Anonymous"})),
    ] {
        if is_missing(&settings, key) {
            settings.insert(key.into(), default);
        }
    }
    let credentials = &settings["Credentials"];
    match str_field(credentials, "Type") {
        Some("Reference") => {
            let id = str_field(credentials, "Id").unwrap_or_default();
            if find_by_id(space.docs("git-credentials"), id).is_none() {
                return Err(ApiError::bad_request(format!(
                    "The git credential '{id}' could not be found."
                )));
            }
        }
        Some("UsernamePassword") => {
            if str_field(credentials, "Username").is_none_or(str::is_empty) {
                return Err(ApiError::required("Username"));
            }
            if credentials.get("Password").is_none() {
                return Err(ApiError::required("Password"));
            }
        }
        Some("Anonymous" | "GitHub") => {}
        other => {
            return Err(ApiError::bad_request(format!(
                "The credential type '{}' is not supported.",
                other.unwrap_or_default()
            )))
        }
    }
    let state = previous
        .and_then(|p| p.get("ConversionState").cloned())
        .unwrap_or(json!({"VariablesAreInGit": false, "RunbooksAreInGit": false}));
    settings.insert("ConversionState".into(), state);
    let mut settings = Value::Object(settings);
    absorb(&mut settings, previous);
    Ok(settings)
}

/// What the reachability check needs for completed settings.
pub fn url_check(space: &SpaceStore, settings: &Value) -> UrlCheck {
    let url = str_field(settings, "Url").unwrap_or_default().to_string();
    let credentials = &settings["Credentials"];
    let pair = match str_field(credentials, "Type") {
        Some("UsernamePassword") => Some((
            str_field(credentials, "Username")
                .unwrap_or_default()
                .to_string(),
            credentials
                .get("Password")
                .and_then(secret_of)
                .unwrap_or_default()
                .to_string(),
        )),
        Some("Reference") => find_by_id(
            space.docs("git-credentials"),
            str_field(credentials, "Id").unwrap_or_default(),
        )
        .map(|c| {
            (
                c.pointer("/Details/Username")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                c.pointer("/Details/Password")
                    .and_then(secret_of)
                    .unwrap_or_default()
                    .to_string(),
            )
        }),
        _ => None,
    };
    UrlCheck {
        url,
        credentials: pair,
    }
}

/// `GET {Url}/info/refs?service=git-upload-pack`, as a git client's first request.
pub async fn check_url(client: &reqwest::Client, check: &UrlCheck) -> ApiResult<()> {
    let url = format!(
        "{}/info/refs?service=git-upload-pack",
        check.url.trim_end_matches('/')
    );
    let mut request = client.get(&url);
    if let Some((user, password)) = &check.credentials {
        request = request.basic_auth(user, Some(password));
    }
    let detail = match request.send().await {
        Ok(response) if response.status().is_success() => return Ok(()),
        Ok(response) => format!("The remote answered {}.", response.status()),
        Err(error) => format!("The remote could not be reached: {error}."),
    };
    Err(ApiError::bad_request(format!("{UNREACHABLE} {detail}")))
}

/// Where a project's (or sent settings') OCL lives: the repository URL, compared as git hosts
/// do (case, a trailing `/` or `.git` aside), and the base path.
pub fn repository_key(settings: &Value) -> String {
    let url = str_field(settings, "Url")
        .unwrap_or_default()
        .trim()
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_ascii_lowercase();
    let base = str_field(settings, "BasePath")
        .unwrap_or(".octopus")
        .trim_matches('/')
        .to_ascii_lowercase();
    format!("{url}#{base}")
}

/// The repository a version-controlled project reads and writes.
pub fn project_repository_key(project: &Value) -> String {
    repository_key(&project["PersistenceSettings"])
}

/// `POST /projects/{p}/git/convert` after validation: the project becomes version controlled.
///
/// - A repository whose default branch already holds OCL at the base path is connected to, not
///   overwritten with the database copy: OctopusDeploy/Issues#7330 ("Recreating a Version
///   Controlled Project pointing to an existing repo fails", fixed in 2021.3.12091 / 2022.1.630:
///   "Fixed an issue where projects could not be configured with existing config-as-code
///   files"; what should happen: "The project should be updated to point at that repo"), and
///   #7789 (converting onto a repository and base path that already hold OCL).
/// - Otherwise the database process and settings (and, `variables_to_git`, the text variables)
///   are the initial commit: on the default branch, or with a protected default branch only on
///   the branch the client names in `InitialCommitBranchName` (the provider's and
///   go-octopusdeploy's convert body; OctopusDeploy/Issues#7830 shows a project converted with
///   "Initially commit to separate branch" whose default branch then has no OCL: "The file
///   'schema_version.ocl' does not exist in the Git repository").
/// - `variables_to_git`: text variables move to git on conversion, as on current servers: the
///   Octopus docs (projects/version-control/converting/migrating-variables) say "All newly
///   configured Git projects will automatically have variables migrated when converting the
///   project to Git", and converting/index lists `variables.ocl` in the first commit (as the
///   first commit in OctopusDeploy/docs PR #3135 shows); sensitive
///   variables stay in the database. False models a project converted by a server from before
///   Git variables (2022.1–2022.3), which keeps them in the database until `migrate-variables`.
///   A repository that already holds `variables.ocl` keeps it; one without gets the project's
///   text variables (none for a project just created).
/// - `RunbooksAreInGit` stays false: no source says a conversion moves runbooks. Searched: the
///   Octopus docs (the Config-as-Code reference lists runbook processes and settings among what
///   Git can hold, and says nothing of conversion; converting/migrating-variables), the
///   provider's `resource_project.go` and OctopusDeploy/Issues. The one real first commit found,
///   of a project converted in 2026 (OctopusDeploy/docs PR #3135, "Initial commit of project
///   configuration"), holds `deployment_process.ocl`, `deployment_settings.ocl`,
///   `schema_version.ocl` and `variables.ocl` and no runbooks: consistent with this. Runbooks
///   move with `migrate-runbooks`.
pub fn convert(
    state: &mut State,
    index: usize,
    project_index: usize,
    settings: Value,
    initial_branch: Option<&str>,
    variables_to_git: bool,
) -> ApiResult<()> {
    let space = &state.spaces[index];
    let project = space.docs("projects")[project_index].clone();
    if is_version_controlled(&project) {
        return Err(ApiError::bad_request(
            "The project is already version controlled.",
        ));
    }
    let pid = id_of(&project).to_string();
    let process = processes::position(space, &processes::deployment_process_id(&pid))
        .map(|i| space.processes[i].clone())
        .ok_or_else(|| ApiError::not_found(&pid))?;
    let text_variables = variables::position(space, &pid).map(|at| {
        let mut set = space.variable_sets[at].clone();
        let text: Vec<Value> = variable_list(&set)
            .into_iter()
            .filter(|v| !is_sensitive_variable(v))
            .collect();
        set["Variables"] = Value::Array(text);
        set
    });
    let text_variables = text_variables.map(|set| commit(space, set));
    let docs = BranchDocs {
        deployment_process: Some(commit(space, process)),
        deployment_settings: Some(commit(space, settings_from_project(space.id(), &project))),
        variables: if variables_to_git {
            text_variables.clone()
        } else {
            None
        },
        ..BranchDocs::default()
    };
    let default = str_field(&settings, "DefaultBranch")
        .unwrap_or("main")
        .to_string();
    let protected = settings
        .get("ProtectedDefaultBranch")
        .and_then(Value::as_bool)
        == Some(true);
    // A protected default branch takes the initial commit on a side branch, which the client
    // names: the Octopus CLI's `project convert --git-initial-commit-branch` is "Only required if
    // 'git-branch' is listed as a 'git-protected-branch-pattern'" (octopus.com/docs, octopus
    // project convert). The message is ours: the server's text for a missing one was not found
    // (no search beyond that page). Checked before anything is stored.
    let side_branch = if protected {
        Some(
            initial_branch
                .filter(|branch| !branch.is_empty() && *branch != default.as_str())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "The default branch is protected: set InitialCommitBranchName to the branch the initial commit goes to.",
                    )
                })?
                .to_string(),
        )
    } else {
        None
    };
    let repo = state
        .repositories
        .entry(repository_key(&settings))
        .or_default();
    let existing = repo
        .branches
        .get(&default)
        .filter(|branch| branch.deployment_process.is_some());
    match (existing, side_branch) {
        (Some(_), _) => {
            // Connect to what is there; a missing variables.ocl is written from the database.
            if variables_to_git {
                let branch = repo.branches.get_mut(&default).expect("checked above");
                if branch.variables.is_none() {
                    branch.variables = text_variables;
                }
            }
        }
        (None, Some(side)) => {
            repo.branches.insert(side, docs);
        }
        (None, None) => {
            repo.branches.insert(default, docs);
        }
    }
    if variables_to_git {
        move_text_variables_out_of_the_database(&mut state.spaces[index], &pid);
    }
    let stored = &mut state.spaces[index].docs_mut("projects")[project_index];
    stored["IsVersionControlled"] = json!(true);
    stored["PersistenceSettings"] = settings;
    stored["PersistenceSettings"]["ConversionState"] =
        json!({"VariablesAreInGit": variables_to_git, "RunbooksAreInGit": false});
    // The deployment settings now live in git (`/{gitRef}/deploymentsettings`): the project
    // document no longer carries them (see `projects::settings_fields_on_a_version_controlled_project`).
    if let Value::Object(map) = stored {
        crate::projects::clear_settings_fields(map);
    }
    crate::documents::touch(stored);
    Ok(())
}

fn variable_list(set: &Value) -> Vec<Value> {
    set.get("Variables")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Once text variables live in git the project's database set keeps only the sensitive ones
/// (the docs' migrating-variables page: "Sensitive variables will remain in the database";
/// OctopusClients' `VariableSetRepository.Get` reads a Git-variables project's database set
/// through its `SensitiveVariables` link).
fn move_text_variables_out_of_the_database(space: &mut SpaceStore, project_id: &str) {
    if let Some(at) = variables::position(space, project_id) {
        let set = &mut space.variable_sets[at];
        let kept: Vec<Value> = variable_list(set)
            .into_iter()
            .filter(is_sensitive_variable)
            .collect();
        set["Variables"] = Value::Array(kept);
        let version = set.get("Version").and_then(Value::as_i64).unwrap_or(0) + 1;
        set["Version"] = json!(version);
    }
}

/// The branches of a version-controlled project's repository.
fn repository<'a>(repos: &'a BTreeMap<String, GitRepo>, project: &Value) -> Option<&'a GitRepo> {
    repos.get(&project_repository_key(project))
}

pub fn branch<'a>(
    repos: &'a BTreeMap<String, GitRepo>,
    project: &Value,
    git_ref: &str,
) -> ApiResult<&'a BranchDocs> {
    let name = branch_name(git_ref);
    repository(repos, project)
        .and_then(|r| r.branches.get(&name))
        .ok_or_else(|| ApiError::not_found(&name))
}

pub fn branch_mut<'a>(
    repos: &'a mut BTreeMap<String, GitRepo>,
    project: &Value,
    git_ref: &str,
) -> ApiResult<&'a mut BranchDocs> {
    let name = branch_name(git_ref);
    repos
        .get_mut(&project_repository_key(project))
        .and_then(|r| r.branches.get_mut(&name))
        .ok_or_else(|| ApiError::not_found(&name))
}

pub fn project_base(space_id: &str, project: &Value) -> String {
    format!("/api/{space_id}/projects/{}", id_of(project))
}

fn branch_doc(space_id: &str, project: &Value, name: &str) -> Value {
    let base = format!("{}/{}", project_base(space_id, project), encoded_ref(name));
    let protected = name == default_branch(project)
        && project
            .pointer("/PersistenceSettings/ProtectedDefaultBranch")
            .and_then(Value::as_bool)
            == Some(true);
    json!({
        "Name": name,
        "CanonicalName": format!("refs/heads/{name}"),
        "IsProtected": protected,
        "Links": {
            "DeploymentProcess": format!("{base}/deploymentprocesses"),
            "DeploymentSettings": format!("{base}/deploymentsettings"),
            "Variables": format!("{base}/variables"),
            "Runbooks": format!("{base}/runbooks"),
        }
    })
}

/// `GET /projects/{p}/git/branches{?searchByName,skip,take}`.
pub fn branches(
    space_id: &str,
    repos: &BTreeMap<String, GitRepo>,
    project: &Value,
    query: &Query,
) -> ApiResult<Value> {
    if !is_version_controlled(project) {
        return Err(ApiError::bad_request(
            "The project is not version controlled.",
        ));
    }
    let empty = GitRepo::default();
    let repo = repository(repos, project).unwrap_or(&empty);
    let search = query.get("searchByName").map(str::to_lowercase);
    let items = repo
        .branches
        .keys()
        .filter(|b| search.as_ref().is_none_or(|s| b.to_lowercase().contains(s)))
        .map(|b| branch_doc(space_id, project, b))
        .collect();
    Ok(page(
        items,
        "GitBranch",
        &format!("{}/git/branches", project_base(space_id, project)),
        "{/name}{?skip,take,searchByName,refresh}",
        query,
    ))
}

pub fn get_branch(
    space_id: &str,
    repos: &BTreeMap<String, GitRepo>,
    project: &Value,
    name: &str,
) -> ApiResult<Value> {
    branch(repos, project, name)?;
    Ok(branch_doc(space_id, project, &branch_name(name)))
}

/// `POST /projects/{p}/git/branches{/v2}` `{BaseGitRef, NewBranchName}`.
pub fn create_branch(
    space_id: &str,
    repos: &mut BTreeMap<String, GitRepo>,
    project: &Value,
    body: Value,
) -> ApiResult<Value> {
    let body = into_object(body)?;
    let name = body
        .get("NewBranchName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(ApiError::required("NewBranchName"));
    }
    let base = body
        .get("BaseGitRef")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| default_branch(project));
    let docs = branch(repos, project, &base)?.clone();
    let repo = repos.entry(project_repository_key(project)).or_default();
    if repo.branches.contains_key(&name) {
        return Err(ApiError::bad_request(format!(
            "A branch named '{name}' already exists."
        )));
    }
    repo.branches.insert(name.clone(), docs);
    Ok(branch_doc(space_id, project, &name))
}

/// `POST …/git/migrate-variables`: text variables move into every branch's documents and out
/// of the database set (sensitive ones stay there).
pub fn migrate_variables(state: &mut State, index: usize, project_index: usize) -> ApiResult<()> {
    let space = &state.spaces[index];
    let project = space.docs("projects")[project_index].clone();
    if !is_version_controlled(&project) {
        return Err(ApiError::bad_request(
            "The project is not version controlled.",
        ));
    }
    let set = variables::position(space, id_of(&project))
        .map(|i| space.variable_sets[i].clone())
        .ok_or_else(|| ApiError::not_found(id_of(&project)))?;
    let mut text = set.clone();
    let kept: Vec<Value> = variable_list(&set)
        .into_iter()
        .filter(|v| !is_sensitive_variable(v))
        .collect();
    text["Variables"] = Value::Array(kept);
    let text = commit(space, text);
    if let Some(repo) = state
        .repositories
        .get_mut(&project_repository_key(&project))
    {
        for docs in repo.branches.values_mut() {
            docs.variables = Some(text.clone());
        }
    }
    move_text_variables_out_of_the_database(&mut state.spaces[index], id_of(&project));
    let stored = &mut state.spaces[index].docs_mut("projects")[project_index];
    stored["PersistenceSettings"]["ConversionState"]["VariablesAreInGit"] = json!(true);
    Ok(())
}

/// `POST …/git/migrate-runbooks`: runbooks and their processes move into every branch.
pub fn migrate_runbooks(state: &mut State, index: usize, project_index: usize) -> ApiResult<Value> {
    let space = &state.spaces[index];
    let project = space.docs("projects")[project_index].clone();
    if !is_version_controlled(&project) {
        return Err(ApiError::bad_request(
            "The project is not version controlled.",
        ));
    }
    let pid = id_of(&project).to_string();
    let owned = |d: &&Value| same_id(str_field(d, "ProjectId").unwrap_or_default(), &pid);
    let runbooks: Vec<Value> = space
        .docs("runbooks")
        .iter()
        .filter(owned)
        .map(|doc| commit(space, doc.clone()))
        .collect();
    let runbook_processes: Vec<Value> = space
        .processes
        .iter()
        .filter(owned)
        .filter(|p| processes::is_runbook_process(p))
        .map(|doc| commit(space, doc.clone()))
        .collect();
    if let Some(repo) = state
        .repositories
        .get_mut(&project_repository_key(&project))
    {
        for docs in repo.branches.values_mut() {
            docs.runbooks = runbooks.clone();
            docs.runbook_processes = runbook_processes.clone();
        }
    }
    let stored = &mut state.spaces[index].docs_mut("projects")[project_index];
    stored["PersistenceSettings"]["ConversionState"]["RunbooksAreInGit"] = json!(true);
    Ok(json!({"DraftRunbooks": runbooks.len(), "PublishedRunbooks": 0, "ServerTaskId": null}))
}

/// A branch's text variable set, as GET returns it.
pub fn render_variables(space: &SpaceStore, set: &Value, project: &Value, branch: &str) -> Value {
    let href = format!(
        "{}/{}/variables",
        project_base(space.id(), project),
        encoded_ref(branch)
    );
    variables::render(space, set, &href)
}

/// PUT of a branch's text variables (the server commits them as `variables.ocl`): sensitive
/// variables stay in the database.
pub fn put_variables(space: &SpaceStore, docs: &mut BranchDocs, body: Value) -> ApiResult<()> {
    let sent = body.get("Variables").cloned().unwrap_or(json!([]));
    if sent
        .as_array()
        .is_some_and(|v| v.iter().any(is_sensitive_variable))
    {
        return Err(ApiError::bad_request(
            "Sensitive variables cannot be saved to version control. Save them through the project's database variables route.",
        ));
    }
    let stored = docs.variables.as_mut().ok_or_else(|| {
        ApiError::bad_request("The variables of this project are not in version control.")
    })?;
    let mut set = checkout(space, stored.clone());
    let old = variable_list(&set);
    let normalized = variables::normalize(sent, &old)?;
    let version = set.get("Version").and_then(Value::as_i64).unwrap_or(0) + 1;
    set["Variables"] = Value::Array(normalized);
    set["Version"] = json!(version);
    *stored = commit(space, set);
    Ok(())
}

/// A branch process's `Links.Self`.
pub fn process_link(space_id: &str, project: &Value, branch: &str, process: &Value) -> String {
    let base = format!(
        "{}/{}",
        project_base(space_id, project),
        encoded_ref(branch)
    );
    if processes::is_runbook_process(process) {
        format!("{base}/runbookProcesses/{}", id_of(process))
    } else {
        format!("{base}/deploymentprocesses")
    }
}

/// The stored settings with a `Self` link for the branch.
pub fn settings_link(space_id: &str, project: &Value, branch: &str) -> String {
    format!(
        "{}/{}/deploymentsettings",
        project_base(space_id, project),
        encoded_ref(branch)
    )
}

/// Another project on this instance (any space) already stored at `settings`' repository and
/// base path: real servers refuse to point a second project there, on convert since the start
/// and on a settings update since 2021.3 (OctopusDeploy/Issues#7194: "Version control settings
/// are now checked for conflicts with other projects before saving"). The message text is not
/// in our sources; this one is a guess.
pub fn repository_claimed(
    state: &crate::state::State,
    settings: &Value,
    except_project: &str,
) -> ApiResult<()> {
    let normalized = |url: &str| {
        url.trim()
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_ascii_lowercase()
    };
    let base = |s: &Value| {
        str_field(s, "BasePath")
            .unwrap_or(".octopus")
            .trim_matches('/')
            .to_ascii_lowercase()
    };
    let url = normalized(str_field(settings, "Url").unwrap_or_default());
    for space in &state.spaces {
        for project in space.docs("projects") {
            if id_of(project).eq_ignore_ascii_case(except_project)
                || !is_version_controlled(project)
            {
                continue;
            }
            let theirs = &project["PersistenceSettings"];
            if normalized(str_field(theirs, "Url").unwrap_or_default()) == url
                && base(theirs) == base(settings)
            {
                return Err(ApiError::bad_request(format!(
                    "The repository and base path are already used by the project '{}' in {}. Each project needs its own repository or base path.",
                    str_field(project, "Name").unwrap_or_default(),
                    space.id()
                )));
            }
        }
    }
    Ok(())
}

/// A request for what a version-controlled project keeps in git, on the database route: real
/// servers refuse it. The text starts as OctopusDeploy/Issues#7555 quotes it ("We received a
/// request for a version-controlled resource on a non-version control route..."); the issue
/// cuts the rest, so the sentence after it is ours.
pub fn non_version_control_route() -> ApiError {
    ApiError::bad_request(
        "We received a request for a version-controlled resource on a non-version control route. Use the route with a git ref: /projects/{projectId}/{gitRef}/…",
    )
}

/// The database variable set of a project whose text variables live in git holds only its
/// sensitive ones (OctopusClients' `VariableSetRepository.Get` reads it through the project's
/// `SensitiveVariables` link when `ConversionState.VariablesAreInGit`): a text variable sent
/// there is a version-controlled resource on a non-version-control route.
pub fn check_database_variables(project: &Value, body: &Value) -> ApiResult<()> {
    if !variables_in_git(project) {
        return Ok(());
    }
    let has_text = body
        .get("Variables")
        .and_then(Value::as_array)
        .is_some_and(|sent| sent.iter().any(|v| !is_sensitive_variable(v)));
    if has_text {
        return Err(non_version_control_route());
    }
    Ok(())
}

/// What marks a reference in a document as the repository holds it: OCL names the space's
/// resources (environments, channels, feeds, worker pools, accounts, …) by slug, never by the
/// space-scoped id (OctopusDeploy/Issues#7704: OCL written before 2022.3.4517 holds names,
/// later OCL slugs; the Octopus docs' Config-as-Code reference likewise), so a repository
/// forked into another space reads there with that space's ids.
const OCL_REFERENCE: &str = "\u{1}ocl:";

/// A document as the repository holds it: every id of one of the space's resources becomes a
/// reference by slug (or name, for resources without one).
pub fn commit(space: &SpaceStore, mut doc: Value) -> Value {
    let mut by_id = std::collections::HashMap::new();
    for (collection, docs) in &space.collections {
        for item in docs {
            let key = str_field(item, "Slug").or_else(|| str_field(item, "Name"));
            if let (id, Some(key)) = (id_of(item), key) {
                if !id.is_empty() {
                    by_id.insert(
                        id.to_ascii_lowercase(),
                        format!("{OCL_REFERENCE}{collection}:{key}"),
                    );
                }
            }
        }
    }
    map_strings(&mut doc, &|text| {
        by_id.get(&text.to_ascii_lowercase()).cloned()
    });
    doc
}

/// A document of the repository as a project of `space` reads it: references by slug become
/// that space's ids (a slug the space lacks stays as the slug, as OCL holds it).
pub fn checkout(space: &SpaceStore, mut doc: Value) -> Value {
    map_strings(&mut doc, &|text| {
        let reference = text.strip_prefix(OCL_REFERENCE)?;
        let (collection, key) = reference.split_once(':')?;
        let found = space.docs(collection).iter().find(|item| {
            str_field(item, "Slug")
                .or_else(|| str_field(item, "Name"))
                .is_some_and(|k| k.eq_ignore_ascii_case(key))
        });
        Some(found.map_or_else(|| key.to_string(), |item| id_of(item).to_string()))
    });
    doc
}

fn map_strings(value: &mut Value, map: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::String(text) => {
            if let Some(mapped) = map(text) {
                *text = mapped;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| map_strings(item, map)),
        Value::Object(fields) => fields.values_mut().for_each(|v| map_strings(v, map)),
        _ => {}
    }
}
