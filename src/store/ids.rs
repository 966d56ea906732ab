//! Ticket ids, ticket numbers and SLA clock ids, handed out in memory.
//!
//! The desk is the database's one writer, so it can number what it creates before SQLite sees
//! it: a new ticket's card, page and timers name its id and number in the same statement batch
//! that inserts it, and a use-case that only creates needs no round trip to learn them. The
//! counters are read once, in the writer's first transaction, from what is stored; a number
//! given to a use-case that then fails or is rolled back is not given again (numbers may skip,
//! never repeat). `ticket_counters` is still written with every ticket, so a restart (or another
//! build) continues where the last commit left off.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::SqliteConnection;

use crate::domain::TicketKind;

/// The next ids, once loaded.
#[derive(Debug)]
struct Next {
    ticket: i64,
    clock: i64,
    /// Last number given, per guild and kind.
    numbers: HashMap<(i64, TicketKind), i64>,
}

/// The writer's counters (see the module's documentation).
#[derive(Debug, Default)]
pub struct Ids {
    next: Mutex<Option<Next>>,
}

impl Ids {
    /// Whether the counters were loaded (by the writer's first transaction).
    pub fn ready(&self) -> bool {
        self.lock().is_some()
    }

    /// Loads the counters from what `conn` sees, unless they were loaded already. Call inside
    /// the writer's transaction, before any ticket or clock is created.
    pub async fn load(&self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        if self.ready() {
            return Ok(());
        }
        let ticket: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM tickets")
            .fetch_one(&mut *conn)
            .await?;
        let clock: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM sla_clocks")
            .fetch_one(&mut *conn)
            .await?;
        // The counters, as every ticket insert has kept them (reading the tickets' numbers
        // instead would scan an index of a million rows on a big desk's first write).
        let rows: Vec<(i64, String, i64)> = sqlx::query_as("SELECT guild_id, kind, last FROM ticket_counters")
            .fetch_all(&mut *conn)
            .await?;
        let mut numbers = HashMap::new();
        for (guild, kind, last) in rows {
            // Other counters share the table (knowledge articles' `kb`); they are not ours.
            if let Ok(kind) = TicketKind::try_from(kind) {
                numbers.insert((guild, kind), last);
            }
        }
        let mut next = self.lock();
        if next.is_none() {
            *next = Some(Next { ticket, clock, numbers });
        }
        Ok(())
    }

    /// A new ticket's row id and its number within its guild and kind; `None` before
    /// [`Ids::load`].
    pub fn ticket(&self, guild_id: i64, kind: TicketKind) -> Option<(i64, i64)> {
        let mut next = self.lock();
        let next = next.as_mut()?;
        next.ticket += 1;
        let number = next.numbers.entry((guild_id, kind)).or_insert(0);
        *number += 1;
        Some((next.ticket, *number))
    }

    /// A new SLA clock's row id; `None` before [`Ids::load`].
    pub fn clock(&self) -> Option<i64> {
        let mut next = self.lock();
        let next = next.as_mut()?;
        next.clock += 1;
        Some(next.clock)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Next>> {
        // The counters stay consistent even if a holder panicked: every change is one step.
        self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_handed_out_before_the_counters_are_loaded() {
        let ids = Ids::default();
        assert!(!ids.ready());
        assert_eq!(ids.ticket(1, TicketKind::Incident), None);
        assert_eq!(ids.clock(), None);
    }

    #[test]
    fn numbers_count_per_guild_and_kind_and_ids_across_all() {
        let ids = Ids::default();
        *ids.lock() = Some(Next {
            ticket: 10,
            clock: 3,
            numbers: HashMap::from([((1, TicketKind::Incident), 4)]),
        });
        assert_eq!(ids.ticket(1, TicketKind::Incident), Some((11, 5)));
        assert_eq!(ids.ticket(1, TicketKind::Request), Some((12, 1)));
        assert_eq!(ids.ticket(2, TicketKind::Incident), Some((13, 1)));
        assert_eq!(ids.ticket(1, TicketKind::Incident), Some((14, 6)));
        assert_eq!((ids.clock(), ids.clock()), (Some(4), Some(5)));
    }
}
