//! What each plain collection is: ID prefix, required fields, defaults, filters, uniqueness, links and create/update rules.

use serde_json::{json, Map, Value};

use crate::documents::{assign_guid_ids, guid, is_missing, name_of, str_field};
use crate::reply::{ApiError, ApiResult};
use crate::state::SpaceMut;
use crate::{
    accounts, certificates, projects, script_modules, step_templates, triggers, variables,
};

/// How the obsolete `name` query parameter matches on this collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameFilter {
    Exact,
    Partial,
}

/// Within what a `Name` must be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    InSpace,
    InProject,
}

/// How writes answer: the resource itself, or the newer `{Id, Links}` / `{}` shapes (git credentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteReply {
    Resource,
    IdAndLinks,
}

/// What a create/update rule sees: the document being stored (ID and envelope already set) and
/// the previously stored version on update.
pub struct Change<'a> {
    pub id: &'a str,
    pub old: Option<&'a Value>,
}

/// Validates and completes a document before it is stored; side effects (a project's variable set…) go here too.
pub type Rule = fn(&mut SpaceMut<'_>, &mut Map<String, Value>, &Change<'_>) -> ApiResult<()>;
/// Creates what a new document owns (a project's process, variable set and Default channel), after it is stored.
pub type Created = fn(&mut SpaceMut<'_>, &Value);
/// Removes what a deleted document owned.
pub type Cascade = fn(&mut SpaceMut<'_>, &Value);
/// Adds links that depend on the document's state.
pub type LinkRule = fn(&str, &Value, &mut Map<String, Value>);

pub struct Kind {
    /// Route segment, lower case (`environments`).
    pub collection: &'static str,
    pub id_prefix: &'static str,
    pub item_type: &'static str,
    /// For messages: "An environment with this name already exists."
    pub noun: &'static str,
    pub required: &'static [&'static str],
    /// JSON object of fields filled when the client omits them.
    pub defaults: &'static str,
    pub slug: bool,
    pub name_filter: NameFilter,
    pub unique: Unique,
    /// RFC 6570 query template of the collection link.
    pub query_template: &'static str,
    /// Lists sorted by `SortOrder` (environments, tag sets, worker pools), which new documents
    /// get as max+1 when absent.
    pub sort_order: bool,
    /// `(query parameter, field)` pairs filtered by case-insensitive equality.
    pub field_filters: &'static [(&'static str, &'static str)],
    /// `(rel, href)`; `{self}` is the document's own link, `{space}` its space ID.
    pub links: &'static [(&'static str, &'static str)],
    pub rule: Option<Rule>,
    pub created: Option<Created>,
    pub cascade: Option<Cascade>,
    pub link_rule: Option<LinkRule>,
    pub write_reply: WriteReply,
    /// Projects resolve by slug as well as by ID.
    pub by_slug: bool,
}

pub const BASE: Kind = Kind {
    collection: "",
    id_prefix: "",
    item_type: "",
    noun: "",
    required: &["Name"],
    defaults: r#"{"Description":""}"#,
    slug: false,
    name_filter: NameFilter::Exact,
    unique: Unique::InSpace,
    query_template: "{/id}{?skip,take,ids,partialName}",
    sort_order: false,
    field_filters: &[],
    links: &[],
    rule: None,
    created: None,
    cascade: None,
    link_rule: None,
    write_reply: WriteReply::Resource,
    by_slug: false,
};

pub static KINDS: &[Kind] = &[
    Kind {
        collection: "environments",
        id_prefix: "Environments",
        item_type: "Environment",
        noun: "environment",
        defaults: r#"{"Description":"","UseGuidedFailure":false,"AllowDynamicInfrastructure":false,"EnvironmentTags":[],"ExtensionSettings":[]}"#,
        slug: true,
        query_template: "{/id}{?name,skip,ids,take,partialName}",
        sort_order: true,
        links: &[
            ("Machines", "{self}/machines{?skip,take,partialName,roles,isDisabled,healthStatuses,commStyles,tenantIds,tenantTags,shellNames,deploymentTargetTypes}"),
            ("SinglyScopedVariableDetails", "{self}/singlyScopedVariableDetails"),
            ("Metadata", "{self}/metadata"),
        ],
        ..BASE
    },
    Kind {
        collection: "lifecycles",
        id_prefix: "Lifecycles",
        item_type: "Lifecycle",
        noun: "lifecycle",
        defaults: r#"{"Description":"","Phases":[],"ReleaseRetentionPolicy":{"Unit":"Items","QuantityToKeep":0,"ShouldKeepForever":true,"Strategy":"Forever"},"TentacleRetentionPolicy":{"Unit":"Items","QuantityToKeep":0,"ShouldKeepForever":true,"Strategy":"Forever"}}"#,
        slug: true,
        links: &[
            ("Preview", "{self}/preview"),
            ("Projects", "{self}/projects"),
        ],
        rule: Some(lifecycle_rule),
        ..BASE
    },
    Kind {
        collection: "projectgroups",
        id_prefix: "ProjectGroups",
        item_type: "ProjectGroup",
        noun: "project group",
        defaults: r#"{"Description":"","EnvironmentIds":[],"RetentionPolicyId":null}"#,
        slug: true,
        links: &[
            ("Projects", "{self}/projects{?skip,take}"),
            ("Web", "/app#/{space}/projects?projectGroupId={id}"),
        ],
        ..BASE
    },
    Kind {
        collection: "projects",
        id_prefix: "Projects",
        item_type: "Project",
        noun: "project",
        required: &["Name", "LifecycleId", "ProjectGroupId"],
        defaults: projects::PROJECT_DEFAULTS,
        slug: true,
        name_filter: NameFilter::Partial,
        query_template: "{/id}{?name,skip,ids,clone,take,partialName,clonedFromProjectId}",
        field_filters: &[("clonedFromProjectId", "ClonedFromProjectId")],
        rule: Some(projects::project_rule),
        created: Some(projects::project_created),
        cascade: Some(projects::project_cascade),
        link_rule: Some(projects::project_links),
        by_slug: true,
        ..BASE
    },
    Kind {
        collection: "channels",
        id_prefix: "Channels",
        item_type: "Channel",
        noun: "channel",
        required: &["Name", "ProjectId"],
        defaults: r#"{"Description":"","IsDefault":false,"LifecycleId":null,"TenantTags":[],"Rules":[]}"#,
        slug: true,
        unique: Unique::InProject,
        field_filters: &[("projectId", "ProjectId")],
        links: &[
            ("Releases", "{self}/releases{?skip,take,searchByVersion}"),
            ("Project", "/api/{space}/projects/{ProjectId}"),
        ],
        rule: Some(projects::channel_rule),
        ..BASE
    },
    Kind {
        collection: "feeds",
        id_prefix: "Feeds",
        item_type: "Feed",
        noun: "feed",
        required: &["Name", "FeedType"],
        defaults: r#"{"PackageAcquisitionLocationOptions":["Server","ExecutionTarget"]}"#,
        slug: true,
        query_template: "{/id}{?skip,take,ids,partialName,feedType,name}",
        field_filters: &[("feedType", "FeedType")],
        links: &[
            ("SearchPackagesTemplate", "{self}/packages/search{?term,take,skip}"),
            ("SearchPackageVersionsTemplate", "{self}/packages/versions{?packageId,take,skip,includePreRelease,versionRange,preReleaseTag,filter,includeReleaseNotes}"),
            ("NotesTemplate", "{self}/packages/notes{?packageId,version}"),
        ],
        rule: Some(feed_rule),
        ..BASE
    },
    Kind {
        collection: "libraryvariablesets",
        id_prefix: "LibraryVariableSets",
        item_type: "LibraryVariableSet",
        noun: "library variable set",
        defaults: r#"{"Description":"","ContentType":"Variables","Templates":[]}"#,
        query_template: "{/id}{?skip,contentType,take,ids,partialName}",
        field_filters: &[("contentType", "ContentType")],
        links: &[
            ("Variables", "/api/{space}/variables/{VariableSetId}"),
            ("Usages", "{self}/usages"),
        ],
        rule: Some(library_variable_set_rule),
        created: Some(library_variable_set_created),
        cascade: Some(library_variable_set_cascade),
        ..BASE
    },
    Kind {
        collection: "tenants",
        id_prefix: "Tenants",
        item_type: "Tenant",
        noun: "tenant",
        defaults: r#"{"Description":"","IsDisabled":false,"ClonedFromTenantId":null,"TenantTags":[],"ProjectEnvironments":{}}"#,
        slug: true,
        name_filter: NameFilter::Partial,
        query_template: "{/id}{?skip,projectId,name,tags,take,ids,clone,partialName,clonedFromTenantId}",
        field_filters: &[("clonedFromTenantId", "ClonedFromTenantId")],
        links: &[
            ("Variables", "{self}/variables"),
            ("CommonVariables", "{self}/commonvariables"),
            ("ProjectVariables", "{self}/projectvariables"),
            ("Web", "/app#/{space}/tenants/{id}"),
            ("Logo", "{self}/logo"),
        ],
        ..BASE
    },
    Kind {
        collection: "tagsets",
        id_prefix: "TagSets",
        item_type: "TagSet",
        noun: "tag set",
        defaults: r#"{"Description":"","Type":"MultiSelect","Scopes":["Tenant"],"Tags":[]}"#,
        sort_order: true,
        rule: Some(tag_set_rule),
        ..BASE
    },
    Kind {
        collection: "runbooks",
        id_prefix: "Runbooks",
        item_type: "Runbook",
        noun: "runbook",
        required: &["Name", "ProjectId"],
        defaults: projects::RUNBOOK_DEFAULTS,
        slug: true,
        unique: Unique::InProject,
        name_filter: NameFilter::Partial,
        query_template: "{/id}{?skip,take,ids,partialName,clone,projectIds}",
        links: &[
            ("Project", "/api/{space}/projects/{ProjectId}"),
            ("RunbookProcesses", "/api/{space}/runbookProcesses/{RunbookProcessId}"),
            ("RunbookSnapshots", "{self}/runbookSnapshots{/name}{?skip,take,searchByName}"),
        ],
        rule: Some(projects::runbook_rule),
        created: Some(projects::runbook_created),
        cascade: Some(projects::runbook_cascade),
        ..BASE
    },
    Kind {
        collection: triggers::COLLECTION,
        id_prefix: "ProjectTriggers",
        item_type: "ProjectTrigger",
        noun: "trigger",
        required: &["Name", "ProjectId", "Filter", "Action"],
        defaults: r#"{"Description":"","IsDisabled":false}"#,
        unique: Unique::InProject,
        // The space root's `ProjectTriggers` link (tests/fixtures/octopus-payloads/api-root__*).
        query_template: "{/id}{?skip,take,ids,runbooks}",
        field_filters: &[("projectId", "ProjectId")],
        links: &[("Project", "/api/{space}/projects/{ProjectId}")],
        rule: Some(triggers::trigger_rule),
        ..BASE
    },
    Kind {
        collection: "git-credentials",
        id_prefix: "GitCredentials",
        item_type: "GitCredential",
        noun: "git credential",
        required: &["Name", "Details"],
        defaults: r#"{"Description":"","RepositoryRestrictions":{"Enabled":false,"AllowedRepositories":[]}}"#,
        query_template: "{/id}{?skip,take,name}",
        links: &[("Usage", "{self}/usage")],
        rule: Some(git_credential_rule),
        write_reply: WriteReply::IdAndLinks,
        ..BASE
    },
    Kind {
        collection: "workerpools",
        id_prefix: "WorkerPools",
        item_type: "WorkerPool",
        noun: "worker pool",
        defaults: r#"{"Description":"","WorkerPoolType":"StaticWorkerPool","IsDefault":false,"CanAddWorkers":true}"#,
        slug: true,
        sort_order: true,
        query_template: "{/id}{?skip,ids,take,partialName}",
        links: &[("Workers", "{self}/workers{?skip,take}")],
        ..BASE
    },
    Kind {
        collection: "accounts",
        id_prefix: "Accounts",
        item_type: "Account",
        noun: "account",
        required: &["Name", "AccountType"],
        // go-octopusdeploy `NewAccountResource`: "Untenanted" unless set.
        defaults: r#"{"Description":"","EnvironmentIds":[],"TenantIds":[],"TenantTags":[],"TenantedDeploymentParticipation":"Untenanted"}"#,
        slug: true,
        // The space root's link (tests/fixtures/octopus-payloads/api-root__*.json).
        query_template: "{/id}{?skip,take,ids,partialName,accountType}",
        field_filters: &[("accountType", "AccountType")],
        // `AccountResourceLinks { Self, Usages }` (OctopusDeploy/mcp-server `src/types/accountTypes.ts`).
        links: &[("Usages", "{self}/usages")],
        rule: Some(accounts::account_rule),
        ..BASE
    },
    Kind {
        collection: "certificates",
        id_prefix: "Certificates",
        item_type: "Certificate",
        noun: "certificate",
        required: &["Name", "CertificateData"],
        // go-octopusdeploy `NewCertificateResource`: "Untenanted" unless set.
        defaults: r#"{"Notes":"","EnvironmentIds":[],"TenantIds":[],"TenantTags":[],"TenantedDeploymentParticipation":"Untenanted","Archived":null,"ReplacedBy":null}"#,
        // The space root's link (tests/fixtures/octopus-payloads/api-root__*.json).
        query_template: "{/id}{?skip,take,search,archived,tenant,firstResult,orderBy,ids,partialName}",
        rule: Some(certificates::certificate_rule),
        ..BASE
    },
    Kind {
        collection: "actiontemplates",
        id_prefix: "ActionTemplates",
        item_type: "ActionTemplate",
        noun: "step template",
        required: &["Name", "ActionType"],
        defaults: r#"{"Description":"","Version":0,"CommunityActionTemplateId":null,"Packages":[],"GitDependencies":[],"Parameters":[],"Properties":{}}"#,
        // The served links of `api/action_template_example.json` (go-octopusdeploy).
        links: &[
            ("Usage", "{self}/usage"),
            ("Versions", "{self}/versions/{version}"),
            ("Logo", "{self}/logo"),
        ],
        rule: Some(step_templates::action_template_rule),
        cascade: Some(step_templates::action_template_cascade),
        ..BASE
    },
];

/// Spaces are stored apart (each owns its collections) but list, filter and page like the rest.
pub static SPACES: Kind = Kind {
    collection: "spaces",
    id_prefix: "Spaces",
    item_type: "Space",
    noun: "space",
    defaults: r#"{"Description":null,"IsDefault":false,"IsPrivate":false,"TaskQueueStopped":false,"Icon":null,"ExtensionSettings":[]}"#,
    slug: true,
    query_template: "{/id}{?skip,ids,take,partialName}",
    by_slug: true,
    ..BASE
};

pub fn kind(collection: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.collection.eq_ignore_ascii_case(collection))
}

