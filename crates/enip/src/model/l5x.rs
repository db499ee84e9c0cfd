//! A Studio 5000 project export (L5X XML) served as the controller it describes: its user
//! data types (UDTs, custom string types) become [`Types`] structures, its controller- and
//! program-scoped tags become [`TagSpec`]s (`Program:NAME.TAG`), with their dimensions,
//! external access and initial values, and the controller's name.
//!
//! What cannot be served (Add-On Instructions and their instances, module-defined types and
//! I/O module tags, aliases of members or bits, tags with `ExternalAccess="None"`) is listed
//! in [`Project::skipped`], one line each.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use cpppo_cip::{DataType, Status};
use roxmltree::{Document, Node};

use crate::model::attribute::Attribute;
use crate::model::l5x_value;
use crate::model::logix_type::{LogixType, MemberDecl, TagLayout, Types};
use crate::model::tagspec::TagSpec;

/// The status a Logix controller answers a write to a `Read Only` tag with (privilege
/// violation).
pub const PRIVILEGE_VIOLATION: u8 = 0x0F;

/// Logix's predefined structure types this simulator does not model: tags of them are
/// skipped rather than refused.
const PREDEFINED: &[&str] = &[
    "TIMER",
    "COUNTER",
    "CONTROL",
    "MESSAGE",
    "PID",
    "ALARM",
    "MOTION_GROUP",
    "AXIS_CIP_DRIVE",
    "AXIS_VIRTUAL",
    "COORDINATE_SYSTEM",
    "SERIAL_PORT_CONTROL",
    "FBD_TIMER",
    "FBD_COUNTER",
];

/// An L5X file that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct L5xError(pub String);

/// What an L5X file describes, ready to serve.
pub struct Project {
    /// The controller's name (`<Controller Name=...>`).
    pub controller: Option<String>,
    /// The tags to serve, aliases last.
    pub tags: Vec<TagSpec>,
    /// One line per thing not served.
    pub skipped: Vec<String>,
    /// Initial element data by upper-case tag name.
    values: BTreeMap<String, (LogixType, Vec<u8>)>,
    /// Upper-case names of `Read Only` tags.
    read_only: BTreeSet<String>,
    /// Alias (upper case) → its target's upper-case name.
    aliases: BTreeMap<String, String>,
    /// Attributes handed out so far, for aliases to share their target's.
    made: Mutex<BTreeMap<String, Arc<dyn Attribute>>>,
}

fn at(doc: &Document, n: Node) -> String {
    format!("line {}", doc.text_pos_at(n.range().start).row)
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| c.has_tag_name(name))
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(name))
}

/// Numbers separated by spaces or commas (`"4 5"`, `"10"`); `"0"` or empty for none.
fn dimensions(s: &str) -> Option<Vec<u32>> {
    let d = s
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().ok())
        .collect::<Option<Vec<_>>>()?;
    Some(d.into_iter().filter(|n| *n > 0).collect())
}

/// Parse an L5X file's text, defining its structures into `types`.
pub fn load(xml: &str, types: &mut Types) -> Result<Project, L5xError> {
    let doc = Document::parse(xml).map_err(|e| L5xError(format!("not XML: {e}")))?;
    let root = doc.root_element();
    if !root.has_tag_name("RSLogix5000Content") {
        return Err(L5xError(format!(
            "not an L5X file: the root element is <{}>, not <RSLogix5000Content>",
            root.tag_name().name()
        )));
    }
    let controller =
        child(root, "Controller").ok_or_else(|| L5xError("no <Controller> element".into()))?;
    let mut p = Project {
        controller: controller.attribute("Name").map(str::to_string),
        tags: Vec::new(),
        skipped: Vec::new(),
        values: BTreeMap::new(),
        read_only: BTreeSet::new(),
        aliases: BTreeMap::new(),
        made: Mutex::new(BTreeMap::new()),
    };
    let mut unserved: BTreeSet<String> = PREDEFINED.iter().map(|s| s.to_string()).collect();
    for aoi in child(controller, "AddOnInstructionDefinitions")
        .into_iter()
        .flat_map(|n| children(n, "AddOnInstructionDefinition"))
    {
        let name = aoi.attribute("Name").unwrap_or("?");
        p.skipped.push(format!(
            "Add-On Instruction {name}: not served (its tags are skipped)"
        ));
        unserved.insert(name.to_ascii_uppercase());
    }
    define_types(&doc, controller, types, &mut unserved, &mut p.skipped)?;
    for m in child(controller, "Modules")
        .into_iter()
        .flat_map(|n| children(n, "Module"))
    {
        for c in m.descendants().filter(|d| {
            d.has_tag_name("InputTag") || d.has_tag_name("OutputTag") || d.has_tag_name("ConfigTag")
        }) {
            let module = m.attribute("Name").unwrap_or("?");
            let kind = c.tag_name().name().trim_end_matches("Tag");
            p.skipped.push(format!(
                "module {module} {kind} tag: I/O module tags are not served"
            ));
        }
    }
    let mut aliases = Vec::new();
    for t in child(controller, "Tags")
        .into_iter()
        .flat_map(|n| children(n, "Tag"))
    {
        p.tag(&doc, t, None, types, &unserved, &mut aliases)?;
    }
    for prog in child(controller, "Programs")
        .into_iter()
        .flat_map(|n| children(n, "Program"))
    {
        let pname = prog
            .attribute("Name")
            .ok_or_else(|| L5xError(format!("{}: a <Program> without Name", at(&doc, prog))))?;
        for t in child(prog, "Tags")
            .into_iter()
            .flat_map(|n| children(n, "Tag"))
        {
            p.tag(&doc, t, Some(pname), types, &unserved, &mut aliases)?;
        }
    }
    for (name, target, program) in aliases {
        p.alias(&name, &target, program.as_deref());
    }
    Ok(p)
}

