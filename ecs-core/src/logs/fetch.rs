//! The read and follow loops, over a small [`LogSource`] (CloudWatch Logs in
//! [`crate::aws::logs::CloudWatchLogs`]; in-memory pages in the tests).
//!
//! - [`discover_streams`]: list each awslogs container's streams by prefix, every page.
//! - [`read_range`]: one FilterLogEvents sequence per stream (`logStreamNames = [one]`, paged
//!   with `nextToken`, empty pages included), merged with [`KWayMerge`]: output in timestamp
//!   order, memory one or two pages per stream however large the range.
//! - [`follow`]: the range up to "now", then poll a trailing window (batches of at most 100
//!   stream names, the API limit), printing only ids not yet seen, re-listing streams so new
//!   tasks are picked up. Throttling is retried with capped, jittered exponential back-off.
//!
//! StartLiveTail is not used: the local stand-in (moto) does not serve it, so polling is the
//! path every test can show. Nothing here prints; events go to the caller's sink.

use std::collections::HashMap;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::discover::AwslogsTarget;
use super::merge::{KWayMerge, SeenWindow, sort_batch};
use super::{GroupRef, LogEvent, LogStream, LogsError};
use crate::progress::Reporter;

/// One FilterLogEvents request.
#[derive(Debug, Clone)]
pub struct PageRequest<'a> {
    /// The group.
    pub group: &'a GroupRef,
    /// `logStreamNames` (1 to 100).
    pub streams: &'a [String],
    /// `startTime`, ms.
    pub start: i64,
    /// `endTime`, ms (inclusive).
    pub end: Option<i64>,
    /// `filterPattern`, passed through.
    pub pattern: Option<&'a str>,
    /// `nextToken`.
    pub token: Option<&'a str>,
    /// `limit` (≤ 10,000).
    pub limit: Option<i32>,
}

/// An event as a page returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// `logStreamName`.
    pub stream: String,
    /// `timestamp`, ms.
    pub timestamp: i64,
    /// `eventId`.
    pub id: String,
    /// `message`.
    pub message: String,
}

/// One page of events.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The events (may be empty even when `next_token` is set).
    pub events: Vec<RawEvent>,
    /// `nextToken`.
    pub next_token: Option<String>,
}

/// One page of stream names.
#[derive(Debug, Clone, Default)]
pub struct StreamPage {
    /// Stream names.
    pub names: Vec<String>,
    /// `nextToken`.
    pub next_token: Option<String>,
}

/// Why a source call failed.
#[derive(Debug)]
pub enum SourceError {
    /// `ThrottlingException` (or another "slow down" answer): retry later.
    Throttled,
    /// The log group does not exist.
    GroupNotFound,
    /// Anything else.
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Where log events come from: one page at a time, so the loops here own paging, retries
/// and order.
#[allow(async_fn_in_trait)]
pub trait LogSource {
    /// DescribeLogStreams: one page of stream names in `group` starting with `prefix`.
    async fn list_streams(
        &self,
        group: &GroupRef,
        prefix: &str,
        token: Option<&str>,
    ) -> Result<StreamPage, SourceError>;
    /// FilterLogEvents: one page.
    async fn filter_page(&self, req: &PageRequest<'_>) -> Result<Page, SourceError>;
}

/// Retry policy for throttling.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Attempts before giving up.
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(10),
            attempts: 10,
        }
    }
}

/// What to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// `--since`, ms.
    pub start: i64,
    /// `--until`, ms (inclusive); `None` = up to now.
    pub end: Option<i64>,
    /// `--filter`.
    pub pattern: Option<String>,
    /// Events held in memory at most, over all streams (sets the per-stream page size).
    pub buffer_events: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Throttling back-off.
    pub backoff: Backoff,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            start: 0,
            end: None,
            pattern: None,
            buffer_events: 40_000,
            concurrency: 8,
            backoff: Backoff::default(),
        }
    }
}

/// What a read did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOutcome {
    /// Events given to the sink.
    pub events: u64,
    /// The sink asked to stop (closed pipe).
    pub stopped: bool,
    /// Most events buffered at once.
    pub peak_buffered: usize,
}

/// The sink events are handed to; `Break` stops the read (e.g. a closed pipe).
pub type Sink<'a> = dyn FnMut(&LogEvent) -> ControlFlow<()> + 'a;

