//! The object model: classes -> instances -> attributes, and tags bound to attributes.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::Ipv4Addr;
use std::sync::Arc;

use cpppo_cip::services::class;
use cpppo_cip::value::{append, append_text};
use cpppo_cip::{DataType, Value};

use crate::model::attribute::{Attribute, StoredData};
use crate::model::logix_type::{LogixType, TagLayout, Udt};
use crate::model::tagspec::{Address, TagSpec};

/// Software-control bit Logix sets on base (non-alias) tags.
pub const BASE_TAG_BIT: u32 = 1 << 26;

/// The Identity object's values (class 0x01, instance 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Vendor id.
    pub vendor: u16,
    /// Device type.
    pub device_type: u16,
    /// Product code.
    pub product_code: u16,
    /// Major and minor revision.
    pub revision: [u8; 2],
    /// Status word.
    pub status: u16,
    /// Serial number.
    pub serial: u32,
    /// Product name.
    pub product_name: String,
    /// State.
    pub state: u8,
}

impl Default for Identity {
    /// A 1756-L61 ControlLogix, revision 20.11, as the Python cpppo simulates.
    fn default() -> Self {
        Self {
            vendor: 1,
            device_type: 0x0E,
            product_code: 0x36,
            revision: [20, 11],
            status: 0x3160,
            serial: 0x006C_061A,
            product_name: "1756-L61/B LOGIX5561".into(),
            state: 0xFF,
        }
    }
}

/// The TCP/IP object's interface configuration (attribute 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InterfaceConfig {
    /// IP address.
    pub ip_address: Option<Ipv4Addr>,
    /// Network mask.
    pub network_mask: Option<Ipv4Addr>,
    /// Default gateway.
    pub gateway_address: Option<Ipv4Addr>,
    /// Primary DNS server.
    pub dns_primary: Option<Ipv4Addr>,
    /// Secondary DNS server.
    pub dns_secondary: Option<Ipv4Addr>,
    /// Domain name.
    pub domain_name: String,
}

/// Everything configurable about the standard objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Identity values.
    pub identity: Identity,
    /// TCP/IP interface configuration.
    pub interface: InterfaceConfig,
    /// TCP/IP host name.
    pub host_name: String,
    /// Controller (program) name that Logix clients read.
    pub controller_name: String,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            identity: Identity::default(),
            interface: InterfaceConfig::default(),
            host_name: String::new(),
            controller_name: "cpppo".into(),
        }
    }
}

/// One instance: its attributes by id.
#[derive(Default, Clone)]
pub struct Instance {
    /// Attributes by id.
    pub attributes: BTreeMap<u16, Arc<dyn Attribute>>,
}

/// One class: its instances by id (instance 0 holds class attributes).
#[derive(Default, Clone)]
pub struct Class {
    /// Instances by id.
    pub instances: BTreeMap<u32, Instance>,
}

/// A tag: a name bound to an attribute.
pub struct Tag {
    /// The name as declared.
    pub name: String,
    /// The value.
    pub attribute: Arc<dyn Attribute>,
    /// Where it also lives in the object model, for `@c/i/a` tags.
    pub address: Option<Address>,
    /// Its Symbol object (0x6B) instance (in its program's own instances, if program-scoped).
    pub symbol: u32,
    /// Its Logix shape (structures, multi-dimensional arrays, program-scoped tags); `None`
    /// for a tag of CIP elements.
    pub layout: Option<Arc<TagLayout>>,
}

/// A Logix program: its name and its tags' Symbol object instances.
#[derive(Default)]
pub struct Program {
    /// The name as declared (`Main` for `Program:Main`).
    pub name: String,
    /// Its Symbol instances (listed under `Program:NAME` + class 0x6B).
    pub symbols: Class,
}

/// Why a tag could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// A tag of that name exists.
    #[error("duplicate tag name {0:?}")]
    DuplicateTag(String),
    /// The address is taken by a standard object or another tag.
    #[error("tag {name:?}: @{class}/{instance}/{attribute} is already in use")]
    AddressInUse {
        /// Tag name.
        name: String,
        /// Class id.
        class: u16,
        /// Instance id.
        instance: u32,
        /// Attribute id.
        attribute: u16,
    },
}