/// Define the `<DataTypes>` in dependency order; module-defined ones (and those using an
/// unserved type) are skipped; a member of a type defined nowhere is refused.
fn define_types(
    doc: &Document,
    controller: Node,
    types: &mut Types,
    unserved: &mut BTreeSet<String>,
    skipped: &mut Vec<String>,
) -> Result<(), L5xError> {
    let mut pending = Vec::new();
    for d in child(controller, "DataTypes")
        .into_iter()
        .flat_map(|n| children(n, "DataType"))
    {
        let name = d
            .attribute("Name")
            .ok_or_else(|| L5xError(format!("{}: a <DataType> without Name", at(doc, d))))?;
        match d.attribute("Class") {
            None | Some("User") => pending.push((name, d, members(doc, d)?)),
            Some(class) => {
                skipped.push(format!("data type {name}: Class={class}, not served"));
                unserved.insert(name.to_ascii_uppercase());
            }
        }
    }
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for (name, node, decls) in pending {
            if let Some(d) = decls
                .iter()
                .find(|d| unserved.contains(&d.ty.to_ascii_uppercase()))
            {
                skipped.push(format!(
                    "data type {name}: member {} is of {}, which is not served",
                    d.name, d.ty
                ));
                unserved.insert(name.to_ascii_uppercase());
            } else if decls.iter().all(|d| types.get(&d.ty).is_some()) {
                types
                    .define(name, &decls)
                    .map_err(|e| L5xError(format!("{}: {e}", at(doc, node))))?;
            } else {
                rest.push((name, node, decls));
            }
        }
        if rest.len() == before {
            let (name, node, decls) = &rest[0];
            let d = decls.iter().find(|d| types.get(&d.ty).is_none());
            let why = match d {
                Some(d) if d.ty.eq_ignore_ascii_case(name) => {
                    format!("member {} is of the structure itself (recursive)", d.name)
                }
                Some(d) => format!("member {} has unknown type {:?}", d.name, d.ty),
                None => "cannot be defined".into(),
            };
            return Err(L5xError(format!(
                "{}: data type {name}: {why}",
                at(doc, *node)
            )));
        }
        pending = rest;
    }
    Ok(())
}

/// A `<DataType>`'s members as declared: BIT members become BOOLs (the model packs them into
/// hidden SINT hosts as Logix does), so the hosts they target are left out.
fn members(doc: &Document, d: Node) -> Result<Vec<MemberDecl>, L5xError> {
    let list: Vec<Node> = child(d, "Members")
        .into_iter()
        .flat_map(|n| children(n, "Member"))
        .collect();
    let hosts: BTreeSet<&str> = list.iter().filter_map(|m| m.attribute("Target")).collect();
    let mut out = Vec::new();
    for m in list {
        let bad = |why: &str| L5xError(format!("{}: member: {why}", at(doc, m)));
        let name = m.attribute("Name").ok_or_else(|| bad("no Name"))?;
        if hosts.contains(name) {
            continue;
        }
        let ty = m.attribute("DataType").ok_or_else(|| bad("no DataType"))?;
        let count = m
            .attribute("Dimension")
            .map(|d| d.trim().parse::<u32>())
            .transpose()
            .map_err(|_| bad("Dimension is not a number"))?
            .unwrap_or(0);
        out.push(MemberDecl {
            name: name.to_string(),
            ty: if ty.eq_ignore_ascii_case("BIT") {
                "BOOL".into()
            } else {
                ty.to_string()
            },
            count,
        });
    }
    Ok(out)
}

