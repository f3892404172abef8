//! Shared resources the module does not own (environments, feeds, …): `data` lookups by name with
//! a postcondition, in octoterra's lookup mode, one file per lookup.

use super::emit::{self, BlockWriter};
use super::naming::{label, UniqueNames};
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
            Some(results) => format!("data.{}.{data_label}.{results}[0].id", spec.data_source),
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

/// octoterra's lookup block. The postcondition also checks that the first result carries exactly
/// the wanted name: a partial-name filter can return a longer name first ("Production EU" for
/// "Production"), and binding to it silently would be worse than failing the plan.
fn data_block(spec: &Spec, data_label: &str, name: &str) -> Block {
    let first = match spec.results {
        Some(results) => format!("self.{results}[0]"),
        None => "self.step_template".to_owned(),
    };
    let found_name = emit::bare(&format!("try({first}.name, \"\")"));
    let condition = Expression::from(BinaryOp::new(
        found_name,
        BinaryOperator::Eq,
        emit::text(name),
    ));
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
            .attr("take", Expression::from(1));
    }
    block.block(lifecycle).build()
}
