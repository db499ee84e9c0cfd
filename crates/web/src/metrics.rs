//! `/metrics` in the Prometheus text exposition format.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use cpppo_enip::runtime::control::{ServerControl, LATENCY_BUCKETS};
use cpppo_net::conn::Tracker;

/// A name for a CIP service code (codes differ by class; the common ones are named).
pub fn service_name(code: u8) -> &'static str {
    match code {
        0x00 => "encapsulation",
        0x01 => "Get Attributes All",
        0x03 => "Get Attribute List",
        0x04 => "Set Attribute List",
        0x0A => "Multiple Service Packet",
        0x0E => "Get Attribute Single",
        0x10 => "Set Attribute Single",
        0x4C => "Read Tag",
        0x4D => "Write Tag",
        0x4E => "Read Modify Write Tag / Forward Close",
        0x52 => "Read Tag Fragmented / Unconnected Send",
        0x53 => "Write Tag Fragmented",
        0x54 => "Forward Open",
        0x55 => "Get Instance Attribute List",
        0x5B => "Large Forward Open",
        _ => "other",
    }
}

/// Render every counter of `c`.
pub fn render(c: &ServerControl) -> String {
    let s = &c.stats;
    let mut out = String::with_capacity(4096);
    let head = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    head(
        &mut out,
        "cpppo_requests_total",
        "counter",
        "Requests by CIP service (0x00: encapsulation only).",
    );
    for (code, n) in s.requests.iter().enumerate() {
        let n = n.load(Ordering::Relaxed);
        if n > 0 {
            let name = service_name(code as u8);
            let _ = writeln!(
                out,
                "cpppo_requests_total{{service=\"0x{code:02X}\",name=\"{name}\"}} {n}"
            );
        }
    }
    head(
        &mut out,
        "cpppo_replies_total",
        "counter",
        "Replies by CIP general status (encapsulation status for non-CIP replies).",
    );
    for (code, n) in s.replies.iter().enumerate() {
        let n = n.load(Ordering::Relaxed);
        if n > 0 {
            let _ = writeln!(out, "cpppo_replies_total{{status=\"0x{code:02X}\"}} {n}");
        }
    }
    let simple = [
        (
            "cpppo_sessions_total",
            "counter",
            "EtherNet/IP sessions registered.",
            s.registered.load(Ordering::Relaxed),
        ),
        (
            "cpppo_tcp_connections_total",
            "counter",
            "TCP connections accepted.",
            s.sessions.load(Ordering::Relaxed),
        ),
        (
            "cpppo_connections",
            "gauge",
            "TCP sessions open now.",
            c.connections().len() as u64,
        ),
        (
            "cpppo_received_bytes_total",
            "counter",
            "Bytes received from clients.",
            s.bytes_in.load(Ordering::Relaxed),
        ),
        (
            "cpppo_sent_bytes_total",
            "counter",
            "Bytes sent to clients.",
            s.bytes_out.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, v) in simple {
        head(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {v}");
    }
    let name = "cpppo_request_latency_seconds";
    head(
        &mut out,
        name,
        "histogram",
        "Server time per request, from taking its frame to its reply being ready (including any delay).",
    );
    let mut total = 0;
    for (i, n) in s.latency.iter().enumerate() {
        total += n.load(Ordering::Relaxed);
        let le = LATENCY_BUCKETS
            .get(i)
            .map_or("+Inf".to_string(), |b| b.to_string());
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {total}");
    }
    let sum = s.latency_us.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
    let (lo, hi) = c.delay();
    head(
        &mut out,
        "cpppo_delay_seconds",
        "gauge",
        "Reply delay range now set.",
    );
    let _ = writeln!(
        out,
        "cpppo_delay_seconds{{bound=\"low\"}} {lo}\ncpppo_delay_seconds{{bound=\"high\"}} {hi}"
    );
    head(
        &mut out,
        "cpppo_disabled",
        "gauge",
        "1 while the listeners are closed by the API.",
    );
    let _ = writeln!(out, "cpppo_disabled {}", u8::from(c.disabled()));
    let tracker = c.limits.lock().ok().and_then(|t| t.clone());
    if let Some(t) = tracker {
        render_limits(&mut out, &t);
    }
    if let Some(hub) = c.io.get() {
        render_io(&mut out, &hub.lock());
    }
    out
}

/// The class 1 I/O adapter: its counters, T->O lateness, and each open connection.
fn render_io(out: &mut String, io: &cpppo_enip::server::io::IoAdapter) {
    let s = io.stats();
    let _ = writeln!(
        out,
        "# HELP cpppo_io_packets_total I/O datagrams consumed (O->T) and produced (T->O).\n\
         # TYPE cpppo_io_packets_total counter\n\
         cpppo_io_packets_total{{direction=\"o_t\"}} {}\n\
         cpppo_io_packets_total{{direction=\"t_o\"}} {}\n\
         # HELP cpppo_io_dropped_total I/O datagrams dropped.\n\
         # TYPE cpppo_io_dropped_total counter\n\
         cpppo_io_dropped_total{{why=\"stale\"}} {}\n\
         cpppo_io_dropped_total{{why=\"bad\"}} {}\n\
         # HELP cpppo_io_timeouts_total I/O connections closed by timeout.\n\
         # TYPE cpppo_io_timeouts_total counter\n\
         cpppo_io_timeouts_total {}",
        s.packets_in, s.packets_out, s.dropped_stale, s.dropped_bad, s.timeouts
    );
    let _ = writeln!(
        out,
        "# HELP cpppo_io_lateness_total T->O productions by lateness past their RPI slot.\n\
         # TYPE cpppo_io_lateness_total counter"
    );
    for (le, n) in crate::io::LATENESS_BUCKETS.iter().zip(s.lateness) {
        let _ = writeln!(out, "cpppo_io_lateness_total{{under=\"{le}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP cpppo_io_connection I/O connections: O->T packets in, run (1) or idle (0).\n\
         # TYPE cpppo_io_connection gauge"
    );
    for c in io.connections() {
        let labels = format!(
            "peer=\"{}\",kind=\"{}\",o_t_id=\"0x{:08x}\",input=\"{}\",output=\"{}\",rpi_us=\"{}\"",
            c.peer.ip(),
            c.kind.name(),
            c.o_t_id,
            c.input,
            c.output.map(|o| o.to_string()).unwrap_or_default(),
            c.t_o_api
        );
        let _ = writeln!(
            out,
            "cpppo_io_connection_packets_in{{{labels}}} {}",
            c.packets_in
        );
        let _ = writeln!(
            out,
            "cpppo_io_connection_run{{{labels}}} {}",
            u8::from(c.run)
        );
        let _ = writeln!(
            out,
            "cpppo_io_connection_packets_out{{{labels}}} {}",
            c.packets_out
        );
        let _ = writeln!(out, "cpppo_io_connection_late{{{labels}}} {}", c.late());
        for (le, n) in crate::io::LATENESS_BUCKETS.iter().zip(c.lateness) {
            let _ = writeln!(
                out,
                "cpppo_io_connection_lateness{{{labels},under=\"{le}\"}} {n}"
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP cpppo_io_outputs_run Output assemblies ever owned: 1 while an owner drives them in run mode (else idle, and cpppo_io_outputs_idle says why).\n\
         # TYPE cpppo_io_outputs_run gauge"
    );
    for i in io.output_instances() {
        let _ = writeln!(
            out,
            "cpppo_io_outputs_run{{instance=\"{i}\"}} {}",
            u8::from(io.outputs_run(i))
        );
        if let Some(why) = io.outputs_idle(i) {
            let _ = writeln!(
                out,
                "cpppo_io_outputs_idle{{instance=\"{i}\",why=\"{}\"}} 1",
                why.name()
            );
        }
    }
}

/// The connection policy: its limits, what it has done, and the process limits behind it.
fn render_limits(out: &mut String, t: &Tracker) {
    let (limits, counts) = (t.limits(), t.counts());
    let gauges = [
        (
            "cpppo_connection_limit",
            "gauge",
            "Most TCP connections served at once (at the limit the longest-idle is closed).",
            limits.max_connections as u64,
        ),
        (
            "cpppo_connections_evicted_total",
            "counter",
            "Connections closed to make room for a new one.",
            counts.evicted,
        ),
        (
            "cpppo_connections_timed_out_total",
            "counter",
            "Connections closed by the idle, frame or write timeout.",
            counts.timed_out,
        ),
        (
            "cpppo_connections_hot_total",
            "counter",
            "Times a connection answering back-to-back requests moved to a hot thread (an epoll loop per core).",
            counts.hot,
        ),
        (
            "cpppo_listen_backlog",
            "gauge",
            "Listen backlog of the TCP listeners (the system maximum).",
            u64::from(cpppo_net::os::max_backlog()),
        ),
    ];
    for (name, kind, help, v) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
        );
    }
    let name = "cpppo_connection_timeout_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Connection timeouts: idle, unfinished frame, client not reading.\n\
         # TYPE {name} gauge\n\
         {name}{{timeout=\"idle\"}} {}\n{name}{{timeout=\"frame\"}} {}\n\
         {name}{{timeout=\"write\"}} {}",
        limits.idle.as_secs_f64(),
        limits.frame.as_secs_f64(),
        limits.write.as_secs_f64()
    );
    if let Some((soft, hard)) = cpppo_net::sys::open_file_limit() {
        let name = "cpppo_open_files_limit";
        let _ = writeln!(
            out,
            "# HELP {name} The process's open-file limit (RLIMIT_NOFILE), raised to hard at start.\n\
             # TYPE {name} gauge\n{name}{{bound=\"soft\"}} {soft}\n{name}{{bound=\"hard\"}} {hard}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_ends_in_inf() {
        let c = ServerControl::default();
        let summary = cpppo_enip::server::session::Summary::default();
        c.stats
            .exchange(&summary, std::time::Duration::from_micros(50));
        c.stats
            .exchange(&summary, std::time::Duration::from_secs(2));
        let text = render(&c);
        assert!(text.contains("cpppo_request_latency_seconds_bucket{le=\"0.0001\"} 1"));
        assert!(text.contains("cpppo_request_latency_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("cpppo_request_latency_seconds_count 2"));
        assert!(text.contains("cpppo_requests_total{service=\"0x00\",name=\"encapsulation\"} 2"));
    }

    #[test]
    fn the_connection_limits_are_shown() {
        let c = ServerControl::default();
        assert!(!render(&c).contains("cpppo_connection_limit"));
        let limits = cpppo_net::conn::Limits {
            max_connections: 7,
            ..Default::default()
        };
        *c.limits.lock().unwrap() = Some(Tracker::new(limits));
        let text = render(&c);
        assert!(text.contains("\ncpppo_connection_limit 7\n"), "{text}");
        assert!(text.contains("cpppo_connection_timeout_seconds{timeout=\"idle\"} 600\n"));
        assert!(text.contains("cpppo_connection_timeout_seconds{timeout=\"frame\"} 30\n"));
        assert!(text.contains("cpppo_open_files_limit{bound=\"hard\"}"));
        assert!(text.contains("\ncpppo_listen_backlog "));
    }
}
