//! Problem management: `/problem new|link|unlink|rca|workaround|known-error|resolve|show|list`.
//!
//! A problem is a ticket (`PRB-n`), so `/ticket show|comment|assign|history` work on it too. Its
//! lifecycle is the domain's: *new* → *investigating* (claimed or assigned) → *known-error* (a
//! cause and a workaround are recorded) → *resolved* (a fix) → *closed*; *cancelled* from any
//! open state. Resolving it asks whether to resolve its linked open incidents too, and never
//! touches a closed or cancelled one.

use serde_json::Value;

use super::{Call, Desk, Result, Work};
use crate::domain::access::{self, Act};
use crate::domain::knowledge::{KbRef, REVIEW_DAYS};
use crate::domain::text::{self, MAX_DETAILS_CHARS, MAX_SUMMARY_CHARS};
use crate::domain::{Action, Priority, Stage, TicketKind, TicketRef, TicketState};
use crate::render::refusals::ProblemError;
use crate::render::{self, ticket_ref, Pings, ProblemButton};
use crate::store::{self, ArticleText, NewTicket, TicketRow};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Incidents of one service that make it a recurrence.
pub const RECURRENCE_COUNT: usize = 3;
/// The window they fall in.
pub const RECURRENCE_WINDOW_MS: i64 = 7 * DAY_MS;
/// Longest service name.
const MAX_SERVICE_CHARS: usize = 80;

impl Work {
    fn need_problem_manager(&self) -> Result<()> {
        if access::may(self.standing.who(false), Act::WorkProblems) {
            Ok(())
        } else {
            Err(ProblemError::ManagersOnly.into())
        }
    }

    async fn problem(&mut self, id: &str) -> Result<TicketRow> {
        let r = TicketRef::parse_as(id, TicketKind::Problem)?;
        self.ticket_in_guild(TicketKind::Problem, r).await
    }

    async fn ticket_in_guild(&mut self, kind: TicketKind, r: TicketRef) -> Result<TicketRow> {
        store::find_ticket(conn!(self), self.guild_id, kind.as_str(), i64::from(r.number))
            .await?
            .ok_or_else(|| ProblemError::NotInServer(r).into())
    }

    /// Resolves an incident because its problem's fix is in (only an open one).
    async fn settle_incident(&mut self, mut inc: TicketRow, problem: TicketRef, fix: &str) -> Result<bool> {
        if !inc.state.is_open() {
            return Ok(false);
        }
        let before = inc.clone();
        let note = render::fixed_by(problem, fix);
        self.change_state(&mut inc, Action::Resolve, Some(note.clone())).await?;
        inc.hold_reason = None;
        inc.resolution_note = Some(note.clone());
        inc.resolved_at = Some(self.now);
        let reporter = inc.requester_id;
        let text = render::incident_fixed_dm(ticket_ref(&inc), &inc.title, &note);
        self.dm(&inc, reporter, &text).await?;
        self.save(&before, &mut inc).await?;
        Ok(true)
    }
}

impl Desk {
    async fn begin_problems(&self, call: &Call) -> Result<Work> {
        let w = self.begin(call).await?;
        w.need_problem_manager()?;
        Ok(w)
    }

    /// `/problem new title [details] [service]`.
    pub async fn problem_new(
        &self,
        call: &Call,
        title: &str,
        details: Option<&str>,
        service: Option<&str>,
    ) -> Result<String> {
        let title = text::required("title", title, MAX_SUMMARY_CHARS)?;
        let details = text::optional("details", details, MAX_DETAILS_CHARS)?;
        let service = text::optional("service", service, MAX_SERVICE_CHARS)?;
        let mut w = self.begin_problems(call).await?;
        let t = w.open_problem(&title, details.as_deref(), service.as_deref()).await?;
        self.finish(w).await?;
        Ok(render::problem_opened(ticket_ref(&t)))
    }

