//! Logix structures for the client: upload the templates of a controller's structure tags
//! (the Symbol list, each Template's attributes and Read Template), then decode structure data
//! read from it into JSON objects (members by name, hidden BOOL hosts left out, STRING as
//! text).

use std::collections::HashMap;
use std::sync::Arc;

use cpppo_cip::mr::{emit_request, request_len};
use cpppo_cip::services::logix::InstanceEntries;

use cpppo_cip::services::template::{decode_template, ReadTemplate, TemplateMember, TYPE_STRUCT};
use cpppo_cip::services::{AttributeIds, AttributeListReply, U16s};
use cpppo_cip::{DataType, EPath, Padding, Segment, Value};
use serde_json::{json, Map};

use super::{ClientError, Connector};
use crate::model::logix_type::{LogixType, Member, Types, Udt};

/// Structures by the handle the controller gave them.
#[derive(Default)]
pub struct Templates {
    by_handle: HashMap<u16, Arc<Udt>>,
    by_instance: HashMap<u16, (u16, Arc<Udt>)>,
    types: Types,
}

fn protocol(what: impl Into<String>) -> ClientError {
    ClientError::Protocol(what.into())
}

async fn call(
    conn: &mut Connector,
    service: u8,
    path: &[Segment<'_>],
    data: &[u8],
) -> Result<(u8, Vec<u8>), ClientError> {
    let path = EPath::from_segments(path, Padding::Padded);
    let mut mr = vec![0u8; request_len(&path, data)];
    emit_request(service, &path, data, &mut mr).map_err(|e| protocol(e.to_string()))?;
    let (status, data) = conn.request(&mr).await?;
    Ok((status.general, data))
}

/// List the Symbol instances (of `program`, or the controller's): the template instances of
/// structure tags into `instances`, `Program:NAME` entries into `programs`.
async fn symbols(
    conn: &mut Connector,
    program: Option<&str>,
    instances: &mut Vec<u16>,
    programs: &mut Vec<String>,
) -> Result<(), ClientError> {
    const ATTRS: [u16; 2] = [1, 2];
    let ids = AttributeIds {
        ids: U16s::Values(&ATTRS),
    };
    let mut data = vec![0u8; ids.buffer_len()];
    ids.emit(&mut data).map_err(|e| protocol(e.to_string()))?;
    let mut start = 0u32;
    loop {
        let mut path = Vec::new();
        if let Some(p) = program {
            path.push(Segment::Symbolic(p.as_bytes()));
        }
        path.extend([Segment::class(0x6B), Segment::instance(start)]);
        let (st, reply) = call(conn, 0x55, &path, &data).await?;
        if st != 0 && st != 6 {
            return Err(protocol(format!("symbol list: status 0x{st:02X}")));
        }
        let mut last = start;
        for e in InstanceEntries::new(U16s::Values(&ATTRS), &reply) {
            let (instance, attrs) = e.map_err(|e| protocol(e.to_string()))?;
            let n = attrs
                .get(..2)
                .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])));
            let name = attrs.get(2..2 + n).unwrap_or_default();
            let ty = attrs
                .get(2 + n..4 + n)
                .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
            if name.starts_with(b"Program:") {
                programs.push(String::from_utf8_lossy(name).into_owned());
            } else if ty & TYPE_STRUCT != 0 && ty & 0x1000 == 0 {
                instances.push(ty & 0x0FFF);
            }
            last = instance;
        }
        if st == 0 || last < start {
            return Ok(());
        }
        start = last + 1;
    }
}

impl Templates {
    /// Upload the templates of every structure tag the controller lists (its programs' too).
    pub async fn upload(conn: &mut Connector) -> Result<Templates, ClientError> {
        let mut t = Templates::default();
        let mut instances = Vec::new();
        let mut programs = Vec::new();
        symbols(conn, None, &mut instances, &mut programs).await?;
        for p in programs {
            symbols(conn, Some(&p), &mut instances, &mut Vec::new()).await?;
        }
        for i in instances {
            t.fetch(conn, i, 0).await?;
        }
        Ok(t)
    }

    /// The structure with handle `handle`.
    pub fn get(&self, handle: u16) -> Option<&Arc<Udt>> {
        self.by_handle.get(&handle)
    }