impl Project {
    /// One `<Tag>` (of `program`, if given).
    fn tag(
        &mut self,
        doc: &Document,
        t: Node,
        program: Option<&str>,
        types: &Types,
        unserved: &BTreeSet<String>,
        aliases: &mut Vec<(String, String, Option<String>)>,
    ) -> Result<(), L5xError> {
        let short = t
            .attribute("Name")
            .ok_or_else(|| L5xError(format!("{}: a <Tag> without Name", at(doc, t))))?;
        let name = match program {
            Some(p) => format!("Program:{p}.{short}"),
            None => short.to_string(),
        };
        let err = |why: String| L5xError(format!("{}: tag {name}: {why}", at(doc, t)));
        if t.attribute("ExternalAccess") == Some("None") {
            self.skipped
                .push(format!("tag {name}: ExternalAccess=\"None\", not served"));
            return Ok(());
        }
        if t.attribute("TagType") == Some("Alias") {
            let target = t.attribute("AliasFor").unwrap_or_default();
            aliases.push((name, target.to_string(), program.map(str::to_string)));
            return Ok(());
        }
        let ty_name = t
            .attribute("DataType")
            .ok_or_else(|| err("no DataType".into()))?;
        let Some(ty) = types.get(ty_name) else {
            if unserved.contains(&ty_name.to_ascii_uppercase()) {
                self.skipped
                    .push(format!("tag {name}: of {ty_name}, which is not served"));
                return Ok(());
            }
            return Err(err(format!("unknown data type {ty_name:?}")));
        };
        let dims = dimensions(t.attribute("Dimensions").unwrap_or(""))
            .ok_or_else(|| err("Dimensions are not numbers".into()))?;
        let spec = match dims.is_empty() {
            true => format!("{name}={ty_name}"),
            false => {
                let d: Vec<String> = dims.iter().map(u32::to_string).collect();
                format!("{name}={ty_name}[{}]", d.join(","))
            }
        };
        let spec = TagSpec::parse_with(&spec, Some(types)).map_err(|e| err(e.to_string()))?;
        let layout = TagLayout { ty, dims };
        let key = name.to_ascii_uppercase();
        if let Some(data) = l5x_value::initial(t, &layout).map_err(err)? {
            self.values.insert(key.clone(), (layout.ty, data));
        }
        if t.attribute("ExternalAccess") == Some("Read Only") {
            self.read_only.insert(key);
        }
        self.tags.push(spec);
        Ok(())
    }

    /// Serve alias `name` as its target, when that is a whole tag of this project.
    fn alias(&mut self, name: &str, target: &str, program: Option<&str>) {
        let scoped = program.map(|p| format!("Program:{p}.{target}"));
        let found = scoped
            .iter()
            .map(String::as_str)
            .chain([target])
            .find_map(|n| self.tags.iter().find(|t| t.name.eq_ignore_ascii_case(n)))
            .cloned();
        match found {
            Some(t) => {
                self.aliases
                    .insert(name.to_ascii_uppercase(), t.name.to_ascii_uppercase());
                self.tags.push(TagSpec {
                    name: name.to_string(),
                    ..t
                });
            }
            None => self.skipped.push(format!(
                "alias {name} for {target}: only aliases of whole tags are served"
            )),
        }
    }

    /// The attribute to serve for tag `name`, given the simulator's fresh `attr`: with its
    /// initial value written, refusing writes when `Read Only`, or its target's for an alias.
    /// (Call it from the simulator's tag hook; tags are added in [`Project::tags`] order.)
    pub fn prepare(
        &self,
        name: &str,
        attr: Arc<dyn Attribute>,
    ) -> Result<Arc<dyn Attribute>, String> {
        let key = name.to_ascii_uppercase();
        let mut made = self.made.lock().map_err(|_| "a poisoned lock")?;
        if let Some(target) = self.aliases.get(&key) {
            return made
                .get(target)
                .cloned()
                .ok_or_else(|| format!("alias {name}: its target is not served"));
        }
        if let Some((ty, data)) = self.values.get(&key) {
            write_initial(attr.as_ref(), ty, data)
                .map_err(|s| format!("tag {name}: initial value refused ({s:?})"))?;
        }
        let attr: Arc<dyn Attribute> = match self.read_only.contains(&key) {
            true => Arc::new(ReadOnly { inner: attr }),
            false => attr,
        };
        made.insert(key, attr.clone());
        Ok(attr)
    }
}

