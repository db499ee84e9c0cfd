//! Benchmarks for cpppo-rs live in `benches/` and in the scripts beside this crate.
//!
//! This library holds the small, allocation-free "server round" the codec benchmarks time (and
//! `tests/no_alloc.rs` checks): decode a request, answer it from an in-memory tag, encode the
//! reply into a caller's buffer.
#![deny(missing_docs)]

use cpppo_cip::cpf;
use cpppo_cip::encap::{self, Body, Command, Header, Repr, SendData};
use cpppo_cip::epath::{LogicalKind, Segment};
use cpppo_cip::mr::{status, MrReply, MrRequest};
use cpppo_cip::services::{MspWriter, Reply, ReplyBody, Request, Service, TagData};
use cpppo_cip::{DataType, Error, Result, TagType};

/// The SendRRData frame of `read_tag.json` (cpppo 5.2.5 vectors): Read Tag `SCADA[1]`, one
/// element, no route path.
pub const READ_TAG_FRAME: &str = "6f001e00069464bb00000000300000000000000000000000000000000800020000000000b2000e004c05910553434144410028010100";

/// Decodes a hex string (test and benchmark data only).
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

/// One INT array tag, `SCADA=INT[1000]`, stored as little-endian wire bytes.
#[derive(Debug, Clone)]
pub struct Scada {
    data: [u8; 2000],
}

impl Default for Scada {
    fn default() -> Self {
        let mut data = [0u8; 2000];
        for (i, el) in data.chunks_exact_mut(2).enumerate() {
            el.copy_from_slice(&(i as i16).to_le_bytes());
        }
        Scada { data }
    }
}