/// A simulated CIP device: the classes and the tag table. Build it, then share it in an
/// `Arc`; values change through the attributes' own interior locking.
#[derive(Default)]
pub struct Device {
    classes: BTreeMap<u32, Class>,
    tags: HashMap<String, Arc<Tag>, BuildHasherDefault<Fnv>>,
    symbols: BTreeMap<u32, Arc<Tag>>,
    programs: BTreeMap<String, Program>,
    templates: BTreeMap<u32, Arc<Udt>>,
    identity: Identity,
}

pub(crate) fn constant(ty: DataType, data: &[u8]) -> Arc<dyn Attribute> {
    let count = match ty.size() {
        Some(size) => data.len() / size.max(1),
        None => 1,
    };
    match StoredData::constant(ty, count, data) {
        Some(v) => Arc::new(v),
        None => Arc::new(StoredData::new(ty, count, false)),
    }
}

/// A read-only attribute of one element.
fn one(v: Value<'_>) -> Arc<dyn Attribute> {
    let mut data = Vec::new();
    // Numbers always encode.
    let _ = append(&mut data, &v);
    constant(v.data_type(), &data)
}

pub(crate) fn uint(v: u16) -> Arc<dyn Attribute> {
    one(Value::Uint(v))
}

pub(crate) fn udint(v: u32) -> Arc<dyn Attribute> {
    one(Value::Udint(v))
}

fn ip(a: Option<Ipv4Addr>) -> u32 {
    a.map(u32::from).unwrap_or(0)
}

impl Device {
    /// A device with the standard objects (Identity, Message Router, Connection Manager,
    /// TCP/IP, Ethernet Link, Symbol, Template, Wall Clock, program name) and no tags.
    pub fn new(config: &DeviceConfig) -> Self {
        let mut d = Device {
            identity: config.identity.clone(),
            ..Device::default()
        };
        let id = &config.identity;
        let identity: [(u16, Arc<dyn Attribute>); 10] = [
            (1, uint(id.vendor)),
            (2, uint(id.device_type)),
            (3, uint(id.product_code)),
            (4, constant(DataType::Usint, &id.revision)),
            (5, one(Value::Word(id.status))),
            (6, udint(id.serial)),
            (
                7,
                Arc::new(StoredData::text(DataType::Sstring, &id.product_name)),
            ),
            (8, constant(DataType::Usint, &[id.state])),
            (9, uint(0)),
            (10, constant(DataType::Usint, &[0])),
        ];
        for (a, attr) in identity {
            d.set(class::IDENTITY, 1, a, attr);
        }
        d.set(class::IDENTITY, 0, 1, uint(1));
        d.set(class::IDENTITY, 0, 2, uint(1));

        let mut objects = Vec::new();
        let classes = [
            class::IDENTITY,
            class::MESSAGE_ROUTER,
            class::CONNECTION_MANAGER,
            class::SYMBOL,
            class::TEMPLATE,
            class::WALL_CLOCK,
            class::TCPIP,
            class::ETHERNET_LINK,
        ];
        objects.extend_from_slice(&(classes.len() as u16).to_le_bytes());
        for c in classes {
            // The standard class ids all fit the list's UINT.
            objects.extend_from_slice(&(c as u16).to_le_bytes());
        }
        d.set(
            class::MESSAGE_ROUTER,
            1,
            1,
            constant(DataType::Uint, &objects),
        );
        d.set(class::MESSAGE_ROUTER, 1, 2, uint(128));
        for a in 1..=8 {
            d.set(class::CONNECTION_MANAGER, 1, a, uint(0));
        }

        // Status 2: configuration from hardware settings (as cpppo reports).
        d.set(class::TCPIP, 1, 1, udint(2));
        d.set(class::TCPIP, 1, 2, udint(0x30));
        d.set(class::TCPIP, 1, 3, udint(0));
        // Physical link object: a 2-word path to @0xF6/1.
        d.set(
            class::TCPIP,
            1,
            4,
            constant(DataType::Usint, &[2, 0, 0x20, 0xF6, 0x24, 0x01]),
        );
        let i = &config.interface;
        let mut cfg = Vec::new();
        for a in [
            i.ip_address,
            i.network_mask,
            i.gateway_address,
            i.dns_primary,
            i.dns_secondary,
        ] {
            // CIP encodes each address as a UDINT (little-endian), as cpppo does.
            cfg.extend_from_slice(&ip(a).to_le_bytes());
        }
        append_text(&mut cfg, DataType::String, i.domain_name.as_bytes());
        if cfg.len() % 2 == 1 {
            cfg.push(0);
        }
        d.set(class::TCPIP, 1, 5, constant(DataType::Usint, &cfg));
        d.set(
            class::TCPIP,
            1,
            6,
            Arc::new(StoredData::text(DataType::String, &config.host_name)),
        );

        d.set(class::ETHERNET_LINK, 1, 1, udint(100));
        d.set(class::ETHERNET_LINK, 1, 2, udint(0x0F));
        d.set(
            class::ETHERNET_LINK,
            1,
            3,
            constant(DataType::Usint, &[0x00, 0x1D, 0x9C, 0x00, 0x00, 0x01]),
        );

        d.set(
            class::PROGRAM_NAME,
            1,
            1,
            Arc::new(StoredData::text(DataType::String, &config.controller_name)),
        );
        let (utc, local) = crate::model::hooks::Clock::pair();
        d.set(class::WALL_CLOCK, 1, 6, Arc::new(utc));
        d.set(class::WALL_CLOCK, 1, 11, Arc::new(local));
        // Daylight saving flag (pylogix SetPLCTime writes it with the time).
        d.set(
            class::WALL_CLOCK,
            1,
            10,
            Arc::new(StoredData::new(DataType::Usint, 1, false)),
        );
        d.classes.entry(class::SYMBOL).or_default();
        d.classes.entry(class::TEMPLATE).or_default();
        d
    }

