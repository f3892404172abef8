//! References to a space's shared resources by name, and the check that no id of the template's
//! space is left in a portable project: ids are space-scoped (`Accounts-12` is another account,
//! or none, in the managed space), only names travel.

use super::model::{
    Action, JsonWithReferences, PackageReference, PortableProject, Process, PropertyValue, Step,
    StepTemplate, Template, Variable,
};
pub use super::reference_kind::{ReferenceKind, ResourceReference};
use regex::Regex;
use std::sync::LazyLock;

/// The kind of value a variable holds a reference in: its type's, else its prompt's control type.
pub fn variable_reference_kind(variable: &Variable) -> Option<ReferenceKind> {
    ReferenceKind::of_variable_type(&variable.kind).or_else(|| {
        variable
            .prompt
            .as_ref()
            .and_then(|prompt| ReferenceKind::of_display_settings(&prompt.display_settings))
    })
}

/// A typed variable's value that names a resource (not empty, not an Octostache expression).
pub fn variable_reference(variable: &Variable) -> Option<(ReferenceKind, &str)> {
    let kind = variable_reference_kind(variable)?;
    let value = variable.value.as_deref()?;
    is_reference_value(value).then_some((kind, value))
}

/// Whether a value of a reference-typed field names a resource: empty values and Octostache
/// expressions (`#{Azure.Account}`) are carried as they are.
pub fn is_reference_value(value: &str) -> bool {
    !value.trim().is_empty() && !value.contains("#{")
}

/// The resources a JSON value names: each reference pointer with the kind and the name there.
pub fn json_references(value: &JsonWithReferences) -> Vec<(&str, ResourceReference)> {
    let json: serde_json::Value = serde_json::from_str(&value.json).unwrap_or_default();
    value
        .references
        .iter()
        .filter_map(|(pointer, kind)| {
            let name = json.pointer(pointer)?.as_str()?;
            Some((
                pointer.as_str(),
                ResourceReference {
                    kind: *kind,
                    name: name.to_owned(),
                },
            ))
        })
        .collect()
}

/// Id prefixes of the server's space-scoped documents, with what people call them: the kinds
/// above and the rest octofleet does not carry by reference.
const SPACE_ID_PREFIXES: &[(&str, &str)] = &[
    ("Accounts", "account"),
    ("Certificates", "certificate"),
    ("WorkerPools", "worker pool"),
    ("Feeds", "feed"),
    ("GitCredentials", "git credential"),
    ("Environments", "environment"),
    ("Lifecycles", "lifecycle"),
    ("ProjectGroups", "project group"),
    ("LibraryVariableSets", "library variable set"),
    ("ActionTemplates", "step template"),
    ("Projects", "project"),
    ("Channels", "channel"),
    ("Runbooks", "runbook"),
    ("Tenants", "tenant"),
    ("TagSets", "tag set"),
    ("Machines", "deployment target"),
    ("Workers", "worker"),
    ("Teams", "team"),
    ("MachinePolicies", "machine policy"),
    ("ProxyServers", "proxy"),
    ("Proxies", "proxy"),
    ("DeploymentFreezes", "deployment freeze"),
    ("Subscriptions", "subscription"),
];

static SPACE_ID: LazyLock<Regex> = LazyLock::new(|| {
    let prefixes: Vec<&str> = SPACE_ID_PREFIXES.iter().map(|(p, _)| *p).collect();
    Regex::new(&format!(r"(?i)^({})-\d+$", prefixes.join("|"))).expect("a valid regex")
});

/// A value that looks like the id of a space-scoped document: its prefix and what people call it.
pub fn space_id(value: &str) -> Option<(&'static str, &'static str)> {
    let captures = SPACE_ID.captures(value.trim())?;
    let prefix = captures.get(1)?.as_str();
    SPACE_ID_PREFIXES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(prefix))
        .copied()
}

/// One field of a portable project that still holds an id of the template's space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdLeft {
    /// Where: "deployment process, step `Deploy`, action `Azure`, property `Octopus.Action.Azure.AccountId`".
    pub at: String,
    /// The id as written.
    pub id: String,
    /// What it is the id of ("account").
    pub noun: &'static str,
}

impl IdLeft {
    /// What the user should do about it.
    pub fn advice(&self) -> String {
        let carried = SPACE_ID_PREFIXES
            .iter()
            .find(|(_, noun)| *noun == self.noun)
            .and_then(|(prefix, _)| ReferenceKind::of_id_prefix(prefix))
            .is_some();
        if carried {
            format!(
                "no {} of the template's space has this id (was it deleted?): choose an existing {} there, \
                 or remove the reference",
                self.noun, self.noun
            )
        } else {
            format!(
                "octofleet carries references to accounts, certificates, worker pools, feeds, git credentials \
                 and environments by name, not to {} by id: use a variable, or remove the reference",
                plural(self.noun)
            )
        }
    }
}

fn plural(noun: &str) -> String {
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{stem}ies"),
        _ => format!("{noun}s"),
    }
}

