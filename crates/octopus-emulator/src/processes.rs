//! Deployment and runbook processes: `Version`-checked replace, step/action IDs, slugs and defaults.

use serde_json::{json, Map, Value};

use crate::documents::{
    guid, id_of, into_object, is_missing, now, slugify, str_field, with_links, MODIFIED_BY,
};
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult};
use crate::secrets::{absorb, redact};
use crate::state::SpaceStore;
use crate::variables::check_version;

/// The answer to a deployment process written with a stale `Version`: the 400 text of
/// `updateDeploymentProcess` in the server's swagger (2020.5), OctopusDeploy/go-octopusdeploy `api/octopus_deploy.json`.
pub const VERSION_CONFLICT: &str =
    "Changes to this deployment process could not be saved, because another user has made changes to the deployment process between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes.";

/// The same for a runbook process (`updateRunbookProcess`, same swagger).
pub const RUNBOOK_VERSION_CONFLICT: &str =
    "Changes to this process could not be saved, because another user has made changes to the process between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes.";

const STEP_DEFAULTS: &str = r#"{"PackageRequirement":"LetOctopusDecide","Properties":{},"Condition":"Success","StartTrigger":"StartAfterPrevious","Actions":[]}"#;
const ACTION_DEFAULTS: &str = r#"{"IsDisabled":false,"CanBeUsedForProjectVersioning":false,"IsRequired":false,"WorkerPoolId":null,"WorkerPoolVariable":null,"Container":{"FeedId":null,"Image":null},"Environments":[],"ExcludedEnvironments":[],"Channels":[],"TenantTags":[],"Packages":[],"GitDependencies":[],"Condition":"Success","Notes":null,"Properties":{},"Links":{}}"#;

pub fn deployment_process_id(project_id: &str) -> String {
    format!("deploymentprocess-{project_id}")
}

pub fn runbook_process_id(runbook_id: &str) -> String {
    format!("RunbookProcess-{runbook_id}")
}

/// The empty process the server creates with a project (`runbook_id` None) or a runbook.
pub fn new_process(space_id: &str, project_id: &str, runbook_id: Option<&str>) -> Value {
    let mut doc = Map::new();
    match runbook_id {
        Some(runbook) => {
            doc.insert("Id".into(), json!(runbook_process_id(runbook)));
            doc.insert("RunbookId".into(), json!(runbook));
        }
        None => {
            doc.insert("Id".into(), json!(deployment_process_id(project_id)));
        }
    }
    doc.insert("SpaceId".into(), json!(space_id));
    doc.insert("ProjectId".into(), json!(project_id));
    doc.insert("Steps".into(), json!([]));
    doc.insert("Version".into(), json!(0));
    doc.insert("LastSnapshotId".into(), Value::Null);
    doc.insert("LastModifiedOn".into(), json!(now()));
    doc.insert("LastModifiedBy".into(), json!(MODIFIED_BY));
    Value::Object(doc)
}

pub fn position(space: &SpaceStore, id: &str) -> Option<usize> {
    crate::documents::position_by_id(&space.processes, id)
}

/// Another writer's commit to process `id` (in whichever space holds it): its `Version` moves on,
/// so a PUT that read the process before carries a stale one and is refused.
pub fn bump_version(state: &mut crate::state::State, id: &str) {
    for space in &mut state.spaces {
        if let Some(at) = position(space, id) {
            let doc = &mut space.processes[at];
            let version = doc.get("Version").and_then(Value::as_i64).unwrap_or(0) + 1;
            doc["Version"] = json!(version);
        }
    }
}

pub fn is_runbook_process(doc: &Value) -> bool {
    doc.get("RunbookId").is_some()
}

/// The canonical database route of a process, used as `Links.Self` unless a Config-as-Code
/// route was read.
pub fn db_self_link(space_id: &str, doc: &Value) -> String {
    if is_runbook_process(doc) {
        format!("/api/{space_id}/runbookProcesses/{}", id_of(doc))
    } else {
        format!("/api/{space_id}/deploymentprocesses/{}", id_of(doc))
    }
}

pub fn render(space_id: &str, doc: &Value, self_href: &str) -> Value {
    let mut out = doc.clone();
    redact(&mut out);
    let project = str_field(doc, "ProjectId").unwrap_or_default();
    let mut links = Map::new();
    links.insert("Self".into(), json!(self_href));
    links.insert(
        "Project".into(),
        json!(format!("/api/{space_id}/projects/{project}")),
    );
    if let Some(runbook) = str_field(doc, "RunbookId") {
        links.insert(
            "Runbook".into(),
            json!(format!("/api/{space_id}/runbooks/{runbook}")),
        );
    } else {
        links.insert(
            "Template".into(),
            json!(format!("{self_href}/template{{?channel,releaseId}}")),
        );
    }
    with_links(out, links)
}

