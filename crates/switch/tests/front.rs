//! The SIP front without SIPp: what the switch answers to strangers,
//! malformed datagrams, unknown stations and out-of-call requests, each over
//! real loopback UDP with bounded waits.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::timeout;

/// Sends `text` from `from` to the switch and returns the final answer
/// (provisional ones skipped), within 2 s.
async fn ask_full(from: &UdpSocket, to: SocketAddr, text: &str) -> String {
    from.send_to(text.as_bytes(), to).await.unwrap();
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, _) = timeout(Duration::from_secs(2), from.recv_from(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !answer.starts_with("SIP/2.0 1") {
            return answer;
        }
    }
}

/// The status line of [`ask_full`]'s answer.
async fn ask(from: &UdpSocket, to: SocketAddr, text: &str) -> String {
    let answer = ask_full(from, to, text).await;
    answer.lines().next().unwrap_or_default().to_owned()
}

fn request(method: &str, uri: &str, from_user: &str, port: u16, call_id: &str) -> String {
    format!(
        "{method} {uri} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id}\r\n\
From: <sip:{from_user}@127.0.0.1:{port}>;tag=f{call_id}\r\n\
To: <{uri}>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 {method}\r\n\
Contact: <sip:{from_user}@127.0.0.1:{port}>\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n"
    )
}

#[tokio::test]
async fn strangers_get_403_and_gateways_get_answers() {
    let run = common::start("front", None, 1, 0, 24250).await;
    let to = run.sip;
    let ivr = format!("sip:ivr@{to}");

    // 127.0.0.2 is loopback but no facility's gateway.
    let stranger = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let sp = stranger.local_addr().unwrap().port();
    for (i, method) in ["INVITE", "OPTIONS", "REGISTER"].iter().enumerate() {
        let line = ask(
            &stranger,
            to,
            &request(method, &ivr, "station-101", sp, &format!("s{i}")),
        )
        .await;
        assert_eq!(line, "SIP/2.0 403 Forbidden", "{method}");
    }
    // A stranger's response or ACK gets nothing; the next request still
    // gets its 403, so nothing else was sent in between.
    stranger
        .send_to(b"SIP/2.0 200 OK\r\n\r\n", to)
        .await
        .unwrap();
    stranger
        .send_to(request("ACK", &ivr, "x", sp, "s8").as_bytes(), to)
        .await
        .unwrap();
    let answer = ask_full(&stranger, to, &request("OPTIONS", &ivr, "x", sp, "s9")).await;
    assert!(answer.starts_with("SIP/2.0 403 Forbidden\r\n"), "{answer}");
    assert!(answer.contains("Call-ID: s9\r\n"), "{answer}");

    let gateway = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let gp = gateway.local_addr().unwrap().port();
    // A station that does not exist is refused.
    let line = ask(
        &gateway,
        to,
        &request("INVITE", &ivr, "station-999", gp, "g1"),
    )
    .await;
    assert_eq!(line, "SIP/2.0 403 Forbidden");
    // A known station without an SDP offer cannot be answered.
    let line = ask(
        &gateway,
        to,
        &request("INVITE", &ivr, "station-101", gp, "g2"),
    )
    .await;
    assert_eq!(line, "SIP/2.0 488 Not Acceptable Here");
    // Not the IVR.
    let line = ask(
        &gateway,
        to,
        &request(
            "INVITE",
            &format!("sip:someone@{to}"),
            "station-101",
            gp,
            "g3",
        ),
    )
    .await;
    assert_eq!(line, "SIP/2.0 404 Not Found");
    // Out of any call.
    let line = ask(
        &gateway,
        to,
        &request("OPTIONS", &ivr, "station-101", gp, "g4"),
    )
    .await;
    assert_eq!(line, "SIP/2.0 200 OK");
    let answer = ask(&gateway, to, &request("BYE", &ivr, "station-101", gp, "g5")).await;
    let line = answer;
    assert_eq!(line, "SIP/2.0 481 Call/Transaction Does Not Exist");
    // Malformed: what the validation layer says (a missing Call-ID is 400).
    let broken = request("OPTIONS", &ivr, "station-101", gp, "g6").replace("Call-ID: g6\r\n", "");
    let answer = ask(&gateway, to, &broken).await;
    let line = answer;
    assert!(line.starts_with("SIP/2.0 400"), "{line}");

    run.stop().await;
}

#[tokio::test]
async fn a_panicking_call_task_is_dropped_and_the_switch_goes_on() {
    let run = common::start("panic", None, 1, 0, 24500).await;
    let to = run.sip;
    let ivr = format!("sip:ivr@{to}");
    let gateway = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let gp = gateway.local_addr().unwrap().port();
    // The call task panics in its station lookup, before it sends
    // anything.
    gateway
        .send_to(
            request("INVITE", &ivr, "station-panic", gp, "p1").as_bytes(),
            to,
        )
        .await
        .unwrap();
    // The switch still answers, calls included.
    let line = ask(&gateway, to, &request("OPTIONS", &ivr, "x", gp, "p2")).await;
    assert_eq!(line, "SIP/2.0 200 OK");
    let line = ask(
        &gateway,
        to,
        &request("INVITE", &ivr, "station-101", gp, "p3"),
    )
    .await;
    assert_eq!(line, "SIP/2.0 488 Not Acceptable Here");
    // The panicked call's route is gone: a BYE in it is answered 481 by
    // the front rather than vanishing into a dead channel.
    let answer = ask_full(
        &gateway,
        to,
        &request("BYE", &ivr, "station-panic", gp, "p1"),
    )
    .await;
    assert!(answer.starts_with("SIP/2.0 481 "), "{answer}");
    assert!(answer.contains("Call-ID: p1\r\n"), "{answer}");
    run.stop().await;
}
