//! What the tests seed into the emulator beyond the sandbox's article setting.

use serde_json::{json, Value};

/// The shared resources the rich project refers to, created in `space` by name.
pub fn seed_rich_dependencies(emulator: &octopus_emulator::Emulator, space: &str) {
    let has = |collection: &str, name: &str| {
        emulator
            .list(space, collection)
            .iter()
            .any(|item| item["Name"] == name)
    };
    for (collection, doc) in [
        ("lifecycles", json!({"Name": "Hotfix", "Phases": []})),
        ("projectgroups", json!({"Name": "Payments"})),
        (
            "feeds",
            json!({"Name": "Docker Hub", "FeedType": "Docker", "FeedUri": "https://index.docker.io"}),
        ),
        (
            "workerpools",
            json!({"Name": "Linux Workers", "WorkerPoolType": "StaticWorkerPool"}),
        ),
        (
            "actiontemplates",
            json!({"Name": "Slack - Notify", "ActionType": "Octopus.Script", "Properties": {}, "Parameters": []}),
        ),
        (
            "tagsets",
            json!({"Name": "Region", "Tags": [{"Name": "EU", "Color": "#333333"}]}),
        ),
        (
            "libraryvariablesets",
            json!({"Name": "Shared", "ContentType": "Variables"}),
        ),
    ] {
        if !has(collection, doc["Name"].as_str().unwrap()) {
            emulator.seed(space, collection, doc);
        }
    }
}

