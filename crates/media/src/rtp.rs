//! RTP packets (RFC 3550 §5): a zero-copy view for parsing and a header
//! type for writing.

use core::fmt;

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the fixed 12-byte header or than its CSRC list.
    TooShort,
    /// Version field other than 2.
    BadVersion(u8),
    /// The header extension runs past the end of the packet.
    BadExtension,
    /// Padding length zero or longer than the payload.
    BadPadding,
    /// A payload type outside 0–127 when writing.
    BadPayloadType(u8),
    /// More than 15 CSRCs, or an extension longer than RTP can express, when writing.
    TooLarge,
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => f.write_str("RTP packet too short"),
            Self::BadVersion(v) => write!(f, "RTP version {v}, expected 2"),
            Self::BadExtension => f.write_str("RTP header extension exceeds packet"),
            Self::BadPadding => f.write_str("RTP padding length invalid"),
            Self::BadPayloadType(pt) => write!(f, "RTP payload type {pt} out of range"),
            Self::TooLarge => f.write_str("RTP header field too large"),
        }
    }
}

impl std::error::Error for RtpError {}

/// A header extension (RFC 3550 §5.3.1): the profile-defined 16 bits and the
/// extension data (a multiple of four bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The 16-bit "defined by profile" field.
    pub profile: u16,
    /// The extension body, without its 4-byte header.
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker bit.
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    csrc: &'a [u8],
    /// Header extension, when the X bit is set.
    pub extension: Option<RtpExtension<'a>>,
    /// Payload, padding removed.
    pub payload: &'a [u8],
    /// Number of padding bytes that followed the payload (0 when P is clear).
    pub padding: u8,
}

/// Smallest RTP header (no CSRC, no extension).
pub const RTP_HEADER_LEN: usize = 12;

impl<'a> RtpPacket<'a> {
    /// Parses `bytes` as one RTP packet.
    ///
    /// # Errors
    /// [`RtpError`] when the bytes are not a well-formed version-2 packet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, RtpError> {
        if bytes.len() < RTP_HEADER_LEN {
            return Err(RtpError::TooShort);
        }
        let b0 = bytes[0];
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let csrc_count = usize::from(b0 & 0x0F);
        let b1 = bytes[1];
        let mut pos = RTP_HEADER_LEN + 4 * csrc_count;
        if bytes.len() < pos {
            return Err(RtpError::TooShort);
        }
        let csrc = &bytes[RTP_HEADER_LEN..pos];
        let extension = if has_extension {
            let header = bytes.get(pos..pos + 4).ok_or(RtpError::BadExtension)?;
            let profile = u16::from_be_bytes([header[0], header[1]]);
            let words = usize::from(u16::from_be_bytes([header[2], header[3]]));
            let start = pos + 4;
            let end = start + 4 * words;
            let data = bytes.get(start..end).ok_or(RtpError::BadExtension)?;
            pos = end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };
        let mut end = bytes.len();
        let mut padding = 0;
        if has_padding {
            padding = bytes[end - 1];
            let pad = usize::from(padding);
            if pad == 0 || pad > end - pos {
                return Err(RtpError::BadPadding);
            }
            end -= pad;
        }
        Ok(Self {
            marker: b1 & 0x80 != 0,
            payload_type: b1 & 0x7F,
            sequence: u16::from_be_bytes([bytes[2], bytes[3]]),
            timestamp: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            ssrc: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            csrc,
            extension,
            payload: &bytes[pos..end],
            padding,
        })
    }

    /// The contributing sources.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.csrc
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// The fixed header fields of this packet.
    #[must_use]
    pub fn header(&self) -> RtpHeader {
        RtpHeader {
            marker: self.marker,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        }
    }
}

