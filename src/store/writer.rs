//! Group commit: use-cases share one write transaction, each inside its own savepoint, and the
//! transaction commits when nobody is queued behind it (or the batch is big or old enough).
//!
//! With `synchronous=FULL` every commit is an fsync; committing per use-case capped the desk at
//! a few hundred writes a second. Under light load a batch holds one use-case and commits at
//! once, as before; under load one fsync serves many. A use-case's caller hears the outcome of the
//! commit that contains its work, so "a success reply means the change is committed" holds.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

use crate::telemetry::Metrics;

/// Releases a turn's savepoint: the end of a use-case's last query before
/// [`Turn::finish_released`].
pub const RELEASE: &str = "RELEASE SAVEPOINT turn";

/// A turn's savepoint and its interaction claim, one query.
static SAVEPOINT_AND_CLAIM: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SAVEPOINT turn;\n{}", super::CLAIM_SQL));

/// Most use-cases in one commit.
pub const MAX_BATCH: usize = 64;
/// Oldest a batch may get before it commits even with work queued behind it.
pub const MAX_BATCH_AGE: Duration = Duration::from_millis(20);

type Outcome = Option<Result<(), String>>;

struct Batch {
    tx: Option<Transaction<'static, Sqlite>>,
    members: usize,
    opened: Option<Instant>,
    done: watch::Sender<Outcome>,
    /// A use-case left without finishing: its savepoint must be rolled back first.
    dirty: bool,
    metrics: Arc<Metrics>,
}

/// The shared writer.
#[derive(Clone)]
pub struct Writer {
    pool: SqlitePool,
    slot: Arc<Mutex<Batch>>,
    queued: Arc<AtomicUsize>,
}

/// One use-case's turn at the shared transaction: derefs to the connection.
pub struct Turn {
    guard: Option<OwnedMutexGuard<Batch>>,
    writer: Writer,
}

impl Writer {
    /// A writer over `pool` that counts into a registry of its own.
    pub fn new(pool: SqlitePool) -> Writer {
        Writer::with_metrics(pool, Arc::default())
    }

