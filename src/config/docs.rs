//! `docs/inputs.md`, rendered from the input table and each action's rows, so the document
//! cannot drift from what the binary reads. A test compares the file with the rendering;
//! `OCTOFLEET_BLESS=1 cargo test --lib config::docs` rewrites it.

use crate::inputs::Input;

/// Each action (deploy and plan share one) with the inputs it reads and what each is for.
pub const ACTIONS: &[(&str, &[(Input, &str)])] = &[
    ("create-space", super::create_space::INPUTS),
    ("serialize", super::serialize::INPUTS),
    ("deploy` and `plan", super::deploy::INPUTS),
    ("fork", super::fork::INPUTS),
    ("merge", super::merge::INPUTS),
    ("fleet", super::fleet::FLEET_INPUTS),
    ("rollout", super::fleet::ROLLOUT_INPUTS),
];

/// The markdown of `docs/inputs.md`.
pub fn inputs_markdown() -> String {
    let mut text = String::from(
        "# Inputs\n\n\
         <!-- Generated from src/config/ by `OCTOFLEET_BLESS=1 cargo test --lib config::docs`; do not edit. -->\n\n\
         Every input has an Octopus variable name, an environment alias (upper case, `.` → `_`) and \
         a flag; a flag beats the environment, and the dotted Octopus name is read from the \
         environment too. Blank counts as unset. A value still holding `#{…}` (an Octopus variable \
         that was never substituted) counts as unset for an optional input, with a warning, and is \
         an error naming the input for a required one. Missing or malformed inputs are reported all \
         at once; the exit code is 2.\n",
    );
    for (action, inputs) in ACTIONS {
        text.push_str(&format!(
            "\n## `octofleet {action}`\n\n\
             | Octopus variable | environment alias | flag | required, default, what for |\n\
             |---|---|---|---|\n"
        ));
        for (input, purpose) in *inputs {
            text.push_str(&format!(
                "| `{}` | `{}` | `--{}` | {} |\n",
                input.octopus,
                input.env,
                input.flag,
                purpose.replace('|', "\\|")
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command;
    use std::collections::BTreeSet;

    #[test]
    fn docs_inputs_md_is_rendered_from_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/inputs.md");
        let rendered = inputs_markdown();
        if std::env::var_os("OCTOFLEET_BLESS").is_some_and(|value| value == "1") {
            std::fs::write(&path, &rendered).unwrap();
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            written == rendered,
            "docs/inputs.md is not what src/config/ renders: run `OCTOFLEET_BLESS=1 cargo test --lib config::docs` and commit the file"
        );
    }

    /// Each action's rows are exactly the inputs its subcommand takes (plus the global timeout).
    #[test]
    fn each_action_documents_exactly_the_inputs_it_takes() {
        let command = command();
        let global: BTreeSet<&str> = command
            .get_arguments()
            .filter_map(|argument| argument.get_env())
            .filter_map(|env| Input::by_env(env.to_str().unwrap()))
            .map(|input| input.octopus)
            .collect();
        for (action, inputs) in ACTIONS {
            let documented: Vec<&str> = inputs.iter().map(|(input, _)| input.octopus).collect();
            let unique: BTreeSet<&str> = documented.iter().copied().collect();
            assert_eq!(unique.len(), documented.len(), "{action}: a row twice");
            for name in action.split("` and `") {
                let subcommand = command.find_subcommand(name).unwrap();
                let taken: BTreeSet<&str> = subcommand
                    .get_arguments()
                    .filter_map(|argument| argument.get_env())
                    .filter_map(|env| Input::by_env(env.to_str().unwrap()))
                    .map(|input| input.octopus)
                    .chain(global.iter().copied())
                    .collect();
                assert_eq!(unique, taken, "{name}");
            }
        }
    }
}
