//! What a Forward Open refusal means, in words: the Connection Manager's extended status
//! (general status 0x01) named, with the RPI range (0x0111) or the size (0x0109) the adapter
//! accepts, as its additional words carry them.

use cpppo_cip::io::RpiRange;
use cpppo_cip::services::cm::ext;

/// The name of a Connection Manager extended status, if known.
pub fn extended_name(code: u16) -> Option<&'static str> {
    Some(match code {
        ext::CONNECTION_IN_USE => "connection in use or duplicate Forward Open",
        ext::TRANSPORT_NOT_SUPPORTED => "transport class and trigger not supported",
        ext::OWNERSHIP_CONFLICT => "ownership conflict (another scanner owns the outputs)",
        ext::NOT_FOUND => "connection not found",
        ext::INVALID_NETWORK_PARAMETER => "invalid network connection parameter",
        ext::INVALID_SIZE => "invalid connection size",
        ext::NOT_CONFIGURED => "target for connection not configured",
        ext::RPI_NOT_SUPPORTED => "RPI not supported",
        ext::NO_MORE_CONNECTIONS => "out of connections",
        ext::KEY_PRODUCT_MISMATCH => "electronic key: vendor or product code mismatch",
        ext::KEY_DEVICE_TYPE_MISMATCH => "electronic key: device type mismatch",
        ext::KEY_REVISION_MISMATCH => "electronic key: revision mismatch",
        ext::INVALID_APPLICATION_PATH => "invalid produced or consumed application path",
        ext::INVALID_CONFIGURATION_PATH => "invalid configuration path",
        ext::NO_OWNING_CONNECTION => "no owning connection to listen with",
        ext::CONNECTION_TIMED_OUT => "connection timed out",
        ext::UNCONNECTED_TIMED_OUT => "unconnected request timed out",
        ext::BAD_ROUTE => "bad route path",
        ext::INVALID_SEGMENT => "invalid segment in the connection path",
        _ => return None,
    })
}

/// A refusal (`general` status and its `extended` words) in words, e.g. `RPI not supported:
/// the adapter accepts 1.000-3200.000 ms` or `invalid connection size: the adapter accepts
/// 10 bytes`; empty when the status carries nothing to name.
pub fn refusal_text(general: u8, extended: &[u16]) -> String {
    let Some(&code) = extended.first() else {
        return String::new();
    };
    if general != 0x01 {
        return String::new();
    }
    let Some(name) = extended_name(code) else {
        return format!("extended status 0x{code:04x}");
    };
    let ms = |us: u32| f64::from(us) / 1000.0;
    match code {
        ext::RPI_NOT_SUPPORTED => match RpiRange::from_words(extended.iter().copied()) {
            Some(r) => format!(
                "{name}: the adapter accepts {:.3}-{:.3} ms",
                ms(r.min_us),
                ms(r.max_us)
            ),
            None => name.to_string(),
        },
        ext::INVALID_SIZE => match extended.get(1) {
            Some(size) => format!("{name}: the adapter accepts {size} bytes"),
            None => name.to_string(),
        },
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_what_the_adapter_accepts() {
        let range = RpiRange {
            min_us: 1_000,
            max_us: 3_200_000,
        };
        let words: Vec<u16> = range.refusal().words().collect();
        assert_eq!(
            refusal_text(0x01, &words),
            "RPI not supported: the adapter accepts 1.000-3200.000 ms"
        );
        assert_eq!(
            refusal_text(0x01, &[0x0109, 10]),
            "invalid connection size: the adapter accepts 10 bytes"
        );
        assert_eq!(
            refusal_text(0x01, &[0x0106]),
            "ownership conflict (another scanner owns the outputs)"
        );
        assert_eq!(refusal_text(0x01, &[0x0111]), "RPI not supported");
        assert_eq!(refusal_text(0x01, &[0x7777]), "extended status 0x7777");
        assert_eq!(refusal_text(0x08, &[]), "");
    }
}
