//! The article's management space, seeded into an emulator: the "Octopus Server" library
//! variable set, the "__ Client Space" project, and the America and Europe tenants.

use octopus_emulator::Emulator;
use serde_json::{json, Value};

pub mod demo;

/// The management space's default space, where the article keeps tenants and template projects.
pub const MANAGEMENT_SPACE: &str = "Spaces-1";

/// What was seeded, by id.
#[derive(Debug, Clone)]
pub struct ManagementSpace {
    /// The management space.
    pub space_id: String,
    /// The "Octopus Server" library variable set (the tenants' templates).
    pub library_variable_set_id: String,
    /// The "__ Client Space" project.
    pub project_id: String,
    /// (name, id)
    pub tenants: Vec<(String, String)>,
    /// Template name → template id in the "Octopus Server" set.
    pub template_ids: Vec<(String, String)>,
}

impl ManagementSpace {
    /// The ID of the seeded tenant `name`; panics for a tenant that was not seeded.
    pub fn tenant_id(&self, name: &str) -> &str {
        &self
            .tenants
            .iter()
            .find(|(tenant, _)| tenant == name)
            .expect("seeded tenant")
            .1
    }

    /// The ID of the template `name` of the "Octopus Server" set; panics for another name.
    pub fn template_id(&self, name: &str) -> &str {
        &self
            .template_ids
            .iter()
            .find(|(template, _)| template == name)
            .expect("seeded template")
            .1
    }
}

fn id_of(document: &Value) -> String {
    document["Id"]
        .as_str()
        .expect("seeded documents have an Id")
        .to_owned()
}

fn named(emulator: &Emulator, space_id: &str, collection: &str, name: &str) -> String {
    emulator
        .list(space_id, collection)
        .iter()
        .find(|item| item["Name"] == name)
        .map(id_of)
        .unwrap_or_else(|| panic!("the emulator seeds `{name}` in {collection}"))
}

/// Seed the article's management space. Each tenant's `ManagedTenant.Octopus.Url` and
/// `ManagedTenant.Octopus.ApiKey` point at `managed_url` with `managed_api_key` (the same
/// emulator in the sandbox), and `ManagedTenant.Octopus.SpaceId` holds a placeholder, as the
/// article does before the space exists.
pub fn seed_management_space(
    emulator: &Emulator,
    managed_url: &str,
    managed_api_key: &str,
    tenants: &[&str],
) -> ManagementSpace {
    let space_id = MANAGEMENT_SPACE;
    let sync = emulator.seed(
        space_id,
        "environments",
        json!({"Name": "Sync", "Description": "Where management runbooks run with secrets."}),
    );
    let template = |name: &str, label: &str, control: &str| {
        json!({
            "Id": uuid::Uuid::new_v4().to_string(),
            "Name": name,
            "Label": label,
            "HelpText": null,
            "DefaultValue": null,
            "DisplaySettings": {"Octopus.ControlType": control}
        })
    };
    let templates = vec![
        template("ManagedTenant.Octopus.Url", "Octopus URL", "SingleLineText"),
        template(
            "ManagedTenant.Octopus.ApiKey",
            "Octopus API key",
            "Sensitive",
        ),
        template(
            "ManagedTenant.Octopus.SpaceId",
            "Octopus space ID",
            "SingleLineText",
        ),
    ];
    let template_ids: Vec<(String, String)> = templates
        .iter()
        .map(|t| {
            (
                t["Name"]
                    .as_str()
                    .expect("each template above has a Name")
                    .to_owned(),
                t["Id"]
                    .as_str()
                    .expect("each template above has an Id")
                    .to_owned(),
            )
        })
        .collect();
    let library_variable_set = emulator.seed(
        space_id,
        "libraryvariablesets",
        json!({
            "Name": "Octopus Server",
            "Description": "Where each managed space lives.",
            "ContentType": "Variables",
            "Templates": templates
        }),
    );
    let library_variable_set_id = id_of(&library_variable_set);
    let project = emulator.seed(
        space_id,
        "projects",
        json!({
            "Name": "__ Client Space",
            "Description": "Management runbooks for the managed spaces.",
            "LifecycleId": named(emulator, space_id, "lifecycles", "Default Lifecycle"),
            "ProjectGroupId": named(emulator, space_id, "projectgroups", "Default Project Group"),
            "IncludedLibraryVariableSetIds": [library_variable_set_id],
            "TenantedDeploymentMode": "Tenanted"
        }),
    );
    let project_id = id_of(&project);
    let tenants = tenants
        .iter()
        .map(|name| {
            let tenant = emulator.seed(
                space_id,
                "tenants",
                json!({"Name": name, "ProjectEnvironments": {project_id.clone(): [id_of(&sync)]}, "TenantTags": []}),
            );
            let tenant_id = id_of(&tenant);
            for (template, value) in [
                ("ManagedTenant.Octopus.Url", managed_url),
                ("ManagedTenant.Octopus.ApiKey", managed_api_key),
                ("ManagedTenant.Octopus.SpaceId", "TBD"),
            ] {
                emulator.seed_tenant_common_variable(space_id, &tenant_id, &library_variable_set_id, template, value);
            }
            (name.to_string(), tenant_id)
        })
        .collect();
    ManagementSpace {
        space_id: space_id.to_owned(),
        library_variable_set_id,
        project_id,
        tenants,
        template_ids,
    }
}

