//! Where "now" comes from. Production uses the system clock; tests step a manual one.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

/// A source of the current time, injected everywhere time matters.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Notified when the clock jumps (a manual clock in tests); the real clock never does.
    fn jumps(&self) -> Option<Arc<Notify>> {
        None
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, benchmarks). Moving it wakes the scheduler.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    jumped: Arc<Notify>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
            jumped: Arc::new(Notify::new()),
        }
    }

    /// Moves the clock forward, and wakes whoever waits on [`Clock::jumps`].
    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += by;
        self.jumped.notify_one();
    }

    /// Sets the clock, and wakes whoever waits on [`Clock::jumps`].
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = to;
        self.jumped.notify_one();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn jumps(&self) -> Option<Arc<Notify>> {
        Some(self.jumped.clone())
    }
}

/// Unix milliseconds, the form times are stored in.
pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Back from stored unix milliseconds.
pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
