//! The stored form of the domain records both stores keep as JSON.
//!
//! So far only the golden fixtures (`tests/fixtures`) of what the stores
//! write today; the stored forms follow.
