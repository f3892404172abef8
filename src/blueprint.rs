//! The space blueprint: the shared resources a managed space must hold, read from YAML or JSON
//! (secrets only as references to environment variables), and the built-in default.

use crate::octopus::resources::FeedType;
use crate::secret::Secret;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlueprintSource {
    BuiltIn,
    File(PathBuf),
}

impl fmt::Display for BlueprintSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlueprintSource::BuiltIn => f.write_str("the built-in default blueprint"),
            BlueprintSource::File(path) => write!(f, "blueprint {}", path.display()),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Blueprint {
    #[serde(default)]
    pub environments: Vec<EnvironmentSpec>,
    #[serde(default)]
    pub lifecycles: Vec<LifecycleSpec>,
    #[serde(default)]
    pub project_groups: Vec<ProjectGroupSpec>,
    #[serde(default)]
    pub feeds: Vec<FeedSpec>,
    #[serde(default)]
    pub git_credentials: Vec<GitCredentialSpec>,
    #[serde(default)]
    pub library_variable_sets: Vec<LibraryVariableSetSpec>,
    #[serde(default)]
    pub tag_sets: Vec<TagSetSpec>,
    /// Accounts the projects' steps and typed variables refer to (by name).
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    /// Certificates the projects' typed variables refer to (by name).
    #[serde(default)]
    pub certificates: Vec<CertificateSpec>,
    /// Step templates the space starts with: a platform team's own (with their definition) and
    /// the community Library's (by their Library page).
    #[serde(default)]
    pub step_templates: Vec<StepTemplateSpec>,
    /// Script modules the space starts with (library variable sets of content type
    /// `ScriptModule`).
    #[serde(default)]
    pub script_modules: Vec<ScriptModuleSpec>,
}

/// A step template: a custom one with its definition (`action_type`, `properties`,
/// `parameters`), or, with `community`, one installed from the instance's community Library and
/// kept at the Library's version. Created when missing and made equal to the blueprint when it
/// drifts (as every blueprint resource).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StepTemplateSpec {
    /// The template's name: how projects' steps refer to it.
    pub name: String,
    /// A community template's Library page (`https://library.octopus.com/step-templates/<id>`):
    /// the Library gives its definition.
    pub community: Option<String>,
    /// The step type (`Octopus.Script`, …) of a custom template.
    pub action_type: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The step's settings (`Octopus.Action.Script.ScriptBody`, `Octopus.Action.Script.Syntax`, …).
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
    /// A file (relative to the blueprint) whose text is the script body
    /// (`Octopus.Action.Script.ScriptBody`).
    pub script_file: Option<PathBuf>,
    /// The template's parameters (no sensitive defaults: a blueprint holds no secret values).
    #[serde(default)]
    pub parameters: Vec<TemplateSpec>,
}

/// A script module: its language and its body, inline or from a file (relative to the
/// blueprint). Created when missing and made equal to the blueprint when it drifts.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptModuleSpec {
    /// The module's name (its library variable set's).
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// `PowerShell`, `Bash`, `CSharp`, `FSharp` or `Python`.
    pub syntax: String,
    /// The module's code; exactly one of `body` and `body_file`.
    pub body: Option<String>,
    /// A file whose text is the module's code.
    pub body_file: Option<PathBuf>,
}

