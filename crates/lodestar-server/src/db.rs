//! The server's tables (component `server`): conversations, their messages, and feedback.

use lodestar_store::{now, rusqlite, Result, Store, StoreError};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

const MIGRATIONS: &[&str] = &["
CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user       TEXT NOT NULL,
    title      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX conversations_user ON conversations(user, updated_at);
-- role: user / assistant; answer: the full answer JSON (assistant rows); status: pending / done / cancelled / error
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    answer          TEXT,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
-- kept when a conversation is deleted: the pilot's 可用率 is measured on it
CREATE TABLE feedback (
    message_id INTEGER PRIMARY KEY,
    user       TEXT NOT NULL,
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment    TEXT,
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    route      TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"];

/// Applies the server's migrations to a home's database.
pub fn migrate(store: &mut Store) -> Result<()> {
    store.migrate_component("server", MIGRATIONS)
}

/// A conversation of one user (the chat sidebar).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversation {
    /// Conversation id.
    pub id: i64,
    /// Title (the first question, shortened).
    pub title: String,
    /// When it was started (RFC 3339).
    pub created_at: String,
    /// When a message was last added (RFC 3339).
    pub updated_at: String,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Message id.
    pub id: i64,
    /// `user` or `assistant`.
    pub role: String,
    /// The message text (the answer's Markdown for assistant messages).
    pub content: String,
    /// The answer JSON (assistant messages).
    #[serde(skip)]
    pub answer: Option<serde_json::Value>,
    /// `pending`, `done`, `cancelled` or `error`.
    pub status: String,
    /// When it was written (RFC 3339).
    pub created_at: String,
}

/// A rated answer, for `feedback export`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Feedback {
    /// The rated assistant message.
    pub message_id: i64,
    /// The account that rated it.
    pub user: String,
    /// `up` or `down`.
    pub rating: String,
    /// The rater's comment.
    pub comment: Option<String>,
    /// The question answered.
    pub question: String,
    /// The answer as rated.
    pub answer: String,
    /// The route of the answer (`metric`, `knowledge` …).
    pub route: Option<String>,
    /// When the answer was first rated (RFC 3339).
    pub created_at: String,
    /// When the rating last changed (RFC 3339).
    pub updated_at: String,
}

/// Share of rated answers rated up (AI 输出可用率).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackStats {
    /// Answers rated.
    pub rated: i64,
    /// Rated up.
    pub up: i64,
    /// Rated down.
    pub down: i64,
    /// `up / rated` as a decimal string; null when nothing was rated.
    pub usable_rate: Option<String>,
    /// Ratings with a comment.
    pub with_comment: i64,
}

/// Creates a conversation of `user` titled `title`; returns its id.
pub fn create_conversation(s: &Store, user: &str, title: &str) -> Result<i64> {
    let t = now();
    s.conn().execute(
        "INSERT INTO conversations(user, title, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![user, title, t],
    )?;
    Ok(s.conn().last_insert_rowid())
}

/// The conversation `id` when it belongs to `user`.
pub fn conversation(s: &Store, user: &str, id: i64) -> Result<Option<Conversation>> {
    Ok(s.conn()
        .query_row(
            "SELECT id, title, created_at, updated_at FROM conversations WHERE id = ?1 AND user = ?2",
            params![id, user],
            |r| Ok(Conversation { id: r.get(0)?, title: r.get(1)?, created_at: r.get(2)?, updated_at: r.get(3)? }),
        )
        .optional()?)
}

