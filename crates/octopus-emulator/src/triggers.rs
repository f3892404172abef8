//! Project triggers (`/api/{space}/projecttriggers`, listed per project at
//! `/api/{space}/projects/{id}/triggers`): the shapes and what the server checks on a write.
//!
//! Shapes: OctopusClients `Model/ProjectTriggerResource.cs`, `Model/Triggers/*` (each filter and
//! action type with its fields) and `Model/DaysOfWeek.cs`; go-octopusdeploy `pkg/triggers`,
//! `pkg/filters`, `pkg/actions`; the server's swagger (go-octopusdeploy `api/octopus_deploy.json`,
//! 2020.5: `ProjectTriggerResource`, `indexProjectProjectTriggers_Spaces`).

use serde_json::{Map, Value};

use crate::documents::{find_by_id, id_of, name_of, same_id, str_field, string_list};
use crate::kinds::Change;
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult};
use crate::state::{GitRepo, SpaceMut, SpaceStore};
use std::collections::BTreeMap;

/// The collection's route segment.
pub const COLLECTION: &str = "projecttriggers";

/// `TriggerFilterType` (OctopusClients `Model/Triggers/TriggerFilterResource.cs`; the swagger's
/// enum of 2020.5 lists the first eight).
const FILTER_TYPES: &[&str] = &[
    "MachineFilter",
    "OnceDailySchedule",
    "ContinuousDailySchedule",
    "DaysPerMonthSchedule",
    "CronExpressionSchedule",
    "DailySchedule",
    "DaysPerWeekSchedule",
    "FeedFilter",
    "ArcFeedFilter",
    "GitFilter",
    "WebhookFilter",
];

/// `TriggerActionType` (OctopusClients `Model/Triggers/TriggerActionResource.cs`).
const ACTION_TYPES: &[&str] = &[
    "AutoDeploy",
    "DeployLatestRelease",
    "DeployNewRelease",
    "RunRunbook",
    "CreateRelease",
    "DeployLatestReleaseToEnvironment",
];

/// `DaysOfWeek` and `DayOfWeek` (OctopusClients `Model/DaysOfWeek.cs`, read by name with
/// `Enum.Parse`; `DaysPerMonthScheduledTriggerFilterResource.cs`).
const DAYS: &[&str] = &[
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Checks a trigger before it is stored. The server binds `Filter` and `Action` to the resource
/// types of their `FilterType` and `ActionType` (OctopusClients `TriggerFilterConverter`,
/// `TriggerActionConverter`), so a type or an enum value it does not know is refused; it
/// evaluates a cron expression when the trigger is saved (OctopusDeploy/Issues#6833: "Cron
/// expressions are evaluated during creation and an error is normally displayed if the cron
/// expression is invalid", `0 1 2 3` refused). The ids a trigger names must exist, as for every
/// other reference the emulator checks; a feed trigger's packages must be steps of the process
/// (octoterra `project_trigger_converter.go`: "This trigger needs the deployment process to be
/// created first to ensure step names exist"). The server's exact texts are not public (searched
/// OctopusDeploy/Issues for trigger validation: #7027's message is only in a screenshot); these
/// are the emulator's.
pub fn trigger_rule(
    space: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    let store = &*space.space;
    let project_id = doc
        .get("ProjectId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let project = find_by_id(store.docs("projects"), &project_id).ok_or_else(|| {
        ApiError::bad_request(format!("The project '{project_id}' could not be found."))
    })?;
    if let Some(old) = change.old {
        if !same_id(str_field(old, "ProjectId").unwrap_or_default(), &project_id) {
            return Err(ApiError::bad_request(
                "A trigger cannot be moved to another project.",
            ));
        }
    }
    let filter = object(doc, "Filter")?;
    let action = object(doc, "Action")?;
    let filter_type = one_of(filter, "FilterType", FILTER_TYPES)?;
    let action_type = one_of(action, "ActionType", ACTION_TYPES)?;
    check_filter(store, project, &filter_type, filter)?;
    check_action(store, space.repositories, project, &action_type, action)?;
    fill_lists(doc, "Filter", filter_lists(&filter_type));
    fill_lists(doc, "Action", action_lists(&action_type));
    Ok(())
}

/// The lists a filter of this type always has: the resource's constructor makes them empty
/// (OctopusClients `MachineFilterResource`: `= new ReferenceCollection()`), so the server
/// returns `[]` where a client sent none.
fn filter_lists(filter_type: &str) -> &'static [&'static str] {
    match filter_type {
        "MachineFilter" => &["EnvironmentIds", "Roles", "EventGroups", "EventCategories"],
        _ => &[],
    }
}

