//! What a project runs, carried with its definition (step templates, script modules): the one
//! way deploy and plan reconcile such a definition with the copy a managed space holds under its
//! name. Before any write: every copy is read and compared in the portable form, and what cannot
//! be reconciled (a same-named resource of another kind) is refused. Then: a missing one is
//! created, a copy an earlier package delivered is updated, a tenant's edit is kept unless
//! overwrite is asked for (`portable::definitions`), each reported with the same outcome lines
//! as every other resource; a plan only records.

use super::converge::Writer;
use crate::octopus::OctopusError;
use crate::outcome::{changed_fields, value_changes, Outcome, OutcomeAction};
use crate::portable::definitions::{verdict, Definition, Verdict};

/// One kind of carried definition as a managed space holds it: where its copies are, how one
/// compares with the package's definition, and how it is written.
pub(super) trait Carrier {
    /// The portable definition.
    type Wanted: Definition + Clone;
    /// What the space holds for one definition.
    type Copy: Clone;

    /// The copy the space holds under `name` (Octopus compares names without case).
    fn copy(&self, name: &str) -> Option<&Self::Copy>;

    /// The copy in the portable form, named through the managed space, to compare.
    fn portable(&self, copy: &Self::Copy) -> Self::Wanted;

    /// Why `wanted` cannot be reconciled with `copy` (the copy is another kind of resource, or
    /// one the server does not let anyone edit; or, with no copy, there is nothing to create it
    /// from), when that is so: nothing is written then.
    fn refusal(&self, copy: Option<&Self::Copy>, wanted: &Self::Wanted) -> Option<String>;

    /// What a report compares for an update or a kept edit: the copy's side and the package's;
    /// by default both definitions.
    fn comparison(
        &self,
        copy: &Self::Copy,
        wanted: &Self::Wanted,
    ) -> (serde_json::Value, serde_json::Value) {
        (self.portable(copy).comparable(), wanted.comparable())
    }

    /// What to do; by default the fingerprint rule of `portable::definitions`.
    fn verdict(
        &self,
        copy: Option<&Self::Copy>,
        wanted: &Self::Wanted,
        overwrite: bool,
    ) -> Verdict {
        let portable = copy.map(|copy| self.portable(copy));
        verdict(portable.as_ref(), wanted, overwrite)
    }

    /// Create `wanted` (no `copy`) or make `copy` hold it; the copy as the server then holds it.
    async fn write(
        &self,
        writer: &Writer<'_>,
        copy: Option<&Self::Copy>,
        wanted: &Self::Wanted,
    ) -> Result<Self::Copy, OctopusError>;
}

/// One definition, its copy and its verdict, decided before any write.
pub(super) struct Planned<C: Carrier> {
    pub(super) wanted: C::Wanted,
    pub(super) copy: Option<C::Copy>,
    pub(super) verdict: Verdict,
    outcome: Outcome,
}

/// Every definition of `wanted` (a package's, a blueprint's), with its verdict and outcome;
/// what cannot be reconciled goes to `refusals` instead.
pub(super) fn plan<C: Carrier>(
    carrier: &C,
    wanted: &[C::Wanted],
    overwrite: bool,
    refusals: &mut Vec<String>,
) -> Vec<Planned<C>> {
    let mut planned = Vec::new();
    for wanted in wanted {
        let copy = carrier.copy(wanted.name()).cloned();
        if let Some(reason) = carrier.refusal(copy.as_ref(), wanted) {
            refusals.push(reason);
            continue;
        }
        let verdict = carrier.verdict(copy.as_ref(), wanted, overwrite);
        let compared = copy.as_ref().map(|copy| carrier.comparison(copy, wanted));
        let outcome = outcome::<C::Wanted>(wanted, compared, verdict);
        planned.push(Planned {
            wanted: wanted.clone(),
            copy,
            verdict,
            outcome,
        });
    }
    planned
}

/// The outcome line of a verdict: what differs, by path, for an update or a kept edit.
fn outcome<D: Definition>(
    wanted: &D,
    compared: Option<(serde_json::Value, serde_json::Value)>,
    verdict: Verdict,
) -> Outcome {
    let differences = || {
        let (before, after) = compared.clone().unwrap_or_default();
        let mut fields = changed_fields(&before, &after);
        // Only the version moves (a Library template updated to the Library's newer one).
        if fields.is_empty() {
            fields.push("version".to_owned());
        }
        (fields, value_changes(&before, &after))
    };
    match verdict {
        Verdict::Create => Outcome::new(D::KIND, wanted.name(), OutcomeAction::Created),
        Verdict::Unchanged => Outcome::new(D::KIND, wanted.name(), OutcomeAction::Unchanged),
        Verdict::Update => {
            let (fields, changes) = differences();
            Outcome::new(D::KIND, wanted.name(), OutcomeAction::Updated(fields))
                .with_changes(changes)
        }
        Verdict::KeepDownstream => {
            let (fields, changes) = differences();
            Outcome::new(
                D::KIND,
                wanted.name(),
                OutcomeAction::KeptDownstream(fields),
            )
            .with_changes(changes)
        }
    }
}

/// Write what the verdicts ask for (a plan writes nothing) and record each outcome. Returns each
/// planned definition with its copy afterwards (`None` in a plan for what would be written).
pub(super) async fn converge<C: Carrier>(
    carrier: &C,
    writer: &Writer<'_>,
    planned: Vec<Planned<C>>,
    outcomes: &mut Vec<Outcome>,
) -> Result<Vec<(Planned<C>, Option<C::Copy>)>, OctopusError> {
    let mut written = Vec::new();
    for planned in planned {
        let after = match planned.verdict {
            Verdict::Create | Verdict::Update if writer.dry_run => None,
            Verdict::Create | Verdict::Update => Some(
                carrier
                    .write(writer, planned.copy.as_ref(), &planned.wanted)
                    .await?,
            ),
            Verdict::Unchanged | Verdict::KeepDownstream => planned.copy.clone(),
        };
        outcomes.push(planned.outcome.clone());
        written.push((planned, after));
    }
    Ok(written)
}

/// What a plan shows for the id of a definition it would create (a step's template id, a
/// project's included module): the name, marked new.
pub(super) fn planned_id(name: &str) -> String {
    format!("(new) {name}")
}