impl Kind {
    pub fn default_values(&self) -> Value {
        serde_json::from_str(self.defaults).expect("kind defaults are valid JSON")
    }

    pub fn duplicate_name_error(&self) -> ApiError {
        let article = crate::documents::article(self.noun);
        let scope = match self.unique {
            Unique::InSpace => "",
            Unique::InProject => " in this project",
        };
        ApiError::bad_request(format!(
            "{article} {} with this name already exists{scope}. Please choose a different name.",
            self.noun
        ))
    }
}

fn lifecycle_rule(
    _: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    _: &Change<'_>,
) -> ApiResult<()> {
    let phase_defaults = json!({
        "AutomaticDeploymentTargets": [], "OptionalDeploymentTargets": [],
        "MinimumEnvironmentsBeforePromotion": 0, "IsOptionalPhase": false, "IsPriorityPhase": false,
        "ReleaseRetentionPolicy": null, "TentacleRetentionPolicy": null
    });
    if let Some(phases) = doc.get_mut("Phases").and_then(Value::as_array_mut) {
        for phase in phases.iter_mut().filter_map(Value::as_object_mut) {
            if is_missing(phase, "Name") {
                return Err(ApiError::required("Name"));
            }
            if is_missing(phase, "Id") {
                phase.insert("Id".into(), json!(guid()));
            }
            crate::documents::fill_defaults(phase, &phase_defaults);
        }
    }
    Ok(())
}