    /// Put `attr` at `@class/instance/attribute`, replacing what was there.
    pub fn set(&mut self, class: u32, instance: u32, attribute: u16, attr: Arc<dyn Attribute>) {
        self.classes
            .entry(class)
            .or_default()
            .instances
            .entry(instance)
            .or_default()
            .attributes
            .insert(attribute, attr);
    }

    /// Add a tag from a specification, with the default in-memory attribute.
    pub fn add_tag(&mut self, spec: &TagSpec) -> Result<(), DeviceError> {
        let value = StoredData::new(spec.ty, spec.len, spec.array);
        self.add_tag_layout(
            &spec.name,
            Arc::new(value),
            spec.address,
            spec.layout.clone(),
        )
    }

    /// Bind `name` to a caller-supplied attribute (a hook), at `address` too if given.
    pub fn add_tag_attribute(
        &mut self,
        name: &str,
        attribute: Arc<dyn Attribute>,
        address: Option<Address>,
    ) -> Result<(), DeviceError> {
        self.add_tag_layout(name, attribute, address, None)
    }

    /// Bind `name` to `attribute` with a Logix shape (see [`Tag::layout`]); a structure's
    /// templates (nested ones too) join the Template object.
    pub fn add_tag_layout(
        &mut self,
        name: &str,
        attribute: Arc<dyn Attribute>,
        address: Option<Address>,
        layout: Option<Arc<TagLayout>>,
    ) -> Result<(), DeviceError> {
        let key = name.to_ascii_uppercase();
        if self.tags.contains_key(&key) {
            return Err(DeviceError::DuplicateTag(name.to_string()));
        }
        if let Some(a) = address {
            if self
                .attribute(u32::from(a.class), a.instance, a.attribute)
                .is_some()
            {
                return Err(DeviceError::AddressInUse {
                    name: name.to_string(),
                    class: a.class,
                    instance: a.instance,
                    attribute: a.attribute,
                });
            }
            self.set(
                u32::from(a.class),
                a.instance,
                a.attribute,
                attribute.clone(),
            );
        }
        if let Some(LogixType::Struct(u)) = layout.as_ref().map(|l| &l.ty) {
            let mut all = Vec::new();
            u.with_nested(&mut all);
            for u in all {
                self.add_template(u);
            }
        }
        let program = crate::model::logix::split_program(name);
        let symbol = match program {
            Some((program, short)) => {
                let p = self.program(program);
                let symbol = p.symbols.instances.keys().next_back().map_or(1, |n| n + 1);
                let attrs = symbol_attributes(symbol, short, attribute.as_ref(), layout.as_deref());
                p.symbols
                    .instances
                    .insert(symbol, Instance { attributes: attrs });
                symbol
            }
            None => {
                let symbol = self.next_symbol();
                let attrs = symbol_attributes(symbol, name, attribute.as_ref(), layout.as_deref());
                self.add_symbol(symbol, attrs);
                symbol
            }
        };
        let tag = Arc::new(Tag {
            name: name.to_string(),
            attribute,
            address,
            symbol,
            layout,
        });
        self.tags.insert(key, tag.clone());
        if program.is_none() {
            self.symbols.insert(symbol, tag);
        }
        Ok(())
    }

