//! Training sessions: one per page, each a thread that owns a Playground
//! [`Trainer`] and trains it epoch by epoch while the page says play, and
//! publishes what the page draws (a [`Snapshot`], as JSON) for the page's
//! event stream. Training never waits for the page: it replaces the
//! published snapshot, and a stream sends the latest one when it can.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nn::playground::Trainer;

use super::settings::Checked;
use super::snapshot::Snapshot;

/// What a page asks of its session.
pub enum Command {
    Play,
    Pause,
    /// Train one epoch, then pause.
    Step,
    /// Start again from the same settings (the same initial net).
    Reset,
    /// New settings: start again with them.
    Settings(Box<Checked>),
}

/// The latest snapshot and its number (0 before the first).
struct Published {
    version: u64,
    json: Arc<String>,
}

/// A page's training session.
pub struct Session {
    commands: Mutex<Sender<Command>>,
    published: Mutex<Published>,
    changed: Condvar,
    /// When the page last made a request or received an update.
    last_contact: Mutex<Instant>,
    /// Open event streams.
    pub streams: AtomicUsize,
    stopped: AtomicBool,
}

/// Locks `m`, also after a panic elsewhere while it was held (the data
/// behind these locks is replaced whole, never left half-written).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    /// Sends a command to the training thread; false if it has stopped.
    pub fn send(&self, command: Command) -> bool {
        self.touch();
        lock(&self.commands).send(command).is_ok()
    }

    /// Notes that the page is still there.
    pub fn touch(&self) {
        *lock(&self.last_contact) = Instant::now();
    }

    /// Stops training; waiting streams end.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.changed.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    fn publish(&self, json: String) {
        let mut p = lock(&self.published);
        p.version += 1;
        p.json = Arc::new(json);
        drop(p);
        self.changed.notify_all();
    }

    /// The first snapshot newer than `seen`, waiting up to `timeout` for
    /// it; `None` on timeout or when the session stops.
    pub fn next_after(&self, seen: u64, timeout: Duration) -> Option<(u64, Arc<String>)> {
        let deadline = Instant::now() + timeout;
        let mut p = lock(&self.published);
        while p.version <= seen && !self.is_stopped() {
            let left = deadline.checked_duration_since(Instant::now())?;
            p = self
                .changed
                .wait_timeout(p, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        if self.is_stopped() {
            return None;
        }
        Some((p.version, p.json.clone()))
    }

    fn idle_for(&self) -> Duration {
        lock(&self.last_contact).elapsed()
    }
}

/// All sessions of the server, at most `max` at once.
pub struct Registry {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    max: usize,
    next: AtomicU64,
}

/// Why a session could not be made.
pub enum Full {
    /// `max` sessions are open.
    TooMany(usize),
}

impl Registry {
    pub fn new(max: usize) -> Self {
        // ids need not be secret (the server listens on loopback), only
        // unique and not reused after a restart of the page
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Registry {
            sessions: Mutex::new(HashMap::new()),
            max,
            next: AtomicU64::new(start),
        }
    }

    /// Starts a session training `settings` on a thread of its own.
    pub fn open(&self, settings: Checked) -> Result<String, Full> {
        let mut sessions = lock(&self.sessions);
        if sessions.len() >= self.max {
            return Err(Full::TooMany(self.max));
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:016x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (tx, rx) = mpsc::channel();
        let session = Arc::new(Session {
            commands: Mutex::new(tx),
            published: Mutex::new(Published {
                version: 0,
                json: Arc::new(String::new()),
            }),
            changed: Condvar::new(),
            last_contact: Mutex::new(Instant::now()),
            streams: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
        });
        let for_thread = session.clone();
        std::thread::Builder::new()
            .name(format!("session {id}"))
            .spawn(move || train(&for_thread, &rx, settings))
            .expect("a thread for the session");
        sessions.insert(id.clone(), session);
        Ok(id)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(id).cloned()
    }

    /// Stops and forgets session `id`; false if there was none.
    pub fn close(&self, id: &str) -> bool {
        match lock(&self.sessions).remove(id) {
            Some(session) => {
                session.stop();
                true
            }
            None => false,
        }
    }

    /// Stops the sessions whose page went away: no open event stream and
    /// no request for `grace`.
    pub fn reap(&self, grace: Duration) {
        lock(&self.sessions).retain(|_, s| {
            let alive =
                !s.is_stopped() && (s.streams.load(Ordering::Acquire) > 0 || s.idle_for() < grace);
            if !alive {
                s.stop();
            }
            alive
        });
    }
}

/// How often a snapshot is published while training runs.
const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// The session's thread: trains while playing, paced to `speed` epochs a
/// second, answers commands between epochs, publishes snapshots.
fn train(session: &Session, commands: &Receiver<Command>, mut settings: Checked) {
    let mut trainer = start(&settings);
    let mut playing = false;
    let mut error: Option<String> = trainer.as_ref().err().cloned();
    let mut next_epoch = Instant::now();
    let mut published = Instant::now();
    let mut dirty = false;
    if let Ok(t) = &trainer {
        session.publish(Snapshot::of(t, playing, settings.speed, None).json());
    }
    while !session.is_stopped() {
        let wait = if playing && trainer.is_ok() {
            next_epoch.saturating_duration_since(Instant::now())
        } else {
            Duration::from_millis(250)
        };
        let mut first = match commands.recv_timeout(wait) {
            Ok(c) => Some(c),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut step = false;
        let mut forced = false;
        while let Some(command) = first.take().or_else(|| commands.try_recv().ok()) {
            forced = true;
            match command {
                Command::Play => {
                    playing = true;
                    next_epoch = Instant::now();
                }
                Command::Pause => playing = false,
                Command::Step => {
                    playing = false;
                    step = true;
                }
                Command::Reset => {
                    trainer = start(&settings);
                    error = trainer.as_ref().err().cloned();
                }
                Command::Settings(new) => {
                    settings = *new;
                    trainer = start(&settings);
                    error = trainer.as_ref().err().cloned();
                }
            }
        }
        if let Ok(t) = &mut trainer {
            if step || (playing && Instant::now() >= next_epoch) {
                match t.epoch() {
                    Ok(_) => dirty = true,
                    Err(e) => {
                        // a diverging net (NaN loss) stops; the page shows why
                        playing = false;
                        error = Some(e.to_string());
                        forced = true;
                    }
                }
                next_epoch = match settings.speed {
                    0 => Instant::now(),
                    s => {
                        next_epoch.max(Instant::now() - Duration::from_millis(100))
                            + Duration::from_secs(1) / s
                    }
                };
            }
            if forced || (dirty && published.elapsed() >= PUBLISH_EVERY) {
                session.publish(Snapshot::of(t, playing, settings.speed, error.as_deref()).json());
                published = Instant::now();
                dirty = false;
            }
        } else if forced {
            session.publish(Snapshot::failed(error.as_deref().unwrap_or("no network")).json());
        }
    }
}

/// A trainer for `settings`, or the reason there is none.
fn start(settings: &Checked) -> Result<Trainer, String> {
    Trainer::new(&settings.config).map_err(|e| e.to_string())
}
