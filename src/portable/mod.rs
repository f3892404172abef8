//! The portable project model (a versioned, name-based JSON format), its schema, and how it is
//! read from an Octopus server. Knows nothing of HTTP itself: `reader` takes already-fetched documents.

pub mod model;
pub mod naming;
pub mod reader;
pub mod references;
pub mod upgrade;
pub mod validate;

pub use model::*;

/// The published JSON Schema of `project.json`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PortableProject)).expect("the schema serializes")
}