/// Write a tag's initial element data through the attribute: as its elements when they are
/// the L5X's (BOOL arrays: one BOOL each), packed 32 to a DWORD when the attribute stores
/// BOOL arrays that way.
fn write_initial(attr: &dyn Attribute, ty: &LogixType, data: &[u8]) -> Result<(), Status> {
    let size = attr.data_type().size().unwrap_or(1);
    let bools = matches!(ty, LogixType::Atomic(DataType::Bool));
    if bools && attr.data_type() != DataType::Bool && size == 4 {
        let mut words = vec![0u8; attr.len() * 4];
        for (i, b) in data.iter().enumerate() {
            if let Some(w) = words.get_mut(i / 8) {
                *w |= u8::from(*b != 0) << (i % 8);
            }
        }
        return attr.write(0, attr.len(), &words);
    }
    if data.len() != attr.len() * size {
        return Err(Status::new(cpppo_cip::mr::status::NOT_ENOUGH_DATA));
    }
    attr.write(0, attr.len(), data)
}

/// A `Read Only` tag: reads as its inner attribute, writes answer privilege violation.
struct ReadOnly {
    inner: Arc<dyn Attribute>,
}

impl Attribute for ReadOnly {
    crate::delegate_shape_to_inner!(without external_access);

    /// Listed as Read Only (Symbol attribute 10) in the tag list.
    fn external_access(&self) -> u8 {
        crate::model::attribute::READ_ONLY
    }

    fn read(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        self.inner.read(start, count, out)
    }

    fn peek(&self, start: usize, count: usize, out: &mut Vec<u8>) -> Result<(), Status> {
        self.inner.peek(start, count, out)
    }

