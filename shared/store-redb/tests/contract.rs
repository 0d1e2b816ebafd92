//! The shared store contract, run against the in-memory backend.

csms_kernel::store_contract_tests!(csms_store_redb::EmbeddedStore::temporary());