/// Parse `##octopus[setVariable name='…' value='…']` lines into (name, value) pairs.
pub fn output_variables(stdout: &str) -> Vec<(String, String)> {
    use base64::Engine;
    let decode = |text: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    };
    stdout
        .lines()
        .filter_map(|line| {
            let body = line
                .trim()
                .strip_prefix("##octopus[setVariable ")?
                .strip_suffix(']')?;
            let attribute = |key: &str| {
                let start = body.find(&format!("{key}='"))? + key.len() + 2;
                let end = start + body[start..].find('\'')?;
                decode(&body[start..end])
            };
            Some((attribute("name")?, attribute("value")?))
        })
        .collect()
}

/// The article's template projects, by id.
#[derive(Debug, Clone)]
pub struct TemplateProjects {
    /// "Hello World", a database project.
    pub hello_world: String,
    /// "Hello World CaC", a Config-as-Code project.
    pub hello_world_cac: String,
    /// The "Export Options" library variable set (`Exported.Project.Name`).
    pub export_options: String,
    /// The git credential the Config-as-Code project uses.
    pub git_credential: String,
}

/// Environments of the management space besides `Sync`, as the article's reference setup has.
pub const ENVIRONMENTS: [&str; 3] = ["Development", "Test", "Production"];

/// The secret values seeded; tests check none of them ever appears in a package or a log.
pub const SEEDED_SECRETS: [&str; 3] = [
    "dev-db-password-s3cr3t",
    "slack-token-s3cr3t",
    "git-token-s3cr3t",
];

fn script_step(name: &str, body: &str) -> Value {
    json!({
        "Name": name,
        "PackageRequirement": "LetOctopusDecide",
        "Condition": "Success",
        "StartTrigger": "StartAfterPrevious",
        "Properties": {"Octopus.Action.TargetRoles": ""},
        "Actions": [{
            "Name": name,
            "ActionType": "Octopus.Script",
            "IsDisabled": false,
            "IsRequired": false,
            "Environments": [],
            "ExcludedEnvironments": [],
            "Channels": [],
            "TenantTags": [],
            "Packages": [],
            "Properties": {
                "Octopus.Action.RunOnServer": "true",
                "Octopus.Action.Script.ScriptSource": "Inline",
                "Octopus.Action.Script.Syntax": "Bash",
                "Octopus.Action.Script.ScriptBody": body
            }
        }]
    })
}

