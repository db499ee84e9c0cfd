//! Read Tag, Write Tag and their Fragmented forms on what a Logix path names inside a
//! structure tag: whole structures (type `0x02A0` + handle), slices of structure arrays,
//! atomic members and BOOL members.

use cpppo_cip::mr::status;
use cpppo_cip::services::{ReplyBody, TagData, WriteTag, WriteTagFragmented};
use cpppo_cip::{Reply, Status, TagType};

use super::tag_path::{is_bit, DataTarget};
use crate::model::attribute::out_of_range;
use crate::model::logix_type::LogixType;

type Answer<'s> = Result<Reply<'s>, Status>;

/// The type field of the target's data.
pub fn tag_type(t: &DataTarget) -> TagType {
    match &t.ty {
        LogixType::Atomic(ty) => TagType::Atomic(*ty),
        LogixType::Struct(u) => TagType::Struct(u.handle),
    }
}

fn type_mismatch() -> Status {
    Status::ext(status::GENERAL_ERROR, status::EXT_TYPE_MISMATCH)
}

fn bytes_of(t: &DataTarget, count: u16) -> Result<usize, Status> {
    let count = usize::from(count);
    if count == 0 || count > t.count || (is_bit(t) && count != 1) {
        return Err(out_of_range());
    }
    Ok(count * t.size())
}

/// Read `count` elements from byte `offset` of their data on, at most `limit` reply bytes.
pub fn read<'s>(
    service: u8,
    t: &DataTarget,
    (count, offset): (u16, u32),
    limit: usize,
    scratch: &'s mut Vec<u8>,
) -> Answer<'s> {
    let n = bytes_of(t, count)?;
    if let Some(bit) = t.bit.filter(|_| is_bit(t)) {
        let mut host = Vec::with_capacity(1);
        t.attr.read(t.byte, 1, &mut host)?;
        let on = host.first().is_some_and(|b| b >> bit & 1 == 1);
        scratch.push(u8::from(on));
    } else {
        t.attr.read(t.byte, n, scratch)?;
    }
    let ty = tag_type(t);
    let rest = scratch.get(offset as usize..).ok_or_else(out_of_range)?;
    let align = match &t.ty {
        LogixType::Atomic(a) => a.size().unwrap_or(1),
        LogixType::Struct(_) => 4,
    };
    let room = limit.saturating_sub(4 + ty.buffer_len()) / align * align;
    let (data, general) = match rest.get(..room) {
        Some(chunk) if rest.len() > room => (chunk, status::PARTIAL_TRANSFER),
        _ => (rest, status::SUCCESS),
    };
    let body = TagData {
        data_type: ty,
        data,
    };
    Ok(Reply::new(service, general, ReplyBody::TagData(body)))
}

fn check_type(t: &DataTarget, ty: TagType) -> Result<(), Status> {
    let ok = match (&t.ty, ty) {
        (LogixType::Atomic(a), TagType::Atomic(b)) => *a == b,
        (LogixType::Struct(u), TagType::Struct(h)) => u.handle == h,
        _ => false,
    };
    if !ok {
        return Err(type_mismatch());
    }
    if !t.attr.settable() {
        return Err(Status::new(status::ATTRIBUTE_NOT_SETTABLE));
    }
    Ok(())
}

fn put_bit(t: &DataTarget, bit: u8, on: bool) -> Result<(), Status> {
    let mut host = Vec::with_capacity(1);
    t.attr.read(t.byte, 1, &mut host)?;
    let b = host.first().copied().unwrap_or(0);
    let b = if on { b | 1 << bit } else { b & !(1 << bit) };
    t.attr.write(t.byte, 1, &[b])
}

/// Write Tag.
pub fn write<'s>(service: u8, t: &DataTarget, w: WriteTag<'_>) -> Answer<'s> {
    check_type(t, w.data_type)?;
    let n = bytes_of(t, w.elements)?;
    let data = w
        .exact_elements(n)
        .ok_or_else(|| Status::new(status::NOT_ENOUGH_DATA))?;
    match t.bit.filter(|_| is_bit(t)) {
        Some(bit) => put_bit(t, bit, data.first().is_some_and(|b| *b != 0))?,
        None => t.attr.write(t.byte, n, data)?,
    }
    Ok(Reply::new(service, status::SUCCESS, ReplyBody::Data(&[])))
}

/// Write Tag Fragmented: this fragment's bytes at its offset in the elements' data.
pub fn write_fragment<'s>(service: u8, t: &DataTarget, w: WriteTagFragmented<'_>) -> Answer<'s> {
    check_type(t, w.data_type)?;
    let n = bytes_of(t, w.elements)?;
    let offset = w.offset as usize;
    match offset.checked_add(w.data.len()) {
        Some(end) if end <= n => {}
        _ => return Err(out_of_range()),
    }
    if let Some(bit) = t.bit.filter(|_| is_bit(t)) {
        put_bit(t, bit, w.data.first().is_some_and(|b| *b != 0))?;
    } else {
        t.attr.write(t.byte + offset, w.data.len(), w.data)?;
    }
    Ok(Reply::new(service, status::SUCCESS, ReplyBody::Data(&[])))
}
