//! Capture of the virtual LAN's frames in the classic pcap format (Wireshark, tshark, tcpdump).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest frame length recorded.
const SNAPLEN: u32 = 65535;
/// Link type: Ethernet.
const LINKTYPE_ETHERNET: u32 = 1;

/// A pcap file being written.
#[derive(Debug)]
pub struct Pcap {
    out: BufWriter<File>,
}

impl Pcap {
    /// Create (or truncate) `path` and write the file header.
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&header)?;
        Ok(Self { out })
    }

    /// Record one frame, stamped with the current time.
    pub fn record(&mut self, frame: &[u8]) -> io::Result<()> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX).min(SNAPLEN);
        let mut rec = Vec::with_capacity(16);
        rec.extend_from_slice(&(now.as_secs() as u32).to_le_bytes());
        rec.extend_from_slice(&now.subsec_micros().to_le_bytes());
        rec.extend_from_slice(&len.to_le_bytes());
        rec.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.out.write_all(&rec)?;
        self.out
            .write_all(frame.get(..len as usize).unwrap_or(frame))
    }

    /// Push buffered records to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_record_layout() {
        let path = std::env::temp_dir().join(format!("cpppo-net-pcap-{}.pcap", std::process::id()));
        let mut p = Pcap::create(&path).unwrap();
        p.record(&[1, 2, 3]).unwrap();
        p.flush().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(bytes.len(), 24 + 16 + 3);
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&bytes[20..24], &[1, 0, 0, 0]);
        assert_eq!(&bytes[32..36], &[3, 0, 0, 0]);
        assert_eq!(&bytes[40..], &[1, 2, 3]);
    }
}
