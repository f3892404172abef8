//! The Octopus REST client: one server handle, typed resources, paging, errors and retries.

pub mod client;
pub mod error;
pub(crate) mod feed;
pub(crate) mod in_order;
pub mod paging;
pub(crate) mod process_templates;
pub(crate) mod project_export;
pub(crate) mod project_parts;
pub mod resources;
pub(crate) mod retry;
pub(crate) mod run_definitions;
pub(crate) mod space_index;
pub(crate) mod task_queue;
pub(crate) mod tenant_variables;

pub use client::{ApiRequest, ClientBuildError, ClientConfig, OctopusClient};
pub use error::OctopusError;
pub use resources::{Api, Resource};

#[cfg(test)]
mod tests {
    /// Every REST path is spelled under `src/octopus/`: no other module builds an `api/…` route.
    #[test]
    fn no_rest_path_outside_the_octopus_module() {
        fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.ends_with("octopus") && path.parent().is_some_and(|p| p.ends_with("src")) {
                    continue;
                }
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (number, line) in text.lines().enumerate() {
                        if line.contains("\"api/") {
                            found.push(format!(
                                "{}:{}: {}",
                                path.display(),
                                number + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        visit(&src, &mut found);
        assert!(
            found.is_empty(),
            "REST paths outside src/octopus/:\n{}",
            found.join("\n")
        );
    }
}