    /// `/problem link id incident` (or unlink): an incident belongs to at most one problem.
    pub async fn problem_link(&self, call: &Call, id: &str, incident: &str, link: bool) -> Result<String> {
        let inc_ref = TicketRef::parse_as(incident, TicketKind::Incident)?;
        let mut w = self.begin_problems(call).await?;
        let p = w.problem(id).await?;
        let inc = w.ticket_in_guild(TicketKind::Incident, inc_ref).await?;
        let (pid, iid) = (ticket_ref(&p), ticket_ref(&inc));
        if link {
            if p.state.is_final() {
                return Err(ProblemError::Closed(pid, p.state).into());
            }
            match inc.problem_id {
                Some(other) if other == p.id => return Err(ProblemError::AlreadyLinked(iid, pid).into()),
                Some(other) => {
                    let other = store::get_ticket(conn!(w), other).await?;
                    return Err(ProblemError::OtherProblem(iid, ticket_ref(&other)).into());
                }
                None => {}
            }
            store::set_incident_problem(conn!(w), inc.id, Some(p.id)).await?;
        } else {
            if inc.problem_id != Some(p.id) {
                return Err(ProblemError::NotLinked(iid, pid).into());
            }
            store::set_incident_problem(conn!(w), inc.id, None).await?;
        }
        let action = if link { "problem-link" } else { "problem-unlink" };
        w.audit(Some(p.id), action, None, Some(iid.to_string()), None).await?;
        w.audit(Some(inc.id), action, None, Some(pid.to_string()), None).await?;
        self.finish(w).await?;
        Ok(render::problem_linked(pid, iid, link))
    }

    /// `/problem rca id cause`.
    pub async fn problem_rca(&self, call: &Call, id: &str, cause: &str) -> Result<String> {
        let cause = text::required("cause", cause, MAX_DETAILS_CHARS)?;
        let mut w = self.begin_problems(call).await?;
        let p = w.problem(id).await?;
        let pid = ticket_ref(&p);
        if !p.state.is_open() {
            return Err(ProblemError::Settled(pid, p.state).into());
        }
        store::set_problem_findings(conn!(w), p.id, Some(&cause), None, None).await?;
        w.audit(Some(p.id), "rca", p.cause.clone(), Some(cause), None).await?;
        self.finish(w).await?;
        Ok(render::rca_recorded(pid))
    }

    /// `/problem workaround id text`: recorded, and posted on every linked open incident's
    /// timeline, telling each incident's assignee and reporter.
    pub async fn problem_workaround(&self, call: &Call, id: &str, workaround: &str) -> Result<String> {
        let workaround = text::required("workaround", workaround, MAX_DETAILS_CHARS)?;
        let mut w = self.begin_problems(call).await?;
        let p = w.problem(id).await?;
        let pid = ticket_ref(&p);
        if !p.state.is_open() {
            return Err(ProblemError::Settled(pid, p.state).into());
        }
        store::set_problem_findings(conn!(w), p.id, None, Some(&workaround), None).await?;
        w.audit(
            Some(p.id),
            "workaround",
            p.workaround.clone(),
            Some(workaround.clone()),
            None,
        )
        .await?;
        let mut told = 0;
        for inc in store::list_problem_incidents(conn!(w), p.id).await? {
            if !inc.state.is_open() {
                continue;
            }
            let note = render::workaround_note(pid, &workaround);
            store::insert_comment(conn!(w), w.guild_id, inc.id, w.user_id, &note, true, w.now).await?;
            w.audit(Some(inc.id), "workaround", None, None, Some(note.clone()))
                .await?;
            let text = render::workaround_dm(ticket_ref(&inc), &inc.title, pid, &workaround);
            let mut people = vec![inc.requester_id];
            people.extend(inc.assignee_id.filter(|a| *a != inc.requester_id));
            for person in people {
                w.dm(&inc, person, &text).await?;
            }
            told += 1;
        }
        self.finish(w).await?;
        Ok(render::workaround_done(pid, told))
    }

