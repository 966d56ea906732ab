//! `/report days`: the desk's figures over the last 7, 30 or 90 days, with a chart.
//!
//! Read-only: after the interaction is claimed (so a re-delivery is not answered twice) it
//! reads through the pool, not the writer, so a 90-day report of a large desk never holds up
//! anyone's commands.

use serde_json::Value;

use super::{Call, Desk, Result};
use crate::chart::{self, Series};
use crate::clock::to_millis;
use crate::domain::access::{self, Act};
use crate::domain::report::{histogram, Period, ReportError, PERIODS};
use crate::render;
use crate::render::refusals::SetupError;
use crate::store;

/// A report: the reply's data (an embed referring to the chart) and the chart as PNG.
#[derive(Debug, Clone)]
pub struct Report {
    /// The interaction reply's data.
    pub message: Value,
    /// The chart, attached as [`render::REPORT_FILE`].
    pub chart: Vec<u8>,
}

impl Desk {
    /// `/report days:<7|30|90>`, for agents, incident managers, change managers and admins.
    pub async fn report(&self, call: &Call, days: i64) -> Result<Report> {
        let days = u32::try_from(days)
            .ok()
            .filter(|d| PERIODS.contains(d))
            .ok_or(ReportError::Period)?;
        let (settings, standing) = self.begin_read(call).await?;
        if !access::may(standing.who(false), Act::Report) {
            return Err(SetupError::ReportsNotAllowed.into());
        }
        let tz = settings.timezone.parse().unwrap_or(chrono_tz::Tz::UTC);
        let period = Period::ending(self.clock.now(), days, tz)?;
        let (guild, from, to) = (call.actor.guild_id, to_millis(period.from), to_millis(period.to));
        let mut conn = self.pool.acquire().await?;
        let requests = store::kind_figures(&mut conn, guild, "request", from, to).await?;
        let incidents = store::kind_figures(&mut conn, guild, "incident", from, to).await?;
        let changes = store::list_change_closings(&mut conn, guild, from, to).await?;
        let outage = store::outage_figures(&mut conn, guild, from, to).await?;
        let buckets = period.buckets();
        let opened = store::count_by_quarter(&mut conn, guild, store::Counted::Opened, from, to).await?;
        let resolved = store::count_by_quarter(&mut conn, guild, store::Counted::Resolved, from, to).await?;
        let (opened, resolved) = (histogram(&opened, &buckets), histogram(&resolved, &buckets));
        drop(conn);
        let labels: Vec<String> = buckets.iter().map(|b| b.day.format("%m-%d").to_string()).collect();
        let title = if period.bucket_days() == 1 {
            "OPENED AND RESOLVED PER DAY"
        } else {
            "OPENED AND RESOLVED PER WEEK"
        };
        let chart = chart::bar_chart(
            title,
            &labels,
            &[
                Series {
                    label: "OPENED",
                    color: chart::BLURPLE,
                    values: &opened,
                },
                Series {
                    label: "RESOLVED",
                    color: chart::GREEN,
                    values: &resolved,
                },
            ],
        );
        let message = render::report(&period, &requests, &incidents, &changes, outage);
        Ok(Report { message, chart })
    }
}
