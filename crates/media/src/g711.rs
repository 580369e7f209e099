//! G.711 A-law and µ-law (ITU-T G.711), both directions, plus direct
//! A-law ↔ µ-law transcoding.
//!
//! The algorithms are the classic segment/quantisation ones (as in Sun's
//! public-domain `g711.c`): decoding is a 256-entry table built at compile
//! time, encoding a segment search on the magnitude. Transcoding between the
//! two laws goes through linear and is also a compile-time table, so the relay
//! converts a payload with one lookup per byte.

/// Silence in µ-law (the positive zero code).
pub const ULAW_SILENCE: u8 = 0xFF;
/// Silence in A-law (the code that decodes to +8, the smallest positive level).
pub const ALAW_SILENCE: u8 = 0xD5;

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8159;
const ULAW_SEG_END: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const ALAW_SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

const fn segment(value: i32, ends: &[i32; 8]) -> usize {
    let mut i = 0;
    while i < 8 {
        if value <= ends[i] {
            return i;
        }
        i += 1;
    }
    8
}

/// Encodes one 16-bit linear sample to µ-law.
#[must_use]
pub const fn ulaw_encode(sample: i16) -> u8 {
    // 16-bit input, 14-bit algorithm.
    let mut pcm = (sample as i32) >> 2;
    let mask: u8 = if pcm < 0 {
        pcm = -pcm;
        0x7F
    } else {
        0xFF
    };
    if pcm > ULAW_CLIP {
        pcm = ULAW_CLIP;
    }
    pcm += ULAW_BIAS >> 2;
    let seg = segment(pcm, &ULAW_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let uval = ((seg as i32) << 4) | ((pcm >> (seg + 1)) & 0xF);
    (uval as u8) ^ mask
}

const fn ulaw_decode_calc(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= ((u & 0x70) >> 4) as i32;
    (if u & 0x80 != 0 {
        ULAW_BIAS - t
    } else {
        t - ULAW_BIAS
    }) as i16
}

/// Encodes one 16-bit linear sample to A-law.
#[must_use]
pub const fn alaw_encode(sample: i16) -> u8 {
    let mut pcm = (sample as i32) >> 3;
    let mask: u8 = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let seg = segment(pcm, &ALAW_SEG_END);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mut aval = (seg as i32) << 4;
    if seg < 2 {
        aval |= (pcm >> 1) & 0x0F;
    } else {
        aval |= (pcm >> seg) & 0x0F;
    }
    (aval as u8) ^ mask
}

const fn alaw_decode_calc(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

const fn build_decode(alaw: bool) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if alaw {
            alaw_decode_calc(i as u8)
        } else {
            ulaw_decode_calc(i as u8)
        };
        i += 1;
    }
    table
}

const fn build_transcode(from_alaw: bool) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = if from_alaw {
            ulaw_encode(alaw_decode_calc(i as u8))
        } else {
            alaw_encode(ulaw_decode_calc(i as u8))
        };
        i += 1;
    }
    table
}

// Encoding by table: A-law looks only at a sample's top 13 bits and µ-law at
// its top 14, so one lookup replaces the segment search (the recording tap
// encodes every sample of every recorded call). Built at compile time from
// the reference functions above; `tests/g711.rs` compares all 65,536 inputs.
const fn build_alaw_encode() -> [u8; 1 << 13] {
    let mut table = [0u8; 1 << 13];
    let mut i = 0;
    while i < table.len() {
        table[i] = alaw_encode((i << 3) as u16 as i16);
        i += 1;
    }
    table
}

const fn build_ulaw_encode() -> [u8; 1 << 14] {
    let mut table = [0u8; 1 << 14];
    let mut i = 0;
    while i < table.len() {
        table[i] = ulaw_encode((i << 2) as u16 as i16);
        i += 1;
    }
    table
}

static LINEAR_TO_ALAW: [u8; 1 << 13] = build_alaw_encode();
static LINEAR_TO_ULAW: [u8; 1 << 14] = build_ulaw_encode();

