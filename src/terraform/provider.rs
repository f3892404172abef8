//! The module's fixed files: `config.tf` (provider requirement, backend), `provider.tf` and
//! `provider_vars.tf` (the three variables every octoterra runbook passes).

use super::emit::{self, BlockWriter};
use super::ModuleOptions;
use hcl::Block;

pub fn config_file(options: &ModuleOptions) -> Vec<Block> {
    let provider = emit::object(vec![
        ("source", emit::text("OctopusDeploy/octopusdeploy")),
        ("version", emit::text(&options.provider_version)),
    ]);
    let required_providers = BlockWriter::new("required_providers", &[])
        .attr("octopusdeploy", provider)
        .build();
    let mut terraform = BlockWriter::new("terraform", &[])
        .block(required_providers)
        .attr("required_version", emit::text(">= 1.6.0"));
    if let Some(backend) = &options.backend {
        // Configured at `terraform init` time (`-backend-config`), as octoterra leaves it.
        terraform = terraform.block(BlockWriter::new("backend", &[backend]).build());
    }
    vec![terraform.build()]
}

pub fn provider_file() -> Vec<Block> {
    vec![BlockWriter::new("provider", &["octopusdeploy"])
        .attr("address", emit::reference("trimspace(var.octopus_server)"))
        .attr("api_key", emit::reference("trimspace(var.octopus_apikey)"))
        .attr(
            "space_id",
            emit::reference("trimspace(var.octopus_space_id)"),
        )
        .build()]
}

pub fn provider_vars_file() -> Vec<Block> {
    let variable = |name: &str, description: &str, sensitive: bool| {
        let mut block = BlockWriter::new("variable", &[name])
            .attr("type", emit::keyword("string"))
            .attr("nullable", false.into());
        if sensitive {
            block = block.attr("sensitive", true.into());
        }
        block.attr("description", emit::text(description)).build()
    };
    vec![
        variable("octopus_server", "The URL of the Octopus server e.g. https://myinstance.octopus.app.", false),
        variable("octopus_apikey", "The API key used to access the Octopus server. See https://octopus.com/docs/octopus-rest-api/how-to-create-an-api-key for details on creating an API key.", true),
        variable("octopus_space_id", "The ID of the Octopus space to populate.", false),
    ]
}