impl Scada {
    /// The reply body for a Read Tag of `elements` elements at the request path's element, or
    /// the general status to answer with.
    fn read(&self, req: &Request<'_>, elements: u16) -> core::result::Result<TagData<'_>, u8> {
        let (mut symbol, mut element) = (None, 0);
        for seg in req.path.segments() {
            match seg {
                Segment::Symbolic(name) => symbol = Some(name),
                Segment::Logical {
                    kind: LogicalKind::Element,
                    value,
                    ..
                } => element = value,
                _ => return Err(status::PATH_SEGMENT_ERROR),
            }
        }
        if symbol != Some(&b"SCADA"[..]) {
            return Err(status::PATH_DESTINATION_UNKNOWN);
        }
        let start = element as usize * 2;
        let end = start + usize::from(elements) * 2;
        let data = self.data.get(start..end).ok_or(status::GENERAL_ERROR)?;
        Ok(TagData {
            data_type: TagType::Atomic(DataType::Int),
            data,
        })
    }

    /// Answers one decoded request into `out`; returns the reply length.
    pub fn answer(&self, req: &Request<'_>, out: &mut [u8]) -> Result<usize> {
        let code = req.service.code();
        let reply = match req.service {
            Service::ReadTag(r) => match self.read(req, r.elements) {
                Ok(data) => Reply::new(code, status::SUCCESS, ReplyBody::TagData(data)),
                Err(st) => Reply::new(code, st, ReplyBody::Data(&[])),
            },
            _ => Reply::new(code, status::SERVICE_NOT_SUPPORTED, ReplyBody::Data(&[])),
        };
        reply.emit(out)
    }

    /// Decodes a bare Message Router request and answers it; returns the reply length.
    pub fn round(&self, request: &[u8], out: &mut [u8]) -> Result<usize> {
        let mr = MrRequest::parse(request)?;
        match Request::parse(&mr)? {
            Request {
                service: Service::MultipleServicePacket(msp),
                ..
            } => {
                let header = MrReply::success(mr.service, &[]);
                let n = header.emit_header(out)?;
                let body = out
                    .get_mut(n..)
                    .ok_or(Error::BufferTooSmall { needed: n, have: 0 })?;
                let mut w = MspWriter::new(body, msp.len())?;
                for sub in msp.requests() {
                    let sub = sub?;
                    w.push(|t| self.answer(&sub, t))?;
                }
                Ok(n + w.finish()?)
            }
            req => self.answer(&req, out),
        }
    }

    /// Decodes a whole SendRRData frame, answers its CIP request, and writes the reply frame;
    /// returns its length. `scratch` holds the CIP reply while the frame is assembled.
    ///
    /// Decoding goes through the checked views (`encap::Packet`, `cpf::Packet`), which borrow
    /// the frame without building the decoded `Repr`s.
    pub fn frame_round(&self, frame: &[u8], scratch: &mut [u8], out: &mut [u8]) -> Result<usize> {
        let pkt = encap::Packet::new_checked(frame)?;
        if pkt.command() != Command::SendRRData {
            return Err(Error::Malformed("not a SendRRData frame"));
        }
        let payload = pkt.payload();
        let timeout = payload
            .get(4..6)
            .map_or(0, |t| u16::from_le_bytes([t[0], t[1]]));
        let items = cpf::Packet::new_checked(payload.get(6..).unwrap_or_default())?;
        let cip = items
            .items()
            .find_map(|(t, d)| (t == cpf::type_id::UNCONNECTED_DATA).then_some(d))
            .ok_or(Error::Malformed("no unconnected data item"))?;
        let n = self.round(cip, scratch)?;
        let reply = Repr {
            header: Header::parse(&pkt).reply(0),
            body: Body::SendData(SendData {
                timeout,
                ..SendData::unconnected(scratch.get(..n).unwrap_or(&[]))
            }),
        };
        reply.emit(out)
    }
}

/// A Multiple Service Packet request (to `@2/1`) of `count` Read Tag `SCADA[i]` requests.
pub fn msp_read_request(count: usize) -> Result<Vec<u8>> {
    use cpppo_cip::epath::{EPath, Padding};
    use cpppo_cip::services::{code, ReadTag};
    let mut body = vec![0u8; 20 * count + 64];
    let mut w = MspWriter::new(&mut body, count)?;
    for i in 0..count {
        let segs = [Segment::Symbolic(b"SCADA"), Segment::element(i as u32)];
        let req = Request {
            path: EPath::from_segments(&segs, Padding::Padded),
            service: Service::ReadTag(ReadTag { elements: 1 }),
        };
        w.push(|t| req.emit(t))?;
    }
    let n = w.finish()?;
    let router = [Segment::class(2), Segment::instance(1)];
    let mr = MrRequest {
        service: code::MULTIPLE_SERVICE_PACKET,
        path: EPath::from_segments(&router, Padding::Padded),
        data: body.get(..n).unwrap_or(&[]),
    };
    let mut out = vec![0u8; mr.buffer_len()];
    let n = mr.emit(&mut out)?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_tag_frame_is_answered_like_cpppo() {
        let tags = Scada::default();
        let (mut scratch, mut out) = ([0u8; 64], [0u8; 128]);
        let frame = unhex(READ_TAG_FRAME);
        let n = tags.frame_round(&frame, &mut scratch, &mut out).unwrap();
        // cpppo's reply, except the value: SCADA[1] is 1 here, 42 in the capture.
        let want = unhex("6f001800069464bb00000000300000000000000000000000000000000800020000000000b2000800cc000000c3000100");
        assert_eq!(out[..n], want[..]);
    }

    #[test]
    fn msp_of_reads_is_answered() {
        let tags = Scada::default();
        let req = msp_read_request(50).unwrap();
        let mut out = [0u8; 1024];
        let n = tags.round(&req, &mut out).unwrap();
        let reply = Reply::parse(None, &MrReply::parse(&out[..n]).unwrap()).unwrap();
        let ReplyBody::MultipleServicePacket(msp) = reply.body else {
            panic!("{reply:?}")
        };
        let subs: Vec<_> = msp.replies().map(|r| r.unwrap()).collect();
        assert_eq!(subs.len(), 50);
        let ReplyBody::TagData(last) = subs[49].body else {
            panic!("{:?}", subs[49])
        };
        assert_eq!(last.data, 49i16.to_le_bytes());
    }
}
