//! Projects and what hangs off them: creation side effects, links, deployment settings, channels and runbooks.

use serde_json::{json, Map, Value};

use crate::collections;
use crate::documents::{
    assign_guid_ids, find_by_id, id_of, into_object, same_id, str_field, string_list, with_links,
};
use crate::kinds::{kind, Change};
use crate::processes::{self, deployment_process_id, new_process, runbook_process_id};
use crate::reply::{ApiError, ApiResult};
use crate::state::{SpaceMut, SpaceStore};
use crate::variables;

pub const PROJECT_DEFAULTS: &str = r##"{
  "Description": "", "IsDisabled": false, "ClonedFromProjectId": null, "DiscreteChannelRelease": false,
  "IncludedLibraryVariableSetIds": [], "DefaultToSkipIfAlreadyInstalled": false,
  "TenantedDeploymentMode": "Untenanted", "DefaultGuidedFailureMode": "EnvironmentDefault",
  "VersioningStrategy": {"Template": "#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}", "DonorPackage": null},
  "ReleaseCreationStrategy": {"ChannelId": null, "ReleaseCreationPackage": null, "ReleaseCreationPackageStepId": null},
  "Templates": [], "AutoDeployReleaseOverrides": [], "ReleaseNotesTemplate": null, "DeploymentChangesTemplate": null,
  "ForcePackageDownload": false, "Icon": null, "AllowIgnoreChannelRules": true, "ExtensionSettings": [],
  "AutoCreateRelease": false, "IsVersionControlled": false, "PersistenceSettings": {"Type": "Database"},
  "ProjectConnectivityPolicy": {"SkipMachineBehavior": "None", "TargetRoles": [], "AllowDeploymentsToNoTargets": false, "ExcludeUnhealthyTargets": false}
}"##;

pub const RUNBOOK_DEFAULTS: &str = r#"{
  "Description": "", "PublishedRunbookSnapshotId": null, "EnvironmentScope": "All", "Environments": [],
  "MultiTenancyMode": "Untenanted", "DefaultGuidedFailureMode": "EnvironmentDefault", "ForcePackageDownload": false,
  "RunbookTags": [],
  "ConnectivityPolicy": {"AllowDeploymentsToNoTargets": true, "ExcludeUnhealthyTargets": false, "SkipMachineBehavior": "None", "TargetRoles": []},
  "RunRetentionPolicy": {"QuantityToKeep": 100, "ShouldKeepForever": false, "Unit": "Items", "Strategy": "Count"}
}"#;

/// Deployment-settings fields and the project fields they live in for database projects.
const SETTINGS_FIELDS: &[(&str, &str)] = &[
    ("ConnectivityPolicy", "ProjectConnectivityPolicy"),
    ("DefaultGuidedFailureMode", "DefaultGuidedFailureMode"),
    (
        "DefaultToSkipIfAlreadyInstalled",
        "DefaultToSkipIfAlreadyInstalled",
    ),
    ("DeploymentChangesTemplate", "DeploymentChangesTemplate"),
    ("ReleaseNotesTemplate", "ReleaseNotesTemplate"),
    ("VersioningStrategy", "VersioningStrategy"),
    ("ReleaseCreationStrategy", "ReleaseCreationStrategy"),
];

pub fn is_version_controlled(project: &Value) -> bool {
    project.get("IsVersionControlled").and_then(Value::as_bool) == Some(true)
}

fn persistence_type(doc: &Map<String, Value>) -> Option<&str> {
    doc.get("PersistenceSettings")
        .and_then(|p| p.get("Type"))
        .and_then(Value::as_str)
}

fn require_reference(
    space: &SpaceStore,
    collection: &str,
    id: Option<&str>,
    what: &str,
) -> ApiResult<()> {
    match id {
        Some(id) if find_by_id(space.docs(collection), id).is_some() => Ok(()),
        Some(id) => Err(ApiError::bad_request(format!(
            "The {what} '{id}' could not be found."
        ))),
        None => Ok(()),
    }
}

