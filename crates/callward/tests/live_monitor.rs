//! Live monitoring through a real `callward serve --demo`: SIPp as station
//! and trunk make a recorded call; while it is bridged, the demo
//! investigator finds it on the console's live page and listens over the
//! WebSocket, as the page's script does. Without a case, or from another
//! site's page, the socket is refused (the refusal logged); inside a case
//! the `monitor` entry is logged before the first byte, the audio carries
//! speech, the stream ends with the call, and the call and its recording
//! are unaffected. Afterwards the same investigator releases the recording
//! through the API (`POST /api/v1/calls/{id}/recording`): refused outside
//! the case, then a listen and an export, each under its own entry.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use callward_audit::{Action, Entry, ObjectKind};
use common::{Demo, http, http_request, json_of, scratch, wait};
use serde_json::{Value, json};
use tungstenite::Message;
use tungstenite::client::IntoClientRequest as _;

/// Opens the live audio socket as the console's script does; the HTTP
/// status if the server refused the upgrade.
fn connect(
    addr: SocketAddr,
    call: &str,
    case: Option<i64>,
    cookie: &str,
    origin: &str,
) -> Result<tungstenite::WebSocket<TcpStream>, u16> {
    let query = case.map(|c| format!("?case={c}")).unwrap_or_default();
    let mut request = format!("ws://{addr}/console/live/{call}/audio{query}")
        .into_client_request()
        .unwrap();
    let h = request.headers_mut();
    h.insert("cookie", cookie.parse().unwrap());
    h.insert("origin", origin.parse().unwrap());
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    match tungstenite::client(request, stream) {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            Err(r.status().as_u16())
        }
        Err(e) => panic!("websocket handshake: {e}"),
    }
}

