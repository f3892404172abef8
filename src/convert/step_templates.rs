//! Step templates, both directions: the API's action template ↔ the portable definition (feeds,
//! git credentials and referenced resources by name; sensitive values as `secrets.json`
//! placeholders), and the template a managed space should hold.

use super::fields::set_text;
use super::process::{
    assign_secret, desired_packages, desired_properties, portable_packages, portable_property_in,
};
use super::project::{desired_templates, portable_template};
use super::references::{desired_git_dependency, portable_git_dependency};
use super::Context;
use crate::octopus::resources::{ActionTemplate, CommunityActionTemplate};
use crate::octopus::space_index::SpaceIndex;
use crate::portable::naming::step_template_secret_name;
use crate::portable::{self, PropertyValue};
use crate::secret::Secret;
use std::collections::BTreeMap;

/// A property the server does not keep on a step template: octoterra drops it because "it is
/// not returned again when the step template is created"
/// (`cmd/internal/converters/step_template_converter.go`, `convertStepProperties`). Carrying it
/// would make every downstream copy differ from its package.
pub const DROPPED_PROPERTIES: [&str; 1] = ["Octopus.Action.RunOnServer"];

/// The template as a package carries it; `community` is its Library entry, for a template
/// installed from the Library.
pub fn portable_step_template(
    template: &ActionTemplate,
    community: Option<&CommunityActionTemplate>,
    index: &SpaceIndex,
) -> portable::StepTemplate {
    let context = Context {
        index,
        channels: Default::default(),
        secrets: None,
    };
    portable::StepTemplate {
        name: template.name.clone(),
        description: template.description.clone().filter(|d| !d.is_empty()),
        action_type: template.action_type.clone(),
        version: template.version.unwrap_or(0),
        step_package_id: template.step_package_id.clone().filter(|s| !s.is_empty()),
        community: template
            .community_action_template_id
            .as_ref()
            .filter(|_| template.is_community())
            .map(|id| portable::CommunityTemplate {
                id: id.clone(),
                website: community.and_then(|c| c.website.clone()),
            }),
        properties: template
            .properties
            .iter()
            .filter(|(key, _)| !DROPPED_PROPERTIES.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), portable_property_in(&context, key, value)))
            .collect(),
        parameters: template
            .parameters
            .iter()
            .map(|parameter| portable_template(parameter, index))
            .collect(),
        packages: portable_packages(&template.packages, index),
        git_dependencies: template
            .git_dependencies
            .iter()
            .map(|dependency| portable_git_dependency(index, dependency))
            .collect(),
        earlier_definitions: Vec::new(),
    }
}

/// Gives every sensitive property and parameter default of `templates` an entry in `secrets`
/// (`secrets.json`), as a project's sensitive template defaults have: the placeholder is
/// `#{Octofleet.Secret[Step Templates/<template>].<property or parameter> | JsonEscape}`, and
/// `names` learns key → that Octopus variable (the Terraform module's defaults).
pub fn assign_step_template_secrets(
    templates: &mut [portable::StepTemplate],
    project_name: &str,
    secrets: &mut BTreeMap<String, String>,
    names: &mut BTreeMap<String, String>,
) {
    for template in templates {
        let properties = template.properties.iter_mut();
        let defaults = template
            .parameters
            .iter_mut()
            .filter_map(|p| p.default_value.as_mut().map(|value| (&p.name, value)));
        for (key, value) in properties.chain(defaults) {
            let PropertyValue::Sensitive(sensitive) = value else {
                continue;
            };
            let name = step_template_secret_name(&template.name, key);
            sensitive.secret = Some(assign_secret(project_name, None, name, secrets, names));
        }
    }
}