/// As [`filter_lists`], for actions (OctopusClients `RunRunbookActionResource` and
/// `ScopedDeploymentActionResource` constructors).
fn action_lists(action_type: &str) -> &'static [&'static str] {
    match action_type {
        "RunRunbook" => &["EnvironmentIds", "TenantIds", "TenantTags"],
        "DeployLatestRelease" | "DeployNewRelease" | "DeployLatestReleaseToEnvironment" => {
            &["TenantIds", "TenantTags"]
        }
        _ => &[],
    }
}

fn fill_lists(doc: &mut Map<String, Value>, field: &str, lists: &[&str]) {
    if let Some(part) = doc.get_mut(field).and_then(Value::as_object_mut) {
        for list in lists {
            if part.get(*list).is_none_or(Value::is_null) {
                part.insert((*list).to_string(), Value::Array(Vec::new()));
            }
        }
    }
}

fn object<'a>(doc: &'a Map<String, Value>, field: &str) -> ApiResult<&'a Map<String, Value>> {
    doc.get(field)
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::required(field))
}

fn one_of(doc: &Map<String, Value>, field: &str, known: &[&str]) -> ApiResult<String> {
    let value = doc.get(field).and_then(Value::as_str).unwrap_or_default();
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(value))
        .map(|k| k.to_string())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "'{value}' is not a valid {field}: expected one of {}.",
                known.join(", ")
            ))
        })
}

fn check_day(value: &str) -> ApiResult<()> {
    if DAYS.iter().any(|d| d.eq_ignore_ascii_case(value)) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "'{value}' is not a day of the week: expected one of {}.",
            DAYS.join(", ")
        )))
    }
}

fn check_filter(
    store: &SpaceStore,
    project: &Value,
    filter_type: &str,
    filter: &Map<String, Value>,
) -> ApiResult<()> {
    for day in string_list(filter.get("DaysOfWeek")) {
        check_day(&day)?;
    }
    if let Some(day) = filter.get("DayOfWeek").and_then(Value::as_str) {
        check_day(day)?;
    }
    match filter_type {
        "OnceDailySchedule" | "DaysPerMonthSchedule"
            if crate::documents::is_missing(filter, "StartTime") =>
        {
            return Err(ApiError::required("StartTime"));
        }
        "CronExpressionSchedule" => {
            let expression = filter
                .get("CronExpression")
                .and_then(Value::as_str)
                .unwrap_or_default();
            check_cron(expression).map_err(|why| {
                ApiError::bad_request(format!(
                    "The cron expression '{expression}' is not valid: {why}. A cron expression has 6 fields (seconds, minutes, hours, day of month, month, day of week) and an optional 7th (year)."
                ))
            })?;
        }
        "ContinuousDailySchedule" => {
            // `DailyScheduledTriggerInterval` (OctopusClients).
            one_of(
                filter,
                "Interval",
                &["OnceDaily", "OnceHourly", "OnceEveryMinute"],
            )?;
        }
        "FeedFilter" => check_feed_packages(store, project, filter)?,
        _ => {}
    }
    if filter
        .get("MonthlyScheduleType")
        .is_some_and(|v| !v.is_null())
    {
        // `MonthlyScheduleType` (OctopusClients `DaysPerMonthScheduledTriggerFilterResource.cs`).
        one_of(
            filter,
            "MonthlyScheduleType",
            &["DateOfMonth", "DayOfMonth"],
        )?;
    }
    for environment in string_list(filter.get("EnvironmentIds")) {
        exists(store, "environments", &environment, "environment")?;
    }
    Ok(())
}

