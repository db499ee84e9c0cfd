//! Class 1 (implicit I/O) scanner, sans-IO: what a connection asks for, and its cyclic part.
//!
//! A scanner opens an I/O connection to an adapter with a (Large) Forward Open over the
//! client's TCP [`Session`](super::session::Session), then exchanges UDP datagrams with it:
//! the *output* assembly goes O->T every O->T API with a run/idle header, the *input* assembly
//! comes T->O every T->O API. [`IoParams`] describes the connection and builds its Forward
//! Open and Forward Close; [`Cyclic`] is the open connection: it produces O->T on its own
//! timer, consumes T->O (late and missed packets, stale sequences ignored) and times out after
//! the T->O API × the timeout multiplier. [`Scanner`](super::io_scanner::Scanner) adds the
//! session around it (register, open, reconnect with back-off, close), and
//! [`io_run`](super::io_run) drives it over sockets.
//!
//! Every frame is emitted and parsed through `cpppo-cip`.

use std::time::Duration;

use cpppo_cip::epath::{EPath, ElectronicKey, Padding};
use cpppo_cip::io::{
    ConnectionType, Format, IoPath, NetworkParams, Priority, TransportClass, INPUT_ONLY_POINT,
    IO_PORT, LISTEN_ONLY_POINT,
};
use cpppo_cip::services::cm::{ForwardClose, ForwardOpen, ForwardOpenReply, Triad};

use super::error::ClientError;
use super::route::cm_request;

pub use super::io_cyclic::{Cyclic, CyclicEvent, Histogram, Stats};

/// The largest connection size a (small) Forward Open carries.
const SMALL_MAX: usize = 0x1FF;

/// Which kind of class 1 connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoKind {
    /// Owns the output assembly (O->T data) and receives the input assembly.
    ExclusiveOwner,
    /// Receives the input assembly; sends heartbeats to the Input Only point.
    InputOnly,
    /// Receives an existing owner's multicast input; heartbeats to the Listen Only point.
    ListenOnly,
}

/// An assembly instance and its size in bytes (no sequence count or header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Point {
    /// Assembly instance (connection point).
    pub instance: u16,
    /// Data bytes.
    pub size: u16,
}

/// What class 1 connection to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoParams {
    /// The input assembly (T->O).
    pub input: Point,
    /// The output assembly (O->T; its size is ignored unless Exclusive Owner).
    pub output: Point,
    /// The configuration assembly instance, if any.
    pub config: Option<u16>,
    /// Configuration data sent in the connection path's data segment (whole words).
    pub config_data: Vec<u8>,
    /// Exclusive Owner, Input Only or Listen Only.
    pub kind: IoKind,
    /// Requested packet interval, both ways.
    pub rpi: Duration,
    /// Ask for multicast T->O (else point to point).
    pub multicast: bool,
    /// Use a Large Forward Open (`0x5B`) even when the sizes fit a small one.
    pub large: bool,
    /// Connection timeout multiplier code (0 = ×4, 1 = ×8, ... 7 = ×512).
    pub timeout_multiplier: u8,
    /// The O->T point of Input Only connections.
    pub input_only_point: u32,
    /// The O->T point of Listen Only connections.
    pub listen_only_point: u32,
    /// An electronic key to put first in the connection path.
    pub key: Option<ElectronicKey>,
    /// The UDP port T->O should be sent to, announced in a T->O sockaddr info item when it is
    /// not [`IO_PORT`] (a scanner that cannot bind 2222).
    pub t_o_port: u16,
    /// Transport class 0 (Input Only): no sequence counts, T->O is the input alone and the
    /// heartbeat is empty.
    pub class0: bool,
}