/// Seed "Hello World" (two script steps; variables including the sensitive
/// `Database[Development].Password` scoped to Development and Sync; the "Export Options" library
/// variable set; the two management runbooks) and "Hello World CaC" (a manual intervention in
/// Production, then a script step; under version control at `cac_repository_url`).
pub fn seed_template_projects(
    emulator: &Emulator,
    management: &ManagementSpace,
    cac_repository_url: &str,
) -> TemplateProjects {
    let space_id = management.space_id.as_str();
    let environment_ids: Vec<(String, String)> = ENVIRONMENTS
        .iter()
        .map(|name| {
            let existing = emulator
                .list(space_id, "environments")
                .into_iter()
                .find(|e| e["Name"] == *name);
            let environment = existing
                .unwrap_or_else(|| emulator.seed(space_id, "environments", json!({"Name": name})));
            (name.to_string(), id_of(&environment))
        })
        .collect();
    let environment = |name: &str| -> String {
        if name == "Sync" {
            return named(emulator, space_id, "environments", "Sync");
        }
        environment_ids
            .iter()
            .find(|(n, _)| n == name)
            .expect("seeded environment")
            .1
            .clone()
    };
    let lifecycle = named(emulator, space_id, "lifecycles", "Default Lifecycle");
    let project_group = named(emulator, space_id, "projectgroups", "Default Project Group");

    let export_options = emulator.seed(
        space_id,
        "libraryvariablesets",
        json!({"Name": "Export Options", "Description": "Used by the management runbooks only.", "ContentType": "Variables"}),
    );
    let export_options_id = id_of(&export_options);
    emulator.seed_variables(
        space_id,
        &export_options_id,
        json!([{"Name": "Exported.Project.Name", "Value": "#{Octopus.Project.Name}", "Type": "String", "Scope": {}}]),
    );

    // Hello World: a database project.
    let hello = emulator.seed(
        space_id,
        "projects",
        json!({
            "Name": "Hello World",
            "Description": "A simple project deployed to every managed space.",
            "LifecycleId": lifecycle,
            "ProjectGroupId": project_group,
            "IncludedLibraryVariableSetIds": [export_options_id],
            "TenantedDeploymentMode": "Untenanted"
        }),
    );
    let hello_id = id_of(&hello);
    emulator.seed_process(
        space_id,
        hello["DeploymentProcessId"]
            .as_str()
            .expect("projects have a process"),
        json!([
            script_step(
                "Hello World",
                "echo \"Hello from #{Octopus.Environment.Name}\""
            ),
            script_step(
                "Show Configuration",
                "echo \"Connecting as #{Database[Development].Username}\""
            ),
        ]),
    );
    let mut management_runbooks = Vec::new();
    for name in ["__ 1. Serialize Project", "__ 2. Deploy Project"] {
        let runbook = emulator.seed(
            space_id,
            "runbooks",
            json!({"Name": name, "ProjectId": hello_id}),
        );
        management_runbooks.push(id_of(&runbook));
    }
    emulator.seed_variables(
        space_id,
        &hello_id,
        json!([
            {"Name": "Database[Development].Password", "Value": SEEDED_SECRETS[0], "Type": "Sensitive", "IsSensitive": true,
             "Scope": {"Environment": [environment("Development"), environment("Sync")]}},
            {"Name": "Database[Development].Username", "Value": "hello_world_app", "Type": "String",
             "Scope": {"Environment": [environment("Development")]}},
            {"Name": "App.Greeting", "Value": "Hello from #{Octopus.Environment.Name}", "Type": "String", "Scope": {}},
            {"Name": "App.Port", "Value": "8080", "Type": "String",
             "Scope": {"Environment": [environment("Test"), environment("Production")]}},
            {"Name": "Sync.Only", "Value": "management-only", "Type": "String",
             "Scope": {"Environment": [environment("Sync")]}},
            {"Name": "Serialize.Workspace", "Value": "/tmp/export", "Type": "String",
             "Scope": {"ProcessOwner": [management_runbooks[0]]}}
        ]),
    );

    // Hello World CaC: converted to Config-as-Code after its process is set.
    let credential = emulator.seed(
        space_id,
        "git-credentials",
        json!({
            "Name": "Git",
            "Description": "The shared credential for Config-as-Code repositories.",
            "Details": {"Type": "UsernamePassword", "Username": "octopus", "Password": {"HasValue": true, "NewValue": SEEDED_SECRETS[2]}},
            "RepositoryRestrictions": {"Enabled": false, "AllowedRepositories": []}
        }),
    );
    let credential_id = id_of(&credential);
    let cac = emulator.seed(
        space_id,
        "projects",
        json!({
            "Name": "Hello World CaC",
            "Description": "A Config-as-Code project forked for every managed space.",
            "LifecycleId": lifecycle,
            "ProjectGroupId": project_group,
            "IncludedLibraryVariableSetIds": [export_options_id]
        }),
    );
    let cac_id = id_of(&cac);
    let mut approval = json!({
        "Name": "Approve Production",
        "PackageRequirement": "LetOctopusDecide",
        "Condition": "Success",
        "StartTrigger": "StartAfterPrevious",
        "Properties": {},
        "Actions": [{
            "Name": "Approve Production",
            "ActionType": "Octopus.Manual",
            "Environments": [environment("Production")],
            "Properties": {
                "Octopus.Action.Manual.Instructions": "Approve the deployment to Production.",
                "Octopus.Action.Manual.BlockConcurrentDeployments": "False",
                "Octopus.Action.RunOnServer": "false"
            }
        }]
    });
    approval["Actions"][0]["Packages"] = json!([]);
    emulator.seed_process(
        space_id,
        cac["DeploymentProcessId"]
            .as_str()
            .expect("projects have a process"),
        json!([
            approval,
            script_step(
                "Hello World",
                "echo \"Hello from the CaC project in #{Octopus.Environment.Name}\""
            )
        ]),
    );
    emulator.seed_variables(
        space_id,
        &cac_id,
        json!([
            {"Name": "Slack.Token", "Value": SEEDED_SECRETS[1], "Type": "Sensitive", "IsSensitive": true,
             "Scope": {"Environment": [environment("Sync")]}},
            {"Name": "Slack.Channel", "Value": "#deployments", "Type": "String", "Scope": {}}
        ]),
    );
    emulator.seed_convert(
        space_id,
        &cac_id,
        json!({
            "Type": "VersionControlled",
            "Url": cac_repository_url,
            "DefaultBranch": "main",
            "BasePath": ".octopus/hello_world_cac",
            "ProtectedDefaultBranch": false,
            "ProtectedBranchNamePatterns": [],
            "Credentials": {"Type": "Reference", "Id": credential_id}
        }),
    );
    TemplateProjects {
        hello_world: hello_id,
        hello_world_cac: cac_id,
        export_options: export_options_id,
        git_credential: credential_id,
    }
}

