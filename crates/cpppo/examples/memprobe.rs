use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
struct C;
static BYTES: AtomicIsize = AtomicIsize::new(0);
unsafe impl GlobalAlloc for C {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        BYTES.fetch_add(l.size() as isize, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        BYTES.fetch_sub(l.size() as isize, Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        BYTES.fetch_add(l.size() as isize, Ordering::Relaxed);
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        BYTES.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}
#[global_allocator]
static G: C = C;
fn b() -> isize {
    BYTES.load(Ordering::Relaxed)
}
fn main() {
    use cpppo::fleet::*;
    use cpppo_net::stack::Net;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let n = 1000u32;
        let net = Net::default();
        let s = Subnet::parse("10.9.0.0/16").unwrap();
        let t0 = b();
        let mut hs = vec![];
        for i in 0..n {
            let ip = s.host(2 + i).unwrap();
            hs.push(net.add_host(device_mac(ip), ip, 16, None).unwrap());
        }
        let t1 = b();
        println!("add_host: {} B/dev", (t1 - t0) / n as isize);
        let mut ls = vec![];
        for i in 0..n {
            ls.push(net.listen_tcp(hs[i as usize], 44818).unwrap());
        }
        let t2 = b();
        println!("listen_tcp: {} B/dev", (t2 - t1) / n as isize);
        let mut us = vec![];
        for i in 0..n {
            us.push(net.bind_udp(hs[i as usize], 44818).unwrap());
        }
        let t3 = b();
        println!("bind_udp: {} B/dev", (t3 - t2) / n as isize);
        let cfg = cpppo_enip::device::DeviceConfig::default();
        let mut ds = vec![];
        for _ in 0..n {
            ds.push(cpppo_enip::device::Device::new(&cfg));
        }
        let t4 = b();
        println!("Device::new: {} B/dev", (t4 - t3) / n as isize);
        for d in ds.iter_mut() {
            for t in ["SCADA=INT[100]", "FLOAT=REAL", "COUNTS=DINT[10]"] {
                d.add_tag(&cpppo_enip::tagspec::TagSpec::parse(t).unwrap())
                    .unwrap();
            }
        }
        let t5 = b();
        println!("3 tags: {} B/dev", (t5 - t4) / n as isize);
    });
}
