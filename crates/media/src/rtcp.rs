//! RTCP packets (RFC 3550 §6): parsing compound packets and writing the
//! reports a media relay sends (SR, RR, SDES CNAME, BYE).

use core::fmt;

/// Why bytes are not a valid RTCP (compound) packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpError {
    /// Shorter than a header, or than the length its header claims.
    TooShort,
    /// Version field other than 2.
    BadVersion(u8),
    /// The body does not fit the structure of its packet type.
    Malformed,
    /// Padding length zero or larger than the packet.
    BadPadding,
    /// Empty input.
    Empty,
    /// More than 31 items, or an item longer than 255 bytes, when writing.
    TooLarge,
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => f.write_str("RTCP packet too short"),
            Self::BadVersion(v) => write!(f, "RTCP version {v}, expected 2"),
            Self::Malformed => f.write_str("RTCP packet body malformed"),
            Self::BadPadding => f.write_str("RTCP padding invalid"),
            Self::Empty => f.write_str("empty RTCP compound packet"),
            Self::TooLarge => f.write_str("RTCP field too large to write"),
        }
    }
}

impl std::error::Error for RtcpError {}

/// RTCP packet type: sender report.
pub const PT_SR: u8 = 200;
/// RTCP packet type: receiver report.
pub const PT_RR: u8 = 201;
/// RTCP packet type: source description.
pub const PT_SDES: u8 = 202;
/// RTCP packet type: goodbye.
pub const PT_BYE: u8 = 203;
/// RTCP packet type: application-defined.
pub const PT_APP: u8 = 204;

/// SDES item type CNAME.
pub const SDES_CNAME: u8 = 1;

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, a signed 24-bit value.
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP timestamp.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

const REPORT_BLOCK_LEN: usize = 24;

impl ReportBlock {
    fn parse(b: &[u8]) -> Self {
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        // Sign-extend the 24-bit cumulative loss.
        let lost = (i32::from(b[5]) << 16 | i32::from(b[6]) << 8 | i32::from(b[7])) << 8 >> 8;
        Self {
            ssrc: word(0),
            fraction_lost: b[4],
            cumulative_lost: lost,
            highest_sequence: word(8),
            jitter: word(12),
            last_sr: word(16),
            delay_since_last_sr: word(20),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.push(self.fraction_lost);
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF);
        out.extend_from_slice(&lost.to_be_bytes()[1..]);
        out.extend_from_slice(&self.highest_sequence.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }
}

/// The report blocks of an SR or RR, read lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a>(&'a [u8]);

impl<'a> ReportBlocks<'a> {
    /// Iterates over the blocks.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ReportBlock> + 'a {
        self.0
            .chunks_exact(REPORT_BLOCK_LEN)
            .map(ReportBlock::parse)
    }

    /// Number of blocks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len() / REPORT_BLOCK_LEN
    }

    /// Whether there are no blocks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Sender's SSRC.
    pub ssrc: u32,
    /// NTP timestamp (64-bit fixed point seconds since 1900).
    pub ntp_timestamp: u64,
    /// The RTP timestamp matching `ntp_timestamp`.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The source described.
    pub ssrc: u32,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The items as (type, value) pairs.
    pub fn items(&self) -> impl Iterator<Item = (u8, &'a [u8])> + 'a {
        let mut rest = self.items;
        core::iter::from_fn(move || {
            let (&ty, tail) = rest.split_first()?;
            if ty == 0 {
                return None;
            }
            let (&len, tail) = tail.split_first()?;
            let value = tail.get(..usize::from(len))?;
            rest = &tail[usize::from(len)..];
            Some((ty, value))
        })
    }
}

/// The chunks of an SDES packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunks<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> SdesChunks<'a> {
    /// Iterates over the chunks.
    pub fn iter(&self) -> impl Iterator<Item = SdesChunk<'a>> + 'a {
        let mut rest = self.body;
        let mut left = self.count;
        core::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let (chunk, len) = sdes_chunk(rest).ok()?;
            rest = &rest[len..];
            Some(chunk)
        })
    }
}

