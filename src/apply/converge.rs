//! The one writer, shared by deploy, plan and create-space: compare what the server holds with
//! what is wanted, create or update only what differs (or, in a plan, only record it), and
//! report each resource's `Outcome`. Creates go through `Api::create` (which re-reads, scoped to
//! the owner, after an ambiguous POST); processes and variable sets are read-modify-written
//! with their `Version`, re-read on a conflict. Callers run independent writes at once.

use crate::convert::process::desired_process;
use crate::convert::Context;
use crate::octopus::resources::{
    DeploymentProcess, ProcessKind, ProcessStep, VariableSet, VariableSetWrite, VariableSets,
};
use crate::octopus::{Api, OctopusClient, OctopusError, Resource};
use crate::outcome::{changed_fields, value_changes, FieldChange, Outcome, OutcomeAction};
use crate::portable;

/// Writes of one process tried before giving up on a process that keeps changing underneath us.
const PROCESS_WRITE_ATTEMPTS: u32 = 8;

/// Secrets sent again in a process that may otherwise be unchanged (`--overwrite-variables`):
/// given the process to send and the one the server holds, sets them and returns the names of
/// the steps that carry one. Applied after the comparison: a secret never compares equal.
pub type ResendSecrets<'a> =
    &'a (dyn Fn(&mut DeploymentProcess, &DeploymentProcess) -> Vec<String> + Sync);

/// What a process should hold: the package's steps, resolved in `context`, and the secrets to
/// send again.
pub struct WantedProcess<'a> {
    pub portable: &'a portable::Process,
    pub context: &'a Context<'a>,
    pub resend: Option<ResendSecrets<'a>>,
}

/// Writes, or in a plan only records.
pub struct Writer<'a> {
    pub client: &'a OctopusClient,
    pub space_id: &'a str,
    /// A plan: compare and record, never write.
    pub dry_run: bool,
}

