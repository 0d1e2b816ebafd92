//! [`DynamoStore`]'s device models of 2.0.1 stations, on the same single
//! table as everything else (`infra/README.md` documents the table).
//!
//! # Layout
//!
//! | item              | PK                   | SK                                  | attributes |
//! |-------------------|----------------------|-------------------------------------|------------|
//! | model head        | `DEVMODEL#{station}` | `MODEL`                             | `body` (the model without its variables, its generation and chunk count), `version` |
//! | model chunk       | `DEVMODEL#{station}` | `CHUNK#{generation}#{n:05}`         | `body` (a run of variables) |
//! | report part       | `DEVMODEL#{station}` | `PART#{requestId:+011}#{seqNo:010}` | `body` (`ReportPart`), `ttl` (a day) |
//!
//! Design choices:
//! - A model of 5000 variables is far beyond DynamoDB's 400 KB item limit,
//!   so its variables go into chunk items of at most [`CHUNK_BYTES`]. A
//!   write puts the chunks of a new generation (unique per write) first,
//!   then swaps the head to it under the version condition, then deletes the
//!   old generation: a reader that reads the head sees that generation whole.
//!   If the head moved on while a reader fetched the chunks (the chunk count
//!   differs), the reader reads again.
//! - A report part is one NotifyReport, which API Gateway bounds to 128 KB:
//!   it fits one item. Parts of a report the station never finished expire.
//!   A station's kept parts are counted (their keys only) before a new one
//!   is put, to hold the bound the caller gives.

use super::table::{body_from, epoch, s, set_key, versioned_item, Index, Query};
use super::DynamoStore;
use crate::cursor::Key;
use async_trait::async_trait;
use chrono::TimeDelta;
use csms_domain::device_model::{DeviceModel, DeviceVariable, ReportPart};
use csms_domain::{OrgId, StationId};
use csms_kernel::ports::{DeviceModelStore, StoreError, StoreResult};
use serde::{Deserialize, Serialize};

const HEAD_SK: &str = "MODEL";
/// Serialized variables per chunk item, well below the 400 KB item limit.
const CHUNK_BYTES: usize = 300_000;
const PART_TTL: TimeDelta = TimeDelta::days(1);
/// Reads of a model whose head moved on while its chunks were read.
const READ_ATTEMPTS: usize = 4;

fn model_pk(station: &StationId) -> String {
    format!("DEVMODEL#{station}")
}

fn part_sk(request_id: i32, seq_no: Option<u32>) -> String {
    match seq_no {
        Some(seq) => format!("PART#{request_id:+011}#{seq:010}"),
        None => format!("PART#{request_id:+011}#"),
    }
}

fn chunk_prefix(generation: &str) -> String {
    format!("CHUNK#{generation}#")
}

/// The head item's body: the model without its variables.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    #[serde(flatten)]
    model: DeviceModel,
    generation: String,
    chunks: usize,
}

/// Variables in runs whose JSON stays under [`CHUNK_BYTES`].
fn chunks(variables: &[DeviceVariable]) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    let mut run: Vec<&DeviceVariable> = Vec::new();
    let mut size = 0;
    let encode = |run: &[&DeviceVariable]| {
        serde_json::to_string(run)
            .map_err(|e| StoreError::Backend(format!("cannot encode device variables: {e}")))
    };
    for v in variables {
        let one = serde_json::to_string(v)
            .map_err(|e| StoreError::Backend(format!("cannot encode a device variable: {e}")))?
            .len()
            + 1;
        if !run.is_empty() && size + one > CHUNK_BYTES {
            out.push(encode(&run)?);
            run.clear();
            size = 0;
        }
        run.push(v);
        size += one;
    }
    if !run.is_empty() {
        out.push(encode(&run)?);
    }
    Ok(out)
}

impl DynamoStore {
    /// The items under `pk` whose sort key starts with `prefix`.
    async fn query_sk_prefix(&self, pk: String, prefix: String) -> StoreResult<Vec<Key>> {
        self.query_all(&Query::partition(pk).sk_prefix(prefix))
            .await
    }

    /// The sort keys only (no bodies: a part is up to 128 KB) of the items
    /// under `pk` whose sort key starts with `prefix`.
    async fn sort_keys(&self, pk: String, prefix: String) -> StoreResult<Vec<String>> {
        let query = Query::partition(pk).sk_prefix(prefix).only("SK");
        Ok(self
            .query_all(&query)
            .await?
            .iter()
            .filter_map(sk_of)
            .collect())
    }
}

fn sk_of(item: &Key) -> Option<String> {
    item.get("SK").and_then(|v| v.as_s().ok()).cloned()
}

#[async_trait]
impl DeviceModelStore for DynamoStore {
    async fn put_report_part(&self, part: &ReportPart, max_parts: usize) -> StoreResult<bool> {
        let pk = model_pk(&part.station_id);
        let sk = part_sk(part.request_id, Some(part.seq_no));
        // Count, then put: two writers at once for one station may each see
        // room for one more, so the bound can be passed by as many parts as
        // there are concurrent writers, never more.
        let kept = self.sort_keys(pk.clone(), "PART#".into()).await?;
        if kept.len() >= max_parts && !kept.contains(&sk) {
            return Ok(false);
        }
        let mut item = versioned_item(pk, sk, part, 0, "report part")?;
        item.insert("ttl".into(), epoch(part.received_at + PART_TTL));
        self.put(item).await?;
        Ok(true)
    }

