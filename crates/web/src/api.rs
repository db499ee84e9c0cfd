//! cpppo's REST API: `api/<group>/<match>/<command>/<value>` (or `.../<command>=<value>`).
//!
//! Every reply is the envelope `{"alarm", "command", "data", "since", "until"}`; `data` holds
//! the matched items of the group(s), `command` the outcome of a command (`{}` if none).
//! A command is checked against every matched item before any is changed, so a bad request
//! changes nothing.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value as Json};

use crate::logix;
use crate::values;
use crate::Web;

/// The groups, in the order `api/` lists them.
pub const GROUPS: [&str; 4] = ["connections", "options", "server", "tags"];

/// A parsed API path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// `options`, `server`, `tags`, `connections`, or `*`.
    pub group: String,
    /// A name or glob (`*`, `?`).
    pub pattern: String,
    /// The command (attribute) named, if any.
    pub command: Option<String>,
    /// The value to set, if any.
    pub value: Option<String>,
}

/// Why a request was refused, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code (4xx).
    pub status: u16,
    /// What was wrong.
    pub message: String,
}

fn err(status: u16, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
    }
}

impl Query {
    /// Parse the path after `api/`; both `cmd/value` and `cmd=value` forms are accepted.
    pub fn parse(rest: &str) -> Result<Query, ApiError> {
        let rest = rest.trim_start_matches('/');
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        // `<command>=<value>` in the first three segments; else a fourth segment (the value
        // may itself hold '/' or '=').
        let eq = parts.iter().take(3).position(|p| p.contains('='));
        let value = match eq {
            Some(i) => {
                let (head, tail) = parts
                    .get(i)
                    .and_then(|p| p.split_once('='))
                    .unwrap_or_default();
                let mut v = tail.to_string();
                for more in parts.get(i + 1..).unwrap_or_default() {
                    v.push('/');
                    v.push_str(more);
                }
                parts.truncate(i);
                parts.push(head);
                Some(v)
            }
            None if parts.len() > 3 => Some(parts.split_off(3).join("/")),
            None => None,
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(err(
                400,
                format!("bad API path {rest:?}: want <group>/<match>/<command>/<value>"),
            ));
        }
        let group = parts.first().copied().unwrap_or("*").to_string();
        if group != "*" && !GROUPS.contains(&group.as_str()) {
            return Err(err(
                404,
                format!(
                    "unknown group {group:?} (want one of {})",
                    GROUPS.join(", ")
                ),
            ));
        }
        let command = parts.get(2).map(|c| c.to_string());
        if value.is_some() && command.is_none() {
            return Err(err(
                400,
                format!("bad API path {rest:?}: a value needs a command"),
            ));
        }
        Ok(Query {
            group,
            pattern: parts.get(1).copied().unwrap_or("*").to_string(),
            command,
            value,
        })
    }

    /// Whether the request changes something.
    pub fn mutates(&self) -> bool {
        self.value.is_some()
    }
}

/// Shell-style match: `*` any run, `?` any one character; case-insensitive.
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// Seconds since the epoch, as cpppo's `until`.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The reply envelope.
pub fn envelope(command: Json, data: Json) -> Json {
    json!({"alarm": [], "command": command, "data": data, "since": null, "until": now()})
}

/// A change checked and ready to apply.
pub type Action = Box<dyn FnOnce() + Send>;

/// One command checked on one item: the change to make (if a value was given) and a note.
pub type Plan = Result<(Option<Action>, String), ApiError>;

