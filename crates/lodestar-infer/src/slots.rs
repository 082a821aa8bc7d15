//! One chat model, several callers decoding together (`batch run --parallel N`, `serve --slots N`).
//!
//! [`SlotChat`] is a [`Generator`] over a [`GgufChat`] whose `generate` calls, made from any
//! number of threads, are queued to one decoding thread. That thread runs the continuous-batching
//! loop of [`GgufChat::generate_batch`] with up to `slots` sequences: each step decodes one token
//! for every running sequence with the weights read once, and a finished sequence's slot takes
//! the next waiting call. Each call's text is the one it gets alone (see `generate_batch`).
//! Prompts start from the model's prefix cache as one-at-a-time calls do (a copy of the longest
//! cached prefix, so that a shared system prompt is processed once), and a finished call's
//! cache joins it.

use crate::chat::{BatchEvent, BatchRequest, GgufChat};
use lodestar_core::model::{ChatMessage, GenParams, Generation, Generator, ModelError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

/// A queued call: its prompt, parameters and where its text goes.
struct Job {
    request: BatchRequest,
    events: mpsc::Sender<JobEvent>,
    /// The caller's `on_token` asked to stop.
    cancelled: Arc<AtomicBool>,
}

enum JobEvent {
    Piece(String),
    Done(Result<Generation, String>),
}

/// Holds new calls back while set ([`SlotChat::pause`]).
#[derive(Default)]
struct Gate {
    paused: Mutex<usize>,
    cv: Condvar,
}

/// A [`Generator`] that decodes concurrent calls together (see the module docs).
pub struct SlotChat {
    chat: Arc<GgufChat>,
    slots: usize,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    gate: Arc<Gate>,
    /// Calls queued and not yet taken by the decoding thread.
    waiting: Arc<AtomicUsize>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// While alive, the decoding thread takes no new call (those running go on); when it drops,
/// the calls queued meanwhile start together, up to the slots.
pub struct PauseGuard {
    gate: Arc<Gate>,
}

impl Drop for PauseGuard {
    fn drop(&mut self) {
        let mut p = self.gate.paused.lock().unwrap_or_else(|e| e.into_inner());
        *p = p.saturating_sub(1);
        self.gate.cv.notify_all();
    }
}

impl SlotChat {
    /// Starts the decoding thread for `chat` with `slots` sequences at a time (at least 1).
    pub fn new(chat: Arc<GgufChat>, slots: usize) -> std::io::Result<Self> {
        let slots = slots.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let gate = Arc::new(Gate::default());
        let waiting = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (chat, gate, waiting) = (chat.clone(), gate.clone(), waiting.clone());
            std::thread::Builder::new()
                .name("lodestar-slots".into())
                .spawn(move || decode_loop(&chat, slots, &rx, &gate, &waiting))?
        };
        Ok(Self { chat, slots, jobs: Mutex::new(Some(tx)), gate, waiting, worker: Mutex::new(Some(worker)) })
    }

    /// Sequences decoded together at most.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Calls queued that have not started yet.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// The model underneath.
    pub fn chat(&self) -> &Arc<GgufChat> {
        &self.chat
    }

    /// Holds new calls back until the guard drops (so that a round of calls submitted from
    /// several threads starts as one batch).
    pub fn pause(&self) -> PauseGuard {
        *self.gate.paused.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        PauseGuard { gate: self.gate.clone() }
    }

    /// Generates for rendered prompt tokens through the shared decoding thread.
    pub fn generate_tokens(
        &self,
        tokens: Vec<u32>,
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, ModelError> {
        self.chat.check_prompt(&tokens)?;
        let (etx, erx) = mpsc::channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let job =
            Job { request: BatchRequest { tokens, params: params.clone() }, events: etx, cancelled: cancelled.clone() };
        {
            let jobs = self.jobs.lock().map_err(|_| ModelError::Backend("decoding queue poisoned".into()))?;
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let sent = jobs.as_ref().map(|tx| tx.send(job).is_ok()).unwrap_or(false);
            if !sent {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Err(ModelError::Backend("the decoding thread has stopped".into()));
            }
        }
        for ev in erx {
            match ev {
                JobEvent::Piece(p) => {
                    if !cancelled.load(Ordering::Relaxed) && on_token(&p).is_break() {
                        cancelled.store(true, Ordering::Relaxed);
                    }
                }
                JobEvent::Done(r) => return r.map_err(ModelError::Backend),
            }
        }
        Err(ModelError::Backend("the decoding thread ended without a result".into()))
    }
}

impl Drop for SlotChat {
    fn drop(&mut self) {
        // closing the queue ends the decoding thread once the running calls are done
        if let Ok(mut j) = self.jobs.lock() {
            j.take();
        }
        if let Ok(mut w) = self.worker.lock() {
            if let Some(h) = w.take() {
                let _ = h.join();
            }
        }
    }
}

impl Generator for SlotChat {
    fn name(&self) -> &str {
        self.chat.name()
    }

    fn context_length(&self) -> usize {
        self.chat.context_length()
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        self.chat.count_tokens(text)
    }

    fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, ModelError> {
        let tokens = self.chat.encode_prompt(&self.chat.render(messages))?;
        self.generate_tokens(tokens, params, on_token)
    }

    /// One forward pass on the calling thread (not queued: it decodes no token), with the model's
    /// prefix cache as a one-at-a-time call.
    fn choose(&self, messages: &[ChatMessage], options: &[&str]) -> Result<Vec<f32>, ModelError> {
        self.chat.choose(messages, options)
    }
}

/// The decoding thread: runs batches until the queue closes. A model error fails the calls
/// that were running (with its message) and the loop goes on with the next ones.
fn decode_loop(chat: &GgufChat, slots: usize, rx: &mpsc::Receiver<Job>, gate: &Gate, waiting: &AtomicUsize) {
    let live: RefCell<HashMap<usize, Job>> = RefCell::new(HashMap::new());
    let mut counter = 0usize;
    // a call received while the gate was closed waits here: no call starts while paused
    let mut received: Option<Job> = None;
    loop {
        let mut next = |block: bool| -> Option<(usize, BatchRequest)> {
            loop {
                {
                    let mut p = gate.paused.lock().unwrap_or_else(|e| e.into_inner());
                    while *p > 0 {
                        if !block {
                            return None;
                        }
                        p = gate.cv.wait(p).unwrap_or_else(|e| e.into_inner());
                    }
                }
                if let Some(job) = received.take() {
                    waiting.fetch_sub(1, Ordering::SeqCst);
                    counter += 1;
                    let request = job.request.clone();
                    live.borrow_mut().insert(counter, job);
                    return Some((counter, request));
                }
                // the gate is looked at again before the call starts (it may have closed while
                // this thread waited for one)
                received = Some(if block { rx.recv().ok()? } else { rx.try_recv().ok()? });
            }
        };
        let mut on_event = |ev: BatchEvent<'_>| -> ControlFlow<()> {
            let live_now = live.borrow();
            match ev {
                BatchEvent::Started { index } => match live_now.get(&index) {
                    Some(j) if !j.cancelled.load(Ordering::Relaxed) => ControlFlow::Continue(()),
                    _ => ControlFlow::Break(()),
                },
                BatchEvent::Token { index, piece } => match live_now.get(&index) {
                    Some(j)
                        if !j.cancelled.load(Ordering::Relaxed)
                            && j.events.send(JobEvent::Piece(piece.to_string())).is_ok() =>
                    {
                        ControlFlow::Continue(())
                    }
                    _ => ControlFlow::Break(()),
                },
                BatchEvent::Done { result } => {
                    drop(live_now);
                    if let Some(j) = live.borrow_mut().remove(&result.index) {
                        let _ = j.events.send(JobEvent::Done(Ok(result.generation.clone())));
                    }
                    ControlFlow::Continue(())
                }
            }
        };
        match chat.run_batches(slots, true, &mut next, &mut on_event) {
            Ok(()) => return, // the queue closed
            Err(e) => {
                let msg = e.to_string();
                tracing::warn!("batched decoding failed: {msg}");
                for (_, j) in live.borrow_mut().drain() {
                    let _ = j.events.send(JobEvent::Done(Err(msg.clone())));
                }
            }
        }
    }
}