    async fn fetch(
        &mut self,
        conn: &mut Connector,
        instance: u16,
        depth: u8,
    ) -> Result<Arc<Udt>, ClientError> {
        if let Some((_, u)) = self.by_instance.get(&instance) {
            return Ok(u.clone());
        }
        if depth > 16 {
            return Err(protocol("structures nested more than 16 deep"));
        }
        let path = [Segment::class(0x6C), Segment::instance(u32::from(instance))];
        let (st, reply) = call(conn, 0x03, &path, &[4, 0, 1, 0, 2, 0, 4, 0, 5, 0]).await?;
        if st != 0 {
            return Err(protocol(format!("template {instance}: status 0x{st:02X}")));
        }
        let list = AttributeListReply::parse(&reply).map_err(|e| protocol(e.to_string()))?;
        let mut attrs = HashMap::new();
        for e in list.get_entries(|id, _| Some(if id <= 2 { 2 } else { 4 })) {
            let (id, _, v) = e.map_err(|e| protocol(e.to_string()))?;
            let mut n = [0u8; 4];
            for (d, s) in n.iter_mut().zip(v) {
                *d = *s;
            }
            attrs.insert(id, u32::from_le_bytes(n));
        }
        let get = |id| attrs.get(&id).copied().unwrap_or(0);
        let (handle, count, words, size) = (get(1) as u16, get(2) as usize, get(4), get(5));
        // A template larger than any structure a controller holds is refused, not read.
        let total = (words as usize * 4).saturating_sub(20);
        if total > 1 << 20 {
            return Err(protocol(format!("template {instance}: {total} bytes")));
        }
        let mut data = Vec::new();
        while data.len() < total {
            let req = ReadTemplate {
                offset: data.len() as u32,
                length: u16::try_from(total - data.len()).unwrap_or(u16::MAX),
            };
            let mut rd = [0u8; 6];
            req.emit(&mut rd).map_err(|e| protocol(e.to_string()))?;
            let (st, part) = call(conn, 0x4C, &path, &rd).await?;
            if (st != 0 && st != 6) || part.is_empty() {
                break;
            }
            data.extend_from_slice(&part);
            if st == 0 {
                break;
            }
        }
        let (defs, name, names) =
            decode_template(&data, count).map_err(|e| protocol(e.to_string()))?;
        let mut members = Vec::new();
        for (d, n) in defs.iter().zip(names) {
            members.push(self.member(conn, d, n, depth).await?);
        }
        let name = if name == "ASCIISTRING82" {
            "STRING".to_string()
        } else {
            name
        };
        let udt = match self.types.udt(&name) {
            Some(u) => u.clone(),
            None => self
                .types
                .define_laid_out(&name, members, size)
                .map_err(|e| protocol(e.to_string()))?,
        };
        self.by_handle.insert(handle, udt.clone());
        self.by_instance.insert(instance, (handle, udt.clone()));
        Ok(udt)
    }

    async fn member(
        &mut self,
        conn: &mut Connector,
        d: &TemplateMember,
        name: String,
        depth: u8,
    ) -> Result<Member, ClientError> {
        let ty = if d.type_code & TYPE_STRUCT != 0 {
            let inner = Box::pin(self.fetch(conn, d.type_code & 0x0FFF, depth + 1)).await?;
            LogixType::Struct(inner)
        } else {
            let t = DataType::from_code(d.type_code & 0x00FF)
                .ok_or_else(|| protocol(format!("member {name}: type 0x{:04X}", d.type_code)))?;
            LogixType::Atomic(t)
        };
        let bool_bit = ty == LogixType::Atomic(DataType::Bool);
        Ok(Member {
            hidden: name.starts_with("ZZZZZZZZZZ") || name.starts_with("__"),
            name,
            ty,
            count: if bool_bit { 0 } else { d.info },
            bit: bool_bit.then_some(d.info.min(7) as u8),
            offset: d.offset,
        })
    }
}

/// Structure data (`count` elements of `udt`) as JSON: an object, or a list of them.
pub fn decode(udt: &Udt, data: &[u8]) -> serde_json::Value {
    let size = (udt.size as usize).max(1);
    let items: Vec<_> = data.chunks(size).map(|c| object(udt, c)).collect();
    match <[serde_json::Value; 1]>::try_from(items) {
        Ok([one]) => one,
        Err(items) => serde_json::Value::Array(items),
    }
}

/// Structure data (`count` elements of `udt`) as Python's `repr` shows pycomm3's value of it:
/// a dict with the members in their order (`{'Speed': 1.5, 'Running': True}`), or a list.
pub fn python(udt: &Udt, data: &[u8]) -> String {
    let size = (udt.size as usize).max(1);
    let items: Vec<_> = data.chunks(size).map(|c| python_object(udt, c)).collect();
    match <[String; 1]>::try_from(items) {
        Ok([one]) => one,
        Err(items) => format!("[{}]", items.join(", ")),
    }
}