#[test]
fn an_investigator_listens_live_inside_a_case_and_the_call_is_unaffected() {
    let mut demo = Demo::start(&scratch("live-monitor"));
    let addr = demo.http;
    let token = common::api_sign_in(addr, "investigator");
    let bearer = format!("Bearer {token}");
    let cookie = format!("callward_session={token}");
    let origin = format!("http://{addr}");
    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/cases",
        &[("Authorization", &bearer)],
        Some(
            &json!({"title": "Live 1", "justification": "contraband investigation, warrant 26-114"}),
        ),
    );
    assert_eq!(code, 201, "{body}");
    let case = json_of(&body)["id"].as_i64().unwrap();

    // No call yet: the page says so.
    let (code, page) = http(addr, "GET", "/console/live", &[("Cookie", &cookie)], None);
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("id=\"no-calls\""), "{page}");
    let (code, body) = http(
        addr,
        "GET",
        "/api/v1/live",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(json_of(&body)["items"], json!([]));

    let mut trunk = demo.trunk("trunk_answer_accept.xml", 1, 18500);
    let mut station = demo.station("station_call.xml", 1, 18600, &[]);

    // The call appears once it is bridged (and recorded).
    let deadline = Instant::now() + Duration::from_secs(40);
    let call = loop {
        let (code, page) = http(addr, "GET", "/console/live", &[("Cookie", &cookie)], None);
        assert_eq!(code, 200, "{page}");
        if let Some(rest) = page.split("data-live=\"").nth(1) {
            assert!(
                page.contains("+15551230001"),
                "the investigator sees the number: {page}"
            );
            break rest.split('"').next().unwrap().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no live call listed within 40 s; server log: {:#?}",
            demo.server.log
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    // The API lists it too, with the socket's address.
    let (code, body) = http(
        addr,
        "GET",
        "/api/v1/live",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(code, 200, "{body}");
    let listed = json_of(&body)["items"].clone();
    assert_eq!(listed[0]["id"], call.as_str(), "{body}");
    assert_eq!(listed[0]["number"], "+15551230001");
    assert_eq!(listed[0]["audio"], format!("/console/live/{call}/audio"));

    // Refused: no case; a case that does not exist; another site's page.
    assert_eq!(
        connect(addr, &call, None, &cookie, &origin).err(),
        Some(403)
    );
    assert_eq!(
        connect(addr, &call, Some(case + 1000), &cookie, &origin).err(),
        Some(403)
    );
    assert_eq!(
        connect(addr, &call, Some(case), &cookie, "http://evil.example").err(),
        Some(403)
    );
    assert_eq!(
        connect(addr, "no-such-call", Some(case), &cookie, &origin).err(),
        Some(404)
    );

    // Inside the case: the hello names the log entry, then audio until the
    // call ends.
    let mut socket = connect(addr, &call, Some(case), &cookie, &origin).expect("allowed");
    let hello = match socket.read().unwrap() {
        Message::Text(t) => json_of(&t),
        other => panic!("first message {other:?}"),
    };
    assert_eq!(hello["call"], call.as_str());
    assert_eq!(hello["format"], "audio/pcma;rate=8000;channels=2");
    let entry_index = hello["entry"].as_u64().unwrap();
    let (mut bytes, mut speech) = (0usize, [0usize; 2]);
    let started = Instant::now();
    loop {
        match socket.read() {
            Ok(Message::Binary(b)) => {
                assert_eq!(b.len() % 2, 0, "whole two-channel frames");
                bytes += b.len();
                // A-law silence is 0x55/0xd5 and its neighbours; speech is
                // far from it.
                for (k, s) in b.iter().enumerate() {
                    if (s ^ 0x55) & 0x70 >= 0x30 {
                        speech[k % 2] += 1;
                    }
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the stream did not end with the call"
        );
    }
    assert!(bytes >= 2 * 16_000, "{bytes} bytes: under 2 s of audio");
    assert!(
        speech[0] > 2000 && speech[1] > 2000,
        "speech on both channels: {speech:?}"
    );

    // The call went on as if nobody listened.
    let station_status = wait(&mut station, Duration::from_secs(60), "station SIPp");
    let trunk_status = wait(&mut trunk, Duration::from_secs(30), "trunk SIPp");
    assert!(
        station_status.success() && trunk_status.success(),
        "SIPp failed; server log: {:#?}",
        demo.server.log
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let record = loop {
        if let Some(c) = demo.calls().into_iter().find(|c| c["id"] == call.as_str()) {
            break c;
        }
        assert!(Instant::now() < deadline, "no call record within 10 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(record["disposition"], "completed", "{record}");
    let recording = record["recording_id"].as_str().expect("recorded");
    let billable = record["billable_seconds"].as_u64().unwrap();

    // Afterwards, the recording through the API (POST /calls/{id}/recording):
    // refused outside the case (logged), a bad purpose or an export
    // without a reason is a 400, and inside the case a WAV comes back
    // under the entry the response names.
    let path = format!("/api/v1/calls/{call}/recording");
    let auth = [("Authorization", bearer.as_str())];
    let post = |body: Value| http_request(addr, "POST", &path, &auth, Some(&body));
    let (code, _, body) = post(json!({"case": case + 1000, "purpose": "listen"}));
    assert_eq!(code, 403, "{}", String::from_utf8_lossy(&body));
    let (code, _, body) = post(json!({"case": case, "purpose": "dance"}));
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    let (code, _, body) = post(json!({"case": case, "purpose": "export", "reason": "x"}));
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    let header = |headers: &[(String, String)], name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
    };
    let (code, headers, played) = post(json!({"case": case, "purpose": "listen"}));
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&played));
    assert_eq!(header(&headers, "content-type"), "audio/wav");
    let listen_entry: u64 = header(&headers, "x-callward-entry").parse().unwrap();
    assert_eq!(&played[..4], b"RIFF");
    assert_eq!(
        u16::from_le_bytes([played[22], played[23]]),
        2,
        "two channels"
    );
    assert_eq!(
        u32::from_le_bytes([played[24], played[25], played[26], played[27]]),
        8000
    );
    let (code, headers, exported) = post(
        json!({"case": case, "purpose": "export", "reason": "for the prosecutor, case 26-114"}),
    );
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&exported));
    assert_eq!(
        header(&headers, "content-disposition"),
        format!("attachment; filename=\"call-{call}.wav\"")
    );
    let export_entry: u64 = header(&headers, "x-callward-entry").parse().unwrap();
    assert!(export_entry > listen_entry);
    assert_eq!(exported.len(), played.len(), "the same recording");
    assert_ne!(exported, played, "each copy carries its own entry's mark");
    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);
    let audio = common::recording_audio(&demo.key_dir(), &demo.data, recording);
    assert!(
        audio.len() as u64 >= billable.saturating_sub(1) * 16_000,
        "{} bytes recorded for {billable} s",
        audio.len()
    );
    assert_eq!(
        played.len(),
        44 + 2 * audio.len(),
        "the WAV holds the whole recording as 16-bit PCM"
    );
    assert!(
        bytes <= audio.len(),
        "heard {bytes} bytes, more than the recording's {}",
        audio.len()
    );

    // The log: the refusals, then the monitor entry with the case, before
    // any audio (its index is the one the hello named).
    let entries = demo.log_entries();
    let refused: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            e.action == Action::Refused
                && e.object_kind == ObjectKind::CallRecord
                && e.object_id == call
        })
        .collect();
    assert_eq!(refused.len(), 2, "no case, unknown case: {refused:#?}");
    assert!(
        refused
            .iter()
            .all(|e| e.justification.starts_with("monitor_live"))
    );
    let monitor = &entries[usize::try_from(entry_index).unwrap()];
    assert_eq!(monitor.action, Action::Monitor);
    assert_eq!(monitor.object_kind, ObjectKind::CallRecord);
    assert_eq!(monitor.object_id, call);
    assert_eq!(monitor.user, "investigator");
    assert_eq!(monitor.case_id, case.to_string());
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == Action::Monitor)
            .count(),
        1
    );

    // The API's releases: one refusal (a case that is not the agency's),
    // then the listen and the export entries the responses named.
    let api_refused: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.action == Action::Refused && e.object_kind == ObjectKind::Recording)
        .collect();
    assert_eq!(api_refused.len(), 1, "{api_refused:#?}");
    assert!(api_refused[0].justification.starts_with("listen"));
    let listened = &entries[usize::try_from(listen_entry).unwrap()];
    assert_eq!(listened.action, Action::Listen);
    assert_eq!(listened.object_kind, ObjectKind::Recording);
    assert_eq!(listened.object_id, recording);
    assert_eq!(listened.case_id, case.to_string());
    let exported = &entries[usize::try_from(export_entry).unwrap()];
    assert_eq!(exported.action, Action::Export);
    assert_eq!(exported.justification, "for the prosecutor, case 26-114");
}