pub fn project_rule(
    space: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    let lifecycle = doc.get("LifecycleId").and_then(Value::as_str);
    require_reference(space.space, "lifecycles", lifecycle, "lifecycle")?;
    let group = doc.get("ProjectGroupId").and_then(Value::as_str);
    require_reference(space.space, "projectgroups", group, "project group")?;
    for lvs in string_list(doc.get("IncludedLibraryVariableSetIds")) {
        require_reference(
            space.space,
            "libraryvariablesets",
            Some(&lvs),
            "library variable set",
        )?;
    }
    let wants_git = persistence_type(doc) == Some("VersionControlled");
    match change.old {
        None if wants_git => {
            return Err(ApiError::bad_request(
                "Projects cannot be created as version controlled. Create the project, then convert it with git/convert.",
            ))
        }
        Some(old) if is_version_controlled(old) => {
            // The body was checked for deployment settings (`routes::check_project_put`); the
            // defaults filled in for the fields it left out are not the project's.
            clear_settings_fields(doc);
            if !wants_git {
                // Omitted settings (filled with the Database default) keep the stored ones.
                doc.insert("PersistenceSettings".into(), old["PersistenceSettings"].clone());
            } else if let Some(state) = old.pointer("/PersistenceSettings/ConversionState") {
                doc["PersistenceSettings"]["ConversionState"] = state.clone();
            }
            doc.insert("IsVersionControlled".into(), json!(true));
        }
        Some(_) if wants_git => {
            return Err(ApiError::bad_request(
                "Use the git/convert endpoint to convert a project to version control.",
            ))
        }
        _ => {
            doc.insert("IsVersionControlled".into(), json!(false));
        }
    }
    versioning_rule(space.space, doc, change.id)?;
    release_creation_rule(space.space, doc, change.id)?;
    // Server-owned references.
    doc.insert(
        "VariableSetId".into(),
        json!(variables::set_id_for(change.id)),
    );
    doc.insert(
        "DeploymentProcessId".into(),
        json!(deployment_process_id(change.id)),
    );
    let mut templates = json!({ "Templates": doc.get("Templates").cloned().unwrap_or(json!([])) });
    assign_guid_ids(&mut templates, "Templates");
    doc.insert("Templates".into(), templates["Templates"].take());
    Ok(())
}

/// The deployment-settings fields of a project document and the value each has once the
/// settings live in git: what the provider sends on `PUT /projects/{id}` for a Config-as-Code
/// project, because "the server rejects these deployment settings fields on the base project
/// endpoint" (OctopusDeploy/terraform-provider-octopusdeploy,
/// octopusdeploy_framework/resource_project.go, `Update`: `DefaultGuidedFailureMode =
/// "EnvironmentDefault"`, the two templates "" and `ConnectivityPolicy` and
/// `VersioningStrategy` nil, all `omitempty` in go-octopusdeploy's `Project`, so left out); it
/// then writes them with `PUT /projects/{id}/{gitRef}/deploymentsettings`.
/// `DefaultToSkipIfAlreadyInstalled` is not among them (the provider sends it as it is).
const GIT_SETTINGS_FIELDS: [(&str, Value); 5] = [
    ("DefaultGuidedFailureMode", Value::Null),
    ("DeploymentChangesTemplate", Value::Null),
    ("ReleaseNotesTemplate", Value::Null),
    ("ProjectConnectivityPolicy", Value::Null),
    ("VersioningStrategy", Value::Null),
];

/// What the provider's cleared `DefaultGuidedFailureMode` is.
const GUIDED_FAILURE_DEFAULT: &str = "EnvironmentDefault";

/// A version-controlled project's `PUT` carrying a deployment setting (anything but the cleared
/// values above) is refused: those go to `/{gitRef}/deploymentsettings`. The message is ours: the
/// provider's comment says the server rejects them without quoting the server's text, and no
/// other source of it was looked for.
pub fn settings_fields_on_a_version_controlled_project(doc: &Value) -> ApiResult<()> {
    let carried: Vec<&str> = GIT_SETTINGS_FIELDS
        .iter()
        .map(|(field, _)| *field)
        .filter(|field| match doc.get(*field) {
            None | Some(Value::Null) => false,
            Some(Value::String(text)) if *field == "DefaultGuidedFailureMode" => {
                text != GUIDED_FAILURE_DEFAULT
            }
            Some(Value::String(text)) => !text.is_empty(),
            Some(_) => true,
        })
        .collect();
    if carried.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "The project is version controlled: its deployment settings ({}) are saved with PUT /projects/{{id}}/{{gitRef}}/deploymentsettings, not on the project.",
        carried.join(", ")
    )))
}

/// The project document once its deployment settings moved to git (on conversion).
pub fn clear_settings_fields(project: &mut Map<String, Value>) {
    for (field, cleared) in &GIT_SETTINGS_FIELDS {
        project.insert(field.to_string(), cleared.clone());
    }
    project.insert(
        "DefaultGuidedFailureMode".into(),
        json!(GUIDED_FAILURE_DEFAULT),
    );
}

