//! Script modules: library variable sets of content type `ScriptModule` (the module's body and
//! language are two ordinary variables of the set, `Octopus.Script.Module[<name>]` and
//! `Octopus.Script.Module.Language[<name>]`, written by the client: go-octopusdeploy
//! `pkg/variables/script_module_service.go` creates the set, then PUTs both into its variable
//! set). Listing by `?contentType=` is the collection's field filter (`kinds.rs`).
//!
//! The content type is `[WriteableOnCreate]` (OctopusClients `Model/LibraryVariableSetResource.cs`,
//! enum `VariableSetContentType { Variables, ScriptModule }`): an update keeps the stored one.
//! Searched without finding a rule, so not emulated: whether the server checks the language
//! variable's value. Clients validate it themselves (the provider's `octopusdeploy_script_module`
//! against `Bash`, `CSharp`, `FSharp`, `PowerShell`, `Python`; OctopusClients' `ScriptSyntax`
//! lists `PowerShell`, `Bash`, `CSharp`, `Python`), and a variable's value is free text to the
//! variables API, so the emulator stores what it is sent.

use serde_json::{json, Map, Value};

use crate::documents::str_field;
use crate::kinds::Change;
use crate::reply::{ApiError, ApiResult};

/// The content types a library variable set may have.
const CONTENT_TYPES: [&str; 2] = ["Variables", "ScriptModule"];

/// A set's content type is one of the two, and never changes after it is created.
pub fn content_type_rule(doc: &mut Map<String, Value>, change: &Change<'_>) -> ApiResult<()> {
    if let Some(old) = change.old {
        let kept = str_field(old, "ContentType").unwrap_or("Variables");
        doc.insert("ContentType".into(), json!(kept));
        return Ok(());
    }
    let sent = doc
        .get("ContentType")
        .and_then(Value::as_str)
        .unwrap_or("Variables");
    // An enum on the server (OctopusClients); a name it does not know cannot be bound, so it is
    // refused (inferred: no public source shows the message).
    match CONTENT_TYPES.iter().find(|t| t.eq_ignore_ascii_case(sent)) {
        Some(known) => {
            doc.insert("ContentType".into(), json!(known));
            Ok(())
        }
        None => Err(ApiError::bad_request(format!(
            "The ContentType `{sent}` is not valid: use Variables or ScriptModule."
        ))),
    }
}