/// A feed trigger watches packages of the project's steps, by action slug. Checked for database
/// projects (a Config-as-Code process lives in the branch, whose steps may differ).
fn check_feed_packages(
    store: &SpaceStore,
    project: &Value,
    filter: &Map<String, Value>,
) -> ApiResult<()> {
    if crate::projects::is_version_controlled(project) {
        return Ok(());
    }
    let process = crate::processes::deployment_process_id(id_of(project));
    let Some(at) = crate::processes::position(store, &process) else {
        return Ok(());
    };
    let actions: Vec<&Value> = store.processes[at]["Steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|step| step["Actions"].as_array().into_iter().flatten())
        .collect();
    for package in filter
        .get("Packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let slug = str_field(package, "DeploymentActionSlug").unwrap_or_default();
        if !actions
            .iter()
            .any(|action| str_field(action, "Slug").is_some_and(|s| s.eq_ignore_ascii_case(slug)))
        {
            return Err(ApiError::bad_request(format!(
                "The step '{slug}' could not be found in the deployment process of project '{}'.",
                name_of(project)
            )));
        }
    }
    Ok(())
}

fn check_action(
    store: &SpaceStore,
    repositories: &BTreeMap<String, GitRepo>,
    project: &Value,
    action_type: &str,
    action: &Map<String, Value>,
) -> ApiResult<()> {
    let project_id = &crate::documents::id_of(project);
    if action_type == "RunRunbook" {
        let runbook = action
            .get("RunbookId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let owned = find_by_id(store.docs("runbooks"), runbook)
            .is_some_and(|r| same_id(str_field(r, "ProjectId").unwrap_or_default(), project_id))
            || in_git(repositories, project, runbook);
        let by_tags = action
            .get("RunbookTags")
            .and_then(Value::as_array)
            .is_some_and(|tags| !tags.is_empty());
        if !owned && !by_tags {
            return Err(ApiError::bad_request(format!(
                "The runbook '{runbook}' could not be found in this project."
            )));
        }
    }
    let environments = string_list(action.get("EnvironmentIds"))
        .into_iter()
        .chain(string_list(action.get("SourceEnvironmentIds")))
        .chain(
            ["EnvironmentId", "DestinationEnvironmentId"]
                .iter()
                .filter_map(|field| action.get(*field).and_then(Value::as_str))
                .filter(|id| !id.is_empty())
                .map(str::to_string),
        );
    for environment in environments {
        exists(store, "environments", &environment, "environment")?;
    }
    if let Some(channel) = action
        .get("ChannelId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
    {
        let owned = find_by_id(store.docs("channels"), channel)
            .is_some_and(|c| same_id(str_field(c, "ProjectId").unwrap_or_default(), project_id));
        if !owned {
            return Err(ApiError::bad_request(format!(
                "The channel '{channel}' could not be found in this project."
            )));
        }
    }
    for tenant in string_list(action.get("TenantIds")) {
        exists(store, "tenants", &tenant, "tenant")?;
    }
    Ok(())
}

/// A runbook of a Config-as-Code project kept in one of its repository's branches.
fn in_git(repositories: &BTreeMap<String, GitRepo>, project: &Value, runbook: &str) -> bool {
    repositories
        .get(&crate::config_as_code::project_repository_key(project))
        .is_some_and(|repo| {
            repo.branches
                .values()
                .any(|branch| find_by_id(&branch.runbooks, runbook).is_some())
        })
}

fn exists(store: &SpaceStore, collection: &str, id: &str, what: &str) -> ApiResult<()> {
    match find_by_id(store.docs(collection), id) {
        Some(_) => Ok(()),
        None => Err(ApiError::bad_request(format!(
            "The {what} '{id}' could not be found."
        ))),
    }
}

/// `GET /projects/{id}/triggers`: the project's triggers of one `triggerActionCategory`
/// ("Deployment": every action but `RunRunbook`; "Runbook": `RunRunbook`), `triggerActionType`,
/// `partialName` and `runbooks`. Without a category the list is the deployment triggers less the
/// built-in feed trigger (`ArcFeedFilter`): octoterra (`project_trigger_converter.go`) reads
/// both categories because "The API endpoint /api/Spaces-1/projects/Projects-1/triggers does not
/// return ARC triggers" and runbook triggers need the category too. The parameters are those
/// of the project's `Triggers` link (tests/fixtures/octopus-payloads: 2023–2024 projects).
pub fn list_for_project(store: &SpaceStore, project_id: &str, query: &Query, base: &str) -> Value {
    let kind = crate::kinds::kind(COLLECTION).expect("the triggers kind");
    let category = query.get("triggerActionCategory");
    let action_type = query.get("triggerActionType");
    let runbooks = query.list("runbooks");
    let partial = query.get("partialName").map(str::to_lowercase);
    let items: Vec<Value> = store
        .docs(COLLECTION)
        .iter()
        .filter(|doc| same_id(str_field(doc, "ProjectId").unwrap_or_default(), project_id))
        .filter(|doc| {
            let runs_runbook = doc
                .pointer("/Action/ActionType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("RunRunbook"));
            let arc = doc
                .pointer("/Filter/FilterType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case("ArcFeedFilter"));
            match category {
                Some(c) if c.eq_ignore_ascii_case("Runbook") => runs_runbook,
                Some(c) if c.eq_ignore_ascii_case("Deployment") => !runs_runbook,
                Some(_) => false,
                None => !runs_runbook && !arc,
            }
        })
        .filter(|doc| {
            action_type.is_none_or(|wanted| {
                doc.pointer("/Action/ActionType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(wanted))
            })
        })
        .filter(|doc| {
            runbooks.is_empty()
                || doc
                    .pointer("/Action/RunbookId")
                    .and_then(Value::as_str)
                    .is_some_and(|r| runbooks.iter().any(|want| same_id(want, r)))
        })
        .filter(|doc| {
            partial
                .as_ref()
                .is_none_or(|p| name_of(doc).to_lowercase().contains(p))
        })
        .map(|doc| crate::collections::render(store.id(), kind, doc))
        .collect();
    page(
        items,
        kind.item_type,
        base,
        "{?skip,take,partialName,triggerActionType,triggerActionCategory,runbooks}",
        query,
    )
}

/// A cron expression as Octopus documents it (docs: "Scheduled deployment triggers" and
/// "Scheduled runbook triggers", "Using CRON expressions": "The CRON expression must consist of
/// all 6 fields, there is an optional 7th field for "Year"", with each field's values and
/// special characters in its table). Names of days and months are their three-letter forms
/// (`Mon-Fri`, as the docs' example; `Thurs` is refused, OctopusDeploy/Issues#6833).
pub fn check_cron(expression: &str) -> Result<(), String> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if !(6..=7).contains(&fields.len()) {
        return Err(format!("it has {} fields", fields.len()));
    }
    const MONTHS: &[&str] = &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAY_NAMES: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let specs: [Field; 7] = [
        Field::new("seconds", 0, 59, "", &[]),
        Field::new("minutes", 0, 59, "", &[]),
        Field::new("hours", 0, 23, "", &[]),
        Field::new("day of month", 1, 31, "?LW", &[]),
        Field::new("month", 1, 12, "", MONTHS),
        Field::new("day of week", 0, 6, "?L#", DAY_NAMES),
        Field::new("year", 1, 9999, "", &[]),
    ];
    for (text, spec) in fields.iter().zip(&specs) {
        spec.check(text)
            .map_err(|why| format!("{} `{text}`: {why}", spec.name))?;
    }
    Ok(())
}

/// One field of a cron expression: its range, its extra special characters, its names.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    special: &'static str,
    /// Names of the values from `min` on (`JAN` = 1, `SUN` = 0).
    names: &'static [&'static str],
}

impl Field {
    fn new(
        name: &'static str,
        min: u32,
        max: u32,
        special: &'static str,
        names: &'static [&'static str],
    ) -> Field {
        Field {
            name,
            min,
            max,
            special,
            names,
        }
    }

    fn value(&self, text: &str) -> Result<u32, String> {
        if let Some(at) = self
            .names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            return Ok(self.min + u32::try_from(at).unwrap_or(0));
        }
        let value: u32 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a value of this field"))?;
        if (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(format!("{value} is outside {}-{}", self.min, self.max))
        }
    }

    fn check(&self, text: &str) -> Result<(), String> {
        for item in text.split(',') {
            self.check_item(item)?;
        }
        Ok(())
    }

    fn check_item(&self, item: &str) -> Result<(), String> {
        let allows = |c: char| self.special.contains(c);
        if item.is_empty() {
            return Err("an empty list item".into());
        }
        if item == "?" && allows('?') {
            return Ok(());
        }
        if allows('L') {
            // `L`, `LW` (day of month), `5L` (the last Friday).
            if item.eq_ignore_ascii_case("L") || (allows('W') && item.eq_ignore_ascii_case("LW")) {
                return Ok(());
            }
            if let Some(day) = item.strip_suffix(['L', 'l']).filter(|_| allows('#')) {
                return self.value(day).map(|_| ());
            }
        }
        if let Some(day) = item.strip_suffix(['W', 'w']).filter(|_| allows('W')) {
            return self.value(day).map(|_| ());
        }
        if let Some((day, nth)) = item.split_once('#').filter(|_| allows('#')) {
            self.value(day)?;
            return match nth.parse::<u32>() {
                Ok(1..=5) => Ok(()),
                _ => Err(format!("`#{nth}` is not the 1st to 5th")),
            };
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(step) if step > 0 => {}
                _ => return Err(format!("`/{step}` is not a step")),
            }
        }
        if range == "*" || (range == "?" && allows('?')) {
            return Ok(());
        }
        match range.split_once('-') {
            Some((from, to)) => {
                self.value(from)?;
                self.value(to)?;
            }
            None => {
                self.value(range)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_cron;

    #[test]
    fn cron_expressions_follow_the_documented_fields() {
        for good in [
            "0 0 06 * * Mon-Fri",
            "0 0 6 * * MON-FRI",
            "0 0/30 * * * ?",
            "0 15 10 ? * 6L",
            "0 15 10 15W * ?",
            "0 15 10 L * ?",
            "0 15 10 ? * MON#2",
            "1 0 6-22/2 * * * *",
            "0 0 12 1 JAN-MAR ? 2030",
        ] {
            assert_eq!(check_cron(good), Ok(()), "{good}");
        }
        for bad in [
            "0 1 2 3",
            "0 0 6 * * Thurs",
            "60 0 6 * * *",
            "0 0 24 * * *",
            "0 0 6 32 * *",
            "0 0 6 * 13 *",
            "0 0 6 * * 7",
            "0 0 6 * * MON#6",
            "0 0 6 * * * * *",
            "0 0 6 ,* * *",
            "",
        ] {
            assert!(check_cron(bad).is_err(), "{bad}");
        }
    }
}
