//! Step templates in the managed space, through `carried`: a missing community template is
//! installed from the instance's Library when it has the template (else created as a custom
//! template with the package's definition, and the log says which), a Library template is
//! updated through the Library when the package's is newer, a custom one is created or updated
//! with the package's definition; then the space's index learns each template's id and version,
//! which the steps are pointed at.

use super::carried::{self, planned_id, Carrier, Planned};
use super::converge::Writer;
use crate::convert::step_templates::{desired_step_template, portable_step_template};
use crate::convert::variables::substituted;
use crate::octopus::in_order::InOrder;
use crate::octopus::resources::{
    install_community_template, update_community_installation, ActionTemplate,
    CommunityActionTemplate, PropertyValue,
};
use crate::octopus::space_index::{SpaceIndex, StepTemplate};
use crate::octopus::{Api, OctopusClient, OctopusError};
use crate::outcome::{Outcome, OutcomeAction};
use crate::portable;
use crate::portable::definitions::Definition;
use crate::portable::definitions::{verdict, Verdict, LIBRARY_LATEST};
use crate::portable::naming::step_template_secret_name;
use crate::secret::Secret;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The space's step templates and (when the package carries a Library template) the instance's
/// community Library.
pub(super) struct StepTemplates<'a> {
    /// The managed space's names, as read before any write.
    index: SpaceIndex,
    secrets: &'a BTreeMap<String, Secret>,
    held: Vec<ActionTemplate>,
    library: Vec<CommunityActionTemplate>,
}

