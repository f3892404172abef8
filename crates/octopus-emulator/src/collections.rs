//! The one generic collection handler: list/filter/page, create, read, replace and delete for every [`Kind`].

use serde_json::{json, Map, Value};

use crate::documents::{
    fill_defaults, id_of, into_object, name_of, require, same_id, slugify, str_field,
    with_envelope, with_links,
};
use crate::kinds::{Change, Kind, NameFilter, Unique};
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult};
use crate::secrets::{absorb, redact};
use crate::state::{SpaceMut, SpaceStore};

pub fn collection_path(space_id: &str, kind: &Kind) -> String {
    format!("/api/{space_id}/{}", kind.collection)
}

pub fn self_link(space_id: &str, kind: &Kind, id: &str) -> String {
    format!("{}/{id}", collection_path(space_id, kind))
}

/// Fill `{self}`, `{space}`, `{id}` and `{SomeField}` (a string field of the document) in a link.
pub fn expand_link(template: &str, self_href: &str, space_id: &str, doc: &Value) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        let value = match name {
            "self" => Some(self_href.to_string()),
            "space" => Some(space_id.to_string()),
            "id" => Some(id_of(doc).to_string()),
            _ if name.starts_with(|c: char| c.is_ascii_uppercase()) => {
                Some(str_field(doc, name).unwrap_or_default().to_string())
            }
            _ => None,
        };
        match value {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// A stored document as GET returns it: secrets removed, `Links` computed.
pub fn render(space_id: &str, kind: &Kind, doc: &Value) -> Value {
    let mut out = doc.clone();
    redact(&mut out);
    let self_href = self_link(space_id, kind, id_of(doc));
    let mut links = Map::new();
    links.insert("Self".into(), json!(self_href));
    for (rel, template) in kind.links {
        links.insert(
            rel.to_string(),
            json!(expand_link(template, &self_href, space_id, doc)),
        );
    }
    if let Some(rule) = kind.link_rule {
        rule(space_id, doc, &mut links);
    }
    with_links(out, links)
}

/// Apply the filters every collection shares (`ids`, `partialName`, `name`, field filters) and
/// the collection's order.
pub fn filter(kind: &Kind, docs: &[Value], query: &Query) -> Vec<Value> {
    let ids = query.list("ids");
    let partial = query.get("partialName").map(str::to_lowercase);
    let name = query.get("name");
    let mut out: Vec<Value> = docs
        .iter()
        .filter(|d| ids.is_empty() || ids.iter().any(|id| same_id(id, id_of(d))))
        .filter(|d| {
            partial
                .as_ref()
                .is_none_or(|p| name_of(d).to_lowercase().contains(p))
        })
        .filter(|d| {
            name.is_none_or(|n| match kind.name_filter {
                NameFilter::Exact => name_of(d).eq_ignore_ascii_case(n),
                NameFilter::Partial => name_of(d).to_lowercase().contains(&n.to_lowercase()),
            })
        })
        .filter(|d| {
            kind.field_filters.iter().all(|(param, field)| {
                query.get(param).is_none_or(|want| {
                    str_field(d, field).is_some_and(|v| v.eq_ignore_ascii_case(want))
                })
            })
        })
        .cloned()
        .collect();
    if kind.sort_order {
        // Stable: equal SortOrders keep creation order.
        out.sort_by_key(|d| d.get("SortOrder").and_then(Value::as_i64).unwrap_or(0));
    }
    out
}

/// Filters only some collections have.
fn filter_special(kind: &Kind, docs: Vec<Value>, query: &Query) -> Vec<Value> {
    match kind.collection {
        "tenants" => {
            let project = query.get("projectId");
            let tags = query.list("tags");
            docs.into_iter()
                .filter(|d| {
                    project.is_none_or(|p| {
                        d.get("ProjectEnvironments")
                            .and_then(Value::as_object)
                            .is_some_and(|m| m.keys().any(|k| same_id(k, p)))
                    })
                })
                .filter(|d| {
                    let have = crate::documents::string_list(d.get("TenantTags"));
                    tags.iter()
                        .all(|t| have.iter().any(|h| h.eq_ignore_ascii_case(t)))
                })
                .collect()
        }
        "runbooks" => {
            let projects = query.list("projectIds");
            docs.into_iter()
                .filter(|d| {
                    projects.is_empty()
                        || projects
                            .iter()
                            .any(|p| same_id(p, str_field(d, "ProjectId").unwrap_or_default()))
                })
                .collect()
        }
        _ => docs,
    }
}

fn matching(space: &SpaceStore, kind: &Kind, query: &Query) -> Vec<Value> {
    let docs = filter(kind, space.docs(kind.collection), query);
    filter_special(kind, docs, query)
        .iter()
        .map(|d| render(space.id(), kind, d))
        .collect()
}

pub fn list(space: &SpaceStore, kind: &Kind, query: &Query) -> Value {
    list_at(space, kind, query, &collection_path(space.id(), kind))
}

/// A page of the collection, with paging links rooted at `base` (nested routes such as
/// `/projects/{id}/channels` link to themselves).
pub fn list_at(space: &SpaceStore, kind: &Kind, query: &Query, base: &str) -> Value {
    page(
        matching(space, kind, query),
        kind.item_type,
        base,
        kind.query_template,
        query,
    )
}

/// `/all`: a bare array, same filters, no paging.
pub fn all(space: &SpaceStore, kind: &Kind, query: &Query) -> Value {
    Value::Array(matching(space, kind, query))
}

pub fn position(space: &SpaceStore, kind: &Kind, id_or_slug: &str) -> Option<usize> {
    let docs = space.docs(kind.collection);
    docs.iter()
        .position(|d| same_id(id_of(d), id_or_slug))
        .or_else(|| {
            kind.by_slug
                .then(|| {
                    docs.iter().position(|d| {
                        str_field(d, "Slug").is_some_and(|s| s.eq_ignore_ascii_case(id_or_slug))
                    })
                })
                .flatten()
        })
}

pub fn stored<'a>(space: &'a SpaceStore, kind: &Kind, id_or_slug: &str) -> ApiResult<&'a Value> {
    position(space, kind, id_or_slug)
        .map(|i| &space.docs(kind.collection)[i])
        .ok_or_else(|| ApiError::not_found(id_or_slug))
}

