//! Project variables as `octopusdeploy_variable` resources, secrets in the article's
//! `project_variable_sensitive_<label>.tf` shape, every variable left alone after creation.

use super::emit::{self, BlockWriter};
use super::lookups::Shared;
use super::naming::project_variable_labels;
use super::Writer;
use crate::portable::references::variable_reference;
use crate::portable::{Prompt, Scope, Variable};
use hcl::{Block, Expression};

/// The deployment process's name in the `processes` scope.
const DEPLOYMENT_PROCESS: &str = "Deployment Process";

impl Writer<'_> {
    pub(super) fn write_variables(&mut self) {
        let model = self.model;
        for (variable, label) in model.variables.iter().zip(project_variable_labels(model)) {
            let sensitive = variable.is_sensitive();
            let file = if sensitive {
                format!("project_variable_sensitive_{label}.tf")
            } else {
                format!("project_variable_{label}.tf")
            };
            let scope = match self.scope_block(&variable.scope, &variable.name, &file) {
                Ok(scope) => scope,
                Err(reason) => {
                    // Unscoped it would apply more widely than upstream: leave it out instead.
                    self.add_comment(
                        &file,
                        format!("Variable {:?} left out: {reason}", variable.name),
                    );
                    continue;
                }
            };
            let resource = self.variable_resource(variable, &label, sensitive, scope);
            if sensitive {
                // Octopus substitutes `#{…}` anywhere in this file, so user text is escaped
                // (`##{` renders as a literal `#{`); only the default is meant to be replaced.
                let declaration = sensitive_variable_block(
                    &label,
                    &format!(
                        "The secret variable value associated with the variable {}",
                        variable.name
                    ),
                    Some(&format!("#{{{}}}", variable.name)),
                );
                self.add_blocks(&file, vec![declaration, resource]);
            } else {
                self.add_blocks(&file, vec![resource]);
            }
        }
    }

    fn variable_resource(
        &mut self,
        variable: &Variable,
        label: &str,
        sensitive_file: bool,
        scope: Option<Block>,
    ) -> Block {
        let literal = |value: &str| {
            emit::text(&if sensitive_file {
                escape_octostache(value)
            } else {
                value.to_owned()
            })
        };
        let mut block = BlockWriter::new("resource", &["octopusdeploy_variable", label])
            .attr("owner_id", emit::reference(&self.project_id()))
            .attr("name", literal(&variable.name))
            .attr("type", emit::text(&variable.kind))
            .attr(
                "description",
                literal(variable.description.as_deref().unwrap_or_default()),
            );
        if variable.is_sensitive() {
            block = block
                .attr("sensitive_value", emit::reference(&format!("var.{label}")))
                .attr("is_sensitive", true.into());
        } else if let Some(value) = &variable.value {
            block = block.attr(
                "value",
                self.variable_value(variable, value, sensitive_file),
            );
        }
        if let Some(prompt) = &variable.prompt {
            block = block.block(prompt_block(prompt));
        }
        if let Some(scope) = scope {
            block = block.block(scope);
        }
        block.block(emit::ignore_all_changes()).build()
    }

    /// Values that name a shared resource (worker pool, account and certificate variables, and a
    /// prompt of such a control type) are resolved to its ID in the target space, as octoterra
    /// does; empty values and Octostache expressions are written as they are.
    fn variable_value(
        &mut self,
        variable: &Variable,
        value: &str,
        sensitive_file: bool,
    ) -> Expression {
        match variable_reference(variable) {
            Some((kind, name)) => emit::reference(&self.lookup(kind.into(), name)),
            None if sensitive_file => emit::text(&escape_octostache(value)),
            None => emit::text(value),
        }
    }

    /// The scope block, `None` when unscoped; an error when a scope kind named only things that
    /// are not part of the project (a step of an excluded runbook, say).
    fn scope_block(
        &mut self,
        scope: &Scope,
        variable_name: &str,
        file: &str,
    ) -> Result<Option<Block>, String> {
        let excluded = &self.options.excluded_scope_environments;
        let environment_names: Vec<&String> = scope
            .environments
            .iter()
            .filter(|name| !excluded.contains(*name))
            .collect();
        let environments: Vec<String> = environment_names
            .into_iter()
            .map(|name| self.lookup(Shared::Environment, name))
            .collect();
        let machines: Vec<String> = scope
            .machines
            .iter()
            .map(|name| self.lookup(Shared::Machine, name))
            .collect();
        let mut unresolved = Vec::new();
        let actions = resolve(&scope.steps, "step", &mut unresolved, |name| {
            self.action_ids.get(name).cloned()
        });
        let channels = resolve(&scope.channels, "channel", &mut unresolved, |name| {
            self.channel_id(name)
        });
        let processes = resolve(&scope.processes, "process", &mut unresolved, |name| {
            if name == DEPLOYMENT_PROCESS {
                // The server scopes the deployment process by its owner, the project.
                Some(self.project_id())
            } else {
                self.runbook_ids.get(name).cloned()
            }
        });
        for (kind, names, resolved) in [
            ("steps", &scope.steps, &actions),
            ("channels", &scope.channels, &channels),
            ("processes", &scope.processes, &processes),
        ] {
            if !names.is_empty() && resolved.is_empty() {
                return Err(format!(
                    "none of its {kind} ({}) is part of this project.",
                    names.join(", ")
                ));
            }
        }
        for what in unresolved {
            self.add_comment(
                file,
                format!("Scope {what} of {variable_name:?} left out: not part of this project."),
            );
        }
        if environments.is_empty()
            && machines.is_empty()
            && actions.is_empty()
            && channels.is_empty()
            && processes.is_empty()
            && scope.roles.is_empty()
            && scope.tenant_tags.is_empty()
        {
            return Ok(None);
        }
        let mut block = BlockWriter::new("scope", &[]);
        let references = [
            ("actions", actions),
            ("channels", channels),
            ("environments", environments),
            ("machines", machines),
            ("processes", processes),
        ];
        for (key, values) in references {
            if !values.is_empty() {
                block = block.attr(key, emit::reference_list(values));
            }
        }
        if !scope.roles.is_empty() {
            block = block.attr("roles", emit::text_list(&scope.roles));
        }
        if !scope.tenant_tags.is_empty() {
            block = block.attr("tenant_tags", emit::text_list(&scope.tenant_tags));
        }
        Ok(Some(block.build()))
    }
}

