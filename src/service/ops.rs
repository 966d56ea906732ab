//! What the desk tells operators and admins about itself: the facts behind `/healthz` and the
//! gauges of `/metrics`, the set-up checklist of a guild (`/setup show`, the start-up log), the
//! full settings, and which commands a member may use (`/help`).
//!
//! Reads only, outside the writer, except where an interaction id must be claimed.

use std::time::Duration;

use super::{Call, Desk, Result};
use crate::domain::access::{self, Act, Who};
use crate::domain::change::ChangeType;
pub use crate::domain::setup::{Checklist, Flow, SetupFacts, Step};
use crate::domain::{Priority, TicketKind};
use crate::render::SettingsView;
use crate::store::{self, SettingsRow};
use crate::telemetry::KindLabels;

/// How long the database may take to answer a health probe.
pub const HEALTH_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The facts `/healthz` judges.
#[derive(Debug, Clone)]
pub struct Health {
    /// The database answered (or why not).
    pub database: std::result::Result<(), String>,
    /// The gateway session is connected.
    pub gateway: bool,
    /// Messages not yet delivered.
    pub outbox_pending: i64,
    /// How long the oldest undelivered message has waited.
    pub outbox_oldest: Option<Duration>,
}

/// Who a command is for, as `/help` filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpAudience {
    /// Every member.
    Anyone,
    /// Agents (and admins).
    Agents,
    /// Agents and whoever is on call.
    Responders,
    /// Incident managers (and admins).
    IncidentManagers,
    /// CAB members.
    Cab,
    /// Change managers (and admins).
    ChangeManagers,
    /// Agents, incident and change managers, admins: `/report`.
    Managers,
    /// Admins (Manage Server).
    Admins,
}

/// The audiences one member belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Audiences {
    who: Who,
    cab: bool,
}

impl Audiences {
    /// Whether a command for `audience` is this member's to use.
    pub fn includes(&self, audience: HelpAudience) -> bool {
        let may = |act| access::may(self.who, act);
        match audience {
            HelpAudience::Anyone => true,
            HelpAudience::Agents => may(Act::Queue),
            HelpAudience::Responders => may(Act::Work(TicketKind::Incident)),
            HelpAudience::IncidentManagers => may(Act::EditOnCall),
            HelpAudience::Cab => self.cab,
            HelpAudience::ChangeManagers => may(Act::SetBlackout),
            HelpAudience::Managers => may(Act::Report),
            HelpAudience::Admins => may(Act::Configure),
        }
    }
}

/// The checklist's facts from a guild's settings and counts.
fn facts(s: &SettingsRow, catalog_items: usize, level1_people: usize) -> SetupFacts {
    SetupFacts {
        triage_channel: s.triage_channel_id.is_some(),
        incidents_channel: s.incidents_channel_id.is_some(),
        cab_channel: s.cab_channel_id.is_some(),
        agent_role: s.agent_role_id.is_some(),
        cab_role: s.cab_role_id.is_some(),
        catalog_items,
        level1_people,
    }
}

impl Desk {
    /// The facts for `/healthz`. Never fails: a database that does not answer is a fact too.
    pub async fn health(&self) -> Health {
        let probe = async {
            let mut conn = self.pool.acquire().await?;
            store::outbox_backlog(&mut conn).await
        };
        let (database, backlog) = match tokio::time::timeout(HEALTH_PROBE_TIMEOUT, probe).await {
            Ok(Ok(b)) => (Ok(()), Some(b)),
            Ok(Err(e)) => (Err(e.to_string()), None),
            Err(_) => (Err(format!("no answer within {HEALTH_PROBE_TIMEOUT:?}")), None),
        };
        let now = self.now_ms();
        let (pending, oldest) = backlog.unwrap_or((0, None));
        Health {
            database,
            gateway: self.metrics.gateway_connected(),
            outbox_pending: pending,
            outbox_oldest: oldest.map(|at| Duration::from_millis(u64::try_from(now - at).unwrap_or(0))),
        }
    }

