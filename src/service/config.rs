//! Guilds' configuration kept in memory: settings, holidays, SLA targets, escalation policies
//! and on-call schedules are read on almost every use-case and change rarely, so a use-case reads
//! them here instead of asking the writer's connection six times.
//!
//! A use-case that changes any of them writes through [`super::Work::config_tx`], and the desk
//! forgets every guild's entry when that use-case ends (committed or not). An entry loaded while
//! a change was in flight is never kept: [`ConfigCache::put`] refuses a load that began before the
//! latest change ended.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::store::GuildConfig;

/// The guilds' configuration, loaded on first use.
#[derive(Default)]
pub(super) struct ConfigCache {
    /// Bumped whenever a change to configuration ends.
    generation: AtomicU64,
    guilds: Mutex<HashMap<i64, Arc<GuildConfig>>>,
}

impl ConfigCache {
    /// A guild's configuration, if loaded and unchanged since.
    pub(super) fn get(&self, guild_id: i64) -> Option<Arc<GuildConfig>> {
        self.guilds.lock().ok()?.get(&guild_id).cloned()
    }

    /// The generation to pass to [`ConfigCache::put`], read before loading.
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Keeps a loaded configuration, unless a change ended since `generation` was read.
    pub(super) fn put(&self, guild_id: i64, config: Arc<GuildConfig>, generation: u64) {
        if let Ok(mut guilds) = self.guilds.lock() {
            // Checked under the lock `forget` takes, so a change cannot slip between.
            if self.generation.load(Ordering::SeqCst) == generation {
                guilds.insert(guild_id, config);
            }
        }
    }

    /// Forgets every guild's configuration (a change to one has ended).
    pub(super) fn forget(&self) {
        if let Ok(mut guilds) = self.guilds.lock() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            guilds.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_began_before_a_change_ended_is_not_kept() {
        let cache = ConfigCache::default();
        let before = cache.generation();
        cache.forget();
        cache.put(1, Arc::default(), before);
        assert!(cache.get(1).is_none(), "loaded before the change: stale");
        let now = cache.generation();
        cache.put(1, Arc::default(), now);
        assert!(cache.get(1).is_some());
        cache.forget();
        assert!(cache.get(1).is_none(), "a change forgets what was kept");
    }

    /// The store's writers of configuration; each call in `service/` must follow a
    /// `w.configuring()` in the same function, or memory would keep the old configuration.
    const CONFIG_WRITERS: [&str; 12] = [
        "insert_article",
        "retire_article",
        "insert_oncall_member",
        "delete_oncall_member",
        "set_rotation",
        "insert_override",
        "set_escalation",
        "set_sla_target",
        "upsert_holiday",
        "set_hours",
        "set_autoclose",
        "set_setting_id",
    ];

    #[test]
    fn the_list_of_writers_is_every_store_function_that_writes_configuration() {
        let tables = [
            "guild_settings",
            "holidays",
            "sla_targets",
            "escalation_policies",
            "oncall_members",
            "oncall_rotations",
            "oncall_overrides",
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
        let mut writers = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let mut current = "";
            for line in source.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ") {
                    current = rest.split('(').next().unwrap_or_default();
                }
                // Whether a guild has a published article is kept too: adding or retiring one.
                let articles =
                    line.contains("INSERT INTO kb_articles") || line.contains("UPDATE kb_articles SET state");
                let writes = articles
                    || tables.iter().any(|t| {
                        ["INSERT INTO ", "UPDATE ", "DELETE FROM ", "REPLACE INTO "]
                            .iter()
                            .any(|verb| line.contains(&format!("{verb}{t} ")) || line.contains(&format!("{verb}{t}\"")))
                    });
                if writes {
                    writers.insert(current.to_owned());
                }
            }
        }
        let listed: std::collections::BTreeSet<String> = CONFIG_WRITERS.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(writers, listed);
    }

    #[test]
    fn every_write_of_configuration_says_so_first() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/service");
        let mut calls = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            let (mut in_fn, mut said) = (0, None);
            for (n, line) in source.lines().enumerate() {
                if line.trim_start().starts_with("pub async fn ")
                    || line.contains(" fn ")
                    || line.trim_start().starts_with("async fn ")
                {
                    in_fn = n;
                }
                if line.contains("configuring()") {
                    said = Some(n);
                }
                for name in CONFIG_WRITERS {
                    if line.contains(&format!("store::{name}(")) {
                        calls += 1;
                        assert!(
                            said.is_some_and(|s| s >= in_fn),
                            "{}:{}: store::{name} without w.configuring() before it",
                            path.display(),
                            n + 1
                        );
                    }
                }
            }
        }
        assert!(
            calls >= CONFIG_WRITERS.len(),
            "found {calls} calls: has the store changed?"
        );
    }
}