/// Run a query: check the command on all matches, apply it, and return the envelope.
pub fn run(web: &Web, q: &Query) -> Result<Json, ApiError> {
    if q.group == "connections" && names(web, &q.group, &q.pattern).is_empty() {
        // No client connected is the normal idle state, not an error: cpppo answers
        // `{"command": null, "data": {}}`, and scripts wait for `data` to become empty.
        return Ok(envelope(Json::Null, json!({})));
    }
    if q.group == "tags" && logix::is_path(&q.pattern) && web.device.tag(&q.pattern).is_none() {
        // A member path (`M1.Speed`): one clear line if it names nothing.
        logix::member_item(web, &q.pattern)?;
    }
    let mut command = json!({});
    if let Some(cmd) = &q.command {
        if q.group == "*" {
            return Err(err(400, "a command needs a group"));
        }
        let names = names(web, &q.group, &q.pattern);
        if names.is_empty() {
            return Err(err(404, format!("no {} match {:?}", q.group, q.pattern)));
        }
        let mut actions: Vec<Action> = Vec::new();
        let mut shown = Vec::new();
        for name in &names {
            let (act, note) = plan(web, &q.group, name, cmd, q.value.as_deref())?;
            actions.extend(act);
            shown.push(note);
        }
        for a in actions {
            a();
        }
        command = match &q.value {
            Some(v) => json!({
                "message": format!("{}.{}.{cmd}='{v}' ({})", q.group, q.pattern, shown.join(", ")),
                "success": true,
            }),
            None => json!({
                "message": format!("{}.{}.{cmd} == {}", q.group, q.pattern, shown.join(", ")),
                "success": true,
                "value": shown
                    .iter()
                    .map(|s| serde_json::from_str(s).unwrap_or_else(|_| json!(s)))
                    .collect::<Vec<Json>>(),
            }),
        };
    }
    Ok(envelope(command, data(web, &q.group, &q.pattern)))
}

/// The names in `group` matching `pattern`.
fn names(web: &Web, group: &str, pattern: &str) -> Vec<String> {
    let all: Vec<String> = match group {
        "options" => vec!["delay".into()],
        "server" => vec!["control".into()],
        "tags" => web.device.tags().map(|t| t.name.clone()).collect(),
        "connections" => web
            .control
            .connections()
            .iter()
            .map(|c| c.id.clone())
            .collect(),
        _ => Vec::new(),
    };
    let found: Vec<String> = all.into_iter().filter(|n| glob(pattern, n)).collect();
    if found.is_empty() && group == "tags" && logix::is_path(pattern) {
        return vec![pattern.to_string()];
    }
    found
}

/// All matched items of `group` (or of every group for `*`), as `{group: {name: {...}}}`.
pub fn data(web: &Web, group: &str, pattern: &str) -> Json {
    let mut out = Map::new();
    for g in GROUPS {
        if group != "*" && group != g {
            continue;
        }
        let mut items = Map::new();
        for name in names(web, g, pattern) {
            items.insert(name.clone(), item(web, g, &name));
        }
        if group == g || !items.is_empty() {
            out.insert(g.to_string(), Json::Object(items));
        }
    }
    Json::Object(out)
}

fn item(web: &Web, group: &str, name: &str) -> Json {
    let c = &web.control;
    match group {
        "options" => {
            let (lo, hi) = c.delay();
            json!({"value": (lo + hi) / 2.0, "range": [lo, hi]})
        }
        "server" => {
            let addr = c.address.lock().ok().and_then(|a| *a);
            let pair = addr.map(|a| json!([a.ip().to_string(), a.port()]));
            let mut out = json!({
                "address": pair, "address_udp": pair, "disable": c.disabled(), "done": c.done(),
                "latency": c.latency(), "timeout": c.timeout(),
            });
            with_io(&mut out, io_connections(web));
            out
        }
        "connections" => {
            c.connections()
                .into_iter()
                .find(|s| s.id == name)
                .map_or(Json::Null, |s| {
                    json!({
                        "eof": s.eof.load(Ordering::Relaxed),
                        "interface": s.peer.ip().to_string(), "port": s.peer.port(),
                        "received": s.received.load(Ordering::Relaxed),
                        "processed": s.processed.load(Ordering::Relaxed),
                        "requests": s.requests.load(Ordering::Relaxed),
                    })
                })
        }
        _ => tag_item(web, name),
    }
}

/// `item` with an `"io"` key holding `io`, unless that is null (no I/O adapter: the reply stays
/// as cpppo has it).
fn with_io(item: &mut Json, io: Json) {
    if let (Json::Object(map), false) = (item, io.is_null()) {
        map.insert("io".into(), io);
    }
}

/// The open class 1 I/O connections (`null` without an adapter).
fn io_connections(web: &Web) -> Json {
    let Some(hub) = web.control.io.get() else {
        return Json::Null;
    };
    let io = hub.lock();
    io.connections()
        .map(|c| {
            json!({
                "peer": c.peer.ip().to_string(), "kind": c.kind.name(),
                "o_t_id": c.o_t_id, "t_o_id": c.t_o_id, "t_o_dest": c.dest.to_string(),
                "input": c.input, "output": c.output, "o_t_api_us": c.o_t_api,
                "t_o_api_us": c.t_o_api, "packets_in": c.packets_in, "run": c.run,
            })
        })
        .collect()
}

