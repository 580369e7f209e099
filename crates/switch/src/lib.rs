//! The call switch: UDP sockets and timers driving the sans-IO SIP, media and
//! call-flow state machines. One task owns one call.
