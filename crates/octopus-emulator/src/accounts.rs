//! Accounts (`/api/{space}/accounts`): the account types and the secrets each one holds, stored
//! out of sight and answered as `{HasValue, NewValue: null}` like every other SensitiveValue.

use serde_json::{Map, Value};

use crate::documents::is_missing;
use crate::kinds::Change;
use crate::reply::{ApiError, ApiResult};
use crate::secrets::secret_of;
use crate::state::SpaceMut;

/// The account types a space holds: go-octopusdeploy `pkg/accounts/account_resource.go`
/// (`AccountType … validate:"required,oneof=None UsernamePassword SshKeyPair AzureSubscription
/// AzureServicePrincipal AzureOidc AmazonWebServicesAccount AmazonWebServicesRoleAccount
/// AmazonWebServicesOidcAccount GoogleCloudAccount GenericOidcAccount Token"`).
pub const ACCOUNT_TYPES: &[&str] = &[
    "None",
    "UsernamePassword",
    "SshKeyPair",
    "AzureSubscription",
    "AzureServicePrincipal",
    "AzureOidc",
    "AmazonWebServicesAccount",
    "AmazonWebServicesRoleAccount",
    "AmazonWebServicesOidcAccount",
    "GoogleCloudAccount",
    "GenericOidcAccount",
    "Token",
];

/// The fields that are SensitiveValues in go-octopusdeploy's `AccountResource`
/// (`*core.SensitiveValue`: `Password`, `CertificateBytes`, `JsonKey`, `PrivateKeyFile`,
/// `PrivateKeyPassphrase`, `SecretKey`, `Token`).
const SECRET_FIELDS: &[&str] = &[
    "Password",
    "CertificateBytes",
    "JsonKey",
    "PrivateKeyFile",
    "PrivateKeyPassphrase",
    "SecretKey",
    "Token",
];

/// What each type requires, from go-octopusdeploy's per-type models (`validate:"required"`):
/// `amazon_web_services_account.go` (AccessKey, SecretKey), `azure_service_principal_account.go`
/// (ClientId, Password, SubscriptionNumber, TenantId), `azure_oidc_account.go` (ClientId,
/// SubscriptionNumber, TenantId), `azure_subscription_account.go` (SubscriptionNumber),
/// `google_cloud_platform_account.go` (JsonKey), `token_account.go` (Token), `ssh_key_account.go`
/// (Username, PrivateKeyFile). These are the client's checks; the server's own validation is not
/// public (searched: go-octopusdeploy, the provider, OctopusClients), so the emulator takes the
/// client's as the server's.
fn required_fields(account_type: &str) -> &'static [&'static str] {
    match account_type {
        "AmazonWebServicesAccount" => &["AccessKey", "SecretKey"],
        "AzureServicePrincipal" => &["ClientId", "Password", "SubscriptionNumber", "TenantId"],
        "AzureOidc" => &["ClientId", "SubscriptionNumber", "TenantId"],
        "AzureSubscription" => &["SubscriptionNumber"],
        "GoogleCloudAccount" => &["JsonKey"],
        "Token" => &["Token"],
        "SshKeyPair" => &["Username", "PrivateKeyFile"],
        _ => &[],
    }
}

/// Validates an account before it is stored (its secrets already absorbed).
pub fn account_rule(
    _: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    let account_type = doc
        .get("AccountType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !ACCOUNT_TYPES.contains(&account_type.as_str()) {
        return Err(ApiError::bad_request(format!(
            "The AccountType field must be one of {}.",
            ACCOUNT_TYPES.join(", ")
        )));
    }
    // The provider marks `account_type` ForceNew (terraform-provider-octopusdeploy
    // `octopusdeploy/schema_utilities.go`, getAccountTypeSchema): a type is never changed in place.
    if let Some(old) = change.old {
        let old_type = old.get("AccountType").and_then(Value::as_str);
        if old_type != Some(account_type.as_str()) {
            return Err(ApiError::bad_request(
                "The type of an existing account cannot be changed.",
            ));
        }
    }
    for field in SECRET_FIELDS {
        // A secret is a SensitiveValue object (go-octopusdeploy types each one
        // `*core.SensitiveValue`); a bare string would be stored and echoed back, so it is refused.
        if matches!(doc.get(*field), Some(Value::String(_))) {
            return Err(ApiError::bad_request(format!(
                "The {field} field is a sensitive value: send {{\"HasValue\": true, \"NewValue\": \"…\"}}."
            )));
        }
    }
    for field in required_fields(&account_type) {
        let present = if SECRET_FIELDS.contains(field) {
            doc.get(*field).and_then(secret_of).is_some()
        } else {
            !is_missing(doc, field)
        };
        if !present {
            return Err(ApiError::required(field));
        }
    }
    Ok(())
}