    /// `/problem known-error id`: needs a cause and a workaround; publishes a known-error article.
    pub async fn problem_known_error(&self, call: &Call, id: &str) -> Result<String> {
        let mut w = self.begin_problems(call).await?;
        let mut p = w.problem(id).await?;
        let pid = ticket_ref(&p);
        let (Some(cause), Some(workaround)) = (p.cause.clone(), p.workaround.clone()) else {
            return Err(ProblemError::KnownErrorNeeds(pid).into());
        };
        let before = p.clone();
        w.change_state(&mut p, Action::KnownError, None).await?;
        let body = render::known_error_body(pid, &cause, &workaround);
        let title = render::known_error_title(&p.title);
        let text = ArticleText {
            title: &title,
            symptoms: p.details.as_deref().unwrap_or_default(),
            body: &body,
            tags: "known-error",
        };
        let review_by = w.now + REVIEW_DAYS * DAY_MS;
        w.configuring(); // the guild has a published article now
        let a = store::insert_article(conn!(w), w.guild_id, &text, w.user_id, w.now, review_by).await?;
        store::set_article_problem(conn!(w), a.id, p.id).await?;
        let kb = KbRef(u32::try_from(a.number).unwrap_or(0));
        w.audit(Some(p.id), "known-error-article", None, Some(kb.to_string()), None)
            .await?;
        w.save(&before, &mut p).await?;
        self.finish(w).await?;
        Ok(render::known_error_done(pid, kb))
    }

    /// `/problem resolve id fix`: resolved; its linked open incidents are listed with a question.
    pub async fn problem_resolve(&self, call: &Call, id: &str, fix: &str) -> Result<Value> {
        let fix = text::required("fix", fix, MAX_DETAILS_CHARS)?;
        let mut w = self.begin_problems(call).await?;
        let mut p = w.problem(id).await?;
        let pid = ticket_ref(&p);
        let before = p.clone();
        w.change_state(&mut p, Action::Resolve, Some(fix.clone())).await?;
        store::set_problem_findings(conn!(w), p.id, None, None, Some(&fix)).await?;
        p.fix = Some(fix.clone());
        p.resolution_note = Some(fix.clone());
        p.resolved_at = Some(w.now);
        w.save(&before, &mut p).await?;
        let open: Vec<TicketRow> = store::list_problem_incidents(conn!(w), p.id)
            .await?
            .into_iter()
            .filter(|t| t.state.is_open())
            .collect();
        self.finish(w).await?;
        Ok(render::problem_resolved(pid, &open))
    }

    /// The buttons of `/problem resolve`: resolve the linked open incidents too, or leave them.
    pub async fn problem_settle(&self, call: &Call, button: ProblemButton) -> Result<String> {
        let mut w = self.begin_problems(call).await?;
        let p = w.problem(&button.problem.to_string()).await?;
        let pid = ticket_ref(&p);
        if !button.settle {
            self.finish(w).await?;
            return Ok(render::left_open(pid));
        }
        let fix = p.fix.clone().unwrap_or_default();
        let mut resolved = 0;
        for inc in store::list_problem_incidents(conn!(w), p.id).await? {
            if w.settle_incident(inc, pid, &fix).await? {
                resolved += 1;
            }
        }
        w.audit(Some(p.id), "problem-settle", None, Some(resolved.to_string()), None)
            .await?;
        self.finish(w).await?;
        Ok(render::settled(pid, resolved))
    }

    /// `/problem list [state]`.
    pub async fn problem_list(&self, call: &Call, state: Option<&str>) -> Result<Value> {
        let mut w = self.begin_problems(call).await?;
        let rows = store::list_problems(conn!(w), w.guild_id, state).await?;
        self.finish(w).await?;
        Ok(render::problem_list(&rows, self.now_ms()))
    }

    /// The fields `/ticket show` adds for a problem (findings, linked incidents) or for an
    /// incident that belongs to one.
    pub(super) async fn problem_fields(&self, conn: &mut sqlx::SqliteConnection, t: &TicketRow) -> Result<Vec<Value>> {
        if t.kind == TicketKind::Problem {
            let incidents = store::list_problem_incidents(conn, t.id).await?;
            return Ok(render::problem_fields(t, &incidents));
        }
        match t.problem_id {
            Some(p) => {
                let p = store::get_ticket(conn, p).await?;
                Ok(vec![render::problem_field(ticket_ref(&p), &p.title)])
            }
            None => Ok(Vec::new()),
        }
    }
}

