//! Per-guild settings and the service catalog.

use sqlx::SqliteConnection;

/// A guild's settings row (defaults when the guild never ran `/setup`).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct SettingsRow {
    /// Tenant.
    pub guild_id: i64,
    /// Where new requests are posted.
    pub triage_channel_id: Option<i64>,
    /// Where incidents are posted.
    pub incidents_channel_id: Option<i64>,
    /// Where CAB votes are posted.
    pub cab_channel_id: Option<i64>,
    /// The service desk agents.
    pub agent_role_id: Option<i64>,
    /// Incident managers.
    pub incident_manager_role_id: Option<i64>,
    /// CAB members.
    pub cab_role_id: Option<i64>,
    /// Change managers.
    pub change_manager_role_id: Option<i64>,
    /// IANA time zone of business hours.
    pub timezone: String,
    /// Working days, e.g. `mon-fri`.
    pub work_days: String,
    /// Start of the working day, `HH:MM`.
    pub work_start: String,
    /// End of the working day, `HH:MM`.
    pub work_end: String,
    /// How long a resolved ticket waits before closing itself.
    pub autoclose_after: String,
}

/// The guild's settings, or the defaults if it has none yet.
pub async fn get_settings(conn: &mut SqliteConnection, guild_id: i64) -> Result<SettingsRow, sqlx::Error> {
    let row: Option<SettingsRow> = sqlx::query_as(
        "SELECT guild_id, triage_channel_id, incidents_channel_id, cab_channel_id, agent_role_id,
                incident_manager_role_id, cab_role_id, change_manager_role_id, timezone, work_days,
                work_start, work_end, autoclose_after
         FROM guild_settings WHERE guild_id = ?",
    )
    .bind(guild_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.unwrap_or_else(|| SettingsRow {
        guild_id,
        timezone: "UTC".into(),
        work_days: "mon-fri".into(),
        work_start: "09:00".into(),
        work_end: "17:00".into(),
        autoclose_after: "7d".into(),
        ..SettingsRow::default()
    }))
}

/// Which settings column a `/setup channel` or `/setup role` writes. The names are fixed here so
/// no user text ever reaches SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingColumn {
    /// `triage_channel_id`.
    TriageChannel,
    /// `incidents_channel_id`.
    IncidentsChannel,
    /// `cab_channel_id`.
    CabChannel,
    /// `agent_role_id`.
    AgentRole,
    /// `incident_manager_role_id`.
    IncidentManagerRole,
    /// `cab_role_id`.
    CabRole,
    /// `change_manager_role_id`.
    ChangeManagerRole,
}

impl SettingColumn {
    /// The column name.
    pub fn column(self) -> &'static str {
        match self {
            SettingColumn::TriageChannel => "triage_channel_id",
            SettingColumn::IncidentsChannel => "incidents_channel_id",
            SettingColumn::CabChannel => "cab_channel_id",
            SettingColumn::AgentRole => "agent_role_id",
            SettingColumn::IncidentManagerRole => "incident_manager_role_id",
            SettingColumn::CabRole => "cab_role_id",
            SettingColumn::ChangeManagerRole => "change_manager_role_id",
        }
    }

    /// The value in a settings row.
    pub fn get(self, s: &SettingsRow) -> Option<i64> {
        match self {
            SettingColumn::TriageChannel => s.triage_channel_id,
            SettingColumn::IncidentsChannel => s.incidents_channel_id,
            SettingColumn::CabChannel => s.cab_channel_id,
            SettingColumn::AgentRole => s.agent_role_id,
            SettingColumn::IncidentManagerRole => s.incident_manager_role_id,
            SettingColumn::CabRole => s.cab_role_id,
            SettingColumn::ChangeManagerRole => s.change_manager_role_id,
        }
    }
}

/// Sets one id column of a guild's settings (creating the row if needed).
pub async fn set_setting_id(
    conn: &mut SqliteConnection,
    guild_id: i64,
    column: SettingColumn,
    value: i64,
    at: i64,
) -> Result<(), sqlx::Error> {
    let col = column.column();
    let sql = format!(
        "INSERT INTO guild_settings (guild_id, {col}, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (guild_id) DO UPDATE SET {col} = excluded.{col}, updated_at = excluded.updated_at"
    );
    sqlx::query(&sql)
        .bind(guild_id)
        .bind(value)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// A catalog item.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CatalogItem {
    /// Row id.
    pub id: i64,
    /// Name shown in autocomplete.
    pub name: String,
    /// What it is for.
    pub description: String,
}

