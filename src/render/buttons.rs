//! Buttons that travel outside the server: on DMs (a page, a resolution, a vote reminder) and
//! the link to a ticket's card.
//!
//! A DM button's `custom_id` carries the server it acts in and the person it was sent to, because
//! a click in a DM tells the bot neither: `dm:<action>:<guild>:<user>:<ticket>`. The gateway
//! parses it with [`DmButton::parse`], refuses anyone but that person, and acts in that server
//! with that person's rights there. Both directions live here and are tested together.

use serde_json::{json, Value};

use crate::domain::text::truncate;
use crate::domain::TicketRef;

/// The key the outbox looks for in a queued DM: add a link button to the ticket's card at
/// delivery (the card's message id is known only once it is posted). Never sent to Discord.
pub const CARD_LINK_MARKER: &str = "sd_card_link";

/// What a DM button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmAction {
    /// Acknowledge the incident (page DMs).
    Ack,
    /// Confirm a resolved ticket and close it.
    Close,
    /// Reopen a resolved ticket (asks for a reason in a form).
    Reopen,
    /// Vote for a change.
    Approve,
    /// Vote against a change (asks for a reason in a form).
    Reject,
}

impl DmAction {
    const ALL: [DmAction; 5] = [
        DmAction::Ack,
        DmAction::Close,
        DmAction::Reopen,
        DmAction::Approve,
        DmAction::Reject,
    ];

    /// The word in the `custom_id`.
    pub fn as_str(self) -> &'static str {
        match self {
            DmAction::Ack => "ack",
            DmAction::Close => "close",
            DmAction::Reopen => "reopen",
            DmAction::Approve => "approve",
            DmAction::Reject => "reject",
        }
    }

    fn parse(s: &str) -> Option<DmAction> {
        DmAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    fn label(self) -> &'static str {
        match self {
            DmAction::Ack => "Acknowledge",
            DmAction::Close => "Close",
            DmAction::Reopen => "Reopen",
            DmAction::Approve => "Approve",
            DmAction::Reject => "Reject",
        }
    }

    fn style(self) -> u8 {
        match self {
            DmAction::Ack | DmAction::Close => 1,
            DmAction::Reopen => 2,
            DmAction::Approve => 3,
            DmAction::Reject => 4,
        }
    }
}

/// A button on a DM, or the form it opens (`form: true`, prefix `dmf:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmButton {
    /// What it does.
    pub action: DmAction,
    /// The server it acts in.
    pub guild: i64,
    /// The only person who may use it.
    pub user: i64,
    /// The ticket, e.g. `INC-3`.
    pub ticket: String,
    /// The form a Reopen or Reject button opens, rather than the button itself.
    pub form: bool,
}

impl DmButton {
    /// A button for `action` on `ticket`, sent to `user` about server `guild`.
    pub fn new(action: DmAction, guild: i64, user: i64, ticket: impl Into<String>) -> DmButton {
        DmButton {
            action,
            guild,
            user,
            ticket: ticket.into(),
            form: false,
        }
    }

    /// The form this button opens (same action, guild, user and ticket).
    pub fn as_form(&self) -> DmButton {
        DmButton {
            form: true,
            ..self.clone()
        }
    }

    /// `dm:<action>:<guild>:<user>:<ticket>` (`dmf:` for the form); at most 64 characters.
    pub fn custom_id(&self) -> String {
        let prefix = if self.form { "dmf" } else { "dm" };
        format!(
            "{prefix}:{}:{}:{}:{}",
            self.action.as_str(),
            self.guild,
            self.user,
            self.ticket
        )
    }

    /// The button or form a `custom_id` names, if it is one.
    pub fn parse(custom_id: &str) -> Option<DmButton> {
        let mut parts = custom_id.splitn(5, ':');
        let form = match parts.next()? {
            "dm" => false,
            "dmf" => true,
            _ => return None,
        };
        let action = DmAction::parse(parts.next()?)?;
        let guild: i64 = parts.next()?.parse().ok().filter(|g| *g > 0)?;
        let user: i64 = parts.next()?.parse().ok().filter(|u| *u > 0)?;
        let ticket = parts.next()?.to_owned();
        let valid =
            !ticket.is_empty() && ticket.len() <= 20 && ticket.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        valid.then_some(DmButton {
            action,
            guild,
            user,
            ticket,
            form,
        })
    }

    fn component(&self) -> Value {
        json!({ "type": 2, "style": self.action.style(), "label": self.action.label(), "custom_id": self.custom_id() })
    }
}

