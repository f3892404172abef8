//! octofleet: run a fleet of managed Octopus Deploy spaces from template projects.

pub mod actions;
mod apply;
mod blueprint;
pub mod cli;
pub mod config;
mod convert;
pub mod entry_point;
pub mod fleet;
pub mod forge;
mod http_client;
pub mod inputs;
pub mod log_format;
pub mod octopus;
mod origin;
mod outcome;
pub mod package;
pub mod portable;
pub mod report;
pub mod secret;
pub mod service_messages;
pub mod terraform;

#[cfg(test)]
mod tests {
    //! The layering docs/architecture.md draws is the code's: read from the drawing and from the
    //! imports in `src/`, as text (comments left out).
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    /// `src/…` as a person reads it.
    fn shown(file: &Path) -> String {
        file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(file)
            .display()
            .to_string()
    }

    /// The rows of the drawing under "## Layers", top first, as module names (`actions/` and
    /// `cli.rs` are `actions` and `cli`).
    fn layers() -> Vec<Vec<String>> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md");
        let page = std::fs::read_to_string(path).expect("docs/architecture.md is there");
        let section = page
            .split("\n## Layers\n")
            .nth(1)
            .expect("docs/architecture.md has a `## Layers` section");
        let drawing = section
            .split("```text\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("the Layers section draws the rows in a ```text block");
        drawing
            .lines()
            .map(|row| {
                row.split_whitespace()
                    .map(|name| {
                        name.trim_end_matches('/')
                            .trim_end_matches(".rs")
                            .to_owned()
                    })
                    .collect()
            })
            .collect()
    }

    /// Every `.rs` file under `dir`.
    fn files(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("src/ is readable").path();
            if path.is_dir() {
                files(&path, found);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                found.push(path);
            }
        }
    }

    /// The text without `//` comments (doc comments name modules they do not import).
    fn code(text: &str) -> String {
        text.lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The paths `text` names after `prefix` (`crate::`, `super::`), each as its segments, with
    /// `prefix{a::b, c}` groups taken apart.
    fn paths(text: &str, prefix: &str) -> Vec<Vec<String>> {
        let mut found = Vec::new();
        for (at, _) in text.match_indices(prefix) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &text[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let end = group
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += match c {
                            '{' => 1,
                            '}' => -1,
                            _ => 0,
                        };
                        depth < 0
                    })
                    .map_or(group.len(), |(end, _)| end);
                let mut depth = 0;
                let mut item = String::new();
                for c in group[..end].chars().chain([',']) {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            found.push(segments(&item));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
            } else {
                found.push(segments(rest));
            }
        }
        found.retain(|path| !path.is_empty());
        found
    }

    fn segments(text: &str) -> Vec<String> {
        let path: String = text
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        path.split("::")
            .take_while(|segment| !segment.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `src/convert/variables.rs` is in module `convert`, `src/main.rs` in `main`.
    fn module_of(file: &Path) -> String {
        let relative = file.strip_prefix(src()).expect("under src/");
        let first = relative.components().next().expect("a file under src/");
        first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned()
    }

    #[test]
    fn imports_point_down_the_layers() {
        let layers = layers();
        let row_of: BTreeMap<&str, usize> = layers
            .iter()
            .enumerate()
            .flat_map(|(row, names)| names.iter().map(move |name| (name.as_str(), row)))
            .collect();
        let mut all = Vec::new();
        files(&src(), &mut all);
        let mut wrong = Vec::new();
        for file in &all {
            let module = module_of(file);
            if module == "lib" {
                continue;
            }
            let Some(&row) = row_of.get(module.as_str()) else {
                wrong.push(format!("src/{module} is not in the Layers drawing"));
                continue;
            };
            let text = code(&std::fs::read_to_string(file).expect("a source file"));
            let prefix = if module == "main" {
                "octofleet::"
            } else {
                "crate::"
            };
            for path in paths(&text, prefix) {
                let target = &path[0];
                if *target == module {
                    continue;
                }
                match row_of.get(target.as_str()) {
                    Some(&target_row) if target_row > row => {}
                    Some(_) => wrong.push(format!(
                        "{}: {prefix}{} points up or sideways ({module} is on row {}, {target} on row {})",
                        shown(file),
                        path.join("::"),
                        row + 1,
                        row_of[target.as_str()] + 1
                    )),
                    None => wrong.push(format!(
                        "{}: {prefix}{} is not in the Layers drawing",
                        shown(file),
                        path.join("::")
                    )),
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// Within a folder the files import one way too: no two of them (its `mod.rs`, which declares
    /// and re-exports them, aside) reach each other through `super::` or `crate::`.
    #[test]
    fn no_import_circle_between_the_files_of_a_folder() {
        let mut all = Vec::new();
        files(&src(), &mut all);
        let stem = |path: &Path| path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
        for file in &all {
            if stem(file).as_deref() == Some("mod") {
                continue;
            }
            let dir = file.parent().expect("a file has a folder");
            let text = code(&std::fs::read_to_string(file).expect("a source file"));
            let mut targets: Vec<PathBuf> = paths(&text, "super::")
                .into_iter()
                .map(|path| dir.join(format!("{}.rs", path[0])))
                .collect();
            for path in paths(&text, "crate::") {
                let mut at = src();
                for segment in &path {
                    at.push(segment);
                    let file = at.with_extension("rs");
                    if file.parent() == Some(dir) {
                        targets.push(file);
                        break;
                    }
                }
            }
            for target in targets {
                if target != *file && all.contains(&target) {
                    edges.entry(file.clone()).or_default().insert(target);
                }
            }
        }
        // Depth-first search: a file met again while it is still on the path closes a circle.
        fn visit(
            file: &PathBuf,
            edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>,
            path: &mut Vec<PathBuf>,
            done: &mut BTreeSet<PathBuf>,
            circles: &mut Vec<String>,
        ) {
            if let Some(at) = path.iter().position(|on| on == file) {
                let circle: Vec<String> = path[at..]
                    .iter()
                    .chain([file])
                    .map(|file| shown(file))
                    .collect();
                circles.push(circle.join(" -> "));
                return;
            }
            if !done.insert(file.clone()) {
                return;
            }
            path.push(file.clone());
            for next in edges.get(file).into_iter().flatten() {
                visit(next, edges, path, done, circles);
            }
            path.pop();
        }
        let mut circles = Vec::new();
        let mut done = BTreeSet::new();
        for file in edges.keys() {
            visit(file, &edges, &mut Vec::new(), &mut done, &mut circles);
        }
        assert!(circles.is_empty(), "{}", circles.join("\n"));
    }
}