async fn with_backoff<T, F, Fut>(
    operation: &'static str,
    group: &GroupRef,
    backoff: &Backoff,
    reporter: &dyn Reporter,
    mut call: F,
) -> Result<T, LogsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SourceError>>,
{
    let mut delay = backoff.initial;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(SourceError::Throttled) if attempt < backoff.attempts => {
                // Full jitter keeps parallel readers from retrying in lockstep.
                let wait = delay.mul_f64(0.5 + fastrand::f64() / 2.0);
                reporter.note(&format!(
                    "{operation} throttled; retrying in {} ms",
                    wait.as_millis()
                ));
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(backoff.max);
            }
            Err(SourceError::Throttled) => {
                return Err(LogsError::Throttled {
                    operation,
                    attempts: attempt,
                });
            }
            Err(SourceError::GroupNotFound) => {
                return Err(LogsError::GroupNotFound {
                    group: group.name.clone(),
                });
            }
            Err(SourceError::Other(source)) => {
                return Err(LogsError::Aws {
                    operation,
                    group: group.name.clone(),
                    source,
                });
            }
        }
    }
}

/// Lists the streams of each awslogs target (all pages), optionally only task `task`
/// (an id or id prefix). Sorted by group and name.
pub async fn discover_streams<S: LogSource>(
    source: &S,
    targets: &[AwslogsTarget],
    task: Option<&str>,
    backoff: &Backoff,
    reporter: &dyn Reporter,
) -> Result<Vec<Arc<LogStream>>, LogsError> {
    let mut out = Vec::new();
    for target in targets {
        let prefix = target.stream_prefix(task);
        let mut token: Option<String> = None;
        loop {
            let page = with_backoff(
                "DescribeLogStreams",
                &target.group,
                backoff,
                reporter,
                || source.list_streams(&target.group, &prefix, token.as_deref()),
            )
            .await?;
            for name in &page.names {
                if let Some(s) = target.stream(name) {
                    // Without a stream prefix, `--task` cannot be matched by name.
                    if target.prefix.is_none() && task.is_some_and(|t| !s.task.starts_with(t)) {
                        continue;
                    }
                    out.push(Arc::new(s));
                }
            }
            match page.next_token {
                Some(t) if !page.names.is_empty() || Some(&t) != token.as_ref() => token = Some(t),
                _ => break,
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn to_event(stream: &Arc<LogStream>, raw: RawEvent) -> LogEvent {
    LogEvent {
        timestamp: raw.timestamp,
        id: raw.id,
        stream: stream.clone(),
        message: raw.message,
    }
}

/// Reads `[start, end]` of every stream and hands the events to `sink` in timestamp order
/// (ties: stream order), each once.
pub async fn read_range<S: LogSource>(
    source: &S,
    streams: &[Arc<LogStream>],
    opts: &ReadOptions,
    reporter: &dyn Reporter,
    sink: &mut Sink<'_>,
) -> Result<ReadOutcome, LogsError> {
    let n = streams.len();
    let mut outcome = ReadOutcome::default();
    if n == 0 {
        return Ok(outcome);
    }
    // Pages are sized so all streams' buffers together stay near `buffer_events`
    // (FilterLogEvents returns at most 10,000 events a page anyway).
    let limit = (opts.buffer_events / n).clamp(50, 10_000);
    let names: Vec<Vec<String>> = streams.iter().map(|s| vec![s.name.clone()]).collect();
    let mut tokens: Vec<Option<String>> = vec![None; n];
    let mut merge = KWayMerge::new(n);
    loop {
        let needs = merge.needs();
        if !needs.is_empty() {
            // Read the streams that ran dry, and top up the ones running low, concurrently.
            let mut want = needs;
            for i in merge.running_low(limit / 2) {
                if tokens[i].is_some() && !want.contains(&i) {
                    want.push(i);
                }
            }
            let fetches = want.into_iter().map(|i| {
                let token = tokens[i].clone();
                let stream = &streams[i];
                let names = &names[i];
                async move {
                    let page = with_backoff(
                        "FilterLogEvents",
                        &stream.group,
                        &opts.backoff,
                        reporter,
                        || {
                            let req = PageRequest {
                                group: &stream.group,
                                streams: names,
                                start: opts.start,
                                end: opts.end,
                                pattern: opts.pattern.as_deref(),
                                token: token.as_deref(),
                                limit: Some(limit as i32),
                            };
                            async move { source.filter_page(&req).await }
                        },
                    )
                    .await;
                    (i, page)
                }
            });
            let pages: Vec<_> = futures::stream::iter(fetches)
                .buffer_unordered(opts.concurrency.max(1))
                .collect()
                .await;
            for (i, page) in pages {
                let page = page?;
                let stream = &streams[i];
                let events = page
                    .events
                    .into_iter()
                    .map(|r| to_event(stream, r))
                    .collect();
                let last = page.next_token.is_none();
                tokens[i] = page.next_token;
                merge.push_page(i, events, last);
            }
            outcome.peak_buffered = outcome.peak_buffered.max(merge.buffered());
            continue;
        }
        match merge.pop() {
            Some(e) => {
                outcome.events += 1;
                if sink(&e).is_break() {
                    outcome.stopped = true;
                    return Ok(outcome);
                }
            }
            None => return Ok(outcome),
        }
    }
}

/// Follow-mode settings.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// The range settings (`end` is ignored: following never ends).
    pub read: ReadOptions,
    /// The trailing window re-read each poll, ms: events that reach CloudWatch later than
    /// this after their own timestamp are missed.
    pub window_ms: i64,
    /// Time between polls.
    pub poll: Duration,
    /// Time between stream listings (new tasks' streams).
    pub rediscover: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            read: ReadOptions::default(),
            window_ms: 120_000,
            poll: Duration::from_secs(1),
            rediscover: Duration::from_secs(5),
        }
    }
}

/// Prints the range from `start` up to now in order, then keeps polling for new events and
/// new streams until the sink says stop (or an error). Each event is handed over once.
pub async fn follow<S: LogSource>(
    source: &S,
    targets: &[AwslogsTarget],
    task: Option<&str>,
    opts: &FollowOptions,
    now: &dyn Fn() -> i64,
    reporter: &dyn Reporter,
    sink: &mut Sink<'_>,
) -> Result<ReadOutcome, LogsError> {
    let backoff = &opts.read.backoff;
    let mut streams = discover_streams(source, targets, task, backoff, reporter).await?;
    let t0 = now();
    let mut seen = SeenWindow::default();
    let mut read = opts.read.clone();
    read.end = Some(t0);
    let keep_from = t0 - opts.window_ms;
    let mut outcome = {
        let mut first = |e: &LogEvent| {
            if e.timestamp >= keep_from {
                seen.insert(&e.id, e.timestamp);
            }
            sink(e)
        };
        read_range(source, &streams, &read, reporter, &mut first).await?
    };
    if outcome.stopped {
        return Ok(outcome);
    }
    let mut last_listing = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(opts.poll).await;
        if last_listing.elapsed() >= opts.rediscover {
            let fresh = discover_streams(source, targets, task, backoff, reporter).await?;
            for s in fresh.iter().filter(|s| streams.binary_search(s).is_err()) {
                reporter.note(&format!("new log stream {}", s.name));
            }
            streams = fresh;
            last_listing = tokio::time::Instant::now();
        }
        let from = opts.read.start.max(now() - opts.window_ms);
        let mut batch = poll_window(source, &streams, from, opts, &seen, reporter).await?;
        sort_batch(&mut batch);
        for e in &batch {
            if !seen.insert(&e.id, e.timestamp) {
                continue;
            }
            outcome.events += 1;
            if sink(e).is_break() {
                outcome.stopped = true;
                return Ok(outcome);
            }
        }
        outcome.peak_buffered = outcome.peak_buffered.max(batch.len());
        seen.prune(from);
    }
}