/// `body` with a row of DM buttons for `actions`, and, if `card_link`, the marker that makes the
/// outbox add a link to the ticket's card when it delivers the DM.
pub fn with_dm_buttons(
    mut body: Value,
    guild: i64,
    user: i64,
    ticket: &str,
    actions: &[DmAction],
    card_link: bool,
) -> Value {
    let buttons: Vec<Value> = actions
        .iter()
        .map(|a| DmButton::new(*a, guild, user, ticket).component())
        .collect();
    if !buttons.is_empty() {
        body["components"] = json!([{ "type": 1, "components": buttons }]);
    }
    if card_link {
        body[CARD_LINK_MARKER] = json!(true);
    }
    body
}

/// The link to a message (or, before it exists, to its channel) in a server.
pub fn discord_link(guild: i64, channel: i64, message: Option<i64>) -> String {
    match message {
        Some(m) => format!("https://discord.com/channels/{guild}/{channel}/{m}"),
        None => format!("https://discord.com/channels/{guild}/{channel}"),
    }
}

/// The **Open the card** link under a notice or DM about a ticket.
pub fn add_card_link(body: &mut Value, url: &str) {
    add_link_button(body, "Open the card", url);
}

/// Adds a link button to the first row of `body`, making the row if needed.
pub fn add_link_button(body: &mut Value, label: &str, url: &str) {
    let link = json!({ "type": 2, "style": 5, "label": truncate(label, 80), "url": url });
    match body["components"].as_array_mut() {
        Some(rows) if !rows.is_empty() => {
            if let Some(row) = rows[0]["components"].as_array_mut() {
                if row.len() < 5 {
                    row.push(link);
                }
            }
        }
        _ => body["components"] = json!([{ "type": 1, "components": [link] }]),
    }
}

/// The form a DM's Reopen or Reject button opens: one reason, required.
pub fn dm_reason_form(form: &DmButton) -> Value {
    let (title, label, placeholder) = match form.action {
        DmAction::Reject => (
            format!("Reject {}", form.ticket),
            "Why do you reject it?",
            "What the CAB should know",
        ),
        _ => (
            format!("Reopen {}", form.ticket),
            "Why is it not fixed?",
            "What still does not work",
        ),
    };
    let input = super::ModalInput {
        custom_id: "reason",
        label,
        max_length: crate::domain::text::MAX_REASON_CHARS,
        placeholder,
    };
    super::text_modal(&form.custom_id(), &title, input)
}

/// The buttons on cards and notices, one ticket each: `claim:REQ-3`, `ack:INC-2`,
/// `resolve:REQ-3`, `approve:CHG-1`, `reject:CHG-1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardButton {
    /// Claim a request (or an unassigned ticket from a notice).
    Claim(TicketRef),
    /// Acknowledge an incident.
    Ack(TicketRef),
    /// Resolve: opens the resolution-note form.
    Resolve(TicketRef),
    /// Approve a change.
    Approve(TicketRef),
    /// Reject a change: opens the reason form.
    Reject(TicketRef),
}

impl CardButton {
    const VERBS: [&'static str; 5] = ["claim", "ack", "resolve", "approve", "reject"];

    fn parts(self) -> (&'static str, TicketRef) {
        match self {
            CardButton::Claim(id) => ("claim", id),
            CardButton::Ack(id) => ("ack", id),
            CardButton::Resolve(id) => ("resolve", id),
            CardButton::Approve(id) => ("approve", id),
            CardButton::Reject(id) => ("reject", id),
        }
    }

    /// The `custom_id`.
    pub fn custom_id(self) -> String {
        let (verb, id) = self.parts();
        format!("{verb}:{id}")
    }

    /// The button a `custom_id` names, if it is one of these with a whole ticket id.
    pub fn parse(custom_id: &str) -> Option<CardButton> {
        let (verb, id) = custom_id.split_once(':')?;
        let id = TicketRef::parse(id).ok().filter(|r| r.kind.is_some())?;
        let at = CardButton::VERBS.iter().position(|v| *v == verb)?;
        Some([
            CardButton::Claim,
            CardButton::Ack,
            CardButton::Resolve,
            CardButton::Approve,
            CardButton::Reject,
        ][at](id))
    }
}

/// The forms card buttons open: `resolve-note:REQ-3`, `reject-reason:CHG-1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardForm {
    /// The resolution note.
    ResolveNote(TicketRef),
    /// Why a CAB member rejects.
    RejectReason(TicketRef),
}

