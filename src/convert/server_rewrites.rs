//! What a real Octopus server rewrites in an action's `Properties` when a process is saved, in
//! one place: a desired action is built as the server will store it, so comparing it with what
//! the server returns shows only real changes (a re-deploy writes nothing, a plan is clean).
//!
//! Sources: octoterra's `FixRunOnServer` and `FixOctopusUseBundledTooling`
//! (OctopusSolutionsEngineering/OctopusTerraformExport,
//! cmd/internal/converters/octopus_action_processor.go), the provider's boolean-casing
//! normalisation and its note on `OctopusUseBundledTooling` (injected when a step runs inside a
//! container: octopusdeploy_framework/resource_process_step.go), and the real payloads in
//! tests/fixtures/octopus-payloads (the package mirror keys beside a primary package;
//! `OctopusUseBundledTooling` on a container step).

use crate::octopus::resources::{ProcessAction, PropertyValue};

const RUN_ON_SERVER: &str = "Octopus.Action.RunOnServer";
const USE_BUNDLED_TOOLING: &str = "OctopusUseBundledTooling";

/// Action types that only run on the server or a worker: stored with RunOnServer `"true"`.
/// octoterra's list also has Octopus.Script, Kustomize and Helm, which can run on deployment
/// targets: a real choice there, so left as sent.
const RUNS_ONLY_ON_SERVER: [&str; 9] = [
    "Octopus.Manual",
    "Octopus.Email",
    "Octopus.DeployRelease",
    "Octopus.JiraIntegration.ServiceDeskAction",
    "Octopus.HealthCheck",
    "Octopus.AzureResourceGroup",
    "Octopus.AwsRunCloudFormation",
    "Octopus.AwsDeleteCloudFormation",
    "Octopus.AwsApplyCloudFormationChangeSet",
];

/// Whether the action runs inside a container: the server then stores
/// `OctopusUseBundledTooling = "False"` when it is absent, whatever the action type (the
/// provider: "The server automatically injects OctopusUseBundledTooling into a step's execution
/// properties when the step runs inside a container", OctopusDeploy/terraform-provider-octopusdeploy
/// octopusdeploy_framework/resource_process_step.go, and its acceptance test
/// `TestAccOctopusDeployProcessStepContainerBundledTooling` on an `Octopus.Script` step).
fn runs_in_container(action: &ProcessAction) -> bool {
    action
        .container
        .as_ref()
        .and_then(|c| c.image.as_deref())
        .is_some_and(|image| !image.trim().is_empty())
}

fn text(value: &str) -> PropertyValue {
    PropertyValue::Text(value.to_owned())
}

