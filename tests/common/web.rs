//! Helpers of the tests of `playground --serve`: the server as a child
//! process, an HTTP agent that reports every status instead of failing on
//! 4xx, and a WebDriver client for headless Chromium.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A child process that is killed when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `playground --serve` on a free port with `extra` flags; returns
/// the process and the address it printed (`http://127.0.0.1:PORT`).
pub fn start_server(extra: &[&str]) -> (Killed, String) {
    let mut child = Command::new(crate::common::example_binary("playground"))
        .args(["--serve", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the playground example starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server prints its address");
    let start = line.find("http://").expect("an address in the first line");
    let address = line[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    (Killed(child), address)
}

/// An agent that returns 4xx and 5xx answers instead of turning them into
/// errors, with a timeout.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Status and JSON body of a POST with `body`.
pub fn post(agent: &ureq::Agent, url: &str, body: &str) -> (u16, Value) {
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Status and body text of a GET.
pub fn get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let mut response = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A free TCP port on loopback (free when this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A WebDriver session in headless Chromium, driven through chromedriver.
pub struct Browser {
    agent: ureq::Agent,
    base: String,
    _driver: Killed,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium window of 1440×1000.
    /// The binaries are Debian's (`apt-get install chromium
    /// chromium-driver`), or those named by `TAPEGRAD_CHROMIUM` and
    /// `TAPEGRAD_CHROMEDRIVER`.
    pub fn start() -> Browser {
        let chromium =
            std::env::var("TAPEGRAD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let driver = std::env::var("TAPEGRAD_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        for path in [&chromium, &driver] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing: install Chromium and its driver (apt-get install chromium chromium-driver; .ci/run does)"
            );
        }
        let port = free_port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Killed(child);
        let agent = agent();
        let root = format!("http://127.0.0.1:{port}");
        wait_for(Duration::from_secs(20), "chromedriver", || {
            agent
                .get(&format!("{root}/status"))
                .call()
                .ok()
                .filter(|r| r.status().is_success())
        });
        // as root (CI) Chromium needs --no-sandbox; the network flags keep
        // it from calling home on a machine without network
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1440,1000",
                    format!("--user-data-dir={}", std::env::temp_dir().join(format!("tapegrad-chromium-{port}")).display()),
                ]
            }
        }}});
        let (status, answer) = post(
            &agent,
            &format!("{root}/session"),
            &capabilities.to_string(),
        );
        assert_eq!(status, 200, "a WebDriver session: {answer}");
        let id = answer["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        Browser {
            agent,
            base: format!("{root}/session/{id}"),
            _driver: driver,
        }
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let mut response = match method {
            "GET" => self.agent.get(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string().as_str()),
        }
        .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"));
        let status = response.status().as_u16();
        let answer: Value = response.body_mut().read_json().unwrap_or(Value::Null);
        assert_eq!(status, 200, "WebDriver {path}: {answer}");
        answer["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", json!({ "url": url }));
    }

    /// The element that `css` selects (waiting up to 20 s for it).
    pub fn find(&self, css: &str) -> String {
        wait_for(Duration::from_secs(20), css, || {
            let url = format!("{}/element", self.base);
            let mut response = self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(
                    json!({"using": "css selector", "value": css})
                        .to_string()
                        .as_str(),
                )
                .ok()?;
            if !response.status().is_success() {
                return None;
            }
            let answer: Value = response.body_mut().read_json().ok()?;
            answer["value"]
                .as_object()?
                .values()
                .next()?
                .as_str()
                .map(str::to_string)
        })
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.command("POST", &format!("/element/{element}/click"), json!({}));
    }

    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.command("GET", &format!("/element/{element}/text"), Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn is_selected(&self, css: &str) -> bool {
        let element = self.find(css);
        self.command("GET", &format!("/element/{element}/selected"), Value::Null)
            .as_bool()
            .unwrap_or(false)
    }

    /// The window as a PNG.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let png = self.command("GET", "/screenshot", Value::Null);
        base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 text"))
            .expect("a base64 PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.base).call();
    }
}