/// Fields left out are not managed: octofleet neither sets nor resets them.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    pub name: String,
    pub description: Option<String>,
    pub use_guided_failure: Option<bool>,
    pub allow_dynamic_infrastructure: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSpec {
    pub name: String,
    pub description: Option<String>,
    pub release_retention: Option<RetentionSpec>,
    pub tentacle_retention: Option<RetentionSpec>,
    /// The lifecycle's phases, in order; they replace the lifecycle's phases exactly.
    #[serde(default)]
    pub phases: Vec<PhaseSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionSpec {
    #[serde(default)]
    pub keep_forever: bool,
    pub quantity_to_keep: Option<u32>,
    pub unit: Option<RetentionUnit>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RetentionUnit {
    Days,
    Items,
}

impl RetentionUnit {
    pub fn api_name(self) -> &'static str {
        match self {
            RetentionUnit::Days => "Days",
            RetentionUnit::Items => "Items",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    pub name: String,
    /// Environment names deployed to automatically when a release enters the phase.
    #[serde(default)]
    pub automatic_deployment_targets: Vec<String>,
    #[serde(default)]
    pub optional_deployment_targets: Vec<String>,
    #[serde(default)]
    pub minimum_environments_before_promotion: u32,
    #[serde(default)]
    pub is_optional_phase: bool,
    #[serde(default)]
    pub is_priority_phase: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectGroupSpec {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FeedType,
    pub feed_uri: String,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    /// Docker only (e.g. `v1` for Docker Hub).
    pub api_version: Option<String>,
    /// Docker only.
    pub registry_path: Option<String>,
    pub download_attempts: Option<i32>,
    pub download_retry_backoff_seconds: Option<i32>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GitCredentialSpec {
    pub name: String,
    pub description: Option<String>,
    pub username: String,
    pub password: SecretRef,
    /// When given, the credential may only be used for these repository URLs.
    pub allowed_repositories: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LibraryVariableSetSpec {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub variables: Vec<LibraryVariableSpec>,
    #[serde(default)]
    pub templates: Vec<TemplateSpec>,
}

/// A variable: identified by its name and environment scope; exactly one of `value` and `secret`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LibraryVariableSpec {
    pub name: String,
    /// A typed variable (a worker pool, an account, a certificate): `value` is the resource's
    /// name, written as its id in the space. Absent: a text variable.
    #[serde(rename = "type")]
    pub kind: Option<VariableTypeSpec>,
    pub value: Option<String>,
    pub secret: Option<SecretRef>,
    pub description: Option<String>,
    /// Environment names the value is scoped to; empty means unscoped.
    #[serde(default)]
    pub environments: Vec<String>,
}

/// The typed variables a blueprint can hold: the server's variable types whose value is a
/// resource id (see `portable::ReferenceKind::of_variable_type`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VariableTypeSpec {
    /// `WorkerPool`.
    WorkerPool,
    /// `Certificate`.
    Certificate,
    /// `AmazonWebServicesAccount`.
    AwsAccount,
    /// `AzureAccount`.
    AzureAccount,
    /// `GoogleCloudAccount`.
    GoogleCloudAccount,
    /// `UsernamePasswordAccount`.
    UsernamePasswordAccount,
    /// `GenericOidcAccount`.
    GenericOidcAccount,
}

impl VariableTypeSpec {
    /// The server's variable type.
    pub fn api_name(self) -> &'static str {
        match self {
            VariableTypeSpec::WorkerPool => "WorkerPool",
            VariableTypeSpec::Certificate => "Certificate",
            VariableTypeSpec::AwsAccount => "AmazonWebServicesAccount",
            VariableTypeSpec::AzureAccount => "AzureAccount",
            VariableTypeSpec::GoogleCloudAccount => "GoogleCloudAccount",
            VariableTypeSpec::UsernamePasswordAccount => "UsernamePasswordAccount",
            VariableTypeSpec::GenericOidcAccount => "GenericOidcAccount",
        }
    }
}

/// The account types a blueprint can create, spelt in snake case.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountTypeSpec {
    /// An AWS access key (`AmazonWebServicesAccount`).
    Aws,
    /// AWS through OpenID Connect (`AmazonWebServicesOidcAccount`).
    AwsOidc,
    /// An Azure service principal with a client secret (`AzureServicePrincipal`).
    AzureServicePrincipal,
    /// Azure through OpenID Connect (`AzureOidc`).
    AzureOidc,
    /// A Google Cloud service account key (`GoogleCloudAccount`).
    GoogleCloud,
    /// A username and password (`UsernamePassword`).
    UsernamePassword,
    /// A token (`Token`).
    Token,
    /// A generic OpenID Connect account (`GenericOidcAccount`).
    GenericOidc,
}

impl AccountTypeSpec {
    /// The server's account type.
    pub fn api_name(self) -> &'static str {
        match self {
            AccountTypeSpec::Aws => "AmazonWebServicesAccount",
            AccountTypeSpec::AwsOidc => "AmazonWebServicesOidcAccount",
            AccountTypeSpec::AzureServicePrincipal => "AzureServicePrincipal",
            AccountTypeSpec::AzureOidc => "AzureOidc",
            AccountTypeSpec::GoogleCloud => "GoogleCloudAccount",
            AccountTypeSpec::UsernamePassword => "UsernamePassword",
            AccountTypeSpec::Token => "Token",
            AccountTypeSpec::GenericOidc => "GenericOidcAccount",
        }
    }

    /// The spec fields this type requires, then the ones it also takes (go-octopusdeploy's
    /// per-type account models, `pkg/accounts/*_account.go`).
    fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            AccountTypeSpec::Aws => (&["access_key", "secret_key"], &[]),
            AccountTypeSpec::AwsOidc => (&["role_arn"], &["audience"]),
            AccountTypeSpec::AzureServicePrincipal => (
                &["subscription_number", "client_id", "tenant_id", "password"],
                &[],
            ),
            AccountTypeSpec::AzureOidc => (
                &["subscription_number", "client_id", "tenant_id"],
                &["audience"],
            ),
            AccountTypeSpec::GoogleCloud => (&["json_key"], &[]),
            AccountTypeSpec::UsernamePassword => (&["username"], &["password"]),
            AccountTypeSpec::Token => (&["token"], &[]),
            AccountTypeSpec::GenericOidc => (&[], &["audience"]),
        }
    }
}

