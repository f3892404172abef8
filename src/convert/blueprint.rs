//! Blueprint spec → the desired state of each space resource, PURE: each built from what the
//! server holds (ids, unknown fields and held secrets survive), names → ids through what was read;
//! step templates and script modules → the definitions deploy's mechanism reconciles.

use crate::blueprint::{
    AccountSpec, CertificateSpec, EnvironmentSpec, FeedSpec, GitCredentialSpec,
    LibraryVariableSetSpec, LibraryVariableSpec, LifecycleSpec, PhaseSpec, ProjectGroupSpec,
    RetentionSpec, ScriptModuleSpec, SecretRef, StepTemplateSpec, TagSetSpec, TemplateSpec,
    VariableTypeSpec,
};
use crate::octopus::resources::{
    Account, ActionTemplateParameter, Certificate, Environment, Extra, Feed, GitCredential,
    GitCredentialDetails, LibraryVariableSet, Lifecycle, Phase, ProjectGroup, PropertyValue,
    RepositoryRestrictions, RetentionPolicy, SensitiveValue, Tag, TagSet, Variable, VariableSet,
};
use crate::portable;
use crate::portable::definitions::{LIBRARY_LATEST, SCRIPT_SYNTAXES};
use crate::secret::Secret;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub fn desired_environment(
    spec: &EnvironmentSpec,
    existing: Option<&Environment>,
    space_id: &str,
    sort_order: i32,
) -> Environment {
    let mut desired = existing.cloned().unwrap_or_else(|| Environment {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        sort_order,
        use_guided_failure: false,
        allow_dynamic_infrastructure: false,
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    if let Some(value) = spec.use_guided_failure {
        desired.use_guided_failure = value;
    }
    if let Some(value) = spec.allow_dynamic_infrastructure {
        desired.allow_dynamic_infrastructure = value;
    }
    desired
}

pub fn desired_project_group(
    spec: &ProjectGroupSpec,
    existing: Option<&ProjectGroup>,
    space_id: &str,
) -> ProjectGroup {
    let mut desired = existing.cloned().unwrap_or_else(|| ProjectGroup {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    desired
}

/// (to compare, to send): a password that the server already holds is compared as "kept", and
/// sent again only when something else about the feed changes.
pub fn desired_feed(spec: &FeedSpec, existing: Option<&Feed>, space_id: &str) -> (Feed, Feed) {
    let mut desired = existing.cloned().unwrap_or_else(|| Feed {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        feed_type: spec.kind.api_name().to_owned(),
        feed_uri: None,
        username: None,
        password: None,
        api_version: None,
        registry_path: None,
        enhanced_mode: None,
        download_attempts: None,
        download_retry_backoff_seconds: None,
        package_acquisition_location_options: spec.kind.acquisition_locations(),
        extra: Extra::new(),
    });
    desired.feed_type = spec.kind.api_name().to_owned();
    desired.feed_uri = Some(spec.feed_uri.clone());
    if spec.username.is_some() {
        desired.username = spec.username.clone();
    }
    set_if_some(&mut desired.api_version, &spec.api_version);
    set_if_some(&mut desired.registry_path, &spec.registry_path);
    if spec.download_attempts.is_some() {
        desired.download_attempts = spec.download_attempts;
    }
    if spec.download_retry_backoff_seconds.is_some() {
        desired.download_retry_backoff_seconds = spec.download_retry_backoff_seconds;
    }
    let mut send = desired.clone();
    if let Some(password) = &spec.password {
        let held = existing
            .and_then(|feed| feed.password.as_ref())
            .is_some_and(|p| p.has_value);
        desired.password = Some(if held {
            existing
                .and_then(|f| f.password.clone())
                .unwrap_or_default()
        } else {
            SensitiveValue::set(password.secret())
        });
        send.password = Some(SensitiveValue::set(password.secret()));
    }
    (desired, send)
}

pub fn desired_git_credential(
    spec: &GitCredentialSpec,
    existing: Option<&GitCredential>,
    space_id: &str,
) -> (GitCredential, GitCredential) {
    let mut desired = existing.cloned().unwrap_or_else(|| GitCredential {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        details: GitCredentialDetails {
            kind: "UsernamePassword".to_owned(),
            username: None,
            password: None,
            extra: Extra::new(),
        },
        repository_restrictions: None,
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    desired.details.kind = "UsernamePassword".to_owned();
    desired.details.username = Some(spec.username.clone());
    if let Some(allowed) = &spec.allowed_repositories {
        let restrictions = desired
            .repository_restrictions
            .get_or_insert_with(RepositoryRestrictions::default);
        restrictions.enabled = true;
        restrictions.allowed_repositories = allowed.clone();
    }
    let mut send = desired.clone();
    let held = existing
        .and_then(|c| c.details.password.as_ref())
        .is_some_and(|p| p.has_value);
    if !held {
        desired.details.password = Some(SensitiveValue::set(spec.password.secret()));
    }
    send.details.password = Some(SensitiveValue::set(spec.password.secret()));
    (desired, send)
}

/// Names → ids of what a blueprint's resources refer to in the space (including what the
/// blueprint itself just created).
#[derive(Debug, Clone, Default)]
pub struct SpaceIds {
    /// Environments by name.
    pub environments: HashMap<String, String>,
    /// Worker pools by name.
    pub worker_pools: HashMap<String, String>,
    /// Accounts by name.
    pub accounts: HashMap<String, String>,
    /// Certificates by name.
    pub certificates: HashMap<String, String>,
}

impl SpaceIds {
    fn environment_ids(&self, names: &[String]) -> Vec<String> {
        names
            .iter()
            .filter_map(|name| self.environments.get(name).cloned())
            .collect()
    }

    /// The id of the resource a typed variable names.
    pub fn typed_value(&self, kind: VariableTypeSpec, name: &str) -> Option<&String> {
        let ids = match kind {
            VariableTypeSpec::WorkerPool => &self.worker_pools,
            VariableTypeSpec::Certificate => &self.certificates,
            _ => &self.accounts,
        };
        ids.get(name)
    }
}

/// `Some(SensitiveValue)` to compare: the server's held value when it holds one (it cannot be
/// read back, so it compares as "kept"), else the value to set.
fn compared_secret(held: Option<&SensitiveValue>, secret: &SecretRef) -> SensitiveValue {
    match held.filter(|held| held.has_value) {
        Some(held) => held.clone(),
        None => SensitiveValue::set(secret.secret()),
    }
}

/// (to compare, to send), as [`desired_feed`]: an account's secrets the server holds compare as
/// kept, and are sent again only with another change.
pub fn desired_account(
    spec: &AccountSpec,
    existing: Option<&Account>,
    space_id: &str,
    ids: &SpaceIds,
) -> (Account, Account) {
    let mut desired = existing.cloned().unwrap_or_else(|| Account {
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        account_type: spec.kind.api_name().to_owned(),
        ..Default::default()
    });
    set_if_some(&mut desired.description, &spec.description);
    desired.environment_ids = ids.environment_ids(&spec.environments);
    set_if_some(&mut desired.access_key, &spec.access_key);
    set_if_some(&mut desired.subscription_number, &spec.subscription_number);
    set_if_some(&mut desired.client_id, &spec.client_id);
    set_if_some(&mut desired.tenant_id, &spec.tenant_id);
    set_if_some(&mut desired.username, &spec.username);
    set_if_some(&mut desired.audience, &spec.audience);
    set_if_some(&mut desired.role_arn, &spec.role_arn);
    let mut send = desired.clone();
    let current = existing.cloned().unwrap_or_default();
    for (secret, held, compare, sent) in [
        (
            &spec.secret_key,
            current.secret_key.as_ref(),
            &mut desired.secret_key,
            &mut send.secret_key,
        ),
        (
            &spec.password,
            current.password.as_ref(),
            &mut desired.password,
            &mut send.password,
        ),
        (
            &spec.token,
            current.token.as_ref(),
            &mut desired.token,
            &mut send.token,
        ),
        (
            &spec.json_key,
            current.json_key.as_ref(),
            &mut desired.json_key,
            &mut send.json_key,
        ),
    ] {
        if let Some(secret) = secret {
            *compare = Some(compared_secret(held, secret));
            *sent = Some(SensitiveValue::set(secret.secret()));
        }
    }
    (desired, send)
}

/// The certificate file as the server takes it: base64 of the file; a PEM file given as text is
/// encoded here.
fn certificate_data(secret: &Secret) -> Secret {
    use base64::Engine;
    let text = secret.expose().trim();
    if text.starts_with("-----BEGIN") {
        Secret::new(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
    } else {
        Secret::new(text.split_ascii_whitespace().collect::<String>())
    }
}

/// (to compare, to send): a new certificate is sent with its file and password; an existing one
/// keeps what the server holds (`{HasValue: true}` as read back) and is only compared on its
/// notes and environments.
pub fn desired_certificate(
    spec: &CertificateSpec,
    existing: Option<&Certificate>,
    space_id: &str,
    ids: &SpaceIds,
) -> (Certificate, Certificate) {
    let mut desired = existing.cloned().unwrap_or_else(|| Certificate {
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        certificate_data: Some(SensitiveValue::set(certificate_data(&spec.data.secret()))),
        password: spec
            .password
            .as_ref()
            .map(|password| SensitiveValue::set(password.secret())),
        ..Default::default()
    });
    set_if_some(&mut desired.notes, &spec.notes);
    desired.environment_ids = ids.environment_ids(&spec.environments);
    (desired.clone(), desired)
}

pub fn desired_tag_set(spec: &TagSetSpec, existing: Option<&TagSet>, space_id: &str) -> TagSet {
    let mut desired = existing.cloned().unwrap_or_else(|| TagSet {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        sort_order: 0,
        tags: Vec::new(),
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    for tag_spec in &spec.tags {
        match desired
            .tags
            .iter_mut()
            .find(|tag| tag.name == tag_spec.name)
        {
            Some(tag) => {
                set_if_some(&mut tag.color, &tag_spec.color);
                set_if_some(&mut tag.description, &tag_spec.description);
            }
            None => {
                let sort_order = desired.tags.len() as i32;
                desired.tags.push(Tag {
                    id: None,
                    name: tag_spec.name.clone(),
                    canonical_tag_name: None,
                    color: Some(
                        tag_spec
                            .color
                            .clone()
                            .unwrap_or_else(|| "#333333".to_owned()),
                    ),
                    description: tag_spec.description.clone(),
                    sort_order,
                    extra: Extra::new(),
                });
            }
        }
    }
    desired
}

pub fn desired_lifecycle(
    spec: &LifecycleSpec,
    existing: Option<&Lifecycle>,
    space_id: &str,
    environment_ids: &HashMap<String, String>,
) -> Lifecycle {
    let mut desired = existing.cloned().unwrap_or_else(|| Lifecycle {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        release_retention_policy: None,
        tentacle_retention_policy: None,
        phases: Vec::new(),
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    if let Some(retention) = &spec.release_retention {
        desired.release_retention_policy = Some(desired_retention(
            retention,
            desired.release_retention_policy.as_ref(),
        ));
    }
    if let Some(retention) = &spec.tentacle_retention {
        desired.tentacle_retention_policy = Some(desired_retention(
            retention,
            desired.tentacle_retention_policy.as_ref(),
        ));
    }
    let current_phases = std::mem::take(&mut desired.phases);
    desired.phases = spec
        .phases
        .iter()
        .map(|phase_spec| {
            desired_phase(
                phase_spec,
                current_phases.iter().find(|p| p.name == phase_spec.name),
                environment_ids,
            )
        })
        .collect();
    desired
}

fn desired_phase(
    spec: &PhaseSpec,
    existing: Option<&Phase>,
    environment_ids: &HashMap<String, String>,
) -> Phase {
    let ids = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter_map(|name| environment_ids.get(name).cloned())
            .collect()
    };
    let mut phase = existing.cloned().unwrap_or_else(|| Phase {
        id: None,
        name: spec.name.clone(),
        automatic_deployment_targets: Vec::new(),
        optional_deployment_targets: Vec::new(),
        minimum_environments_before_promotion: 0,
        is_optional_phase: false,
        is_priority_phase: false,
        release_retention_policy: None,
        tentacle_retention_policy: None,
        extra: Extra::new(),
    });
    phase.automatic_deployment_targets = ids(&spec.automatic_deployment_targets);
    phase.optional_deployment_targets = ids(&spec.optional_deployment_targets);
    phase.minimum_environments_before_promotion = spec.minimum_environments_before_promotion as i32;
    phase.is_optional_phase = spec.is_optional_phase;
    phase.is_priority_phase = spec.is_priority_phase;
    phase
}

/// Newer servers carry a `Strategy` beside the quantity; it is kept in step when present.
fn desired_retention(spec: &RetentionSpec, existing: Option<&RetentionPolicy>) -> RetentionPolicy {
    let mut policy = existing.cloned().unwrap_or_default();
    if spec.keep_forever {
        policy.should_keep_forever = true;
        policy.quantity_to_keep = 0;
        policy.unit = Some("Items".to_owned());
    } else {
        policy.should_keep_forever = false;
        policy.quantity_to_keep = spec.quantity_to_keep.unwrap_or(0) as i32;
        policy.unit = Some(spec.unit.map_or("Items", |unit| unit.api_name()).to_owned());
    }
    if policy.strategy.is_some() {
        policy.strategy = Some(
            if spec.keep_forever {
                "Forever"
            } else {
                "Count"
            }
            .to_owned(),
        );
    }
    policy
}

pub fn desired_library_variable_set(
    spec: &LibraryVariableSetSpec,
    existing: Option<&LibraryVariableSet>,
    space_id: &str,
) -> LibraryVariableSet {
    let mut desired = existing.cloned().unwrap_or_else(|| LibraryVariableSet {
        id: None,
        space_id: Some(space_id.to_owned()),
        name: spec.name.clone(),
        description: None,
        content_type: Some("Variables".to_owned()),
        variable_set_id: None,
        templates: Vec::new(),
        extra: Extra::new(),
    });
    set_if_some(&mut desired.description, &spec.description);
    for template_spec in &spec.templates {
        match desired
            .templates
            .iter_mut()
            .find(|t| t.name == template_spec.name)
        {
            Some(template) => apply_template(template_spec, template),
            None => {
                let mut template = ActionTemplateParameter {
                    // Octopus clients generate template ids; tenant values are keyed by them.
                    id: Some(uuid::Uuid::new_v4().to_string()),
                    name: template_spec.name.clone(),
                    label: None,
                    help_text: None,
                    default_value: None,
                    display_settings: BTreeMap::new(),
                    extra: Extra::new(),
                };
                apply_template(template_spec, &mut template);
                desired.templates.push(template);
            }
        }
    }
    desired
}

fn apply_template(spec: &TemplateSpec, template: &mut ActionTemplateParameter) {
    set_if_some(&mut template.label, &spec.label);
    set_if_some(&mut template.help_text, &spec.help_text);
    if let Some(default) = &spec.default_value {
        template.default_value = Some(PropertyValue::Text(default.clone()));
    }
    template.display_settings.extend(display_settings(spec));
}

/// The display settings a template spec sets: its control type and a select's options.
fn display_settings(spec: &TemplateSpec) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::from([(
        "Octopus.ControlType".to_owned(),
        spec.control_type.api_name().to_owned(),
    )]);
    if !spec.select_options.is_empty() {
        let options: Vec<String> = spec
            .select_options
            .iter()
            .map(|o| format!("{}|{}", o.value, o.label))
            .collect();
        settings.insert("Octopus.SelectOptions".to_owned(), options.join("\n"));
    }
    settings
}

/// The blueprint's step templates as definitions deploy's mechanism reconciles (`apply::carried`):
/// a custom one with its definition, a community one by its Library page, at the Library's
/// version.
pub fn blueprint_step_templates(specs: &[StepTemplateSpec]) -> Vec<portable::StepTemplate> {
    specs
        .iter()
        .map(|spec| match &spec.community {
            Some(website) => portable::StepTemplate {
                name: spec.name.clone(),
                version: LIBRARY_LATEST,
                community: Some(portable::CommunityTemplate {
                    id: String::new(),
                    website: Some(website.clone()),
                }),
                ..portable::StepTemplate::default()
            },
            None => portable::StepTemplate {
                name: spec.name.clone(),
                description: spec.description.clone(),
                action_type: spec.action_type.clone().unwrap_or_default(),
                properties: spec
                    .properties
                    .iter()
                    .map(|(key, value)| (key.clone(), portable::PropertyValue::Text(value.clone())))
                    .collect(),
                parameters: spec
                    .parameters
                    .iter()
                    .map(|parameter| portable::Template {
                        name: parameter.name.clone(),
                        label: parameter.label.clone(),
                        help_text: parameter.help_text.clone(),
                        default_value: parameter
                            .default_value
                            .clone()
                            .map(portable::PropertyValue::Text),
                        display_settings: display_settings(parameter),
                    })
                    .collect(),
                ..portable::StepTemplate::default()
            },
        })
        .collect()
}

/// The blueprint's script modules as definitions (`apply::carried`).
pub fn blueprint_script_modules(specs: &[ScriptModuleSpec]) -> Vec<portable::ScriptModule> {
    specs
        .iter()
        .map(|spec| portable::ScriptModule {
            name: spec.name.clone(),
            description: spec.description.clone(),
            // The language as the provider spells it, whatever case the blueprint used.
            syntax: SCRIPT_SYNTAXES
                .iter()
                .find(|s| s.eq_ignore_ascii_case(&spec.syntax))
                .map_or_else(|| spec.syntax.clone(), |s| (*s).to_owned()),
            body: spec.body.clone().unwrap_or_default(),
            earlier_definitions: Vec::new(),
        })
        .collect()
}

/// Make the set hold each blueprint variable; returns the names of variables added or changed.
/// A secret the server already holds cannot be compared and is kept (sent back with its `Id`
/// and no value, which Octopus treats as "keep").
pub fn apply_variables(
    set: &mut VariableSet,
    specs: &[LibraryVariableSpec],
    ids: &SpaceIds,
) -> Vec<String> {
    let mut changed = Vec::new();
    for spec in specs {
        let scope_ids: BTreeSet<String> = spec
            .environments
            .iter()
            .filter_map(|name| ids.environments.get(name).cloned())
            .collect();
        let same_identity = |variable: &Variable| {
            variable.name == spec.name
                && variable
                    .scope
                    .iter()
                    .all(|(key, values)| key == "Environment" || values.is_empty())
                && variable
                    .scope
                    .get("Environment")
                    .map(|ids| ids.iter().cloned().collect::<BTreeSet<_>>())
                    .unwrap_or_default()
                    == scope_ids
        };
        let (value, kind, sensitive) = match (&spec.value, &spec.secret, spec.kind) {
            // A worker pool, account or certificate by its id here (checked to exist before
            // anything was written, `apply::space_blueprint::unknown_references`).
            (Some(name), _, Some(kind)) => match ids.typed_value(kind, name) {
                Some(id) => (id.clone(), kind.api_name(), false),
                None => continue,
            },
            (Some(value), _, None) => (value.clone(), "String", false),
            (None, Some(secret), _) => (secret.secret().expose().to_owned(), "Sensitive", true),
            (None, None, _) => continue,
        };
        match set
            .variables
            .iter_mut()
            .find(|variable| same_identity(variable))
        {
            Some(variable) => {
                let mut differs = variable.is_secret() != sensitive || variable.kind != kind;
                if !sensitive && variable.value.as_deref() != Some(value.as_str()) {
                    differs = true;
                }
                if spec.description.is_some() && variable.description != spec.description {
                    differs = true;
                }
                if differs {
                    variable.kind = kind.to_owned();
                    variable.is_sensitive = sensitive;
                    variable.value = Some(value);
                    set_if_some(&mut variable.description, &spec.description);
                    changed.push(format!("variable {}", spec.name));
                }
            }
            None => {
                let mut scope = BTreeMap::new();
                if !scope_ids.is_empty() {
                    scope.insert("Environment".to_owned(), scope_ids.into_iter().collect());
                }
                set.variables.push(Variable {
                    id: None,
                    name: spec.name.clone(),
                    value: Some(value),
                    description: spec.description.clone(),
                    kind: kind.to_owned(),
                    is_sensitive: sensitive,
                    scope,
                    prompt: None,
                    extra: Extra::new(),
                });
                changed.push(format!("variable {}", spec.name));
            }
        }
    }
    changed
}

fn set_if_some<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        target.clone_from(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::SecretRef;
    use crate::outcome::changed_fields;
    use crate::secret::Secret;

    fn environment(name: &str, id: &str, description: &str) -> Environment {
        Environment {
            id: Some(id.into()),
            space_id: Some("Spaces-2".into()),
            name: name.into(),
            description: Some(description.into()),
            sort_order: 1,
            use_guided_failure: false,
            allow_dynamic_infrastructure: false,
            extra: serde_json::from_value(
                serde_json::json!({"Links": {"Self": "/api/x"}, "EnvironmentTags": []}),
            )
            .unwrap(),
        }
    }

    #[test]
    fn drifted_description_is_the_only_change_and_unknown_fields_survive() {
        let spec = EnvironmentSpec {
            name: "Test".into(),
            description: Some("Verified here.".into()),
            use_guided_failure: None,
            allow_dynamic_infrastructure: None,
        };
        let existing = environment("Test", "Environments-2", "someone edited this");
        let desired = desired_environment(&spec, Some(&existing), "Spaces-2", 9);
        assert_eq!(
            changed_fields(&existing, &desired),
            vec!["Description".to_owned()]
        );
        assert_eq!(desired.extra["Links"]["Self"], "/api/x");
        assert_eq!(
            desired.sort_order, 1,
            "an existing environment keeps its place"
        );
        let same = desired_environment(&spec, Some(&desired), "Spaces-2", 9);
        assert!(changed_fields(&desired, &same).is_empty());
    }

    #[test]
    fn held_secrets_compare_as_kept_but_are_sent_with_other_changes() {
        let spec = GitCredentialSpec {
            name: "Git".into(),
            description: None,
            username: "octo".into(),
            password: SecretRef::resolved(Secret::new("token-1"), "GIT_PASSWORD"),
            allowed_repositories: None,
        };
        let (_, created) = desired_git_credential(&spec, None, "Spaces-2");
        let mut held = created.clone();
        held.id = Some("GitCredentials-1".into());
        held.details.password = Some(SensitiveValue::keep());
        let (compare, _) = desired_git_credential(&spec, Some(&held), "Spaces-2");
        assert!(changed_fields(&held, &compare).is_empty());
        let renamed = GitCredentialSpec {
            username: "other".into(),
            ..spec
        };
        let (compare, send) = desired_git_credential(&renamed, Some(&held), "Spaces-2");
        assert_eq!(changed_fields(&held, &compare), vec!["Details".to_owned()]);
        assert_eq!(
            send.details.password.unwrap().new_value.unwrap().expose(),
            "token-1"
        );
    }

    #[test]
    fn phases_follow_the_blueprint_and_keep_their_ids() {
        let ids: HashMap<String, String> = [("Dev", "Environments-1"), ("Prod", "Environments-3")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let spec: LifecycleSpec = serde_yaml::from_str("name: App\nphases:\n  - {name: Dev, automatic_deployment_targets: [Dev]}\n  - {name: Prod, optional_deployment_targets: [Prod]}\n").unwrap();
        let created = desired_lifecycle(&spec, None, "Spaces-2", &ids);
        assert_eq!(
            created.phases[0].automatic_deployment_targets,
            vec!["Environments-1".to_owned()]
        );
        let mut existing = created.clone();
        existing.id = Some("Lifecycles-2".into());
        existing.phases[1].id = Some("phase-guid".into());
        existing.phases.push(Phase {
            name: "Extra".into(),
            ..existing.phases[0].clone()
        });
        let desired = desired_lifecycle(&spec, Some(&existing), "Spaces-2", &ids);
        assert_eq!(desired.phases.len(), 2);
        assert_eq!(desired.phases[1].id.as_deref(), Some("phase-guid"));
        assert_eq!(
            changed_fields(&existing, &desired),
            vec!["Phases".to_owned()]
        );
    }

    #[test]
    fn variables_are_added_updated_or_kept() {
        let ids = SpaceIds {
            environments: [("Production".to_string(), "Environments-3".to_string())].into(),
            ..SpaceIds::default()
        };
        let specs: Vec<LibraryVariableSpec> = serde_yaml::from_str(
            "- {name: Support.Email, value: a@example.com}\n- {name: Db.Password, secret: {from_env: X}, environments: [Production]}\n",
        )
        .unwrap();
        let mut specs = specs;
        specs[1].secret = Some(SecretRef::resolved(Secret::new("pw"), "X"));
        let mut set: VariableSet = serde_json::from_value(serde_json::json!({"Id": "variableset-LibraryVariableSets-1", "Version": 1, "Variables": []})).unwrap();
        assert_eq!(apply_variables(&mut set, &specs, &ids).len(), 2);
        assert_eq!(
            set.variables[1].scope["Environment"],
            vec!["Environments-3".to_owned()]
        );
        // As the server returns them: ids assigned, the secret hidden.
        set.variables[0].id = Some("v1".into());
        set.variables[1].id = Some("v2".into());
        set.variables[1].value = None;
        assert!(apply_variables(&mut set, &specs, &ids).is_empty());
        set.variables[0].value = Some("drifted".into());
        assert_eq!(
            apply_variables(&mut set, &specs, &ids),
            vec!["variable Support.Email".to_owned()]
        );
        assert!(!format!("{:?}", set.variables[1]).contains("pw"));
    }
}
