//! The knowledge base: articles written through a form, searched with FTS5 (title above body),
//! voted on, and offered while a member raises a ticket.

use serde_json::Value;

use crate::support::*;

async fn write_article(desk: &TestDesk, title: &str, symptoms: &str, body: &str, tags: &str) -> String {
    let form = desk.cmd(&bob(), "kb", Some("add"), &[s("title", title)]).await;
    assert_eq!(form["type"], 9, "a form opens: {form}");
    assert_eq!(form["data"]["custom_id"], "kb-add");
    let id = desk.fake.snowflake();
    let fields = [("title", title), ("symptoms", symptoms), ("body", body), ("tags", tags)];
    text(&desk.send(modal_submit(id, GUILD, &bob(), "kb-add", &fields)).await)
}

async fn click(desk: &TestDesk, user: &User, custom_id: &str, reply_to: u64) -> String {
    let id = desk.fake.snowflake();
    text(
        &desk
            .send(button_on_reply(id, GUILD, user, custom_id, GENERAL, reply_to))
            .await,
    )
}

/// `user` raises a request and gets (the interaction id, the reply).
async fn request(desk: &TestDesk, user: &User, summary: &str) -> (u64, Value) {
    let id = desk.fake.snowflake();
    let opts = [s("item", "Laptop"), s("summary", summary)];
    (
        id,
        desk.send(slash(id, GUILD, user, "request", Some("new"), &opts, &[]))
            .await,
    )
}

async fn count(desk: &mut TestDesk, sql: &str) -> i64 {
    let db = desk.db().await;
    sqlx::query_scalar(sql).fetch_one(&db).await.unwrap()
}

