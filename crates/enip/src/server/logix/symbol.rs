//! Get Instance Attribute List (0x55) over a set of Symbol (or any) instances: for each
//! instance from `start` on, its id then the requested attributes, as many as fit `limit`
//! (`0x06` when more remain). The controller's symbols and each program's use it.

use std::collections::BTreeMap;

use cpppo_cip::mr::{status, Payload};
use cpppo_cip::server::{append, InstanceEntry};
use cpppo_cip::services::{AttributeIds, ReplyBody};
use cpppo_cip::{Reply, Status};

use crate::model::device::Instance;

/// List `instances` from `start` (0 lists from the first).
pub fn list<'s>(
    instances: &BTreeMap<u32, Instance>,
    service: u8,
    ids: AttributeIds<'_>,
    start: u32,
    limit: usize,
    scratch: &'s mut Vec<u8>,
) -> Result<Reply<'s>, Status> {
    let mut partial = false;
    let mut values = Vec::new();
    for (id, inst) in instances.range(start.max(1)..) {
        values.clear();
        for a in ids.ids.iter() {
            if let Some(attr) = inst.attributes.get(&a) {
                attr.read(0, attr.len(), &mut values)?;
            }
        }
        let one = InstanceEntry {
            instance: *id,
            values: &values,
        };
        if 4 + scratch.len() + one.buffer_len() > limit {
            partial = true;
            break;
        }
        let _ = append(scratch, &one);
    }
    if partial && scratch.is_empty() {
        return Err(Status::new(status::GENERAL_ERROR)); // one entry does not fit the connection
    }
    let general = if partial {
        status::PARTIAL_TRANSFER
    } else {
        status::SUCCESS
    };
    Ok(Reply::new(service, general, ReplyBody::Data(scratch)))
}
