//! Shared resources the module does not own (environments, feeds, …): `data` lookups by name with
//! a postcondition, in octoterra's lookup mode, one file per lookup.

use super::emit::{self, BlockWriter};
use super::naming::{label, UniqueNames};
use crate::portable::ReferenceKind;
use hcl::expr::{BinaryOp, BinaryOperator, Expression};
use hcl::Block;
use std::collections::BTreeMap;

/// A kind of shared resource looked up by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shared {
    Environment,
    Lifecycle,
    ProjectGroup,
    Feed,
    GitCredential,
    WorkerPool,
    LibraryVariableSet,
    StepTemplate,
    Account,
    Certificate,
    Machine,
}

impl From<ReferenceKind> for Shared {
    fn from(kind: ReferenceKind) -> Shared {
        match kind {
            ReferenceKind::Account => Shared::Account,
            ReferenceKind::Certificate => Shared::Certificate,
            ReferenceKind::WorkerPool => Shared::WorkerPool,
            ReferenceKind::Feed => Shared::Feed,
            ReferenceKind::GitCredential => Shared::GitCredential,
            ReferenceKind::Environment => Shared::Environment,
        }
    }
}

struct Spec {
    data_source: &'static str,
    /// Label stem, octoterra's (`environment_<e>`, `workerpool_<n>`, …).
    label_prefix: &'static str,
    /// Extra file-name prefix before the label (octoterra's `projectgroup_project_group_<g>.tf`).
    file_prefix: &'static str,
    /// The attribute holding the results; `None` for the single-object step template source.
    results: Option<&'static str>,
    /// `name` (exact) where the data source has it, else octoterra's `partial_name`.
    filter: &'static str,
    noun: &'static str,
}

impl Shared {
    fn spec(self) -> Spec {
        let spec = |data_source, label_prefix, results, filter, noun| Spec {
            data_source,
            label_prefix,
            file_prefix: "",
            results: Some(results),
            filter,
            noun,
        };
        match self {
            Shared::Environment => spec(
                "octopusdeploy_environments",
                "environment",
                "environments",
                "name",
                "an environment",
            ),
            Shared::Lifecycle => spec(
                "octopusdeploy_lifecycles",
                "lifecycle",
                "lifecycles",
                "partial_name",
                "a lifecycle",
            ),
            Shared::ProjectGroup => Spec {
                file_prefix: "projectgroup_",
                ..spec(
                    "octopusdeploy_project_groups",
                    "project_group",
                    "project_groups",
                    "partial_name",
                    "a project group",
                )
            },
            Shared::Feed => spec("octopusdeploy_feeds", "feed", "feeds", "name", "a feed"),
            Shared::GitCredential => spec(
                "octopusdeploy_git_credentials",
                "gitcredential",
                "git_credentials",
                "name",
                "a git credential",
            ),
            Shared::WorkerPool => spec(
                "octopusdeploy_worker_pools",
                "workerpool",
                "worker_pools",
                "name",
                "a worker pool",
            ),
            Shared::LibraryVariableSet => spec(
                "octopusdeploy_library_variable_sets",
                "library_variable_set",
                "library_variable_sets",
                "partial_name",
                "a library variable set",
            ),
            Shared::StepTemplate => Spec {
                results: None,
                ..spec(
                    "octopusdeploy_step_template",
                    "steptemplate",
                    "",
                    "name",
                    "a step template",
                )
            },
            Shared::Account => spec(
                "octopusdeploy_accounts",
                "account",
                "accounts",
                "partial_name",
                "an account",
            ),
            Shared::Certificate => spec(
                "octopusdeploy_certificates",
                "certificate",
                "certificates",
                "partial_name",
                "a certificate",
            ),
            Shared::Machine => spec(
                "octopusdeploy_deployment_targets",
                "target",
                "deployment_targets",
                "name",
                "a deployment target",
            ),
        }
    }
}

/// The lookups a module needs, collected while the resources are written.
#[derive(Default)]
pub struct Lookups {
    labels: BTreeMap<(Shared, String), String>,
    taken: BTreeMap<Shared, UniqueNames>,
}

