//! Pure ordering logic: the k-way merge of per-stream pages and the follow-mode window.
//!
//! CloudWatch Logs keeps each stream in timestamp order, but a FilterLogEvents page over many
//! streams need not be (moto returns them grouped by stream). So we read each stream as its
//! own ordered sequence of pages and merge: an event is emitted only when every stream that
//! may still have events has a buffered head, so the smallest head is the next event overall.
//! Memory is one page per stream, whatever the range holds.
//!
//! Follow mode re-reads a trailing window each poll (never "last timestamp + 1 ms", which
//! loses events sharing a millisecond); [`SeenWindow`] remembers the event ids inside that
//! window so each event prints exactly once, and forgets ids as the window moves on.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use super::LogEvent;

/// The k-way merge state over `n` streams.
#[derive(Debug)]
pub struct KWayMerge {
    cursors: Vec<Cursor>,
    /// Heads of non-empty buffers: (timestamp, stream index).
    heads: BinaryHeap<Reverse<(i64, usize)>>,
    buffered: usize,
}

#[derive(Debug, Default)]
struct Cursor {
    buf: VecDeque<LogEvent>,
    exhausted: bool,
    /// Ids already taken at `last_ts`, to drop a repeat across a page boundary.
    last_ts: i64,
    ids_at_last_ts: HashSet<String>,
}

impl KWayMerge {
    /// A merge over `n` streams, none read yet.
    pub fn new(n: usize) -> Self {
        KWayMerge {
            cursors: (0..n).map(|_| Cursor::default()).collect(),
            heads: BinaryHeap::new(),
            buffered: 0,
        }
    }

    /// Streams whose buffer is empty and that may have more: read these before [`Self::pop`].
    pub fn needs(&self) -> Vec<usize> {
        self.cursors
            .iter()
            .enumerate()
            .filter(|(_, c)| c.buf.is_empty() && !c.exhausted)
            .map(|(i, _)| i)
            .collect()
    }

    /// Streams that may have more and hold at most `threshold` events: worth topping up
    /// while other streams are being read anyway.
    pub fn running_low(&self, threshold: usize) -> Vec<usize> {
        self.cursors
            .iter()
            .enumerate()
            .filter(|(_, c)| c.buf.len() <= threshold && !c.exhausted)
            .map(|(i, _)| i)
            .collect()
    }

    /// Adds one page of stream `i` (its events in timestamp order); `last` marks the end of
    /// the stream (no next token). Events repeated across a page boundary are dropped;
    /// out-of-order events in a page are sorted (stable) so the merge invariant holds.
    pub fn push_page(&mut self, i: usize, mut events: Vec<LogEvent>, last: bool) {
        let Some(c) = self.cursors.get_mut(i) else {
            return;
        };
        if !events.is_sorted_by_key(|e| e.timestamp) {
            events.sort_by_key(|e| e.timestamp);
        }
        let was_empty = c.buf.is_empty();
        for e in events {
            if e.timestamp < c.last_ts {
                // Behind what we already emitted from this stream: a server repeat.
                continue;
            }
            if e.timestamp == c.last_ts && c.ids_at_last_ts.contains(&e.id) {
                continue;
            }
            if c.buf
                .back()
                .is_some_and(|b| b.timestamp == e.timestamp && b.id == e.id)
            {
                continue;
            }
            c.buf.push_back(e);
            self.buffered += 1;
        }
        c.exhausted = last;
        if let Some(h) = c.buf.front().filter(|_| was_empty) {
            self.heads.push(Reverse((h.timestamp, i)));
        }
    }

    /// The next event in overall order, or `None` when some stream must be read first
    /// ([`Self::needs`]) or everything is done ([`Self::is_done`]).
    pub fn pop(&mut self) -> Option<LogEvent> {
        if !self.needs().is_empty() {
            return None;
        }
        let Reverse((_, i)) = self.heads.pop()?;
        let c = &mut self.cursors[i];
        let e = c.buf.pop_front()?;
        self.buffered -= 1;
        if e.timestamp != c.last_ts {
            c.last_ts = e.timestamp;
            c.ids_at_last_ts.clear();
        }
        c.ids_at_last_ts.insert(e.id.clone());
        if let Some(h) = c.buf.front() {
            self.heads.push(Reverse((h.timestamp, i)));
        }
        Some(e)
    }

    /// Every stream is exhausted and drained.
    pub fn is_done(&self) -> bool {
        self.cursors.iter().all(|c| c.exhausted && c.buf.is_empty())
    }

    /// Events held in memory right now.
    pub fn buffered(&self) -> usize {
        self.buffered
    }
}

/// Event ids seen inside the follow window, forgotten once the window passes them.
#[derive(Debug, Default)]
pub struct SeenWindow {
    ids: HashMap<String, i64>,
}

impl SeenWindow {
    /// Records an event; `true` if it had not been seen (so it should be printed).
    pub fn insert(&mut self, id: &str, timestamp: i64) -> bool {
        if self.ids.contains_key(id) {
            return false;
        }
        self.ids.insert(id.to_string(), timestamp);
        true
    }

    /// Whether `id` was seen.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// Forgets ids of events before `start`: the next poll does not read them again.
    pub fn prune(&mut self, start: i64) {
        self.ids.retain(|_, ts| *ts >= start);
    }