pub fn get(space: &SpaceStore, kind: &Kind, id_or_slug: &str) -> ApiResult<Value> {
    stored(space, kind, id_or_slug).map(|d| render(space.id(), kind, d))
}

fn check_unique(
    space: &SpaceStore,
    kind: &Kind,
    doc: &Map<String, Value>,
    own_id: Option<&str>,
) -> ApiResult<()> {
    let name = doc.get("Name").and_then(Value::as_str).unwrap_or_default();
    let project = doc
        .get("ProjectId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let clash = space.docs(kind.collection).iter().any(|other| {
        own_id.is_none_or(|own| !same_id(own, id_of(other)))
            // Without case: Octopus stores names in SQL Server under its default,
            // case-insensitive collation, so "hello world" clashes with "Hello World" (seen by
            // the independent review behind issue 10, item 13; the collation is the documented
            // SQL Server default — the server's own code is not public, so this is inferred).
            && name_of(other).to_lowercase() == name.to_lowercase()
            && (kind.unique == Unique::InSpace
                || same_id(str_field(other, "ProjectId").unwrap_or_default(), project))
    });
    if clash {
        Err(kind.duplicate_name_error())
    } else {
        Ok(())
    }
}

/// Fields every create and replace fills the same way: defaults, `Slug`, `SortOrder`, secrets.
fn complete(space: &SpaceStore, kind: &Kind, doc: &mut Map<String, Value>, old: Option<&Value>) {
    fill_defaults(doc, &kind.default_values());
    if kind.slug && crate::documents::is_missing(doc, "Slug") {
        let slug = old
            .and_then(|o| str_field(o, "Slug"))
            .map(str::to_string)
            .unwrap_or_else(|| {
                slugify(doc.get("Name").and_then(Value::as_str).unwrap_or_default())
            });
        doc.insert("Slug".into(), json!(slug));
    }
    if kind.sort_order && !doc.contains_key("SortOrder") {
        let order = match old.and_then(|o| o.get("SortOrder")) {
            Some(order) => order.clone(),
            None => {
                let max = space
                    .docs(kind.collection)
                    .iter()
                    .filter_map(|d| d.get("SortOrder").and_then(Value::as_i64))
                    .max();
                json!(max.map_or(0, |m| m + 1))
            }
        };
        doc.insert("SortOrder".into(), order);
    }
    let mut as_value = Value::Object(std::mem::take(doc));
    absorb(&mut as_value, old);
    if let Value::Object(map) = as_value {
        *doc = map;
    }
}

