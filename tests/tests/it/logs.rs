//! End-to-end tests of `cargo ecs logs` against a real moto_server: a cluster, a service and a
//! task definition whose containers use awslogs are registered through the SDK, events are
//! seeded with CreateLogGroup/CreateLogStream/PutLogEvents, and the built binary reads them.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ecs::types::{ContainerDefinition, LogConfiguration, LogDriver};
use ecs_e2e::Rig;

const CLUSTER: &str = "logs-it";
const SERVICE: &str = "hello";
const GROUP: &str = "/ecs/hello";
const CONTAINERS: [&str; 2] = ["web", "sidecar"];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A task id as ECS makes them: 32 hex digits.
fn task_id(n: usize) -> String {
    format!("{:08x}{:024x}", 0x1000_0000 + n * 0x0111_1111, n)
}

/// One seeded event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seeded {
    ts: i64,
    task: String,
    container: String,
    message: String,
}

/// (name, log driver, driver options) of one container.
type ContainerSpec<'a> = (&'a str, LogDriver, &'a [(&'a str, &'a str)]);

struct Moto {
    rt: tokio::runtime::Runtime,
    logs: aws_sdk_cloudwatchlogs::Client,
    ecs: aws_sdk_ecs::Client,
}

impl Moto {
    fn new(rig: &Rig) -> Moto {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let opts = ecs_core::aws::AwsOptions {
            region: Some(ecs_e2e::REGION.to_string()),
            endpoint_url: Some(rig.moto_url.clone()),
            profile: None,
        };
        let sdk = rt
            .block_on(ecs_core::aws::load_with_credentials(
                &opts, "testing", "testing",
            ))
            .unwrap();
        Moto {
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            ecs: aws_sdk_ecs::Client::new(&sdk),
            rt,
        }
    }

