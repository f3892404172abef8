//! The portable project model (a versioned, name-based JSON format), its schema, and how it is
//! read from an Octopus server. Knows nothing of HTTP itself: `reader` takes already-fetched documents.

// The model's fields are the Octopus project's own, under the API's names in snake_case (names where
// the API has ids, which those fields' docs say), and its docs become the descriptions of the
// published docs/project.schema.json: a field documented only to satisfy `missing_docs` would
// repeat its name there. So the lint is allowed for this module; what is ours (the secrets, the
// `carries_*` flags, `extra`) or differs from the API is documented where it stands.
pub mod definitions;
#[allow(missing_docs)]
pub mod model;
pub mod naming;
pub mod reader;
pub mod reference_kind;
pub mod references;
pub mod trigger;
pub mod upgrade;
pub mod validate;

pub use model::*;

/// The published JSON Schema of `project.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PortableProject)).expect("the schema serializes")
}
