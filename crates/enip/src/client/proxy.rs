//! Typed proxies: named parameters of a device, read and written by name.
//!
//! A parameter table maps a name to a CIP address, its type(s) and units. Names match ignoring
//! case, spaces and underscores (`"Motor Velocity"`, `"motor_velocity"`). A [`Proxy`] holds the
//! address and opens its session when first used, and again after any I/O failure.
//!
//! ```
//! use cpppo_enip::client::proxy::{lookup, POWERFLEX_750};
//! let p = lookup(POWERFLEX_750, "motor velocity").unwrap();
//! assert_eq!((p.path, p.units), ("@0x93/3/10", Some("Hz/RPM")));
//! assert!(lookup(POWERFLEX_750, "Output_Current").is_some());
//! assert!(lookup(POWERFLEX_750, "Identity").is_some());
//! ```

use cpppo_cip::DataType;

use super::connector::{Connector, Options};
use super::error::{ClientError, ReplyStatus};
use super::format::python_value;
use crate::client::operation::{Literal, Operation};

/// How one field of a parameter is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// A CIP elementary type.
    Cip(DataType),
    /// An IPv4 address (UDINT, shown dotted).
    IpAddr,
    /// A padded EPATH preceded by its size in words (UINT); shown as cpppo shows it
    /// (`[{'class': 246}, {'instance': 1}]`).
    EPath,
}

/// One named parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// Its name.
    pub name: &'static str,
    /// Its address in operation syntax (`@0x93/3/10`; `@1/1` reads all attributes).
    pub path: &'static str,
    /// The fields of its value, in order.
    pub fields: &'static [Field],
    /// Units, if any.
    pub units: Option<&'static str>,
}

const fn p(
    name: &'static str,
    path: &'static str,
    fields: &'static [Field],
    units: Option<&'static str>,
) -> Parameter {
    Parameter {
        name,
        path,
        fields,
        units,
    }
}

const REAL: &[Field] = &[Field::Cip(DataType::Real)];
const DINT: &[Field] = &[Field::Cip(DataType::Dint)];

/// Parameters every CIP device has: Identity and TCP/IP objects (cpppo's `proxy_simple`).
pub const GENERIC: &[Parameter] = &[
    p(
        "Product Name",
        "@1/1/7",
        &[Field::Cip(DataType::Sstring)],
        None,
    ),
    p(
        "Identity",
        "@1/1",
        &[
            Field::Cip(DataType::Int),
            Field::Cip(DataType::Int),
            Field::Cip(DataType::Int),
            Field::Cip(DataType::Int),
            Field::Cip(DataType::Int),
            Field::Cip(DataType::Dint),
            Field::Cip(DataType::Sstring),
            Field::Cip(DataType::Usint),
        ],
        Some("Identity"),
    ),
    p(
        "TCPIP",
        "@0xF5/1",
        &[
            Field::Cip(DataType::Dword),
            Field::Cip(DataType::Dword),
            Field::Cip(DataType::Dword),
            Field::EPath,
            Field::IpAddr,
            Field::IpAddr,
            Field::IpAddr,
            Field::IpAddr,
            Field::IpAddr,
            Field::Cip(DataType::String),
            Field::Cip(DataType::String),
        ],
        Some("TCPIP"),
    ),
];

/// Allen-Bradley PowerFlex 750 series AC drive parameters (class 0x93 "DPI Parameter Object",
/// attribute 10 the parameter value; instance = parameter number), plus [`GENERIC`].
pub const POWERFLEX_750: &[Parameter] = &[
    p("Output Frequency", "@0x93/1/10", REAL, Some("Hz")),
    p("Output Freq", "@0x93/1/10", REAL, Some("Hz")),
    p("Mtr Vel Fdbk", "@0x93/3/10", REAL, Some("Hz/RPM")),
    p("Motor Velocity", "@0x93/3/10", REAL, Some("Hz/RPM")),
    p("Output Current", "@0x93/7/10", REAL, Some("Amps")),
    p("Output Voltage", "@0x93/8/10", REAL, Some("VAC")),
    p("Output Power", "@0x93/9/10", REAL, Some("kW")),
    p("DC Bus Volts", "@0x93/11/10", REAL, Some("VDC")),
    p("Elapsed MWh", "@0x93/13/10", REAL, Some("MWh")),
    p("Elapsed kWh", "@0x93/14/10", REAL, Some("kWh")),
    p("Elapsed Run Time", "@0x93/15/10", REAL, Some("Hrs")),
    p("Rated Volts", "@0x93/20/10", REAL, Some("VAC")),
    p("Rated Amps", "@0x93/21/10", REAL, Some("Amps")),
    p("Rated kW", "@0x93/22/10", REAL, Some("kW")),
    p("Speed Units", "@0x93/300/10", DINT, Some("Hz/RPM")),
    // The generic ones, so one table serves a drive.
    p(
        "Product Name",
        "@1/1/7",
        &[Field::Cip(DataType::Sstring)],
        None,
    ),
    GENERIC[1],
    GENERIC[2],
];

fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The parameter of `table` called `name` (ignoring case, spaces and underscores).
pub fn lookup(table: &[Parameter], name: &str) -> Option<Parameter> {
    let want = normalize(name);
    table.iter().find(|p| normalize(p.name) == want).copied()
}

/// A parameter resolved for I/O: a table entry (or a pass-through tag), with values to write.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The name as given (or the tag).
    pub name: String,
    /// The operation (with its values, for a write).
    pub op: Operation,
    /// How to decode the value (empty for pass-through tags, whose replies carry their type).
    pub fields: Vec<Field>,
    /// Units.
    pub units: Option<String>,
}

impl Param {
    /// Whether this writes.
    pub fn is_write(&self) -> bool {
        self.op.is_write()
    }

    /// cpppo's poll line: `  Motor Velocity: [123.45]`.
    pub fn line(&self, value: &Option<Vec<Literal>>) -> String {
        let shown = match value {
            None => "None".to_string(),
            Some(v) => {
                // An EPATH field holds its Python form already (a list of dicts), unquoted.
                let items: Vec<String> = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| match (self.fields.get(i), x) {
                        (Some(Field::EPath), Literal::Text(t)) => t.clone(),
                        _ => python_value(x),
                    })
                    .collect();
                format!("[{}]", items.join(", "))
            }
        };
        format!("{:>15}: {shown}", self.name)
    }

    /// cpppo's proxy print: `  Motor Velocity == 123.45 Hz/RPM`.
    pub fn summary(&self, value: &Option<Vec<Literal>>) -> String {
        let shown = match value {
            None => "None".to_string(),
            Some(v) if self.is_write() && v.is_empty() => "True".to_string(),
            Some(v) => v.iter().map(python_value).collect::<Vec<_>>().join(", "),
        };
        format!(
            "{:>16} == {shown} {}",
            self.name,
            self.units.as_deref().unwrap_or("")
        )
    }
}

/// A device reached through a parameter table.
pub struct Proxy {
    address: String,
    options: Options,
    table: &'static [Parameter],
    conn: Option<Connector>,
    sessions: u64,
    depth: usize,
    multiple: usize,
    /// Return an error if any parameter fails (instead of `None` for it).
    pub checking: bool,
}

impl Proxy {
    /// A proxy for the device at `address` with `options` and a parameter `table`.
    pub fn new(address: &str, options: Options, table: &'static [Parameter]) -> Proxy {
        Proxy {
            address: address.to_owned(),
            options,
            table,
            conn: None,
            sessions: 0,
            depth: 1,
            multiple: 0,
            checking: false,
        }
    }

    /// cpppo's `proxy`: a routing Logix controller (Unconnected Send, route path 1/0).
    pub fn logix(address: &str, table: &'static [Parameter]) -> Proxy {
        Proxy::new(address, Options::default(), table)
    }

    /// cpppo's `proxy_simple`: a simple (non-routing) device.
    pub fn simple(address: &str, table: &'static [Parameter]) -> Proxy {
        Proxy::new(address, Options::simple(), table)
    }

    /// Pipelines reads to this depth.
    pub fn with_depth(mut self, depth: usize) -> Proxy {
        self.depth = depth.max(1);
        self
    }

    /// Batches reads into Multiple Service Packets of at most this many bytes (0: none).
    pub fn with_multiple(mut self, multiple: usize) -> Proxy {
        self.multiple = multiple;
        self
    }

    /// Errors on any failed parameter.
    pub fn with_checking(mut self, checking: bool) -> Proxy {
        self.checking = checking;
        self
    }

