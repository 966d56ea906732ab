//! What the bot says about knowledge: articles, searches, the form, the offer at intake, votes.

use serde_json::{json, Value};

use super::{
    due, ephemeral, ephemeral_embeds, field, fit_lines, truncate, MAX_EMBED_DESCRIPTION_CHARS, MAX_FIELD_VALUE_CHARS,
};
use crate::domain::knowledge::{KbRef, MAX_BODY_CHARS, MAX_SYMPTOMS_CHARS, MAX_TAGS_CHARS, MAX_TITLE_CHARS};
use crate::store::ArticleRow;

fn kb_ref(a: &ArticleRow) -> KbRef {
    KbRef(u32::try_from(a.number).unwrap_or(0))
}

/// "This solved it".
pub const KB_SOLVED: &str = "Glad that helped! Nothing was raised. If it comes back, raise a ticket then.";

/// `/kb add` done.
pub fn kb_added(r: KbRef, review_by: i64) -> String {
    format!("{r} is published; it is due for review {}.", due(review_by))
}

/// `/kb edit` done.
pub fn kb_edited(r: KbRef, review_by: i64) -> String {
    format!("{r} is updated; it is next due for review {}.", due(review_by))
}

/// `/kb show`: the article, with 👍 / 👎.
pub fn kb_article(a: &ArticleRow, (up, down): (i64, i64)) -> Value {
    let r = kb_ref(a);
    let mut fields = Vec::new();
    if !a.symptoms.is_empty() {
        fields.push(field("Symptoms", &a.symptoms, false));
    }
    if !a.tags.is_empty() {
        fields.push(field("Tags", &a.tags, true));
    }
    fields.push(field("Helpful", format!("👍 {up} · 👎 {down}"), true));
    if a.state == "retired" {
        fields.push(field("State", "retired: no longer offered", true));
    }
    let embed = json!({
        "title": truncate(&format!("{r} · {}", a.title), 256),
        "description": truncate(&a.body, MAX_EMBED_DESCRIPTION_CHARS),
        "color": 0x002e_cc71,
        "fields": fields,
    });
    let mut v = ephemeral_embeds("", vec![embed]);
    let vote = |label: &str, up: bool| json!({ "type": 2, "style": 2, "label": label, "custom_id": KbVoteButton { number: r.0, helpful: up }.custom_id() });
    v["components"] = json!([{ "type": 1, "components": [vote("👍 Helpful", true), vote("👎 Not helpful", false)] }]);
    v
}

/// `/kb search`: best matches first.
pub fn kb_results(query: &str, found: &[ArticleRow]) -> Value {
    if found.is_empty() {
        return ephemeral(&format!("No article matches “{}”.", truncate(query, 100)));
    }
    let lines: Vec<String> = found
        .iter()
        .map(|a| format!("**{}** {}", kb_ref(a), truncate(&a.title, 90)))
        .collect();
    ephemeral(&format!(
        "Articles for “{}”, best first:\n{}\nOpen one with /kb show id:KB-n.",
        truncate(query, 100),
        fit_lines(&lines, 1500)
    ))
}

/// The article form's `custom_id`: `kb-add`, or `kb-edit:KB-3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KbForm {
    /// A new article.
    Add,
    /// Changes to an article.
    Edit(KbRef),
}

impl KbForm {
    /// The `custom_id`.
    pub fn custom_id(self) -> String {
        match self {
            KbForm::Add => "kb-add".to_owned(),
            KbForm::Edit(r) => format!("kb-edit:{r}"),
        }
    }

    /// The form a `custom_id` names, if it is one of these.
    pub fn parse(custom_id: &str) -> Option<KbForm> {
        if custom_id == "kb-add" {
            return Some(KbForm::Add);
        }
        KbRef::parse(custom_id.strip_prefix("kb-edit:")?).ok().map(KbForm::Edit)
    }
}

/// The form of `/kb add` (with the title typed) or `/kb edit` (with the article as it is).
pub fn kb_form(article: Option<&ArticleRow>, title: &str, tags: &str) -> Value {
    let (custom_id, heading) = match article {
        Some(a) => (KbForm::Edit(kb_ref(a)).custom_id(), format!("Edit {}", kb_ref(a))),
        None => (KbForm::Add.custom_id(), "New article".to_owned()),
    };
    let value = |f: fn(&ArticleRow) -> &str, typed: &str| article.map_or_else(|| typed.to_owned(), |a| f(a).to_owned());
    let input = |id: &str, label: &str, style: u8, max: usize, required: bool, value: String| {
        let mut c = json!({ "type": 4, "custom_id": id, "label": label, "style": style,
                            "max_length": max, "required": required });
        if !value.is_empty() {
            c["value"] = json!(truncate(&value, max));
        }
        json!({ "type": 1, "components": [c] })
    };
    json!({
        "type": 9,
        "data": {
            "custom_id": custom_id,
            "title": heading,
            "components": [
                input("title", "Title", 1, MAX_TITLE_CHARS, true, value(|a| &a.title, title)),
                input("symptoms", "Symptoms: what people see", 2, MAX_SYMPTOMS_CHARS, false, value(|a| &a.symptoms, "")),
                input("body", "The answer", 2, MAX_BODY_CHARS, true, value(|a| &a.body, "")),
                input("tags", "Tags, e.g. printer, vpn", 1, MAX_TAGS_CHARS, false, value(|a| &a.tags, tags)),
            ],
        }
    })
}