/// All not-yet-seen events from `from` on, over every stream, in batches of ≤ 100 names per
/// group (FilterLogEvents' limit for `logStreamNames`).
async fn poll_window<S: LogSource>(
    source: &S,
    streams: &[Arc<LogStream>],
    from: i64,
    opts: &FollowOptions,
    seen: &SeenWindow,
    reporter: &dyn Reporter,
) -> Result<Vec<LogEvent>, LogsError> {
    let mut by_group: HashMap<&GroupRef, Vec<&Arc<LogStream>>> = HashMap::new();
    for s in streams {
        by_group.entry(&s.group).or_default().push(s);
    }
    let mut out = Vec::new();
    for (group, members) in by_group {
        for chunk in members.chunks(100) {
            let names: Vec<String> = chunk.iter().map(|s| s.name.clone()).collect();
            let index: HashMap<&str, &Arc<LogStream>> =
                chunk.iter().map(|s| (s.name.as_str(), *s)).collect();
            let mut token: Option<String> = None;
            loop {
                let page = with_backoff(
                    "FilterLogEvents",
                    group,
                    &opts.read.backoff,
                    reporter,
                    || {
                        let req = PageRequest {
                            group,
                            streams: &names,
                            start: from,
                            end: None,
                            pattern: opts.read.pattern.as_deref(),
                            token: token.as_deref(),
                            limit: None,
                        };
                        async move { source.filter_page(&req).await }
                    },
                )
                .await?;
                for raw in page.events {
                    if seen.contains(&raw.id) {
                        continue;
                    }
                    if let Some(stream) = index.get(raw.stream.as_str()) {
                        out.push(to_event(stream, raw));
                    }
                }
                match page.next_token {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

    use super::*;
    use crate::progress::Recorder;

    /// In-memory pages for ordering logic only: streams in insertion order of a group, with
    /// moto's quirks (events grouped by stream, not time) and optional throttling.
    #[derive(Default)]
    struct FakeLogs {
        streams: Mutex<Vec<(String, Vec<RawEvent>)>>,
        throttle_next: AtomicU32,
        calls: AtomicU32,
        next_id: AtomicI64,
        /// Page size the fake uses when no limit is given (to force many pages).
        page: usize,
    }

    impl FakeLogs {
        fn put(&self, stream: &str, ts: i64, msg: &str) {
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            let mut s = self.streams.lock().unwrap();
            let raw = RawEvent {
                stream: stream.into(),
                timestamp: ts,
                id: format!("{id:020}"),
                message: msg.into(),
            };
            match s.iter_mut().find(|(n, _)| n == stream) {
                Some((_, evs)) => {
                    evs.push(raw);
                    evs.sort_by_key(|e| e.timestamp);
                }
                None => s.push((stream.into(), vec![raw])),
            }
        }
    }

    impl LogSource for FakeLogs {
        async fn list_streams(
            &self,
            _group: &GroupRef,
            prefix: &str,
            token: Option<&str>,
        ) -> Result<StreamPage, SourceError> {
            // One name per page, and an empty last page with a token first, to exercise paging.
            let names: Vec<String> = self
                .streams
                .lock()
                .unwrap()
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| n.starts_with(prefix))
                .collect();
            let at: usize = token.map(|t| t.parse().unwrap()).unwrap_or(0);
            Ok(StreamPage {
                names: names.get(at).cloned().into_iter().collect(),
                next_token: (at < names.len()).then(|| (at + 1).to_string()),
            })
        }

        async fn filter_page(&self, req: &PageRequest<'_>) -> Result<Page, SourceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self
                .throttle_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(SourceError::Throttled);
            }
            let all: Vec<RawEvent> = self
                .streams
                .lock()
                .unwrap()
                .iter()
                .filter(|(n, _)| req.streams.contains(n))
                .flat_map(|(_, evs)| evs.iter().cloned())
                .filter(|e| {
                    e.timestamp >= req.start && req.end.is_none_or(|end| e.timestamp <= end)
                })
                .filter(|e| req.pattern.is_none_or(|p| e.message.contains(p)))
                .collect();
            let at: usize = req.token.map(|t| t.parse().unwrap()).unwrap_or(0);
            let size = req
                .limit
                .map(|l| l as usize)
                .unwrap_or(self.page)
                .min(self.page);
            // Every other page is empty but carries a token, as CloudWatch may do.
            if at % 2 == 1 {
                return Ok(Page {
                    events: vec![],
                    next_token: Some((at + 1).to_string()),
                });
            }
            let from = (at / 2) * size;
            let end = (from + size).min(all.len());
            Ok(Page {
                events: all.get(from..end).map(<[_]>::to_vec).unwrap_or_default(),
                next_token: (end < all.len()).then(|| (at + 1).to_string()),
            })
        }
    }

    fn target(container: &str) -> AwslogsTarget {
        AwslogsTarget {
            container: container.into(),
            group: GroupRef {
                region: None,
                name: "/ecs/x".into(),
            },
            prefix: Some("x".into()),
        }
    }

    fn fast() -> ReadOptions {
        ReadOptions {
            buffer_events: 8,
            backoff: Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(2),
                attempts: 5,
            },
            ..ReadOptions::default()
        }
    }

    fn seeded() -> FakeLogs {
        let f = FakeLogs {
            page: 3,
            ..FakeLogs::default()
        };
        for t in 0..3 {
            for (ci, c) in ["web", "side"].iter().enumerate() {
                for k in 0..7 {
                    let ts = k * 6 + t * 2 + ci as i64;
                    f.put(&format!("x/{c}/task{t}"), ts, &format!("{c} {t} {k}"));
                }
            }
        }
        f
    }

    #[tokio::test]
    async fn read_range_merges_pages_in_order_despite_throttling() {
        let f = seeded();
        f.throttle_next.store(3, Ordering::SeqCst);
        let rec = Recorder::default();
        let targets = [target("web"), target("side")];
        let streams = discover_streams(&f, &targets, None, &fast().backoff, &rec)
            .await
            .unwrap();
        assert_eq!(streams.len(), 6);
        let mut out = Vec::new();
        let r = read_range(&f, &streams, &fast(), &rec, &mut |e| {
            out.push(e.clone());
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
        assert_eq!(out.len(), 42);
        assert_eq!(r.events, 42);
        let ts: Vec<i64> = out.iter().map(|e| e.timestamp).collect();
        assert_eq!(ts, (0..42).collect::<Vec<_>>());
        assert!(r.peak_buffered <= 6 * 3 * 2, "{}", r.peak_buffered);
        assert!(rec.take().iter().any(|l| l.contains("throttled")));
    }

    #[tokio::test]
    async fn persistent_throttling_is_an_error() {
        let f = seeded();
        f.throttle_next.store(1000, Ordering::SeqCst);
        let streams = discover_streams(
            &f,
            &[target("web")],
            Some("task1"),
            &fast().backoff,
            &Recorder::default(),
        )
        .await
        .unwrap();
        assert_eq!(streams.len(), 1);
        let err = read_range(&f, &streams, &fast(), &Recorder::default(), &mut |_| {
            ControlFlow::Continue(())
        })
        .await
        .unwrap_err();
        assert!(
            matches!(err, LogsError::Throttled { attempts: 5, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn sink_break_stops_reading() {
        let f = seeded();
        let streams = discover_streams(
            &f,
            &[target("web")],
            None,
            &fast().backoff,
            &Recorder::default(),
        )
        .await
        .unwrap();
        let mut n = 0;
        let r = read_range(&f, &streams, &fast(), &Recorder::default(), &mut |_| {
            n += 1;
            if n == 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .unwrap();
        assert!(r.stopped);
        assert_eq!(r.events, 5);
    }

    #[tokio::test]
    async fn follow_prints_new_events_once_and_picks_up_new_streams() {
        let f = Arc::new(seeded());
        let clock = Arc::new(AtomicI64::new(100));
        let opts = FollowOptions {
            read: fast(),
            window_ms: 1_000,
            poll: Duration::from_millis(5),
            rediscover: Duration::from_millis(5),
        };
        let writer = {
            let f = f.clone();
            let clock = clock.clone();
            async move {
                for k in 0..20 {
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    let ts = clock.fetch_add(1, Ordering::SeqCst);
                    // Several events share a millisecond, across old and new streams.
                    f.put("x/web/task0", ts, &format!("late {k}"));
                    f.put("x/web/task0", ts, &format!("late {k} again"));
                    f.put("x/side/task9", ts, &format!("new task {k}"));
                }
            }
        };
        let mut out: Vec<LogEvent> = Vec::new();
        let targets = [target("web"), target("side")];
        let now = || clock.load(Ordering::SeqCst);
        let rec = Recorder::default();
        let mut sink = |e: &LogEvent| {
            out.push(e.clone());
            if out.len() == 42 + 60 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let reader = follow(&*f, &targets, None, &opts, &now, &rec, &mut sink);
        let (r, ()) = tokio::join!(
            async { tokio::time::timeout(Duration::from_secs(20), reader).await },
            writer
        );
        let r = r.expect("follow stalled").unwrap();
        assert!(r.stopped);
        let mut ids: Vec<&str> = out.iter().map(|e| e.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 102, "every event exactly once");
        assert_eq!(out.iter().filter(|e| e.stream.task == "task9").count(), 20);
    }
}
