//! Query-string parameters and the paged collection envelope (`ItemType`, `TotalResults`, `Page.Next`, …).

use serde_json::{json, Map, Value};

/// `take` when the client sends none, as on the real server.
pub const DEFAULT_TAKE: usize = 30;
/// What clients send to mean "everything" and what `Page.All` links to.
pub const TAKE_ALL: usize = 2_147_483_647;

/// Parsed query string; keys match case-insensitively (`IncludeMissingVariables` = `includeMissingVariables`).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        Query {
            pairs: form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// Add a parameter (nested routes add their implicit filter, e.g. `projectId`).
    pub fn push(&mut self, key: &str, value: &str) {
        self.pairs.push((key.to_string(), value.to_string()));
    }

    /// The first non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.all(key).into_iter().find(|v| !v.is_empty())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Comma lists and repeated parameters both work: `ids=a,b&ids=c`.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.all(key)
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub fn number(&self, key: &str) -> Option<usize> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }

    pub fn skip(&self) -> usize {
        self.number("skip").unwrap_or(0)
    }

    pub fn take(&self) -> usize {
        self.number("take").unwrap_or(DEFAULT_TAKE)
    }
}

/// Wrap already filtered items into one page of a collection. `base` is the collection path
/// (`/api/Spaces-1/environments`), `template` its RFC 6570 query part (`{?skip,ids,take,partialName}`).
pub fn page(
    items: Vec<Value>,
    item_type: &str,
    base: &str,
    template: &str,
    query: &Query,
) -> Value {
    let total = items.len();
    let items: Vec<Value> = items
        .into_iter()
        .skip(query.skip())
        .take(query.take())
        .collect();
    page_of(total, items, item_type, base, template, query)
}

/// The envelope of one page whose items are already cut out of `total` matches (large
/// server-generated collections such as tasks render only the page they answer).
pub fn page_of(
    total: usize,
    items: Vec<Value>,
    item_type: &str,
    base: &str,
    template: &str,
    query: &Query,
) -> Value {
    let skip = query.skip();
    let take = query.take();
    let pages = if take == 0 {
        1
    } else {
        total.div_ceil(take).max(1)
    };
    let last_page = pages - 1;
    let at = |skip: usize| format!("{base}?skip={skip}&take={take}");

    let mut links = Map::new();
    links.insert("Self".into(), json!(at(skip)));
    links.insert("Template".into(), json!(format!("{base}{template}")));
    links.insert(
        "Page.All".into(),
        json!(format!("{base}?skip=0&take={TAKE_ALL}")),
    );
    links.insert("Page.Current".into(), json!(at(skip)));
    if take > 0 && skip.saturating_add(take) < total {
        links.insert("Page.Next".into(), json!(at(skip + take)));
    }
    links.insert(
        "Page.Last".into(),
        json!(at(last_page.saturating_mul(take))),
    );

    json!({
        "ItemType": item_type,
        "TotalResults": total,
        "ItemsPerPage": take,
        "NumberOfPages": pages,
        "LastPageNumber": last_page,
        "Items": items,
        "Links": links,
    })
}