/// µ-law code → 16-bit linear sample.
pub static ULAW_TO_LINEAR: [i16; 256] = build_decode(false);
/// A-law code → 16-bit linear sample.
pub static ALAW_TO_LINEAR: [i16; 256] = build_decode(true);
/// A-law code → µ-law code (through linear).
pub static ALAW_TO_ULAW: [u8; 256] = build_transcode(true);
/// µ-law code → A-law code (through linear).
pub static ULAW_TO_ALAW: [u8; 256] = build_transcode(false);

/// Decodes one µ-law code to a 16-bit linear sample.
#[must_use]
#[inline]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(code)]
}

/// Decodes one A-law code to a 16-bit linear sample.
#[must_use]
#[inline]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(code)]
}

/// The two G.711 laws, with their static RTP payload types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// µ-law, RTP payload type 0 (PCMU).
    Pcmu,
    /// A-law, RTP payload type 8 (PCMA).
    Pcma,
}

impl G711 {
    /// Clock rate of both laws in RTP (samples per second).
    pub const CLOCK_RATE: u32 = 8000;

    /// The static RTP payload type (RFC 3551): 0 for PCMU, 8 for PCMA.
    #[must_use]
    pub const fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
        }
    }

    /// The law for a static payload type, if it is one of the two.
    #[must_use]
    pub const fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Self::Pcmu),
            8 => Some(Self::Pcma),
            _ => None,
        }
    }

    /// The code for silence in this law.
    #[must_use]
    pub const fn silence(self) -> u8 {
        match self {
            Self::Pcmu => ULAW_SILENCE,
            Self::Pcma => ALAW_SILENCE,
        }
    }

    /// Decodes one code.
    #[must_use]
    #[inline]
    pub fn decode_sample(self, code: u8) -> i16 {
        match self {
            Self::Pcmu => ulaw_decode(code),
            Self::Pcma => alaw_decode(code),
        }
    }

    /// Encodes one sample.
    #[must_use]
    #[inline]
    pub const fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Self::Pcmu => ulaw_encode(sample),
            Self::Pcma => alaw_encode(sample),
        }
    }

    /// Decodes `codes` into `out`, appending.
    pub fn decode_into(self, codes: &[u8], out: &mut Vec<i16>) {
        let table = self.decode_table();
        out.extend(codes.iter().map(|&c| table[usize::from(c)]));
    }

    /// Encodes `samples` into `out`, appending.
    pub fn encode_into(self, samples: &[i16], out: &mut Vec<u8>) {
        match self {
            Self::Pcma => out.extend(
                samples
                    .iter()
                    .map(|&s| LINEAR_TO_ALAW[usize::from(s as u16 >> 3)]),
            ),
            Self::Pcmu => out.extend(
                samples
                    .iter()
                    .map(|&s| LINEAR_TO_ULAW[usize::from(s as u16 >> 2)]),
            ),
        }
    }

    /// The 256-entry decode table of this law.
    #[must_use]
    pub fn decode_table(self) -> &'static [i16; 256] {
        match self {
            Self::Pcmu => &ULAW_TO_LINEAR,
            Self::Pcma => &ALAW_TO_LINEAR,
        }
    }

    /// Converts one code of this law to `to`.
    #[must_use]
    #[inline]
    pub fn transcode_byte(self, to: Self, code: u8) -> u8 {
        match (self, to) {
            (Self::Pcma, Self::Pcmu) => ALAW_TO_ULAW[usize::from(code)],
            (Self::Pcmu, Self::Pcma) => ULAW_TO_ALAW[usize::from(code)],
            _ => code,
        }
    }

    /// Appends `codes` (in this law) to `out`, converted to `to`.
    pub fn transcode_into(self, to: Self, codes: &[u8], out: &mut Vec<u8>) {
        match (self, to) {
            (Self::Pcma, Self::Pcmu) => {
                out.extend(codes.iter().map(|&c| ALAW_TO_ULAW[usize::from(c)]));
            }
            (Self::Pcmu, Self::Pcma) => {
                out.extend(codes.iter().map(|&c| ULAW_TO_ALAW[usize::from(c)]));
            }
            _ => out.extend_from_slice(codes),
        }
    }
}
