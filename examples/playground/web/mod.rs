//! `playground --serve`: TensorFlow Playground in the browser, trained by
//! tapegrad. The binary serves one page (its script and style are compiled
//! in; nothing is fetched from elsewhere and no request touches a file),
//! each open page gets a training session of its own on a thread of the
//! server (`session.rs`), and the page follows its session's training
//! through server-sent events several times a second.
//!
//! The API, all under `/api/sessions`:
//!
//! | request | effect |
//! |---|---|
//! | `POST /api/sessions` (settings as JSON) | starts a session, answers `{"id": …}` |
//! | `GET /api/sessions/ID/events` | the session's snapshots, as `text/event-stream` |
//! | `POST /api/sessions/ID/settings` (JSON) | new settings: training starts again |
//! | `POST /api/sessions/ID/play`, `pause`, `step`, `reset`, `close` | what the buttons say |
//!
//! Safe by default: it listens on 127.0.0.1 unless `--bind` says otherwise,
//! checks every setting (`settings.rs`) and answers a bad one with 400 and
//! the reason, refuses bodies over [`MAX_BODY`] bytes (413), more than
//! `--max-sessions` sessions (429), and requests from other sites (403),
//! and stops the session of a page that went away.

mod session;
mod settings;
mod snapshot;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use session::{Command, Full, Registry, Session};
use settings::Settings;
use tiny_http::{Header, Method, Request, Response, Server};

/// The largest request body accepted, in bytes (settings are a few hundred).
pub const MAX_BODY: usize = 16 * 1024;

/// Event streams per session (a page needs one; a reload briefly two).
const MAX_STREAMS: usize = 2;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// Where to listen, and how many pages may train at once.
pub struct Options {
    pub bind: IpAddr,
    pub port: u16,
    pub max_sessions: usize,
    /// A session whose page has no open stream and has made no request for
    /// this long is stopped.
    pub abandon_after: Duration,
}

/// Serves until the process is stopped. Prints the address first (a port
/// of 0 picks a free one).
pub fn serve(options: &Options) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let server = Server::http(SocketAddr::new(options.bind, options.port))?;
    let address = server
        .server_addr()
        .to_ip()
        .ok_or("the server has no IP address")?;
    println!("tapegrad Playground: open http://{address}/ (Ctrl-C stops it)");
    if !options.bind.is_loopback() {
        println!(
            "warning: listening on {} — reachable from other machines",
            options.bind
        );
    }
    let registry = Arc::new(Registry::new(options.max_sessions));
    let reaper = registry.clone();
    let grace = options.abandon_after;
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        reaper.reap(grace);
    });
    for request in server.incoming_requests() {
        handle(request, &registry, address);
    }
    Ok(())
}

/// An answer: status and body (JSON for the API, the asset otherwise).
struct Answer {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Answer {
    fn json(status: u16, body: String) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body,
        }
    }

    fn error(status: u16, message: impl std::fmt::Display) -> Answer {
        Answer::json(
            status,
            serde_json::json!({ "error": message.to_string() }).to_string(),
        )
    }

    fn ok() -> Answer {
        Answer::json(200, "{}".into())
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

/// Headers every answer carries: no caching, no sniffing, and scripts,
/// styles and connections only from this server.
fn common_headers(content_type: &str) -> Vec<Header> {
    vec![
        header("Content-Type", content_type),
        header("Cache-Control", "no-store"),
        header("X-Content-Type-Options", "nosniff"),
        header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ),
    ]
}

fn handle(mut request: Request, registry: &Arc<Registry>, address: SocketAddr) {
    if let Some(refusal) = refuse_foreign(&request, address) {
        return respond(request, refusal);
    }
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let method = request.method().clone();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match (&method, parts.as_slice()) {
        (Method::Get, [""]) => asset("text/html; charset=utf-8", PAGE),
        (Method::Get, ["page.js"]) => asset("text/javascript; charset=utf-8", SCRIPT),
        (Method::Get, ["page.css"]) => asset("text/css; charset=utf-8", STYLE),
        (Method::Post, ["api", "sessions"]) => match read_body(&mut request) {
            Ok(body) => open_session(registry, &body),
            Err(answer) => answer,
        },
        (Method::Get, ["api", "sessions", id, "events"]) => match registry.get(id) {
            Some(session) => return stream(request, session),
            None => no_session(id),
        },
        (Method::Post, ["api", "sessions", id, action]) => {
            let body = match read_body(&mut request) {
                Ok(body) => body,
                Err(answer) => return respond(request, answer),
            };
            act(registry, id, action, &body)
        }
        (_, [""] | ["page.js"] | ["page.css"] | ["api", "sessions"])
        | (_, ["api", "sessions", _, _]) => {
            Answer::error(405, format!("{method} is not allowed on {path}"))
        }
        _ => Answer::error(404, format!("nothing at {path}")),
    };
    respond(request, answer);
}