    fn write(&self, _: usize, _: usize, _: &[u8]) -> Result<(), Status> {
        Err(Status::new(PRIVILEGE_VIOLATION))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attribute::StoredData;

    const PLANT: &str = include_str!("../../../../interop/fixtures/plant.L5X");

    fn served(p: &Project, name: &str) -> Arc<dyn Attribute> {
        let spec = p.tags.iter().find(|t| t.name == name).unwrap();
        let fresh: Arc<dyn Attribute> = Arc::new(StoredData::new(spec.ty, spec.len, spec.array));
        p.prepare(name, fresh).unwrap()
    }

    fn bytes(a: &dyn Attribute) -> Vec<u8> {
        let mut out = Vec::new();
        a.read(0, a.len(), &mut out).unwrap();
        out
    }

    #[test]
    fn plant_project_loads_with_values() {
        let mut types = Types::default();
        let p = load(PLANT, &mut types).unwrap();
        assert_eq!(p.controller.as_deref(), Some("PlantSim"));
        let names: Vec<&str> = p.tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "M1",
                "Motors",
                "Flags",
                "Grid",
                "Temp",
                "Count16",
                "Label",
                "Msg",
                "Limit",
                "Program:Main.Count",
                "Program:Main.Local",
                "TempAlias",
                "Program:Main.CountAlias"
            ]
        );
        let motor = types.udt("Motor").unwrap();
        let off = |m: &str| motor.member(m).unwrap().offset;
        assert_eq!((off("Speed"), off("Running"), off("Faults")), (0, 4, 8));
        assert_eq!(motor.member("Fault").unwrap().bit, Some(1));
        assert_eq!(types.udt("STRING20").unwrap().size, 24);
        for needle in [
            "Add-On Instruction Valve",
            "module DI1 Input tag",
            "tag Secret: ExternalAccess",
            "alias RunAlias for M1.Running",
            "tag V1: of Valve",
        ] {
            assert_eq!(
                p.skipped.iter().filter(|s| s.contains(needle)).count(),
                1,
                "{needle}: {:?}",
                p.skipped
            );
        }
        assert_eq!(p.skipped.len(), 5);
        let m1 = bytes(served(&p, "M1").as_ref());
        assert_eq!(m1[0..4], 1.5f32.to_le_bytes());
        assert_eq!(m1[4], 0b01);
        assert_eq!(m1[8..12], 1i32.to_le_bytes());
        assert_eq!(m1[16..20], (-3i32).to_le_bytes());
        assert_eq!(m1[20..24], 16i32.to_le_bytes());
        assert_eq!(m1[24..28], (1u32 | 1 << 9).to_le_bytes());
        let name = off("Name") as usize;
        assert_eq!(m1[name..name + 8], *b"\x04\0\0\0pump");
        let flags = bytes(served(&p, "Flags").as_ref());
        // BOOL[64] in Logix mode: two DWORDs, bits 0, 33 and 63 set (bit 1 clear).
        assert_eq!(flags, [1, 0, 0, 0, 0b10, 0, 0, 0x80]);
        let grid = bytes(served(&p, "Grid").as_ref());
        assert_eq!(grid[(5 + 2) * 4], 12);
        assert_eq!(grid[19 * 4], 34);
        assert_eq!(bytes(served(&p, "Count16").as_ref()), [0xFF, 0]);
        let label = bytes(served(&p, "Label").as_ref());
        assert_eq!(label[..9], *b"\x05\0\0\0hello");
        let msg = bytes(served(&p, "Msg").as_ref());
        assert_eq!(msg[..12], *b"\x08\0\0\0it's $5!");
        let limit = served(&p, "Limit");
        assert_eq!(bytes(limit.as_ref()), 100i32.to_le_bytes());
        assert_eq!(
            limit.write(0, 1, &[0; 4]).unwrap_err().general,
            PRIVILEGE_VIOLATION
        );
        let temp = served(&p, "Temp");
        let alias = served(&p, "TempAlias");
        temp.write(0, 1, &2.0f32.to_le_bytes()).unwrap();
        assert_eq!(bytes(alias.as_ref()), 2.0f32.to_le_bytes());
        let count = served(&p, "Program:Main.Count");
        assert_eq!(bytes(count.as_ref()), 7i32.to_le_bytes());
        assert_eq!(
            bytes(served(&p, "Program:Main.CountAlias").as_ref()),
            7i32.to_le_bytes()
        );
    }

    fn refused(xml: &str) -> String {
        match load(xml, &mut Types::default()) {
            Ok(_) => panic!("accepted: {xml}"),
            Err(e) => e.to_string(),
        }
    }

    fn project(types: &str, tags: &str) -> String {
        format!(
            "<RSLogix5000Content><Controller Name=\"C\"><DataTypes>{types}</DataTypes>\
             <Tags>{tags}</Tags></Controller></RSLogix5000Content>"
        )
    }

    #[test]
    fn bad_files_are_refused_with_one_line() {
        let udt = |name: &str, ty: &str| {
            format!(
                "<DataType Name=\"{name}\"><Members><Member Name=\"a\" DataType=\"{ty}\" \
                 Dimension=\"0\"/></Members></DataType>"
            )
        };
        let dint = |attrs: &str, data: &str| {
            format!("<Tag Name=\"T\" DataType=\"DINT\" {attrs}><Data Format=\"Decorated\">{data}</Data></Tag>")
        };
        for (xml, needle) in [
            ("<RSLogix5000Content><Controller>".to_string(), "not XML"),
            ("<Project/>".to_string(), "root element is <Project>"),
            ("<RSLogix5000Content/>".to_string(), "no <Controller>"),
            (
                project("", "<Tag Name=\"T\" DataType=\"FOO\"/>"),
                "tag T: unknown data type \"FOO\"",
            ),
            (project(&udt("A", "NOPE"), ""), "data type A: member a has unknown type \"NOPE\""),
            (project(&udt("A", "A"), ""), "recursive"),
            (
                project(&format!("{}{}", udt("A", "B"), udt("B", "A")), ""),
                "unknown type",
            ),
            (
                project("", "<Tag Name=\"T\" DataType=\"DINT\" Dimensions=\"x\"/>"),
                "Dimensions are not numbers",
            ),
            (
                project("", &dint("", "<DataValue Value=\"1.5\"/>")),
                "\"1.5\" is not an integer",
            ),
            (
                project("", &dint("Dimensions=\"2\"", "<Array><Element Index=\"[2]\" Value=\"1\"/></Array>")),
                "Index [2] is outside",
            ),
            (
                project(&udt("A", "DINT"), "<Tag Name=\"T\" DataType=\"A\"><Data Format=\"Decorated\"><Structure><DataValueMember Name=\"b\" Value=\"1\"/></Structure></Data></Tag>"),
                "A has no member \"b\"",
            ),
            (project("", &dint("", "<Foo/>")), "unknown data element <Foo>"),
        ] {
            let e = refused(&xml);
            assert!(e.contains(needle), "{needle}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