    /// A writer over `pool` that counts its commits and batch sizes in `metrics`.
    pub fn with_metrics(pool: SqlitePool, metrics: Arc<Metrics>) -> Writer {
        let (done, _) = watch::channel(None);
        Writer {
            pool,
            slot: Arc::new(Mutex::new(Batch {
                tx: None,
                members: 0,
                opened: None,
                done,
                dirty: false,
                metrics,
            })),
            queued: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Waits for a turn: the shared transaction (opened if needed) with a fresh savepoint.
    pub async fn turn(&self) -> Result<Turn, sqlx::Error> {
        Ok(self.open(None).await?.0)
    }

    /// A turn whose first statement claims an interaction id, in the same round trip to SQLite
    /// as its savepoint; `false` if the id was claimed before (a re-delivery).
    pub async fn turn_claiming(&self, claim: &super::Claim) -> Result<(Turn, bool), sqlx::Error> {
        self.open(Some(claim)).await
    }

    async fn open(&self, claim: Option<&super::Claim>) -> Result<(Turn, bool), sqlx::Error> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.slot.clone().lock_owned().await;
        let prepared = async {
            clean(&mut guard).await?;
            if guard.tx.is_none() {
                guard.tx = Some(self.pool.begin_with("BEGIN IMMEDIATE").await?);
                guard.opened = Some(Instant::now());
                guard.members = 0;
                guard.done = watch::channel(None).0;
            }
            let tx = guard.tx.as_mut().expect("open transaction");
            let fresh = match claim {
                None => {
                    sqlx::query("SAVEPOINT turn").execute(&mut **tx).await?;
                    true
                }
                Some(c) => super::claim_with(tx, &SAVEPOINT_AND_CLAIM, c).await?,
            };
            guard.dirty = true;
            Ok::<bool, sqlx::Error>(fresh)
        }
        .await;
        if let Err(e) = prepared {
            // The shared transaction is unusable: end it; whoever waits on it hears the failure.
            if let Some(tx) = guard.tx.take() {
                let _ = tx.rollback().await;
                let _ = guard.done.send(Some(Err(e.to_string())));
            }
            guard.dirty = false;
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(e);
        }
        let fresh = prepared.unwrap_or(true);
        let turn = Turn {
            guard: Some(guard),
            writer: self.clone(),
        };
        Ok((turn, fresh))
    }
}

/// Rolls back a savepoint a use-case left behind.
async fn clean(batch: &mut Batch) -> Result<(), sqlx::Error> {
    if batch.dirty {
        if let Some(tx) = batch.tx.as_mut() {
            sqlx::query("ROLLBACK TO SAVEPOINT turn").execute(&mut **tx).await?;
            sqlx::query("RELEASE SAVEPOINT turn").execute(&mut **tx).await?;
        }
        batch.dirty = false;
    }
    Ok(())
}

/// Commits the batch if it has members, and tells them how it went.
async fn commit(batch: &mut Batch) {
    let Some(tx) = batch.tx.take() else { return };
    let result = if batch.members > 0 {
        let result = tx.commit().await;
        if result.is_ok() {
            batch.metrics.commits.inc();
            #[expect(clippy::cast_precision_loss, reason = "a batch holds at most 64 use-cases")]
            batch.metrics.batch_size.observe(batch.members as f64);
        }
        result
    } else {
        tx.rollback().await
    };
    let _ = batch.done.send(Some(result.map_err(|e| e.to_string())));
    batch.members = 0;
    batch.opened = None;
}

impl Turn {
    /// Keeps this use-case's work: releases its savepoint, then commits the batch (if it is the
    /// last queued, or the batch is full or old) or waits for the commit that includes it.
    pub async fn finish(mut self) -> Result<(), sqlx::Error> {
        let mut guard = self.guard.take().expect("turn held");
        let tx = guard.tx.as_mut().expect("open transaction");
        let released = sqlx::query(RELEASE).execute(&mut **tx).await;
        if let Err(e) = released {
            self.guard = Some(guard);
            return Err(e); // Drop rolls the savepoint back
        }
        self.guard = Some(guard);
        self.finish_released().await
    }

    /// Like [`Turn::finish`], when the use-case's last query ended with [`RELEASE`] (and
    /// succeeded): one round trip fewer.
    pub async fn finish_released(mut self) -> Result<(), sqlx::Error> {
        let mut guard = self.guard.take().expect("turn held");
        guard.dirty = false;
        guard.members += 1;
        let mut rx = guard.done.subscribe();
        let alone = self.writer.queued.fetch_sub(1, Ordering::SeqCst) == 1;
        let full = guard.members >= MAX_BATCH || guard.opened.is_some_and(|t| t.elapsed() >= MAX_BATCH_AGE);
        if alone || full {
            commit(&mut guard).await;
        }
        drop(guard);
        let outcome = rx.wait_for(Option::is_some).await.map(|v| v.clone()).ok().flatten();
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(sqlx::Error::Protocol(format!("group commit failed: {e}"))),
            None => Err(sqlx::Error::Protocol("group commit abandoned".into())),
        }
    }
}

impl Deref for Turn {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.guard.as_ref().and_then(|g| g.tx.as_deref()).expect("turn held")
    }
}

impl DerefMut for Turn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.guard
            .as_mut()
            .and_then(|g| g.tx.as_deref_mut())
            .expect("turn held")
    }
}

impl Drop for Turn {
    /// A use-case that returns without `finish` (a refusal, an error): its savepoint is rolled
    /// back, and if nobody is queued the batch commits for those already waiting on it.
    fn drop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            let last = self.writer.queued.fetch_sub(1, Ordering::SeqCst) == 1;
            tokio::spawn(async move {
                if clean(&mut guard).await.is_err() {
                    // The transaction is unusable: give it up; its members hear the failure.
                    if let Some(tx) = guard.tx.take() {
                        let _ = tx.rollback().await;
                    }
                    let _ = guard.done.send(Some(Err("savepoint rollback failed".into())));
                    return;
                }
                if last {
                    commit(&mut guard).await;
                }
            });
        }
    }
}