    fn next_symbol(&self) -> u32 {
        self.class(class::SYMBOL)
            .and_then(|c| c.instances.keys().next_back())
            .map_or(1, |n| n + 1)
    }

    /// The program named `name`, made (with its `Program:NAME` symbol) if new.
    fn program(&mut self, name: &str) -> &mut Program {
        let key = name.to_ascii_uppercase();
        if !self.programs.contains_key(&key) {
            let symbol = self.next_symbol();
            let full = format!("Program:{name}");
            let attrs = crate::model::logix::program_symbol(symbol, &full);
            self.add_symbol(symbol, attrs);
        }
        self.programs.entry(key).or_insert_with(|| Program {
            name: name.to_string(),
            symbols: Class::default(),
        })
    }

    /// The program named `name` (case-insensitive).
    pub fn program_named(&self, name: &str) -> Option<&Program> {
        self.programs.get(&name.to_ascii_uppercase())
    }

    /// All programs.
    pub fn programs(&self) -> impl Iterator<Item = &Program> {
        self.programs.values()
    }

    /// A structure's Template object instance (attributes 1-5) and its data for Read Template.
    fn add_template(&mut self, u: Arc<Udt>) {
        let i = u32::from(u.instance);
        if self.templates.contains_key(&i) {
            return;
        }
        let count = u16::try_from(u.members.len()).unwrap_or(u16::MAX);
        let c = class::TEMPLATE;
        use cpppo_cip::services::template::template_attr as a;
        self.set(c, i, a::HANDLE, uint(u.handle));
        self.set(c, i, a::MEMBER_COUNT, uint(count));
        self.set(c, i, a::PYLOGIX_3, uint(count));
        self.set(c, i, a::DEFINITION_WORDS, udint(u.definition_words()));
        self.set(c, i, a::STRUCTURE_SIZE, udint(u.size));
        self.templates.insert(i, u);
    }

    /// The structure served as Template instance `instance`.
    pub fn template(&self, instance: u32) -> Option<&Arc<Udt>> {
        self.templates.get(&instance)
    }

    /// The Symbol object instance describing a tag, with the attributes Logix clients upload.
    fn add_symbol(&mut self, instance: u32, attrs: BTreeMap<u16, Arc<dyn Attribute>>) {
        self.classes
            .entry(class::SYMBOL)
            .or_default()
            .instances
            .insert(instance, Instance { attributes: attrs });
    }

    /// The class `class`, if it exists.
    pub fn class(&self, class: u32) -> Option<&Class> {
        self.classes.get(&class)
    }

    /// The attribute at `@class/instance/attribute`.
    pub fn attribute(
        &self,
        class: u32,
        instance: u32,
        attribute: u16,
    ) -> Option<&Arc<dyn Attribute>> {
        self.classes
            .get(&class)?
            .instances
            .get(&instance)?
            .attributes
            .get(&attribute)
    }

    /// The tag named `name` (case-insensitive, as Logix).
    pub fn tag(&self, name: &str) -> Option<&Arc<Tag>> {
        // Tag names are case-insensitive (stored upper-case); fold on the stack: this runs for
        // every tag a client reads.
        if !name.bytes().any(|b| b.is_ascii_lowercase()) {
            return self.tags.get(name);
        }
        let mut buf = [0u8; 255];
        let folded = buf.get_mut(..name.len())?;
        folded.copy_from_slice(name.as_bytes());
        folded.make_ascii_uppercase();
        self.tags.get(std::str::from_utf8(folded).ok()?)
    }

    /// The tag described by Symbol instance `instance`.
    pub fn tag_by_symbol(&self, instance: u32) -> Option<&Arc<Tag>> {
        self.symbols.get(&instance)
    }