/// Splits one SDES chunk off `b`: the chunk and its length in bytes (padded to 32 bits).
fn sdes_chunk(b: &[u8]) -> Result<(SdesChunk<'_>, usize), RtcpError> {
    let ssrc_bytes = b.get(..4).ok_or(RtcpError::Malformed)?;
    let ssrc = u32::from_be_bytes([ssrc_bytes[0], ssrc_bytes[1], ssrc_bytes[2], ssrc_bytes[3]]);
    let mut pos = 4;
    loop {
        let ty = *b.get(pos).ok_or(RtcpError::Malformed)?;
        if ty == 0 {
            // End of list, then pad to the next 32-bit boundary.
            let end = (pos + 4) & !3;
            if end > b.len() {
                return Err(RtcpError::Malformed);
            }
            return Ok((
                SdesChunk {
                    ssrc,
                    items: &b[4..pos],
                },
                end,
            ));
        }
        let len = usize::from(*b.get(pos + 1).ok_or(RtcpError::Malformed)?);
        pos += 2 + len;
        if pos > b.len() {
            return Err(RtcpError::Malformed);
        }
    }
}

/// One RTCP packet of a compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket<'a> {
    /// Sender report.
    SenderReport {
        /// Sender information.
        info: SenderInfo,
        /// Reception reports.
        reports: ReportBlocks<'a>,
    },
    /// Receiver report.
    ReceiverReport {
        /// Reporter's SSRC.
        ssrc: u32,
        /// Reception reports.
        reports: ReportBlocks<'a>,
    },
    /// Source description.
    SourceDescription(SdesChunks<'a>),
    /// Goodbye.
    Bye {
        /// Sources leaving, 4 bytes each (see [`RtcpPacket::bye_sources`]).
        sources: &'a [u8],
        /// Optional reason text.
        reason: Option<&'a [u8]>,
    },
    /// Application-defined.
    App {
        /// The 5-bit subtype.
        subtype: u8,
        /// Source.
        ssrc: u32,
        /// Four ASCII characters.
        name: [u8; 4],
        /// Application data.
        data: &'a [u8],
    },
    /// Any other type (feedback, XR, ...), kept raw.
    Other {
        /// The packet type.
        packet_type: u8,
        /// The 5-bit count/format field.
        count: u8,
        /// The body after the 4-byte header, padding removed.
        body: &'a [u8],
    },
}

impl<'a> RtcpPacket<'a> {
    /// The SSRCs listed in a BYE (empty for other packets).
    pub fn bye_sources(&self) -> impl Iterator<Item = u32> + 'a {
        let sources: &'a [u8] = match self {
            Self::Bye { sources, .. } => sources,
            _ => &[],
        };
        sources
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// Parses the first packet of `bytes`; returns it and its length.
    ///
    /// # Errors
    /// [`RtcpError`] when the header or body is malformed.
    pub fn parse_one(bytes: &'a [u8]) -> Result<(Self, usize), RtcpError> {
        if bytes.len() < 4 {
            return Err(RtcpError::TooShort);
        }
        let version = bytes[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let padded = bytes[0] & 0x20 != 0;
        let count = bytes[0] & 0x1F;
        let packet_type = bytes[1];
        let len = (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])) + 1) * 4;
        let packet = bytes.get(..len).ok_or(RtcpError::TooShort)?;
        let mut body = &packet[4..];
        if padded {
            let pad = usize::from(*body.last().ok_or(RtcpError::BadPadding)?);
            if pad == 0 || pad > body.len() {
                return Err(RtcpError::BadPadding);
            }
            body = &body[..body.len() - pad];
        }
        let word = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let blocks = usize::from(count) * REPORT_BLOCK_LEN;
        let parsed = match packet_type {
            PT_SR => {
                if body.len() < 24 + blocks {
                    return Err(RtcpError::Malformed);
                }
                let info = SenderInfo {
                    ssrc: word(body, 0),
                    ntp_timestamp: u64::from(word(body, 4)) << 32 | u64::from(word(body, 8)),
                    rtp_timestamp: word(body, 12),
                    packet_count: word(body, 16),
                    octet_count: word(body, 20),
                };
                Self::SenderReport {
                    info,
                    reports: ReportBlocks(&body[24..24 + blocks]),
                }
            }
            PT_RR => {
                if body.len() < 4 + blocks {
                    return Err(RtcpError::Malformed);
                }
                Self::ReceiverReport {
                    ssrc: word(body, 0),
                    reports: ReportBlocks(&body[4..4 + blocks]),
                }
            }
            PT_SDES => {
                let mut rest = body;
                for _ in 0..count {
                    let (_, used) = sdes_chunk(rest)?;
                    rest = &rest[used..];
                }
                Self::SourceDescription(SdesChunks { body, count })
            }
            PT_BYE => {
                let n = usize::from(count) * 4;
                let sources = body.get(..n).ok_or(RtcpError::Malformed)?;
                let reason = match body.get(n) {
                    Some(&rlen) => Some(
                        body.get(n + 1..n + 1 + usize::from(rlen))
                            .ok_or(RtcpError::Malformed)?,
                    ),
                    None => None,
                };
                Self::Bye { sources, reason }
            }
            PT_APP => {
                if body.len() < 8 {
                    return Err(RtcpError::Malformed);
                }
                Self::App {
                    subtype: count,
                    ssrc: word(body, 0),
                    name: [body[4], body[5], body[6], body[7]],
                    data: &body[8..],
                }
            }
            _ => Self::Other {
                packet_type,
                count,
                body,
            },
        };
        Ok((parsed, len))
    }
}