/// What a server before 2024.1.1085 makes of a project PUT: a `VersioningStrategy` whose
/// `Template` is `null` (or left out) keeps the stored template (OctopusDeploy/Issues#8455, "When
/// updating a project's VersioningStrategy via API client and sending a `null` template, Octopus
/// does not clear the current template"; fixed in 2024.1.1085). With a donor package beside it
/// the strategy then holds both, which `versioning_rule` refuses, as #8455's error shows.
pub fn template_kept_on_null(space: &SpaceStore, project_ref: &str, mut body: Value) -> Value {
    let Some(stored) = collections::position(space, kind("projects").expect("kind"), project_ref)
        .map(|at| &space.docs("projects")[at])
    else {
        return body;
    };
    let stored_template = stored
        .pointer("/VersioningStrategy/Template")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    if let (Some(template), Some(strategy)) = (
        stored_template,
        body.get_mut("VersioningStrategy").filter(|s| s.is_object()),
    ) {
        if strategy.get("Template").is_none_or(Value::is_null) {
            strategy["Template"] = json!(template);
        }
    }
    body
}

/// A project whose versioning strategy names a donor action its deployment process no longer
/// has cannot be loaded: the server answers 404 "The resource '<action>' was not found." for it,
/// and for the lists that hold it (OctopusDeploy/Issues#7230: "This causes the project to fail to
/// load ... The resource '<New Step Name>' was not found."; #7521: `projects/<name>`,
/// `projects/all` and `projects?take=10` all 404 with "The resource 'Run a Script' was not
/// found."). A process write may leave it so (#7230, #7448); a strategy write cannot
/// (`versioning_rule`).
pub fn unloadable(space: &SpaceStore, project: &Value) -> Option<ApiError> {
    let action = project
        .pointer("/VersioningStrategy/DonorPackage/DeploymentAction")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())?;
    if is_version_controlled(project) {
        return None;
    }
    let process = crate::processes::position(space, &deployment_process_id(id_of(project)))
        .map(|at| &space.processes[at])?;
    let present = process["Steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|step| step["Actions"].as_array().into_iter().flatten())
        .any(|a| a["Name"].as_str() == Some(action) || a["Id"].as_str() == Some(action));
    (!present).then(|| ApiError::not_found(action))
}