/// The shape of a generated project, for benchmarks.
#[derive(Debug, Clone, Copy)]
pub struct LargeProjectShape {
    /// Deployment process steps.
    pub steps: usize,
    /// Project variables.
    pub variables: usize,
    /// Environments the variables are scoped over.
    pub environments: usize,
    /// Runbooks.
    pub runbooks: usize,
    /// Steps per runbook.
    pub runbook_steps: usize,
    /// Library variable sets the project includes.
    pub library_variable_sets: usize,
}

impl LargeProjectShape {
    /// The serialize issue's benchmark project.
    pub const BENCHMARK: LargeProjectShape = LargeProjectShape {
        steps: 100,
        variables: 2000,
        environments: 20,
        runbooks: 20,
        runbook_steps: 10,
        library_variable_sets: 10,
    };

    /// An **estimate**, not a measurement, of the requests the Terraform provider would make to
    /// create this project, and the line that says so with its formula: per variable the
    /// provider's `octopusdeploy_variable` reads the set, writes the whole set and reads it again
    /// (3); each process step resource does the same with its process (3); a runbook is a POST
    /// and a GET (2); the project a POST, a GET and a deployment-settings GET (3).
    pub fn terraform_provider_estimate(&self) -> (usize, String) {
        let steps = self.steps + self.runbooks * self.runbook_steps;
        let requests = 3 * self.variables + 3 * steps + 2 * self.runbooks + 3;
        let label = format!(
            "terraform provider, same module: an estimate (not measured) of {requests} requests = \
             3 x {} variables + 3 x {steps} steps ({} + {} runbooks x {}) + 2 x {} runbooks + 3 for the project",
            self.variables, self.steps, self.runbooks, self.runbook_steps, self.runbooks
        );
        (requests, label)
    }
}