/// An output assembly's I/O state: whether an owner drives it in run mode (else idle).
fn io_state(web: &Web, tag: &cpppo_enip::model::device::Tag) -> Json {
    match (web.control.io.get(), tag.address) {
        (Some(hub), Some(a)) if a.class == 4 => {
            json!({"outputs": if hub.lock().outputs_run(a.instance) { "run" } else { "idle" }})
        }
        _ => Json::Null,
    }
}

fn tag_item(web: &Web, name: &str) -> Json {
    let Some(tag) = web.device.tag(name) else {
        return logix::member_item(web, name).unwrap_or(Json::Null);
    };
    let guard = web.control.guarded(name);
    let attr = guard
        .as_ref()
        .map_or(tag.attribute.clone(), |g| g.inner().clone());
    if let Some(mut item) = logix::struct_item(tag, attr.clone()) {
        if let Json::Object(m) = &mut item {
            m.insert("error".into(), json!(guard.map_or(0, |g| g.error())));
        }
        return item;
    }
    let values = values::read_all(attr.as_ref()).unwrap_or_default();
    let path = tag.address.map(|a| {
        json!({"segment": [{"class": a.class}, {"instance": a.instance}, {"attribute": a.attribute}]})
    });
    let mut out = json!({
        "attribute": values::describe(&tag.name, attr.as_ref(), &values),
        "error": guard.map_or(0, |g| g.error()),
        "path": path,
        "type": attr.data_type().name(),
        "length": attr.len(),
        "values": values,
    });
    with_io(&mut out, io_state(web, tag));
    out
}

fn number(v: &str, what: &str) -> Result<f64, ApiError> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && (0.0..=3600.0).contains(x))
        .ok_or_else(|| {
            err(
                400,
                format!("{what}: {v:?} is not a number of seconds (0-3600)"),
            )
        })
}

fn boolean(v: &str, what: &str) -> Result<bool, ApiError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(err(400, format!("{what}: {v:?} is not true or false"))),
    }
}

/// `attribute[3]` (or cpppo-unknown `value[3]`) → 3; plain `attribute`/`value` → 0.
fn element_index(cmd: &str) -> Option<usize> {
    let (head, rest) = cmd.split_once('[').unwrap_or((cmd, "0]"));
    if head != "attribute" && head != "value" {
        return None;
    }
    rest.strip_suffix(']')?.trim().parse().ok()
}

