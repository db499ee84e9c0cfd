//! What the sans-IO class 1 adapter costs per frame: N Exclusive Owner connections at RPI
//! 10 ms, one simulated second (every T->O produced on its timer, every O->T consumed), no
//! sockets. `N=1000 cargo run --release -p cpppo-enip --example io_adapter_cost`.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cpppo_cip::io::{IoFrame, IoPath};
use cpppo_cip::services::cm::Triad;
use cpppo_cip::services::ForwardOpen;
use cpppo_cip::{EPath, Padding};
use cpppo_enip::model::device::{Device, DeviceConfig};
use cpppo_enip::model::tagspec::TagSpec;
use cpppo_enip::server::io::{IoAdapter, IoSettings};
use cpppo_enip::server::session::IdGenerator;

fn main() {
    let n: u32 = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut d = Device::new(&DeviceConfig::default());
    for i in 0..n {
        d.add_tag(&TagSpec::parse(&format!("I{i}@4/{}/3=SINT[8]", 1000 + i)).unwrap())
            .unwrap();
        d.add_tag(&TagSpec::parse(&format!("O{i}@4/{}/3=SINT[8]", 5000 + i)).unwrap())
            .unwrap();
    }
    let mut a = IoAdapter::new(
        Arc::new(d),
        IoSettings::default(),
        Arc::new(IdGenerator::new(1)),
    );
    let t0 = Instant::now();
    let peer: SocketAddr = "10.0.0.2:2222".parse().unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let path = IoPath {
            key: None,
            class: 4,
            config: None,
            o_t: 5000 + i,
            t_o: 1000 + i,
            data: None,
        }
        .to_vec()
        .unwrap();
        let fo = ForwardOpen {
            large: false,
            priority_tick: 10,
            timeout_ticks: 14,
            o_t_connection_id: 0,
            t_o_connection_id: i + 1,
            triad: Triad {
                connection_serial: i as u16,
                vendor_id: 1,
                originator_serial: i,
            },
            timeout_multiplier: 3,
            o_t_rpi: 10_000,
            o_t_params: 0x480E,
            t_o_rpi: 10_000,
            t_o_params: 0x480A,
            transport: 1,
            connection_path: EPath::parse(&path, Padding::Padded).unwrap(),
        };
        ids.push(
            a.forward_open(&fo, peer, None, t0)
                .unwrap()
                .reply
                .o_t_connection_id,
        );
    }
    let frames: Vec<Vec<u8>> = (0..100u32)
        .map(|k| {
            IoFrame {
                connection_id: 0,
                encap_sequence: k + 1,
                sequence: k as u16 + 1,
                run_idle: Some(1),
                data: &[k as u8; 8],
            }
            .to_vec()
            .unwrap()
        })
        .collect();
    let mut buf = Vec::new();
    let (mut out, mut inn) = (0u64, 0u64);
    let cpu = Instant::now();
    for ms in 0..1000u64 {
        let now = t0 + Duration::from_millis(ms);
        a.handle_timeout(now);
        while a.poll_transmit(now, &mut buf).is_some() {
            out += 1;
        }
        if ms % 10 == 0 {
            let k = (ms / 10) as usize;
            for id in &ids {
                let mut f = frames[k].clone();
                f[6..10].copy_from_slice(&id.to_le_bytes());
                a.handle_datagram(now, peer, &f);
                inn += 1;
            }
        }
    }
    let el = cpu.elapsed();
    println!("N={n}: {out} T->O + {inn} O->T in {el:?} = {:.2} us/frame; one simulated second of load costs {:.1}% of a core",
        el.as_secs_f64() * 1e6 / (out + inn) as f64, el.as_secs_f64() * 100.0);
}
