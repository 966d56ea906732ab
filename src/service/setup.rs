//! `/setup`: the guild's channels, roles and service catalog (admins only).

use serde_json::Value;

use super::{Actor, Call, Desk, Result, Standing};
use crate::domain::access::{self, Act};
use crate::domain::text::{self, MAX_ITEM_DESCRIPTION_CHARS, MAX_ITEM_NAME_CHARS};
use crate::render;
use crate::render::refusals::SetupError;
use crate::store::{self, SettingColumn};

/// What a `/setup channel` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelPurpose {
    /// New requests and their cards.
    Triage,
    /// Incidents and pages.
    Incidents,
    /// CAB votes.
    Cab,
}

impl ChannelPurpose {
    /// Parses the command choice.
    pub fn parse(s: &str) -> Option<ChannelPurpose> {
        match s {
            "triage" => Some(ChannelPurpose::Triage),
            "incidents" => Some(ChannelPurpose::Incidents),
            "cab" => Some(ChannelPurpose::Cab),
            _ => None,
        }
    }

    fn column(self) -> SettingColumn {
        match self {
            ChannelPurpose::Triage => SettingColumn::TriageChannel,
            ChannelPurpose::Incidents => SettingColumn::IncidentsChannel,
            ChannelPurpose::Cab => SettingColumn::CabChannel,
        }
    }
}

/// What a `/setup role` maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolePurpose {
    /// Service desk agents.
    Agent,
    /// Incident managers.
    IncidentManager,
    /// CAB members.
    Cab,
    /// Change managers.
    ChangeManager,
}

impl RolePurpose {
    /// Parses the command choice.
    pub fn parse(s: &str) -> Option<RolePurpose> {
        match s {
            "agent" => Some(RolePurpose::Agent),
            "incident-manager" => Some(RolePurpose::IncidentManager),
            "cab" => Some(RolePurpose::Cab),
            "change-manager" => Some(RolePurpose::ChangeManager),
            _ => None,
        }
    }

    fn column(self) -> SettingColumn {
        match self {
            RolePurpose::Agent => SettingColumn::AgentRole,
            RolePurpose::IncidentManager => SettingColumn::IncidentManagerRole,
            RolePurpose::Cab => SettingColumn::CabRole,
            RolePurpose::ChangeManager => SettingColumn::ChangeManagerRole,
        }
    }
}

/// Most catalog items offered by autocomplete (Discord's limit is 25).
pub const MAX_AUTOCOMPLETE_CHOICES: i64 = 25;

pub(super) fn require_admin(standing: Standing) -> Result<()> {
    if access::may(standing.who(false), Act::Configure) {
        Ok(())
    } else {
        Err(SetupError::AdminOnly.into())
    }
}

impl Desk {
    /// `/setup show`: every setting and the set-up checklist, as an ephemeral reply body.
    pub async fn setup_show(&self, call: &Call) -> Result<Value> {
        Ok(render::settings(&self.settings_view(call).await?))
    }

    /// `/setup channel` and `/setup role`: one id setting.
    async fn set_id(&self, call: &Call, column: SettingColumn, value: i64) -> Result<()> {
        let mut w = self.begin(call).await?;
        require_admin(w.standing)?;
        let old = column.get(&w.config.settings);
        if old == Some(value) {
            return Err(SetupError::Unchanged(render::setting_name(column).to_owned()).into());
        }
        w.configuring();
        store::set_setting_id(conn!(w), w.guild_id, column, value, w.now).await?;
        w.audit(
            None,
            "setting",
            old.map(|o| o.to_string()),
            Some(value.to_string()),
            Some(column.column().to_owned()),
        )
        .await?;
        self.finish(w).await
    }

    /// `/setup channel purpose channel`.
    pub async fn setup_channel(&self, call: &Call, purpose: ChannelPurpose, channel_id: i64) -> Result<String> {
        let column = purpose.column();
        self.set_id(call, column, channel_id).await?;
        Ok(render::channel_set(column, channel_id))
    }

    /// `/setup role purpose role`.
    pub async fn setup_role(&self, call: &Call, purpose: RolePurpose, role_id: i64) -> Result<String> {
        let column = purpose.column();
        self.set_id(call, column, role_id).await?;
        Ok(render::role_set(column, role_id))
    }

    /// `/setup catalog-add name description`.
    pub async fn catalog_add(&self, call: &Call, name: &str, description: &str) -> Result<String> {
        let name = text::required("item name", name, MAX_ITEM_NAME_CHARS)?;
        let description = text::required("description", description, MAX_ITEM_DESCRIPTION_CHARS)?;
        let mut w = self.begin(call).await?;
        require_admin(w.standing)?;
        if !store::insert_catalog_item(conn!(w), w.guild_id, &name, &description, w.now).await? {
            return Err(SetupError::InCatalog(name).into());
        }
        w.audit(None, "catalog-add", None, Some(name.clone()), Some(description))
            .await?;
        self.finish(w).await?;
        Ok(render::catalog_added(&name))
    }

    /// `/setup catalog-remove name`.
    pub async fn catalog_remove(&self, call: &Call, name: &str) -> Result<String> {
        let name = text::required("item name", name, MAX_ITEM_NAME_CHARS)?;
        let mut w = self.begin(call).await?;
        require_admin(w.standing)?;
        if !store::deactivate_catalog_item(conn!(w), w.guild_id, &name).await? {
            return Err(SetupError::NotInCatalog(name).into());
        }
        w.audit(None, "catalog-remove", Some(name.clone()), None, None).await?;
        self.finish(w).await?;
        Ok(render::catalog_removed(&name))
    }

    /// Autocomplete for catalog items: names containing what was typed, this guild only.
    pub async fn catalog_suggestions(&self, actor: &Actor, typed: &str) -> Result<Vec<String>> {
        let typed: String = typed.trim().chars().take(MAX_ITEM_NAME_CHARS).collect();
        let mut conn = self.pool.acquire().await?;
        let items = store::search_catalog(&mut conn, actor.guild_id, &typed, MAX_AUTOCOMPLETE_CHOICES).await?;
        Ok(items.into_iter().map(|i| i.name).collect())
    }
}