impl CardForm {
    /// The `custom_id`.
    pub fn custom_id(self) -> String {
        match self {
            CardForm::ResolveNote(id) => format!("resolve-note:{id}"),
            CardForm::RejectReason(id) => format!("reject-reason:{id}"),
        }
    }

    /// The form a `custom_id` names, if it is one of these.
    pub fn parse(custom_id: &str) -> Option<CardForm> {
        let (what, id) = custom_id.split_once(':')?;
        let id = TicketRef::parse(id).ok().filter(|r| r.kind.is_some())?;
        match what {
            "resolve-note" => Some(CardForm::ResolveNote(id)),
            "reject-reason" => Some(CardForm::RejectReason(id)),
            _ => None,
        }
    }
}

/// The **Create problem** button of a recurrence notice: `recur:<notice id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecurrenceButton(pub i64);

impl RecurrenceButton {
    /// The `custom_id`.
    pub fn custom_id(self) -> String {
        format!("recur:{}", self.0)
    }

    /// The button a `custom_id` names, if it is one.
    pub fn parse(custom_id: &str) -> Option<RecurrenceButton> {
        let n: i64 = custom_id.strip_prefix("recur:")?.parse().ok()?;
        (n > 0).then_some(RecurrenceButton(n))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn card_buttons_forms_and_recurrence_buttons_read_back_as_themselves() {
        use crate::domain::{TicketKind, TicketRef};
        let req = TicketRef::new(TicketKind::Request, 3);
        let chg = TicketRef::new(TicketKind::Change, 1);
        for b in [
            CardButton::Claim(req),
            CardButton::Ack(TicketRef::new(TicketKind::Incident, 2)),
            CardButton::Resolve(req),
            CardButton::Approve(chg),
            CardButton::Reject(chg),
        ] {
            assert_eq!(CardButton::parse(&b.custom_id()), Some(b), "{}", b.custom_id());
        }
        assert_eq!(CardButton::Claim(req).custom_id(), "claim:REQ-3");
        for f in [CardForm::ResolveNote(req), CardForm::RejectReason(chg)] {
            assert_eq!(CardForm::parse(&f.custom_id()), Some(f));
        }
        assert_eq!(
            RecurrenceButton::parse(&RecurrenceButton(7).custom_id()),
            Some(RecurrenceButton(7))
        );
        for bad in [
            "claim:",
            "claim:7",
            "claim:REQ-x",
            "poke:REQ-3",
            "claim",
            "recur:0",
            "recur:x",
            "dm:ack:1:2:INC-1",
        ] {
            assert_eq!(CardButton::parse(bad), None, "{bad}");
            assert_eq!(RecurrenceButton::parse(bad), None, "{bad}");
            assert_eq!(CardForm::parse(bad), None, "{bad}");
        }
    }

    use super::*;

    #[test]
    fn every_dm_button_parses_back_to_itself_and_fits_discords_limit() {
        for action in DmAction::ALL {
            let b = DmButton::new(
                action,
                1_200_000_000_000_000_001,
                1_000_000_000_000_000_011,
                "INC-123456",
            );
            let id = b.custom_id();
            assert!(id.len() <= 100, "{id}");
            assert_eq!(DmButton::parse(&id), Some(b.clone()));
            assert_eq!(DmButton::parse(&b.as_form().custom_id()), Some(b.as_form()));
        }
    }

    #[test]
    fn malformed_dm_buttons_are_not_buttons() {
        for bad in [
            "dm:ack:1:2",
            "dm:nope:1:2:INC-1",
            "dm:ack:x:2:INC-1",
            "dm:ack:1:0:INC-1",
            "dm:ack:1:2:",
            "dm:ack:1:2:INC-1:extra",
            "ack:INC-1",
            "dmx:ack:1:2:INC-1",
        ] {
            assert_eq!(DmButton::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_link_joins_the_buttons_row() {
        let mut body = with_dm_buttons(json!({ "content": "x" }), 1, 2, "INC-1", &[DmAction::Ack], true);
        assert_eq!(body[CARD_LINK_MARKER], true);
        add_link_button(&mut body, "Open the card", &discord_link(1, 3, Some(4)));
        let row = body["components"][0]["components"].as_array().unwrap();
        assert_eq!(row.len(), 2);
        assert_eq!(row[1]["url"], "https://discord.com/channels/1/3/4");
        assert_eq!(row[0]["custom_id"], "dm:ack:1:2:INC-1");
    }
}