/// An account: its type and that type's fields; secrets only as `{from_env: NAME}`. Found by
/// name; created when missing, its fields (and, with any other change, its secrets) written
/// when they drift. An account of another type under the name is refused (Octopus cannot change
/// a type in place).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// The account's name, unique in the space: how packages refer to it.
    pub name: String,
    /// The account type.
    #[serde(rename = "type")]
    pub kind: AccountTypeSpec,
    /// Free text; left as the space has it when absent.
    pub description: Option<String>,
    /// Environment names allowed to use it; empty means all.
    #[serde(default)]
    pub environments: Vec<String>,
    /// AWS access key id.
    pub access_key: Option<String>,
    /// AWS secret access key.
    pub secret_key: Option<SecretRef>,
    /// Azure subscription id.
    pub subscription_number: Option<String>,
    /// Azure application (client) id.
    pub client_id: Option<String>,
    /// Azure directory (tenant) id.
    pub tenant_id: Option<String>,
    /// Username (username/password accounts).
    pub username: Option<String>,
    /// Password (username/password accounts) or client secret (Azure service principals).
    pub password: Option<SecretRef>,
    /// The token of a token account.
    pub token: Option<SecretRef>,
    /// A Google Cloud service account key (the JSON file's content).
    pub json_key: Option<SecretRef>,
    /// OIDC audience.
    pub audience: Option<String>,
    /// The AWS role to assume (AWS OIDC).
    pub role_arn: Option<String>,
}