/// Every id a text may hold: the whole value, each item of a comma-separated list, and each
/// string inside a JSON object or array. Free text (a script body) is not searched: an id there
/// is the script's own business.
fn ids_in(text: &str) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    let mut check = |candidate: &str| {
        if let Some((_, noun)) = space_id(candidate) {
            found.push((candidate.trim().to_owned(), noun));
        }
    };
    if text.contains(',') && !text.trim_start().starts_with(['{', '[']) {
        text.split(',').for_each(&mut check);
    } else {
        check(text);
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with(['{', '[']) {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
            let mut stack = vec![&json];
            while let Some(value) = stack.pop() {
                match value {
                    serde_json::Value::String(s) => check(s),
                    serde_json::Value::Array(items) => stack.extend(items),
                    serde_json::Value::Object(map) => stack.extend(map.values()),
                    _ => {}
                }
            }
        }
    }
    found
}

/// Every field of `project` that still holds an id of the template's space, in document order.
pub fn ids_left(project: &PortableProject) -> Vec<IdLeft> {
    let mut left = Vec::new();
    let mut scan = |at: String, text: &str| {
        for (id, noun) in ids_in(text) {
            left.push(IdLeft {
                at: at.clone(),
                id,
                noun,
            });
        }
    };
    let settings = &project.project;
    scan("the project's lifecycle".into(), &settings.lifecycle);
    scan("the project's group".into(), &settings.project_group);
    for set in &settings.included_library_variable_sets {
        scan("the project's library variable sets".into(), set);
    }
    for template in &settings.templates {
        scan_template(&mut scan, "project template", template);
    }
    if let Some(process) = &project.deployment_process {
        scan_process(&mut scan, "deployment process", process);
    }
    for channel in &project.channels {
        if let Some(lifecycle) = &channel.lifecycle {
            scan(format!("channel `{}` lifecycle", channel.name), lifecycle);
        }
    }
    for runbook in &project.runbooks {
        for environment in &runbook.environments {
            scan(
                format!("runbook `{}` environments", runbook.name),
                environment,
            );
        }
        scan_process(
            &mut scan,
            &format!("runbook `{}` process", runbook.name),
            &runbook.process,
        );
    }
    for variable in &project.variables {
        let at = format!("variable `{}`", variable.name);
        if let Some(value) = &variable.value {
            scan(format!("{at} ({}) value", variable.kind), value);
        }
        let scope = &variable.scope;
        for (what, names) in [
            ("environment", &scope.environments),
            ("channel", &scope.channels),
            ("step", &scope.steps),
            ("process", &scope.processes),
            ("deployment target", &scope.machines),
        ] {
            for name in names {
                scan(format!("{at} {what} scope"), name);
            }
        }
    }
    for trigger in &project.triggers {
        scan_trigger(&mut scan, trigger);
    }
    if let Some(channel) = project
        .built_in_trigger
        .as_ref()
        .and_then(|t| t.channel.as_ref())
    {
        scan("the built-in feed trigger's channel".into(), channel);
    }
    for template in &project.step_templates {
        scan_step_template(&mut scan, template);
    }
    left
}

fn scan_trigger(scan: &mut impl FnMut(String, &str), trigger: &super::model::Trigger) {
    let at = format!("trigger `{}`", trigger.name);
    let (filter, action) = (&trigger.filter, &trigger.action);
    let named = [
        ("runbook", &action.runbook),
        ("channel", &action.channel),
        ("environment", &action.environment),
        ("destination environment", &action.destination_environment),
    ];
    for (what, name) in named {
        if let Some(name) = name {
            scan(format!("{at} {what}"), name);
        }
    }
    let lists = [
        ("environments", &action.environments),
        ("source environments", &action.source_environments),
        ("filter environments", &filter.environments),
    ];
    for (what, names) in lists {
        for name in names {
            scan(format!("{at} {what}"), name);
        }
    }
    let extras = [
        ("", &trigger.extra),
        (" filter", &filter.extra),
        (" action", &action.extra),
    ];
    for (what, extra) in extras {
        for (key, value) in extra {
            let text = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            scan(format!("{at}{what} `{key}`"), &text);
        }
    }
}

fn scan_template(scan: &mut impl FnMut(String, &str), what: &str, template: &Template) {
    if let Some(value) = &template.default_value {
        scan_value(
            scan,
            format!("{what} `{}` default value", template.name),
            value,
        );
    }
}

/// A property's or default's text, or the strings of a JSON value other than those it names
/// resources by.
fn scan_value(scan: &mut impl FnMut(String, &str), at: String, value: &PropertyValue) {
    match value {
        PropertyValue::Text(text) => scan(at, text),
        PropertyValue::Json(json) => {
            for text in unnamed_strings(json) {
                scan(at.clone(), &text);
            }
        }
        PropertyValue::Sensitive(_) | PropertyValue::Reference(_) => {}
    }
}

