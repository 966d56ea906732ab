//! Knowledge articles, their search index (FTS5) and votes, and the drafts held at intake.

use sqlx::SqliteConnection;

/// A stored article.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArticleRow {
    /// Row id.
    pub id: i64,
    /// Tenant.
    pub guild_id: i64,
    /// Number within the guild (`KB-7`).
    pub number: i64,
    /// Title.
    pub title: String,
    /// What a person sees when this applies.
    pub symptoms: String,
    /// The answer.
    pub body: String,
    /// Free tags.
    pub tags: String,
    /// `published` or `retired`.
    pub state: String,
    /// Who wrote it.
    pub author_id: i64,
    /// When.
    pub created_at: i64,
    /// Last edit.
    pub updated_at: i64,
    /// When it is due for review.
    pub review_by: i64,
    /// Tickets it spared ("This solved it" at intake).
    pub deflections: i64,
    /// The problem it was published from (a known error).
    pub problem_id: Option<i64>,
}

/// An article's text, for adding or editing.
#[derive(Debug, Clone)]
pub struct ArticleText<'a> {
    /// Title.
    pub title: &'a str,
    /// Symptoms.
    pub symptoms: &'a str,
    /// Body.
    pub body: &'a str,
    /// Tags.
    pub tags: &'a str,
}

/// Adds an article with the guild's next number.
pub async fn insert_article(
    conn: &mut SqliteConnection,
    guild_id: i64,
    text: &ArticleText<'_>,
    author: i64,
    at: i64,
    review_by: i64,
) -> Result<ArticleRow, sqlx::Error> {
    let number = super::next_ticket_number(&mut *conn, guild_id, "kb").await?;
    sqlx::query_as(
        "INSERT INTO kb_articles (guild_id, number, title, symptoms, body, tags, author_id, created_at, updated_at, review_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
    )
    .bind(guild_id)
    .bind(number)
    .bind(text.title)
    .bind(text.symptoms)
    .bind(text.body)
    .bind(text.tags)
    .bind(author)
    .bind(at)
    .bind(at)
    .bind(review_by)
    .fetch_one(conn)
    .await
}

/// A guild's article by number.
pub async fn find_article(
    conn: &mut SqliteConnection,
    guild_id: i64,
    number: i64,
) -> Result<Option<ArticleRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM kb_articles WHERE guild_id = ? AND number = ?")
        .bind(guild_id)
        .bind(number)
        .fetch_optional(conn)
        .await
}

/// An article by row id.
pub async fn get_article(conn: &mut SqliteConnection, id: i64) -> Result<Option<ArticleRow>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM kb_articles WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Replaces an article's text (the index follows by trigger) and moves its review date.
pub async fn update_article(
    conn: &mut SqliteConnection,
    id: i64,
    text: &ArticleText<'_>,
    at: i64,
    review_by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE kb_articles SET title = ?, symptoms = ?, body = ?, tags = ?, updated_at = ?, review_by = ? WHERE id = ?",
    )
    .bind(text.title)
    .bind(text.symptoms)
    .bind(text.body)
    .bind(text.tags)
    .bind(at)
    .bind(review_by)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Retires an article: no longer found or offered.
pub async fn retire_article(conn: &mut SqliteConnection, id: i64, at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE kb_articles SET state = 'retired', updated_at = ? WHERE id = ?")
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A guild's published articles matching an FTS5 `query`, best first: bm25 with the title
/// weighted 10, symptoms 5, tags 2, body 1.
pub async fn search_articles(
    conn: &mut SqliteConnection,
    guild_id: i64,
    query: &str,
    limit: i64,
) -> Result<Vec<ArticleRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.* FROM kb_search JOIN kb_articles a ON a.id = kb_search.rowid
         WHERE kb_search MATCH ? AND a.guild_id = ? AND a.state = 'published'
         ORDER BY bm25(kb_search, 10.0, 5.0, 1.0, 2.0) LIMIT ?",
    )
    .bind(query)
    .bind(guild_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Records a member's vote (a later one replaces it); returns (helpful, not helpful) counts.
pub async fn vote_article(
    conn: &mut SqliteConnection,
    article_id: i64,
    user_id: i64,
    helpful: bool,
    at: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query(
        "INSERT INTO kb_votes (article_id, user_id, helpful, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (article_id, user_id) DO UPDATE SET helpful = excluded.helpful, at = excluded.at",
    )
    .bind(article_id)
    .bind(user_id)
    .bind(helpful)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    article_votes(conn, article_id).await
}

/// (helpful, not helpful) votes of an article.
pub async fn article_votes(conn: &mut SqliteConnection, article_id: i64) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as("SELECT coalesce(sum(helpful), 0), coalesce(sum(1 - helpful), 0) FROM kb_votes WHERE article_id = ?")
        .bind(article_id)
        .fetch_one(conn)
        .await
}

/// A ticket draft held while its member reads the articles offered.
#[derive(Debug, Clone)]
pub struct NewKbIntake<'a> {
    /// The interaction that raised it.
    pub id: i64,
    /// Tenant.
    pub guild_id: i64,
    /// The member.
    pub user_id: i64,
    /// `request` or `incident`.
    pub kind: &'a str,
    /// The draft (JSON).
    pub draft: &'a str,
    /// The article ids offered, comma-separated.
    pub articles: &'a str,
    /// When.
    pub at: i64,
}

/// Holds a ticket draft while its member reads the articles offered.
pub async fn insert_kb_intake(conn: &mut SqliteConnection, d: &NewKbIntake<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO kb_intake (id, guild_id, user_id, kind, draft, articles, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(d.id)
    .bind(d.guild_id)
    .bind(d.user_id)
    .bind(d.kind)
    .bind(d.draft)
    .bind(d.articles)
    .bind(d.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Answers a held draft once: `(kind, draft, articles)` if it was still open and this member's.
pub async fn answer_kb_intake(
    conn: &mut SqliteConnection,
    id: i64,
    guild_id: i64,
    user_id: i64,
    outcome: &str,
    at: i64,
) -> Result<Option<(String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE kb_intake SET outcome = ?, answered_at = ?
         WHERE id = ? AND guild_id = ? AND user_id = ? AND outcome IS NULL
         RETURNING kind, draft, articles",
    )
    .bind(outcome)
    .bind(at)
    .bind(id)
    .bind(guild_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Counts a deflection on each article offered.
pub async fn count_deflection(conn: &mut SqliteConnection, article_ids: &[i64]) -> Result<(), sqlx::Error> {
    for id in article_ids {
        sqlx::query("UPDATE kb_articles SET deflections = deflections + 1 WHERE id = ?")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Remembers which articles a new ticket's card offers agents.
pub async fn set_kb_suggestions(conn: &mut SqliteConnection, ticket_id: i64, text: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET kb_suggestions = ? WHERE id = ?")
        .bind(text)
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Links an article to the problem it was published from.
pub async fn set_article_problem(conn: &mut SqliteConnection, article: i64, problem: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE kb_articles SET problem_id = ? WHERE id = ?")
        .bind(problem)
        .bind(article)
        .execute(conn)
        .await?;
    Ok(())
}
