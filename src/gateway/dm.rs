//! Buttons and forms on the bot's DMs: a page's **Acknowledge**, a resolution's **Close** and
//! **Reopen**, a vote reminder's **Approve** and **Reject**.
//!
//! A click in a DM carries a user but no server and no roles. The button's `custom_id` names
//! the server and the person it was sent to ([`DmButton`]): anyone else is refused, and the
//! person's roles in that server are read from Discord (`GET /guilds/{id}/members/{user}`), so the
//! same rights checks apply as on the server's own buttons. Someone who is not a member of the
//! named server is refused, so a crafted button never reaches another server.

use serenity::all::{ActionRowComponent, ComponentInteraction, GuildId, Http, ModalInteraction, UserId};

use super::Response;
use crate::render::refusals::ArgError;
use crate::render::{self, DmAction, DmButton};
use crate::service::{Actor, Call, Desk, ServiceError, TicketOp};

fn sf(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// The clicker as a member of the button's server, or why they may not use it.
async fn actor(http: &Http, button: &DmButton, clicker: UserId) -> Result<Actor, ServiceError> {
    if sf(clicker.get()) != button.user {
        return Err(ArgError::NotYourButton.into());
    }
    let guild = GuildId::new(button.guild.unsigned_abs());
    let member = http.get_member(guild, clicker).await.map_err(|e| {
        tracing::info!(guild = button.guild, error = %e, "DM button from someone not (or no longer) in the server");
        ServiceError::from(ArgError::NotAMember)
    })?;
    Ok(Actor {
        guild_id: button.guild,
        user_id: button.user,
        roles: member.roles.iter().map(|r| sf(r.get())).collect(),
        // Manage Server comes from role permissions Discord does not send here; desk roles
        // (agent, CAB, on call, requester) are what these buttons need.
        is_admin: false,
    })
}

fn reply(r: Result<String, ServiceError>) -> Result<Response, ServiceError> {
    r.map(|m| Response::Message(render::ephemeral(&m)))
}

/// A DM button: its action, in the server it names, as the person it was sent to.
pub async fn component(
    desk: &Desk,
    http: &Http,
    c: &ComponentInteraction,
    button: DmButton,
) -> Result<Response, ServiceError> {
    let call = Call {
        actor: actor(http, &button, c.user.id).await?,
        interaction_id: sf(c.id.get()),
    };
    let id = button.ticket.as_str();
    match button.action {
        DmAction::Ack => reply(desk.incident_ack(&call, id).await),
        DmAction::Close => reply(desk.ticket_op(&call, id, TicketOp::Close).await.map(|o| o.message)),
        DmAction::Approve => reply(desk.change_vote(&call, id, true, None).await),
        DmAction::Reject => {
            desk.check_can_vote(&call, id).await?;
            Ok(Response::Modal(render::dm_reason_form(&button.as_form())))
        }
        DmAction::Reopen => Ok(Response::Modal(render::dm_reason_form(&button.as_form()))),
    }
}

/// The form a DM's Reopen or Reject button opened.
pub async fn modal(desk: &Desk, http: &Http, m: &ModalInteraction, form: DmButton) -> Result<Response, ServiceError> {
    let call = Call {
        actor: actor(http, &form, m.user.id).await?,
        interaction_id: sf(m.id.get()),
    };
    let reason = m
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) if t.custom_id == "reason" => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default();
    let id = form.ticket.as_str();
    match form.action {
        DmAction::Reopen => reply(
            desk.ticket_op(&call, id, TicketOp::Reopen { reason })
                .await
                .map(|o| o.message),
        ),
        DmAction::Reject => reply(desk.change_vote(&call, id, false, Some(&reason)).await),
        _ => Err(ArgError::UnknownForm.into()),
    }
}