impl Work {
    /// Opens a problem: stored and audited, its card in the incidents channel.
    async fn open_problem(&mut self, title: &str, details: Option<&str>, service: Option<&str>) -> Result<TicketRow> {
        let t = self
            .create_ticket(
                &NewTicket {
                    guild_id: self.guild_id,
                    kind: TicketKind::Problem,
                    title,
                    details,
                    catalog_item: None,
                    service,
                    state: Stage::Ticket(TicketState::initial(TicketKind::Problem)),
                    priority: Priority::P3,
                    impact: None,
                    urgency: None,
                    requester_id: self.user_id,
                    at: self.now,
                    card_channel_id: self.config.settings.incidents_channel_id,
                },
                vec![],
            )
            .await?
            .0;
        self.audit(
            Some(t.id),
            "created",
            None,
            Some(t.state.to_string()),
            Some(title.to_owned()),
        )
        .await?;
        if let Some(channel) = t.card_channel_id {
            self.post(channel, &t, &render::ticket_card(&t, &Pings::none(), &[]), true)
                .await?;
        }
        Ok(t)
    }

    /// After an incident of a service opens: when the service has had
    /// [`RECURRENCE_COUNT`] or more incidents in [`RECURRENCE_WINDOW_MS`], none linked to a
    /// problem, the incident managers are told — once per service and window — with a
    /// **Create problem** button.
    pub(super) async fn check_recurrence(&mut self, t: &TicketRow) -> Result<()> {
        // The service, or (an alert that names none) the alert's name.
        let Some(service) = t
            .service
            .as_deref()
            .or(t.alert_name.as_deref())
            .filter(|s| !s.trim().is_empty())
        else {
            return Ok(());
        };
        let since = self.now - RECURRENCE_WINDOW_MS;
        let recent = store::unlinked_incidents_of_service(conn!(self), self.guild_id, service, since).await?;
        if recent.len() < RECURRENCE_COUNT {
            return Ok(());
        }
        let ids: Vec<String> = recent.iter().map(|i| i.id.to_string()).collect();
        let Some(notice) =
            store::note_recurrence(conn!(self), self.guild_id, service, &ids.join(","), self.now, since).await?
        else {
            return Ok(()); // told already in this window
        };
        let Some(channel) = self.config.settings.incidents_channel_id else {
            return Ok(());
        };
        let pings = self
            .config
            .settings
            .incident_manager_role_id
            .map_or_else(Pings::none, Pings::role);
        let body = render::recurrence_notice(notice, service, &recent, &pings);
        self.audit(
            Some(t.id),
            "recurrence",
            None,
            Some(service.to_owned()),
            Some(ids.join(",")),
        )
        .await?;
        self.post(channel, t, &body, false).await
    }
}

impl Desk {
    /// **Create problem** under a recurrence notice: a problem with the notice's incidents
    /// linked (those still without one); once.
    pub async fn recurrence_problem(&self, call: &Call, notice: i64) -> Result<String> {
        let mut w = self.begin_problems(call).await?;
        let Some((service, incidents, made)) = store::get_recurrence(conn!(w), notice, w.guild_id).await? else {
            return Err(ProblemError::AlreadyChosen.into());
        };
        if let Some(p) = made {
            let p = store::get_ticket(conn!(w), p).await?;
            return Err(ProblemError::OpenedAlready(ticket_ref(&p)).into());
        }
        let title = render::recurring_title(&service);
        let p = w.open_problem(&title, None, Some(&service)).await?;
        let mut linked = Vec::new();
        for id in incidents.split(',').filter_map(|s| s.parse::<i64>().ok()) {
            let inc = store::get_ticket(conn!(w), id).await?;
            if inc.guild_id != w.guild_id || inc.problem_id.is_some() {
                continue;
            }
            store::set_incident_problem(conn!(w), inc.id, Some(p.id)).await?;
            w.audit(
                Some(inc.id),
                "problem-link",
                None,
                Some(ticket_ref(&p).to_string()),
                None,
            )
            .await?;
            linked.push(ticket_ref(&inc));
        }
        store::set_recurrence_problem(conn!(w), notice, p.id).await?;
        self.finish(w).await?;
        Ok(render::recurrence_problem_opened(ticket_ref(&p), &linked))
    }
}
