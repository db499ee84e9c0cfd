//! Frames per second through the in-process switch and userspace stacks.
//!
//! `switch_bench [HOSTS] [SECS]` (defaults 1000, 3): HOSTS/2 pairs of hosts on one [`Net`]
//! exchange UDP packets in lock-step, all pairs at once, on one thread (as `cpppo net fleet`
//! runs). Prints frames switched per second (every frame is forwarded by the switch, handed to
//! a smoltcp interface and read from a socket).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use cpppo_net::stack::Net;
use cpppo_net::Datagram;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn ip(i: u64) -> Ipv4Addr {
    Ipv4Addr::from(0x0a5a_0000 + 1 + i as u32)
}

fn main() -> std::io::Result<()> {
    let hosts = arg(1, 1000).clamp(2, 60_000) & !1;
    let secs = arg(2, 3).clamp(1, 60);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let net = Net::default();
        let mut ids = Vec::new();
        for i in 0..hosts {
            let a = ip(i).octets();
            ids.push(net.add_host([2, 0, a[0], a[1], a[2], a[3]], ip(i), 16, None)?);
        }
        let driver = tokio::spawn(net.run());
        let until = Instant::now() + Duration::from_secs(secs);
        let mut pairs = Vec::new();
        for p in 0..hosts / 2 {
            let (a, b) = (p as usize, (p + hosts / 2) as usize);
            let (Some(&ha), Some(&hb)) = (ids.get(a), ids.get(b)) else {
                break;
            };
            let sa = net.bind_udp(ha, 7)?;
            let sb = net.bind_udp(hb, 7)?;
            let to_b = SocketAddr::from((ip(b as u64), 7));
            pairs.push(tokio::spawn(async move {
                let echo = async {
                    while let Ok((packet, rx)) = sb.recv().await {
                        let _ = sb.send_to(&packet, rx.peer).await;
                    }
                };
                let ping = async {
                    let mut n = 0u64;
                    while Instant::now() < until {
                        if sa.send_to(&[0u8; 64], to_b).await.is_err() {
                            break;
                        }
                        match tokio::time::timeout(Duration::from_secs(1), sa.recv()).await {
                            Ok(Ok(_)) => n += 1,
                            _ => continue,
                        }
                    }
                    n
                };
                tokio::select! {
                    n = ping => n,
                    _ = echo => 0,
                }
            }));
        }
        let started = Instant::now();
        let f0 = net.frames();
        let mut round_trips = 0;
        for p in pairs {
            round_trips += p.await.unwrap_or(0);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let frames = net.frames() - f0;
        driver.abort();
        println!(
            "{hosts} hosts, {} pairs: {round_trips} UDP round trips, {frames} frames in {elapsed:.2} s = {:.0} frames/s switched ({:.0} round trips/s)",
            hosts / 2,
            frames as f64 / elapsed,
            round_trips as f64 / elapsed
        );
        Ok(())
    })
}
