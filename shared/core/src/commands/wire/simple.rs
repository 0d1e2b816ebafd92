//! Commands without parameters: ClearCache and GetLocalListVersion, the same
//! in both versions.

use super::{call, Call};
use serde_json::json;

pub(super) fn clear_cache() -> Call {
    call("ClearCache", json!({}))
}

pub(super) fn local_list_version() -> Call {
    call("GetLocalListVersion", json!({}))
}