    async fn report_parts(
        &self,
        station: &StationId,
        request_id: i32,
    ) -> StoreResult<Vec<ReportPart>> {
        let query = Query::partition(model_pk(station)).sk_prefix(part_sk(request_id, None));
        self.all_of(&OrgId::default_org(), &query, body_from).await
    }

    async fn delete_report_parts(&self, station: &StationId) -> StoreResult<()> {
        let pk = model_pk(station);
        let sks = self.sort_keys(pk.clone(), "PART#".into()).await?;
        self.batch_delete(&pk, sks).await
    }

    async fn put_device_model(
        &self,
        model: &DeviceModel,
        expected_version: u64,
    ) -> StoreResult<()> {
        let pk = model_pk(&model.station_id);
        let generation = format!("{:020}-{}", model.version, ulid::Ulid::new());
        let bodies = chunks(&model.variables)?;
        let new_sks: Vec<String> = (0..bodies.len())
            .map(|n| format!("{}{n:05}", chunk_prefix(&generation)))
            .collect();
        let items = new_sks
            .iter()
            .zip(bodies)
            .map(|(sk, body)| {
                // The body is JSON already: stored as it is.
                let mut item = Key::new();
                set_key(&mut item, Index::Table, &pk, sk);
                item.insert("body".into(), s(body));
                item
            })
            .collect();
        // Each chunk is up to 300 KB: a few per batch stay under its 16 MB.
        self.batch_put(items).await?;
        let head = Head {
            model: DeviceModel {
                variables: Vec::new(),
                ..model.clone()
            },
            generation: generation.clone(),
            chunks: new_sks.len(),
        };
        let item = versioned_item(&pk, HEAD_SK, &head, model.version, "device model")?;
        let what = format!("device model of station {}", model.station_id);
        let swapped = self.put_expecting(item, expected_version, what).await;
        if let Err(e) = swapped {
            // Lost the race (or failed): the new generation is nobody's.
            if let Err(d) = self.batch_delete(&pk, new_sks).await {
                tracing::warn!(station = %model.station_id, error = %d, "could not remove the chunks of a device model not written");
            }
            return Err(e);
        }
        // The old generations: the head no longer points at them.
        let old: Vec<String> = self
            .query_sk_prefix(pk.clone(), "CHUNK#".into())
            .await?
            .iter()
            .filter_map(sk_of)
            .filter(|sk| !sk.starts_with(&chunk_prefix(&generation)))
            .collect();
        if let Err(e) = self.batch_delete(&pk, old).await {
            tracing::warn!(station = %model.station_id, error = %e, "could not remove an old device model's chunks");
        }
        Ok(())
    }

    async fn get_device_model(&self, station: &StationId) -> StoreResult<Option<DeviceModel>> {
        let pk = model_pk(station);
        for _ in 0..READ_ATTEMPTS {
            let Some(item) = self.get(pk.clone(), HEAD_SK).await? else {
                return Ok(None);
            };
            let head: Head = body_from(item)?;
            let items = self
                .query_sk_prefix(pk.clone(), chunk_prefix(&head.generation))
                .await?;
            if items.len() != head.chunks {
                continue; // replaced meanwhile: read the new head
            }
            let mut model = head.model;
            for item in items {
                let run: Vec<DeviceVariable> = body_from(item)?;
                model.variables.extend(run);
            }
            return Ok(Some(model));
        }
        Err(StoreError::Conflict(format!(
            "the device model of station {station} kept changing while read"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use csms_domain::device_model::*;

    fn big(i: usize) -> DeviceVariable {
        DeviceVariable::new(
            ComponentRef {
                name: Name::parse("Ctrlr").unwrap(),
                instance: None,
                evse_id: None,
                connector_id: None,
            },
            VariableRef {
                name: Name::parse(format!("V{i:05}")).unwrap(),
                instance: None,
            },
            vec![VariableAttribute {
                kind: AttributeType::Actual,
                value: Some(AttributeValue::parse("x".repeat(2500)).unwrap()),
                mutability: Mutability::ReadOnly,
                persistent: false,
                constant: true,
            }],
            None,
        )
        .unwrap()
    }

    #[test]
    fn chunks_stay_under_the_item_limit_and_keep_every_variable() {
        let vars: Vec<_> = (0..400).map(big).collect();
        let bodies = chunks(&vars).unwrap();
        assert!(bodies.len() >= 4, "{}", bodies.len());
        assert!(bodies.iter().all(|b| b.len() <= CHUNK_BYTES + 2));
        let back: Vec<DeviceVariable> = bodies
            .iter()
            .flat_map(|b| serde_json::from_str::<Vec<DeviceVariable>>(b).unwrap())
            .collect();
        assert_eq!(back, vars);
        assert!(chunks(&[]).unwrap().is_empty());
    }

    #[test]
    fn part_keys_group_by_request_and_sort_by_seq_no() {
        assert!(!part_sk(-3, Some(2)).starts_with(&part_sk(3, None)));
        assert!(part_sk(3, Some(2)) < part_sk(3, Some(10)));
        assert!(part_sk(3, Some(2)).starts_with(&part_sk(3, None)));
        assert!(!part_sk(31, Some(2)).starts_with(&part_sk(3, None)));
    }
}