fn python_object(udt: &Udt, data: &[u8]) -> String {
    if let Some(text) = string_text(udt, data) {
        return super::format::python_str(&text);
    }
    let items: Vec<String> = udt
        .members
        .iter()
        .filter(|m| !m.hidden)
        .map(|m| {
            let v = match &m.ty {
                LogixType::Struct(u) => each(m, data, |b| python_object(u, b)),
                _ => super::python_json(&member(m, data)),
            };
            format!("{}: {v}", super::format::python_str(&m.name))
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// A member's element(s) shown by `show`: one, or a list of its array.
fn each(m: &Member, data: &[u8], show: impl Fn(&[u8]) -> String) -> String {
    let size = m.ty.size() as usize;
    let at = m.offset as usize;
    let one = |i: usize| {
        show(
            data.get(at + i * size..at + (i + 1) * size)
                .unwrap_or_default(),
        )
    };
    match m.count {
        0 => one(0),
        n => {
            let items: Vec<String> = (0..usize::from(n)).map(one).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

/// A STRING-shaped structure's text (LEN then DATA).
fn string_text(udt: &Udt, data: &[u8]) -> Option<String> {
    if udt.name != "STRING" && (udt.member("LEN").is_none() || udt.member("DATA").is_none()) {
        return None;
    }
    let len = data
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let text = data.get(4..4 + len as usize).unwrap_or_default();
    Some(String::from_utf8_lossy(text).into_owned())
}

fn object(udt: &Udt, data: &[u8]) -> serde_json::Value {
    if let Some(text) = string_text(udt, data) {
        return json!(text);
    }
    let mut out = Map::new();
    for m in udt.members.iter().filter(|m| !m.hidden) {
        out.insert(m.name.clone(), member(m, data));
    }
    serde_json::Value::Object(out)
}

/// One member's value as JSON (a list for an array member).
fn member(m: &Member, data: &[u8]) -> serde_json::Value {
    let at = m.offset as usize;
    match (&m.ty, m.bit) {
        (LogixType::Atomic(DataType::Bool), Some(bit)) => {
            json!(data.get(at).is_some_and(|b| b >> bit & 1 == 1))
        }
        (ty, _) => {
            let size = ty.size() as usize;
            let one = |i: usize| {
                let bytes = data
                    .get(at + i * size..at + (i + 1) * size)
                    .unwrap_or_default();
                match ty {
                    LogixType::Struct(u) => object(u, bytes),
                    LogixType::Atomic(t) => atomic(*t, bytes),
                }
            };
            match m.count {
                0 => one(0),
                n => (0..usize::from(n)).map(one).collect(),
            }
        }
    }
}

fn atomic(t: DataType, bytes: &[u8]) -> serde_json::Value {
    match Value::parse(t, bytes) {
        Ok((Value::Real(x), _)) => json!(x),
        Ok((Value::Lreal(x), _)) => json!(x),
        Ok((Value::Bool(b), _)) => json!(b),
        Ok((Value::Sint(n), _)) => json!(n),
        Ok((Value::Int(n), _)) => json!(n),
        Ok((Value::Dint(n), _)) => json!(n),
        Ok((Value::Lint(n), _)) => json!(n),
        Ok((Value::Usint(n) | Value::Byte(n), _)) => json!(n),
        Ok((Value::Uint(n) | Value::Word(n), _)) => json!(n),
        Ok((Value::Udint(n) | Value::Dword(n), _)) => json!(n),
        Ok((Value::Ulint(n) | Value::Lword(n), _)) => json!(n),
        Ok((Value::Sstring(s) | Value::String(s), _)) => json!(String::from_utf8_lossy(s)),
        Err(_) => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structures_print_as_python_dicts_in_member_order() {
        let mut types = Types::default();
        let motor = types
            .define_compact("Motor{Speed:REAL, Running:BOOL, Faults:DINT[2], Name:STRING}")
            .unwrap()
            .remove(0);
        let mut data = vec![0u8; motor.size as usize];
        data[..4].copy_from_slice(&1.5f32.to_le_bytes());
        data[4] = 1; // Running, bit 0 of the hidden host
        data[8..12].copy_from_slice(&(-9i32).to_le_bytes());
        data[16..20].copy_from_slice(&2u32.to_le_bytes());
        data[20..22].copy_from_slice(b"it");
        assert_eq!(
            python(&motor, &data),
            "{'Speed': 1.5, 'Running': True, 'Faults': [-9, 0], 'Name': 'it'}"
        );
        data.extend(vec![0u8; motor.size as usize]);
        let two = python(&motor, &data);
        assert!(
            two.starts_with("[{'Speed': 1.5") && two.ends_with("'Name': ''}]"),
            "{two}"
        );
    }
}