impl Default for IoParams {
    fn default() -> Self {
        IoParams {
            input: Point {
                instance: 100,
                size: 8,
            },
            output: Point {
                instance: 150,
                size: 8,
            },
            config: Some(1),
            config_data: Vec::new(),
            kind: IoKind::ExclusiveOwner,
            rpi: Duration::from_millis(10),
            multicast: false,
            large: false,
            timeout_multiplier: 2,
            input_only_point: INPUT_ONLY_POINT,
            listen_only_point: LISTEN_ONLY_POINT,
            key: None,
            t_o_port: IO_PORT,
            class0: false,
        }
    }
}

impl IoParams {
    /// The real-time format of O->T: the run/idle header for an owner, else a heartbeat
    /// (the sequence count alone).
    pub fn o_t_format(&self) -> Format {
        if self.class0 {
            return Format::Class0;
        }
        match self.kind {
            IoKind::ExclusiveOwner => Format::RunIdle,
            IoKind::InputOnly | IoKind::ListenOnly => Format::Modeless,
        }
    }

    /// Bytes of O->T application data (none for a heartbeat).
    pub fn o_t_data(&self) -> usize {
        match self.kind {
            IoKind::ExclusiveOwner => usize::from(self.output.size),
            IoKind::InputOnly | IoKind::ListenOnly => 0,
        }
    }

    /// Bytes each O->T packet's connected data carries (the O->T connection size).
    pub fn o_t_size(&self) -> usize {
        self.o_t_format().connection_size(self.o_t_data())
    }

    /// Bytes each T->O packet's connected data carries (the T->O connection size).
    pub fn t_o_size(&self) -> usize {
        self.t_o_format()
            .connection_size(usize::from(self.input.size))
    }

    /// The real-time format of T->O: the sequence count and the input (class 0: the input).
    pub fn t_o_format(&self) -> Format {
        match self.class0 {
            true => Format::Class0,
            false => Format::Modeless,
        }
    }

    /// The O->T connection point.
    pub fn o_t_point(&self) -> u32 {
        match self.kind {
            IoKind::ExclusiveOwner => u32::from(self.output.instance),
            IoKind::InputOnly => self.input_only_point,
            IoKind::ListenOnly => self.listen_only_point,
        }
    }

    /// Whether the Forward Open is a Large one: asked for, or a size above 511 bytes.
    pub fn is_large(&self) -> bool {
        self.large || self.o_t_size() > SMALL_MAX || self.t_o_size() > SMALL_MAX
    }

    /// The connection timeout multiplier as a factor (4 × 2^code).
    pub fn multiplier(&self) -> u32 {
        4u32 << self.timeout_multiplier.min(7)
    }

