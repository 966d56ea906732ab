//! Gateway and REST payloads in the shapes Discord sends them (and serenity 0.12.5 parses).
//!
//! Kept as functions so one contract test can parse every one with serenity's own types: a
//! malformed event would otherwise vanish silently inside serenity.

use serde_json::{json, Value};

/// The bot's application id.
pub const APP_ID: u64 = 1_100_000_000_000_000_001;
/// The bot's user id.
pub const BOT_ID: u64 = 1_100_000_000_000_000_002;
/// The guild most tests run in.
pub const GUILD: u64 = 1_200_000_000_000_000_001;
/// A second guild, for isolation tests.
pub const OTHER_GUILD: u64 = 1_200_000_000_000_000_002;
/// The channel commands are typed in.
pub const GENERAL: u64 = 1_210_000_000_000_000_001;
/// Manage Server permission bit.
pub const MANAGE_GUILD: u64 = 1 << 5;
/// What an ordinary member has (view, send, read history, use application commands).
pub const MEMBER_PERMS: u64 = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31);

/// The DM channel the fake opens for a user (stable per user, as on Discord).
pub fn dm_channel(user: u64) -> u64 {
    1_290_000_000_000_000_000 + user % 1_000_000_000_000
}

/// A member as the tests use them.
#[derive(Debug, Clone)]
pub struct User {
    /// User id.
    pub id: u64,
    /// Username.
    pub name: &'static str,
    /// Role ids.
    pub roles: Vec<u64>,
    /// Permission bits in the channel.
    pub permissions: u64,
}

impl User {
    /// A member with no desk role.
    pub fn member(id: u64, name: &'static str) -> User {
        User {
            id,
            name,
            roles: vec![],
            permissions: MEMBER_PERMS,
        }
    }

    /// A member holding `role`.
    pub fn with_role(id: u64, name: &'static str, role: u64) -> User {
        User {
            id,
            name,
            roles: vec![role],
            permissions: MEMBER_PERMS,
        }
    }

    /// A server admin (Manage Server).
    pub fn admin(id: u64, name: &'static str) -> User {
        User {
            id,
            name,
            roles: vec![],
            permissions: MEMBER_PERMS | MANAGE_GUILD,
        }
    }

    /// The `user` object.
    pub fn user_json(&self) -> Value {
        json!({ "id": self.id.to_string(), "username": self.name, "discriminator": "0", "global_name": self.name,
                "avatar": null, "public_flags": 0 })
    }

    /// The `member` object of an interaction.
    pub fn member_json(&self) -> Value {
        json!({
            "user": self.user_json(),
            "roles": self.roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "deaf": false, "mute": false, "flags": 0, "pending": false,
            "permissions": self.permissions.to_string(),
            "joined_at": "2025-01-06T09:00:00.000000+00:00",
            "premium_since": null, "nick": null, "avatar": null, "communication_disabled_until": null,
        })
    }
}

/// READY.
pub fn ready(session: &str, ws_url: &str) -> Value {
    json!({
        "v": 10,
        "user": { "id": BOT_ID.to_string(), "username": "servicedesk", "discriminator": "0", "global_name": null,
                  "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0 },
        "guilds": [
            { "id": GUILD.to_string(), "unavailable": true },
            { "id": OTHER_GUILD.to_string(), "unavailable": true },
        ],
        "session_id": session,
        "resume_gateway_url": ws_url,
        "shard": [0, 1],
        "application": { "id": APP_ID.to_string(), "flags": 0 },
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
    })
}

/// `GET /users/@me` for the bot.
pub fn bot_user() -> Value {
    json!({
        "id": BOT_ID.to_string(), "username": "servicedesk", "discriminator": "0", "global_name": null,
        "avatar": null, "bot": true, "verified": true, "mfa_enabled": false, "flags": 0, "public_flags": 0,
        "locale": "en-US", "premium_type": 0,
    })
}

/// `GET /oauth2/applications/@me`, shaped as Discord's documentation shows it.
pub fn application() -> Value {
    json!({
        "id": APP_ID.to_string(), "name": "Service Desk", "icon": null, "description": "IT service desk",
        "rpc_origins": [], "bot_public": false, "bot_require_code_grant": false,
        "verify_key": "1e0a356058d627ca38a5c8c9648818061d49e49bd9da9e3ab17d98ad4d6bg2u8",
        "owner": { "id": "1210000000000000099", "username": "owner", "discriminator": "0", "avatar": null,
                   "global_name": null, "public_flags": 0, "flags": 0 },
        "team": null, "flags": 0, "summary": "",
        "bot": { "id": BOT_ID.to_string(), "username": "servicedesk", "discriminator": "0", "avatar": null,
                 "global_name": null, "bot": true, "public_flags": 0, "flags": 0 },
        "redirect_uris": [], "interactions_endpoint_url": null, "approximate_guild_count": 2,
    })
}

/// A message as Discord returns it, echoing content from the request body.
pub fn message(id: &str, channel: &str, body: &Value) -> Value {
    json!({
        "id": id,
        "channel_id": channel,
        "author": { "id": BOT_ID.to_string(), "username": "servicedesk", "discriminator": "0", "avatar": null,
                    "global_name": null, "bot": true },
        "content": body["content"].as_str().unwrap_or(""),
        "timestamp": "2026-01-05T09:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": body["flags"].as_u64().unwrap_or(0),
        "components": [],
    })
}

fn base(id: u64, kind: u8, guild: u64, user: &User, data: Value) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": APP_ID.to_string(),
        "type": kind,
        "token": format!("token-{id}"),
        "version": 1,
        "guild_id": guild.to_string(),
        "channel_id": GENERAL.to_string(),
        "channel": { "id": GENERAL.to_string(), "type": 0, "guild_id": guild.to_string(), "name": "general",
                     "permissions": user.permissions.to_string(), "flags": 0, "position": 0, "nsfw": false },
        "member": user.member_json(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10_485_760,
        "app_permissions": "2251799813685247",
        "authorizing_integration_owners": { "0": guild.to_string() },
        "context": 0,
        "data": data,
    })
}

