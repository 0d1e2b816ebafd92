//! Pagination cursors: a DynamoDB key, made opaque.
//!
//! A cursor is the URL-safe base64 (no padding) of a small JSON object holding
//! the string key attributes of the last item of a page, e.g.
//! `{"GSI1PK":"ORG#o#STATION","GSI1SK":"-#b","PK":"STATION#b","SK":"META"}`.
//! Decoding checks that the cursor has exactly the key attributes of the index
//! being queried and belongs to the partition being queried, so a cursor from
//! another listing (or from nowhere) is `InvalidCursor`, never a backend error.

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use csms_kernel::ports::StoreError;
use std::collections::{BTreeMap, HashMap};

pub type Key = HashMap<String, AttributeValue>;

/// Which key attributes a listing's cursors hold, and which one is the
/// partition key of the queried index.
#[derive(Debug, Clone, Copy)]
pub struct KeyShape {
    pub attributes: &'static [&'static str],
    pub partition: &'static str,
}

impl KeyShape {
    /// Cursor for `key` (a `LastEvaluatedKey`, or an item the page ends with):
    /// only the shape's attributes are kept.
    pub fn encode(&self, key: &Key) -> Result<String, StoreError> {
        let mut out = BTreeMap::new();
        for name in self.attributes {
            match key.get(*name) {
                Some(AttributeValue::S(v)) => {
                    out.insert(*name, v.as_str());
                }
                other => {
                    return Err(StoreError::Backend(format!(
                    "cannot build a cursor: key attribute {name} is {other:?}, expected a string"
                )))
                }
            }
        }
        let json =
            serde_json::to_vec(&out).map_err(|e| StoreError::Backend(format!("cursor: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    /// The `ExclusiveStartKey` for `cursor`, which must come from a listing of
    /// the partition `partition_value`.
    pub fn decode(&self, cursor: &str, partition_value: &str) -> Result<Key, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim())
            .map_err(|_| StoreError::InvalidCursor)?;
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
        let same_attributes = map.len() == self.attributes.len()
            && self.attributes.iter().all(|a| map.contains_key(*a));
        if !same_attributes || map.get(self.partition).map(String::as_str) != Some(partition_value)
        {
            return Err(StoreError::InvalidCursor);
        }
        if map.values().any(String::is_empty) {
            return Err(StoreError::InvalidCursor);
        }
        Ok(map
            .into_iter()
            .map(|(k, v)| (k, AttributeValue::S(v)))
            .collect())
    }

    /// The shape's attributes copied from a full item (to start after it).
    pub fn key_of(&self, item: &Key) -> Key {
        self.attributes
            .iter()
            .filter_map(|a| item.get(*a).map(|v| ((*a).to_owned(), v.clone())))
            .collect()
    }
}

/// Main table, one partition.
pub const TABLE: KeyShape = KeyShape {
    attributes: &["PK", "SK"],
    partition: "PK",
};
/// Index GSI1: the table key plus the index key.
pub const GSI1: KeyShape = KeyShape {
    attributes: &["PK", "SK", "GSI1PK", "GSI1SK"],
    partition: "GSI1PK",
};
/// Index GSI2: the table key plus the index key.
pub const GSI2: KeyShape = KeyShape {
    attributes: &["PK", "SK", "GSI2PK", "GSI2SK"],
    partition: "GSI2PK",
};
/// Index GSI3: the table key plus the index key.
pub const GSI3: KeyShape = KeyShape {
    attributes: &["PK", "SK", "GSI3PK", "GSI3SK"],
    partition: "GSI3PK",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> Key {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    #[test]
    fn round_trip() {
        let k = key(&[
            ("PK", "STATION#a"),
            ("SK", "META"),
            ("GSI1PK", "ORG#o#STATION"),
            ("GSI1SK", "-#a"),
        ]);
        let c = GSI1.encode(&k).unwrap();
        assert!(
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{c}"
        );
        assert_eq!(GSI1.decode(&c, "ORG#o#STATION").unwrap(), k);
    }

    #[test]
    fn extra_attributes_are_dropped_on_encode() {
        let mut k = key(&[("PK", "X"), ("SK", "Y")]);
        k.insert("other".into(), AttributeValue::N("1".into()));
        assert_eq!(
            TABLE.decode(&TABLE.encode(&k).unwrap(), "X").unwrap(),
            key(&[("PK", "X"), ("SK", "Y")])
        );
    }

    #[test]
    fn foreign_cursors_are_invalid() {
        for bad in ["garbage!", "", "e30", "bnVsbA"] {
            assert!(
                matches!(TABLE.decode(bad, "X"), Err(StoreError::InvalidCursor)),
                "{bad}"
            );
        }
        let table_cursor = TABLE.encode(&key(&[("PK", "X"), ("SK", "Y")])).unwrap();
        assert!(matches!(
            GSI1.decode(&table_cursor, "X"),
            Err(StoreError::InvalidCursor)
        ));
        assert!(matches!(
            TABLE.decode(&table_cursor, "other partition"),
            Err(StoreError::InvalidCursor)
        ));
        let g1 = GSI1
            .encode(&key(&[
                ("PK", "a"),
                ("SK", "b"),
                ("GSI1PK", "p"),
                ("GSI1SK", "s"),
            ]))
            .unwrap();
        assert!(matches!(
            GSI2.decode(&g1, "p"),
            Err(StoreError::InvalidCursor)
        ));
    }

    #[test]
    fn non_string_keys_cannot_be_encoded() {
        let k: Key = [
            ("PK".to_string(), AttributeValue::N("1".into())),
            ("SK".into(), AttributeValue::S("x".into())),
        ]
        .into_iter()
        .collect();
        assert!(matches!(TABLE.encode(&k), Err(StoreError::Backend(_))));
    }
}
