//! cpppo's dotted-key output of List Identity / List Services / List Interfaces and legacy
//! 0x0001 replies, as its `enip_client` prints them (users' scripts parse these lines):
//!
//! ```text
//! List Identity  0 from ('127.0.0.1', 44818): {
//!     'count':                        1,
//!     'item[0].type_id':              12,
//!     'item[0].identity_object.product_name': '1756-L61/B LOGIX5561',
//! }
//! ```

use std::fmt::Write;
use std::net::SocketAddr;

use cpppo_cip::list::{LegacyAddress, AF_INET};
use cpppo_enip::client::operation::Literal;
use cpppo_enip::client::{python_value, ListReply};

/// CPF item type ids.
const IDENTITY: u16 = 0x0C;
const SERVICE: u16 = 0x100;
const LEGACY: u16 = 0x01;

/// One reply (from `peer`, the `index`th for the command `name`) in cpppo's dotted-key form.
pub fn reply(name: &str, index: usize, peer: SocketAddr, items: &[ListReply]) -> String {
    let mut out = format!(
        "{name} {index:2} from ('{}', {}): {{\n",
        peer.ip(),
        peer.port()
    );
    key(&mut out, "count", int(items.len() as u64));
    for (i, item) in items.iter().enumerate() {
        for (k, v) in fields(item) {
            key(&mut out, &format!("item[{i}].{k}"), v);
        }
    }
    out.push('}');
    out
}

fn key(out: &mut String, key: &str, value: String) {
    let _ = writeln!(out, "    {:<31} {value},", format!("'{key}':"));
}

fn int(n: impl Into<i128>) -> String {
    python_value(&Literal::Int(n.into()))
}

fn text(s: &str) -> String {
    python_value(&Literal::Text(s.to_owned()))
}

/// The dotted keys (after `item[N].`) and Python-shown values of one item.
fn fields(item: &ListReply) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| f.push((k.to_owned(), v));
    match item {
        ListReply::Identity(id) => {
            let o = "identity_object";
            put("type_id", int(IDENTITY));
            // version, sockaddr (16), 5 words, serial, name (SSTRING), state.
            put("length", int(34 + id.product_name.len() as u16));
            put(&format!("{o}.version"), int(id.protocol_version));
            put(&format!("{o}.sin_family"), int(AF_INET));
            put(&format!("{o}.sin_port"), int(id.socket.port()));
            put(&format!("{o}.sin_addr"), text(&id.socket.ip().to_string()));
            put(&format!("{o}.vendor_id"), int(id.vendor_id));
            put(&format!("{o}.device_type"), int(id.device_type));
            put(&format!("{o}.product_code"), int(id.product_code));
            let revision = u16::from_le_bytes([id.revision.0, id.revision.1]);
            put(&format!("{o}.product_revision"), int(revision));
            put(&format!("{o}.status_word"), int(id.status));
            put(&format!("{o}.serial_number"), int(id.serial_number));
            put(&format!("{o}.product_name"), text(&id.product_name));
            put(&format!("{o}.state"), int(id.state));
        }
        ListReply::Service(s) => {
            let o = "communications_service";
            put("type_id", int(SERVICE));
            // version, capability, the NUL-terminated name (as cpppo sends it).
            put("length", int(4 + s.name.len() as u16 + 1));
            put(&format!("{o}.version"), int(s.version));
            put(&format!("{o}.capability"), int(s.capability));
            put(&format!("{o}.service_name"), text(&s.name));
        }
        ListReply::Other { type_id, data } => {
            put("type_id", int(*type_id));
            put("length", int(data.len() as u64));
            if *type_id == LEGACY {
                if let Ok(l) = LegacyAddress::parse(data) {
                    let o = "legacy_CPF_0x0001";
                    let ip = String::from_utf8_lossy(&l.text);
                    put(&format!("{o}.version"), int(l.version));
                    put(&format!("{o}.unknown_1"), int(l.reserved));
                    put(&format!("{o}.sin_family"), int(l.socket.family));
                    put(&format!("{o}.sin_port"), int(l.socket.port));
                    put(&format!("{o}.sin_addr"), text(&l.socket.addr.to_string()));
                    put(&format!("{o}.ip_address"), text(ip.trim_end_matches('\0')));
                }
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpppo_enip::client::ServiceInfo;

    #[test]
    fn services_print_as_cpppo() {
        let items = [ListReply::Service(ServiceInfo {
            version: 1,
            capability: 0x20,
            name: "Communications".into(),
        })];
        let peer: SocketAddr = "127.0.0.1:44818".parse().unwrap();
        assert_eq!(
            reply("List Services", 0, peer, &items),
            "List Services  0 from ('127.0.0.1', 44818): {\n    \
             'count':                        1,\n    \
             'item[0].type_id':              256,\n    \
             'item[0].length':               19,\n    \
             'item[0].communications_service.version': 1,\n    \
             'item[0].communications_service.capability': 32,\n    \
             'item[0].communications_service.service_name': 'Communications',\n}"
        );
    }

    #[test]
    fn legacy_is_decoded() {
        let mut data = [0u8; LegacyAddress::LEN];
        LegacyAddress::new("10.0.0.5".parse().unwrap(), 44818)
            .emit(&mut data)
            .unwrap();
        let items = [ListReply::Other {
            type_id: 1,
            data: data.to_vec(),
        }];
        let text = reply(
            "Legacy 0x0001",
            0,
            "10.0.0.5:44818".parse().unwrap(),
            &items,
        );
        assert!(
            text.contains("'item[0].legacy_CPF_0x0001.ip_address': '10.0.0.5',"),
            "{text}"
        );
        assert!(
            text.contains("'item[0].legacy_CPF_0x0001.sin_port': 44818,"),
            "{text}"
        );
    }
}