/// `GET /deploymentprocesses?ids&skip&take`.
/// `GET /deploymentprocesses` or `GET /runbookProcesses` (`?ids=` filters): one collection route per
/// kind of owner, as on the real server.
pub fn list(space: &SpaceStore, query: &Query, runbooks: bool) -> Value {
    let ids = query.list("ids");
    let items = space
        .processes
        .iter()
        .filter(|p| is_runbook_process(p) == runbooks)
        .filter(|p| ids.is_empty() || ids.iter().any(|id| id.eq_ignore_ascii_case(id_of(p))))
        .map(|p| render(space.id(), p, &db_self_link(space.id(), p)))
        .collect();
    let (item_type, route) = if runbooks {
        ("RunbookProcess", "runbookProcesses")
    } else {
        ("DeploymentProcess", "deploymentprocesses")
    };
    page(
        items,
        item_type,
        &format!("/api/{}/{route}", space.id()),
        "{/id}{?skip,take,ids}",
        query,
    )
}

/// The stored document after a PUT of `body` over `stored`: server fields kept, steps
/// completed, secrets absorbed, `Version` incremented. `check` enforces the sent `Version`.
pub fn replaced(stored: &Value, body: Value, check: bool) -> ApiResult<Value> {
    if check {
        let conflict = if is_runbook_process(stored) {
            RUNBOOK_VERSION_CONFLICT
        } else {
            VERSION_CONFLICT
        };
        check_version(stored, &body, conflict)?;
    }
    let body = into_object(body)?;
    let mut steps = body.get("Steps").cloned().unwrap_or(json!([]));
    complete_steps(&mut steps)?;
    absorb(&mut steps, stored.get("Steps"));
    let mut doc = stored.clone();
    let version = stored.get("Version").and_then(Value::as_i64).unwrap_or(0) + 1;
    doc["Steps"] = steps;
    doc["Version"] = json!(version);
    doc["LastModifiedOn"] = json!(now());
    doc["LastModifiedBy"] = json!(MODIFIED_BY);
    Ok(doc)
}

fn complete_steps(steps: &mut Value) -> ApiResult<()> {
    let Value::Array(steps) = steps else {
        return Err(ApiError::bad_request("The Steps field must be an array."));
    };
    let step_defaults: Value = serde_json::from_str(STEP_DEFAULTS).expect("valid JSON");
    let action_defaults: Value = serde_json::from_str(ACTION_DEFAULTS).expect("valid JSON");
    for step in steps.iter_mut() {
        let Value::Object(step) = step else {
            return Err(ApiError::bad_request("Each step must be a JSON object."));
        };
        identify(step)?;
        crate::documents::fill_defaults(step, &step_defaults);
        let Some(Value::Array(actions)) = step.get_mut("Actions") else {
            return Err(ApiError::bad_request("The Actions field must be an array."));
        };
        for action in actions.iter_mut() {
            let Value::Object(action) = action else {
                return Err(ApiError::bad_request("Each action must be a JSON object."));
            };
            identify(action)?;
            if is_missing(action, "ActionType") {
                return Err(ApiError::required("ActionType"));
            }
            crate::documents::fill_defaults(action, &action_defaults);
            rewrite_properties(action);
            let mut packages = Value::Object(action.clone());
            crate::documents::assign_guid_ids(&mut packages, "Packages");
            if let Some(p) = packages.get("Packages") {
                action.insert("Packages".into(), p.clone());
            }
        }
    }
    Ok(())
}

/// Action types that can only run on the Octopus Server or a worker: the server stores
/// `Octopus.Action.RunOnServer` as `"true"` for them whatever was sent. Source: octoterra's
/// `FixRunOnServer` (OctopusSolutionsEngineering/OctopusTerraformExport,
/// cmd/internal/converters/octopus_action_processor.go), written after the provider saw
/// `"false"` come back `"true"` on a manual intervention. octoterra also lists Octopus.Script,
/// Kustomize and Helm, which can run on targets; those are left as sent (a guess, marked so).
const RUNS_ONLY_ON_SERVER: [&str; 9] = [
    "Octopus.Manual",
    "Octopus.Email",
    "Octopus.DeployRelease",
    "Octopus.JiraIntegration.ServiceDeskAction",
    "Octopus.HealthCheck",
    "Octopus.AzureResourceGroup",
    "Octopus.AwsRunCloudFormation",
    "Octopus.AwsDeleteCloudFormation",
    "Octopus.AwsApplyCloudFormationChangeSet",
];