/// The fixed RTP header fields, for writing packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    /// Marker bit.
    pub marker: bool,
    /// Payload type (must be below 128).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Appends a 12-byte header followed by `payload` to `out`.
    ///
    /// # Errors
    /// [`RtpError::BadPayloadType`] for a payload type above 127.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), RtpError> {
        self.write_full(&[], None, payload, 0, out)
    }

    /// Appends a complete packet with CSRCs, an optional extension and
    /// `padding` bytes of padding (0 for none) to `out`.
    ///
    /// # Errors
    /// [`RtpError`] for a payload type above 127, more than 15 CSRCs, an
    /// extension body that is not a multiple of four bytes or longer than
    /// 65535 words.
    pub fn write_full(
        &self,
        csrcs: &[u32],
        extension: Option<RtpExtension<'_>>,
        payload: &[u8],
        padding: u8,
        out: &mut Vec<u8>,
    ) -> Result<(), RtpError> {
        if self.payload_type > 0x7F {
            return Err(RtpError::BadPayloadType(self.payload_type));
        }
        let cc = u8::try_from(csrcs.len())
            .ok()
            .filter(|&n| n <= 15)
            .ok_or(RtpError::TooLarge)?;
        let ext_words = match extension {
            Some(ext) if ext.data.len() % 4 != 0 => return Err(RtpError::TooLarge),
            Some(ext) => Some(u16::try_from(ext.data.len() / 4).map_err(|_| RtpError::TooLarge)?),
            None => None,
        };
        let mut b0 = 0x80 | cc;
        if padding > 0 {
            b0 |= 0x20;
        }
        if ext_words.is_some() {
            b0 |= 0x10;
        }
        out.push(b0);
        out.push(u8::from(self.marker) << 7 | self.payload_type);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for c in csrcs {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let (Some(ext), Some(words)) = (extension, ext_words) {
            out.extend_from_slice(&ext.profile.to_be_bytes());
            out.extend_from_slice(&words.to_be_bytes());
            out.extend_from_slice(ext.data);
        }
        out.extend_from_slice(payload);
        if padding > 0 {
            out.extend(core::iter::repeat_n(0, usize::from(padding) - 1));
            out.push(padding);
        }
        Ok(())
    }
}

/// Whether a datagram on a multiplexed port is RTCP rather than RTP
/// (RFC 5761 §4: RTCP packet types 192–223 occupy the second byte).
#[must_use]
pub fn is_rtcp(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && (192..=223).contains(&bytes[1])
}

/// Sequence-number arithmetic (RFC 3550 §A.1, RFC 1982): whether `a` comes
/// after `b` on a 16-bit wrapping counter.
#[must_use]
#[inline]
pub const fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// Timestamp arithmetic: whether `a` comes after `b` on a 32-bit wrapping clock.
#[must_use]
#[inline]
pub const fn ts_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_packet() {
        let bytes = [
            0x80, 0x88, 0x12, 0x34, 0, 0, 0x01, 0x00, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3,
        ];
        let p = RtpPacket::parse(&bytes).unwrap();
        assert!(p.marker);
        assert_eq!(p.payload_type, 8);
        assert_eq!(p.sequence, 0x1234);
        assert_eq!(p.timestamp, 256);
        assert_eq!(p.ssrc, 0xDEAD_BEEF);
        assert_eq!(p.payload, &[1, 2, 3]);
        assert_eq!(p.csrcs().len(), 0);
    }

    #[test]
    fn rejects_bad_inputs() {
        assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TooShort));
        let mut v1 = [0u8; 12];
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
        // CSRC count 2 but no room.
        let mut cc = [0u8; 16];
        cc[0] = 0x82;
        assert_eq!(RtpPacket::parse(&cc), Err(RtpError::TooShort));
        // Extension header claims one word that is absent.
        let mut ext = [0u8; 16];
        ext[0] = 0x90;
        ext[15] = 1;
        assert_eq!(RtpPacket::parse(&ext), Err(RtpError::BadExtension));
        // Padding of zero, and padding longer than the packet body.
        let mut pad = [0u8; 13];
        pad[0] = 0xA0;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding));
        pad[12] = 2;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::BadPadding));
        pad[12] = 1;
        assert_eq!(RtpPacket::parse(&pad).unwrap().payload, &[] as &[u8]);
    }

    #[test]
    fn writes_what_it_parses() {
        let h = RtpHeader {
            marker: false,
            payload_type: 101,
            sequence: 65535,
            timestamp: u32::MAX,
            ssrc: 7,
        };
        let mut out = Vec::new();
        let ext = RtpExtension {
            profile: 0xBEDE,
            data: &[1, 2, 3, 4],
        };
        h.write_full(&[9, 10], Some(ext), b"hello", 3, &mut out)
            .unwrap();
        let p = RtpPacket::parse(&out).unwrap();
        assert_eq!(p.header(), h);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![9, 10]);
        assert_eq!(p.extension, Some(ext));
        assert_eq!(p.payload, b"hello");
        assert_eq!(p.padding, 3);
        let mut bad = h;
        bad.payload_type = 128;
        assert_eq!(bad.write(&[], &mut out), Err(RtpError::BadPayloadType(128)));
    }

    #[test]
    fn wrapping_order() {
        assert!(seq_after(0, 65535));
        assert!(!seq_after(65535, 0));
        assert!(!seq_after(5, 5));
        assert!(ts_after(10, u32::MAX - 10));
        assert!(!ts_after(u32::MAX - 10, 10));
    }

    #[test]
    fn rtcp_demux() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(is_rtcp(&[0x81, 201]));
        assert!(!is_rtcp(&[0x80, 0]));
        assert!(!is_rtcp(&[0x80, 0x88]));
        assert!(!is_rtcp(&[0x80]));
    }
}
