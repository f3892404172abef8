//! Setting a tenant's common (library variable set) variable by template name, through the
//! scoped `commonvariables` API when the server has it and the legacy `variables` document otherwise.

use super::client::OctopusClient;
use super::error::OctopusError;
use super::resources::{
    Api, CommonVariable, CommonVariableScope, CommonVariables, LegacyTenantVariables,
    PropertyValue, Tenant,
};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantVariableWrite {
    Unchanged,
    Updated,
}

#[derive(Debug, thiserror::Error)]
pub enum TenantVariableError {
    #[error(transparent)]
    Octopus(#[from] OctopusError),
    #[error("tenant {tenant_id} was not found in space {space_id}")]
    TenantMissing { tenant_id: String, space_id: String },
    #[error(
        "tenant `{tenant}` has no common variable template named `{template}`: add the template to a \
         library variable set (the article's \"Octopus Server\" set) and connect the tenant to a project \
         that includes that set"
    )]
    TemplateMissing { tenant: String, template: String },
}

/// Make the tenant's value for the common variable template `template_name` equal `value`
/// (every scoped value of that template, or one unscoped value when there is none yet).
pub async fn set_common_variable(
    client: &OctopusClient,
    space_id: &str,
    tenant_id: &str,
    template_name: &str,
    value: &str,
) -> Result<TenantVariableWrite, TenantVariableError> {
    // Both reads need only the tenant id: one round trip, not two.
    let tenants = Api::<Tenant>::new(client, Some(space_id));
    let scoped_path = format!("api/{space_id}/tenants/{tenant_id}/commonvariables");
    let request = super::ApiRequest::get(&scoped_path).query("includeMissingVariables", "true");
    let (tenant, scoped) = tokio::join!(
        tenants.get_opt(tenant_id),
        client.send_json::<CommonVariables>(&request)
    );
    let tenant = tenant?.ok_or_else(|| TenantVariableError::TenantMissing {
        tenant_id: tenant_id.to_owned(),
        space_id: space_id.to_owned(),
    })?;
    match scoped {
        Ok(current) => {
            set_scoped(
                client,
                &scoped_path,
                space_id,
                &tenant,
                current,
                template_name,
                value,
            )
            .await
        }
        // Servers before 2025.2 have only the legacy document.
        Err(error) if error.is_not_found() => {
            set_legacy(client, space_id, &tenant, template_name, value).await
        }
        Err(error) => Err(error.into()),
    }
}

async fn set_scoped(
    client: &OctopusClient,
    path: &str,
    space_id: &str,
    tenant: &Tenant,
    mut current: CommonVariables,
    template_name: &str,
    value: &str,
) -> Result<TenantVariableWrite, TenantVariableError> {
    let is_template = |variable: &CommonVariable| {
        variable
            .template
            .as_ref()
            .is_some_and(|template| template.name == template_name)
    };
    let wanted = PropertyValue::Text(value.to_owned());
    let mut changed = false;
    let mut found = false;
    for variable in current
        .variables
        .iter_mut()
        .filter(|variable| is_template(variable))
    {
        found = true;
        if variable.value.as_ref() != Some(&wanted) {
            variable.value = Some(wanted.clone());
            changed = true;
        }
    }
    if !found {
        let missing = current
            .missing_variables
            .iter()
            .find(|variable| is_template(variable))
            .ok_or_else(|| TenantVariableError::TemplateMissing {
                tenant: tenant.name.clone(),
                template: template_name.to_owned(),
            })?;
        current.variables.push(CommonVariable {
            id: None,
            value: Some(wanted),
            scope: CommonVariableScope::default(),
            ..missing.clone()
        });
        changed = true;
    }
    if !changed {
        return Ok(TenantVariableWrite::Unchanged);
    }
    // The list is complete (omitted values are deleted). Newer servers name the owner
    // `OwnerId`, older clients send `LibraryVariableSetId`: both are sent.
    let variables: Vec<_> = current
        .variables
        .iter()
        .map(|variable| {
            let mut body = json!({
                "OwnerId": variable.library_variable_set_id,
                "LibraryVariableSetId": variable.library_variable_set_id,
                "TemplateId": variable.template_id,
                "Value": variable.value,
                "Scope": {"EnvironmentIds": variable.scope.environment_ids},
            });
            if let Some(id) = &variable.id {
                body["Id"] = json!(id);
            }
            body
        })
        .collect();
    let mut body = json!({
        "SpaceId": space_id,
        "TenantId": tenant.id,
        "Variables": variables,
    });
    if let Some(token) = &current.concurrency_token {
        body["ConcurrencyToken"] = json!(token);
    }
    client.put(path, &body).await?;
    Ok(TenantVariableWrite::Updated)
}

async fn set_legacy(
    client: &OctopusClient,
    space_id: &str,
    tenant: &Tenant,
    template_name: &str,
    value: &str,
) -> Result<TenantVariableWrite, TenantVariableError> {
    let tenant_id = tenant.id.as_deref().unwrap_or_default();
    let path = format!("api/{space_id}/tenants/{tenant_id}/variables");
    let mut document: LegacyTenantVariables = client.get(&path).await?;
    let wanted = PropertyValue::Text(value.to_owned());
    let mut found = false;
    let mut changed = false;
    for set in document.library_variables.values_mut() {
        let template_ids: Vec<String> = set
            .templates
            .iter()
            .filter(|template| template.name == template_name)
            .filter_map(|template| template.id.clone())
            .collect();
        for template_id in template_ids {
            found = true;
            if set.variables.get(&template_id) != Some(&wanted) {
                set.variables.insert(template_id, wanted.clone());
                changed = true;
            }
        }
    }
    if !found {
        return Err(TenantVariableError::TemplateMissing {
            tenant: tenant.name.clone(),
            template: template_name.to_owned(),
        });
    }
    if !changed {
        return Ok(TenantVariableWrite::Unchanged);
    }
    client.put(&path, &document).await?;
    Ok(TenantVariableWrite::Updated)
}