async fn knowledge_desk() -> TestDesk {
    let desk = TestDesk::start().await;
    desk.setup_basics(&ada()).await;
    let done = write_article(
        &desk,
        "Printer shows offline",
        "The printer icon says offline; jobs wait in the queue",
        "Restart the print spooler: Services → Print Spooler → Restart. Then check the network cable.",
        "printer",
    )
    .await;
    assert!(done.contains("KB-1 is published"), "{done}");
    let done = write_article(
        &desk,
        "Laptop battery drains fast",
        "",
        "Lower the screen brightness, close the printer utility that polls every second, update the BIOS.",
        "laptop",
    )
    .await;
    assert!(done.contains("KB-2 is published"), "{done}");
    desk
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn articles_are_written_by_agents_found_best_first_and_voted_on_once_each() {
    let mut desk = knowledge_desk().await;
    let refused = desk.cmd(&mia(), "kb", Some("add"), &[s("title", "My tip")]).await;
    assert!(
        text(&refused).contains("Only service desk agents"),
        "{}",
        text(&refused)
    );

    // The title weighs more than the body: "printer" finds KB-1 before KB-2.
    let found = text(&desk.cmd(&mia(), "kb", Some("search"), &[s("query", "printer")]).await);
    let (one, two) = (found.find("KB-1").unwrap(), found.find("KB-2").unwrap());
    assert!(one < two, "{found}");
    for query in ["printing", "printers"] {
        let stemmed = text(&desk.cmd(&mia(), "kb", Some("search"), &[s("query", query)]).await);
        assert!(stemmed.contains("KB-1"), "Porter stemming, {query}: {stemmed}");
    }
    let elsewhere = desk
        .cmd_in(OTHER_GUILD, &ada(), "kb", Some("search"), &[s("query", "printer")], &[])
        .await;
    assert!(
        text(&elsewhere).contains("No article matches"),
        "another server's articles: {}",
        text(&elsewhere)
    );
    let ac = autocomplete(
        desk.fake.snowflake(),
        GUILD,
        &mia(),
        "kb",
        "search",
        &[s("query", "prin")],
        "query",
    );
    let choices = desk.send(ac).await;
    assert!(choices.to_string().contains("Printer shows offline"), "{choices}");

    let id = desk.fake.snowflake();
    let shown = desk
        .send(slash(id, GUILD, &mia(), "kb", Some("show"), &[s("id", "KB-1")], &[]))
        .await;
    assert!(
        text(&shown).contains("KB-1 · Printer shows offline"),
        "{}",
        text(&shown)
    );
    assert_eq!(custom_ids(&shown), ["kb-vote:1:up", "kb-vote:1:down"]);
    assert!(click(&desk, &mia(), "kb-vote:1:up", id).await.contains("👍 1 · 👎 0"));
    assert!(
        click(&desk, &mia(), "kb-vote:1:down", id).await.contains("👍 0 · 👎 1"),
        "a later vote replaces"
    );
    assert!(click(&desk, &bob(), "kb-vote:1:up", id).await.contains("👍 1 · 👎 1"));

    let other = desk
        .cmd_in(OTHER_GUILD, &ada(), "kb", Some("show"), &[s("id", "KB-1")], &[])
        .await;
    assert!(
        text(&other).contains("There is no KB-1 in this server"),
        "{}",
        text(&other)
    );

    // Edit opens the form as it is; retire stops it being found.
    let form = desk.cmd(&bob(), "kb", Some("edit"), &[s("id", "KB-2")]).await;
    assert_eq!(form["data"]["custom_id"], "kb-edit:KB-2");
    assert!(form.to_string().contains("Laptop battery drains fast"), "{form}");
    let fields = [
        ("title", "Laptop battery drains"),
        ("symptoms", ""),
        ("body", "Lower the brightness."),
        ("tags", ""),
    ];
    let edited = desk
        .send(modal_submit(
            desk.fake.snowflake(),
            GUILD,
            &bob(),
            "kb-edit:KB-2",
            &fields,
        ))
        .await;
    assert!(text(&edited).contains("KB-2 is updated"), "{}", text(&edited));
    let retired = desk.cmd(&bob(), "kb", Some("retire"), &[s("id", "KB-1")]).await;
    assert!(text(&retired).contains("KB-1 is retired"), "{}", text(&retired));
    let gone = text(
        &desk
            .cmd(&mia(), "kb", Some("search"), &[s("query", "printer offline")])
            .await,
    );
    assert!(!gone.contains("KB-1"), "{gone}");
    assert_eq!(
        count(&mut desk, "SELECT count(*) FROM audit_log WHERE action LIKE 'kb-%'").await,
        4
    );
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_article_is_offered_before_a_ticket_is_raised_and_the_first_answer_counts() {
    let mut desk = knowledge_desk().await;

    // "This solved it": nothing is raised, a deflection is counted, a second click does nothing.
    let (asked, reply) = request(&desk, &mia(), "Printer offline again").await;
    assert!(is_ephemeral(&reply));
    assert!(
        text(&reply).contains("These may help:") && text(&reply).contains("KB-1"),
        "{}",
        text(&reply)
    );
    assert!(
        !text(&reply).contains("KB-2"),
        "a weak match is not offered: {}",
        text(&reply)
    );
    assert_eq!(
        custom_ids(&reply),
        [format!("kb-solved:{asked}"), format!("kb-more:{asked}")]
    );
    assert_eq!(
        count(&mut desk, "SELECT count(*) FROM tickets").await,
        0,
        "nothing raised yet"
    );
    assert!(click(&desk, &mia(), &format!("kb-solved:{asked}"), asked)
        .await
        .contains("Glad that helped"));
    assert!(click(&desk, &mia(), &format!("kb-more:{asked}"), asked)
        .await
        .contains("You already answered"));
    assert_eq!(count(&mut desk, "SELECT count(*) FROM tickets").await, 0);
    assert_eq!(
        count(&mut desk, "SELECT deflections FROM kb_articles WHERE number = 1").await,
        1
    );

    // "Still need help": raised as asked, its card offering agents the article.
    let (asked, _) = request(&desk, &mia(), "My printer is offline").await;
    let raised = click(&desk, &mia(), &format!("kb-more:{asked}"), asked).await;
    assert!(raised.contains("REQ-1 is raised"), "{raised}");
    desk.drain().await;
    let card = desk
        .fake
        .requests()
        .into_iter()
        .find(|r| r.path == format!("/channels/{TRIAGE}/messages") && text(&r.body).contains("REQ-1 ·"))
        .expect("the card");
    assert!(
        text(&card.body).contains("Might help: KB-1 · Printer shows offline"),
        "{}",
        text(&card.body)
    );

    // No good match: raised at once. Agents are not asked.
    let (_, direct) = request(&desk, &mia(), "Need a second monitor").await;
    assert!(text(&direct).contains("REQ-2 is raised"), "{}", text(&direct));
    let (_, agent) = request(&desk, &bob(), "Printer offline in room 4").await;
    assert!(text(&agent).contains("REQ-3 is raised"), "{}", text(&agent));

    // Incidents too.
    let id = desk.fake.snowflake();
    let opts = [
        s("title", "Printer offline on floor 3"),
        s("impact", "low"),
        s("urgency", "medium"),
    ];
    let offer = desk
        .send(slash(id, GUILD, &mia(), "incident", Some("new"), &opts, &[]))
        .await;
    assert!(text(&offer).contains("These may help:"), "{}", text(&offer));
    let opened = click(&desk, &mia(), &format!("kb-more:{id}"), id).await;
    assert!(opened.contains("INC-1"), "{opened}");
    desk.fake.assert_valid();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_due_for_review_reminds_the_agents_once_and_an_edit_moves_the_date() {
    let mut desk = knowledge_desk().await;
    desk.clock.advance(chrono::Duration::days(100));
    let fields = [
        ("title", "Laptop battery drains fast"),
        ("symptoms", ""),
        ("body", "Lower the brightness."),
        ("tags", ""),
    ];
    let edited = desk
        .send(modal_submit(
            desk.fake.snowflake(),
            GUILD,
            &bob(),
            "kb-edit:KB-2",
            &fields,
        ))
        .await;
    assert!(text(&edited).contains("KB-2 is updated"), "{}", text(&edited));
    desk.clock.advance(chrono::Duration::days(81));
    desk.drain().await;
    desk.clock.advance(chrono::Duration::days(1));
    desk.drain().await;
    let reminders: Vec<Value> = desk
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path == format!("/channels/{TRIAGE}/messages") && text(&r.body).contains("due for review"))
        .map(|r| r.body)
        .collect();
    assert_eq!(
        reminders.len(),
        1,
        "KB-1 once; KB-2 was reviewed 81 days ago: {reminders:?}"
    );
    assert!(
        text(&reminders[0]).contains("KB-1 “Printer shows offline”"),
        "{}",
        text(&reminders[0])
    );
    assert_eq!(
        reminders[0]["allowed_mentions"]["roles"],
        serde_json::json!([AGENT_ROLE.to_string()])
    );
    assert_eq!(
        reminders[0]["allowed_mentions"]["users"],
        serde_json::json!([]),
        "the author is named, not pinged"
    );
    desk.fake.assert_valid();
}
