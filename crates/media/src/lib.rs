//! Media for callward: RTP/RTCP packets, G.711, RFC 4733 and in-band DTMF,
//! prompt playout, the relay between two legs and the recording tap.
//!
//! Sans-IO: packets and the current time go in, packets to send and events
//! come out. The switch crate owns the sockets.