/// 403 for a request another site's page made (its `Origin` is not this
/// server) or that names another host (DNS rebinding); `None` otherwise.
fn refuse_foreign(request: &Request, address: SocketAddr) -> Option<Answer> {
    let ours = |host: &str| {
        host == address.to_string()
            || host == format!("localhost:{}", address.port())
            || (address.ip().is_loopback() && host == format!("127.0.0.1:{}", address.port()))
    };
    for h in request.headers() {
        let value = h.value.as_str();
        if h.field.equiv("Host") && !ours(value) {
            return Some(Answer::error(
                403,
                format!("host {value} is not this server"),
            ));
        }
        if h.field.equiv("Origin") {
            let host = value.strip_prefix("http://").unwrap_or("");
            if !ours(host) {
                return Some(Answer::error(
                    403,
                    format!("requests from {value} are not accepted"),
                ));
            }
        }
    }
    None
}

fn respond(request: Request, answer: Answer) {
    let mut response = Response::from_string(answer.body).with_status_code(answer.status);
    for h in common_headers(answer.content_type) {
        response.add_header(h);
    }
    // a client that went away while being answered is no concern of ours
    let _ = request.respond(response);
}

fn asset(content_type: &'static str, body: &'static str) -> Answer {
    Answer {
        status: 200,
        content_type,
        body: body.to_string(),
    }
}

fn no_session(id: &str) -> Answer {
    Answer::error(404, format!("no session {id} (it may have ended)"))
}

/// The request's body, at most [`MAX_BODY`] bytes (413 beyond).
fn read_body(request: &mut Request) -> Result<Vec<u8>, Answer> {
    let too_large = || Answer::error(413, format!("the body is over {MAX_BODY} bytes"));
    if request.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    request
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| Answer::error(400, format!("reading the body: {e}")))?;
    if body.len() > MAX_BODY {
        return Err(too_large());
    }
    Ok(body)
}

/// Settings from a body; an empty body is all defaults.
fn settings_of(body: &[u8]) -> Result<settings::Checked, Answer> {
    let settings = if body.iter().all(u8::is_ascii_whitespace) {
        Settings::default()
    } else {
        Settings::parse(body).map_err(|e| Answer::error(400, e))?
    };
    settings.check().map_err(|e| Answer::error(400, e))
}

fn open_session(registry: &Registry, body: &[u8]) -> Answer {
    let checked = match settings_of(body) {
        Ok(c) => c,
        Err(answer) => return answer,
    };
    match registry.open(checked) {
        Ok(id) => Answer::json(201, serde_json::json!({ "id": id }).to_string()),
        Err(Full::TooMany(max)) => Answer::error(
            429,
            format!("{max} pages are training already; close one and try again"),
        ),
    }
}

fn act(registry: &Registry, id: &str, action: &str, body: &[u8]) -> Answer {
    if action == "close" {
        return if registry.close(id) {
            Answer::ok()
        } else {
            no_session(id)
        };
    }
    let Some(session) = registry.get(id) else {
        return no_session(id);
    };
    let command = match action {
        "play" => Command::Play,
        "pause" => Command::Pause,
        "step" => Command::Step,
        "reset" => Command::Reset,
        "settings" => match settings_of(body) {
            Ok(checked) => Command::Settings(Box::new(checked)),
            Err(answer) => return answer,
        },
        other => {
            return Answer::error(
                404,
                format!(
                    "no action '{other}' (expected play, pause, step, reset, settings or close)"
                ),
            )
        }
    };
    if session.send(command) {
        Answer::ok()
    } else {
        no_session(id)
    }
}

/// Answers with the session's snapshots as server-sent events, on a
/// thread of its own, until the page goes away or the session ends.
///
/// tiny_http buffers a streamed body in 8 KiB chunks, which would hold back
/// the end of every event until the next; so the stream writes its own
/// response head and flushes after each event, on the connection itself
/// (`Connection: close` ends the body with the connection).
fn stream(request: Request, session: Arc<Session>) {
    if session.streams.fetch_add(1, Ordering::AcqRel) >= MAX_STREAMS {
        session.streams.fetch_sub(1, Ordering::AcqRel);
        return respond(
            request,
            Answer::error(
                429,
                format!("this session has {MAX_STREAMS} event streams open"),
            ),
        );
    }
    session.touch();
    std::thread::spawn(move || {
        let mut out = request.into_writer();
        // ends when the page goes away (a failed write) or the session stops
        let _ = send_events(&mut *out, &session);
        session.streams.fetch_sub(1, Ordering::AcqRel);
        session.touch();
    });
}

/// The stream: each new snapshot as one `data:` event, at most ten a
/// second (training never waits for it: it only replaces the snapshot
/// meanwhile), and a comment line when nothing changed for 15 s.
fn send_events(out: &mut dyn Write, session: &Session) -> std::io::Result<()> {
    let mut head = String::from("HTTP/1.1 200 OK\r\nConnection: close\r\n");
    for h in common_headers("text/event-stream") {
        head.push_str(&format!("{}: {}\r\n", h.field, h.value));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.flush()?;
    let mut seen = 0;
    loop {
        match session.next_after(seen, Duration::from_secs(15)) {
            Some((version, json)) => {
                seen = version;
                out.write_all(b"data: ")?;
                out.write_all(json.as_bytes())?;
                out.write_all(b"\n\n")?;
            }
            None if session.is_stopped() => return Ok(()),
            None => out.write_all(b": still here\n\n")?,
        }
        out.flush()?;
        session.touch();
        std::thread::sleep(Duration::from_millis(100));
    }
}
