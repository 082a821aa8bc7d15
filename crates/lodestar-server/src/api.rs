//! Conversations (`/api/conversations…`) and feedback (`/api/feedback`).

use crate::auth::Auth;
use crate::error::ApiError;
use crate::{db, render, AppState};
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

/// `GET /api/conversations`.
pub async fn list(State(state): State<Arc<AppState>>, auth: Auth) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store()?;
    let list = db::list_conversations(&store, &auth.user.name)?;
    Ok(Json(serde_json::json!({ "conversations": list })))
}

/// `GET /api/conversations/{id}`: the messages with their citations, warnings and ratings.
pub async fn get(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store()?;
    let c = db::conversation(&store, &auth.user.name, id)?
        .ok_or_else(|| ApiError::not_found(format!("conversation {id}")))?;
    let mut out = Vec::new();
    for m in db::messages(&store, id)? {
        let mut v = serde_json::json!({
            "id": m.id, "role": m.role, "content": m.content, "status": m.status, "created_at": m.created_at,
        });
        if m.role == "assistant" {
            let a = m.answer.clone().unwrap_or(serde_json::Value::Null);
            v["answer_html"] = render::markdown_to_html(&m.content).into();
            for k in ["citations", "warnings", "tool_results"] {
                v[k] = a.get(k).cloned().unwrap_or_else(|| serde_json::json!([]));
            }
            v["needs_review"] = a.get("needs_review").cloned().unwrap_or(false.into());
            v["route"] = a.get("route").cloned().unwrap_or(serde_json::Value::Null);
            if let Some(e) = a.get("error") {
                v["error"] = e.clone();
            }
            v["rating"] = db::rating_of(&store, m.id)?.into();
        }
        out.push(v);
    }
    Ok(Json(
        serde_json::json!({"id": c.id, "title": c.title, "created_at": c.created_at, "updated_at": c.updated_at, "messages": out}),
    ))
}

/// `DELETE /api/conversations/{id}`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store()?;
    if !db::delete_conversation(&store, &auth.user.name, id)? {
        return Err(ApiError::not_found(format!("conversation {id}")));
    }
    store.audit(&auth.user.name, "conversation_delete", &serde_json::json!({"conversation_id": id}))?;
    Ok(Json(serde_json::json!({"id": id, "deleted": true})))
}

/// Body of `POST /api/feedback`.
#[derive(Debug, Deserialize)]
pub struct FeedbackBody {
    /// The rated assistant message.
    pub message_id: i64,
    /// `up` or `down`.
    pub rating: String,
    /// Optional comment (2000 characters at most).
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /api/feedback`.
pub async fn feedback(
    State(state): State<Arc<AppState>>,
    auth: Auth,
    body: Result<Json<FeedbackBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(b) = body?;
    if b.rating != "up" && b.rating != "down" {
        return Err(ApiError::bad_request("invalid_rating", "rating must be \"up\" or \"down\""));
    }
    let comment = b.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > 2000) {
        return Err(ApiError::bad_request("comment_too_long", "comment too long (2000 characters at most)"));
    }
    let store = state.store()?;
    if db::answer_of_user(&store, &auth.user.name, b.message_id)?.is_none() {
        return Err(ApiError::not_found(format!("answer {}", b.message_id)));
    }
    db::rate(&store, &auth.user.name, b.message_id, &b.rating, comment)?;
    store.audit(
        &auth.user.name,
        "feedback",
        &serde_json::json!({"message_id": b.message_id, "rating": b.rating, "comment": comment, "remote": auth.remote}),
    )?;
    Ok(Json(serde_json::json!({"message_id": b.message_id, "rating": b.rating, "comment": comment})))
}