/// A slash command option value: (name, JSON value, Discord option type).
pub type Opt = (&'static str, Value, u8);

/// A string option.
pub fn s(name: &'static str, value: &str) -> Opt {
    (name, json!(value), 3)
}

/// A user option.
pub fn u(name: &'static str, user: u64) -> Opt {
    (name, json!(user.to_string()), 6)
}

/// A boolean option.
pub fn b(name: &'static str, value: bool) -> Opt {
    (name, json!(value), 5)
}

/// An integer option.
pub fn int(name: &'static str, value: i64) -> Opt {
    (name, json!(value), 4)
}

/// The cast the end-to-end tests share: Ada, an admin (Manage Server).
pub fn ada() -> User {
    User::admin(1_000_000_000_000_000_001, "ada")
}

/// Mia, a member who raises tickets.
pub fn mia() -> User {
    User::member(1_000_000_000_000_000_002, "mia")
}

/// Bob, an agent (he has the agent role).
pub fn bob() -> User {
    User::with_role(1_000_000_000_000_000_004, "bob", super::AGENT_ROLE)
}

/// A channel option.
pub fn ch(name: &'static str, channel: u64) -> Opt {
    (name, json!(channel.to_string()), 7)
}

/// A role option.
pub fn r(name: &'static str, role: u64) -> Opt {
    (name, json!(role.to_string()), 8)
}

fn options(opts: &[Opt], focused: Option<&str>) -> Vec<Value> {
    opts.iter()
        .map(|(n, v, t)| {
            let mut o = json!({ "name": n, "type": t, "value": v });
            if focused == Some(*n) {
                o["focused"] = json!(true);
            }
            o
        })
        .collect()
}

/// `resolved` data for user, channel and role options (as Discord sends it).
fn resolved(guild: u64, opts: &[Opt], members: &[User]) -> Value {
    let mut users = serde_json::Map::new();
    let mut mems = serde_json::Map::new();
    let mut channels = serde_json::Map::new();
    let mut roles = serde_json::Map::new();
    for (_, v, t) in opts {
        let id = v.as_str().unwrap_or("0").to_owned();
        match t {
            6 => {
                let known = members.iter().find(|m| m.id.to_string() == id);
                let user = known
                    .cloned()
                    .unwrap_or_else(|| User::member(id.parse().unwrap_or(1), "someone"));
                users.insert(id.clone(), user.user_json());
                let mut m = user.member_json();
                m.as_object_mut().unwrap().remove("user");
                mems.insert(id, m);
            }
            7 => {
                channels.insert(
                    id.clone(),
                    json!({ "id": id, "type": 0, "name": "triage", "permissions": "68608",
                                                    "guild_id": guild.to_string(), "flags": 0 }),
                );
            }
            8 => {
                roles.insert(id.clone(), json!({ "id": id, "name": "role", "color": 0, "colors": { "primary_color": 0 },
                                                 "hoist": false, "position": 1, "permissions": "0", "managed": false,
                                                 "mentionable": true, "flags": 0, "icon": null, "unicode_emoji": null }));
            }
            _ => {}
        }
    }
    json!({ "users": users, "members": mems, "channels": channels, "roles": roles })
}

/// INTERACTION_CREATE data of a slash command (type 2), with a subcommand when `sub` is set.
pub fn slash(id: u64, guild: u64, user: &User, name: &str, sub: Option<&str>, opts: &[Opt], known: &[User]) -> Value {
    let inner = options(opts, None);
    let options = match sub {
        Some(sub) => json!([{ "name": sub, "type": 1, "options": inner }]),
        None => json!(inner),
    };
    base(
        id,
        2,
        guild,
        user,
        json!({
            "id": "1150000000000000001", "name": name, "type": 1, "guild_id": guild.to_string(),
            "options": options, "resolved": resolved(guild, opts, known),
        }),
    )
}

/// An autocomplete interaction (type 4) with `focus` the option being typed.
pub fn autocomplete(id: u64, guild: u64, user: &User, name: &str, sub: &str, opts: &[Opt], focus: &str) -> Value {
    let inner = options(opts, Some(focus));
    base(
        id,
        4,
        guild,
        user,
        json!({
            "id": "1150000000000000001", "name": name, "type": 1, "guild_id": guild.to_string(),
            "options": [{ "name": sub, "type": 1, "options": inner }],
        }),
    )
}

/// A button click (type 3) on the bot's message `message_id` in `channel`.
pub fn button(id: u64, guild: u64, user: &User, custom_id: &str, channel: u64, message_id: u64) -> Value {
    let mut v = base(
        id,
        3,
        guild,
        user,
        json!({ "custom_id": custom_id, "component_type": 2 }),
    );
    let mut msg = message(
        &message_id.to_string(),
        &channel.to_string(),
        &json!({ "content": "card" }),
    );
    msg["guild_id"] = json!(guild.to_string());
    v["message"] = msg;
    v["channel_id"] = json!(channel.to_string());
    v
}

/// A button click on the bot's ephemeral reply to the slash command `command_id` (such as the
/// Retry buttons of `/setup deliveries`): the message carries the command's
/// `interaction_metadata`, as Discord sends it; serenity drops the click without it.
pub fn button_on_reply(id: u64, guild: u64, user: &User, custom_id: &str, channel: u64, command_id: u64) -> Value {
    let mut v = button(id, guild, user, custom_id, channel, command_id + 1);
    v["message"]["flags"] = json!(64);
    v["message"]["interaction_metadata"] = json!({
        "id": command_id.to_string(),
        "type": 2,
        "user": user.user_json(),
        "authorizing_integration_owners": { "0": guild.to_string() },
        "name": "setup deliveries",
    });
    v
}

/// Makes an interaction a DM one, as Discord sends it from the bot's DM with `user`: `user`
/// instead of `member`, no guild, the DM channel, context 1 (bot DM).
fn in_dm(mut v: Value, user: &User) -> Value {
    let o = v.as_object_mut().unwrap();
    for k in ["guild_id", "member", "guild_locale"] {
        o.remove(k);
    }
    let dm = dm_channel(user.id).to_string();
    o.insert("user".into(), user.user_json());
    o.insert("channel_id".into(), json!(dm));
    o.insert(
        "channel".into(),
        json!({ "id": dm, "type": 1, "flags": 0, "last_message_id": null, "recipients": [user.user_json()] }),
    );
    o.insert("context".into(), json!(1));
    o.insert("authorizing_integration_owners".into(), json!({ "0": "0" }));
    v
}

/// A click on a button of the bot's DM `message_id` to `user`.
pub fn dm_button(id: u64, user: &User, custom_id: &str, message_id: u64) -> Value {
    let mut v = in_dm(
        base(id, 3, 0, user, json!({ "custom_id": custom_id, "component_type": 2 })),
        user,
    );
    v["message"] = message(
        &message_id.to_string(),
        &dm_channel(user.id).to_string(),
        &json!({ "content": "dm" }),
    );
    v
}

/// A form submitted from a DM (one a DM button opened).
pub fn dm_modal_submit(id: u64, user: &User, custom_id: &str, fields: &[(&str, &str)]) -> Value {
    in_dm(modal_submit(id, 0, user, custom_id, fields), user)
}

/// A modal submit (type 5) with text inputs `(custom_id, value)`.
pub fn modal_submit(id: u64, guild: u64, user: &User, custom_id: &str, fields: &[(&str, &str)]) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(cid, value)| json!({ "type": 1, "components": [{ "type": 4, "custom_id": cid, "value": value }] }))
        .collect();
    base(
        id,
        5,
        guild,
        user,
        json!({ "custom_id": custom_id, "components": rows }),
    )
}