impl AccountSpec {
    /// The spec fields that are set, by their YAML name.
    fn set_fields(&self) -> Vec<&'static str> {
        [
            ("access_key", self.access_key.is_some()),
            ("secret_key", self.secret_key.is_some()),
            ("subscription_number", self.subscription_number.is_some()),
            ("client_id", self.client_id.is_some()),
            ("tenant_id", self.tenant_id.is_some()),
            ("username", self.username.is_some()),
            ("password", self.password.is_some()),
            ("token", self.token.is_some()),
            ("json_key", self.json_key.is_some()),
            ("audience", self.audience.is_some()),
            ("role_arn", self.role_arn.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, set)| set.then_some(field))
        .collect()
    }

    /// Every secret with its YAML name, for resolving.
    fn secrets_mut(&mut self) -> Vec<(&'static str, &mut SecretRef)> {
        [
            ("secret_key", self.secret_key.as_mut()),
            ("password", self.password.as_mut()),
            ("token", self.token.as_mut()),
            ("json_key", self.json_key.as_mut()),
        ]
        .into_iter()
        .filter_map(|(field, secret)| secret.map(|secret| (field, secret)))
        .collect()
    }
}

/// A certificate of the space's library: the file (PFX, PEM or DER) from the environment,
/// base64-encoded (PEM text is taken as it is). Created when missing with the file; afterwards
/// only its notes and environments are managed (the server replaces certificate data through
/// its own replace action, and a secret is never compared).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    /// The certificate's name, unique in the space: how packages refer to it.
    pub name: String,
    /// Free text; left as the space has it when absent.
    pub notes: Option<String>,
    /// Environment names allowed to use it; empty means all.
    #[serde(default)]
    pub environments: Vec<String>,
    /// The certificate file, base64 (or PEM text).
    pub data: SecretRef,
    /// The PFX file's password.
    pub password: Option<SecretRef>,
}

/// A variable template: what each tenant must define (a tenant common variable).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    pub name: String,
    pub label: Option<String>,
    pub help_text: Option<String>,
    pub default_value: Option<String>,
    #[serde(default)]
    pub control_type: ControlType,
    /// For `select`: value → label pairs, in order.
    #[serde(default)]
    pub select_options: Vec<SelectOption>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ControlType {
    #[default]
    SingleLineText,
    MultiLineText,
    Checkbox,
    Sensitive,
    Select,
}

