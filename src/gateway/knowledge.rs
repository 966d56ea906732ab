//! `/kb …`: typed values parsed from the options, then run; and the article form's fields.

use super::dispatch::{data, reply};
use super::options::Opts;
use super::Response;
use crate::render;
use crate::service::{ArticleInput, Call, Desk, ServiceError};

/// A `/kb` subcommand with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KbCommand {
    /// Write one (the form opens with the title typed).
    Add { title: String, tags: String },
    /// Change one (the form opens with it as it is).
    Edit { id: String },
    /// No longer offered.
    Retire { id: String },
    /// Read one.
    Show { id: String },
    /// Find some.
    Search { query: String },
}

impl KbCommand {
    /// Reads `/kb <sub>`.
    pub fn parse(o: &Opts<'_>, sub: &str) -> Result<KbCommand, ServiceError> {
        let id = || Ok::<_, ServiceError>(o.req("id")?.to_owned());
        Ok(match sub {
            "add" => KbCommand::Add {
                title: o.req("title")?.to_owned(),
                tags: o.str("tags").unwrap_or_default().to_owned(),
            },
            "edit" => KbCommand::Edit { id: id()? },
            "retire" => KbCommand::Retire { id: id()? },
            "show" => KbCommand::Show { id: id()? },
            "search" => KbCommand::Search {
                query: o.req("query")?.to_owned(),
            },
            other => return Err(super::dispatch::unknown_command("kb", other)),
        })
    }

    /// Runs it.
    pub async fn run(self, desk: &Desk, call: &Call) -> Result<Response, ServiceError> {
        match self {
            KbCommand::Add { title, tags } => {
                desk.kb_check_author(call).await?;
                Ok(Response::Modal(render::kb_form(None, &title, &tags)))
            }
            KbCommand::Edit { id } => Ok(Response::Modal(desk.kb_edit_form(call, &id).await?)),
            KbCommand::Retire { id } => reply(desk.kb_retire(call, &id).await),
            KbCommand::Show { id } => data(desk.kb_show(call, &id).await),
            KbCommand::Search { query } => data(desk.kb_search(call, &query).await),
        }
    }
}

/// The article form submitted (`kb-add`, or `kb-edit:KB-3`); `field` reads its inputs.
pub async fn form(
    desk: &Desk,
    call: &Call,
    custom_id: &str,
    field: impl Fn(&str) -> String,
) -> Option<Result<Response, ServiceError>> {
    let input = || ArticleInput::check(&field("title"), &field("symptoms"), &field("body"), &field("tags"));
    let form = render::KbForm::parse(custom_id)?;
    Some(match (input(), form) {
        (Ok(i), render::KbForm::Add) => reply(desk.kb_add(call, i).await),
        (Ok(i), render::KbForm::Edit(r)) => reply(desk.kb_edit(call, &r.to_string(), i).await),
        (Err(e), _) => Err(e),
    })
}