impl<'a> StepTemplates<'a> {
    /// Read what the package's templates need: the space's templates, and the Library when one
    /// of them comes from it. Nothing when the package carries none.
    pub(super) async fn read(
        client: &OctopusClient,
        space_id: &str,
        wanted: &[portable::StepTemplate],
        index: &SpaceIndex,
        secrets: &'a BTreeMap<String, Secret>,
    ) -> Result<StepTemplates<'a>, OctopusError> {
        let mut templates = StepTemplates {
            index: index.clone(),
            secrets,
            held: Vec::new(),
            library: Vec::new(),
        };
        if wanted.is_empty() {
            return Ok(templates);
        }
        let wants_library = wanted.iter().any(|t| t.community.is_some());
        let (held, library) =
            tokio::join!(Api::<ActionTemplate>::list_in(client, space_id), async {
                if wants_library {
                    Api::<CommunityActionTemplate>::new(client, None)
                        .list()
                        .await
                } else {
                    Ok(Vec::new())
                }
            })
            .in_order()?;
        templates.held = held;
        templates.library = library;
        Ok(templates)
    }

    /// The instance's Library entry for a community template: by its Library page (the same on
    /// every instance), else by id (the same instance), else by name.
    fn library_entry(
        &self,
        community: &portable::CommunityTemplate,
        name: &str,
    ) -> Option<&CommunityActionTemplate> {
        let by_website = community.website.as_deref().and_then(|website| {
            self.library.iter().find(|entry| {
                entry.website.as_deref().is_some_and(|w| {
                    w.trim_end_matches('/')
                        .eq_ignore_ascii_case(website.trim_end_matches('/'))
                })
            })
        });
        by_website
            .or_else(|| {
                self.library.iter().find(|entry| {
                    entry
                        .id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(&community.id))
                })
            })
            .or_else(|| self.library.iter().find(|entry| entry.name == name))
    }

    /// The Library entry a community template of `wanted` would be installed from.
    fn installable(&self, wanted: &portable::StepTemplate) -> Option<&CommunityActionTemplate> {
        wanted
            .community
            .as_ref()
            .and_then(|community| self.library_entry(community, &wanted.name))
    }

    /// Whether `copy` is the Library template `wanted` names.
    fn same_library_template(
        &self,
        copy: &ActionTemplate,
        wanted: &portable::StepTemplate,
    ) -> bool {
        match (
            copy.community_action_template_id.as_deref(),
            self.installable(wanted),
        ) {
            (Some(copy_id), Some(entry)) => entry
                .id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(copy_id)),
            // Without the Library's entry, the ids of one instance are all there is.
            (Some(copy_id), None) => wanted
                .community
                .as_ref()
                .is_some_and(|community| community.id.eq_ignore_ascii_case(copy_id)),
            (None, _) => false,
        }
    }

    /// Sensitive values a custom write of `planned` needs whose `secrets.json` entry is still a
    /// placeholder and that the copy holds none for: `(template / key, Octopus variable)`.
    pub(super) fn unsubstituted(&self, planned: &[Planned<Self>]) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for planned in planned {
            let wanted = &planned.wanted;
            let custom_write = match planned.verdict {
                Verdict::Create => self.installable(wanted).is_none(),
                Verdict::Update => planned.copy.as_ref().is_some_and(|c| !c.is_community()),
                Verdict::Unchanged | Verdict::KeepDownstream => false,
            };
            if !custom_write {
                continue;
            }
            let copy = planned.copy.as_ref();
            let held_property = |key: &str| {
                copy.and_then(|c| c.properties.get(key)).is_some_and(
                    |value| matches!(value, PropertyValue::Sensitive(held) if held.has_value),
                )
            };
            let held_default = |name: &str| {
                copy.and_then(|c| c.parameters.iter().find(|p| p.name == name))
                    .and_then(|p| p.default_value.as_ref())
                    .is_some_and(
                        |value| matches!(value, PropertyValue::Sensitive(held) if held.has_value),
                    )
            };
            let properties = wanted
                .properties
                .iter()
                .map(|(key, value)| (key, Some(value), held_property(key)));
            let defaults = wanted
                .parameters
                .iter()
                .map(|p| (&p.name, p.default_value.as_ref(), held_default(&p.name)));
            for (key, value, held) in properties.chain(defaults) {
                let Some(portable::PropertyValue::Sensitive(sensitive)) = value else {
                    continue;
                };
                let Some(secret) = sensitive.secret.as_deref() else {
                    continue;
                };
                if !held && substituted(self.secrets, Some(secret)).is_none() {
                    found.push((
                        format!("{} / {key}", wanted.name),
                        step_template_secret_name(&wanted.name, key),
                    ));
                }
            }
        }
        found
    }

    /// Install `entry` into the space. Never POSTed twice: after an ambiguous failure, or the
    /// server's "already installed" (a concurrent run), the space's template of that name is
    /// the result when it is the Library's.
    async fn install(
        &self,
        writer: &Writer<'_>,
        entry: &CommunityActionTemplate,
        name: &str,
    ) -> Result<ActionTemplate, OctopusError> {
        let id = entry.id.as_deref().unwrap_or_default();
        match install_community_template(writer.client, id, writer.space_id).await {
            Ok(template) => Ok(template),
            Err(error)
                if error.is_transient()
                    || error.status() == Some(reqwest::StatusCode::BAD_REQUEST) =>
            {
                let found = Api::<ActionTemplate>::new(writer.client, Some(writer.space_id))
                    .find_by_name(name)
                    .await?;
                match found {
                    Some(template) if template.is_community() => Ok(template),
                    _ => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }
}

impl Carrier for StepTemplates<'_> {
    type Wanted = portable::StepTemplate;
    type Copy = ActionTemplate;

    fn copy(&self, name: &str) -> Option<&ActionTemplate> {
        self.held.iter().find(|t| t.name == name).or_else(|| {
            self.held
                .iter()
                .find(|t| t.name.to_lowercase() == name.to_lowercase())
        })
    }

    fn portable(&self, copy: &ActionTemplate) -> portable::StepTemplate {
        portable_step_template(copy, None, &self.index)
    }

    fn refusal(
        &self,
        copy: Option<&ActionTemplate>,
        wanted: &portable::StepTemplate,
    ) -> Option<String> {
        // A blueprint's Library template names only its Library page: the Library gives the rest.
        let from_library = wanted.action_type.is_empty();
        let Some(copy) = copy else {
            return (from_library && self.installable(wanted).is_none()).then(|| {
                format!(
                    "step template `{}`: this instance's community Library has no template at {}: turn on \
                     community step templates (Configuration → Features), or give the template's definition",
                    wanted.name,
                    wanted
                        .community
                        .as_ref()
                        .and_then(|c| c.website.as_deref())
                        .unwrap_or("its page")
                )
            });
        };
        if from_library && !copy.is_community() {
            return Some(format!(
                "step template `{}` in the managed space is a custom template, and the blueprint installs \
                 one of that name from the community Library: rename one of them",
                copy.name
            ));
        }
        if !from_library && !copy.action_type.eq_ignore_ascii_case(&wanted.action_type) {
            // `ActionType` is writeable on create only (OctopusClients `[WriteableOnCreate]`).
            return Some(format!(
                "step template `{}` in the managed space is a `{}` step, the package's is a `{}` step, and \
                 Octopus never changes a template's step type: rename one of them, or delete the managed \
                 space's template if nothing uses it",
                copy.name, copy.action_type, wanted.action_type
            ));
        }
        let same = verdict(Some(&self.portable(copy)), wanted, false) == Verdict::Unchanged;
        if copy.is_community() && !self.same_library_template(copy, wanted) && !same {
            // "Only custom templates can be directly updated" (swagger, PUT actiontemplates).
            return Some(format!(
                "step template `{}` in the managed space was installed from the community Library and \
                 cannot be edited, and the package carries another template of that name: rename the \
                 template project's template, or delete the managed space's if nothing uses it",
                copy.name
            ));
        }
        None
    }

    /// A Library template compares by version (its definition is the Library's).
    fn comparison(&self, copy: &ActionTemplate, wanted: &portable::StepTemplate) -> (Value, Value) {
        if copy.is_community() && self.same_library_template(copy, wanted) {
            let library = self.installable(wanted).and_then(|entry| entry.version);
            let target = match wanted.version {
                LIBRARY_LATEST => library.unwrap_or(wanted.version),
                version => version,
            };
            return (json!({"version": copy.version}), json!({"version": target}));
        }
        (self.portable(copy).comparable(), wanted.comparable())
    }

    fn verdict(
        &self,
        copy: Option<&ActionTemplate>,
        wanted: &portable::StepTemplate,
        overwrite: bool,
    ) -> Verdict {
        match copy {
            // A Library template is not edited downstream (the server refuses it): it follows
            // the Library's versions. The package's newer version comes through the Library,
            // when this instance's Library has a newer one than the space.
            Some(copy) if copy.is_community() && self.same_library_template(copy, wanted) => {
                let held = copy.version.unwrap_or(0);
                let library = self
                    .installable(wanted)
                    .and_then(|entry| entry.version)
                    .unwrap_or(held);
                if wanted.version > held && library > held {
                    Verdict::Update
                } else if wanted.version > held && wanted.version != LIBRARY_LATEST {
                    // The package's version is newer than this instance's Library has.
                    Verdict::KeepDownstream
                } else {
                    Verdict::Unchanged
                }
            }
            _ => {
                let portable = copy.map(|copy| self.portable(copy));
                verdict(portable.as_ref(), wanted, overwrite)
            }
        }
    }

    async fn write(
        &self,
        writer: &Writer<'_>,
        copy: Option<&ActionTemplate>,
        wanted: &portable::StepTemplate,
    ) -> Result<ActionTemplate, OctopusError> {
        let api = Api::<ActionTemplate>::new(writer.client, Some(writer.space_id));
        match copy {
            None => match self.installable(wanted) {
                Some(entry) => {
                    tracing::info!(
                        "installing step template `{}` from this instance's community Library",
                        wanted.name
                    );
                    self.install(writer, entry, &wanted.name).await
                }
                None => {
                    if wanted.community.is_some() {
                        tracing::info!(
                            "this instance's community Library has no `{}`: creating it as a custom step \
                             template with the package's definition",
                            wanted.name
                        );
                    }
                    let desired =
                        desired_step_template(None, wanted, &self.index, Some(self.secrets));
                    writer.create(&desired).await
                }
            },
            Some(copy) if copy.is_community() => {
                let id = copy
                    .community_action_template_id
                    .as_deref()
                    .unwrap_or_default();
                update_community_installation(writer.client, id, writer.space_id).await
            }
            Some(copy) => {
                let desired =
                    desired_step_template(Some(copy), wanted, &self.index, Some(self.secrets));
                writer.update(&desired).await?;
                api.get(copy.id.as_deref().unwrap_or_default()).await
            }
        }
    }
}

/// Plan, converge (plan: record) and point the index at each carried template: its id and the
/// version it has afterwards (in a plan, the version the write would give it: a new custom
/// template starts at 0, each save adds one, a Library install or update takes the Library's).
pub(super) async fn converge<'a>(
    templates: &StepTemplates<'a>,
    writer: &Writer<'_>,
    planned: Vec<Planned<StepTemplates<'a>>>,
    index: &mut SpaceIndex,
    outcomes: &mut Vec<Outcome>,
) -> Result<(), OctopusError> {
    for (at, variable) in templates.unsubstituted(&planned) {
        outcomes.push(Outcome::new(
            "step template",
            &at,
            OutcomeAction::KeptDownstream(vec![format!(
                "secret not substituted ({variable}); not created"
            )]),
        ));
    }
    let written = carried::converge(templates, writer, planned, outcomes).await?;
    for (planned, after) in written {
        let wanted = &planned.wanted;
        let (id, version) = match (&after, &planned.copy, planned.verdict) {
            (Some(after), _, _) => (after.id.clone().unwrap_or_default(), after.version),
            (None, None, _) => (
                planned_id(&wanted.name),
                Some(
                    templates
                        .installable(wanted)
                        .and_then(|e| e.version)
                        .unwrap_or(0),
                ),
            ),
            (None, Some(copy), _) if copy.is_community() => (
                copy.id.clone().unwrap_or_default(),
                templates
                    .installable(wanted)
                    .and_then(|e| e.version)
                    .or(copy.version),
            ),
            (None, Some(copy), _) => (
                copy.id.clone().unwrap_or_default(),
                Some(copy.version.unwrap_or(0) + 1),
            ),
        };
        index
            .step_templates
            .retain(|t| t.name.to_lowercase() != wanted.name.to_lowercase());
        index.step_templates.push(StepTemplate {
            id,
            name: wanted.name.clone(),
            version,
            carried_version: Some(wanted.version),
        });
    }
    Ok(())
}
