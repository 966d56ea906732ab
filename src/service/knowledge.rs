//! Knowledge: articles (`/kb add|edit|retire|show|search`), searched with FTS5, voted on, and
//! offered while a member raises a ticket — "These may help" before anything is created.

use serde_json::Value;

use super::{Actor, Call, Desk, Result, Work};
use crate::domain::access::{self, Act};
use crate::domain::knowledge::{self, KbRef, MAX_BODY_CHARS, MAX_SYMPTOMS_CHARS, MAX_TAGS_CHARS, MAX_TITLE_CHARS};
use crate::domain::text;
use crate::domain::timer::TimerKind;
use crate::render;
use crate::render::refusals::KbError;
use crate::store::{self, ArticleRow, ArticleText, TicketRow};

const DAY_MS: i64 = 24 * 3600 * 1000;

fn review_key(article: i64) -> String {
    format!("kbreview:{article}")
}
/// Articles a search shows.
const SEARCH_ROWS: i64 = 10;
/// Articles read to choose what to offer at intake.
const OFFER_CANDIDATES: i64 = 10;

/// An article's text as typed, checked.
#[derive(Debug, Clone)]
pub struct ArticleInput {
    /// Title (≤ 100).
    pub title: String,
    /// Symptoms (≤ 1000, may be empty).
    pub symptoms: String,
    /// Body (≤ 4000).
    pub body: String,
    /// Tags (≤ 200, may be empty).
    pub tags: String,
}

impl ArticleInput {
    /// Checks the limits.
    pub fn check(title: &str, symptoms: &str, body: &str, tags: &str) -> Result<ArticleInput> {
        Ok(ArticleInput {
            title: text::required("title", title, MAX_TITLE_CHARS)?,
            symptoms: text::optional("symptoms", Some(symptoms), MAX_SYMPTOMS_CHARS)?.unwrap_or_default(),
            body: text::required("article", body, MAX_BODY_CHARS)?,
            tags: text::optional("tags", Some(tags), MAX_TAGS_CHARS)?.unwrap_or_default(),
        })
    }

    fn as_text(&self) -> ArticleText<'_> {
        ArticleText {
            title: &self.title,
            symptoms: &self.symptoms,
            body: &self.body,
            tags: &self.tags,
        }
    }
}

fn searchable(a: &ArticleRow) -> String {
    format!("{} {} {} {}", a.title, a.symptoms, a.tags, a.body)
}

impl Work {
    /// The articles found for this use-case before its write began ([`Desk::find_articles`]):
    /// a search over a large knowledge base takes milliseconds, and the writer is shared, so it
    /// never runs inside the write.
    pub(super) async fn matching_articles(&mut self, _typed: &str) -> Result<Vec<ArticleRow>> {
        Ok(self.articles.clone().unwrap_or_default())
    }

    /// Offers the articles that match what a member typed, holding their ticket until they
    /// answer; `None` when nothing matches well (the ticket is raised at once).
    pub(super) async fn offer_articles(
        &mut self,
        call: &Call,
        kind: &str,
        typed: &str,
        draft: &str,
    ) -> Result<Option<Value>> {
        let articles = self.matching_articles(typed).await?;
        if articles.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = articles.iter().map(|a| a.id.to_string()).collect();
        let ids = ids.join(",");
        let held = store::NewKbIntake {
            id: call.interaction_id,
            guild_id: self.guild_id,
            user_id: self.user_id,
            kind,
            draft,
            articles: &ids,
            at: self.now,
        };
        store::insert_kb_intake(conn!(self), &held).await?;
        self.audit(
            None,
            "kb-offered",
            None,
            Some(ids.clone()),
            Some(typed.trim().to_owned()),
        )
        .await?;
        Ok(Some(render::kb_offer(call.interaction_id, &articles)))
    }

    /// Stores the articles a new ticket's card offers agents.
    pub(super) async fn attach_suggestions(&mut self, t: &mut TicketRow, typed: &str) -> Result<()> {
        let articles = self.matching_articles(typed).await?;
        if articles.is_empty() {
            return Ok(());
        }
        let lines = render::kb_suggestion_lines(&articles);
        store::set_kb_suggestions(conn!(self), t.id, &lines).await?;
        t.kb_suggestions = Some(lines);
        Ok(())
    }

