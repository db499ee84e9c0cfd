//! Any bytes into the EPATH decoder (padded and packed): no panic; a path that decodes re-emits
//! as exactly its bytes, and its segments, re-emitted and parsed again, are the same segments.
#![no_main]

use cpppo_cip::epath::{EPath, Padding, Segment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for padding in [Padding::Padded, Padding::Packed] {
        let Ok(path) = EPath::parse(data, padding) else {
            continue;
        };
        let mut out = vec![0; path.buffer_len()];
        assert_eq!(path.emit(&mut out), Ok(data.len()));
        assert_eq!(out, data);
        let segs: Vec<Segment<'_>> = path.segments().collect();
        let rebuilt = EPath::from_segments(&segs, padding);
        let mut out = vec![0; rebuilt.buffer_len()];
        assert_eq!(rebuilt.emit(&mut out), Ok(out.len()));
        let again = EPath::parse(&out, padding).expect("re-emitted path parses");
        assert_eq!(again, path);
        let _ = (
            path.class(),
            path.instance(),
            path.attribute(),
            path.element(),
            path.symbol(),
        );
    }
});