    /// The parameter table.
    pub fn table(&self) -> &'static [Parameter] {
        self.table
    }

    /// How many sessions this proxy has opened (1, plus one per reconnection).
    pub fn sessions(&self) -> u64 {
        self.sessions
    }

    /// Whether a session is open now.
    pub fn is_open(&self) -> bool {
        self.conn.is_some()
    }

    /// The open session's handle, if a session is open.
    pub fn session(&self) -> Option<u32> {
        self.conn.as_ref().map(Connector::session)
    }

    /// Resolves `text`: `Name`, `Name = value` or `Name = (TYPE)value`; with `pass_thru`,
    /// names not in the table are taken as operations (tags, `@class/instance/attribute`).
    pub fn resolve(&self, text: &str, pass_thru: bool) -> Result<Param, String> {
        let (name, value) = match text.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (text.trim(), None),
        };
        if let Some(param) = lookup(self.table, name) {
            let first = param.fields.first().copied();
            let value = match (value, first) {
                (Some(v), Some(Field::Cip(ty))) if !v.starts_with('(') => {
                    Some(format!("({ty}){v}"))
                }
                (Some(v), _) => Some(v.to_owned()),
                (None, _) => None,
            };
            let text = match &value {
                Some(v) => format!("{}={v}", param.path),
                None => param.path.to_owned(),
            };
            let op = Operation::parse(&text)
                .map_err(|e| format!("bad value for {name:?}: {}", e.problem))?;
            return Ok(Param {
                name: name.to_owned(),
                op,
                fields: param.fields.to_vec(),
                units: param.units.map(str::to_owned),
            });
        }
        if !pass_thru {
            return Err(format!(
                "unknown parameter {name:?} (use --pass-thru for tags)"
            ));
        }
        let op = Operation::parse(text).map_err(|e| e.to_string())?;
        Ok(Param {
            name: name.to_owned(),
            op,
            fields: Vec::new(),
            units: None,
        })
    }

    /// Resolves every one of `texts`; the first bad one is the error.
    pub fn resolve_all<T: AsRef<str>>(
        &self,
        texts: &[T],
        pass_thru: bool,
    ) -> Result<Vec<Param>, String> {
        texts
            .iter()
            .map(|t| self.resolve(t.as_ref(), pass_thru))
            .collect()
    }

    async fn connection(&mut self) -> Result<&mut Connector, ClientError> {
        if self.conn.is_none() {
            self.conn = Some(Connector::connect(&self.address, self.options.clone()).await?);
            self.sessions += 1;
        }
        self.conn.as_mut().ok_or(ClientError::Closed)
    }

    /// Drops the session (the next call reconnects).
    pub async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }

    /// Reads (or writes) `params`; a value per parameter (`None` where it failed; an empty
    /// list for a successful write). Reconnects on the next call after an I/O failure.
    pub async fn operate(
        &mut self,
        params: &[Param],
    ) -> Result<Vec<Option<Vec<Literal>>>, ClientError> {
        let (depth, multiple, checking) = (self.depth, self.multiple, self.checking);
        let result = async {
            let conn = self.connection().await?;
            let attr: Vec<bool> = params.iter().map(|p| !p.fields.is_empty()).collect();
            let mut out: Vec<Option<Vec<Literal>>> = vec![None; params.len()];
            // Table parameters use attribute services; pass-through tags the tag services.
            for wanted in [true, false] {
                let idx: Vec<usize> = (0..params.len()).filter(|&i| attr[i] == wanted).collect();
                if idx.is_empty() {
                    continue;
                }
                let ops: Vec<Operation> = idx
                    .iter()
                    .filter_map(|&i| params.get(i))
                    .map(|p| p.op.clone())
                    .collect();
                let results = conn
                    .pipeline(ops, depth, multiple)
                    .attributes(wanted)
                    .collect()
                    .await?;
                for (t, &i) in results.into_iter().zip(&idx) {
                    let Some(p) = params.get(i) else { continue };
                    let value = match t.value {
                        Some(bytes) if wanted && !p.is_write() => {
                            decode_fields(&p.fields, &bytes).ok()
                        }
                        v => v,
                    };
                    if checking && value.is_none() {
                        return Err(ClientError::Status {
                            what: format!("parameter {:?}", p.name),
                            status: if t.status.is_ok() {
                                ReplyStatus::general(0x09)
                            } else {
                                t.status
                            },
                        });
                    }
                    if let Some(slot) = out.get_mut(i) {
                        *slot = value;
                    }
                }
            }
            Ok(out)
        }
        .await;
        if let Err(e) = &result {
            if e.is_connection_failure() {
                self.conn = None;
            }
        }
        result
    }

    /// Reads the parameters named (or written, `Name = value`) in `texts`.
    pub async fn read(&mut self, texts: &[&str]) -> Result<Vec<Option<Vec<Literal>>>, ClientError> {
        let params = self
            .resolve_all(texts, false)
            .map_err(|why| ClientError::Request {
                what: texts.join(", "),
                why,
            })?;
        self.operate(&params).await
    }

    /// Writes one parameter: `proxy.write("Motor Velocity = (REAL)123.45")`.
    pub async fn write(&mut self, text: &str) -> Result<(), ClientError> {
        let checking = self.checking;
        self.checking = true;
        let r = self.read(&[text]).await.map(|_| ());
        self.checking = checking;
        r
    }
}

/// Decodes attribute bytes (given as a list of byte values) as `fields`.
fn decode_fields(fields: &[Field], bytes: &[Literal]) -> Result<Vec<Literal>, String> {
    let data: Vec<u8> = bytes
        .iter()
        .map(|v| match v {
            Literal::Int(n) => u8::try_from(*n).map_err(|_| "not a byte".to_string()),
            _ => Err("not a byte".to_string()),
        })
        .collect::<Result<_, _>>()?;
    decode(fields, &data, false)
}

