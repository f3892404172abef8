//! octoterra's naming rule, shared by everything that names a project's parts: `secrets.json`
//! keys, Terraform labels and variables.

/// The label octoterra gives a project variable, `<project>_<variable>_<n>`, which is also the
/// secret's key in `secrets.json` and its Terraform variable name (the article's
/// `hello_world_database_development__password_1`).
pub fn secret_key(project_name: &str, variable_name: &str, occurrence: usize) -> String {
    format!(
        "{}_{}_{occurrence}",
        sanitize(project_name),
        sanitize(variable_name)
    )
}

/// The Octopus variable a platform engineer defines on the template project (sensitive, scoped
/// to `Sync`) to supply a sensitive step or action property: `Octofleet.Secret[<step or
/// action>].<property>`, e.g. `Octofleet.Secret[Notify Slack].Slack.Webhook`.
pub fn property_secret_name(step_or_action: &str, property: &str) -> String {
    format!("Octofleet.Secret[{step_or_action}].{property}")
}

/// Where a project's tenant templates are, in the Octopus UI (Variables → Project Templates):
/// the `<step or action>` part of a sensitive template default's [`property_secret_name`].
pub const PROJECT_TEMPLATES: &str = "Project Templates";

/// The Octopus variable that supplies a sensitive project template's default value, named as a
/// sensitive property's is, with the templates in place of the step:
/// `Octofleet.Secret[Project Templates].<template>`, e.g.
/// `Octofleet.Secret[Project Templates].Tenant.Database.Password`.
pub fn template_secret_name(template: &str) -> String {
    property_secret_name(PROJECT_TEMPLATES, template)
}

/// Where step templates are, in the Octopus UI (Library → Step Templates): with the template's
/// name, the `<step or action>` part of a step template's sensitive value's
/// [`property_secret_name`].
pub const STEP_TEMPLATES: &str = "Step Templates";

/// The Octopus variable that supplies a step template's sensitive property or parameter
/// default: `Octofleet.Secret[Step Templates/<template>].<property or parameter>`, e.g.
/// `Octofleet.Secret[Step Templates/Notify Team].Notify.Token`.
pub fn step_template_secret_name(template: &str, key: &str) -> String {
    property_secret_name(&format!("{STEP_TEMPLATES}/{template}"), key)
}

/// The `secrets.json` key of a sensitive property, named like a variable's secret
/// ([`secret_key`] of its [`property_secret_name`]) and, for a runbook's process,
/// `<project>_runbook_<runbook>_<name>_<n>`, so the deployment process and each runbook have
/// their own.
pub fn property_secret_key(
    project_name: &str,
    runbook: Option<&str>,
    secret_name: &str,
    occurrence: usize,
) -> String {
    match runbook {
        None => secret_key(project_name, secret_name, occurrence),
        Some(runbook) => format!(
            "{}_runbook_{}_{}_{occurrence}",
            sanitize(project_name),
            sanitize(runbook),
            sanitize(secret_name)
        ),
    }
}

/// octoterra's sanitizer: lower case, every character outside `[a-z0-9]` → `_`, and a leading
/// `_` when the result does not start with a letter or `_`.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizer_and_secret_keys_follow_octoterra() {
        assert_eq!(
            secret_key("Hello World", "Database[Development].Password", 1),
            "hello_world_database_development__password_1"
        );
        assert_eq!(sanitize("1st Project"), "_1st_project");
        let name = property_secret_name("Notify Slack", "Slack.Webhook");
        assert_eq!(name, "Octofleet.Secret[Notify Slack].Slack.Webhook");
        assert_eq!(
            property_secret_key("Hello World", None, &name, 1),
            "hello_world_octofleet_secret_notify_slack__slack_webhook_1"
        );
        assert_eq!(
            property_secret_key("Hello World", Some("Rotate"), &name, 2),
            "hello_world_runbook_rotate_octofleet_secret_notify_slack__slack_webhook_2"
        );
        assert_eq!(
            template_secret_name("Tenant.Key"),
            "Octofleet.Secret[Project Templates].Tenant.Key"
        );
        assert_eq!(
            property_secret_key("Hello World", None, &template_secret_name("Tenant.Key"), 1),
            "hello_world_octofleet_secret_project_templates__tenant_key_1"
        );
        assert_eq!(sanitize("_x"), "_x");
        assert_eq!(sanitize(""), "_");
    }
}
