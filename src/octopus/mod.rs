//! The Octopus REST client: one server handle, typed resources, paging, errors and retries.

pub mod client;
pub mod error;
pub mod paging;
pub mod project_export;
pub mod resources;
pub mod retry;
pub mod space_resources;
pub mod tenant_variables;

pub use client::{ApiRequest, ClientBuildError, ClientConfig, OctopusClient};
pub use error::OctopusError;
pub use resources::{Api, Resource};