impl Lookups {
    /// The expression of the ID of the shared resource `name`, registering its lookup.
    pub fn id(&mut self, kind: Shared, name: &str) -> String {
        let spec = kind.spec();
        let key = (kind, name.to_owned());
        let data_label = match self.labels.get(&key) {
            Some(existing) => existing.clone(),
            None => {
                let claimed = self
                    .taken
                    .entry(kind)
                    .or_default()
                    .claim(label(spec.label_prefix, &[name]));
                self.labels.insert(key, claimed.clone());
                claimed
            }
        };
        match spec.results {
            // The exact name from the page of results: a partial-name filter returns
            // "Non-Standard Lifecycle" as readily as "Standard", and in any order.
            Some(results) => format!(
                "[for r in data.{}.{data_label}.{results} : r.id if r.name == {}][0]",
                spec.data_source,
                string_literal(name)
            ),
            None => format!("data.{}.{data_label}.step_template.id", spec.data_source),
        }
    }

    /// One file per lookup: `<label>.tf` (project groups: `projectgroup_<label>.tf`).
    pub fn into_files(self) -> Vec<(String, Block)> {
        self.labels
            .into_iter()
            .map(|((kind, name), data_label)| {
                let spec = kind.spec();
                let file = format!("{}{data_label}.tf", spec.file_prefix);
                (file, data_block(&spec, &data_label, &name))
            })
            .collect()
    }
}

/// Results read per lookup: enough that the exact name is on the page even when a partial-name
/// filter also matches longer names ("Production EU", "Non-Standard Lifecycle").
const LOOKUP_PAGE: u64 = 100;

/// `name` as an HCL string literal, escaped by hcl-rs (quotes, backslashes, `${`, `%{`), for the
/// writer's own expressions.
fn string_literal(name: &str) -> String {
    hcl::format::to_string(&Expression::String(name.to_owned()))
        .expect("a string literal always formats")
}

/// octoterra's lookup block, reading a page of results. The postcondition checks that the page
/// holds exactly the wanted name: binding to a longer name silently would be worse than failing
/// the plan.
fn data_block(spec: &Spec, data_label: &str, name: &str) -> Block {
    let condition = match spec.results {
        Some(results) => emit::bare(&format!(
            "length([for r in self.{results} : r if r.name == {}]) != 0",
            string_literal(name)
        )),
        None => Expression::from(BinaryOp::new(
            emit::bare("try(self.step_template.name, \"\")"),
            BinaryOperator::Eq,
            emit::text(name),
        )),
    };
    let message = format!(
        "Failed to resolve {} called \"{name}\". This resource must exist in the space before this Terraform configuration is applied.",
        spec.noun
    );
    let postcondition = BlockWriter::new("postcondition", &[])
        .attr("error_message", emit::text(&message))
        .attr("condition", condition)
        .build();
    let lifecycle = BlockWriter::new("lifecycle", &[])
        .block(postcondition)
        .build();
    let mut block = BlockWriter::new("data", &[spec.data_source, data_label])
        .attr(spec.filter, emit::text(name));
    if spec.results.is_some() {
        block = block
            .attr("skip", Expression::from(0))
            .attr("take", Expression::from(LOOKUP_PAGE));
    }
    block.block(lifecycle).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exact_name_is_picked_from_a_page_of_partial_matches() {
        let mut lookups = Lookups::default();
        let id = lookups.id(Shared::Lifecycle, "Standard");
        assert_eq!(
            id,
            r#"[for r in data.octopusdeploy_lifecycles.lifecycle_standard.lifecycles : r.id if r.name == "Standard"][0]"#
        );
        let files = lookups.into_files();
        let text = emit::render(&[], files.into_iter().map(|(_, block)| block).collect());
        assert!(text.contains("take         = 100"), "{text}");
        assert!(
            text.contains(r#"length([for r in self.lifecycles : r if r.name == "Standard"]) != 0"#),
            "{text}"
        );
    }

    #[test]
    fn names_are_escaped_inside_the_writers_expressions() {
        let mut lookups = Lookups::default();
        let id = lookups.id(Shared::Environment, r#"Prod "EU" ${x} \ %{y}"#);
        assert!(
            id.ends_with(r#"r.name == "Prod \"EU\" $${x} \\ %%{y}"][0]"#),
            "{id}"
        );
        // It parses as one expression (no injected template syntax).
        emit::bare(&id);
    }
}
