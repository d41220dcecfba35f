//! Progress reporting from long-running work (build, push, register, rollout) to whatever the
//! caller renders: the binary draws indicatif bars on a terminal and plain lines otherwise;
//! tests record the events. This module owns the event vocabulary, never any rendering.

/// Receives progress events. Implementations must be cheap and must not block.
pub trait Reporter: Send + Sync {
    /// A step begins (`"push"`, `"register"`…); `total` is its size in bytes when known.
    fn step_started(&self, _step: &str, _message: &str, _total: Option<u64>) {}
    /// `n` more bytes of the current step are done.
    fn bytes_done(&self, _step: &str, _n: u64) {}
    /// A line of status that belongs to no bar (`"blob sha256:… already present"`).
    fn note(&self, _message: &str) {}
    /// A non-fatal problem the user should see.
    fn warn(&self, _message: &str) {}
    /// The step ended.
    fn step_done(&self, _step: &str, _message: &str) {}
}

/// A reporter that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {}

/// A reporter that records every event, for tests.
#[derive(Debug, Default)]
pub struct Recorder {
    /// The events so far, formatted as `kind step: message`.
    pub events: std::sync::Mutex<Vec<String>>,
}

impl Recorder {
    fn push(&self, s: String) {
        if let Ok(mut v) = self.events.lock() {
            v.push(s);
        }
    }
    /// A copy of the recorded events.
    pub fn take(&self) -> Vec<String> {
        self.events.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Reporter for Recorder {
    fn step_started(&self, step: &str, message: &str, _total: Option<u64>) {
        self.push(format!("start {step}: {message}"));
    }
    fn note(&self, message: &str) {
        self.push(format!("note: {message}"));
    }
    fn warn(&self, message: &str) {
        self.push(format!("warn: {message}"));
    }
    fn step_done(&self, step: &str, message: &str) {
        self.push(format!("done {step}: {message}"));
    }
}
