//! The web chat's router driven in-process: sessions, CSRF, the SSE stream and its payload,
//! permissions, the generation queue, cancellation, conversations, feedback and audit. A fake
//! chat model (slow, cancellable, counting its calls) stands in for the real one; the answers
//! come from the real `Assistant` over an in-memory knowledge base.

mod support;

mod ask;
mod auth;
mod browser;
mod conversations;
mod openai;
mod permissions;
mod queue;
mod uploads;
mod workspace;
