//! The scanner measures a T→O packet's lateness at its arrival (the kernel's receive time),
//! not when its task gets round to reading it: a scanner whose thread is busy for a while
//! reports no late packets for the T→O that arrived on time meanwhile.

use std::time::Duration;

use cpppo_enip::client::io::IoParams;

#[path = "common/scan.rs"]
mod scan;

/// How long the scanner's thread is kept busy.
const BUSY: Duration = Duration::from_millis(300);

#[test]
fn a_busy_scanner_does_not_count_its_own_delay_as_the_adapters_lateness() {
    let rig = scan::Rig::new();
    let scanner = rig.scanner_rt.block_on(async {
        let params = IoParams {
            rpi: Duration::from_millis(20),
            timeout_multiplier: 4, // ×64: 1.28 s, well past the busy spell
            ..IoParams::default()
        };
        let s = rig.opened(params, 0x0A11_0001).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The scanner's only thread is busy: T→O packets queue in its socket meanwhile.
        std::thread::sleep(BUSY);
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.stop().await
    });
    let stats = scanner.stats();
    assert!(stats.received >= 20, "only {} T→O received", stats.received);
    assert_eq!(stats.missed, 0);
    // Read when the scanner got to them, the packets of the busy spell would be up to 300 ms
    // late; at their arrival they are on time, give or take this machine's scheduling.
    let worst = stats.lateness.max();
    assert!(
        worst < BUSY / 2,
        "lateness up to {worst:?}: the scanner's own delay was counted"
    );
}
