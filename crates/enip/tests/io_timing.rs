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