impl ControlType {
    pub fn api_name(self) -> &'static str {
        match self {
            ControlType::SingleLineText => "SingleLineText",
            ControlType::MultiLineText => "MultiLineText",
            ControlType::Checkbox => "Checkbox",
            ControlType::Sensitive => "Sensitive",
            ControlType::Select => "Select",
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TagSetSpec {
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TagSpec {
    pub name: String,
    /// `#RRGGBB`; Octopus's default grey when absent.
    pub color: Option<String>,
    pub description: Option<String>,
}

/// A secret in a blueprint: always `{from_env: NAME}`, never the value itself, so blueprint
/// files can live in git. The value is read from the environment when the blueprint loads.
#[derive(Clone, PartialEq)]
pub struct SecretRef {
    pub from_env: String,
    pub value: Option<Secret>,
}

impl SecretRef {
    pub fn resolved(value: Secret, from_env: &str) -> Self {
        SecretRef {
            from_env: from_env.to_owned(),
            value: Some(value),
        }
    }

    /// The value; loading fails for unset variables, so a loaded blueprint always has one.
    pub fn secret(&self) -> Secret {
        self.value.clone().unwrap_or_default()
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef(from_env: {})", self.from_env)
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretRefVisitor;
        impl<'de> Visitor<'de> for SecretRefVisitor {
            type Value = SecretRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a reference to an environment variable, `{from_env: NAME}`")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretRef, E> {
                // The literal is not echoed: it is probably a real secret.
                Err(E::custom(
                    "secret values in a blueprint are references to environment variables, never literals: write `{from_env: NAME}` and export NAME",
                ))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<SecretRef, M::Error> {
                let mut from_env = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "from_env" {
                        from_env = Some(map.next_value::<String>()?);
                    } else {
                        return Err(de::Error::unknown_field(&key, &["from_env"]));
                    }
                }
                let from_env = from_env.ok_or_else(|| de::Error::missing_field("from_env"))?;
                Ok(SecretRef {
                    from_env,
                    value: None,
                })
            }
        }
        deserializer.deserialize_any(SecretRefVisitor)
    }
}

/// Blueprint files are small; anything bigger is a mistake (or an attack on the YAML parser).
const MAX_BLUEPRINT_BYTES: u64 = 1024 * 1024;

impl Blueprint {
    /// Read, parse, check and resolve secrets; every problem is returned, each naming its place.
    pub fn load_file(
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Blueprint, Vec<String>> {
        let shown = path.display();
        let metadata = std::fs::metadata(path)
            .map_err(|error| vec![format!("cannot read blueprint {shown}: {error}")])?;
        if metadata.len() > MAX_BLUEPRINT_BYTES {
            return Err(vec![format!("blueprint {shown} is larger than 1 MiB")]);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|error| vec![format!("cannot read blueprint {shown}: {error}")])?;
        let is_json = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        let mut blueprint = Self::parse(&text, is_json)
            .map_err(|error| vec![format!("blueprint {shown}: {error}")])?;
        let mut problems = blueprint.check();
        problems.extend(blueprint.resolve_secrets(env));
        problems.extend(blueprint.read_files(path.parent().unwrap_or(Path::new("."))));
        if problems.is_empty() {
            Ok(blueprint)
        } else {
            Err(problems
                .into_iter()
                .map(|problem| format!("blueprint {shown}: {problem}"))
                .collect())
        }
    }

    /// Parse YAML or JSON; errors name the field path and the line.
    pub fn parse(text: &str, is_json: bool) -> Result<Blueprint, String> {
        if is_json {
            let deserializer = &mut serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                let inner = error.inner();
                format!(
                    "at `{}`: {inner} — fix that field (see the blueprint format in docs/blueprint.md)",
                    error.path()
                )
            })
        } else {
            let deserializer = serde_yaml::Deserializer::from_str(text);
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                let path = error.path().to_string();
                let inner = error.into_inner();
                let place = if path == "." {
                    String::new()
                } else {
                    format!("at `{path}`: ")
                };
                format!("{place}{inner} — fix that field (see the blueprint format in docs/blueprint.md)")
            })
        }
    }

    /// Rules serde cannot express: unique names, one value per variable, retention settings.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        fn unique<'a>(
            kind: &str,
            names: impl Iterator<Item = &'a str>,
            problems: &mut Vec<String>,
        ) {
            let mut seen = HashSet::new();
            for name in names {
                if name.trim().is_empty() {
                    problems.push(format!("a {kind} has an empty name"));
                } else if !seen.insert(name.to_owned()) {
                    problems.push(format!("{kind} `{name}` is listed twice"));
                }
            }
        }
        unique(
            "environment",
            self.environments.iter().map(|e| e.name.as_str()),
            &mut problems,
        );
        unique(
            "lifecycle",
            self.lifecycles.iter().map(|e| e.name.as_str()),
            &mut problems,
        );
        unique(
            "project group",
            self.project_groups.iter().map(|e| e.name.as_str()),
            &mut problems,
        );
        unique(
            "feed",
            self.feeds.iter().map(|e| e.name.as_str()),
            &mut problems,
        );
        unique(
            "git credential",
            self.git_credentials.iter().map(|e| e.name.as_str()),
            &mut problems,
        );
        unique(
            "library variable set",
            self.library_variable_sets.iter().map(|e| e.name.as_str()),
            &mut problems,
        );
        unique(
            "tag set",
            self.tag_sets.iter().map(|e| e.name.as_str()),
            &mut problems,
        );
        for lifecycle in &self.lifecycles {
            unique(
                &format!("phase of lifecycle `{}`", lifecycle.name),
                lifecycle.phases.iter().map(|p| p.name.as_str()),
                &mut problems,
            );
            for (which, retention) in [
                ("release_retention", &lifecycle.release_retention),
                ("tentacle_retention", &lifecycle.tentacle_retention),
            ] {
                if let Some(retention) = retention {
                    match (retention.keep_forever, retention.quantity_to_keep) {
                        (true, Some(_)) => problems.push(format!("lifecycle `{}` {which}: give keep_forever or quantity_to_keep, not both", lifecycle.name)),
                        (false, None) => problems.push(format!("lifecycle `{}` {which}: give keep_forever: true or a quantity_to_keep", lifecycle.name)),
                        _ => {}
                    }
                }
            }
        }
        for set in &self.library_variable_sets {
            unique(
                &format!("template of library variable set `{}`", set.name),
                set.templates.iter().map(|t| t.name.as_str()),
                &mut problems,
            );
            let mut identities = HashSet::new();
            for variable in &set.variables {
                if variable.value.is_some() == variable.secret.is_some() {
                    problems.push(format!("library variable set `{}` variable `{}`: give exactly one of value and secret", set.name, variable.name));
                }
                if variable.kind.is_some() && variable.secret.is_some() {
                    problems.push(format!("library variable set `{}` variable `{}`: a typed variable's value is a resource's name, not a secret", set.name, variable.name));
                }
                let mut scope = variable.environments.clone();
                scope.sort();
                if !identities.insert((variable.name.clone(), scope)) {
                    problems.push(format!("library variable set `{}` variable `{}` is listed twice with the same environments", set.name, variable.name));
                }
            }
        }
        for set in &self.tag_sets {
            unique(
                &format!("tag of tag set `{}`", set.name),
                set.tags.iter().map(|t| t.name.as_str()),
                &mut problems,
            );
        }
        unique(
            "account",
            self.accounts.iter().map(|a| a.name.as_str()),
            &mut problems,
        );
        unique(
            "certificate",
            self.certificates.iter().map(|c| c.name.as_str()),
            &mut problems,
        );
        unique(
            "step template",
            self.step_templates.iter().map(|t| t.name.as_str()),
            &mut problems,
        );
        unique(
            "script module",
            self.script_modules.iter().map(|m| m.name.as_str()),
            &mut problems,
        );
        for template in &self.step_templates {
            let custom = template.action_type.is_some()
                || !template.properties.is_empty()
                || template.script_file.is_some()
                || !template.parameters.is_empty();
            match (&template.community, custom) {
                (Some(_), true) => problems.push(format!("step template `{}`: a community template takes its definition from the Library; give community or action_type (with properties and parameters), not both", template.name)),
                (None, _) if template.action_type.is_none() => problems.push(format!("step template `{}`: give its action_type (a custom template) or its community Library page", template.name)),
                _ => {}
            }
            if template.script_file.is_some()
                && template
                    .properties
                    .contains_key("Octopus.Action.Script.ScriptBody")
            {
                problems.push(format!("step template `{}`: give the script body in properties or script_file, not both", template.name));
            }
            unique(
                &format!("parameter of step template `{}`", template.name),
                template.parameters.iter().map(|p| p.name.as_str()),
                &mut problems,
            );
        }
        for module in &self.script_modules {
            if module.body.is_some() == module.body_file.is_some() {
                problems.push(format!(
                    "script module `{}`: give exactly one of body and body_file",
                    module.name
                ));
            }
            if !crate::portable::definitions::SCRIPT_SYNTAXES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&module.syntax))
            {
                problems.push(format!(
                    "script module `{}`: syntax `{}` is not one of {}",
                    module.name,
                    module.syntax,
                    crate::portable::definitions::SCRIPT_SYNTAXES.join(", ")
                ));
            }
        }
        for account in &self.accounts {
            let (required, optional) = account.kind.fields();
            let set = account.set_fields();
            for field in required {
                if !set.contains(field) {
                    problems.push(format!(
                        "account `{}` ({}) needs `{field}`",
                        account.name,
                        account.kind.api_name()
                    ));
                }
            }
            for field in set {
                if !required.contains(&field) && !optional.contains(&field) {
                    problems.push(format!(
                        "account `{}` ({}) does not take `{field}`: remove it, or change the type",
                        account.name,
                        account.kind.api_name()
                    ));
                }
            }
        }
        problems
    }

    /// Read every `body_file` and `script_file` (relative to `base`, at most 1 MiB each) into the
    /// module's body or the template's script body.
    pub fn read_files(&mut self, base: &Path) -> Vec<String> {
        let mut problems = Vec::new();
        let mut read = |place: String, file: &Path| -> Option<String> {
            let path = base.join(file);
            let shown = path.display();
            match std::fs::metadata(&path) {
                Ok(metadata) if metadata.len() > MAX_BLUEPRINT_BYTES => {
                    problems.push(format!("{place}: {shown} is larger than 1 MiB"));
                    None
                }
                Ok(_) => std::fs::read_to_string(&path)
                    .map_err(|error| {
                        problems.push(format!("{place}: cannot read {shown}: {error}"))
                    })
                    .ok(),
                Err(error) => {
                    problems.push(format!("{place}: cannot read {shown}: {error}"));
                    None
                }
            }
        };
        for module in &mut self.script_modules {
            if let Some(file) = module.body_file.clone() {
                module.body = read(format!("script module `{}` body_file", module.name), &file);
            }
        }
        for template in &mut self.step_templates {
            if let Some(file) = template.script_file.clone() {
                if let Some(body) = read(
                    format!("step template `{}` script_file", template.name),
                    &file,
                ) {
                    template
                        .properties
                        .insert("Octopus.Action.Script.ScriptBody".to_owned(), body);
                }
            }
        }
        problems
    }

    /// Fill every `{from_env: NAME}` from the environment; unset or empty variables are errors.
    pub fn resolve_secrets(&mut self, env: impl Fn(&str) -> Option<String>) -> Vec<String> {
        let mut problems = Vec::new();
        let mut resolve = |place: String, secret: &mut SecretRef| {
            match env(&secret.from_env).filter(|value| !value.is_empty()) {
            Some(value) => secret.value = Some(Secret::new(value)),
            None => problems.push(format!("{place} reads environment variable {} which is not set: export it before running octofleet", secret.from_env)),
        }
        };
        for feed in &mut self.feeds {
            if let Some(password) = &mut feed.password {
                resolve(format!("feed `{}` password", feed.name), password);
            }
        }
        for credential in &mut self.git_credentials {
            resolve(
                format!("git credential `{}` password", credential.name),
                &mut credential.password,
            );
        }
        for account in &mut self.accounts {
            let name = account.name.clone();
            for (field, secret) in account.secrets_mut() {
                resolve(format!("account `{name}` {field}"), secret);
            }
        }
        for certificate in &mut self.certificates {
            resolve(
                format!("certificate `{}` data", certificate.name),
                &mut certificate.data,
            );
            if let Some(password) = &mut certificate.password {
                resolve(
                    format!("certificate `{}` password", certificate.name),
                    password,
                );
            }
        }
        for set in &mut self.library_variable_sets {
            for variable in &mut set.variables {
                if let Some(secret) = &mut variable.secret {
                    resolve(
                        format!(
                            "library variable set `{}` variable `{}`",
                            set.name, variable.name
                        ),
                        secret,
                    );
                }
            }
        }
        problems
    }

    /// The article's minimum for a managed space: Development, Test and Production, a lifecycle
    /// through them, a Docker Hub feed, and the shared git credential when one is given.
    pub fn built_in(git_credential: Option<(String, Secret)>) -> Blueprint {
        let environment = |name: &str, description: &str| EnvironmentSpec {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            use_guided_failure: None,
            allow_dynamic_infrastructure: None,
        };
        let phase = |name: &str| PhaseSpec {
            name: name.to_owned(),
            automatic_deployment_targets: Vec::new(),
            optional_deployment_targets: vec![name.to_owned()],
            minimum_environments_before_promotion: 0,
            is_optional_phase: false,
            is_priority_phase: false,
        };
        Blueprint {
            environments: vec![
                environment(
                    "Development",
                    "Where changes are first deployed and tested.",
                ),
                environment("Test", "Where releases are verified before production."),
                environment("Production", "Where customers are served."),
            ],
            lifecycles: vec![LifecycleSpec {
                name: "Application".to_owned(),
                description: Some("Development, then Test, then Production.".to_owned()),
                release_retention: None,
                tentacle_retention: None,
                phases: vec![phase("Development"), phase("Test"), phase("Production")],
            }],
            project_groups: Vec::new(),
            feeds: vec![FeedSpec {
                name: "Docker Hub".to_owned(),
                kind: FeedType::Docker,
                feed_uri: "https://index.docker.io".to_owned(),
                username: None,
                password: None,
                api_version: Some("v1".to_owned()),
                registry_path: None,
                download_attempts: None,
                download_retry_backoff_seconds: None,
            }],
            git_credentials: git_credential
                .map(|(username, password)| GitCredentialSpec {
                    name: "Git".to_owned(),
                    description: Some(
                        "The shared credential for Config-as-Code repositories.".to_owned(),
                    ),
                    username,
                    password: SecretRef::resolved(password, "GIT_CREDENTIALS_PASSWORD"),
                    allowed_repositories: None,
                })
                .into_iter()
                .collect(),
            library_variable_sets: Vec::new(),
            step_templates: Vec::new(),
            script_modules: Vec::new(),
            tag_sets: Vec::new(),
            accounts: Vec::new(),
            certificates: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../examples/blueprint.yaml");

    #[test]
    fn the_example_file_parses_checks_and_resolves() {
        let mut blueprint = Blueprint::parse(EXAMPLE, false).unwrap();
        assert!(blueprint.check().is_empty(), "{:?}", blueprint.check());
        let problems = blueprint.resolve_secrets(|name| Some(format!("value-of-{name}")));
        assert!(problems.is_empty());
        assert_eq!(blueprint.environments.len(), 4);
        assert!(!format!("{blueprint:?}").contains("value-of-"));
    }

    #[test]
    fn literal_secrets_are_refused_without_echoing_them() {
        let text = "git_credentials:\n  - name: Git\n    username: octo\n    password: hunter2\n";
        let error = Blueprint::parse(text, false).unwrap_err();
        assert!(error.contains("git_credentials[0].password"), "{error}");
        assert!(error.contains("from_env"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn unknown_fields_and_feed_types_name_the_path() {
        let error =
            Blueprint::parse("environments:\n  - name: Dev\n    colour: red\n", false).unwrap_err();
        assert!(
            error.contains("environments[0]") && error.contains("colour"),
            "{error}"
        );
        let error = Blueprint::parse(
            "feeds:\n  - name: A\n    type: artifactory\n    feed_uri: https://a\n",
            false,
        )
        .unwrap_err();
        assert!(
            error.contains("feeds[0].type") && error.contains("artifactory"),
            "{error}"
        );
        let error = Blueprint::parse(r#"{"environments": [{"name": 3}]}"#, true).unwrap_err();
        assert!(error.contains("environments[0].name"), "{error}");
    }

    #[test]
    fn semantic_rules() {
        let text = "environments: [{name: A}, {name: A}]\nlifecycles:\n  - name: L\n    release_retention: {keep_forever: true, quantity_to_keep: 3}\nlibrary_variable_sets:\n  - name: S\n    variables:\n      - name: V\n";
        let problems = Blueprint::parse(text, false).unwrap().check();
        assert_eq!(problems.len(), 3, "{problems:?}");
        let mut blueprint = Blueprint::parse("feeds:\n  - {name: F, type: docker, feed_uri: 'https://x', password: {from_env: NOPE_UNSET}}\n", false).unwrap();
        let problems = blueprint.resolve_secrets(|_| None);
        assert!(problems[0].contains("NOPE_UNSET"), "{problems:?}");
    }
}
