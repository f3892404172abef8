//! What the project runs, declared with its definition as octoterra's stateless modules do: a
//! step template (`steptemplate_<n>.tf`) or script module
//! (`library_variable_set_scriptmodule_<n>.tf`) is looked up by name and created only where the
//! space lacks it (`count`), and never destroyed by the module (`prevent_destroy`). A community
//! template is installed from the space's Library (`octopusdeploy_community_step_template`, found
//! by its Library page) and, where the Library lacks it, created as a custom template with the
//! package's definition. Steps and the project refer to whichever exists.
//! (octoterra `step_template_converter.go` and `library_variable_set_converter.go`,
//! `writeScriptModule`.)

use super::emit::{self, BlockWriter};
use super::naming::label;
use super::Writer;
use crate::portable::{PackageReference, PropertyValue, ScriptModule, StepTemplate, Template};
use hcl::Expression;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The labels of a carried step template's blocks.
#[derive(Debug, Clone)]
pub(super) struct TemplateLabels {
    /// `steptemplate_<n>`: the lookup by name and the custom template.
    template: String,
    /// `communitysteptemplate_<n>`: the Library lookup and installation, for a Library template.
    community: Option<String>,
}

/// `"<name>"` as an HCL string literal, for the writer's own expressions.
fn literal(name: &str) -> String {
    hcl::format::to_string(&Expression::String(name.to_owned()))
        .expect("a string literal always formats")
}