fn feed_rule(
    _: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    let feed_type = str_field(&Value::Object(doc.clone()), "FeedType")
        .unwrap_or_default()
        .to_string();
    let is_builtin = feed_type.eq_ignore_ascii_case("BuiltIn");
    let was_builtin = change
        .old
        .is_some_and(|o| str_field(o, "FeedType") == Some("BuiltIn"));
    if is_builtin != was_builtin {
        return Err(ApiError::bad_request(
            "The built-in feed cannot be created, and other feeds cannot become the built-in feed.",
        ));
    }
    if matches!(
        feed_type.as_str(),
        "NuGet" | "Maven" | "GitHub" | "Docker" | "Helm"
    ) {
        if is_missing(doc, "FeedUri") {
            return Err(ApiError::required("FeedUri"));
        }
        if feed_type != "Helm" && feed_type != "Docker" {
            doc.entry("DownloadAttempts").or_insert(json!(5));
            doc.entry("DownloadRetryBackoffSeconds")
                .or_insert(json!(10));
        }
        if feed_type == "NuGet" {
            doc.entry("EnhancedMode").or_insert(json!(false));
        }
    }
    Ok(())
}

fn library_variable_set_rule(
    _: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    script_modules::content_type_rule(doc, change)?;
    let set_id = variables::set_id_for(change.id);
    doc.insert("VariableSetId".into(), json!(set_id));
    let mut templates = Value::Object(doc.clone());
    assign_guid_ids(&mut templates, "Templates");
    if let Some(t) = templates.get("Templates") {
        doc.insert("Templates".into(), t.clone());
    }
    Ok(())
}