/// A project using every field of the portable model, seeded with server ids in `space` (which
/// holds its dependencies and the environments Development, Test and Production).
pub fn seed_rich_project(emulator: &octopus_emulator::Emulator, space: &str) {
    let s = space;
    let id = |doc: &Value| doc["Id"].as_str().unwrap().to_owned();
    let named = |collection: &str, name: &str| {
        id(&emulator
            .list(s, collection)
            .into_iter()
            .find(|item| item["Name"] == name)
            .unwrap())
    };
    let env = |name: &str| named("environments", name);
    let lifecycle = named("lifecycles", "Hotfix");
    let group = named("projectgroups", "Payments");
    let feed = named("feeds", "Docker Hub");
    let pool = named("workerpools", "Linux Workers");
    let template = named("actiontemplates", "Slack - Notify");
    let shared = named("libraryvariablesets", "Shared");
    let project = emulator.seed(
        s,
        "projects",
        json!({
            "Name": "Rich",
            "Description": "Uses everything.",
            "LifecycleId": named("lifecycles", "Default Lifecycle"),
            "ProjectGroupId": group,
            "IncludedLibraryVariableSetIds": [shared],
            "TenantedDeploymentMode": "TenantedOrUntenanted",
            "DefaultGuidedFailureMode": "On",
            "ReleaseNotesTemplate": "Notes for #{Octopus.Release.Number}",
            "DiscreteChannelRelease": true,
            "DefaultToSkipIfAlreadyInstalled": true,
            "ProjectConnectivityPolicy": {"SkipMachineBehavior": "SkipUnavailableMachines", "TargetRoles": ["web"], "AllowDeploymentsToNoTargets": true, "ExcludeUnhealthyTargets": true},
            "Templates": [
                {"Id": "8a1b9c3e-0000-4000-8000-000000000001", "Name": "Tenant.Url", "Label": "URL", "HelpText": "Where it runs", "DefaultValue": "https://x", "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}},
                {"Id": "8a1b9c3e-0000-4000-8000-000000000002", "Name": "Tenant.Key", "Label": "Key", "DefaultValue": {"HasValue": true, "NewValue": "template-secret-default"}, "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}
            ],
            "FutureSetting": {"Enabled": true}
        }),
    );
    let project_id = id(&project);
    let hotfix = id(&emulator.seed(s, "channels", json!({
        "Name": "Hotfix", "ProjectId": project_id, "LifecycleId": lifecycle, "TenantTags": ["Region/EU"],
        "Rules": [{"VersionRange": "[1.0,2.0)", "Tag": "^hotfix", "ActionPackages": [{"DeploymentAction": "Deploy API", "PackageReference": ""}]}]
    })));
    let process = emulator.seed_process(s, project["DeploymentProcessId"].as_str().unwrap(), json!([
        {
            "Name": "Deploy API", "PackageRequirement": "AfterPackageAcquisition", "Condition": "Variable", "StartTrigger": "StartAfterPrevious",
            "Properties": {"Octopus.Action.TargetRoles": "web, api", "Octopus.Action.MaxParallelism": "2", "Octopus.Step.ConditionVariableExpression": "#{Deploy}"},
            "Actions": [
                {
                    "Name": "Deploy API", "ActionType": "Octopus.KubernetesDeployContainers", "IsRequired": true, "CanBeUsedForProjectVersioning": true,
                    "Condition": "Success", "Notes": "The API.", "WorkerPoolId": pool,
                    "Environments": [env("Production")], "ExcludedEnvironments": [env("Test")], "Channels": [hotfix], "TenantTags": ["Region/EU"],
                    "Container": {"FeedId": feed, "Image": "octopusdeploy/worker-tools:6"},
                    "Packages": [{"Name": "", "PackageId": "payments-api", "FeedId": feed, "AcquisitionLocation": "NotAcquired", "Properties": {"SelectionMode": "immediate"}}],
                    "GitDependencies": [{"Name": "", "RepositoryUri": "https://git.example.com/charts.git", "DefaultBranch": "main", "GitCredentialType": "Anonymous"}],
                    "Properties": {"Octopus.Action.Package.FeedId": feed, "Octopus.Action.KubernetesContainers.Namespace": "payments", "Octopus.Action.Secret": {"HasValue": true, "NewValue": "action-secret-value"}},
                    "FutureActionField": 42
                },
                {
                    "Name": "Notify", "ActionType": "Octopus.Script", "WorkerPoolVariable": "Pool",
                    "Properties": {"Octopus.Action.Template.Id": template, "Octopus.Action.Template.Version": "0", "Slack.Channel": "#ops"}
                }
            ]
        }
    ]));
    let deploy_api = process["Steps"][0]["Actions"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The donor package names a step of the process, so it is set once the process has it (a
    // real server refuses a donor step that is not there).
    emulator.seed_update(
        s,
        "projects",
        &project_id,
        json!({"VersioningStrategy": {"Template": null, "DonorPackage": {"DeploymentAction": "Deploy API", "PackageReference": ""}}}),
    );
    let runbook = emulator.seed(s, "runbooks", json!({
        "Name": "Restart", "ProjectId": project_id, "Description": "Restarts the API.", "EnvironmentScope": "Specified",
        "Environments": [env("Production")], "MultiTenancyMode": "Tenanted", "DefaultGuidedFailureMode": "Off", "ForcePackageDownload": true,
        "RunRetentionPolicy": {"QuantityToKeep": 10, "ShouldKeepForever": false, "Unit": "Days"}
    }));
    emulator.seed_process(s, runbook["RunbookProcessId"].as_str().unwrap(), json!([
        {"Name": "Restart", "Actions": [{"Name": "Restart", "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Script.ScriptBody": "restart"}}]}
    ]));
    emulator.seed_variables(s, &project_id, json!([
        {"Name": "Scoped", "Value": "v", "Type": "String", "Description": "every scope kind",
         "Scope": {"Environment": [env("Production")], "Role": ["web"], "Channel": [hotfix], "Action": [deploy_api], "TenantTag": ["Region/EU"], "ProcessOwner": [runbook["Id"].clone()]}},
        {"Name": "Prompted", "Value": "", "Type": "String",
         "Prompt": {"Label": "Reason", "Description": "Why deploy?", "Required": true, "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}}},
        {"Name": "Secret.Key", "Value": "rich-secret-value", "Type": "Sensitive", "IsSensitive": true, "Scope": {}}
    ]));
}
