//! The shared store contract, run against the in-memory backend.

csms_core::store_contract_tests!(csms_store_redb::EmbeddedStore::temporary());