/// A versioning strategy takes a version template or a donor package, never both ("Only one of
/// either a donor package step or a version template may be provided": the server's validation
/// text quoted in issue 10, item 7, from OctopusDeploy/Issues#8455's discussion), and a donor
/// package must name an action of the project's deployment process (a dangling donor step is
/// rejected or leaves the project unloadable: OctopusDeploy/Issues#6947, #7230).
fn versioning_rule(
    space: &SpaceStore,
    doc: &Map<String, Value>,
    project_id: &str,
) -> ApiResult<()> {
    let Some(strategy) = doc.get("VersioningStrategy").filter(|v| v.is_object()) else {
        return Ok(());
    };
    let donor = strategy.get("DonorPackage").filter(|v| v.is_object());
    let donor_step = strategy
        .get("DonorPackageStepId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let template = strategy
        .get("Template")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    if template.is_some() && (donor.is_some() || donor_step.is_some()) {
        return Err(ApiError::bad_request(
            "Only one of either a donor package step or a version template may be provided.",
        ));
    }
    let Some(donor) = donor else {
        return Ok(());
    };
    let action = donor
        .get("DeploymentAction")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let process = crate::processes::position(space, &deployment_process_id(project_id))
        .map(|at| &space.processes[at]);
    let has_action = process.is_some_and(|process| {
        process["Steps"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|step| {
                step["Actions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["Name"].as_str() == Some(action))
            })
    });
    if !has_action {
        return Err(ApiError::bad_request(format!(
            "The donor package step '{action}' could not be found in the deployment process."
        )));
    }
    Ok(())
}

/// Automatic release creation needs a release creation strategy naming a channel of this
/// project and a package step. The texts are the 400 answers of `createProject` and
/// `updateProject` in the server's swagger (2020.5), OctopusDeploy/go-octopusdeploy `api/octopus_deploy.json`: "A channel ID must be provided to enable Automatic Release
/// Creation.", "A package step must be provided to enable Automatic Release Creation.", "The
/// specified Automatic Release Creation channel belongs to a different project.".
fn release_creation_rule(
    space: &SpaceStore,
    doc: &Map<String, Value>,
    project_id: &str,
) -> ApiResult<()> {
    if doc.get("AutoCreateRelease").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    let strategy = doc.get("ReleaseCreationStrategy");
    let channel = strategy
        .and_then(|s| s.get("ChannelId"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty());
    let Some(channel) = channel else {
        return Err(ApiError::bad_request(
            "A channel ID must be provided to enable Automatic Release Creation.",
        ));
    };
    let has_package = strategy
        .and_then(|s| s.get("ReleaseCreationPackage"))
        .is_some_and(|p| p.is_object());
    if !has_package {
        return Err(ApiError::bad_request(
            "A package step must be provided to enable Automatic Release Creation.",
        ));
    }
    let ours = find_by_id(space.docs("channels"), channel)
        .is_some_and(|c| same_id(str_field(c, "ProjectId").unwrap_or_default(), project_id));
    if !ours {
        return Err(ApiError::bad_request(
            "The specified Automatic Release Creation channel belongs to a different project.",
        ));
    }
    Ok(())
}

/// A new project gets its variable set, an empty deployment process (Version 0) and a `Default` channel.
pub fn project_created(space: &mut SpaceMut<'_>, project: &Value) {
    let id = id_of(project).to_string();
    let space_id = space.space.id().to_string();
    variables::ensure_set(space.space, &id);
    space
        .space
        .processes
        .push(new_process(&space_id, &id, None));
    let channels = kind("channels").expect("channels kind");
    let channel = json!({"Name": "Default", "ProjectId": id, "Description": null, "IsDefault": true, "LifecycleId": null});
    collections::create(space, channels, channel)
        .expect("the Default channel of a new project is valid");
}

pub fn project_cascade(space: &mut SpaceMut<'_>, project: &Value) {
    let id = id_of(project).to_string();
    let owned = |d: &Value| same_id(str_field(d, "ProjectId").unwrap_or_default(), &id);
    let store = &mut *space.space;
    store.processes.retain(|p| !owned(p));
    for collection in ["channels", "runbooks", crate::triggers::COLLECTION] {
        store.docs_mut(collection).retain(|d| !owned(d));
    }
    variables::remove_set(store, &id);
    // Its repository stays: the files are in git, not in Octopus (OctopusDeploy/Issues#7330:
    // a project recreated on the same repository and base path finds them).
    store.tenant_values.retain(|v| !same_id(&v.owner_id, &id));
}

/// Project links; Config-as-Code projects point process, settings (and migrated variables and
/// runbooks) at the templated `{gitRef}` routes.
pub fn project_links(space_id: &str, project: &Value, links: &mut Map<String, Value>) {
    let base = format!("/api/{space_id}/projects/{}", id_of(project));
    let cac = is_version_controlled(project);
    let in_git = |flag: &str| {
        project
            .pointer(&format!("/PersistenceSettings/ConversionState/{flag}"))
            .and_then(Value::as_bool)
            == Some(true)
    };
    let git_ref = if cac { "/{gitRef}" } else { "" };
    let variables_ref = if cac && in_git("VariablesAreInGit") {
        "/{gitRef}"
    } else {
        ""
    };
    let runbooks_ref = if cac && in_git("RunbooksAreInGit") {
        "/{gitRef}"
    } else {
        ""
    };
    let mut add = |rel: &str, href: String| {
        links.insert(rel.to_string(), json!(href));
    };
    add("Variables", format!("{base}{variables_ref}/variables"));
    if !variables_ref.is_empty() {
        add("SensitiveVariables", format!("{base}/variables"));
    }
    add(
        "Releases",
        format!("{base}/releases{{/version}}{{?skip,take,searchByVersion}}"),
    );
    add(
        "Channels",
        format!("{base}/channels{{/id}}{{?skip,take,partialName}}"),
    );
    add("Triggers", format!("{base}/triggers{{?skip,take,partialName,triggerActionType,triggerActionCategory,runbooks}}"));
    add("OrderChannels", format!("{base}/channels/order"));
    add(
        "DeploymentProcess",
        format!("{base}{git_ref}/deploymentprocesses"),
    );
    add(
        "DeploymentSettings",
        format!("{base}{git_ref}/deploymentsettings"),
    );
    add(
        "Web",
        format!("/app#/{space_id}/projects/{}", id_of(project)),
    );
    add("Logo", format!("{base}/logo"));
    add("Metadata", format!("{base}/metadata"));
    add(
        "Runbooks",
        format!("{base}{runbooks_ref}/runbooks{{?skip,take,partialName}}"),
    );
    add(
        "RunbookSnapshots",
        format!("{base}/runbookSnapshots{{/name}}{{?skip,take,searchByName}}"),
    );
    add("Summary", format!("{base}{git_ref}/summary"));
    add("GitConnectionTest", format!("{base}/git/connectivity-test"));
    add(
        "GitCompatibilityReport",
        format!("{base}/git/compatibility-report"),
    );
    if cac {
        add(
            "Branches",
            format!("{base}/git/branches{{/name}}{{?skip,take,searchByName,refresh}}"),
        );
        add(
            "Tags",
            format!("{base}/git/tags{{/name}}{{?skip,take,searchByName,refresh}}"),
        );
        add(
            "Commits",
            format!("{base}/git/commits{{/hash}}{{?skip,take,refresh}}"),
        );
        add(
            "MigrateVariablesToGit",
            format!("{base}/git/migrate-variables"),
        );
        add(
            "MigrateRunbooksToGit",
            format!("{base}/git/migrate-runbooks"),
        );
    } else {
        add("ConvertToGit", format!("{base}/git/convert"));
        add("ConvertToVcs", format!("{base}/git/convert"));
    }
}

pub fn channel_rule(
    space: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    _: &Change<'_>,
) -> ApiResult<()> {
    let project = doc.get("ProjectId").and_then(Value::as_str);
    require_reference(space.space, "projects", project, "project")?;
    let lifecycle = doc.get("LifecycleId").and_then(Value::as_str);
    require_reference(space.space, "lifecycles", lifecycle, "lifecycle")?;
    let mut rules = json!({ "Rules": doc.get("Rules").cloned().unwrap_or(json!([])) });
    assign_guid_ids(&mut rules, "Rules");
    doc.insert("Rules".into(), rules["Rules"].take());
    Ok(())
}

pub fn runbook_rule(
    space: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    let project = doc.get("ProjectId").and_then(Value::as_str);
    require_reference(space.space, "projects", project, "project")?;
    if let Some(old) = change.old {
        if !same_id(
            str_field(old, "ProjectId").unwrap_or_default(),
            project.unwrap_or_default(),
        ) {
            return Err(ApiError::bad_request(
                "A runbook cannot be moved to another project.",
            ));
        }
    }
    doc.insert(
        "RunbookProcessId".into(),
        json!(runbook_process_id(change.id)),
    );
    Ok(())
}

/// A new runbook gets its empty process.
pub fn runbook_created(space: &mut SpaceMut<'_>, runbook: &Value) {
    let space_id = space.space.id().to_string();
    let project = str_field(runbook, "ProjectId").unwrap_or_default();
    let process = new_process(&space_id, project, Some(id_of(runbook)));
    space.space.processes.push(process);
}

pub fn runbook_cascade(space: &mut SpaceMut<'_>, runbook: &Value) {
    let process = runbook_process_id(id_of(runbook));
    space
        .space
        .processes
        .retain(|p| !same_id(id_of(p), &process));
}

/// The deployment settings document, built from the given source document (the project for
/// database projects, where the fields live on the project).
pub fn settings_from_project(space_id: &str, project: &Value) -> Value {
    let id = id_of(project);
    let mut doc = Map::new();
    doc.insert("Id".into(), json!(format!("deploymentsettings-{id}")));
    doc.insert("ProjectId".into(), json!(id));
    doc.insert("SpaceId".into(), json!(space_id));
    for (setting, field) in SETTINGS_FIELDS {
        doc.insert(
            setting.to_string(),
            project.get(*field).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(doc)
}

pub fn render_settings(settings: &Value, self_href: &str) -> Value {
    let mut links = Map::new();
    links.insert("Self".into(), json!(self_href));
    with_links(settings.clone(), links)
}

/// PUT deployment settings of a database project: the sent fields go back onto the project.
pub fn put_db_settings(space: &mut SpaceStore, project_index: usize, body: Value) -> ApiResult<()> {
    let body = into_object(body)?;
    let project = &mut space.docs_mut("projects")[project_index];
    for (setting, field) in SETTINGS_FIELDS {
        if let Some(value) = body.get(*setting) {
            project[*field] = value.clone();
        }
    }
    crate::documents::touch(project);
    Ok(())
}

/// The same settings document with the sent fields applied (Config-as-Code branches).
pub fn merged_settings(stored: &Value, body: Value) -> ApiResult<Value> {
    let body = into_object(body)?;
    let mut doc = stored.clone();
    for (setting, _) in SETTINGS_FIELDS {
        if let Some(value) = body.get(*setting) {
            doc[*setting] = value.clone();
        }
    }
    Ok(doc)
}

/// The deployment process of a database project, from its stored ID.
pub fn db_process_index(space: &SpaceStore, project: &Value) -> ApiResult<usize> {
    let id = deployment_process_id(id_of(project));
    processes::position(space, &id).ok_or_else(|| ApiError::not_found(&id))
}
