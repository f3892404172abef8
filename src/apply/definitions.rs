//! The definitions a package carries (step templates, script modules), read and decided
//! together before any write (refusing what cannot be reconciled), and written first: the
//! project includes the modules and its steps point at the templates.

use super::carried::{plan, Planned};
use super::converge::Writer;
use super::deploy::DeployError;
use super::script_modules::{self, ScriptModules};
use super::step_templates::{self, StepTemplates};
use crate::octopus::in_order::InOrder;
use crate::octopus::space_index::SpaceIndex;
use crate::octopus::{OctopusClient, OctopusError};
use crate::outcome::Outcome;
use crate::portable::PortableProject;
use crate::secret::Secret;
use std::collections::BTreeMap;

/// The definitions to reconcile, and whether a copy that differs is replaced whatever it is (a
/// blueprint's, or deploy's overwrite) or only when an earlier package delivered it.
pub(super) struct Wanted<'w> {
    pub(super) templates: &'w [crate::portable::StepTemplate],
    pub(super) modules: &'w [crate::portable::ScriptModule],
    pub(super) overwrite: bool,
}

/// What the space holds of the package's definitions, and what deploy will do with each.
pub(super) struct Definitions<'a> {
    templates: StepTemplates<'a>,
    template_plan: Vec<Planned<StepTemplates<'a>>>,
    modules: ScriptModules,
    module_plan: Vec<Planned<ScriptModules>>,
}

impl<'a> Definitions<'a> {
    /// Read the copies the space holds of a package's definitions and decide; every one that
    /// cannot be reconciled is refused at once, before any write.
    pub(super) async fn read(
        client: &OctopusClient,
        space_id: &str,
        package: &PortableProject,
        index: &SpaceIndex,
        secrets: &'a BTreeMap<String, Secret>,
        overwrite: bool,
    ) -> Result<Definitions<'a>, DeployError> {
        let wanted = Wanted {
            templates: &package.step_templates,
            modules: &package.script_modules,
            overwrite,
        };
        Self::read_wanted(client, space_id, wanted, index, secrets)
            .await?
            .map_err(DeployError::Unreconcilable)
    }

    /// As [`Definitions::read`], for any definitions (a blueprint's): the refusals as `Err`.
    pub(super) async fn read_wanted(
        client: &OctopusClient,
        space_id: &str,
        wanted: Wanted<'_>,
        index: &SpaceIndex,
        secrets: &'a BTreeMap<String, Secret>,
    ) -> Result<Result<Definitions<'a>, Vec<String>>, OctopusError> {
        let (templates, modules) = tokio::join!(
            StepTemplates::read(client, space_id, wanted.templates, index, secrets),
            ScriptModules::read(client, space_id, wanted.modules),
        )
        .in_order()?;
        let mut refusals = Vec::new();
        let template_plan = plan(
            &templates,
            wanted.templates,
            wanted.overwrite,
            &mut refusals,
        );
        let module_plan = plan(&modules, wanted.modules, wanted.overwrite, &mut refusals);
        if !refusals.is_empty() {
            return Ok(Err(refusals));
        }
        Ok(Ok(Definitions {
            templates,
            template_plan,
            modules,
            module_plan,
        }))
    }

    /// The Octopus variables of the sensitive template values a write needs and whose
    /// `secrets.json` entry is still a placeholder.
    pub(super) fn unsubstituted(&self) -> Vec<String> {
        self.templates
            .unsubstituted(&self.template_plan)
            .into_iter()
            .map(|(_, variable)| variable)
            .collect()
    }

    /// Create, update or keep each (a plan records), then name them in `index`.
    pub(super) async fn converge(
        self,
        writer: &Writer<'_>,
        index: &mut SpaceIndex,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<(), OctopusError> {
        step_templates::converge(&self.templates, writer, self.template_plan, index, outcomes)
            .await?;
        script_modules::converge(&self.modules, writer, self.module_plan, index, outcomes).await
    }
}
