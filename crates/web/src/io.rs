//! The class 1 I/O view: `/api/io` and the live page's I/O section.
//!
//! One JSON object: the adapter's counters, each open connection (peer, kind, points, RPI and
//! API, packets in and out, late packets, the lateness histogram, run/idle), and each assembly
//! (its bytes, and for an output assembly whether its owner drives it or why it is idle).
//! `null` when the server has no I/O adapter.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cpppo_enip::server::io::{IoAdapter, IoConnection};
use serde_json::{json, Value as Json};

use crate::Web;

/// The lateness histogram's bucket names (upper bounds), as in `/metrics`.
pub const LATENESS_BUCKETS: [&str; 4] = ["100us", "1ms", "10ms", "inf"];

/// `/api/io`.
pub async fn api(State(web): State<Arc<Web>>) -> Response {
    let body = json!({"io": view(&web), "until": crate::api::now()});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The I/O view of `web`'s device (`null` without an adapter).
pub fn view(web: &Web) -> Json {
    let Some(hub) = web.control.io.get() else {
        return Json::Null;
    };
    let io = hub.lock();
    let s = io.stats();
    let mut conns: Vec<Json> = io.connections().map(|c| connection(&c)).collect();
    conns.sort_by_key(|c| c["o_t_id"].as_u64());
    json!({
        "stats": {
            "packets_in": s.packets_in, "packets_out": s.packets_out,
            "dropped_stale": s.dropped_stale, "dropped_bad": s.dropped_bad,
            "timeouts": s.timeouts, "lateness": histogram(&s.lateness),
        },
        "connections": conns,
        "assemblies": assemblies(web, &io),
    })
}

fn histogram(counts: &[u64; 4]) -> Json {
    LATENESS_BUCKETS
        .iter()
        .zip(counts)
        .map(|(b, n)| (b.to_string(), json!(n)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn connection(c: &IoConnection) -> Json {
    json!({
        "peer": c.peer.to_string(), "kind": c.kind.name(),
        "o_t_id": c.o_t_id, "t_o_id": c.t_o_id, "t_o_dest": c.dest.to_string(),
        "input": c.input, "output": c.output,
        "o_t_api_us": c.o_t_api, "t_o_api_us": c.t_o_api,
        "packets_in": c.packets_in, "packets_out": c.packets_out, "late": c.late(),
        "lateness": histogram(&c.lateness),
        "run": c.run,
    })
}

/// Every assembly (class 4) tag: name, instance, bytes (hex), and the outputs' state.
fn assemblies(web: &Web, io: &IoAdapter) -> Json {
    let mut out: Vec<(u32, Json)> = Vec::new();
    for tag in web.device.tags() {
        let Some(a) = tag.address.filter(|a| a.class == 4) else {
            continue;
        };
        let mut bytes = Vec::new();
        let hex = match tag.attribute.read(0, tag.attribute.len(), &mut bytes) {
            Ok(_) => bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>(),
            Err(_) => Vec::new(),
        };
        let outputs = match io.outputs_idle(a.instance) {
            None => "run",
            Some(r) => r.name(),
        };
        out.push((
            a.instance,
            json!({
                "name": tag.name, "instance": a.instance, "size": bytes.len(),
                "bytes": hex.join(" "), "outputs": outputs,
            }),
        ));
    }
    out.sort_by_key(|(i, _)| *i);
    Json::Array(out.into_iter().map(|(_, j)| j).collect())
}
