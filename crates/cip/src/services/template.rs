//! The Logix Template object (class `0x6C`): the Read Template request (service `0x4C` on a
//! template instance) and the member definitions a template's data begins with.
//!
//! A template's data is `member_count` member definitions ([`TemplateMember`], 8 bytes each)
//! followed by the names: the structure's name, then `;` and per-member flag bytes, NUL, then
//! each member's name NUL-terminated. Its size in bytes is `definition_words * 4 - 20`
//! ([`template_data_len`]).

use crate::cursor::{Reader, Writer};
use crate::error::Result;

/// Template attribute ids (Get Attribute List on a template instance).
pub mod template_attr {
    /// Structure handle: UINT (the type word after `0x02A0` in structure data).
    pub const HANDLE: u16 = 1;
    /// Member count: UINT.
    pub const MEMBER_COUNT: u16 = 2;
    /// Asked for by pylogix (whose offsets read it as a UINT); answered with the member count.
    pub const PYLOGIX_3: u16 = 3;
    /// Object definition size in 32-bit words: UDINT.
    pub const DEFINITION_WORDS: u16 = 4;
    /// Structure size in bytes: UDINT.
    pub const STRUCTURE_SIZE: u16 = 5;
}

/// Symbol and member type bit: the low 12 bits are a template instance, not an atomic type.
pub const TYPE_STRUCT: u16 = 0x8000;

/// Read Template request data: byte offset into the template data and bytes wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTemplate {
    /// Byte offset to start at.
    pub offset: u32,
    /// Bytes wanted from there.
    pub length: u16,
}

impl ReadTemplate {
    /// Decodes the request data (bytes after the length are ignored, as a controller does).
    pub fn parse(data: &[u8]) -> Result<ReadTemplate> {
        let mut r = Reader::new(data);
        Ok(ReadTemplate {
            offset: r.u32()?,
            length: r.u16()?,
        })
    }

    /// Bytes of the request data (6).
    pub fn buffer_len(&self) -> usize {
        6
    }

    /// Writes the request data.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u32(self.offset)?;
        w.u16(self.length)?;
        Ok(w.pos())
    }
}

/// One member definition in a template's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateMember {
    /// Array element count (0 for a scalar), or for a BOOL member its bit number in the host.
    pub info: u16,
    /// Atomic type code, or [`TYPE_STRUCT`] | template instance.
    pub type_code: u16,
    /// Byte offset in the structure.
    pub offset: u32,
}

impl TemplateMember {
    /// Bytes of one definition.
    pub const LEN: usize = 8;

    /// Decodes one definition.
    pub fn parse(data: &[u8]) -> Result<TemplateMember> {
        let mut r = Reader::new(data);
        Ok(TemplateMember {
            info: r.u16()?,
            type_code: r.u16()?,
            offset: r.u32()?,
        })
    }

    /// Writes one definition.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u16(self.info)?;
        w.u16(self.type_code)?;
        w.u32(self.offset)?;
        Ok(w.pos())
    }
}

/// Bytes of template data Read Template serves for a definition size of `words`.
pub fn template_data_len(words: u32) -> usize {
    (words as usize).saturating_mul(4).saturating_sub(20)
}

/// The definition size (32-bit words) for `data_len` bytes of template data (a multiple of 4).
pub fn definition_words(data_len: usize) -> u32 {
    u32::try_from(data_len.div_ceil(4) + 5).unwrap_or(u32::MAX)
}

/// Template data: `members`, then `name;n` with two flag bytes per member, NUL, then each
/// member name NUL-terminated, padded with NULs to a multiple of 4.
pub fn encode_template(name: &str, members: &[(TemplateMember, &str)]) -> Vec<u8> {
    let mut out = vec![0u8; members.len() * TemplateMember::LEN];
    for (chunk, (m, _)) in out.chunks_exact_mut(TemplateMember::LEN).zip(members) {
        // The chunk is exactly one definition long.
        let _ = m.emit(chunk);
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b";n");
    for _ in members {
        // Per-member flags as pylogix reads them (scope, then access 3: read/write).
        out.extend_from_slice(&[0x01, 0x03]);
    }
    out.push(0);
    for (_, n) in members {
        out.extend_from_slice(n.as_bytes());
        out.push(0);
    }
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

/// The parts of template data: member definitions, the structure name, member names.
pub fn decode_template(
    data: &[u8],
    count: usize,
) -> Result<(Vec<TemplateMember>, String, Vec<String>)> {
    let mut r = Reader::new(data);
    let mut members = Vec::with_capacity(count.min(4096));
    for _ in 0..count {
        members.push(TemplateMember::parse(r.take(TemplateMember::LEN)?)?);
    }
    let mut parts = r.rest().split(|&b| b == 0);
    let head = parts.next().unwrap_or_default();
    let name = head.split(|&b| b == b';').next().unwrap_or_default();
    let names = parts
        .take(count)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    Ok((members, String::from_utf8_lossy(name).into_owned(), names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_data_round_trips() {
        let m = [
            (
                TemplateMember {
                    info: 0,
                    type_code: 0xCA,
                    offset: 0,
                },
                "Speed",
            ),
            (
                TemplateMember {
                    info: 4,
                    type_code: 0xC4,
                    offset: 4,
                },
                "Faults",
            ),
        ];
        let data = encode_template("Motor", &m);
        assert_eq!(data.len() % 4, 0);
        assert_eq!(&data[..8], &[0, 0, 0xCA, 0, 0, 0, 0, 0]);
        assert_eq!(&data[16..23], b"Motor;n");
        let words = definition_words(data.len());
        assert_eq!(template_data_len(words), data.len());
        let (members, name, names) = decode_template(&data, 2).unwrap();
        assert_eq!(name, "Motor");
        assert_eq!(names, ["Speed", "Faults"]);
        assert_eq!(members[1], m[1].0);
        assert!(decode_template(&data[..10], 2).is_err());
        let rt = ReadTemplate {
            offset: 7,
            length: 300,
        };
        let mut buf = [0u8; 6];
        assert_eq!(rt.emit(&mut buf), Ok(6));
        assert_eq!(ReadTemplate::parse(&buf), Ok(rt));
    }
}