    /// All tags in declaration order.
    pub fn tags(&self) -> impl Iterator<Item = &Arc<Tag>> {
        self.symbols.values()
    }

    /// The Identity values.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }
}

/// The Symbol object attributes Logix clients upload for a tag named `name` (its short name
/// if program-scoped).
fn symbol_attributes(
    instance: u32,
    name: &str,
    attr: &dyn Attribute,
    layout: Option<&TagLayout>,
) -> BTreeMap<u16, Arc<dyn Attribute>> {
    let ty = attr.data_type();
    let (symbol_type, size, dims) = match layout {
        Some(l) => {
            let mut dims = [0u32; 3];
            for (d, n) in dims.iter_mut().zip(&l.dims) {
                *d = *n;
            }
            (l.symbol_type(), l.ty.size(), dims)
        }
        None => {
            let mut symbol_type = ty.code() & 0x0FFF;
            let mut dims = [0u32; 3];
            if attr.is_array() {
                symbol_type |= 1 << 13;
                dims[0] = u32::try_from(attr.len()).unwrap_or(u32::MAX);
            }
            let size = ty.size().unwrap_or(match ty {
                DataType::Sstring => 1,
                _ => 2,
            });
            (symbol_type, size as u32, dims)
        }
    };
    let mut dim_bytes = Vec::new();
    for d in dims {
        dim_bytes.extend_from_slice(&d.to_le_bytes());
    }
    let mut m: BTreeMap<u16, Arc<dyn Attribute>> = BTreeMap::new();
    m.insert(1, Arc::new(StoredData::text(DataType::String, name)));
    m.insert(2, uint(symbol_type));
    m.insert(3, udint(instance << 8));
    m.insert(5, udint(instance << 8));
    m.insert(6, udint(BASE_TAG_BIT));
    m.insert(7, uint(u16::try_from(size).unwrap_or(u16::MAX)));
    m.insert(8, constant(DataType::Udint, &dim_bytes));
    m.insert(10, constant(DataType::Usint, &[attr.external_access()]));
    m
}

/// FNV-1a: tag names are short and chosen by the device's owner, not by clients (who only
/// look names up), so a fast non-keyed hash is safe here; SipHash showed in the profile.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_match_in_any_case_and_any_length() {
        let mut d = Device::new(&DeviceConfig::default());
        let long = format!("T{}", "_x".repeat(19));
        for spec in ["Mixed_Case=INT".to_string(), format!("{long}=DINT")] {
            d.add_tag(&TagSpec::parse(&spec).unwrap()).unwrap();
        }
        assert!(d.tag("MIXED_CASE").is_some() && d.tag("mixed_case").is_some());
        assert!(d.tag(&long.to_ascii_lowercase()).is_some());
        // A name longer than any symbolic segment is simply not found.
        assert!(d.tag(&"t".repeat(300)).is_none());
        assert!(d.tag("mixed_casf").is_none());
    }

    #[test]
    fn tags_bind_to_attributes_and_symbols() {
        let mut d = Device::new(&DeviceConfig::default());
        d.add_tag(&TagSpec::parse("SCADA=INT[10]").unwrap())
            .unwrap();
        d.add_tag(&TagSpec::parse("FLT@22/1/3=REAL").unwrap())
            .unwrap();
        assert!(d.tag("scada").is_some());
        let flt = d.tag("FLT").unwrap();
        assert!(Arc::ptr_eq(&flt.attribute, d.attribute(22, 1, 3).unwrap()));
        assert_eq!(d.tag_by_symbol(2).unwrap().name, "FLT");
        assert_eq!(
            d.add_tag(&TagSpec::parse("Scada=INT").unwrap()),
            Err(DeviceError::DuplicateTag("Scada".into()))
        );
        assert!(matches!(
            d.add_tag(&TagSpec::parse("X@1/1/7=INT").unwrap()),
            Err(DeviceError::AddressInUse { .. })
        ));
        let mut out = Vec::new();
        d.attribute(class::SYMBOL, 1, 2)
            .unwrap()
            .read(0, 1, &mut out)
            .unwrap();
        assert_eq!(out, (0xC3u16 | 0x2000).to_le_bytes());
    }
}