fn library_variable_set_created(space: &mut SpaceMut<'_>, doc: &Value) {
    variables::ensure_set(space.space, crate::documents::id_of(doc));
}

fn library_variable_set_cascade(space: &mut SpaceMut<'_>, doc: &Value) {
    variables::remove_set(space.space, crate::documents::id_of(doc));
}

/// Tags get `TagSets-N-M` IDs and a `CanonicalTagName` of `"<TagSet>/<Tag>"`, recomputed on rename.
fn tag_set_rule(
    _: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    let set_name = doc
        .get("Name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(tags) = doc.get_mut("Tags").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    let mut used: Vec<u64> = tags
        .iter()
        .filter_map(|t| str_field(t, "Id"))
        .filter_map(|id| id.strip_prefix(&format!("{}-", change.id)))
        .filter_map(|n| n.parse().ok())
        .collect();
    for (index, tag) in tags.iter_mut().enumerate() {
        let tag_name = name_of(tag).to_string();
        let Some(tag) = tag.as_object_mut() else {
            continue;
        };
        if tag_name.is_empty() {
            return Err(ApiError::required("Name"));
        }
        if is_missing(tag, "Id") {
            let n = used.iter().max().copied().unwrap_or(0) + 1;
            used.push(n);
            tag.insert("Id".into(), json!(format!("{}-{n}", change.id)));
        }
        tag.insert(
            "CanonicalTagName".into(),
            json!(format!("{set_name}/{tag_name}")),
        );
        tag.entry("Color").or_insert(json!("#333333"));
        tag.entry("Description").or_insert(json!(""));
        tag.entry("SortOrder").or_insert(json!(index));
    }
    Ok(())
}

fn git_credential_rule(
    _: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    _: &Change<'_>,
) -> ApiResult<()> {
    let Some(details) = doc.get_mut("Details").and_then(Value::as_object_mut) else {
        return Err(ApiError::required("Details"));
    };
    details.entry("Type").or_insert(json!("UsernamePassword"));
    if details.get("Type").and_then(Value::as_str) == Some("UsernamePassword") {
        if is_missing(details, "Username") {
            return Err(ApiError::required("Username"));
        }
        if !details.contains_key("Password") {
            return Err(ApiError::required("Password"));
        }
    }
    Ok(())
}