fn resolve(
    names: &[String],
    what: &str,
    unresolved: &mut Vec<String>,
    mut id_of: impl FnMut(&str) -> Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        match id_of(name) {
            Some(id) => out.push(id),
            None => unresolved.push(format!("{what} {name:?}")),
        }
    }
    out
}

fn prompt_block(prompt: &Prompt) -> Block {
    let mut block = BlockWriter::new("prompt", &[])
        .opt("label", prompt.label.as_deref().map(emit::text))
        .opt("description", prompt.description.as_deref().map(emit::text))
        .attr("is_required", prompt.required.into());
    if let Some(control_type) = prompt.display_settings.get("Octopus.ControlType") {
        let mut display = BlockWriter::new("display_settings", &[])
            .attr("control_type", emit::text(control_type));
        // The server's encoding: one `value|Display name` per line.
        let options = prompt
            .display_settings
            .get("Octopus.SelectOptions")
            .map(String::as_str)
            .unwrap_or_default();
        for line in options.lines().filter(|line| !line.trim().is_empty()) {
            let (value, display_name) = line.split_once('|').unwrap_or((line, line));
            display = display.block(
                BlockWriter::new("select_option", &[])
                    .attr("value", emit::text(value))
                    .attr("display_name", emit::text(display_name))
                    .build(),
            );
        }
        block = block.block(display.build());
    }
    block.build()
}

/// A sensitive `variable` block in the article's shape.
pub(super) fn sensitive_variable_block(
    name: &str,
    description: &str,
    default: Option<&str>,
) -> Block {
    BlockWriter::new("variable", &[name])
        .attr("type", emit::keyword("string"))
        .attr("nullable", false.into())
        .attr("sensitive", true.into())
        .attr("description", emit::text(&escape_octostache(description)))
        .opt("default", default.map(emit::text))
        .build()
}

/// Octostache's escape: `##{` is left as the literal text `#{`.
fn escape_octostache(text: &str) -> String {
    text.replace("#{", "##{")
}

#[cfg(test)]
mod tests {
    use super::escape_octostache;

    #[test]
    fn octostache_markers_are_escaped() {
        assert_eq!(escape_octostache("a #{b} c"), "a ##{b} c");
        assert_eq!(escape_octostache("plain"), "plain");
    }
}