/// Whether an action runs inside a container (`Container.Image` set): the server then injects
/// `OctopusUseBundledTooling = "False"` into its properties when it is absent, whatever the
/// action type. Source: the provider's `resource_process_step.go` ("The server automatically
/// injects OctopusUseBundledTooling into a step's execution properties when the step runs inside
/// a container") and its acceptance test `TestAccOctopusDeployProcessStepContainerBundledTooling`
/// (an `Octopus.Script` step with a `container` block), OctopusDeploy/terraform-provider-octopusdeploy
/// octopusdeploy_framework/resource_process_step{,_test}.go; the real k8s payload in
/// tests/fixtures/octopus-payloads (deploymentprocess-k8s__octopus-docs-cloud-2023.json) shows
/// `"OctopusUseBundledTooling": "False"` beside a `Container` with an image. The value injected
/// is "False", as that payload and the provider's documented workaround both show. (octoterra's
/// `FixOctopusUseBundledTooling` adds it by action type, but for its own Terraform output, whose
/// steps of those types usually run in a container: not a statement of the server's rule.)
fn runs_in_container(action: &Map<String, Value>) -> bool {
    action
        .get("Container")
        .and_then(|c| c.get("Image"))
        .and_then(Value::as_str)
        .is_some_and(|image| !image.trim().is_empty())
}

/// What a real server rewrites in an action's `Properties` on save:
/// - `Octopus.Action.RunOnServer` in lower case (`"True"` → `"true"`; the provider normalises
///   boolean casing for the same reason), and `"true"` for server-only action types;
/// - `OctopusUseBundledTooling` defaulted for an action that runs in a container (above);
/// - `Octopus.Action.Package.FeedId` / `PackageId` / `DownloadOnTentacle` kept in step with the
///   primary package (the 2018 payload deploymentprocess__octopusdeployutilities-2018.11.2.json
///   shows all three beside a `Packages` entry named "").
fn rewrite_properties(action: &mut Map<String, Value>) {
    let action_type = action
        .get("ActionType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let primary = action
        .get("Packages")
        .and_then(Value::as_array)
        .and_then(|packages| {
            packages.iter().find(|p| {
                p.get("Name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
            })
        })
        .cloned();
    let in_container = runs_in_container(action);
    let Some(Value::Object(properties)) = action.get_mut("Properties") else {
        return;
    };
    if let Some(Value::String(run_on_server)) = properties.get_mut("Octopus.Action.RunOnServer") {
        if run_on_server.eq_ignore_ascii_case("true") || run_on_server.eq_ignore_ascii_case("false")
        {
            *run_on_server = run_on_server.to_ascii_lowercase();
        }
    }
    if RUNS_ONLY_ON_SERVER.contains(&&*action_type) {
        properties.insert("Octopus.Action.RunOnServer".into(), json!("true"));
    }
    if in_container {
        properties
            .entry("OctopusUseBundledTooling")
            .or_insert_with(|| json!("False"));
    }
    if let Some(primary) = primary {
        if let Some(feed) = primary.get("FeedId").and_then(Value::as_str) {
            properties.insert("Octopus.Action.Package.FeedId".into(), json!(feed));
        }
        if let Some(package) = primary.get("PackageId").and_then(Value::as_str) {
            properties.insert("Octopus.Action.Package.PackageId".into(), json!(package));
        }
        properties
            .entry("Octopus.Action.Package.DownloadOnTentacle")
            .or_insert_with(|| json!("False"));
    }
}

/// Steps and actions: `Name` required, GUID `Id` and `Slug` from the name when absent, `Id` first.
fn identify(item: &mut Map<String, Value>) -> ApiResult<()> {
    if is_missing(item, "Name") {
        return Err(ApiError::required("Name"));
    }
    let id = match item.remove("Id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        _ => guid(),
    };
    let rest = std::mem::take(item);
    item.insert("Id".into(), json!(id));
    item.extend(rest);
    if is_missing(item, "Slug") {
        let slug = slugify(item.get("Name").and_then(Value::as_str).unwrap_or_default());
        item.insert("Slug".into(), json!(slug));
    }
    Ok(())
}