    /// Checks the sizes and intervals a Forward Open can carry; one line saying what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.t_o_size() > 0xFFFF {
            return Err(format!("input size {} too large", self.input.size));
        }
        if self.o_t_size() > 0xFFFF {
            return Err(format!("output size {} too large", self.output.size));
        }
        if self.config_data.len() % 2 == 1 || self.config_data.len() > 510 {
            return Err(format!(
                "config data of {} bytes: must be whole words, at most 510 bytes",
                self.config_data.len()
            ));
        }
        if self.class0 && self.kind != IoKind::InputOnly {
            return Err("class 0 is for Input Only connections".into());
        }
        if self.rpi < Duration::from_micros(100) || self.rpi > Duration::from_secs(4000) {
            return Err(format!("RPI {:?} outside 0.1 ms..4000 s", self.rpi));
        }
        Ok(())
    }

    fn network(&self, size: usize, kind: ConnectionType) -> Result<u32, ClientError> {
        let params = NetworkParams {
            redundant_owner: false,
            kind,
            priority: Priority::Scheduled,
            variable: false,
            size: u16::try_from(size).unwrap_or(u16::MAX),
        };
        Ok(params.to_bits(self.is_large())?)
    }

    /// The connection path: `[key] 20 04 [24 cfg] 2C o_t 2C t_o [80 data]`.
    pub fn connection_path(&self) -> Result<Vec<u8>, ClientError> {
        let config = self.config.map(u32::from);
        let path = IoPath {
            key: self.key,
            data: Some(&self.config_data[..]).filter(|d| !d.is_empty()),
            ..IoPath::assemblies(config, self.o_t_point(), u32::from(self.input.instance))
        };
        Ok(path.to_vec()?)
    }

    /// The Message Router request of this connection's (Large) Forward Open, under `triad`
    /// and with our T->O connection id `t_o_id`.
    pub fn forward_open(&self, triad: Triad, t_o_id: u32) -> Result<Vec<u8>, ClientError> {
        self.validate().map_err(|why| ClientError::Request {
            what: "I/O connection".into(),
            why,
        })?;
        let path = self.connection_path()?;
        let rpi_us = u32::try_from(self.rpi.as_micros()).unwrap_or(u32::MAX);
        let t_o_kind = if self.multicast {
            ConnectionType::Multicast
        } else {
            ConnectionType::PointToPoint
        };
        let o_t_params = self.network(self.o_t_size(), ConnectionType::PointToPoint)?;
        let t_o_params = self.network(self.t_o_size(), t_o_kind)?;
        let path = EPath::parse(&path, Padding::Padded)?;
        let fo = ForwardOpen {
            t_o_connection_id: t_o_id,
            triad,
            timeout_multiplier: self.timeout_multiplier.min(7),
            transport: TransportClass {
                class: u8::from(!self.class0),
                ..TransportClass::CYCLIC_CLASS_1
            }
            .to_byte(),
            ..ForwardOpen::cyclic(self.is_large(), path, rpi_us, o_t_params, t_o_params)
        };
        let mut data = vec![0u8; fo.buffer_len()];
        let n = fo.emit(&mut data)?;
        data.truncate(n);
        cm_request(if fo.large { 0x5B } else { 0x54 }, &data)
    }

    /// The Message Router request of the Forward Close of the connection opened under `triad`.
    pub fn forward_close(&self, triad: Triad) -> Result<Vec<u8>, ClientError> {
        let path = self.connection_path()?;
        let fc = ForwardClose {
            priority_tick: 0x0A,
            timeout_ticks: 0x0E,
            triad,
            reserved: 0,
            connection_path: EPath::parse(&path, Padding::Padded)?,
        };
        let mut data = vec![0u8; fc.buffer_len()];
        let n = fc.emit(&mut data)?;
        data.truncate(n);
        cm_request(0x4E, &data)
    }
}

/// What a successful Forward Open reply set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The O->T connection id the adapter chose: our packets carry it.
    pub o_t_id: u32,
    /// The T->O connection id: the adapter's packets carry it.
    pub t_o_id: u32,
    /// O->T actual packet interval.
    pub o_t_api: Duration,
    /// T->O actual packet interval.
    pub t_o_api: Duration,
}

impl Opened {
    /// Decodes the data of a successful (Large) Forward Open reply.
    pub fn parse(data: &[u8]) -> Result<Opened, ClientError> {
        let r = ForwardOpenReply::parse(data)?;
        Ok(Opened {
            o_t_id: r.o_t_connection_id,
            t_o_id: r.t_o_connection_id,
            o_t_api: Duration::from_micros(u64::from(r.o_t_api)),
            t_o_api: Duration::from_micros(u64::from(r.t_o_api)),
        })
    }
}