/// A validated compound RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpCompound<'a>(&'a [u8]);

impl<'a> RtcpCompound<'a> {
    /// Validates every packet of `bytes`.
    ///
    /// # Errors
    /// [`RtcpError`] for empty input or the first malformed packet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, RtcpError> {
        if bytes.is_empty() {
            return Err(RtcpError::Empty);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let (_, len) = RtcpPacket::parse_one(rest)?;
            rest = &rest[len..];
        }
        Ok(Self(bytes))
    }

    /// The packets, in order.
    pub fn packets(&self) -> impl Iterator<Item = RtcpPacket<'a>> + 'a {
        let mut rest = self.0;
        core::iter::from_fn(move || {
            // Every packet was validated in `parse`; an error cannot occur here
            // and would merely end the iteration.
            let (packet, len) = RtcpPacket::parse_one(rest).ok()?;
            rest = &rest[len..];
            Some(packet)
        })
    }
}

fn write_header(
    out: &mut Vec<u8>,
    count: u8,
    packet_type: u8,
    body_len: usize,
) -> Result<(), RtcpError> {
    let words = u16::try_from(body_len.div_ceil(4)).map_err(|_| RtcpError::TooLarge)?;
    out.push(0x80 | count);
    out.push(packet_type);
    out.extend_from_slice(&words.to_be_bytes());
    Ok(())
}

fn checked_count(n: usize) -> Result<u8, RtcpError> {
    u8::try_from(n)
        .ok()
        .filter(|&n| n <= 31)
        .ok_or(RtcpError::TooLarge)
}

/// Appends a sender report to `out`.
///
/// # Errors
/// [`RtcpError::TooLarge`] for more than 31 report blocks.
pub fn write_sender_report(
    out: &mut Vec<u8>,
    info: &SenderInfo,
    reports: &[ReportBlock],
) -> Result<(), RtcpError> {
    let count = checked_count(reports.len())?;
    write_header(out, count, PT_SR, 24 + reports.len() * REPORT_BLOCK_LEN)?;
    out.extend_from_slice(&info.ssrc.to_be_bytes());
    out.extend_from_slice(&info.ntp_timestamp.to_be_bytes());
    out.extend_from_slice(&info.rtp_timestamp.to_be_bytes());
    out.extend_from_slice(&info.packet_count.to_be_bytes());
    out.extend_from_slice(&info.octet_count.to_be_bytes());
    for r in reports {
        r.write(out);
    }
    Ok(())
}

/// Appends a receiver report to `out`.
///
/// # Errors
/// [`RtcpError::TooLarge`] for more than 31 report blocks.
pub fn write_receiver_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    reports: &[ReportBlock],
) -> Result<(), RtcpError> {
    let count = checked_count(reports.len())?;
    write_header(out, count, PT_RR, 4 + reports.len() * REPORT_BLOCK_LEN)?;
    out.extend_from_slice(&ssrc.to_be_bytes());
    for r in reports {
        r.write(out);
    }
    Ok(())
}

/// Appends an SDES packet with one chunk holding a CNAME to `out`.
///
/// # Errors
/// [`RtcpError::TooLarge`] for a CNAME longer than 255 bytes.
pub fn write_sdes_cname(out: &mut Vec<u8>, ssrc: u32, cname: &[u8]) -> Result<(), RtcpError> {
    let len = u8::try_from(cname.len()).map_err(|_| RtcpError::TooLarge)?;
    // SSRC, type, length, text, then at least one zero octet up to a 32-bit boundary.
    let chunk_len = (4 + 2 + cname.len() + 4) & !3;
    write_header(out, 1, PT_SDES, chunk_len)?;
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(SDES_CNAME);
    out.push(len);
    out.extend_from_slice(cname);
    out.extend(core::iter::repeat_n(0, chunk_len - 6 - cname.len()));
    Ok(())
}