impl Writer<'_> {
    pub async fn create<T: Resource>(&self, desired: &T) -> Result<T, OctopusError> {
        if self.dry_run {
            return Ok(desired.clone());
        }
        Api::<T>::new(self.client, Some(self.space_id))
            .create(desired)
            .await
    }

    pub async fn update<T: Resource>(&self, desired: &T) -> Result<(), OctopusError> {
        if self.dry_run {
            return Ok(());
        }
        Api::<T>::new(self.client, Some(self.space_id))
            .update(desired)
            .await
    }

    /// Create `desired` when nothing exists, else update to it when it differs (a plan only
    /// records): what the server holds afterwards, and the outcome.
    pub async fn converge<T: Resource>(
        &self,
        existing: Option<&T>,
        desired: T,
    ) -> Result<(T, Outcome), OctopusError> {
        self.converge_keeping_secrets(existing, desired.clone(), desired)
            .await
    }

    /// As [`Writer::converge`], for a resource holding a secret: `compare` keeps the secret as
    /// the server holds it (it cannot be read back, so a held one compares as "kept"), `send`
    /// carries it, and is sent when anything else differs.
    pub async fn converge_keeping_secrets<T: Resource>(
        &self,
        existing: Option<&T>,
        compare: T,
        send: T,
    ) -> Result<(T, Outcome), OctopusError> {
        let Some(existing) = existing else {
            let outcome = Outcome::new(T::KIND, send.name(), OutcomeAction::Created);
            return Ok((self.create(&send).await?, outcome));
        };
        let fields = changed_fields(existing, &compare);
        if fields.is_empty() {
            let outcome = Outcome::new(T::KIND, existing.name(), OutcomeAction::Unchanged);
            return Ok((existing.clone(), outcome));
        }
        self.update(&send).await?;
        let outcome = Outcome::new(T::KIND, send.name(), OutcomeAction::Updated(fields))
            .with_changes(value_changes(existing, &compare));
        Ok((send, outcome))
    }

    /// Make the variable set `id` hold what `change` makes of it (`change` says whether it
    /// changed anything), starting from `read` when the caller has it; a `Version` conflict
    /// re-reads and re-applies. In a plan, or for a set that does not exist yet, `change` edits
    /// a copy of `read` (or of an empty set) and nothing is sent.
    pub async fn modify_variables(
        &self,
        id: Option<&str>,
        read: Option<VariableSet>,
        change: impl FnMut(&mut VariableSet) -> bool,
    ) -> Result<VariableSetWrite, OctopusError> {
        let sets = VariableSets::new(self.client, self.space_id);
        self.modify_variables_at(id.map(|id| sets.path(id)), read, change)
            .await
    }

    /// As [`Writer::modify_variables`], for the set served at `path` (a Config-as-Code
    /// project's text variables on its git ref); `None` (or a plan) only previews.
    pub async fn modify_variables_at(
        &self,
        path: Option<String>,
        read: Option<VariableSet>,
        mut change: impl FnMut(&mut VariableSet) -> bool,
    ) -> Result<VariableSetWrite, OctopusError> {
        match path.filter(|_| !self.dry_run) {
            Some(path) => {
                VariableSets::new(self.client, self.space_id)
                    .modify_at(&path, read, change)
                    .await
            }
            None => {
                let mut preview = read.unwrap_or_default();
                Ok(if change(&mut preview) {
                    VariableSetWrite::Updated
                } else {
                    VariableSetWrite::Unchanged
                })
            }
        }
    }

    /// Make a process equal to the package's, one outcome per step, with `resend`'s secrets
    /// in the same write (a step otherwise unchanged is reported `SecretResent`). A `Version`
    /// conflict (someone wrote in between) re-reads and rebuilds.
    pub async fn converge_process(
        &self,
        kind: ProcessKind,
        owner: &str,
        existing: Option<&DeploymentProcess>,
        wanted: WantedProcess<'_>,
        outcomes: &mut Vec<Outcome>,
    ) -> Result<Option<DeploymentProcess>, OctopusError> {
        let WantedProcess {
            portable,
            context,
            resend,
        } = wanted;
        let Some(existing) = existing else {
            // A plan for a project or runbook that does not exist yet: every step is new.
            for step in &portable.steps {
                outcomes.push(Outcome::new(
                    "step",
                    &format!("{owner} / {}", step.name),
                    OutcomeAction::Created,
                ));
            }
            return Ok(None);
        };
        let mut current = existing.clone();
        let mut last_conflict = None;
        for attempt in 1..=PROCESS_WRITE_ATTEMPTS {
            let desired = desired_process(&current, portable, context);
            let mut step_outcomes = step_outcomes(owner, &current, &desired);
            let mut send = desired.clone();
            let resent = resend
                .map(|resend| resend(&mut send, &current))
                .unwrap_or_default();
            for outcome in step_outcomes.iter_mut().filter(|outcome| {
                outcome.action == OutcomeAction::Unchanged
                    && resent
                        .iter()
                        .any(|step| outcome.name == format!("{owner} / {step}"))
            }) {
                outcome.action = OutcomeAction::SecretResent;
            }
            if !step_outcomes.iter().any(|o| o.action.needs_write()) {
                if attempt == 1 {
                    outcomes.extend(step_outcomes);
                }
                return Ok(Some(current));
            }
            if attempt == 1 {
                outcomes.extend(step_outcomes);
            }
            if self.dry_run {
                return Ok(Some(desired));
            }
            let id = current.id.clone().unwrap_or_default();
            let path = kind.path(self.space_id, &id);
            match self.client.put(&path, &send).await {
                Ok(response) => {
                    let written =
                        serde_json::from_slice::<DeploymentProcess>(&response.body).unwrap_or(send);
                    return Ok(Some(written));
                }
                Err(error) if error.status().map(|s| s.as_u16()) == Some(400) => {
                    let now: DeploymentProcess = self.client.get(&path).await?;
                    if now.version == current.version {
                        return Err(error);
                    }
                    tracing::debug!(owner, "the process changed underneath us; rebuilding");
                    current = now;
                    last_conflict = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        // Someone else kept writing: the process is not what the package says, so this is a
        // failure (a re-run converges once they stop), never a success.
        Err(last_conflict.expect("every attempt that did not return was a conflict"))
    }
}

fn step_outcomes(
    owner: &str,
    current: &DeploymentProcess,
    desired: &DeploymentProcess,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for step in &desired.steps {
        let name = format!("{owner} / {}", step.name);
        let outcome = match current.steps.iter().find(|s| s.name == step.name) {
            None => Outcome::new("step", &name, OutcomeAction::Created),
            Some(existing) => {
                let fields = step_differences(existing, step);
                if fields.is_empty() {
                    Outcome::new("step", &name, OutcomeAction::Unchanged)
                } else {
                    Outcome::new("step", &name, OutcomeAction::Updated(fields))
                        .with_changes(value_changes(existing, step))
                }
            }
        };
        outcomes.push(outcome);
    }
    for step in current
        .steps
        .iter()
        .filter(|s| !desired.steps.iter().any(|d| d.name == s.name))
    {
        outcomes.push(Outcome::new(
            "step",
            &format!("{owner} / {}", step.name),
            OutcomeAction::Removed,
        ));
    }
    let order_changed = current
        .steps
        .iter()
        .map(|s| &s.name)
        .filter(|n| desired.steps.iter().any(|d| &d.name == *n))
        .ne(desired
            .steps
            .iter()
            .map(|s| &s.name)
            .filter(|n| current.steps.iter().any(|c| &c.name == *n)));
    if order_changed {
        let names = |process: &DeploymentProcess| {
            process
                .steps
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        outcomes.push(
            Outcome::new(
                "step order",
                owner,
                OutcomeAction::Updated(vec!["Steps".into()]),
            )
            .with_changes(vec![FieldChange::new(
                "Steps",
                Some(&names(current)),
                Some(&names(desired)),
            )]),
        );
    }
    outcomes
}

/// Changed fields of a step, with its actions' changes named `Actions[<name>].<Field>`.
fn step_differences(current: &ProcessStep, desired: &ProcessStep) -> Vec<String> {
    let mut fields: Vec<String> = changed_fields(current, desired)
        .into_iter()
        .filter(|f| f != "Actions")
        .collect();
    for action in &desired.actions {
        match current.actions.iter().find(|a| a.name == action.name) {
            None => fields.push(format!("Actions[{}] added", action.name)),
            Some(existing) => fields.extend(
                changed_fields(existing, action)
                    .into_iter()
                    .map(|f| format!("Actions[{}].{f}", action.name)),
            ),
        }
    }
    for action in current
        .actions
        .iter()
        .filter(|a| !desired.actions.iter().any(|d| d.name == a.name))
    {
        fields.push(format!("Actions[{}] removed", action.name));
    }
    fields
}