/// The "KB-3 · title" lines a card shows agents.
pub fn kb_suggestion_lines(articles: &[ArticleRow]) -> String {
    let lines: Vec<String> = articles
        .iter()
        .map(|a| format!("{} · {}", kb_ref(a), truncate(&a.title, 80)))
        .collect();
    fit_lines(&lines, MAX_FIELD_VALUE_CHARS)
}

/// The offer at intake: up to three articles, **This solved it** and **Still need help**.
pub fn kb_offer(draft: i64, articles: &[ArticleRow]) -> Value {
    let lines: Vec<String> = articles
        .iter()
        .map(|a| {
            let first = a.symptoms.lines().next().filter(|l| !l.is_empty()).unwrap_or(&a.body);
            format!(
                "**{}** *{}* — {}",
                kb_ref(a),
                truncate(&a.title, 90),
                truncate(first, 160)
            )
        })
        .collect();
    let mut v = ephemeral(&format!(
        "These may help:\n{}\nOpen one with /kb show. Did one solve it?",
        lines.join("\n")
    ));
    let solved = KbIntakeButton { draft, solved: true };
    let more = KbIntakeButton { draft, solved: false };
    v["components"] = json!([{ "type": 1, "components": [
        { "type": 2, "style": 3, "label": "This solved it", "custom_id": solved.custom_id() },
        { "type": 2, "style": 2, "label": "Still need help", "custom_id": more.custom_id() },
    ] }]);
    v
}

/// The reminder that an article is due for review.
pub fn kb_review_due(a: &ArticleRow) -> String {
    let r = kb_ref(a);
    format!(
        "📚 {r} “{}” (by <@{}>) is due for review: check it still holds, then /kb edit id:{r} (or /kb retire).",
        truncate(&a.title, 100),
        a.author_id
    )
}

/// A vote recorded.
pub fn kb_voted(r: KbRef, helpful: bool, up: i64, down: i64) -> String {
    let what = if helpful { "helpful" } else { "not helpful" };
    format!("Thanks: you found {r} {what}. It stands at 👍 {up} · 👎 {down}.")
}

/// An answer to the offer at intake: `kb-solved:<draft>` or `kb-more:<draft>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KbIntakeButton {
    /// The held draft (the interaction that raised it).
    pub draft: i64,
    /// "This solved it" (else "Still need help").
    pub solved: bool,
}

impl KbIntakeButton {
    /// Its `custom_id`.
    pub fn custom_id(self) -> String {
        format!("{}:{}", if self.solved { "kb-solved" } else { "kb-more" }, self.draft)
    }

    /// The button a `custom_id` names, if it is one of these.
    pub fn parse(custom_id: &str) -> Option<KbIntakeButton> {
        let (verb, arg) = custom_id.split_once(':')?;
        let draft = arg.parse().ok().filter(|n: &i64| *n > 0)?;
        match verb {
            "kb-solved" => Some(KbIntakeButton { draft, solved: true }),
            "kb-more" => Some(KbIntakeButton { draft, solved: false }),
            _ => None,
        }
    }
}

/// 👍 / 👎 under an article: `kb-vote:<n>:up` or `kb-vote:<n>:down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KbVoteButton {
    /// The article's number.
    pub number: u32,
    /// 👍 (else 👎).
    pub helpful: bool,
}

impl KbVoteButton {
    /// Its `custom_id`.
    pub fn custom_id(self) -> String {
        format!("kb-vote:{}:{}", self.number, if self.helpful { "up" } else { "down" })
    }

    /// The button a `custom_id` names, if it is one of these.
    pub fn parse(custom_id: &str) -> Option<KbVoteButton> {
        let rest = custom_id.strip_prefix("kb-vote:")?;
        let (n, way) = rest.split_once(':')?;
        let number = n.parse().ok().filter(|n: &u32| *n > 0)?;
        match way {
            "up" => Some(KbVoteButton { number, helpful: true }),
            "down" => Some(KbVoteButton { number, helpful: false }),
            _ => None,
        }
    }
}

/// `/kb retire` done.
pub fn kb_retired(r: KbRef) -> String {
    format!("{r} is retired: searches and intake no longer offer it.")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_article_form_reads_back_as_itself() {
        for f in [KbForm::Add, KbForm::Edit(KbRef(3))] {
            assert_eq!(KbForm::parse(&f.custom_id()), Some(f));
        }
        assert_eq!(KbForm::Edit(KbRef(3)).custom_id(), "kb-edit:KB-3");
        for bad in ["kb-edit:", "kb-edit:x", "kb-addx", "kb-vote:3:up"] {
            assert_eq!(KbForm::parse(bad), None, "{bad}");
        }
    }

    use super::*;

    #[test]
    fn knowledge_buttons_round_trip() {
        for solved in [true, false] {
            let b = KbIntakeButton { draft: 42, solved };
            assert_eq!(KbIntakeButton::parse(&b.custom_id()), Some(b));
        }
        for helpful in [true, false] {
            let b = KbVoteButton { number: 7, helpful };
            assert_eq!(KbVoteButton::parse(&b.custom_id()), Some(b));
        }
        assert_eq!(KbVoteButton::parse("kb-vote:7:maybe"), None);
        assert_eq!(KbIntakeButton::parse("kb-solved:x"), None);
    }
}
