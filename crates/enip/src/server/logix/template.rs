//! Read Template (service `0x4C` on a Template object instance): the template's data from an
//! offset, as much as was asked for and fits (`0x06` when the reply is cut by `limit`).

use cpppo_cip::mr::status;
use cpppo_cip::services::template::ReadTemplate;
use cpppo_cip::services::ReplyBody;
use cpppo_cip::{Reply, Status};

use crate::model::device::Device;

/// Answer Read Template on template `instance` with request data `data`.
pub fn read<'s>(
    dev: &Device,
    service: u8,
    instance: u32,
    data: &[u8],
    limit: usize,
    scratch: &'s mut Vec<u8>,
) -> Result<Reply<'s>, Status> {
    let req = ReadTemplate::parse(data).map_err(|_| Status::new(status::NOT_ENOUGH_DATA))?;
    let udt = dev
        .template(instance)
        .ok_or_else(|| Status::new(status::OBJECT_DOES_NOT_EXIST))?;
    let rest = udt
        .template
        .get(req.offset as usize..)
        .ok_or_else(crate::model::attribute::out_of_range)?;
    let wanted = rest.len().min(usize::from(req.length));
    let room = limit.saturating_sub(4);
    let n = wanted.min(room);
    scratch.extend_from_slice(rest.get(..n).unwrap_or_default());
    let general = if n < wanted {
        status::PARTIAL_TRANSFER
    } else {
        status::SUCCESS
    };
    Ok(Reply::new(service, general, ReplyBody::Data(scratch)))
}