/// A parameter's id: the provider wants a UUID and the package carries none, so one is derived
/// from the template's and the parameter's names (the same module every time).
fn parameter_id(template: &str, parameter: &str) -> String {
    let digest = Sha256::digest(format!("{template}\u{0}{parameter}").as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-5{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

impl Writer<'_> {
    /// Claims the labels of every carried template and module, so steps and the project can
    /// refer to them wherever they are written.
    pub(super) fn plan_definitions(&mut self) {
        for template in &self.model.step_templates {
            let labels = TemplateLabels {
                template: self.claim_label(
                    "octopusdeploy_step_template",
                    label("steptemplate", &[&template.name]),
                ),
                community: template.community.as_ref().map(|_| {
                    self.claim_label(
                        "octopusdeploy_community_step_template",
                        label("communitysteptemplate", &[&template.name]),
                    )
                }),
            };
            self.template_labels.insert(template.name.clone(), labels);
        }
        for module in &self.model.script_modules {
            let module_label = self.claim_label(
                "octopusdeploy_script_module",
                label("library_variable_set_scriptmodule", &[&module.name]),
            );
            self.module_labels.insert(module.name.clone(), module_label);
        }
    }

    /// `field` (`id`, `version`) of the template named `name`: the space's own when it has one,
    /// else the one the module creates. `None` for a template the package does not carry.
    pub(super) fn carried_template(&self, name: &str, field: &str) -> Option<String> {
        let labels = self.template_labels.get(name)?;
        let found = format!(
            "data.octopusdeploy_step_template.{}.step_template",
            labels.template
        );
        let custom = format!("octopusdeploy_step_template.{}[0].{field}", labels.template);
        let created = match &labels.community {
            Some(community) => format!(
                "length(data.octopusdeploy_community_step_template.{community}.steps) != 0 ? \
                 octopusdeploy_community_step_template.{community}[0].{field} : {custom}"
            ),
            None => custom,
        };
        Some(format!("{found} != null ? {found}.{field} : {created}"))
    }

    /// The id of the script module named `name`: the space's own, else the one the module
    /// creates. `None` for a set the package does not carry as a module.
    pub(super) fn carried_module(&self, name: &str) -> Option<String> {
        let module_label = self.module_labels.get(name)?;
        let found = format!(
            "[for r in data.octopusdeploy_library_variable_sets.{module_label}.library_variable_sets : r.id if r.name == {}]",
            literal(name)
        );
        Some(format!(
            "length({found}) != 0 ? {found}[0] : octopusdeploy_script_module.{module_label}[0].id"
        ))
    }

    pub(super) fn write_definitions(&mut self) {
        let model = self.model;
        for template in &model.step_templates {
            self.write_step_template(template);
        }
        for module in &model.script_modules {
            self.write_script_module(module);
        }
    }

    fn write_step_template(&mut self, template: &StepTemplate) {
        let Some(labels) = self.template_labels.get(&template.name).cloned() else {
            return;
        };
        let found = format!(
            "data.octopusdeploy_step_template.{}.step_template",
            labels.template
        );
        let mut blocks =
            vec![
                BlockWriter::new("data", &["octopusdeploy_step_template", &labels.template])
                    .attr("name", emit::text(&template.name))
                    .build(),
            ];
        let custom_count = match (&labels.community, &template.community) {
            (Some(community), Some(carried)) => {
                let library = format!("data.octopusdeploy_community_step_template.{community}");
                let mut lookup = BlockWriter::new(
                    "data",
                    &["octopusdeploy_community_step_template", community],
                );
                lookup = match &carried.website {
                    Some(website) => lookup.attr("website", emit::text(website)),
                    None => lookup.attr("name", emit::text(&template.name)),
                };
                blocks.push(lookup.build());
                blocks.push(
                    BlockWriter::new(
                        "resource",
                        &["octopusdeploy_community_step_template", community],
                    )
                    .attr(
                        "count",
                        emit::bare(&format!(
                            "{found} == null && length({library}.steps) != 0 ? 1 : 0"
                        )),
                    )
                    .attr(
                        "community_action_template_id",
                        emit::bare(&format!(
                            "length({library}.steps) != 0 ? {library}.steps[0].id : null"
                        )),
                    )
                    .block(prevent_destroy())
                    .build(),
                );
                format!("{found} == null && length({library}.steps) == 0 ? 1 : 0")
            }
            _ => format!("{found} != null ? 0 : 1"),
        };
        let resource = self.custom_step_template(template, &labels.template, &custom_count);
        blocks.push(resource);
        self.add_blocks(&format!("{}.tf", labels.template), blocks);
    }

    /// The custom template: created only where the space has none of that name.
    fn custom_step_template(
        &mut self,
        template: &StepTemplate,
        label: &str,
        count: &str,
    ) -> hcl::Block {
        let stem = |key: &str| super::naming::label("steptemplate", &[&template.name, key]);
        let mut properties = BTreeMap::new();
        for (key, value) in &template.properties {
            let description = format!(
                "The sensitive value of the property {key} of step template {}",
                template.name
            );
            properties.insert(
                key.clone(),
                self.property_value(value, stem(key), description),
            );
        }
        let parameters: Vec<Expression> = template
            .parameters
            .iter()
            .map(|parameter| self.template_parameter(template, parameter, stem(&parameter.name)))
            .collect();
        let packages: Vec<Expression> = template
            .packages
            .iter()
            .map(|package| self.template_package(package))
            .collect();
        let mut block = BlockWriter::new("resource", &["octopusdeploy_step_template", label])
            .attr("count", emit::bare(count))
            .attr("name", emit::text(&template.name))
            .attr("action_type", emit::text(&template.action_type))
            .attr(
                "step_package_id",
                emit::text(
                    template
                        .step_package_id
                        .as_deref()
                        .unwrap_or(&template.action_type),
                ),
            )
            .opt(
                "description",
                template.description.as_deref().map(emit::text),
            )
            .attr("properties", emit::map(properties))
            .attr("parameters", emit::list(parameters))
            .attr("packages", emit::list(packages));
        let dependencies = self.template_git_dependencies(template);
        if !dependencies.is_empty() {
            block = block.attr("git_dependencies", emit::list(dependencies));
        }
        block.block(prevent_destroy()).build()
    }

    fn template_parameter(
        &mut self,
        template: &StepTemplate,
        parameter: &Template,
        variable_stem: String,
    ) -> Expression {
        let mut fields = vec![
            (
                "id",
                emit::text(&parameter_id(&template.name, &parameter.name)),
            ),
            ("name", emit::text(&parameter.name)),
        ];
        if let Some(label) = &parameter.label {
            fields.push(("label", emit::text(label)));
        }
        if let Some(help) = &parameter.help_text {
            fields.push(("help_text", emit::text(help)));
        }
        if let Some(value) = &parameter.default_value {
            let key = match value {
                PropertyValue::Sensitive(_) => "default_sensitive_value",
                _ => "default_value",
            };
            let description = format!(
                "The sensitive default value of the parameter {} of step template {}",
                parameter.name, template.name
            );
            fields.push((key, self.property_value(value, variable_stem, description)));
        }
        if !parameter.display_settings.is_empty() {
            let settings = parameter
                .display_settings
                .iter()
                .map(|(key, value)| (key.clone(), emit::text(value)))
                .collect();
            fields.push(("display_settings", emit::map(settings)));
        }
        emit::object(fields)
    }

    /// A template's package: the provider names its properties (`selection_mode` required).
    fn template_package(&mut self, package: &PackageReference) -> Expression {
        let feed_id = self.lookup(super::lookups::Shared::Feed, &package.feed);
        let property = |key: &str| package.properties.get(key).map(|value| emit::text(value));
        let mut properties = vec![(
            "selection_mode",
            property("SelectionMode").unwrap_or_else(|| emit::text("immediate")),
        )];
        for (field, key) in [
            ("extract", "Extract"),
            ("package_parameter_name", "PackageParameterName"),
            ("purpose", "Purpose"),
        ] {
            if let Some(value) = property(key) {
                properties.push((field, value));
            }
        }
        emit::object(vec![
            ("name", emit::text(&package.name)),
            ("package_id", emit::text(&package.package_id)),
            ("feed_id", emit::reference(&feed_id)),
            (
                "acquisition_location",
                emit::text(&package.acquisition_location),
            ),
            ("properties", emit::object(properties)),
        ])
    }

    fn template_git_dependencies(&mut self, template: &StepTemplate) -> Vec<Expression> {
        let mut out = Vec::new();
        for dependency in &template.git_dependencies {
            let name = dependency
                .get("Name")
                .and_then(|value| value.as_str())
                .unwrap_or_default();
            if let Some(fields) = self.git_dependency_fields(dependency) {
                let mut all = vec![("name", emit::text(name))];
                all.extend(fields);
                out.push(emit::object(all));
            }
        }
        out
    }

    fn write_script_module(&mut self, module: &ScriptModule) {
        let Some(module_label) = self.module_labels.get(&module.name).cloned() else {
            return;
        };
        let lookup = BlockWriter::new(
            "data",
            &["octopusdeploy_library_variable_sets", &module_label],
        )
        .attr("partial_name", emit::text(&module.name))
        .attr("content_type", emit::text("ScriptModule"))
        .attr("skip", Expression::from(0))
        .attr("take", Expression::from(100))
        .build();
        let found = format!(
            "length([for r in data.octopusdeploy_library_variable_sets.{module_label}.library_variable_sets : r if r.name == {}])",
            literal(&module.name)
        );
        let script = BlockWriter::new("script", &[])
            .attr("body", emit::text(&module.body))
            .attr("syntax", emit::text(&module.syntax))
            .build();
        let resource =
            BlockWriter::new("resource", &["octopusdeploy_script_module", &module_label])
                .attr("count", emit::bare(&format!("{found} != 0 ? 0 : 1")))
                .attr("name", emit::text(&module.name))
                .opt("description", module.description.as_deref().map(emit::text))
                .block(script)
                .block(prevent_destroy())
                .build();
        self.add_blocks(&format!("{module_label}.tf"), vec![lookup, resource]);
    }
}

/// `lifecycle { prevent_destroy = true }`: what the module created stays when it is destroyed
/// (other projects may use it), as octoterra's stateless resources do.
fn prevent_destroy() -> hcl::Block {
    BlockWriter::new("lifecycle", &[])
        .attr("prevent_destroy", true.into())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_ids_are_uuids_and_stable() {
        let id = parameter_id("Notify Team", "Notify.Url");
        assert_eq!(id, parameter_id("Notify Team", "Notify.Url"));
        assert_ne!(id, parameter_id("Notify Team", "Notify.Token"));
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}