/// Apply the server's rewrites to `action` (its type, properties and packages already set).
pub fn as_the_server_stores(action: &mut ProcessAction) {
    let in_container = runs_in_container(action);
    let action_type = action.action_type.as_str();
    let properties = &mut action.properties;
    if let Some(PropertyValue::Text(value)) = properties.get_mut(RUN_ON_SERVER) {
        if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
            *value = value.to_ascii_lowercase();
        }
    }
    if RUNS_ONLY_ON_SERVER.contains(&action_type) {
        properties.insert(RUN_ON_SERVER.into(), text("true"));
    }
    if in_container {
        properties
            .entry(USE_BUNDLED_TOOLING.into())
            .or_insert_with(|| text("False"));
    }
    // The package mirror keys follow the primary package (the reference named "").
    if let Some(primary) = action.packages.iter().find(|p| p.name.is_empty()) {
        if let Some(feed) = &primary.feed_id {
            properties.insert("Octopus.Action.Package.FeedId".into(), text(feed));
        }
        properties.insert(
            "Octopus.Action.Package.PackageId".into(),
            text(&primary.package_id),
        );
        properties
            .entry("Octopus.Action.Package.DownloadOnTentacle".into())
            .or_insert_with(|| text("False"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::octopus::resources::{ActionContainer, ActionPackageReference};

    fn action(action_type: &str, properties: &[(&str, &str)]) -> ProcessAction {
        ProcessAction {
            name: "A".into(),
            action_type: action_type.into(),
            properties: properties
                .iter()
                .map(|(k, v)| (k.to_string(), text(v)))
                .collect(),
            ..Default::default()
        }
    }

    fn property(action: &ProcessAction, key: &str) -> Option<String> {
        action
            .properties
            .get(key)
            .and_then(|v| v.as_text())
            .map(str::to_owned)
    }

    /// Action type, properties sent, the property looked at, what the server stores.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, Option<&'a str>);

    #[test]
    fn each_rewrite_in_a_table() {
        let cases: [Case; 6] = [
            (
                "Octopus.Script",
                &[(RUN_ON_SERVER, "True")],
                RUN_ON_SERVER,
                Some("true"),
            ),
            (
                "Octopus.Script",
                &[(RUN_ON_SERVER, "false")],
                RUN_ON_SERVER,
                Some("false"),
            ),
            (
                "Octopus.Manual",
                &[(RUN_ON_SERVER, "false")],
                RUN_ON_SERVER,
                Some("true"),
            ),
            ("Octopus.Email", &[], RUN_ON_SERVER, Some("true")),
            // Without a container nothing is injected, whatever the action type.
            (
                "Octopus.KubernetesDeployRawYaml",
                &[],
                USE_BUNDLED_TOOLING,
                None,
            ),
            ("Octopus.Script", &[], USE_BUNDLED_TOOLING, None),
        ];
        for (action_type, properties, key, expected) in cases {
            let mut action = action(action_type, properties);
            as_the_server_stores(&mut action);
            assert_eq!(
                property(&action, key).as_deref(),
                expected,
                "{action_type} {properties:?}"
            );
        }
        let mut kept = action("Octopus.HelmChartUpgrade", &[(USE_BUNDLED_TOOLING, "True")]);
        kept.container = Some(in_worker_tools());
        as_the_server_stores(&mut kept);
        assert_eq!(
            property(&kept, USE_BUNDLED_TOOLING).as_deref(),
            Some("True")
        );
    }

    fn in_worker_tools() -> ActionContainer {
        ActionContainer {
            feed_id: Some("Feeds-1".into()),
            image: Some("octopusdeploy/worker-tools:latest".into()),
            ..Default::default()
        }
    }

    /// The provider's acceptance test: an `Octopus.Script` step with a container gets it; the
    /// same step without one (or with an empty image) does not.
    #[test]
    fn bundled_tooling_follows_the_container_not_the_action_type() {
        for action_type in ["Octopus.Script", "Octopus.KubernetesDeployRawYaml"] {
            let mut in_container = action(action_type, &[]);
            in_container.container = Some(in_worker_tools());
            as_the_server_stores(&mut in_container);
            assert_eq!(
                property(&in_container, USE_BUNDLED_TOOLING).as_deref(),
                Some("False"),
                "{action_type}"
            );
        }
        let mut no_image = action("Octopus.Script", &[]);
        no_image.container = Some(ActionContainer {
            feed_id: Some("Feeds-1".into()),
            image: Some(String::new()),
            ..Default::default()
        });
        as_the_server_stores(&mut no_image);
        assert_eq!(property(&no_image, USE_BUNDLED_TOOLING), None);
    }

    #[test]
    fn package_mirror_keys_follow_the_primary_package() {
        let mut deploy = action(
            "Octopus.TentaclePackage",
            &[
                ("Octopus.Action.Package.PackageId", "old"),
                ("Octopus.Action.Package.DownloadOnTentacle", "True"),
            ],
        );
        deploy.packages = vec![ActionPackageReference {
            name: String::new(),
            package_id: "hello-world".into(),
            feed_id: Some("feeds-builtin".into()),
            ..Default::default()
        }];
        as_the_server_stores(&mut deploy);
        assert_eq!(
            property(&deploy, "Octopus.Action.Package.PackageId").as_deref(),
            Some("hello-world")
        );
        assert_eq!(
            property(&deploy, "Octopus.Action.Package.FeedId").as_deref(),
            Some("feeds-builtin")
        );
        assert_eq!(
            property(&deploy, "Octopus.Action.Package.DownloadOnTentacle").as_deref(),
            Some("True")
        );
        // Named packages alone do not touch them.
        let mut named = action("Octopus.Script", &[]);
        named.packages = vec![ActionPackageReference {
            name: "tools".into(),
            package_id: "t".into(),
            ..Default::default()
        }];
        as_the_server_stores(&mut named);
        assert!(named.properties.is_empty());
    }
}
