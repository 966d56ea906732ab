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
use tokio::sync::{oneshot, watch, Mutex, OwnedMutexGuard};

use super::{Claim, Effects, Ids};
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
    /// Use-cases waiting for the transaction or for their effects to be applied.
    queued: Arc<AtomicUsize>,
    /// Ticket ids, numbers and clock ids, loaded by the first transaction.
    ids: Arc<Ids>,
    /// Use-cases handed over as data ([`Writer::apply`]), not yet written.
    pending: Arc<std::sync::Mutex<Vec<Job>>>,
}

/// A use-case handed to the writer as data: its interaction claim and its effects.
struct Job {
    claim: Option<Claim>,
    effects: Effects,
    reply: oneshot::Sender<Written>,
}

/// What the writer did with a [`Job`]: written into the open batch (the receiver hears its
/// commit), found to be a re-delivery (its note is in the batch), or failed.
enum Written {
    Applied(watch::Receiver<Outcome>),
    Redelivered(watch::Receiver<Outcome>),
    Failed(sqlx::Error),
}

/// What became of a use-case's effects handed over with [`Writer::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Committed.
    Committed,
    /// The interaction was claimed before (a re-delivery): nothing of it was written but the
    /// re-delivery's count.
    Redelivered,
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
            ids: Arc::default(),
            pending: Arc::default(),
        }
    }

    /// The ticket and clock counters (ready after the first transaction).
    pub fn ids(&self) -> &Ids {
        &self.ids
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
            self.ids.load(tx).await?;
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

impl Writer {
    /// Applies a use-case's effects, given as data, with the claim of its interaction: written
    /// with those of every other use-case waiting, one statement per table for all of them, in
    /// the shared transaction; returns when the commit that holds them is durable. The counters
    /// ([`Writer::ids`]) must be ready: the ids in `effects` come from them.
    pub async fn apply(&self, claim: Option<Claim>, effects: Effects) -> Result<Applied, sqlx::Error> {
        let (reply, mut written) = oneshot::channel();
        self.queued.fetch_add(1, Ordering::SeqCst);
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Job { claim, effects, reply });
        let mut pending = Unserved(Some(self.clone()));
        let written = loop {
            tokio::select! {
                biased;
                w = &mut written => break w,
                guard = self.slot.clone().lock_owned() => {
                    // In a task of its own: if this use-case is dropped meanwhile, the jobs it
                    // took (other use-cases') are still written, counted and answered.
                    let writer = self.clone();
                    let _ = tokio::spawn(async move { writer.run_pending(guard).await }).await;
                }
            }
        };
        pending.0 = None;
        let (mut done, redelivered) = match written {
            Ok(Written::Applied(rx)) => (rx, false),
            Ok(Written::Redelivered(rx)) => (rx, true),
            Ok(Written::Failed(e)) => return Err(e),
            Err(_) => return Err(sqlx::Error::Protocol("the writer dropped a use-case".into())),
        };
        let outcome = done.wait_for(Option::is_some).await.map(|v| v.clone()).ok().flatten();
        match outcome {
            Some(Ok(())) if redelivered => Ok(Applied::Redelivered),
            Some(Ok(())) => Ok(Applied::Committed),
            Some(Err(e)) => Err(sqlx::Error::Protocol(format!("group commit failed: {e}"))),
            None => Err(sqlx::Error::Protocol("group commit abandoned".into())),
        }
    }

    /// Writes every pending job into the shared transaction, [`MAX_BATCH`] at a time, and
    /// commits as [`Turn::finish_released`] would.
    async fn run_pending(&self, mut guard: OwnedMutexGuard<Batch>) {
        loop {
            let jobs: Vec<Job> = {
                let mut pending = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let n = pending.len().min(MAX_BATCH);
                pending.drain(..n).collect()
            };
            if jobs.is_empty() {
                return;
            }
            let n = jobs.len();
            write_jobs(&self.pool, &mut guard, jobs).await;
            let left = self.queued.fetch_sub(n, Ordering::SeqCst) - n;
            let full = guard.members >= MAX_BATCH || guard.opened.is_some_and(|t| t.elapsed() >= MAX_BATCH_AGE);
            if left == 0 || full {
                commit(&mut guard).await;
            }
        }
    }
}

/// A use-case whose [`Writer::apply`] was dropped before its job was written: whoever holds the
/// writer next writes it, but if nobody comes its job (and the batch's commit) would wait
/// forever, so the drop takes a turn to write it.
struct Unserved(Option<Writer>);

impl Drop for Unserved {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            tokio::spawn(async move {
                let guard = writer.slot.clone().lock_owned().await;
                writer.run_pending(guard).await;
            });
        }
    }
}

/// Writes `jobs` into the batch: all in one query (claims, then one statement per table) when
/// that works; else one by one, each in its own savepoint, so a re-delivery or a failing job
/// leaves the others written. Tells each job how it went.
async fn write_jobs(pool: &SqlitePool, batch: &mut Batch, jobs: Vec<Job>) {
    let opened = async {
        clean(batch).await?;
        if batch.tx.is_none() {
            batch.tx = Some(pool.begin_with("BEGIN IMMEDIATE").await?);
            batch.opened = Some(Instant::now());
            batch.members = 0;
            batch.done = watch::channel(None).0;
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    if let Err(e) = opened {
        abandon(batch, &e);
        for job in jobs {
            let _ = job
                .reply
                .send(Written::Failed(sqlx::Error::Protocol(format!("writer: {e}"))));
        }
        return;
    }
    let tx = batch.tx.as_mut().expect("open transaction");
    let together = {
        let claims: Vec<&Claim> = jobs.iter().filter_map(|j| j.claim.as_ref()).collect();
        let effects: Vec<&Effects> = jobs.iter().map(|j| &j.effects).collect();
        super::write_together(tx, &claims, &effects).await
    };
    if together.is_ok() {
        batch.members += jobs.len();
        for job in jobs {
            let _ = job.reply.send(Written::Applied(batch.done.subscribe()));
        }
        return;
    }
    for job in jobs {
        let tx = batch.tx.as_mut().expect("open transaction");
        let result = super::write_alone(tx, job.claim.as_ref(), &job.effects).await;
        let written = match result {
            Ok(true) => Written::Applied(batch.done.subscribe()),
            Ok(false) => Written::Redelivered(batch.done.subscribe()),
            Err(e) => {
                let undone = sqlx::query("ROLLBACK TO SAVEPOINT turn; RELEASE SAVEPOINT turn")
                    .execute(&mut **tx)
                    .await;
                if let Err(u) = undone {
                    abandon(batch, &u);
                }
                Written::Failed(e)
            }
        };
        if !matches!(written, Written::Failed(_)) {
            batch.members += 1;
        }
        let _ = job.reply.send(written);
        if batch.tx.is_none() {
            // Abandoned above: the rest fail without touching it.
            return;
        }
    }
}

/// Gives up the batch's transaction after `e`: it is rolled back (when dropped) and whoever
/// waits on it hears the failure.
fn abandon(batch: &mut Batch, e: &sqlx::Error) {
    batch.tx = None;
    let _ = batch.done.send(Some(Err(e.to_string())));
    batch.members = 0;
    batch.opened = None;
    batch.dirty = false;
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
