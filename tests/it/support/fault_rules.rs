//! What a test that arms faults asserts at its end: every rule it armed fired, and a lost answer
//! was never followed by a second POST of the same resource.

use octopus_emulator::Emulator;
use std::collections::BTreeMap;

/// Every fault rule armed on the emulator fired (cleared rules included): a rule that never fired
/// means the run never went down the path the test was written for.
pub fn assert_every_fault_fired(emulator: &Emulator) {
    let rules = emulator.fault_rules();
    assert!(!rules.is_empty(), "the test armed no fault rule");
    let unfired = emulator.unfired_faults();
    assert!(
        unfired.is_empty(),
        "fault rules that never fired: {}\n(all rules: {})",
        list(&unfired),
        list(&rules)
    );
}

/// Every rule armed on the forge fired (a gathered race happened).
pub fn assert_every_forge_rule_fired(forge: &forge_emulator::ForgeEmulator) {
    let rules = forge.rules();
    assert!(!rules.is_empty(), "the test armed no forge rule");
    let unfired = forge.unfired_rules();
    assert!(
        unfired.is_empty(),
        "forge rules that never fired: {}",
        list(&unfired)
    );
}

fn list<T: std::fmt::Display>(rules: &[T]) -> String {
    rules
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each resource was POSTed once: no (collection, name) was created twice. After a create whose
/// answer was lost the client must re-read by name and find what it made ("never by a blind
/// second POST", docs/actions.md); a second POST would create a duplicate wherever the server
/// takes duplicate names, so it is a failure here even where the emulator refuses it.
pub fn assert_each_resource_posted_once(emulator: &Emulator) {
    let mut creates: BTreeMap<(String, String), Vec<u16>> = BTreeMap::new();
    for request in emulator.requests() {
        if let (true, Some(name)) = (request.method == "POST", request.name) {
            creates
                .entry((request.path, name))
                .or_default()
                .push(request.status);
        }
    }
    assert!(!creates.is_empty(), "the run created nothing");
    let repeated: Vec<_> = creates
        .iter()
        .filter(|(_, statuses)| statuses.len() > 1)
        .collect();
    assert!(
        repeated.is_empty(),
        "POSTed more than once ((path, name): statuses): {repeated:?}"
    );
}