/// Check one command on one item: the change to make (if a value was given) and a note.
fn plan(web: &Web, group: &str, name: &str, cmd: &str, value: Option<&str>) -> Plan {
    let c = web.control.clone();
    let what = format!("{group}.{name}.{cmd}");
    let unknown = || err(404, format!("{what}: unknown command {cmd:?}"));
    match (group, cmd, value) {
        ("options", "value" | "range", None) => {
            let (lo, hi) = c.delay();
            Ok((None, format!("{lo}-{hi}")))
        }
        ("options", "value", Some(v)) => {
            let x = number(v, &what)?;
            Ok((Some(Box::new(move || c.set_delay(x, x))), format!("{x}")))
        }
        ("options", "range", Some(v)) => {
            let (lo, hi) = v.split_once('-').unwrap_or((v, v));
            let (lo, hi) = (number(lo, &what)?, number(hi, &what)?);
            if lo > hi {
                return Err(err(400, format!("{what}: range {v:?} runs backwards")));
            }
            Ok((
                Some(Box::new(move || c.set_delay(lo, hi))),
                format!("{lo}-{hi}"),
            ))
        }
        ("server", "disable" | "done" | "latency" | "timeout", None) => {
            let v = item(web, group, name);
            Ok((None, v.get(cmd).map(Json::to_string).unwrap_or_default()))
        }
        ("server", "disable", Some(v)) => {
            let b = boolean(v, &what)?;
            Ok((Some(Box::new(move || c.set_disabled(b))), b.to_string()))
        }
        ("server", "done", Some(v)) => {
            let b = boolean(v, &what)?;
            if !b && c.done() {
                return Err(err(
                    409,
                    format!("{what}: the server is already shutting down"),
                ));
            }
            let act: Action = Box::new(move || {
                if b {
                    c.set_done()
                }
            });
            Ok((Some(act), b.to_string()))
        }
        ("server", "latency" | "timeout", Some(v)) => {
            let x = number(v, &what)?;
            let act: Action = if cmd == "latency" {
                Box::new(move || c.set_latency(x))
            } else {
                Box::new(move || c.set_timeout(x))
            };
            Ok((Some(act), format!("{x}")))
        }
        ("connections", "eof", v) => {
            let conn = c.connections().into_iter().find(|s| s.id == name);
            let conn = conn.ok_or_else(|| err(404, format!("{what}: no such connection")))?;
            match v {
                None => Ok((None, conn.eof.load(Ordering::Relaxed).to_string())),
                Some(v) => {
                    let b = boolean(v, &what)?;
                    let act: Action = Box::new(move || {
                        if b {
                            conn.close()
                        }
                    });
                    Ok((Some(act), b.to_string()))
                }
            }
        }
        ("tags", "error", v) => {
            let g = c
                .guarded(name)
                .ok_or_else(|| err(409, format!("{what}: this tag cannot have errors forced")))?;
            match v {
                None => Ok((None, g.error().to_string())),
                Some(v) => {
                    let e: u8 = v.trim().parse().map_err(|_| {
                        err(400, format!("{what}: {v:?} is not a CIP status 0-255"))
                    })?;
                    Ok((Some(Box::new(move || g.set_error(e))), e.to_string()))
                }
            }
        }
        ("tags", _, v) if logix::is_logix(web, name) => {
            let i = element_index(cmd).ok_or_else(unknown)?;
            match v {
                Some(v) => logix::plan_write(web, name, &what, i, v),
                None => {
                    let item = logix::member_item(web, &format!("{name}[{i}]"))
                        .or_else(|_| logix::member_item(web, name))?;
                    Ok((None, item["value"].to_string()))
                }
            }
        }
        ("tags", _, v) => {
            let i = element_index(cmd).ok_or_else(unknown)?;
            tag_element(web, name, &what, i, v)
        }
        _ => Err(unknown()),
    }
}