/// Appends a BYE for `sources` with an optional reason to `out`.
///
/// # Errors
/// [`RtcpError::TooLarge`] for more than 31 sources or a reason over 255 bytes.
pub fn write_bye(
    out: &mut Vec<u8>,
    sources: &[u32],
    reason: Option<&[u8]>,
) -> Result<(), RtcpError> {
    let count = checked_count(sources.len())?;
    let reason_len = match reason {
        Some(r) => Some(u8::try_from(r.len()).map_err(|_| RtcpError::TooLarge)?),
        None => None,
    };
    let body = sources.len() * 4 + reason.map_or(0, |r| 1 + r.len());
    let padded = body.div_ceil(4) * 4;
    write_header(out, count, PT_BYE, body)?;
    for s in sources {
        out.extend_from_slice(&s.to_be_bytes());
    }
    if let (Some(r), Some(len)) = (reason, reason_len) {
        out.push(len);
        out.extend_from_slice(r);
    }
    out.extend(core::iter::repeat_n(0, padded - body));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_round_trip() {
        let info = SenderInfo {
            ssrc: 1,
            ntp_timestamp: 0x0102_0304_0506_0708,
            rtp_timestamp: 9,
            packet_count: 10,
            octet_count: 11,
        };
        let block = ReportBlock {
            ssrc: 2,
            fraction_lost: 3,
            cumulative_lost: -5,
            highest_sequence: 70000,
            jitter: 12,
            last_sr: 13,
            delay_since_last_sr: 14,
        };
        let mut out = Vec::new();
        write_sender_report(&mut out, &info, &[block]).unwrap();
        write_sdes_cname(&mut out, 1, b"callward").unwrap();
        write_bye(&mut out, &[1], Some(b"done")).unwrap();
        write_receiver_report(&mut out, 4, &[]).unwrap();
        assert_eq!(out.len() % 4, 0);
        let compound = RtcpCompound::parse(&out).unwrap();
        let packets: Vec<_> = compound.packets().collect();
        assert_eq!(packets.len(), 4);
        match packets[0] {
            RtcpPacket::SenderReport { info: got, reports } => {
                assert_eq!(got, info);
                assert_eq!(reports.iter().collect::<Vec<_>>(), vec![block]);
            }
            other => panic!("expected SR, got {other:?}"),
        }
        match packets[1] {
            RtcpPacket::SourceDescription(chunks) => {
                let chunk = chunks.iter().next().unwrap();
                assert_eq!(chunk.ssrc, 1);
                assert_eq!(
                    chunk.items().collect::<Vec<_>>(),
                    vec![(SDES_CNAME, &b"callward"[..])]
                );
            }
            other => panic!("expected SDES, got {other:?}"),
        }
        assert_eq!(packets[2].bye_sources().collect::<Vec<_>>(), vec![1]);
        assert!(matches!(
            packets[2],
            RtcpPacket::Bye {
                reason: Some(b"done"),
                ..
            }
        ));
        assert!(
            matches!(packets[3], RtcpPacket::ReceiverReport { ssrc: 4, reports } if reports.is_empty())
        );
    }

    #[test]
    fn rejects_truncated_and_bad() {
        assert_eq!(RtcpCompound::parse(&[]), Err(RtcpError::Empty));
        assert_eq!(
            RtcpCompound::parse(&[0x80, 201, 0]),
            Err(RtcpError::TooShort)
        );
        // RR with one report block announced but length for none.
        assert_eq!(
            RtcpCompound::parse(&[0x81, 201, 0, 1, 0, 0, 0, 1]),
            Err(RtcpError::Malformed)
        );
        assert_eq!(
            RtcpCompound::parse(&[0x40, 201, 0, 0]),
            Err(RtcpError::BadVersion(1))
        );
        // Length beyond the datagram.
        assert_eq!(
            RtcpCompound::parse(&[0x80, 201, 0, 9, 0, 0, 0, 1]),
            Err(RtcpError::TooShort)
        );
        // SDES chunk without terminating zero.
        assert_eq!(
            RtcpCompound::parse(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, b'a', b'b']),
            Err(RtcpError::Malformed)
        );
    }

    #[test]
    fn other_types_kept_raw() {
        let bytes = [0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        let c = RtcpCompound::parse(&bytes).unwrap();
        assert_eq!(
            c.packets().next(),
            Some(RtcpPacket::Other {
                packet_type: 205,
                count: 1,
                body: &bytes[4..]
            })
        );
    }
}