/// Decodes attribute `data` as `fields` in order; with `repeat`, the fields again and again
/// until the data is used up (cpppo's proxy: one type reads every element of an array).
///
/// ```
/// use cpppo_cip::DataType;
/// use cpppo_enip::client::operation::Literal;
/// use cpppo_enip::client::proxy::{decode, Field};
/// let ints = decode(&[Field::Cip(DataType::Int)], &[1, 0, 2, 0], true).unwrap();
/// assert_eq!(ints, vec![Literal::Int(1), Literal::Int(2)]);
/// assert!(decode(&[Field::Cip(DataType::Dint)], &[1, 0], false).is_err());
/// ```
pub fn decode(fields: &[Field], data: &[u8], repeat: bool) -> Result<Vec<Literal>, String> {
    let mut rest = data;
    let mut out = Vec::with_capacity(fields.len());
    loop {
        let before = rest.len();
        rest = decode_once(fields, rest, &mut out)?;
        if !repeat || rest.is_empty() || rest.len() == before {
            return Ok(out);
        }
    }
}

/// Decodes one pass of `fields` from `data` into `out`; the bytes left over.
fn decode_once<'d>(
    fields: &[Field],
    data: &'d [u8],
    out: &mut Vec<Literal>,
) -> Result<&'d [u8], String> {
    let mut rest = data;
    for field in fields {
        let (value, n) = match field {
            Field::Cip(ty) => {
                let (v, n) = cpppo_cip::Value::parse(*ty, rest).map_err(|e| e.to_string())?;
                // A STRING inside a structure (TCP/IP attribute 5's domain name) is padded to
                // an even length.
                let pad = usize::from(*ty == DataType::String && n % 2 == 1 && rest.len() > n);
                (super::plan::cip_value(v), n + pad)
            }
            Field::IpAddr => {
                let b = rest.get(..4).ok_or("short IP address")?;
                (
                    Literal::Text(format!("{}.{}.{}.{}", b[3], b[2], b[1], b[0])),
                    4,
                )
            }
            Field::EPath => {
                let words = rest
                    .get(..2)
                    .map(|w| usize::from(u16::from_le_bytes([w[0], w[1]])))
                    .ok_or("short EPATH")?;
                let path = rest.get(2..2 + 2 * words).ok_or("short EPATH")?;
                (Literal::Text(epath_python(path)?), 2 + 2 * words)
            }
        };
        out.push(value);
        rest = rest.get(n..).unwrap_or_default();
    }
    Ok(rest)
}

/// A padded EPATH as cpppo prints it: a list of one-key dicts (`[{'class': 246}, ...]`).
fn epath_python(path: &[u8]) -> Result<String, String> {
    use cpppo_cip::epath::{EPath, LogicalKind, Padding, Segment};
    let path = EPath::parse(path, Padding::Padded).map_err(|e| e.to_string())?;
    let segments: Vec<String> = path
        .segments()
        .map(|seg| match seg {
            Segment::Logical { kind, value, .. } => {
                let key = match kind {
                    LogicalKind::Class => "class",
                    LogicalKind::Instance => "instance",
                    LogicalKind::Element => "element",
                    LogicalKind::ConnectionPoint => "connection",
                    LogicalKind::Attribute => "attribute",
                    LogicalKind::Service => "service",
                };
                format!("{{'{key}': {value}}}")
            }
            Segment::Port { port, link } => match link {
                [one] => format!("{{'port': {port}, 'link': {one}}}"),
                _ => format!(
                    "{{'port': {port}, 'link': {}}}",
                    python_value(&Literal::Text(String::from_utf8_lossy(link).into_owned()))
                ),
            },
            Segment::Symbolic(name) => format!(
                "{{'symbolic': {}}}",
                python_value(&Literal::Text(String::from_utf8_lossy(name).into_owned()))
            ),
            other => format!(
                "{{'segment': {}}}",
                python_value(&Literal::Text(format!("{other:?}")))
            ),
        })
        .collect();
    Ok(format!("[{}]", segments.join(", ")))
}

/// One value as JSON.
pub fn value_json(value: &Literal) -> serde_json::Value {
    match value {
        Literal::Int(n) => i64::try_from(*n).map_or_else(
            |_| serde_json::json!(n.to_string()),
            |n| serde_json::json!(n),
        ),
        Literal::Real(x) => serde_json::json!(x),
        Literal::Bool(b) => serde_json::json!(b),
        Literal::Text(s) => serde_json::json!(s),
    }
}

/// Values as JSON (`null` for a failure).
pub fn values_json(value: &Option<Vec<Literal>>) -> serde_json::Value {
    match value {
        None => serde_json::Value::Null,
        Some(v) => serde_json::Value::Array(v.iter().map(value_json).collect()),
    }
}
