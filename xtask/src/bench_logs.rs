//! `cargo xtask bench logs`: `cargo ecs logs` against `awslogs` (the PyPI tool), side by side,
//! fetching the same events from the same moto_server in one run.
//!
//! The rig's moto gets a cluster, a service and a task definition with two awslogs containers,
//! and `--events N` (default 60,000) events over 3 tasks × 2 containers at interleaved
//! timestamps, seeded through moto's JSON API (no SDK here, so xtask stays light). Each tool
//! then prints the whole range `--runs` times (alternating); we check both printed every
//! event and report the median wall time, the peak RSS (`/usr/bin/time -v`) and the ratio.
//! `awslogs` lives in its own virtualenv under `target/bench-venv` so moto's boto3 is
//! untouched; it is created on first use. Flags: `--events N`, `--runs N`, `--debug` (the
//! debug build instead of release), `--no-build` (use the binary already built).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use ecs_e2e::{Rig, http_call, workspace_root};
use serde_json::json;

const GROUP: &str = "/ecs/bench";
const CLUSTER: &str = "bench";
const SERVICE: &str = "bench";
const CONTAINERS: [&str; 2] = ["app", "sidecar"];
const TASKS: usize = 3;

struct Opts {
    events: usize,
    runs: usize,
    release: bool,
    build: bool,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        events: 60_000,
        runs: 3,
        release: true,
        build: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<usize> {
            it.next()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .with_context(|| format!("{name} needs a positive number"))
        };
        match a.as_str() {
            "--events" => o.events = num("--events")?,
            "--runs" => o.runs = num("--runs")?,
            "--debug" => o.release = false,
            "--no-build" => o.build = false,
            other => bail!(
                "unknown argument `{other}`\nusage: cargo xtask bench logs [--events N] [--runs N] [--debug] [--no-build]"
            ),
        }
    }
    Ok(o)
}

/// Runs the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let root = workspace_root();
    let ours = build_cargo_ecs(&root, opts.release, opts.build)?;
    let awslogs = ensure_awslogs(&root)?;

    eprintln!("bench logs: starting the rig (moto_server)…");
    let rig = Rig::start()?;
    let started = Instant::now();
    seed(&rig.moto_url, opts.events)?;
    eprintln!(
        "bench logs: seeded {} events in {} streams in {:.1}s",
        opts.events,
        TASKS * CONTAINERS.len(),
        started.elapsed().as_secs_f64()
    );

    let dir = std::env::temp_dir();
    let ours_cmd = |cmd: &mut Command| {
        cmd.arg(&ours)
            .args(["ecs", "logs", "--cluster", CLUSTER, "--service", SERVICE])
            .args(["--since", "30m", "--color", "never", "-q"]);
    };
    let awslogs_cmd = |cmd: &mut Command| {
        cmd.arg(&awslogs)
            .args(["get", GROUP, "ALL", "--start", "30m ago", "--no-color"]);
    };
    type Tool<'a> = (&'a str, &'a dyn Fn(&mut Command));
    let tools: [Tool<'_>; 2] = [("cargo ecs logs", &ours_cmd), ("awslogs get", &awslogs_cmd)];
    let mut results: Vec<Vec<Sample>> = vec![Vec::new(), Vec::new()];
    for run in 0..opts.runs {
        for (i, (name, build)) in tools.iter().enumerate() {
            let s = measure(build, &rig, &dir)?;
            eprintln!(
                "bench logs: run {} {name}: {:.2}s, {} lines, {} kB peak RSS",
                run + 1,
                s.secs,
                s.lines,
                s.rss_kb.map_or("?".to_string(), |k| k.to_string())
            );
            if s.lines != opts.events {
                bail!(
                    "{name} printed {} lines, expected {} (one per event)",
                    s.lines,
                    opts.events
                );
            }
            results[i].push(s);
        }
    }

    let med: Vec<f64> = results.iter().map(|r| median(r)).collect();
    println!(
        "logs: {} events, 3 tasks × 2 containers, same moto, median of {} runs",
        opts.events, opts.runs
    );
    println!(
        "{:<16} {:>10} {:>12} {:>14}",
        "tool", "median s", "events/s", "peak RSS kB"
    );
    for (i, (name, _)) in tools.iter().enumerate() {
        let rss = results[i].iter().filter_map(|s| s.rss_kb).max();
        println!(
            "{:<16} {:>10.2} {:>12.0} {:>14}",
            name,
            med[i],
            opts.events as f64 / med[i],
            rss.map_or("?".to_string(), |k| k.to_string())
        );
    }
    println!(
        "ratio: cargo ecs logs is {:.1}× faster than awslogs (target ≥ 2×)",
        med[1] / med[0]
    );
    Ok(())
}

struct Sample {
    secs: f64,
    lines: usize,
    rss_kb: Option<u64>,
}

fn median(samples: &[Sample]) -> f64 {
    let mut v: Vec<f64> = samples.iter().map(|s| s.secs).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs one tool under `/usr/bin/time -v` (when present), counting stdout lines.
fn measure(build: &dyn Fn(&mut Command), rig: &Rig, dir: &Path) -> Result<Sample> {
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.is_file() {
        let mut c = Command::new(time);
        c.arg("-v");
        c
    } else {
        // No GNU time: run the tool directly (`sh -c 'exec "$@"'`), without RSS.
        let mut c = Command::new("sh");
        c.args(["-c", "exec \"$@\"", "sh"]);
        c
    };
    build(&mut cmd);
    cmd.envs(rig.env())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let t = Instant::now();
    let out = cmd.output().context("cannot run the benchmark command")?;
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{cmd:?} failed:\n{stderr}");
    }
    let rss_kb = stderr.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Maximum resident set size (kbytes): ")
            .and_then(|v| v.trim().parse().ok())
    });
    Ok(Sample {
        secs,
        lines: out.stdout.iter().filter(|b| **b == b'\n').count(),
        rss_kb,
    })
}