/// POST: validate, assign the next ID, fill server fields, run the kind's rule, store.
/// Returns the stored document (with secrets; render before sending).
pub fn create(space: &mut SpaceMut<'_>, kind: &Kind, body: Value) -> ApiResult<Value> {
    let doc = into_object(body)?;
    require(&doc, kind.required)?;
    check_unique(space.space, kind, &doc, None)?;
    let id = space.ids.peek(kind.id_prefix);
    let space_id = space.space.id().to_string();
    let mut doc = with_envelope(doc, &id, Some(&space_id));
    complete(space.space, kind, &mut doc, None);
    if let Some(rule) = kind.rule {
        rule(space, &mut doc, &Change { id: &id, old: None })?;
    }
    crate::documents::stamp_modified(&mut doc);
    let used = space.ids.next(kind.id_prefix);
    debug_assert_eq!(used, id);
    let doc = Value::Object(doc);
    space.space.docs_mut(kind.collection).push(doc.clone());
    if let Some(created) = kind.created {
        created(space, &doc);
    }
    Ok(doc)
}

/// PUT: the body replaces the stored document; unknown fields survive, server fields are reset.
pub fn update(
    space: &mut SpaceMut<'_>,
    kind: &Kind,
    id_or_slug: &str,
    body: Value,
) -> ApiResult<Value> {
    let index =
        position(space.space, kind, id_or_slug).ok_or_else(|| ApiError::not_found(id_or_slug))?;
    let old = space.space.docs(kind.collection)[index].clone();
    let id = id_of(&old).to_string();
    let doc = into_object(body)?;
    require(&doc, kind.required)?;
    check_unique(space.space, kind, &doc, Some(&id))?;
    let space_id = space.space.id().to_string();
    let mut doc = with_envelope(doc, &id, Some(&space_id));
    complete(space.space, kind, &mut doc, Some(&old));
    if let Some(rule) = kind.rule {
        rule(
            space,
            &mut doc,
            &Change {
                id: &id,
                old: Some(&old),
            },
        )?;
    }
    crate::documents::stamp_modified(&mut doc);
    let doc = Value::Object(doc);
    space.space.docs_mut(kind.collection)[index] = doc.clone();
    Ok(doc)
}

pub fn delete(space: &mut SpaceMut<'_>, kind: &Kind, id_or_slug: &str) -> ApiResult<()> {
    let index =
        position(space.space, kind, id_or_slug).ok_or_else(|| ApiError::not_found(id_or_slug))?;
    if kind.collection == "feeds"
        && str_field(&space.space.docs("feeds")[index], "FeedType") == Some("BuiltIn")
    {
        return Err(ApiError::bad_request(
            "The built-in feed cannot be deleted.",
        ));
    }
    let doc = space.space.docs_mut(kind.collection).remove(index);
    if let Some(cascade) = kind.cascade {
        cascade(space, &doc);
    }
    Ok(())
}