/// Parses output data as the CLI takes it: comma-separated bytes, decimal or `0x` hex, each
/// 0..=255 (or -128..=-1 as SINT), zero-filled to `size`. One line saying what is wrong.
pub fn parse_data(text: &str, size: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(size);
    for field in text.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let value = match field
            .strip_prefix("0x")
            .or_else(|| field.strip_prefix("0X"))
        {
            Some(hex) => i64::from_str_radix(hex, 16),
            None => field.parse::<i64>(),
        }
        .map_err(|_| format!("bad data byte {field:?}: expected 0..255 or 0x00..0xFF"))?;
        let byte = match value {
            0..=255 => value as u8,
            -128..=-1 => value as i8 as u8,
            _ => return Err(format!("data byte {field:?} out of range 0..255")),
        };
        out.push(byte);
    }
    if out.len() > size {
        return Err(format!(
            "{} data bytes given; the output assembly holds {size}",
            out.len()
        ));
    }
    out.resize(size, 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_path_with_config_point_and_data() {
        let mut p = IoParams::default();
        assert_eq!(
            p.connection_path().unwrap(),
            [0x20, 0x04, 0x24, 0x01, 0x2C, 0x96, 0x2C, 0x64]
        );
        p.config_data = vec![1, 2];
        p.input.instance = 0x1234;
        assert_eq!(
            p.connection_path().unwrap(),
            [0x20, 0x04, 0x24, 0x01, 0x2C, 0x96, 0x2D, 0x00, 0x34, 0x12, 0x80, 0x01, 1, 2]
        );
    }

    #[test]
    fn sizes_and_kinds() {
        let mut p = IoParams::default();
        assert_eq!((p.o_t_size(), p.t_o_size(), p.o_t_point()), (14, 10, 150));
        p.kind = IoKind::InputOnly;
        assert_eq!((p.o_t_size(), p.o_t_point()), (2, 238));
        p.kind = IoKind::ListenOnly;
        assert_eq!(p.o_t_point(), 237);
        assert!(!p.is_large());
        p.input.size = 600;
        assert!(p.is_large());
        assert_eq!(p.multiplier(), 16);
    }

    #[test]
    fn forward_open_round_trips_through_the_codec() {
        let p = IoParams {
            multicast: true,
            ..IoParams::default()
        };
        let mr = p.forward_open(Triad::default(), 7).unwrap();
        let req = cpppo_cip::MrRequest::parse(&mr).unwrap();
        assert_eq!(req.service, 0x54);
        let fo = ForwardOpen::parse(false, req.data).unwrap();
        assert_eq!((fo.o_t_size(), fo.t_o_size()), (14, 10));
        assert_eq!(fo.t_o_network().kind, ConnectionType::Multicast);
        assert_eq!((fo.o_t_rpi, fo.transport), (10_000, 1));
        let large = IoParams {
            large: true,
            ..IoParams::default()
        };
        let req_bytes = large.forward_open(Triad::default(), 7).unwrap();
        let req = cpppo_cip::MrRequest::parse(&req_bytes).unwrap();
        assert_eq!(req.service, 0x5B);
        let fo = ForwardOpen::parse(true, req.data).unwrap();
        assert_eq!(fo.o_t_params, 0x4800_000E);
    }

    #[test]
    fn class_0_is_input_only_without_sequence_counts() {
        let p = IoParams {
            kind: IoKind::InputOnly,
            class0: true,
            ..IoParams::default()
        };
        let mr = p.forward_open(Triad::default(), 7).unwrap();
        let req = cpppo_cip::MrRequest::parse(&mr).unwrap();
        let fo = ForwardOpen::parse(false, req.data).unwrap();
        assert_eq!((fo.o_t_size(), fo.t_o_size(), fo.transport), (0, 8, 0));
        let owner = IoParams {
            class0: true,
            ..IoParams::default()
        };
        assert!(owner.validate().unwrap_err().contains("Input Only"));
    }

    #[test]
    fn data_lines() {
        assert_eq!(parse_data("1, 0x10,255", 4), Ok(vec![1, 16, 255, 0]));
        assert_eq!(parse_data("-1", 1), Ok(vec![255]));
        assert_eq!(parse_data("", 2), Ok(vec![0, 0]));
        assert!(parse_data("256", 4).unwrap_err().contains("out of range"));
        assert!(parse_data("x", 4).unwrap_err().contains("bad data byte"));
        assert!(parse_data("1,2,3", 2).unwrap_err().contains("holds 2"));
    }
}
