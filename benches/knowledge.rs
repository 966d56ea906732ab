//! Knowledge search at scale: `/kb search` and the intake match over 100,000 articles in one
//! guild, on a real database file (WAL, `synchronous=FULL`), straight through the store.
//!
//! `cargo bench --bench knowledge` (optionally `-- 20000` articles; default 100000).

use std::time::{Duration, Instant};

use servicedesk::domain::knowledge::{fts_query, worth_offering};
use servicedesk::store::{self, ArticleText};

const WORDS: [&str; 48] = [
    "printer",
    "offline",
    "vpn",
    "drops",
    "password",
    "reset",
    "laptop",
    "battery",
    "screen",
    "flicker",
    "email",
    "outlook",
    "calendar",
    "sync",
    "wifi",
    "slow",
    "network",
    "drive",
    "mapped",
    "share",
    "access",
    "denied",
    "teams",
    "audio",
    "camera",
    "driver",
    "update",
    "install",
    "license",
    "expired",
    "browser",
    "certificate",
    "error",
    "login",
    "account",
    "locked",
    "phone",
    "mobile",
    "token",
    "backup",
    "restore",
    "disk",
    "full",
    "server",
    "timeout",
    "monitor",
    "keyboard",
    "mouse",
];

/// A deterministic pseudo-random word stream (no crate needed for a benchmark).
struct Words(u64);

impl Words {
    fn next(&mut self) -> &'static str {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        WORDS[((self.0 >> 33) % WORDS.len() as u64) as usize]
    }
    fn text(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(" ")
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e3
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kb.db");
        let pool = store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        let mut words = Words(7);
        let started = Instant::now();
        let mut conn = pool.acquire().await.unwrap();
        for chunk in 0..n.div_ceil(1000) {
            let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
            for _ in 0..1000.min(n - chunk * 1000) {
                let (title, symptoms, body) = (words.text(5), words.text(12), words.text(80));
                let text = ArticleText {
                    title: &title,
                    symptoms: &symptoms,
                    body: &body,
                    tags: "",
                };
                store::insert_article(&mut tx, 1, &text, 1, 0, 0).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
        let loaded = started.elapsed();
        let (mut search, mut intake) = (Vec::new(), Vec::new());
        let mut offered = 0;
        for _ in 0..500 {
            let typed = format!("my {} is {} again", words.next(), words.next());
            let q = fts_query(&typed).unwrap();
            let t = Instant::now();
            store::search_articles(&mut conn, 1, &q, 10).await.unwrap();
            search.push(t.elapsed());
            // What intake does: the ten best, then the coverage rule, at most three offered.
            let t = Instant::now();
            let rows = store::search_articles(&mut conn, 1, &q, 10).await.unwrap();
            offered += rows
                .iter()
                .filter(|a| worth_offering(&typed, &format!("{} {} {}", a.title, a.symptoms, a.body)))
                .take(3)
                .count();
            intake.push(t.elapsed());
        }
        drop(conn);
        pool.close().await;
        let size = std::fs::metadata(&path).map_or(0, |m| m.len())
            + std::fs::metadata(dir.path().join("kb.db-wal")).map_or(0, |m| m.len());
        println!(
            "knowledge: {n} articles loaded in {:.1} s; database {:.1} MB",
            loaded.as_secs_f64(),
            size as f64 / 1e6
        );
        println!(
            "  /kb search (10 best, bm25)      p50 {:>7.2} ms  p99 {:>7.2} ms",
            pct(&mut search, 0.5),
            pct(&mut search, 0.99)
        );
        println!(
            "  intake match (search + filter)  p50 {:>7.2} ms  p99 {:>7.2} ms  ({offered} offers over 500 queries)",
            pct(&mut intake, 0.5),
            pct(&mut intake, 0.99)
        );
    });
}