fn build_cargo_ecs(root: &Path, release: bool, build: bool) -> Result<PathBuf> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = dir
        .join(if release { "release" } else { "debug" })
        .join("cargo-ecs");
    if !build {
        if !bin.is_file() {
            bail!(
                "{} does not exist: build it or drop --no-build",
                bin.display()
            );
        }
        return Ok(bin);
    }
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root).args(["build", "-p", "cargo-ecs"]);
    if release {
        cmd.arg("--release");
    }
    eprintln!("bench logs: {cmd:?}");
    if !cmd.status().context("cannot run cargo build")?.success() {
        bail!("cargo build -p cargo-ecs failed");
    }
    Ok(bin)
}

/// `target/bench-venv/bin/awslogs`, installing it into its own virtualenv when missing.
fn ensure_awslogs(root: &Path) -> Result<PathBuf> {
    let venv = root.join("target/bench-venv");
    let bin = venv.join("bin/awslogs");
    if bin.is_file() {
        return Ok(bin);
    }
    eprintln!("bench logs: installing awslogs into {}", venv.display());
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("cannot run python3 -m venv")?
        .success()
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "awslogs"])
            .status()
            .context("cannot run pip")?
            .success();
    if !ok || !bin.is_file() {
        bail!(
            "could not install awslogs; try `python3 -m venv target/bench-venv && target/bench-venv/bin/pip install awslogs`"
        );
    }
    Ok(bin)
}

fn task_id(t: usize) -> String {
    format!(
        "{:08x}{:024x}",
        0xa000_0000u32 as usize + t * 0x0101_0101,
        t
    )
}

/// One AWS JSON-protocol call to moto (unsigned; moto checks no signature). Like
/// `ecs_e2e::aws_json`, but an empty answer (CreateLogGroup, CreateLogStream) is fine.
fn aws_json(
    moto: &str,
    service: &str,
    target: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value> {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20250101/{}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0",
        ecs_e2e::REGION
    );
    let (status, text) = http_call(
        moto,
        "POST",
        "/",
        &[
            ("X-Amz-Target", target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", &auth),
        ],
        &serde_json::to_vec(body)?,
    )?;
    if status != 200 {
        bail!("{target} answered {status}: {text}");
    }
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(&text).with_context(|| format!("{target} answered non-JSON: {text}"))
}

/// Cluster, task definition, service, log group, streams and `events` events.
fn seed(moto: &str, events: usize) -> Result<()> {
    let ecs = |op: &str, body: serde_json::Value| {
        aws_json(
            moto,
            "ecs",
            &format!("AmazonEC2ContainerServiceV20141113.{op}"),
            &body,
        )
    };
    let logs = |op: &str, body: serde_json::Value| {
        aws_json(moto, "logs", &format!("Logs_20140328.{op}"), &body)
    };
    ecs("CreateCluster", json!({ "clusterName": CLUSTER }))?;
    let containers: Vec<_> = CONTAINERS
        .iter()
        .map(|c| {
            json!({
                "name": c, "image": "public.ecr.aws/docker/library/busybox:latest", "memory": 128,
                "logConfiguration": { "logDriver": "awslogs", "options": {
                    "awslogs-group": GROUP, "awslogs-region": ecs_e2e::REGION,
                    "awslogs-stream-prefix": SERVICE } }
            })
        })
        .collect();
    ecs(
        "RegisterTaskDefinition",
        json!({ "family": SERVICE, "containerDefinitions": containers }),
    )?;
    ecs(
        "CreateService",
        json!({ "cluster": CLUSTER, "serviceName": SERVICE, "taskDefinition": SERVICE, "desiredCount": 1 }),
    )?;
    logs("CreateLogGroup", json!({ "logGroupName": GROUP }))?;

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64;
    let nstreams = TASKS * CONTAINERS.len();
    let per = events.div_ceil(nstreams);
    // Spread over the last 20 minutes, interleaved across streams.
    let step = (20 * 60_000 / (per as i64 * nstreams as i64)).max(1);
    let base = now - 20 * 60_000 - 1_000;
    let mut left = events;
    for t in 0..TASKS {
        for (ci, c) in CONTAINERS.iter().enumerate() {
            let s = t * CONTAINERS.len() + ci;
            let stream = format!("{SERVICE}/{c}/{}", task_id(t));
            logs(
                "CreateLogStream",
                json!({ "logGroupName": GROUP, "logStreamName": stream }),
            )?;
            let n = per.min(left);
            left -= n;
            for start in (0..n).step_by(10_000) {
                let batch: Vec<_> = (start..n.min(start + 10_000))
                    .map(|k| {
                        json!({
                            "timestamp": base + (k * nstreams + s) as i64 * step,
                            "message": format!("GET /items/{k} 200 task={t} container={c} latency_ms={} ünïcødé", k % 97),
                        })
                    })
                    .collect();
                logs(
                    "PutLogEvents",
                    json!({ "logGroupName": GROUP, "logStreamName": stream, "logEvents": batch }),
                )?;
            }
        }
    }
    Ok(())
}