/// The custom template a managed space should hold for `wanted`, on top of the one it holds
/// (`existing`, whose id, version and fields the server owns survive). Sensitive values the
/// server holds are kept; new ones are written from their substituted `secrets.json` entry.
pub fn desired_step_template(
    existing: Option<&ActionTemplate>,
    wanted: &portable::StepTemplate,
    index: &SpaceIndex,
    secrets: Option<&BTreeMap<String, Secret>>,
) -> ActionTemplate {
    let mut desired = existing.cloned().unwrap_or_else(|| ActionTemplate {
        name: wanted.name.clone(),
        action_type: wanted.action_type.clone(),
        ..ActionTemplate::default()
    });
    desired.name = wanted.name.clone();
    set_text(&mut desired.description, &wanted.description);
    if desired.description.is_none() {
        desired.description = Some(String::new());
    }
    if wanted.step_package_id.is_some() {
        desired.step_package_id = wanted.step_package_id.clone();
    }
    let context = Context {
        index,
        channels: Default::default(),
        secrets,
    };
    desired.properties = desired_properties(&desired.properties, &wanted.properties, &context);
    desired.parameters = desired_templates(&desired.parameters, &wanted.parameters, secrets, index);
    desired.packages = desired_packages(&desired.packages, &wanted.packages, index);
    desired.git_dependencies = wanted
        .git_dependencies
        .iter()
        .map(|dependency| desired_git_dependency(index, dependency))
        .collect();
    desired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::octopus::resources::SensitiveValue;
    use crate::octopus::space_index::Names;
    use crate::portable::definitions::{fingerprint, Definition};

    fn upstream() -> ActionTemplate {
        serde_json::from_value(serde_json::json!({
            "Id": "ActionTemplates-3", "Name": "Notify Team", "Description": "Posts to chat",
            "ActionType": "Octopus.Script", "Version": 4, "CommunityActionTemplateId": null,
            "Properties": {
                "Octopus.Action.Script.ScriptBody": "curl #{Notify.Url}",
                "Octopus.Action.RunOnServer": "true"
            },
            "Parameters": [
                {"Id": "a1", "Name": "Notify.Url", "Label": "URL", "DefaultValue": "https://chat",
                 "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}},
                {"Id": "a2", "Name": "Notify.Token", "DefaultValue": {"HasValue": true},
                 "DisplaySettings": {"Octopus.ControlType": "Sensitive"}},
                {"Id": "a3", "Name": "Notify.Package", "DefaultValue": "{\"PackageId\":\"notifier\",\"FeedId\":\"Feeds-5\"}",
                 "DisplaySettings": {"Octopus.ControlType": "Package"}}
            ],
            "Packages": [{"Name": "tools", "PackageId": "chat-tools", "FeedId": "Feeds-5", "AcquisitionLocation": "Server", "Properties": {"Extract": "True"}}]
        }))
        .unwrap()
    }

    fn index(feed_id: &str) -> SpaceIndex {
        let mut index = SpaceIndex {
            feeds: Names::of([(Some(feed_id), "Chat Feed")]),
            ..SpaceIndex::default()
        };
        index.add_built_in_feed();
        index
    }

    /// Upstream → package → a new downstream template → package again: the same definition,
    /// with the downstream feed's id written where the upstream one was.
    #[test]
    fn a_template_round_trips_through_another_space() {
        let mut carried = portable_step_template(&upstream(), None, &index("Feeds-5"));
        assert!(!carried
            .properties
            .contains_key("Octopus.Action.RunOnServer"));
        assert_eq!(carried.packages[0].feed, "Chat Feed");
        assert!(matches!(
            carried.parameters[2].default_value,
            Some(PropertyValue::Json(_))
        ));
        let mut secrets = BTreeMap::new();
        let mut names = BTreeMap::new();
        assign_step_template_secrets(
            std::slice::from_mut(&mut carried),
            "Hello",
            &mut secrets,
            &mut names,
        );
        let key = "hello_octofleet_secret_step_templates_notify_team__notify_token_1";
        assert_eq!(
            secrets[key],
            "#{Octofleet.Secret[Step Templates/Notify Team].Notify.Token | JsonEscape}"
        );
        let downstream_index = index("Feeds-9");
        let substituted = BTreeMap::from([(key.to_owned(), Secret::new("token"))]);
        let created = desired_step_template(None, &carried, &downstream_index, Some(&substituted));
        assert_eq!(created.packages[0].feed_id.as_deref(), Some("Feeds-9"));
        assert_eq!(
            created.parameters[2].default_value,
            Some(crate::octopus::resources::PropertyValue::Text(
                "{\"PackageId\":\"notifier\",\"FeedId\":\"Feeds-9\"}".into()
            ))
        );
        assert_eq!(
            created.parameters[1].default_value,
            Some(crate::octopus::resources::PropertyValue::Sensitive(
                SensitiveValue::set(Secret::new("token"))
            ))
        );
        // As the server returns it: the secret held, not shown.
        let mut stored = created.clone();
        stored.id = Some("ActionTemplates-7".into());
        stored.version = Some(0);
        stored.parameters[1].default_value = Some(
            crate::octopus::resources::PropertyValue::Sensitive(SensitiveValue {
                has_value: true,
                ..SensitiveValue::keep()
            }),
        );
        let again = portable_step_template(&stored, None, &downstream_index);
        assert_eq!(again.comparable(), carried.comparable());
        assert_eq!(fingerprint(&again), fingerprint(&carried));
        // Onto itself: nothing to change, the held secret kept.
        let onto_itself = desired_step_template(Some(&stored), &carried, &downstream_index, None);
        assert_eq!(onto_itself.parameters, {
            let mut kept = stored.parameters.clone();
            kept[1].default_value = Some(crate::octopus::resources::PropertyValue::Sensitive(
                SensitiveValue::keep(),
            ));
            kept
        });
    }
}
