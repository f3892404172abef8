//! Server-wide documents: the API root, a space's root, feature toggles, the current user and tasks.

use serde_json::{json, Map, Value};

/// The Octopus version the emulator claims to be (the version of the 2024.3 payload captures).
pub const VERSION: &str = "2024.3.10989";

/// Space-scoped links as `(rel, path after /api/{space})`.
const SPACE_LINKS: &[(&str, &str)] = &[
    (
        "Accounts",
        "/accounts{/id}{?skip,take,ids,partialName,accountType}",
    ),
    (
        "ActionTemplates",
        "/actiontemplates{/id}{?skip,take,ids,partialName}",
    ),
    (
        "Certificates",
        "/certificates{/id}{?skip,take,search,archived,tenant,firstResult,orderBy,ids,partialName}",
    ),
    ("Channels", "/channels{/id}{?skip,take,ids,partialName}"),
    (
        "DeploymentProcesses",
        "/deploymentprocesses{/id}{?skip,take,ids}",
    ),
    (
        "Environments",
        "/environments{/id}{?name,skip,ids,take,partialName}",
    ),
    ("EnvironmentSortOrder", "/environments/sortorder"),
    (
        "Feeds",
        "/feeds{/id}{?skip,take,ids,partialName,feedType,name}",
    ),
    ("GitCredentials", "/git-credentials{/id}{?skip,take,name}"),
    (
        "LibraryVariables",
        "/libraryvariablesets{/id}{?skip,contentType,take,ids,partialName}",
    ),
    ("Lifecycles", "/lifecycles{/id}{?skip,take,ids,partialName}"),
    (
        "Packages",
        "/packages{/id}{?nuGetPackageId,filter,latest,skip,take,includeNotes}",
    ),
    ("PackageUpload", "/packages/raw{?replace,overwriteMode}"),
    (
        "ProjectGroups",
        "/projectgroups{/id}{?skip,take,ids,partialName}",
    ),
    (
        "Projects",
        "/projects{/id}{?name,skip,ids,clone,take,partialName,clonedFromProjectId}",
    ),
    ("RunbookProcesses", "/runbookProcesses{/id}{?skip,take,ids}"),
    (
        "Runbooks",
        "/runbooks{/id}{?skip,take,ids,partialName,clone,projectIds}",
    ),
    ("TagSets", "/tagsets{/id}{?skip,take,ids,partialName}"),
    (
        "Tenants",
        "/tenants{/id}{?skip,projectId,name,tags,take,ids,clone,partialName,clonedFromTenantId}",
    ),
    ("TenantVariables", "/tenantvariables/all{?projectId}"),
    ("Variables", "/variables{/id}{?ids}"),
    // The task queue's collections (go-octopusdeploy `pkg/constants/constants_api_replies.go`).
    (
        "Artifacts",
        "/artifacts{/id}{?skip,take,regarding,ids,partialName,order}",
    ),
    (
        "RunbookRuns",
        "/runbookRuns{/id}{?skip,take,ids,projects,environments,tenants,runbooks,taskState,partialName}",
    ),
    ("RunbookSnapshots", "/runbookSnapshots{/id}{?skip,take,ids,publish}"),
    (
        "WorkerPools",
        "/workerpools{/id}{?skip,ids,take,partialName}",
    ),
];

fn space_links(space_id: &str, links: &mut Map<String, Value>) {
    for (rel, path) in SPACE_LINKS {
        links.insert(rel.to_string(), json!(format!("/api/{space_id}{path}")));
    }
}

/// `GET /api`: anonymous; space-scoped links point at the default space, as on the real server.
pub fn api_root(installation_id: &str, default_space: Option<&str>) -> Value {
    let mut links = Map::new();
    links.insert("Self".into(), json!("/api"));
    links.insert("SpaceHome".into(), json!("/api/{spaceId}"));
    links.insert(
        "Spaces".into(),
        json!("/api/spaces{/id}{?skip,ids,take,partialName}"),
    );
    links.insert("CurrentUser".into(), json!("/api/users/me"));
    links.insert(
        "FeatureToggles".into(),
        json!("/api/configuration/feature-toggles"),
    );
    links.insert("Tasks".into(), json!("/api/tasks{/id}{?skip,active,environment,tenant,runbook,project,name,node,running,states,hasPendingInterruptions,hasWarningsOrErrors,take,ids,partialName,spaces,includeSystem}"));
    links.insert(
        "Teams".into(),
        json!("/api/teams{/id}{?skip,take,ids,partialName,spaces,includeSystem}"),
    );
    links.insert("Web".into(), json!("/app"));
    if let Some(space) = default_space {
        space_links(space, &mut links);
    }
    json!({
        "Application": "Octopus Deploy",
        "Version": VERSION,
        "ApiVersion": "3.0.0",
        "InstallationId": installation_id,
        "IsEarlyAccessProgram": false,
        "HasLongTermSupport": true,
        "Links": links,
    })
}

/// `GET /api/{spaceId}`.
pub fn space_root(space_id: &str) -> Value {
    let mut links = Map::new();
    links.insert("Self".into(), json!(format!("/api/{space_id}")));
    links.insert("SpaceHome".into(), json!(format!("/api/{space_id}")));
    space_links(space_id, &mut links);
    json!({ "Id": space_id, "Links": links })
}

/// TF1 switches to the scoped tenant-variable API when `CommonVariableScopingFeatureToggle` is on.
pub fn feature_toggles(common_variable_scoping: bool) -> Value {
    json!({
        "FeatureToggles": [
            {"Name": "CommonVariableScopingFeatureToggle", "IsEnabled": common_variable_scoping},
            {"Name": "ConfigAsCodeRunbooksFeatureToggle", "IsEnabled": true}
        ]
    })
}

pub fn current_user() -> Value {
    json!({
        "Id": "Users-1", "Username": "admin", "DisplayName": "Administrator", "IsActive": true,
        "IsService": false, "EmailAddress": "admin@example.com", "CanPasswordBeEdited": true,
        "IsRequestor": true, "Identities": [],
        "Links": {"Self": "/api/users/Users-1", "Permissions": "/api/users/Users-1/permissions", "ApiKeys": "/api/users/Users-1/apikeys{/id}{?skip,take}"}
    })
}