fn tag_element(
    web: &Web,
    name: &str,
    what: &str,
    i: usize,
    value: Option<&str>,
) -> Result<(Option<Action>, String), ApiError> {
    let tag = web
        .device
        .tag(name)
        .ok_or_else(|| err(404, format!("{what}: no such tag")))?;
    let guard = web.control.guarded(name);
    let attr = guard
        .as_ref()
        .map_or(tag.attribute.clone(), |g| g.inner().clone());
    if i >= attr.len() {
        return Err(err(
            400,
            format!(
                "{what}: index {i} is out of range (0-{})",
                attr.len().saturating_sub(1)
            ),
        ));
    }
    let Some(v) = value else {
        let mut raw = Vec::new();
        attr.read(i, 1, &mut raw)
            .map_err(|s| err(409, format!("{what}: read failed ({s:?})")))?;
        let got = values::decode(attr.data_type(), &raw, 1).map_err(|e| err(409, e))?;
        return Ok((None, got.first().map(Json::to_string).unwrap_or_default()));
    };
    let bytes =
        values::encode(attr.data_type(), v).map_err(|e| err(400, format!("{what}: {e}")))?;
    let note = values::decode(attr.data_type(), &bytes, 1)
        .ok()
        .and_then(|v| v.first().map(Json::to_string))
        .unwrap_or_default();
    let act: Action = Box::new(move || {
        let r = match &guard {
            Some(g) => g.write_direct(i, 1, &bytes),
            None => attr.write(i, 1, &bytes),
        };
        if let Err(s) = r {
            tracing::warn!("web write failed: {s:?}");
        }
    });
    Ok((Some(act), note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_in_both_forms() {
        let q = Query::parse("tags/SCADA/attribute[3]=4").unwrap();
        assert_eq!(q.command.as_deref(), Some("attribute[3]"));
        assert_eq!(q.value.as_deref(), Some("4"));
        assert_eq!(Query::parse("tags/SCADA/attribute[3]/4").unwrap(), q);
        let q = Query::parse("").unwrap();
        assert_eq!((q.group.as_str(), q.pattern.as_str()), ("*", "*"));
        assert_eq!(Query::parse("tags/").unwrap().pattern, "*");
        assert_eq!(Query::parse("bogus").unwrap_err().status, 404);
        assert_eq!(
            Query::parse("tags/a/b/c/d").unwrap().value.as_deref(),
            Some("c/d")
        );
        assert_eq!(
            Query::parse("tags/a/b/c=d").unwrap().value.as_deref(),
            Some("c=d")
        );
        assert_eq!(
            Query::parse("tags/a/b=c/d").unwrap().value.as_deref(),
            Some("c/d")
        );
        assert_eq!(Query::parse("tags//b").unwrap_err().status, 400);
        assert_eq!(Query::parse("tags/a=1").unwrap_err().status, 400);
        assert!(Query::parse("options/delay/value=0.5").unwrap().mutates());
    }

    fn web() -> Web {
        use cpppo_enip::model::attribute::StoredData;
        use cpppo_enip::model::device::{Device, DeviceConfig};
        use cpppo_enip::runtime::control::ServerControl;
        use std::sync::Arc;
        let control = Arc::new(ServerControl::default());
        let mut device = Device::new(&DeviceConfig::default());
        for (name, ty, len) in [
            ("SCADA", cpppo_cip::DataType::Int, 10),
            ("TEXT", cpppo_cip::DataType::Sstring, 2),
        ] {
            let attr = control.guard(name, Arc::new(StoredData::new(ty, len, true)));
            device.add_tag_attribute(name, attr, None).unwrap();
        }
        Web {
            device: Arc::new(device),
            control,
            token: None,
            read_only: false,
        }
    }

    fn tag(w: &Web, name: &str) -> Json {
        data(w, "tags", name)["tags"][name].clone()
    }

    #[test]
    fn commands_change_state_and_bad_ones_change_nothing() {
        let w = web();
        let run_path = |p: &str| Query::parse(p).and_then(|q| run(&w, &q));
        let env = run_path("tags/SCADA/attribute[3]=4").unwrap();
        assert_eq!(env["command"]["success"], json!(true));
        assert_eq!(tag(&w, "SCADA")["values"][3], json!(4));
        run_path("tags/*/error=8").unwrap();
        assert_eq!(tag(&w, "TEXT")["error"], json!(8));
        run_path("tags/SCADA/error/0").unwrap();
        assert_eq!(tag(&w, "SCADA")["error"], json!(0));
        assert_eq!(tag(&w, "TEXT")["error"], json!(8));
        // SCADA refuses "x", so TEXT (which would take it) is not changed either.
        assert_eq!(run_path("tags/*/attribute[0]=x").unwrap_err().status, 400);
        assert_eq!(tag(&w, "TEXT")["values"][0], json!(""));
        assert_eq!(
            run_path("tags/SCADA/attribute[10]=1").unwrap_err().status,
            400
        );
        assert_eq!(run_path("tags/NONE/error=1").unwrap_err().status, 404);
        run_path("options/delay/range=0.1-0.2").unwrap();
        assert_eq!(w.control.delay(), (0.1, 0.2));
        assert_eq!(run_path("options/delay/value=x").unwrap_err().status, 400);
        assert_eq!(w.control.delay(), (0.1, 0.2));
        run_path("server/control/disable=true").unwrap();
        assert!(w.control.disabled());
        run_path("server/control/disable=false").unwrap();
        assert!(!w.control.disabled());
        let env = run_path("").unwrap();
        for key in ["alarm", "command", "data", "since", "until"] {
            assert!(env.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn no_connections_is_cpppos_empty_reply() {
        let w = web();
        for path in ["connections", "connections/*", "connections/*/eof=true"] {
            let env = run(&w, &Query::parse(path).unwrap()).unwrap();
            assert_eq!(env["command"], Json::Null, "{path}");
            assert_eq!(env["data"], json!({}), "{path}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("*", "SCADA"));
        assert!(glob("sc*", "SCADA"));
        assert!(glob("S?ADA", "SCADA"));
        assert!(glob("*A*A", "SCADA"));
        assert!(!glob("SC", "SCADA"));
        assert!(!glob("*X*", "SCADA"));
        assert!(glob("127_0_0_1_*", "127_0_0_1_4000"));
    }

    #[test]
    fn element_indices() {
        assert_eq!(element_index("attribute[3]"), Some(3));
        assert_eq!(element_index("value[0]"), Some(0));
        assert_eq!(element_index("attribute"), Some(0));
        assert_eq!(element_index("attribute[x]"), None);
        assert_eq!(element_index("other"), None);
    }

    fn logix_web() -> Web {
        use cpppo_enip::model::attribute::StoredData;
        use cpppo_enip::model::device::{Device, DeviceConfig};
        use cpppo_enip::model::logix_type::Types;
        use cpppo_enip::model::tagspec::TagSpec;
        use cpppo_enip::runtime::control::ServerControl;
        use std::sync::Arc;
        let mut types = Types::default();
        types
            .define_compact("Motor{Speed:REAL, Running:BOOL, Faults:DINT[4], Name:STRING}")
            .unwrap();
        let control = Arc::new(ServerControl::default());
        let mut device = Device::new(&DeviceConfig::default());
        for t in [
            "M1=Motor",
            "Motors=Motor[3]",
            "Program:Main.Count=DINT",
            "SCADA=INT[2]",
        ] {
            let spec = TagSpec::parse_with(t, Some(&types)).unwrap();
            let attr = control.guard(
                &spec.name,
                Arc::new(StoredData::new(spec.ty, spec.len, spec.array)),
            );
            device
                .add_tag_layout(&spec.name, attr, None, spec.layout.clone())
                .unwrap();
        }
        Web {
            device: Arc::new(device),
            control,
            token: None,
            read_only: false,
        }
    }

    #[test]
    fn structures_are_objects_and_members_take_writes() {
        let w = logix_web();
        let run_path = |p: &str| Query::parse(p).and_then(|q| run(&w, &q));
        let m1 = tag(&w, "M1");
        assert_eq!(m1["type"], json!("Motor"));
        assert_eq!(
            m1["value"],
            json!({"Speed": 0.0, "Running": false, "Faults": [0, 0, 0, 0], "Name": ""})
        );
        assert_eq!(
            tag(&w, "Motors")["values"].as_array().map(Vec::len),
            Some(3)
        );
        // Atomic tags keep their shape.
        assert_eq!(tag(&w, "SCADA")["values"], json!([0, 0]));
        assert_eq!(tag(&w, "SCADA")["type"], json!("INT"));
        run_path("tags/M1.Speed/value=1.5").unwrap();
        run_path("tags/Motors[2].Running/value=true").unwrap();
        run_path("tags/M1.Name/value=pump").unwrap();
        run_path("tags/M1.Faults[1]/value=-3").unwrap();
        run_path("tags/Program:Main.Count/value=7").unwrap();
        run_path(r#"tags/Motors/attribute[1]={"Speed": 2.5}"#).unwrap();
        let m1 = tag(&w, "M1");
        assert_eq!(
            m1["value"],
            json!({"Speed": 1.5, "Running": false, "Faults": [0, -3, 0, 0], "Name": "pump"})
        );
        let motors = tag(&w, "Motors");
        assert_eq!(motors["value"][2]["Running"], json!(true));
        assert_eq!(motors["value"][1]["Speed"], json!(2.5));
        assert_eq!(tag(&w, "Program:Main.Count")["values"], json!([7]));
        let speed = data(&w, "tags", "Motors[1].Speed")["tags"]["Motors[1].Speed"].clone();
        assert_eq!(
            (speed["type"].clone(), speed["value"].clone()),
            (json!("REAL"), json!(2.5))
        );
        // Bad members and values: one line, 4xx, nothing changed.
        let e = run_path("tags/M1.Nope/value=1").unwrap_err();
        assert_eq!(e.status, 404);
        assert!(
            e.message.contains("member Motor does not have"),
            "{}",
            e.message
        );
        let e = run_path("tags/M1.Speed/value=fast").unwrap_err();
        assert_eq!(e.status, 400);
        let e = run_path(r#"tags/M1/value={"Speed": 9, "Nope": 1}"#).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(tag(&w, "M1")["value"]["Speed"], json!(1.5));
        assert_eq!(run_path("tags/M1.Speed").map(|_| ()), Ok(()));
        assert_eq!(run_path("tags/Motors[9].Speed").unwrap_err().status, 404);
    }
}