    /// Ids remembered.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Nothing remembered.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Sorts one poll's events into print order: timestamp, then stream, then id.
pub fn sort_batch(events: &mut [LogEvent]) {
    events.sort_by(|a, b| {
        (a.timestamp, &a.stream.name, &a.id).cmp(&(b.timestamp, &b.stream.name, &b.id))
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::logs::{GroupRef, LogStream};

    fn stream(name: &str) -> Arc<LogStream> {
        Arc::new(LogStream {
            group: GroupRef {
                region: None,
                name: "g".into(),
            },
            name: name.into(),
            task: name.into(),
            container: "c".into(),
        })
    }

    fn ev(s: &Arc<LogStream>, ts: i64, id: &str) -> LogEvent {
        LogEvent {
            timestamp: ts,
            id: id.into(),
            stream: s.clone(),
            message: format!("{id}@{ts}"),
        }
    }

    /// Drives the merge with pages of `size`, the way the fetch loop does.
    fn run(streams: &[Vec<LogEvent>], size: usize) -> (Vec<LogEvent>, usize) {
        let mut m = KWayMerge::new(streams.len());
        let mut offsets = vec![0; streams.len()];
        let mut out = Vec::new();
        let mut peak = 0;
        loop {
            for i in m.needs() {
                let s = &streams[i];
                let end = (offsets[i] + size).min(s.len());
                m.push_page(i, s[offsets[i]..end].to_vec(), end == s.len());
                offsets[i] = end;
            }
            peak = peak.max(m.buffered());
            match m.pop() {
                Some(e) => out.push(e),
                None if m.is_done() => return (out, peak),
                None => {}
            }
        }
    }

    #[test]
    fn merges_interleaved_streams_in_time_order_with_bounded_buffer() {
        let (a, b, c) = (stream("a"), stream("b"), stream("c"));
        let sa: Vec<_> = (0..100).map(|i| ev(&a, i * 3, &format!("a{i}"))).collect();
        let sb: Vec<_> = (0..100)
            .map(|i| ev(&b, i * 3 + 1, &format!("b{i}")))
            .collect();
        let sc: Vec<_> = (0..50)
            .map(|i| ev(&c, i * 7 + 2, &format!("c{i}")))
            .collect();
        let (out, peak) = run(&[sa, sb, sc], 10);
        assert_eq!(out.len(), 250);
        assert!(out.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        assert!(peak <= 30, "peak {peak}");
    }

    #[test]
    fn empty_pages_and_empty_streams_are_fine() {
        let a = stream("a");
        let mut m = KWayMerge::new(2);
        m.push_page(0, vec![], false);
        m.push_page(1, vec![], true);
        assert_eq!(m.pop(), None);
        assert_eq!(m.needs(), vec![0]);
        m.push_page(0, vec![ev(&a, 5, "x")], true);
        assert_eq!(m.pop().map(|e| e.id), Some("x".into()));
        assert!(m.is_done());
    }

    #[test]
    fn repeats_across_page_boundaries_are_dropped_but_equal_timestamps_kept() {
        let a = stream("a");
        let mut m = KWayMerge::new(1);
        m.push_page(0, vec![ev(&a, 1, "p"), ev(&a, 2, "q")], false);
        let mut out = vec![m.pop().unwrap().id, m.pop().unwrap().id];
        // The next page repeats q and brings r at the same millisecond.
        m.push_page(
            0,
            vec![ev(&a, 2, "q"), ev(&a, 2, "r"), ev(&a, 3, "s")],
            true,
        );
        while let Some(e) = m.pop() {
            out.push(e.id);
        }
        assert_eq!(out, ["p", "q", "r", "s"]);
    }

    #[test]
    fn seen_window_prints_once_and_forgets() {
        let mut w = SeenWindow::default();
        assert!(w.insert("x", 10));
        assert!(!w.insert("x", 10));
        assert!(w.insert("y", 20));
        w.prune(15);
        assert_eq!(w.len(), 1);
        assert!(!w.insert("y", 20));
    }

    proptest::proptest! {
        /// Any streams, any page size: every event once, in timestamp order.
        #[test]
        fn merge_is_a_sorted_permutation(
            lens in proptest::collection::vec(0usize..40, 1..6),
            size in 1usize..12,
            seed in 0u64..1000,
        ) {
            let mut rng = fastrand::Rng::with_seed(seed);
            let streams: Vec<Vec<LogEvent>> = lens.iter().enumerate().map(|(si, n)| {
                let s = stream(&format!("s{si}"));
                let mut ts = 0;
                (0..*n).map(|k| { ts += rng.i64(0..3); ev(&s, ts, &format!("{si}-{k}")) }).collect()
            }).collect();
            let total: usize = lens.iter().sum();
            let (out, peak) = run(&streams, size);
            proptest::prop_assert_eq!(out.len(), total);
            proptest::prop_assert!(out.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
            let ids: HashSet<_> = out.iter().map(|e| e.id.clone()).collect();
            proptest::prop_assert_eq!(ids.len(), total);
            proptest::prop_assert!(peak <= size * lens.len());
        }
    }
}
