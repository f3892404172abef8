//! The article's management space, seeded into an emulator: the "Octopus Server" library
//! variable set, the "__ Client Space" project, and the America and Europe tenants.

use octopus_emulator::Emulator;
use serde_json::{json, Value};

/// The management space's default space, where the article keeps tenants and template projects.
pub const MANAGEMENT_SPACE: &str = "Spaces-1";

/// What was seeded, by id.
#[derive(Debug, Clone)]
pub struct ManagementSpace {
    pub space_id: String,
    pub library_variable_set_id: String,
    pub project_id: String,
    /// (name, id)
    pub tenants: Vec<(String, String)>,
    /// Template name → template id in the "Octopus Server" set.
    pub template_ids: Vec<(String, String)>,
}

impl ManagementSpace {
    pub fn tenant_id(&self, name: &str) -> &str {
        &self
            .tenants
            .iter()
            .find(|(tenant, _)| tenant == name)
            .expect("seeded tenant")
            .1
    }

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
                t["Name"].as_str().unwrap().to_owned(),
                t["Id"].as_str().unwrap().to_owned(),
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
