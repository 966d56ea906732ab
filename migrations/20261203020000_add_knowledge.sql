-- Knowledge (issue #15): articles, searched with SQLite's FTS5 (Porter stemming, bm25), offered
-- at intake; votes; and the drafts held while a member reads what was offered.
CREATE TABLE kb_articles (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    number      INTEGER NOT NULL,
    title       TEXT    NOT NULL,
    symptoms    TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL,
    tags        TEXT    NOT NULL DEFAULT '',
    state       TEXT    NOT NULL DEFAULT 'published' CHECK (state IN ('published', 'retired')),
    author_id   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    review_by   INTEGER NOT NULL,
    deflections INTEGER NOT NULL DEFAULT 0,
    UNIQUE (guild_id, number)
);

-- The search index: title weighted above symptoms above body (the weights are bm25's, at query
-- time), Porter stemming. An external-content table kept in step by the triggers below.
CREATE VIRTUAL TABLE kb_search USING fts5(
    title, symptoms, body, tags,
    content = 'kb_articles', content_rowid = 'id', tokenize = 'porter unicode61'
);
CREATE TRIGGER kb_articles_ai AFTER INSERT ON kb_articles BEGIN
    INSERT INTO kb_search (rowid, title, symptoms, body, tags) VALUES (new.id, new.title, new.symptoms, new.body, new.tags);
END;
CREATE TRIGGER kb_articles_ad AFTER DELETE ON kb_articles BEGIN
    INSERT INTO kb_search (kb_search, rowid, title, symptoms, body, tags) VALUES ('delete', old.id, old.title, old.symptoms, old.body, old.tags);
END;
CREATE TRIGGER kb_articles_au AFTER UPDATE OF title, symptoms, body, tags ON kb_articles BEGIN
    INSERT INTO kb_search (kb_search, rowid, title, symptoms, body, tags) VALUES ('delete', old.id, old.title, old.symptoms, old.body, old.tags);
    INSERT INTO kb_search (rowid, title, symptoms, body, tags) VALUES (new.id, new.title, new.symptoms, new.body, new.tags);
END;

-- One vote per member and article (a later vote replaces the earlier).
CREATE TABLE kb_votes (
    article_id INTEGER NOT NULL REFERENCES kb_articles (id),
    user_id    INTEGER NOT NULL,
    helpful    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (article_id, user_id)
);

-- A /request new or /incident new held while its member reads the articles offered; the first
-- answer ("This solved it" or "Still need help") takes it.
CREATE TABLE kb_intake (
    id          INTEGER PRIMARY KEY,   -- the interaction that asked
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('request', 'incident')),
    draft       TEXT    NOT NULL,
    articles    TEXT    NOT NULL,      -- the article ids offered, comma-separated
    created_at  INTEGER NOT NULL,
    answered_at INTEGER,
    outcome     TEXT CHECK (outcome IN ('solved', 'raised'))
);

-- What a ticket's card offers agents: the articles that matched when it was raised.
ALTER TABLE tickets ADD COLUMN kb_suggestions TEXT;
