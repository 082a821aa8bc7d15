//! The bounded generation queue (生成队列): `slots` generations at a time, at most `max_waiting`
//! waiting behind them, first come first served. Rule-engine answers never enter it.

use lodestar_core::CancelToken;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The queue is full: answer 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

#[derive(Debug, Default)]
struct Inner {
    running: usize,
    waiting: VecDeque<u64>,
    next_id: u64,
}

/// A fair, bounded queue in front of the model.
#[derive(Debug)]
pub struct GenQueue {
    slots: usize,
    max_waiting: usize,
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
}

/// What the queue looks like now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct QueueStatus {
    /// Generations that may run at once.
    pub slots: usize,
    /// Generations running now.
    pub running: usize,
    /// Requests waiting for a slot.
    pub waiting: usize,
    /// Most requests that may wait; more are refused with 503.
    pub max_waiting: usize,
}

impl GenQueue {
    /// A queue of `slots` concurrent generations (at least 1) and `max_waiting` waiting requests.
    pub fn new(slots: usize, max_waiting: usize) -> Arc<Self> {
        Arc::new(Self {
            slots: slots.max(1),
            max_waiting,
            inner: Mutex::new(Inner::default()),
            changed: watch::channel(0).0,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Slots, running and waiting counts now.
    pub fn status(&self) -> QueueStatus {
        let g = self.lock();
        QueueStatus { slots: self.slots, running: g.running, waiting: g.waiting.len(), max_waiting: self.max_waiting }
    }

    /// Takes a place in line, or refuses when every slot is busy and the line is full.
    pub fn enter(self: &Arc<Self>) -> Result<Waiter, QueueFull> {
        let mut g = self.lock();
        let free_now = g.running < self.slots && g.waiting.is_empty();
        if !free_now && g.waiting.len() >= self.max_waiting {
            return Err(QueueFull);
        }
        let id = g.next_id;
        g.next_id += 1;
        g.waiting.push_back(id);
        drop(g);
        Ok(Waiter { queue: self.clone(), id, admitted: false })
    }
}

/// A place in line; dropping it leaves the line.
#[derive(Debug)]
pub struct Waiter {
    queue: Arc<GenQueue>,
    id: u64,
    admitted: bool,
}

/// A running generation's slot; dropping it frees the slot for the next in line.
#[derive(Debug)]
pub struct Slot {
    queue: Arc<GenQueue>,
}

impl Waiter {
    /// Waits for a slot. `on_position` hears the 1-based place in line whenever it changes
    /// (not called when a slot is free at once). Returns `None` when `cancel` fires first.
    pub async fn wait(mut self, cancel: &CancelToken, mut on_position: impl FnMut(usize)) -> Option<Slot> {
        let mut rx = self.queue.changed.subscribe();
        let mut last = None;
        loop {
            if cancel.is_cancelled() {
                return None;
            }
            {
                let mut g = self.queue.lock();
                let pos = g.waiting.iter().position(|w| *w == self.id).unwrap_or(0);
                if pos == 0 && g.running < self.queue.slots {
                    g.waiting.pop_front();
                    g.running += 1;
                    drop(g);
                    self.admitted = true;
                    self.queue.bump();
                    return Some(Slot { queue: self.queue.clone() });
                }
                // ahead of it: those waiting before it, plus one for the slot it waits on
                let place = pos + 1;
                if last != Some(place) {
                    last = Some(place);
                    drop(g);
                    on_position(place);
                }
            }
            // woken by any change; the timeout also notices a cancel while nothing moves
            let _ = tokio::time::timeout(Duration::from_millis(100), rx.changed()).await;
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if !self.admitted {
            let mut g = self.queue.lock();
            g.waiting.retain(|w| *w != self.id);
            drop(g);
            self.queue.bump();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut g = self.queue.lock();
        g.running = g.running.saturating_sub(1);
        drop(g);
        self.queue.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn first_come_first_served_bounded_and_cancellable() {
        let q = GenQueue::new(1, 2);
        let never = CancelToken::new();
        let a = q.enter().unwrap().wait(&never, |_| panic!("a slot was free")).await.unwrap();
        let b = q.enter().unwrap();
        let c = q.enter().unwrap();
        assert_eq!(q.enter().unwrap_err(), QueueFull);
        assert_eq!(q.status(), QueueStatus { slots: 1, running: 1, waiting: 2, max_waiting: 2 });

        // c waits behind b; cancelling c takes it out of line
        let cancel_c = CancelToken::new();
        let mut seen_c = Vec::new();
        let cc = cancel_c.clone();
        let tc = tokio::spawn(async move {
            let r = c.wait(&cc, |p| seen_c.push(p)).await;
            (r.is_some(), seen_c)
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let never2 = never.clone();
        let tb = tokio::spawn(async move {
            let mut seen = Vec::new();
            let slot = b.wait(&never2, |p| seen.push(p)).await;
            let _ = tx.send(());
            (slot, seen)
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        cancel_c.cancel();
        let (got_c, seen_c) = tc.await.unwrap();
        assert!(!got_c);
        assert_eq!(seen_c, vec![2]);
        assert_eq!(q.status().waiting, 1);
        // freeing a's slot admits b
        drop(a);
        rx.await.unwrap();
        let (slot_b, seen_b) = tb.await.unwrap();
        assert!(slot_b.is_some());
        assert_eq!(seen_b, vec![1]);
        assert_eq!(q.status(), QueueStatus { slots: 1, running: 1, waiting: 0, max_waiting: 2 });
        drop(slot_b);
        assert_eq!(q.status().running, 0);
    }
}
