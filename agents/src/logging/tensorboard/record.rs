//! TFRecord framing, the container format of TensorBoard event files. Each record is
//!
//! ```text
//! u64 little-endian  length of data
//! u32 little-endian  masked CRC32C of those 8 length bytes
//! [u8; length]       data (one serialised Event)
//! u32 little-endian  masked CRC32C of data
//! ```
//!
//! (tensorflow/core/lib/io/record_writer.h).

use std::io::{self, Write};

/// TFRecord stores CRCs "masked" because a CRC computed over data that itself contains CRCs is
/// weak (tensorflow/core/lib/hash/crc32c.h, `Mask`).
const CRC_MASK_DELTA: u32 = 0xa282_ead8;

pub(crate) fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(CRC_MASK_DELTA)
}

pub(crate) fn write_record(out: &mut impl Write, data: &[u8]) -> io::Result<()> {
    let length = (data.len() as u64).to_le_bytes();
    out.write_all(&length)?;
    out.write_all(&masked_crc32c(&length).to_le_bytes())?;
    out.write_all(data)?;
    out.write_all(&masked_crc32c(data).to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::manual_rotate,
        reason = "written as the TFRecord format states it"
    )]
    fn mask_is_rotate_right_15_plus_delta() {
        let crc = crc32c::crc32c(b"abc");
        let by_the_spec = ((crc >> 15) | (crc << 17)).wrapping_add(0xa282ead8);
        assert_eq!(masked_crc32c(b"abc"), by_the_spec);
    }

    #[test]
    fn crc32c_matches_the_rfc_3720_check_value() {
        // 32 bytes of zeros -> 0x8a9136aa (RFC 3720, B.4); guards against a plain CRC32 slipping in.
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn record_is_length_crc_data_crc() {
        let mut out = Vec::new();
        write_record(&mut out, b"hello").unwrap();
        assert_eq!(out.len(), 8 + 4 + 5 + 4);
        assert_eq!(&out[..8], &5u64.to_le_bytes());
        assert_eq!(
            &out[8..12],
            &masked_crc32c(&5u64.to_le_bytes()).to_le_bytes()
        );
        assert_eq!(&out[12..17], b"hello");
        assert_eq!(&out[17..], &masked_crc32c(b"hello").to_le_bytes());
    }
}