/// The conversations of `user`, most recently updated first.
pub fn list_conversations(s: &Store, user: &str) -> Result<Vec<Conversation>> {
    let mut st = s.conn().prepare(
        "SELECT id, title, created_at, updated_at FROM conversations WHERE user = ?1 ORDER BY updated_at DESC, id DESC",
    )?;
    let rows = st.query_map([user], |r| {
        Ok(Conversation { id: r.get(0)?, title: r.get(1)?, created_at: r.get(2)?, updated_at: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Deletes a conversation of `user` with its messages; false when there is none.
pub fn delete_conversation(s: &Store, user: &str, id: i64) -> Result<bool> {
    Ok(s.conn().execute("DELETE FROM conversations WHERE id = ?1 AND user = ?2", params![id, user])? > 0)
}

/// Adds a message to a conversation (touching its `updated_at`); returns the message id.
pub fn add_message(s: &Store, conversation_id: i64, role: &str, content: &str, status: &str) -> Result<i64> {
    let t = now();
    s.conn().execute(
        "INSERT INTO messages(conversation_id, role, content, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![conversation_id, role, content, status, t],
    )?;
    let id = s.conn().last_insert_rowid();
    s.conn().execute("UPDATE conversations SET updated_at = ?1 WHERE id = ?2", params![t, conversation_id])?;
    Ok(id)
}

/// Stores an assistant message's final text, answer JSON and status.
pub fn finish_message(s: &Store, id: i64, content: &str, answer: &serde_json::Value, status: &str) -> Result<()> {
    s.conn().execute(
        "UPDATE messages SET content = ?1, answer = ?2, status = ?3 WHERE id = ?4",
        params![content, answer.to_string(), status, id],
    )?;
    Ok(())
}

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    let answer: Option<String> = r.get(3)?;
    Ok(Message {
        id: r.get(0)?,
        role: r.get(1)?,
        content: r.get(2)?,
        answer: answer.and_then(|a| serde_json::from_str(&a).ok()),
        status: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// The messages of a conversation, in order.
pub fn messages(s: &Store, conversation_id: i64) -> Result<Vec<Message>> {
    let mut st = s.conn().prepare(
        "SELECT id, role, content, answer, status, created_at FROM messages WHERE conversation_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([conversation_id], message_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// An assistant message of `user`'s, with the question it answers.
pub fn answer_of_user(s: &Store, user: &str, message_id: i64) -> Result<Option<(Message, String)>> {
    let msg = s
        .conn()
        .query_row(
            "SELECT m.id, m.role, m.content, m.answer, m.status, m.created_at FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = ?1 AND c.user = ?2 AND m.role = 'assistant'",
            params![message_id, user],
            message_row,
        )
        .optional()?;
    let Some(msg) = msg else { return Ok(None) };
    let question: String = s
        .conn()
        .query_row(
            "SELECT content FROM messages WHERE conversation_id = (SELECT conversation_id FROM messages WHERE id = ?1)
             AND id < ?1 AND role = 'user' ORDER BY id DESC LIMIT 1",
            [message_id],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default();
    Ok(Some((msg, question)))
}

/// Records (or changes) `user`'s rating of an answer.
pub fn rate(s: &Store, user: &str, message_id: i64, rating: &str, comment: Option<&str>) -> Result<()> {
    if rating != "up" && rating != "down" {
        return Err(StoreError::Invalid(format!("rating `{rating}`: expected up or down")));
    }
    let (msg, question) =
        answer_of_user(s, user, message_id)?.ok_or_else(|| StoreError::NotFound(format!("answer {message_id}")))?;
    let route = msg.answer.as_ref().and_then(|a| a["route"]["kind"].as_str().map(str::to_string));
    let t = now();
    s.conn().execute(
        "INSERT INTO feedback(message_id, user, rating, comment, question, answer, route, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT(message_id) DO UPDATE SET rating = excluded.rating,
           comment = COALESCE(excluded.comment, feedback.comment), updated_at = excluded.updated_at",
        params![message_id, user, rating, comment, question, msg.content, route, t],
    )?;
    Ok(())
}

/// The rating of an answer, if any.
pub fn rating_of(s: &Store, message_id: i64) -> Result<Option<String>> {
    Ok(s.conn()
        .query_row("SELECT rating FROM feedback WHERE message_id = ?1", [message_id], |r| r.get(0))
        .optional()?)
}

/// All feedback (optionally since a date), oldest first.
pub fn feedback(s: &Store, since: Option<&str>) -> Result<Vec<Feedback>> {
    let mut st = s.conn().prepare(
        "SELECT message_id, user, rating, comment, question, answer, route, created_at, updated_at FROM feedback
         WHERE created_at >= ?1 ORDER BY created_at, message_id",
    )?;
    let rows = st.query_map([since.unwrap_or("")], |r| {
        Ok(Feedback {
            message_id: r.get(0)?,
            user: r.get(1)?,
            rating: r.get(2)?,
            comment: r.get(3)?,
            question: r.get(4)?,
            answer: r.get(5)?,
            route: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Rating counts and 可用率 of the answers rated at or after `since` (RFC 3339 or date; all when `None`).
pub fn feedback_stats(s: &Store, since: Option<&str>) -> Result<FeedbackStats> {
    let (rated, up, with_comment): (i64, i64, i64) = s.conn().query_row(
        "SELECT COUNT(*), COALESCE(SUM(rating = 'up'), 0), COALESCE(SUM(comment IS NOT NULL AND comment <> ''), 0)
         FROM feedback WHERE created_at >= ?1",
        [since.unwrap_or("")],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let usable_rate =
        (rated > 0).then(|| (rust_decimal::Decimal::from(up) / rust_decimal::Decimal::from(rated)).to_string());
    Ok(FeedbackStats { rated, up, down: rated - up, usable_rate, with_comment })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_messages_and_feedback_round_trip() {
        let mut s = Store::open_in_memory().unwrap();
        migrate(&mut s).unwrap();
        let c = create_conversation(&s, "li", "俄罗斯 9 月").unwrap();
        let q = add_message(&s, c, "user", "俄罗斯 9 月全钢达成率？", "done").unwrap();
        let a = add_message(&s, c, "assistant", "", "pending").unwrap();
        assert!(a > q);
        finish_message(&s, a, "达成率 96.00%", &serde_json::json!({"route": {"kind": "metric"}}), "done").unwrap();
        assert!(conversation(&s, "wang", c).unwrap().is_none(), "another user's conversation");
        let msgs = messages(&s, c).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1].content, "达成率 96.00%");
        assert!(rate(&s, "wang", a, "up", None).is_err(), "cannot rate another user's answer");
        assert!(rate(&s, "li", q, "up", None).is_err(), "a question is not an answer");
        assert!(rate(&s, "li", a, "meh", None).is_err());
        rate(&s, "li", a, "down", Some("数字不对")).unwrap();
        rate(&s, "li", a, "up", None).unwrap();
        let f = feedback(&s, None).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].rating.as_str(), f[0].comment.as_deref()), ("up", Some("数字不对")));
        assert_eq!(f[0].question, "俄罗斯 9 月全钢达成率？");
        assert_eq!(f[0].route.as_deref(), Some("metric"));
        // 2 of 3 rated up → 2/3 as an exact decimal string
        let c2 = create_conversation(&s, "li", "x").unwrap();
        for r in ["up", "down"] {
            let m = add_message(&s, c2, "assistant", "…", "done").unwrap();
            rate(&s, "li", m, r, None).unwrap();
        }
        let st = feedback_stats(&s, None).unwrap();
        assert_eq!((st.rated, st.up, st.down, st.with_comment), (3, 2, 1, 1));
        assert_eq!(st.usable_rate.as_deref(), Some("0.6666666666666666666666666667"));
        assert!(delete_conversation(&s, "li", c).unwrap());
        assert!(messages(&s, c).unwrap().is_empty());
        assert_eq!(feedback(&s, None).unwrap().len(), 3, "feedback outlives the conversation");
    }
}