/// `no writes` only when there were none; otherwise the count (`1 write`, `3 writes`).
pub fn writes_label(writes: usize) -> String {
    match writes {
        0 => "no writes".to_owned(),
        1 => "1 write".to_owned(),
        n => format!("{n} writes"),
    }
}

/// Seed a generated project named `name` of the given shape into `space_id` (deterministic:
/// the same shape gives the same project). One variable in fifty is sensitive, each with its
/// own name, so the export is unambiguous. Returns the project id.
pub fn seed_large_project(
    emulator: &Emulator,
    space_id: &str,
    name: &str,
    shape: LargeProjectShape,
) -> String {
    let environments: Vec<String> = (0..shape.environments)
        .map(|i| {
            id_of(&emulator.seed(
                space_id,
                "environments",
                json!({"Name": format!("{name} Env {i:02}")}),
            ))
        })
        .collect();
    let sets: Vec<String> = (0..shape.library_variable_sets)
        .map(|i| {
            id_of(&emulator.seed(
                space_id,
                "libraryvariablesets",
                json!({"Name": format!("{name} Set {i:02}"), "ContentType": "Variables"}),
            ))
        })
        .collect();
    let project = emulator.seed(
        space_id,
        "projects",
        json!({
            "Name": name,
            "LifecycleId": named(emulator, space_id, "lifecycles", "Default Lifecycle"),
            "ProjectGroupId": named(emulator, space_id, "projectgroups", "Default Project Group"),
            "IncludedLibraryVariableSetIds": sets
        }),
    );
    let project_id = id_of(&project);
    let steps = |prefix: &str, count: usize| -> Value {
        (0..count)
            .map(|i| {
                script_step(
                    &format!("{prefix} {i:03}"),
                    &format!("echo \"step {i} in #{{Octopus.Environment.Name}}\""),
                )
            })
            .collect()
    };
    emulator.seed_process(
        space_id,
        project["DeploymentProcessId"].as_str().expect("a process"),
        steps("Step", shape.steps),
    );
    for r in 0..shape.runbooks {
        let runbook = emulator.seed(
            space_id,
            "runbooks",
            json!({"Name": format!("Runbook {r:02}"), "ProjectId": project_id}),
        );
        let process_id = runbook["RunbookProcessId"]
            .as_str()
            .expect("runbooks have a process")
            .to_owned();
        emulator.seed_process(
            space_id,
            &process_id,
            steps(&format!("Runbook {r:02} Step"), shape.runbook_steps),
        );
    }
    let variables: Vec<Value> = (0..shape.variables)
        .map(|i| {
            let scope: Vec<&String> = environments.iter().skip(i % shape.environments.max(1)).step_by(7).collect();
            if i % 50 == 0 {
                json!({"Name": format!("Secret.{i:04}"), "Value": format!("secret-{i}"), "Type": "Sensitive", "IsSensitive": true,
                       "Scope": {"Environment": scope}})
            } else {
                json!({"Name": format!("Setting.{:03}", i / 4), "Value": format!("value-{i}"), "Type": "String",
                       "Scope": {"Environment": scope}})
            }
        })
        .collect();
    emulator.seed_variables(space_id, &project_id, Value::Array(variables));
    project_id
}