    /// Sets the gauges that are read from the database (outbox backlog, open tickets) just
    /// before `/metrics` is encoded.
    pub async fn refresh_gauges(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        let (pending, oldest) = store::outbox_backlog(&mut conn).await?;
        let open = store::count_open_tickets(&mut conn).await?;
        drop(conn);
        let now = self.now_ms();
        self.metrics.outbox_pending.set(pending);
        #[expect(clippy::cast_precision_loss, reason = "milliseconds of an outbox backlog fit in f64")]
        self.metrics
            .outbox_oldest_due
            .set(oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0));
        for kind in TicketKind::ALL {
            let n = open.iter().find(|(k, _)| k == kind.as_str()).map_or(0, |(_, n)| *n);
            self.metrics
                .open_tickets
                .get_or_create(&KindLabels {
                    kind: kind.as_str().to_owned(),
                })
                .set(n);
        }
        Ok(())
    }

    /// A guild's set-up checklist (for the start-up log).
    pub async fn checklist(&self, guild_id: i64) -> Result<Checklist> {
        let mut conn = self.pool.acquire().await?;
        let settings = store::get_settings(&mut conn, guild_id).await?;
        let catalog = store::search_catalog(&mut conn, guild_id, "", 1).await?.len();
        let level1 = store::list_guild_oncall_members(&mut conn, guild_id)
            .await?
            .iter()
            .filter(|(level, _)| *level == 1)
            .count();
        Ok(Checklist::of(&facts(&settings, catalog, level1)))
    }

    /// Everything `/setup show` lists (admins). Runs as a write turn so the interaction is
    /// claimed and the effective policies are read with the same code that applies them.
    pub async fn settings_view(&self, call: &Call) -> Result<SettingsView> {
        let mut w = self.begin(call).await?;
        super::setup::require_admin(w.standing)?;
        let catalog: Vec<String> = store::search_catalog(conn!(w), w.guild_id, "", 100)
            .await?
            .into_iter()
            .map(|i| i.name)
            .collect();
        let holidays = store::list_holidays(conn!(w), w.guild_id).await?;
        let mut sla = Vec::new();
        for kind in [TicketKind::Incident, TicketKind::Request] {
            for p in Priority::ALL {
                let custom = store::get_sla_target(conn!(w), w.guild_id, kind.as_str(), i64::from(p.number()))
                    .await?
                    .is_some();
                sla.push((kind, p, w.targets(kind, p).await?, custom));
            }
        }
        let mut escalation = Vec::new();
        for p in Priority::ALL {
            let custom = store::get_escalation(conn!(w), w.guild_id, i64::from(p.number()))
                .await?
                .is_some();
            escalation.push((p, w.policy(p).await?, custom));
        }
        let mut cab = Vec::new();
        for t in [ChangeType::Normal, ChangeType::Emergency] {
            let custom = store::get_cab_rule(conn!(w), w.guild_id, t.as_str()).await?.is_some();
            cab.push((t, w.cab_rule(t).await?, custom));
        }
        let level1 = store::list_guild_oncall_members(conn!(w), w.guild_id)
            .await?
            .iter()
            .filter(|(level, _)| *level == 1)
            .count();
        let checklist = Checklist::of(&facts(&w.config.settings, catalog.len(), level1));
        let failing = store::list_failing_channels(conn!(w), w.guild_id).await?;
        let settings = w.config.settings.clone();
        self.finish(w).await?;
        Ok(SettingsView {
            settings,
            catalog,
            holidays,
            sla,
            escalation,
            cab,
            checklist,
            failing,
        })
    }

    /// The audiences the actor belongs to (for `/help`).
    pub async fn audiences(&self, call: &Call) -> Result<Audiences> {
        let mut w = self.begin(call).await?;
        let has = |role: Option<i64>| role.is_some_and(|r| call.actor.roles.contains(&r));
        let audiences = Audiences {
            who: w.who().await?,
            cab: has(w.config.settings.cab_role_id),
        };
        self.finish(w).await?;
        Ok(audiences)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_call_people_are_responders_but_not_agents() {
        let member = crate::service::Standing {
            is_agent: false,
            is_admin: false,
            is_incident_manager: false,
            is_change_manager: false,
        };
        let a = Audiences {
            who: member.who(true),
            cab: false,
        };
        assert!(a.includes(HelpAudience::Responders));
        assert!(!a.includes(HelpAudience::Agents));
        assert!(!a.includes(HelpAudience::Admins));
        assert!(a.includes(HelpAudience::Anyone));
    }
}
