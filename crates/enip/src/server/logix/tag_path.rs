//! Resolving a request path into a Logix tag: element indexes (one per dimension), member
//! names (`Tag[3].Member.Sub[2]`), BOOL members (a bit of a hidden host) and program scope
//! (`Program:Main` then `Count`).

use std::sync::Arc;

use cpppo_cip::mr::status;
use cpppo_cip::{DataType, Status};

use crate::model::attribute::{out_of_range, Attribute};
use crate::model::device::Tag;
use crate::model::logix_type::{LogixType, Udt};

/// What a path inside a structure tag names: a run of elements in the tag's byte storage.
#[derive(Clone)]
pub struct DataTarget {
    /// The tag's storage (SINT bytes for a structure tag).
    pub attr: Arc<dyn Attribute>,
    /// Byte offset of the first element named.
    pub byte: usize,
    /// Element type.
    pub ty: LogixType,
    /// Elements available from there (to the end of the array named).
    pub count: usize,
    /// For a BOOL member: its bit in the host byte at `byte`.
    pub bit: Option<u8>,
}

impl DataTarget {
    /// Bytes per element.
    pub fn size(&self) -> usize {
        self.ty.size() as usize
    }
}

/// One step of a path after the tag: an element index or a member name.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    /// Element index (one per dimension).
    Element(u32),
    /// Member name.
    Member(&'a [u8]),
}

/// What a path names in a tag with a Logix shape.
pub enum Resolved {
    /// Elements of a tag of CIP elements, from the flat index given.
    Flat(usize),
    /// Bytes inside a structure tag.
    Data(DataTarget),
}

/// Status for a member a structure does not have, as a Logix controller answers.
pub fn unknown_member() -> Status {
    Status::ext(status::PATH_SEGMENT_ERROR, 0)
}

/// Resolve `steps` (after the tag's name) in `tag`.
pub fn resolve(tag: &Tag, steps: &[Step<'_>]) -> Result<Resolved, Status> {
    let Some(layout) = tag.layout.as_deref() else {
        return Err(unknown_member());
    };
    let mut index = [0u32; 3];
    let mut n = 0;
    let mut rest = steps;
    while let [Step::Element(e), tail @ ..] = rest {
        *index
            .get_mut(n)
            .ok_or_else(|| Status::new(status::PATH_SEGMENT_ERROR))? = *e;
        n += 1;
        rest = tail;
    }
    let flat = match n {
        0 => 0,
        _ => layout
            .flat(index.get(..n).unwrap_or_default())
            .ok_or_else(out_of_range)?,
    };
    let total = layout.elements();
    let udt = match &layout.ty {
        LogixType::Atomic(_) if rest.is_empty() => return Ok(Resolved::Flat(flat)),
        LogixType::Atomic(_) => return Err(unknown_member()),
        LogixType::Struct(u) => u.clone(),
    };
    let size = udt.size as usize;
    let target = DataTarget {
        attr: tag.attribute.clone(),
        byte: flat * size,
        ty: LogixType::Struct(udt.clone()),
        count: total - flat,
        bit: None,
    };
    members(target, udt, rest).map(Resolved::Data)
}

/// Walk member names (each maybe followed by an element index) from `at`, in structure `udt`.
fn members(
    mut at: DataTarget,
    mut udt: Arc<Udt>,
    mut rest: &[Step<'_>],
) -> Result<DataTarget, Status> {
    while let [Step::Member(name), tail @ ..] = rest {
        let name = std::str::from_utf8(name).map_err(|_| unknown_member())?;
        let m = udt.member(name).ok_or_else(unknown_member)?;
        at.byte += m.offset as usize;
        at.ty = m.ty.clone();
        at.bit = m.bit;
        at.count = m.elements() as usize;
        rest = tail;
        if let [Step::Element(e), tail @ ..] = rest {
            if m.count == 0 {
                return Err(Status::new(status::PATH_SEGMENT_ERROR));
            }
            let e = *e as usize;
            if e >= at.count {
                return Err(out_of_range());
            }
            at.byte += e * at.size();
            at.count -= e;
            rest = tail;
        }
        match &at.ty {
            LogixType::Struct(u) => udt = u.clone(),
            LogixType::Atomic(_) if rest.is_empty() => return Ok(at),
            LogixType::Atomic(_) => return Err(unknown_member()),
        }
    }
    match rest {
        [] => Ok(at),
        _ => Err(Status::new(status::PATH_SEGMENT_ERROR)),
    }
}

/// True for a BOOL member (one bit of a host byte).
pub fn is_bit(t: &DataTarget) -> bool {
    t.bit.is_some() && t.ty == LogixType::Atomic(DataType::Bool)
}
