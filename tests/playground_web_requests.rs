//! `playground --serve` against malformed and hostile requests: each gets a
//! clear 4xx answer naming what was wrong, and the server keeps serving.

mod common;
#[path = "common/web.rs"]
mod web;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use web::{agent, get, post, start_server, wait_for};

/// The status and error message of a POST.
fn refused(agent: &ureq::Agent, url: &str, body: &str) -> (u16, String) {
    let (status, answer) = post(agent, url, body);
    (status, answer["error"].as_str().unwrap_or("").to_string())
}

#[test]
fn bad_settings_get_400_with_the_reason() {
    let (_server, address) = start_server(&[]);
    let agent = agent();
    let sessions = format!("{address}/api/sessions");
    let cases: &[(&str, &str)] = &[
        (r#"{"lr": NaN}"#, "settings: expected value"),
        (r#"{"lr": "NaN"}"#, "invalid type: string \"NaN\""),
        (r#"{"lr": 1e400}"#, "number out of range"),
        (
            r#"{"lr": -1}"#,
            "lr -1 must be a finite number in [0.00001, 10]",
        ),
        (r#"{"lr": 1000}"#, "lr 1000 must be a finite number"),
        (
            r#"{"noise": 0.9}"#,
            "noise 0.9 must be a finite number in [0, 0.5]",
        ),
        (
            r#"{"train_percent": 95}"#,
            "train_percent 95 must be between 10 and 90",
        ),
        (r#"{"batch": 0}"#, "batch 0 must be between 1 and 100"),
        (
            r#"{"hidden": [100000]}"#,
            "hidden: a layer of 100000 units; each needs 1 to 16",
        ),
        (r#"{"hidden": [0]}"#, "hidden: a layer of 0 units"),
        (
            r#"{"hidden": [2, 2, 2, 2, 2, 2, 2]}"#,
            "hidden: 7 layers, at most 6",
        ),
        (r#"{"hidden": [-1]}"#, "invalid value: integer `-1`"),
        (r#"{"dataset": "moons"}"#, "unknown dataset 'moons'"),
        (r#"{"activation": "gelu"}"#, "unknown activation 'gelu'"),
        (r#"{"optimizer": "lbfgs"}"#, "unknown optimizer 'lbfgs'"),
        (r#"{"regularization": "l3"}"#, "unknown regularisation 'l3'"),
        (
            r#"{"regularization_rate": 11}"#,
            "regularization_rate 11 must be",
        ),
        (
            r#"{"features": []}"#,
            "features: choose at least one input feature",
        ),
        (
            r#"{"features": ["x1", "x1"]}"#,
            "feature x1 is listed twice",
        ),
        (r#"{"features": ["x3"]}"#, "unknown feature 'x3'"),
        (
            r#"{"problem": "regression", "dataset": "circle"}"#,
            "dataset circle is not a regression dataset",
        ),
        (
            r#"{"problem": "clustering"}"#,
            "unknown problem type 'clustering'",
        ),
        (r#"{"speed": 100000}"#, "speed 100000 must be at most 1000"),
        (r#"{"seed": 1, "hack": true}"#, "unknown field `hack`"),
        (r#"[1, 2, 3]"#, "settings: invalid type"),
        ("{\"lr\": 0.1", "EOF while parsing"),
        ("\u{0}\u{1}binary", "settings:"),
    ];
    for (body, reason) in cases {
        let (status, message) = refused(&agent, &sessions, body);
        assert_eq!(status, 400, "{body} → {status} {message}");
        assert!(
            message.contains(reason),
            "{body}: '{message}' lacks '{reason}'"
        );
    }
    // the same checks guard a running session's new settings
    let (status, answer) = post(&agent, &sessions, "{}");
    assert_eq!(status, 201, "{answer}");
    let id = answer["id"].as_str().unwrap().to_string();
    let (status, message) = refused(
        &agent,
        &format!("{sessions}/{id}/settings"),
        r#"{"lr": 1e9}"#,
    );
    assert_eq!(
        (status, message.contains("lr 1000000000")),
        (400, true),
        "{message}"
    );
    // and the server still serves, and the session still trains
    assert_eq!(get(&agent, &format!("{address}/")).0, 200);
    assert_eq!(post(&agent, &format!("{sessions}/{id}/step"), "").0, 200);
}

#[test]
fn oversized_bodies_unknown_paths_and_foreign_requests_are_refused() {
    let (_server, address) = start_server(&[]);
    let agent = agent();
    let sessions = format!("{address}/api/sessions");
    let big = format!(r#"{{"seed": 1, "pad": "{}"}}"#, "x".repeat(64 * 1024));
    let (status, message) = refused(&agent, &sessions, &big);
    assert_eq!(status, 413, "{message}");
    assert!(message.contains("over 16384 bytes"), "{message}");

    assert_eq!(get(&agent, &format!("{address}/nothing")).0, 404);
    assert_eq!(get(&agent, &format!("{address}/../../etc/passwd")).0, 404);
    assert_eq!(
        get(&agent, &format!("{address}/api/sessions/0123/events")).0,
        404
    );
    let (status, message) = refused(&agent, &format!("{sessions}/0123/play"), "");
    assert_eq!(status, 404);
    assert!(message.contains("no session 0123"), "{message}");
    let mut r = agent.delete(&sessions).call().unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let text = r.body_mut().read_to_string().unwrap();
    assert!(
        text.contains("DELETE is not allowed on /api/sessions"),
        "{text}"
    );

    let (status, answer) = post(&agent, &sessions, "{}");
    assert_eq!(status, 201, "{answer}");
    let id = answer["id"].as_str().unwrap();
    let (status, message) = refused(&agent, &format!("{sessions}/{id}/explode"), "");
    assert_eq!(status, 404);
    assert!(message.contains("no action 'explode'"), "{message}");

    // another site's page may not drive it, nor a name that is not ours
    let mut r = agent
        .post(&sessions)
        .header("Origin", "http://evil.example")
        .send("{}")
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r
        .body_mut()
        .read_to_string()
        .unwrap()
        .contains("evil.example"));
    let port = address.rsplit(':').next().unwrap();
    let raw = |request: &str| -> String {
        let mut tcp = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = tcp.read_to_string(&mut answer);
        answer
    };
    let rebound = raw("GET / HTTP/1.1\r\nHost: attacker.example:80\r\nConnection: close\r\n\r\n");
    assert!(rebound.starts_with("HTTP/1.1 403"), "{rebound}");
    // malformed HTTP: an answer (or a closed connection), never a crash
    for garbage in [
        "GARBAGE\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "POST /api/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
        "\u{0}\u{0}\u{0}\r\n\r\n",
    ] {
        let answer = raw(garbage);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1."),
            "{garbage:?} → {answer}"
        );
    }
    assert_eq!(get(&agent, &format!("{address}/")).0, 200, "still serving");
}

#[test]
fn sessions_and_streams_are_bounded_and_abandoned_sessions_stop() {
    let (_server, address) = start_server(&["--max-sessions", "3", "--abandon-after", "2"]);
    let agent = agent();
    let sessions = format!("{address}/api/sessions");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, answer) = post(&agent, &sessions, "{}");
        assert_eq!(status, 201, "{answer}");
        ids.push(answer["id"].as_str().unwrap().to_string());
    }
    let (status, message) = refused(&agent, &sessions, "{}");
    assert_eq!(status, 429, "{message}");
    assert!(
        message.contains("3 pages are training already"),
        "{message}"
    );
    assert_eq!(
        post(&agent, &format!("{sessions}/{}/close", ids[0]), "").0,
        200
    );
    let (status, answer) = post(&agent, &sessions, "{}");
    assert_eq!(status, 201, "a closed session makes room: {answer}");
    let live = answer["id"].as_str().unwrap().to_string();

    // at most two event streams per session; a stream carries snapshots
    let port = address.rsplit(':').next().unwrap().to_string();
    let open_stream = |id: &str| {
        let mut tcp = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            tcp,
            "GET /api/sessions/{id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
        )
        .unwrap();
        tcp
    };
    // Read both response heads before asking for a third stream: the
    // server counts a stream before it writes the head, so two heads read
    // means two counted (tiny_http queues requests from different
    // connections in no fixed order, so sending alone is not enough).
    let read_head = |tcp: &mut TcpStream| {
        let mut head = vec![0u8; 4096];
        let n = tcp.read(&mut head).unwrap();
        String::from_utf8_lossy(&head[..n]).to_string()
    };
    let mut first = open_stream(&live);
    let mut second = open_stream(&live);
    for head in [read_head(&mut first), read_head(&mut second)] {
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("text/event-stream"), "{head}");
    }
    let mut third = agent
        .get(&format!("{sessions}/{live}/events"))
        .call()
        .expect("an answer to a third stream");
    let status = third.status().as_u16();
    let text = third.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("2 event streams open"), "{text}");
    assert_eq!(post(&agent, &format!("{sessions}/{live}/play"), "").0, 200);
    let mut seen = String::new();
    let epoch = wait_for(Duration::from_secs(30), "a snapshot after training", || {
        let mut buf = vec![0u8; 1 << 16];
        let n = first.read(&mut buf).ok()?;
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        let start = seen.rfind("data: {\"epoch\":")? + "data: ".len();
        let end = seen[start..].find("\n\n")? + start;
        let snapshot: Value = serde_json::from_str(&seen[start..end]).ok()?;
        let epoch = snapshot["epoch"].as_u64()?;
        (epoch > 0).then_some(epoch)
    });
    assert!(epoch > 0);

    // a page that went away (no stream, no request): stopped after 2 s
    // (any request would count as the page being there: wait, then ask once)
    std::thread::sleep(Duration::from_secs(4));
    let (status, answer) = post(&agent, &format!("{sessions}/{}/play", ids[1]), "");
    assert_eq!(status, 404, "{answer}");
    // the one with an open stream lives on
    assert_eq!(post(&agent, &format!("{sessions}/{live}/pause"), "").0, 200);
}