/// Adds (or re-activates) a catalog item. `false` if an active item of that name exists.
pub async fn insert_catalog_item(
    conn: &mut SqliteConnection,
    guild_id: i64,
    name: &str,
    description: &str,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO catalog_items (guild_id, name, description, active, created_at) VALUES (?, ?, ?, 1, ?)
         ON CONFLICT (guild_id, name) DO UPDATE SET description = excluded.description, active = 1
         WHERE active = 0",
    )
    .bind(guild_id)
    .bind(name)
    .bind(description)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Retires a catalog item (tickets keep its name). `false` if no active item has that name.
pub async fn deactivate_catalog_item(
    conn: &mut SqliteConnection,
    guild_id: i64,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE catalog_items SET active = 0 WHERE guild_id = ? AND name = ? AND active = 1")
        .bind(guild_id)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Active catalog items whose name contains `needle` (case-insensitive), alphabetical.
pub async fn search_catalog(
    conn: &mut SqliteConnection,
    guild_id: i64,
    needle: &str,
    limit: i64,
) -> Result<Vec<CatalogItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, description FROM catalog_items
         WHERE guild_id = ? AND active = 1 AND instr(lower(name), lower(?)) > 0
         ORDER BY name LIMIT ?",
    )
    .bind(guild_id)
    .bind(needle)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The active catalog item of that exact name (case-insensitive).
pub async fn find_catalog_item(
    conn: &mut SqliteConnection,
    guild_id: i64,
    name: &str,
) -> Result<Option<CatalogItem>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, description FROM catalog_items WHERE guild_id = ? AND name = ? AND active = 1")
        .bind(guild_id)
        .bind(name)
        .fetch_optional(conn)
        .await
}

/// Everything the desk reads of a guild's configuration on almost every use-case, loaded in one
/// go so the service can keep it in memory: settings, holidays, SLA targets, escalation policies
/// and the on-call schedule.
#[derive(Debug, Clone, Default)]
pub struct GuildConfig {
    /// The settings row (or the defaults).
    pub settings: SettingsRow,
    /// `(YYYY-MM-DD, name)`, in date order.
    pub holidays: Vec<(String, String)>,
    /// SLA target overrides: `(kind, priority, respond, resolve)`.
    pub sla_targets: Vec<(String, i64, String, String)>,
    /// Escalation policy overrides: `(priority, delay, ack timeout, rounds)`.
    pub escalations: Vec<(i64, String, String, i64)>,
    /// Rotation members: `(level, user)` in rotation order.
    pub oncall_members: Vec<(i64, i64)>,
    /// Rotations: `(level, turn_hours, start_at)`.
    pub rotations: Vec<(i64, i64, i64)>,
    /// Overrides ending after the moment this was loaded: `(level, user, start, end)`.
    pub overrides: Vec<(i64, i64, i64, i64)>,
    /// Whether the guild has a published knowledge article (intake searches only then).
    pub has_articles: bool,
}

/// Loads a guild's configuration; overrides that ended by `now` are left out.
pub async fn load_guild_config(
    conn: &mut SqliteConnection,
    guild_id: i64,
    now: i64,
) -> Result<GuildConfig, sqlx::Error> {
    let settings = get_settings(conn, guild_id).await?;
    let holidays = super::list_holidays(conn, guild_id).await?;
    let sla_targets = sqlx::query_as("SELECT kind, priority, respond, resolve FROM sla_targets WHERE guild_id = ?")
        .bind(guild_id)
        .fetch_all(&mut *conn)
        .await?;
    let escalations =
        sqlx::query_as("SELECT priority, delay, ack_timeout, rounds FROM escalation_policies WHERE guild_id = ?")
            .bind(guild_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(GuildConfig {
        settings,
        holidays,
        sla_targets,
        escalations,
        oncall_members: super::list_guild_oncall_members(conn, guild_id).await?,
        rotations: super::list_guild_rotations(conn, guild_id).await?,
        overrides: super::list_guild_overrides(conn, guild_id, now).await?,
        has_articles: sqlx::query_scalar(
            "SELECT EXISTS(SELECT 1 FROM kb_articles WHERE guild_id = ? AND state = 'published')",
        )
        .bind(guild_id)
        .fetch_one(&mut *conn)
        .await?,
    })
}