/// The strings of `value.json` that are not at one of its reference pointers.
fn unnamed_strings(value: &JsonWithReferences) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&value.json) else {
        return vec![value.json.clone()];
    };
    let mut stack = vec![(String::new(), &json)];
    while let Some((pointer, json)) = stack.pop() {
        match json {
            serde_json::Value::String(text) if !value.references.contains_key(&pointer) => {
                found.push(text.clone())
            }
            serde_json::Value::Array(items) => stack.extend(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (format!("{pointer}/{i}"), item)),
            ),
            serde_json::Value::Object(map) => stack.extend(map.iter().map(|(key, item)| {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                (format!("{pointer}/{escaped}"), item)
            })),
            _ => {}
        }
    }
    found
}

/// A step template: its properties, parameter defaults, packages and git dependencies.
fn scan_step_template(scan: &mut impl FnMut(String, &str), template: &StepTemplate) {
    let at = format!("step template `{}`", template.name);
    for (key, value) in &template.properties {
        scan_value(scan, format!("{at}, property `{key}`"), value);
    }
    for parameter in &template.parameters {
        scan_template(scan, &format!("{at}, parameter"), parameter);
    }
    scan_packages(scan, &at, &template.packages);
    for dependency in &template.git_dependencies {
        scan(format!("{at}, git dependencies"), &dependency.to_string());
    }
}

fn scan_process(scan: &mut impl FnMut(String, &str), what: &str, process: &Process) {
    for step in &process.steps {
        scan_step(scan, what, step);
    }
}

fn scan_step(scan: &mut impl FnMut(String, &str), what: &str, step: &Step) {
    let at = format!("{what}, step `{}`", step.name);
    for (key, value) in &step.properties {
        scan_value(scan, format!("{at}, property `{key}`"), value);
    }
    for action in &step.actions {
        scan_action(scan, &format!("{at}, action `{}`", action.name), action);
    }
}

fn scan_packages(scan: &mut impl FnMut(String, &str), at: &str, packages: &[PackageReference]) {
    for package in packages {
        let name = if package.name.is_empty() {
            "the primary package".to_owned()
        } else {
            format!("package `{}`", package.name)
        };
        scan(format!("{at}, {name} feed"), &package.feed);
        for (key, value) in &package.properties {
            scan(format!("{at}, {name} property `{key}`"), value);
        }
    }
}

fn scan_action(scan: &mut impl FnMut(String, &str), at: &str, action: &Action) {
    for (key, value) in &action.properties {
        scan_value(scan, format!("{at}, property `{key}`"), value);
    }
    if let Some(pool) = &action.worker_pool {
        scan(format!("{at}, worker pool"), pool);
    }
    for environment in action
        .environments
        .iter()
        .chain(&action.excluded_environments)
    {
        scan(format!("{at}, environments"), environment);
    }
    if let Some(feed) = action.container.as_ref().and_then(|c| c.feed.as_ref()) {
        scan(format!("{at}, container feed"), feed);
    }
    scan_packages(scan, at, &action.packages);
    for dependency in &action.git_dependencies {
        scan(format!("{at}, git dependencies"), &dependency.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn ids_are_found_whole_in_lists_and_in_json_but_not_in_free_text() {
        let ids =
            |text: &str| -> Vec<String> { ids_in(text).into_iter().map(|(id, _)| id).collect() };
        assert_eq!(ids("Accounts-12"), ["Accounts-12"]);
        assert_eq!(ids(" workerpools-2 "), ["workerpools-2"]);
        assert_eq!(ids("teams-managers,Teams-3"), ["Teams-3"]);
        assert_eq!(
            ids(r#"{"PackageId":"acme","FeedId":"Feeds-5"}"#),
            ["Feeds-5"]
        );
        assert!(ids("feeds-builtin").is_empty());
        assert!(ids("echo Accounts-12 is gone").is_empty());
        assert!(ids("Production").is_empty());
        assert!(ids("#{Azure.Account}").is_empty());
        assert_eq!(
            space_id("Certificates-3"),
            Some(("Certificates", "certificate"))
        );
    }

    #[test]
    fn typed_variables_and_control_types_name_their_kind() {
        assert_eq!(
            ReferenceKind::of_variable_type("GenericOidcAccount"),
            Some(ReferenceKind::Account)
        );
        assert_eq!(
            ReferenceKind::of_variable_type("WorkerPool"),
            Some(ReferenceKind::WorkerPool)
        );
        assert_eq!(ReferenceKind::of_variable_type("String"), None);
        assert_eq!(ReferenceKind::of_variable_type("Sensitive"), None);
        let settings =
            BTreeMap::from([("Octopus.ControlType".to_owned(), "Certificate".to_owned())]);
        assert_eq!(
            ReferenceKind::of_display_settings(&settings),
            Some(ReferenceKind::Certificate)
        );
        assert!(!is_reference_value("#{Pool}"));
        assert!(!is_reference_value(""));
    }
}