    /// A cluster, a task definition with `containers` (name, driver, options) and a service.
    fn service(&self, family: &str, containers: &[ContainerSpec<'_>]) {
        self.rt.block_on(async {
            self.ecs
                .create_cluster()
                .cluster_name(CLUSTER)
                .send()
                .await
                .unwrap();
            let mut req = self.ecs.register_task_definition().family(family);
            for (name, driver, options) in containers {
                let mut lc = LogConfiguration::builder().log_driver(driver.clone());
                for (k, v) in *options {
                    lc = lc.options(*k, *v);
                }
                req = req.container_definitions(
                    ContainerDefinition::builder()
                        .name(*name)
                        .image("public.ecr.aws/docker/library/busybox:latest")
                        .memory(128)
                        .log_configuration(lc.build().unwrap())
                        .build(),
                );
            }
            req.send().await.unwrap();
            self.ecs
                .create_service()
                .cluster(CLUSTER)
                .service_name(SERVICE)
                .task_definition(family)
                .desired_count(1)
                .send()
                .await
                .unwrap();
        });
    }

    fn awslogs_service(&self) {
        let opts: &[(&str, &str)] = &[
            ("awslogs-group", GROUP),
            ("awslogs-region", ecs_e2e::REGION),
            ("awslogs-stream-prefix", SERVICE),
        ];
        self.service(
            SERVICE,
            &[
                (CONTAINERS[0], LogDriver::Awslogs, opts),
                (CONTAINERS[1], LogDriver::Awslogs, opts),
            ],
        );
        self.rt.block_on(async {
            self.logs
                .create_log_group()
                .log_group_name(GROUP)
                .send()
                .await
                .unwrap();
        });
    }

    fn create_stream(&self, name: &str) {
        self.rt.block_on(async {
            self.logs
                .create_log_stream()
                .log_group_name(GROUP)
                .log_stream_name(name)
                .send()
                .await
                .unwrap();
        });
    }

    /// PutLogEvents in chunks of 10,000 (the API's batch limit); `events` in time order.
    fn put(&self, stream: &str, events: &[(i64, String)]) {
        self.rt.block_on(async {
            for chunk in events.chunks(10_000) {
                let mut req = self
                    .logs
                    .put_log_events()
                    .log_group_name(GROUP)
                    .log_stream_name(stream);
                for (ts, msg) in chunk {
                    req = req.log_events(
                        InputLogEvent::builder()
                            .timestamp(*ts)
                            .message(msg)
                            .build()
                            .unwrap(),
                    );
                }
                req.send().await.unwrap();
            }
        });
    }
}

/// 3 tasks × 2 containers, 5 events each at interleaved timestamps 9, 7, 5, 3 and 1 minutes
/// ago; line 2 of each is an ERROR. A stream of another prefix must never show up.
fn seed_standard(moto: &Moto) -> Vec<Seeded> {
    moto.awslogs_service();
    let base = now_ms() - 9 * 60_000;
    let mut all = Vec::new();
    for t in 0..3 {
        for (ci, c) in CONTAINERS.iter().enumerate() {
            let stream = format!("{SERVICE}/{c}/{}", task_id(t));
            moto.create_stream(&stream);
            let events: Vec<(i64, String)> = (0..5)
                .map(|k| {
                    let ts = base + k * 120_000 + (t as i64) * 10 + (ci as i64) * 3;
                    let level = if k == 2 { "ERROR" } else { "info" };
                    (ts, format!("{level} {c} task{t} line{k} ünïcødé ✓"))
                })
                .collect();
            for (ts, m) in &events {
                all.push(Seeded {
                    ts: *ts,
                    task: task_id(t),
                    container: c.to_string(),
                    message: m.clone(),
                });
            }
            moto.put(&stream, &events);
        }
    }
    moto.create_stream("other/web/ffffffffffffffffffffffffffffffff");
    moto.put(
        "other/web/ffffffffffffffffffffffffffffffff",
        &[(base + 5, "not ours".to_string())],
    );
    all.sort();
    all
}

fn logs_cmd(rig: &Rig, dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = rig.cargo_ecs();
    cmd.current_dir(dir)
        .env("TZ", "UTC")
        .args(["logs", "--cluster", CLUSTER, "--service", SERVICE])
        .args(args);
    cmd
}

fn run(rig: &Rig, dir: &std::path::Path, args: &[&str]) -> Output {
    let out = logs_cmd(rig, dir, args).output().unwrap();
    assert!(
        out.status.success(),
        "cargo ecs logs {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// NDJSON lines → (ts, task, container, message), checking every field is there.
fn parse_json(stdout: &[u8]) -> Vec<Seeded> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let ts = v["timestamp"].as_str().unwrap();
            let task = v["task"].as_str().unwrap().to_string();
            let container = v["container"].as_str().unwrap().to_string();
            assert_eq!(
                v["stream"].as_str().unwrap(),
                format!("{SERVICE}/{container}/{task}")
            );
            Seeded {
                ts: ts_ms(ts),
                task,
                container,
                message: v["message"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

/// RFC3339 (`…T…Z`, from our own output) → ms, via `date` to avoid a time crate here.
fn ts_ms(rfc3339: &str) -> i64 {
    let out = Command::new("date")
        .args(["-u", "-d", rfc3339, "+%s%3N"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn logs_merge_every_container_in_time_order_and_flags_narrow() {
    let rig = Rig::start().unwrap();
    let moto = Moto::new(&rig);
    let seeded = seed_standard(&moto);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Everything, NDJSON, in timestamp order.
    let all = parse_json(&run(&rig, d, &["--format", "json"]).stdout);
    assert_eq!(all, seeded, "all 30 events, merged in timestamp order");

    // Human lines: UTC times, [task/container] prefixes, same order; no colour off a terminal.
    let out = run(&rig, d, &["--utc"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 30);
    for (line, s) in lines.iter().zip(&seeded) {
        let prefix = format!("[{}/{}] ", &s.task[..8], s.container);
        assert!(line.contains(&prefix), "{line:?} lacks {prefix:?}");
        assert!(line.ends_with(&s.message), "{line}");
        assert!(line.split(' ').next().unwrap().ends_with('Z'), "{line}");
        assert!(!line.contains('\x1b'));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("times in UTC"), "{stderr}");
    // Forced colour paints the prefix.
    let out = run(&rig, d, &["--color", "always"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b[36m["));

    // --task: short id, id prefix and ARN.
    let t1 = task_id(1);
    let arn = format!("arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/{t1}");
    for sel in [t1.as_str(), &t1[..10], arn.as_str()] {
        let got = parse_json(&run(&rig, d, &["--format", "json", "--task", sel]).stdout);
        let want: Vec<_> = seeded.iter().filter(|s| s.task == t1).cloned().collect();
        assert_eq!(got, want, "--task {sel}");
    }

    // --container.
    let got = parse_json(&run(&rig, d, &["--format", "json", "--container", "sidecar"]).stdout);
    let want: Vec<_> = seeded
        .iter()
        .filter(|s| s.container == "sidecar")
        .cloned()
        .collect();
    assert_eq!(got, want);

    // --since: a duration (events 3 and 1 minutes ago) and an RFC3339 time.
    let got = parse_json(&run(&rig, d, &["--format", "json", "--since", "4m"]).stdout);
    let cut = seeded[0].ts + 5 * 60_000;
    let want: Vec<_> = seeded.iter().filter(|s| s.ts > cut).cloned().collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 12);
    let since = String::from_utf8(
        Command::new("date")
            .args([
                "-u",
                "-d",
                &format!("@{}", (cut + 1) / 1000 + 1),
                "+%Y-%m-%dT%H:%M:%SZ",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let got = parse_json(&run(&rig, d, &["--format", "json", "--since", since.trim()]).stdout);
    assert_eq!(got, want, "--since {since}");

    // --until closes the range.
    let until_cut = seeded[0].ts + 60_000;
    let until = String::from_utf8(
        Command::new("date")
            .args([
                "-u",
                "-d",
                &format!("@{}", until_cut / 1000),
                "+%Y-%m-%dT%H:%M:%SZ",
            ])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let got = parse_json(&run(&rig, d, &["--format", "json", "--until", until.trim()]).stdout);
    assert_eq!(got, seeded[..6].to_vec());

    // --filter is passed through to CloudWatch.
    let got = parse_json(&run(&rig, d, &["--format", "json", "--filter", "ERROR"]).stdout);
    let want: Vec<_> = seeded
        .iter()
        .filter(|s| s.message.contains("ERROR"))
        .cloned()
        .collect();
    assert_eq!(got.len(), 6);
    assert_eq!(got, want);

    // Bad input: clear errors, exit 1.
    let out = logs_cmd(&rig, d, &["--container", "sidecr"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no container `sidecr`") && err.contains("did you mean `sidecar`"),
        "{err}"
    );
    // A malformed time is a usage error: clap reports it, exit 2.
    let out = logs_cmd(&rig, d, &["--since", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("invalid value 'yesterday' for '--since <WHEN>'")
    );
}

#[test]
fn logs_follow_prints_appended_events_exactly_once_and_new_tasks() {
    let rig = Rig::start().unwrap();
    let moto = Moto::new(&rig);
    let seeded = seed_standard(&moto);
    let dir = tempfile::tempdir().unwrap();
    let mut child = logs_cmd(&rig, dir.path(), &["--follow", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let wait_for = |n: usize, lines: &mut Vec<String>, within: Duration| {
        let deadline = Instant::now() + within;
        while lines.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
    };
    wait_for(seeded.len(), &mut lines, Duration::from_secs(30));
    assert_eq!(lines.len(), seeded.len(), "the history first");

    // Append: to old streams (several events in one millisecond) and a new task's stream.
    let new_task = task_id(7);
    let new_stream = format!("{SERVICE}/web/{new_task}");
    moto.create_stream(&new_stream);
    let mut appended = Vec::new();
    for round in 0..3 {
        let ts = now_ms();
        let old = format!("{SERVICE}/sidecar/{}", task_id(0));
        let evs: Vec<(i64, String)> = (0..3)
            .map(|k| (ts, format!("appended r{round} e{k}")))
            .collect();
        moto.put(&old, &evs);
        moto.put(&new_stream, &[(ts + 1, format!("new task r{round}"))]);
        appended.extend(evs.into_iter().map(|(_, m)| m));
        appended.push(format!("new task r{round}"));
        std::thread::sleep(Duration::from_millis(1500));
    }
    wait_for(
        seeded.len() + appended.len(),
        &mut lines,
        Duration::from_secs(30),
    );
    // A few more polls: nothing may be printed twice.
    std::thread::sleep(Duration::from_secs(4));
    while let Ok(l) = rx.try_recv() {
        lines.push(l);
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);

    let got = parse_json(lines.join("\n").as_bytes());
    assert_eq!(got[..seeded.len()].to_vec(), seeded);
    let tail: Vec<String> = got[seeded.len()..]
        .iter()
        .map(|s| s.message.clone())
        .collect();
    let mut want = appended.clone();
    want.sort();
    let mut sorted_tail = tail.clone();
    sorted_tail.sort();
    assert_eq!(
        sorted_tail, want,
        "each appended event exactly once; stderr:\n{stderr}"
    );
    assert!(
        got.iter().any(|s| s.task == new_task),
        "the new task's stream was picked up"
    );
}

#[test]
fn logs_sixty_thousand_events_all_once_with_bounded_memory_and_quiet_closed_pipe() {
    let rig = Rig::start().unwrap();
    let moto = Moto::new(&rig);
    moto.awslogs_service();
    let base = now_ms() - 8 * 60_000;
    let per_stream = 10_000;
    for t in 0..3 {
        for (ci, c) in CONTAINERS.iter().enumerate() {
            let stream = format!("{SERVICE}/{c}/{}", task_id(t));
            moto.create_stream(&stream);
            let s = t * 2 + ci;
            let evs: Vec<(i64, String)> = (0..per_stream)
                .map(|k| {
                    // Interleaved across streams; pairs of events share a millisecond.
                    let ts = base + ((k * 6 + s) / 2) as i64 * 7;
                    (ts, format!("s{s} n{k:05} {}", "x".repeat(60)))
                })
                .collect();
            moto.put(&stream, &evs);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(ecs_e2e::cargo_ecs_bin())
        .args(["ecs", "logs", "--cluster", CLUSTER, "--service", SERVICE])
        .args(["--since", "15m", "--format", "json"])
        .envs(rig.env())
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got = parse_ndjson_light(&out.stdout);
    assert_eq!(got.len(), 60_000);
    let unique: HashSet<&str> = got.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(unique.len(), 60_000, "each event once");
    assert!(
        got.windows(2).all(|w| w[0].0 <= w[1].0),
        "in timestamp order"
    );
    let rss_kb: u64 = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    eprintln!("cargo ecs logs, 60,000 events: peak RSS {rss_kb} kB");
    // The whole range as JSON is ~7 MB; the merge holds about one page per stream.
    assert!(rss_kb < 60_000, "peak RSS {rss_kb} kB");

    // `| head -1`: the reader goes away; we end quietly with exit 0.
    let mut child = logs_cmd(&rig, dir.path(), &["--since", "15m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("n00000"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("error"), "{err}");
}

/// (timestamp string, message) per NDJSON line; timestamps compare as strings (RFC3339 UTC
/// with fixed millisecond width).
fn parse_ndjson_light(stdout: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["timestamp"].as_str().unwrap().to_string(),
                v["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn logs_other_drivers_say_where_the_logs_went() {
    let rig = Rig::start().unwrap();
    let moto = Moto::new(&rig);
    let splunk: &[(&str, &str)] = &[("splunk-url", "https://splunk.example.com:8088")];
    let fluentd: &[(&str, &str)] = &[("fluentd-address", "10.0.0.5:24224")];
    let journald: &[(&str, &str)] = &[];
    moto.service(
        "elsewhere",
        &[
            ("app", LogDriver::Splunk, splunk),
            ("router", LogDriver::Fluentd, fluentd),
            ("agent", LogDriver::Journald, journald),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run(&rig, dir.path(), &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("app: `splunk`") && text.contains("https://splunk.example.com:8088"),
        "{text}"
    );
    assert!(
        text.contains("router: `fluentd`") && text.contains("10.0.0.5:24224"),
        "{text}"
    );
    assert!(
        text.contains("agent: `journald`") && text.contains("journal"),
        "{text}"
    );
    let out = run(&rig, dir.path(), &["--format", "json"]);
    let by_container: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["container"].as_str().unwrap().to_string(),
                v["driver"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(by_container["app"], "splunk");
    assert_eq!(by_container.len(), 3);

    // A cluster or service that is not there: a clear error, exit 1.
    let out = rig
        .cargo_ecs()
        .current_dir(dir.path())
        .args(["logs", "--cluster", "nope", "--service", SERVICE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cluster `nope` not found"));
    let out = rig
        .cargo_ecs()
        .current_dir(dir.path())
        .args(["logs", "--cluster", CLUSTER, "--service", "ghost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("service `ghost` not found in cluster `logs-it`"),
        "{err}"
    );
}

/// A fault-injecting proxy in front of moto (moto never throttles): the first `throttle`
/// FilterLogEvents calls get HTTP 400 `ThrottlingException`, as CloudWatch answers when the
/// account's request quota is spent; every other request is forwarded to moto.
fn throttling_proxy(moto_url: &str, throttle: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = moto_url.trim_start_matches("http://").to_string();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { break };
            let upstream = upstream.clone();
            let counter = counter.clone();
            std::thread::spawn(move || proxy_connection(conn, &upstream, &counter, throttle));
        }
    });
    (url, seen)
}

fn proxy_connection(conn: TcpStream, upstream: &str, counter: &AtomicUsize, throttle: usize) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut client = conn;
    loop {
        // Request head.
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            head.push(line);
        }
        let header = |name: &str| {
            head.iter().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let target = header("x-amz-target").unwrap_or_default();
        if target.ends_with("FilterLogEvents") && counter.fetch_add(1, Ordering::SeqCst) < throttle
        {
            let msg = br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
            let resp = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 Content-Length: {}\r\n\r\n",
                msg.len()
            );
            if client
                .write_all(resp.as_bytes())
                .and_then(|()| client.write_all(msg))
                .is_err()
            {
                return;
            }
            continue;
        }
        // Forward with `Connection: close`, relay the whole answer, then close.
        let Ok(mut up) = TcpStream::connect(upstream) else {
            return;
        };
        let mut req = String::new();
        for l in head
            .iter()
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        {
            req.push_str(l);
        }
        req.push_str("Connection: close\r\n\r\n");
        let mut answer = Vec::new();
        if up.write_all(req.as_bytes()).is_err()
            || up.write_all(&body).is_err()
            || up.read_to_end(&mut answer).is_err()
        {
            return;
        }
        let _ = client.write_all(&answer);
        return;
    }
}

#[test]
fn logs_back_off_when_cloudwatch_throttles() {
    let rig = Rig::start().unwrap();
    let moto = Moto::new(&rig);
    let seeded = seed_standard(&moto);
    let (proxy, filter_calls) = throttling_proxy(&rig.moto_url, 5);
    let dir = tempfile::tempdir().unwrap();
    let t2 = task_id(2);
    // One stream, so the throttled calls hit it in a row: the SDK's own 3 attempts give up,
    // then our back-off retries until the proxy lets calls through.
    let out = logs_cmd(
        &rig,
        dir.path(),
        &[
            "--format",
            "json",
            "--task",
            &t2,
            "--container",
            "web",
            "-v",
        ],
    )
    .env("AWS_ENDPOINT_URL", &proxy)
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let got = parse_json(&out.stdout);
    let want: Vec<_> = seeded
        .iter()
        .filter(|s| s.task == t2 && s.container == "web")
        .cloned()
        .collect();
    assert_eq!(got, want);
    assert!(filter_calls.load(Ordering::SeqCst) > 5);
    assert!(
        stderr.contains("FilterLogEvents throttled; retrying"),
        "{stderr}"
    );
}

#[test]
fn logs_strip_terminal_control_sequences_only_on_a_terminal() {
    let rig = Rig::start().unwrap();
    let moto = Moto::new(&rig);
    moto.awslogs_service();
    let stream = format!("{SERVICE}/web/{}", task_id(0));
    moto.create_stream(&stream);
    let evil = "evil\x1b]0;pwned title\x07 \x1b[2J\x1b[Hcleared \u{202e}bidi ünï ✓\n";
    moto.put(&stream, &[(now_ms() - 1_000, evil.to_string())]);
    let dir = tempfile::tempdir().unwrap();

    // Piped: the message as stored (minus the trailing newline).
    let out = run(&rig, dir.path(), &[]);
    let piped = String::from_utf8(out.stdout).unwrap();
    assert!(piped.contains(evil.trim_end()), "{piped:?}");

    // On a terminal (a pty from `script`): escapes and controls are gone, text is kept.
    let Some(script) = ecs_e2e::find_program("script") else {
        eprintln!("skipping the terminal half: `script` (util-linux) is not installed");
        return;
    };
    let bin = ecs_e2e::cargo_ecs_bin();
    let line = format!(
        "{} ecs logs --cluster {CLUSTER} --service {SERVICE} --color never",
        bin.display()
    );
    let out = Command::new(script)
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .envs(rig.env())
        .env("TZ", "UTC")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{tty}");
    let event = tty.lines().find(|l| l.contains("evil")).unwrap_or_default();
    assert!(event.contains("evil cleared bidi ünï ✓"), "{event:?}");
    assert!(
        !event.contains('\x1b') && !event.contains("pwned"),
        "{event:?}"
    );
}
