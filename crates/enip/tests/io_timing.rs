//! Our adapter produces T→O on a sub-millisecond clock: at an RPI of 3.5 ms its packets come
//! out 3.5 ms apart, not 3 and 4 ms in turn as a millisecond timer wheel would have them (every
//! second packet half a millisecond late at the scanner).

use std::time::Duration;

use cpppo_enip::client::io::IoParams;

#[path = "common/scan.rs"]
mod scan;

/// An RPI between two whole milliseconds.
const RPI: Duration = Duration::from_micros(3_500);

#[test]
fn t_o_packets_at_a_fractional_rpi_come_out_one_rpi_apart() {
    let rig = scan::Rig::new();
    let scanner = rig.scanner_rt.block_on(async {
        let params = IoParams {
            rpi: RPI,
            timeout_multiplier: 4, // ×64: 224 ms, past a loaded machine's stalls
            ..IoParams::default()
        };
        let s = rig.opened(params, 0x0717_0001).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        s.stop().await
    });
    let stats = scanner.stats();
    assert!(
        stats.received >= 100,
        "only {} T→O received",
        stats.received
    );
    // Lateness is a packet's arrival after the previous one's plus the API (early counts as 0).
    // On a millisecond wheel every second interval is ~4 ms: half the samples ~500 µs late.
    // Scheduling noise on a busy machine may make a few late, not a quarter.
    let q3 = stats.lateness.quantile(0.75);
    assert!(
        q3 < Duration::from_micros(250),
        "a quarter of the intervals {q3:?} or more over the RPI of {RPI:?} (max {:?}): \
         T→O is not produced on a sub-millisecond clock",
        stats.lateness.max()
    );
}

/// Adapters in one process beyond the 64 that once kept the sub-millisecond clock.
const MANY: usize = 80;

/// The voluntary context switches (wake-ups from sleep) of thread `tid` of this process.
fn wake_ups(tid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status"))
        .expect("the thread's status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("voluntary_ctxt_switches")
}

#[test]
fn many_adapters_keep_the_sub_millisecond_clock_and_sleep_once_closed() {
    let rig = scan::Rig::new();
    // As many more adapters on the same runtime, each with a connection open (at a slow RPI:
    // they are there to be armed), so that every one of them has a frame to come.
    let others: Vec<_> = (0..MANY)
        .map(|_| rig.adapter_rt.block_on(scan::our_adapter()))
        .collect();
    let tid = rig.adapter_rt.block_on(async {
        tokio::spawn(async { std::fs::read_link("/proc/thread-self") })
            .await
            .expect("task")
            .expect("/proc/thread-self")
    });
    let tid = tid
        .file_name()
        .and_then(|t| t.to_str())
        .expect("a thread id")
        .to_string();
    let (stats, idle) = rig.scanner_rt.block_on(async {
        let mut slow = Vec::new();
        for (k, (served, io)) in others.iter().enumerate() {
            let params = IoParams {
                rpi: Duration::from_millis(50),
                timeout_multiplier: 2, // ×16: 800 ms
                ..IoParams::default()
            };
            let mut s = scan::scan(
                served.local_addr(),
                io.port(),
                params,
                0x0718_0000 + k as u32,
            )
            .await;
            s.until("the connection", |e| match e {
                cpppo_enip::client::io_scanner::ScanEvent::Opened { .. } => Some(()),
                _ => None,
            })
            .await;
            slow.push(s);
        }
        let params = IoParams {
            rpi: RPI,
            timeout_multiplier: 4,
            ..IoParams::default()
        };
        let s = rig.opened(params, 0x0717_0002).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let scanner = s.stop().await;
        for s in slow {
            s.stop().await;
        }
        // Every connection closed: what the adapters had scheduled runs out (the slow ones'
        // time-outs are 800 ms away at most), then the thread sleeps until there is work.
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let before = wake_ups(&tid);
        tokio::time::sleep(Duration::from_millis(500)).await;
        (scanner.stats(), wake_ups(&tid) - before)
    });
    assert!(
        stats.received >= 100,
        "only {} T→O received",
        stats.received
    );
    let q3 = stats.lateness.quantile(0.75);
    assert!(
        q3 < Duration::from_micros(250),
        "with {} adapters armed, a quarter of the intervals {q3:?} or more over the RPI of \
         {RPI:?} (max {:?}): T→O is not produced on a sub-millisecond clock",
        MANY + 1,
        stats.lateness.max()
    );
    // A clock left armed (or re-armed) at a 100 µs grain would wake it thousands of times.
    assert!(
        idle <= 10,
        "the adapters' thread woke {idle} times in 500 ms with no connection open"
    );
}