    async fn article(&mut self, id: &str) -> Result<ArticleRow> {
        let r = KbRef::parse(id)?;
        store::find_article(conn!(self), self.guild_id, i64::from(r.0))
            .await?
            .ok_or_else(|| KbError::NoSuchArticle(r).into())
    }
}

impl Desk {
    /// Published articles of a guild that match `typed` well enough to offer (at most three),
    /// best first; read on a connection of its own, outside any write.
    pub(super) async fn find_articles(&self, guild_id: i64, typed: &str) -> Result<Vec<ArticleRow>> {
        let Some(query) = knowledge::fts_query(typed) else {
            return Ok(Vec::new());
        };
        // A guild without a published article (as memory knows it) has nothing to offer:
        // no trip to the database on the outage day of a desk that keeps no knowledge base.
        if self.config.get(guild_id).is_some_and(|c| !c.has_articles) {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await?;
        let found = store::search_articles(&mut conn, guild_id, &query, OFFER_CANDIDATES).await?;
        Ok(found
            .into_iter()
            .filter(|a| knowledge::worth_offering(typed, &searchable(a)))
            .take(knowledge::MAX_OFFERED)
            .collect())
    }

    async fn begin_kb_edit(&self, call: &Call) -> Result<Work> {
        let w = self.begin(call).await?;
        if !access::may(w.standing.who(false), Act::EditKnowledge) {
            return Err(KbError::AgentsOnly.into());
        }
        Ok(w)
    }

    /// Before `/kb add` opens its form: agents only.
    pub async fn kb_check_author(&self, call: &Call) -> Result<()> {
        let (_, standing) = self.begin_read(call).await?;
        if access::may(standing.who(false), Act::EditKnowledge) {
            Ok(())
        } else {
            Err(KbError::AgentsOnly.into())
        }
    }

    /// The `/kb add` form submitted.
    pub async fn kb_add(&self, call: &Call, input: ArticleInput) -> Result<String> {
        let mut w = self.begin_kb_edit(call).await?;
        let review_by = w.now + knowledge::REVIEW_DAYS * DAY_MS;
        w.configuring(); // the guild has a published article now
        let a = store::insert_article(conn!(w), w.guild_id, &input.as_text(), w.user_id, w.now, review_by).await?;
        w.set_timer(
            review_key(a.id),
            TimerKind::KbReview,
            None,
            review_by,
            Some(a.id.to_string()),
        );
        let id = KbRef(u32::try_from(a.number).unwrap_or(0));
        w.audit(None, "kb-add", None, Some(id.to_string()), Some(a.title.clone()))
            .await?;
        self.finish(w).await?;
        Ok(render::kb_added(id, review_by))
    }

    /// `/kb edit id`: the form, filled with the article as it is.
    pub async fn kb_edit_form(&self, call: &Call, id: &str) -> Result<Value> {
        let mut w = self.begin_kb_edit(call).await?;
        let a = w.article(id).await?;
        self.finish(w).await?;
        Ok(render::kb_form(Some(&a), "", ""))
    }

    /// The `/kb edit` form submitted.
    pub async fn kb_edit(&self, call: &Call, id: &str, input: ArticleInput) -> Result<String> {
        let mut w = self.begin_kb_edit(call).await?;
        let a = w.article(id).await?;
        let review_by = w.now + knowledge::REVIEW_DAYS * DAY_MS;
        store::update_article(conn!(w), a.id, &input.as_text(), w.now, review_by).await?;
        w.set_timer(
            review_key(a.id),
            TimerKind::KbReview,
            None,
            review_by,
            Some(a.id.to_string()),
        );
        let r = KbRef(u32::try_from(a.number).unwrap_or(0));
        w.audit(
            None,
            "kb-edit",
            Some(a.title.clone()),
            Some(input.title.clone()),
            Some(r.to_string()),
        )
        .await?;
        self.finish(w).await?;
        Ok(render::kb_edited(r, review_by))
    }

    /// `/kb retire id`.
    pub async fn kb_retire(&self, call: &Call, id: &str) -> Result<String> {
        let mut w = self.begin_kb_edit(call).await?;
        let a = w.article(id).await?;
        let r = KbRef(u32::try_from(a.number).unwrap_or(0));
        if a.state == "retired" {
            return Err(KbError::AlreadyRetired(r).into());
        }
        w.configuring(); // it may have been the guild's last published article
        store::retire_article(conn!(w), a.id, w.now).await?;
        w.cancel_timer(review_key(a.id));
        w.audit(None, "kb-retire", None, Some(r.to_string()), None).await?;
        self.finish(w).await?;
        Ok(render::kb_retired(r))
    }

    /// `/kb show id` (anyone), with 👍 / 👎.
    pub async fn kb_show(&self, call: &Call, id: &str) -> Result<Value> {
        let mut w = self.begin(call).await?;
        let a = w.article(id).await?;
        let votes = store::article_votes(conn!(w), a.id).await?;
        self.finish(w).await?;
        Ok(render::kb_article(&a, votes))
    }

    /// `/kb search query` (anyone): best matches first.
    pub async fn kb_search(&self, call: &Call, query: &str) -> Result<Value> {
        let query = text::required("query", query, MAX_TITLE_CHARS)?;
        let mut w = self.begin(call).await?;
        let found = match knowledge::fts_query(&query) {
            Some(q) => store::search_articles(conn!(w), w.guild_id, &q, SEARCH_ROWS).await?,
            None => Vec::new(),
        };
        self.finish(w).await?;
        Ok(render::kb_results(&query, &found))
    }

    /// Titles for `/kb search`'s autocomplete.
    pub async fn kb_title_suggestions(&self, actor: &Actor, typed: &str) -> Result<Vec<(String, String)>> {
        let Some(q) = knowledge::fts_query(typed).map(|q| format!("{q} OR {}", prefix_terms(typed))) else {
            return Ok(Vec::new());
        };
        let mut conn = self.pool.acquire().await?;
        let found = store::search_articles(&mut conn, actor.guild_id, &q, 25).await?;
        Ok(found.into_iter().map(|a| (a.title.clone(), a.title)).collect())
    }

    /// 👍 / 👎 on an article: one vote per member (a later one replaces it).
    pub async fn kb_vote(&self, call: &Call, id: &str, helpful: bool) -> Result<String> {
        let mut w = self.begin(call).await?;
        let a = w.article(id).await?;
        let (up, down) = store::vote_article(conn!(w), a.id, w.user_id, helpful, w.now).await?;
        self.finish(w).await?;
        Ok(render::kb_voted(
            KbRef(u32::try_from(a.number).unwrap_or(0)),
            helpful,
            up,
            down,
        ))
    }
}

impl Desk {
    /// Fires a review reminder: a published article whose review date passed (an edit since
    /// moved the timer) is named in triage, pinging the agent role, once.
    pub(super) async fn fire_kb_review(&self, w: &mut Work, timer: &store::TimerRow) -> Result<()> {
        let Some(id) = timer.payload.as_deref().and_then(|p| p.parse::<i64>().ok()) else {
            return Ok(());
        };
        let Some(a) = store::get_article(conn!(w), id).await? else {
            return Ok(());
        };
        if a.state != "published" || a.review_by > w.now {
            return Ok(());
        }
        let Some(channel) = w.config.settings.triage_channel_id else {
            return Ok(());
        };
        let pings = w
            .config
            .settings
            .agent_role_id
            .map_or_else(render::Pings::none, render::Pings::role);
        let body = render::notice(&render::kb_review_due(&a), &pings);
        w.post_other(channel, &body).await
    }
}

/// Prefix terms for autocomplete (`"prin"*`), so a title shows while its word is half typed.
fn prefix_terms(typed: &str) -> String {
    knowledge::words(typed)
        .iter()
        .take(6)
        .map(|w| format!("\"{}\"*", w.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" OR ")
}
