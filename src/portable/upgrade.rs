//! Packages written in an earlier format version: what they hold correctly is read as the
//! current version; what they hold wrongly (an id of the template's space where a name belongs)
//! is refused, with every such field named, before anything acts on the package.

use super::model::{PortableProject, Process, PropertyValue, FORMAT_VERSION};
use super::references::{ids_left, is_reference_value, ReferenceKind, ResourceReference};

/// The format versions a reader accepts: the current one and those [`upgrade`] reads.
pub const READABLE_VERSIONS: [u32; 2] = [1, FORMAT_VERSION];

/// Brings a project of version `found` to [`FORMAT_VERSION`]. Version 1 named the primary
/// package's feed in `Octopus.Action.Package.FeedId` as text (now a reference), and carried the
/// ids of worker pool, account and certificate variables and of id-holding step properties as
/// they were: a package holding any of those is refused (each field described), since deploying
/// it would point at whatever has that id in the managed space.
pub fn upgrade(project: &mut PortableProject, found: u32) -> Result<(), Vec<String>> {
    if found == FORMAT_VERSION {
        return Ok(());
    }
    let processes = project.deployment_process.iter_mut().chain(
        project
            .runbooks
            .iter_mut()
            .map(|runbook| &mut runbook.process),
    );
    for process in processes {
        feed_ids_as_references(process);
    }
    let left: Vec<String> = ids_left(project)
        .into_iter()
        .map(|left| {
            let article = if left.noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            format!(
                "{} holds `{}`, the id of {article} {}",
                left.at, left.id, left.noun
            )
        })
        .collect();
    if !left.is_empty() {
        return Err(left);
    }
    project.format_version = FORMAT_VERSION;
    Ok(())
}

/// Version 1 wrote the primary package's feed name into `Octopus.Action.Package.FeedId`.
fn feed_ids_as_references(process: &mut Process) {
    for action in process
        .steps
        .iter_mut()
        .flat_map(|step| step.actions.iter_mut())
    {
        if let Some(value) = action.properties.get_mut("Octopus.Action.Package.FeedId") {
            if let PropertyValue::Text(name) = value {
                if is_reference_value(name) {
                    *value = PropertyValue::Reference(ResourceReference {
                        kind: ReferenceKind::Feed,
                        name: name.clone(),
                    });
                }
            }
        }
    }
}
