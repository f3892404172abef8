//! Script modules in the managed space, through `carried`: a library variable set of content
//! type `ScriptModule` holding the module's body and language in its two variables, created or
//! updated with the package's; a same-named set of another content type is refused. The space's
//! index then learns each new module's id, which the project includes.

use super::carried::{self, planned_id, Carrier, Planned};
use super::converge::Writer;
use crate::convert::script_modules::{
    apply_script_module, desired_script_module_set, is_script_module, portable_script_module,
};
use crate::octopus::in_order::all_in_order;
use crate::octopus::resources::{LibraryVariableSet, VariableSet, VariableSets};
use crate::octopus::space_index::SpaceIndex;
use crate::octopus::{Api, OctopusClient, OctopusError};
use crate::outcome::{changed_fields, Outcome};
use crate::portable;

/// The space's library variable sets named like the package's modules, each script module with
/// its variables.
pub(super) struct ScriptModules {
    held: Vec<(LibraryVariableSet, Option<VariableSet>)>,
}

impl ScriptModules {
    /// Read the sets named like the package's modules (all content types: a variable set of
    /// that name is refused), and the variables of those that are script modules. Nothing when
    /// the package carries none.
    pub(super) async fn read(
        client: &OctopusClient,
        space_id: &str,
        wanted: &[portable::ScriptModule],
    ) -> Result<ScriptModules, OctopusError> {
        if wanted.is_empty() {
            return Ok(ScriptModules { held: Vec::new() });
        }
        let sets: Vec<LibraryVariableSet> = Api::<LibraryVariableSet>::list_in(client, space_id)
            .await?
            .into_iter()
            .filter(|set| {
                wanted
                    .iter()
                    .any(|m| m.name.to_lowercase() == set.name.to_lowercase())
            })
            .collect();
        let variable_sets = VariableSets::new(client, space_id);
        let variables = all_in_order(sets.iter().map(|set| {
            let variable_sets = &variable_sets;
            async move {
                match (&set.variable_set_id, is_script_module(set)) {
                    (Some(id), true) => variable_sets.get(id).await.map(Some),
                    _ => Ok(None),
                }
            }
        }))
        .await?;
        Ok(ScriptModules {
            held: sets.into_iter().zip(variables).collect(),
        })
    }
}

impl Carrier for ScriptModules {
    type Wanted = portable::ScriptModule;
    type Copy = (LibraryVariableSet, Option<VariableSet>);

    fn copy(&self, name: &str) -> Option<&Self::Copy> {
        self.held
            .iter()
            .find(|(set, _)| set.name == name)
            .or_else(|| {
                self.held
                    .iter()
                    .find(|(set, _)| set.name.to_lowercase() == name.to_lowercase())
            })
    }

    fn portable(&self, (set, variables): &Self::Copy) -> portable::ScriptModule {
        portable_script_module(set, &variables.clone().unwrap_or_default())
    }

    fn refusal(&self, copy: Option<&Self::Copy>, _: &portable::ScriptModule) -> Option<String> {
        let (set, _) = copy?;
        (!is_script_module(set)).then(|| {
            format!(
                "library variable set `{}` in the managed space holds variables (content type `{}`), and the \
                 package carries a script module of that name: a set's content type never changes, so rename \
                 one of them (the template project's module, or the managed space's set)",
                set.name,
                set.content_type.as_deref().unwrap_or("Variables"),
            )
        })
    }

    async fn write(
        &self,
        writer: &Writer<'_>,
        copy: Option<&Self::Copy>,
        wanted: &portable::ScriptModule,
    ) -> Result<Self::Copy, OctopusError> {
        let existing = copy.map(|(set, _)| set);
        let desired = desired_script_module_set(existing, wanted);
        let set = match existing {
            None => writer.create(&desired).await?,
            Some(existing) if !changed_fields(existing, &desired).is_empty() => {
                writer.update(&desired).await?;
                desired
            }
            Some(existing) => existing.clone(),
        };
        let variables_id = set.variable_set_id.clone().unwrap_or_default();
        let read = copy.and_then(|(_, variables)| variables.clone());
        writer
            .modify_variables(Some(&variables_id), read, |variables| {
                apply_script_module(variables, wanted)
            })
            .await?;
        let variables = VariableSets::new(writer.client, writer.space_id)
            .get(&variables_id)
            .await?;
        Ok((set, Some(variables)))
    }
}

/// Plan, converge (plan: record) and name each new module's set in the index, so the project
/// includes it (in a plan, by a stand-in id).
pub(super) async fn converge(
    modules: &ScriptModules,
    writer: &Writer<'_>,
    planned: Vec<Planned<ScriptModules>>,
    index: &mut SpaceIndex,
    outcomes: &mut Vec<Outcome>,
) -> Result<(), OctopusError> {
    let written = carried::converge(modules, writer, planned, outcomes).await?;
    for (planned, after) in written {
        let name = &planned.wanted.name;
        let id = match after.or(planned.copy) {
            Some((set, _)) => set.id.unwrap_or_default(),
            None => planned_id(name),
        };
        index.library_variable_sets.insert(&id, name);
    }
    Ok(())
}
