//! An OCI distribution API client over reqwest: HEAD blobs, upload only the missing ones
//! (monolithic POST+PUT, or chunked PATCH for big blobs), mount across repositories, put
//! manifests and tags, pull manifests and blobs (base images). Retries with backoff on 5xx
//! answers and dropped connections; a failed upload restarts from a fresh session so a blob
//! is never half-written.
//!
//! Credentials are basic auth (ECR's GetAuthorizationToken) or a bearer token fetched from
//! the registry's challenge (Docker Hub and other public registries). They are never logged:
//! [`Credentials`] redacts itself in `Debug`, and the `Authorization` header is marked
//! sensitive.

use std::time::Duration;

use base64::Engine;
use futures::StreamExt;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode, Url};

use crate::image::{Blob, BuiltImage, Digest};
use crate::progress::Reporter;

/// Blobs above this size are uploaded in chunks.
pub const CHUNK_THRESHOLD: usize = 10 * 1024 * 1024;
/// Chunk size for chunked uploads (FACTS.md: ECR parts are 5 MiB minimum, 10 MiB safe max).
pub const CHUNK_SIZE: usize = 10 * 1024 * 1024;

/// The manifest media types we accept when pulling.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Registry user name and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name (`AWS` for ECR).
    pub username: String,
    password: String,
}

impl Credentials {
    /// From a user name and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }
    fn basic(&self) -> HeaderValue {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.username, self.password));
        let mut v = HeaderValue::from_str(&format!("Basic {token}"))
            .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        v.set_sensitive(true);
        v
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `text` (a registry's error body, shown to the user) with every form of our secrets
/// replaced: a misbehaving registry or proxy may echo the request's headers back.
fn redact(text: &str, credentials: Option<&Credentials>, bearer: Option<&HeaderValue>) -> String {
    let mut secrets: Vec<String> = Vec::new();
    if let Some(c) = credentials {
        if let Ok(v) = c.basic().to_str() {
            secrets.push(v.trim_start_matches("Basic ").to_string());
        }
        secrets.push(c.password.clone());
    }
    if let Some(v) = bearer.and_then(|v| v.to_str().ok()) {
        secrets.push(v.trim_start_matches("Bearer ").to_string());
    }
    let mut out = text.to_string();
    // Longest first, so a secret inside another is not left half-replaced.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), "<redacted>");
    }
    out
}

/// How to reach one registry host.
#[derive(Debug, Clone, Default)]
pub struct RegistryAccess {
    /// The registry host as references name it (`123456789012.dkr.ecr.us-east-1.amazonaws.com`).
    pub host: String,
    /// Send this host's traffic here instead (`--registry-endpoint`); plain http only for
    /// loopback.
    pub endpoint: Option<String>,
    /// Basic-auth credentials (ECR), if any.
    pub credentials: Option<Credentials>,
}

/// Retry settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total.
    pub attempts: u32,
    /// First backoff; doubles each time, with jitter.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_millis(200),
        }
    }
}

/// Registry errors.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RegistryError {
    /// Plain http to a non-loopback host.
    #[error("refusing plain http registry endpoint `{url}`")]
    #[diagnostic(
        code(cargo_ecs::registry::insecure_endpoint),
        help(
            "plain http is only allowed for loopback hosts (127.0.0.1, ::1, localhost); use https://"
        )
    )]
    InsecureEndpoint {
        /// The endpoint.
        url: String,
    },
    /// Unparseable endpoint.
    #[error("invalid registry endpoint `{url}`")]
    #[diagnostic(
        code(cargo_ecs::registry::bad_endpoint),
        help("give a URL such as https://registry.example.com or http://127.0.0.1:5000")
    )]
    BadEndpoint {
        /// The endpoint.
        url: String,
    },
    /// Transport failure after retries.
    #[error("cannot reach registry at {url}")]
    #[diagnostic(
        code(cargo_ecs::registry::unreachable),
        help("check the network, the registry endpoint (--registry-endpoint) and proxy settings")
    )]
    Http {
        /// What we were requesting.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// Credentials rejected.
    #[error("registry {host} rejected the credentials ({method} {path})")]
    #[diagnostic(
        code(cargo_ecs::registry::unauthorized),
        help(
            "ECR tokens last 12 hours and need ecr:GetAuthorizationToken plus the push/pull actions (ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage)"
        )
    )]
    Unauthorized {
        /// Host.
        host: String,
        /// Method.
        method: String,
        /// Path.
        path: String,
    },
    /// Unexpected status.
    #[error("registry answered {status} to {method} {path}: {body}")]
    #[diagnostic(code(cargo_ecs::registry::status))]
    Status {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// Status code.
        status: u16,
        /// Body excerpt.
        body: String,
    },
    /// Retries exhausted (5xx, 429 or transport failures every time).
    #[error("gave up on {what} at {host} after {attempts} attempts: {last}")]
    #[diagnostic(
        code(cargo_ecs::registry::gave_up),
        help(
            "check the network, the registry endpoint (--registry-endpoint / CARGO_ECS_REGISTRY_ENDPOINT) and proxy settings; a 5xx answer means the registry itself is failing"
        )
    )]
    GaveUp {
        /// Registry host.
        host: String,
        /// What was being done (`PUT /v2/…`, `upload of sha256:…`).
        what: String,
        /// How many attempts were made.
        attempts: u32,
        /// Why the last attempt failed.
        last: String,
    },
    /// Downloaded bytes do not match their digest.
    #[error("blob {expected} from {host} has digest {actual}")]
    #[diagnostic(
        code(cargo_ecs::registry::digest_mismatch),
        help("the registry or a proxy corrupted the download; retry")
    )]
    DigestMismatch {
        /// Host.
        host: String,
        /// Wanted.
        expected: String,
        /// Got.
        actual: String,
    },
    /// An immutable tag points elsewhere.
    #[error("tag `{tag}` of {repository} already points at {existing}, not {wanted}")]
    #[diagnostic(
        code(cargo_ecs::registry::immutable_tag),
        help(
            "the repository's tags are IMMUTABLE: choose a new tag in `image.tags`, or deploy by digest only"
        )
    )]
    ImmutableTag {
        /// Repository.
        repository: String,
        /// Tag.
        tag: String,
        /// Its digest.
        existing: String,
        /// Ours.
        wanted: String,
    },
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushStats {
    /// Blob bytes sent.
    pub bytes_uploaded: u64,
    /// Blobs sent.
    pub blobs_uploaded: usize,
    /// Blobs already there (or mounted from another repository).
    pub blobs_present: usize,
    /// Of those, blobs mounted from another repository.
    pub blobs_mounted: usize,
}

/// A client for one registry host.
#[derive(Debug)]
pub struct Registry {
    client: reqwest::Client,
    host: String,
    base: Url,
    credentials: Option<Credentials>,
    bearer: tokio::sync::Mutex<Option<HeaderValue>>,
    retry: RetryPolicy,
}

enum Attempt<T> {
    Done(T),
    Retry(String),
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// The endpoint URL for a registry host, honouring an override.
pub fn endpoint_url(host: &str, endpoint: Option<&str>) -> Result<Url, RegistryError> {
    let raw = match endpoint {
        Some(e) => e.to_string(),
        None if host == "docker.io" => "https://registry-1.docker.io".to_string(),
        None if is_loopback(host.split(':').next().unwrap_or(host)) => format!("http://{host}"),
        None => format!("https://{host}"),
    };
    let url = Url::parse(&raw).map_err(|_| RegistryError::BadEndpoint { url: raw.clone() })?;
    match url.scheme() {
        "https" => {}
        "http" if url.host_str().is_some_and(is_loopback) => {}
        "http" => return Err(RegistryError::InsecureEndpoint { url: raw }),
        _ => return Err(RegistryError::BadEndpoint { url: raw }),
    }
    Ok(url)
}

impl Registry {
    /// A client for `access`.
    pub fn new(access: &RegistryAccess) -> Result<Registry, RegistryError> {
        let base = endpoint_url(&access.host, access.endpoint.as_deref())?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .read_timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(8)
            .user_agent(concat!("cargo-ecs/", env!("CARGO_PKG_VERSION")));
        if base.scheme() == "http" {
            // Plain http (loopback only, see endpoint_url): no TLS, so the system's root
            // certificates are not loaded, which takes most of a no-op push's time (17 ms
            // in a debug build). Any https this client met would then fail verification.
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let client = builder.build().map_err(|source| RegistryError::Http {
            url: base.to_string(),
            source,
        })?;
        Ok(Registry {
            client,
            host: access.host.clone(),
            base,
            credentials: access.credentials.clone(),
            bearer: tokio::sync::Mutex::new(None),
            retry: RetryPolicy::default(),
        })
    }

    /// Overrides the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The registry host (as references name it).
    pub fn host(&self) -> &str {
        &self.host
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    async fn auth_header(&self) -> Option<HeaderValue> {
        if let Some(b) = self.bearer.lock().await.clone() {
            return Some(b);
        }
        self.credentials.as_ref().map(Credentials::basic)
    }

    /// Sends one request with auth; answers a bearer challenge once.
    async fn send(
        &self,
        method: Method,
        url: Url,
        scope: &str,
        build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut challenged = false;
        loop {
            let mut req = self.client.request(method.clone(), url.clone());
            if let Some(auth) = self.auth_header().await {
                req = req.header(AUTHORIZATION, auth);
            }
            let resp = build(req).send().await?;
            if resp.status() == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                let challenge = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                if let Some(token) = self.fetch_bearer(&challenge, scope).await {
                    *self.bearer.lock().await = Some(token);
                    continue;
                }
            }
            return Ok(resp);
        }
    }

    /// `Bearer realm="…",service="…",scope="…"` → a token from the realm.
    async fn fetch_bearer(&self, challenge: &str, scope: &str) -> Option<HeaderValue> {
        let rest = challenge.strip_prefix("Bearer ")?;
        let mut realm = None;
        let mut service = None;
        for part in rest.split(',') {
            let (k, v) = part.split_once('=')?;
            let v = v.trim().trim_matches('"').to_string();
            match k.trim() {
                "realm" => realm = Some(v),
                "service" => service = Some(v),
                _ => {}
            }
        }
        let mut url = Url::parse(&realm?).ok()?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = &service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
        }
        let mut req = self.client.get(url);
        if let Some(c) = &self.credentials {
            req = req.header(AUTHORIZATION, c.basic());
        }
        let resp = req.send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
        let token = body["token"]
            .as_str()
            .or_else(|| body["access_token"].as_str())?;
        let mut v = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        v.set_sensitive(true);
        Some(v)
    }

    async fn backoff(&self, attempt: u32) {
        let base = self.retry.base_delay.as_millis() as u64;
        let ms = base.saturating_mul(1u64 << attempt.min(6));
        let jitter = fastrand::u64(0..=ms / 2 + 1);
        tokio::time::sleep(Duration::from_millis(ms + jitter)).await;
    }

    /// Runs `op` until it is done, retrying (with backoff) when it asks to.
    async fn retrying<T, F, Fut>(&self, what: &str, op: F) -> Result<T, RegistryError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Attempt<T>, RegistryError>>,
    {
        let mut last = String::new();
        for attempt in 0..self.retry.attempts {
            if attempt > 0 {
                tracing::debug!("retrying {what} after: {last}");
                self.backoff(attempt - 1).await;
            }
            match op().await? {
                Attempt::Done(v) => return Ok(v),
                Attempt::Retry(why) => last = why,
            }
        }
        // `what` is often the request itself: say it once.
        let last = match last.strip_prefix(what) {
            Some(rest) => rest.trim_start_matches(':').trim_start().to_string(),
            None => last,
        };
        // With an endpoint override, say where the requests really went.
        let authority = match (self.base.host_str(), self.base.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => self.base.to_string(),
        };
        let host = if authority == self.host {
            self.host.clone()
        } else {
            format!("{} (through {})", self.host, authority)
        };
        Err(RegistryError::GaveUp {
            host,
            what: what.to_string(),
            attempts: self.retry.attempts,
            last,
        })
    }

    fn classify(
        &self,
        method: &Method,
        url: &Url,
        r: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Attempt<reqwest::Response>, RegistryError> {
        match r {
            // The URL is left out of the cause: the path is already in front of it.
            Err(e) => Ok(Attempt::Retry(format!(
                "{method} {}: {}",
                url.path(),
                error_chain(&e.without_url())
            ))),
            Ok(resp) if resp.status().is_server_error() || resp.status().as_u16() == 429 => {
                Ok(Attempt::Retry(format!(
                    "{method} {} answered {}",
                    url.path(),
                    resp.status()
                )))
            }
            Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED => {
                Err(RegistryError::Unauthorized {
                    host: self.host.clone(),
                    method: method.to_string(),
                    path: url.path().to_string(),
                })
            }
            Ok(resp) => Ok(Attempt::Done(resp)),
        }
    }

    async fn unexpected(
        &self,
        method: &Method,
        url: &Url,
        resp: reqwest::Response,
    ) -> RegistryError {
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        let bearer = self.bearer.lock().await.clone();
        RegistryError::Status {
            method: method.to_string(),
            path: url.path().to_string(),
            status,
            body: redact(&body, self.credentials.as_ref(), bearer.as_ref())
                .chars()
                .take(400)
                .collect(),
        }
    }

    /// A simple request with retries; returns the final response (any non-5xx status).
    async fn request(
        &self,
        method: Method,
        url: Url,
        scope: &str,
        build: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
    ) -> Result<reqwest::Response, RegistryError> {
        let what = format!("{method} {}", url.path());
        self.retrying(&what, || async {
            let r = self.send(method.clone(), url.clone(), scope, build).await;
            self.classify(&method, &url, r)
        })
        .await
    }

    /// Whether `repo` has the blob.
    pub async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let resp = self
            .request(Method::HEAD, url.clone(), &push_scope(repo), &|r| r)
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.unexpected(&Method::HEAD, &url, resp).await),
        }
    }

    /// Tries a cross-repository mount of `digest` from `from` into `repo`.
    pub async fn mount_blob(
        &self,
        repo: &str,
        digest: &Digest,
        from: &str,
    ) -> Result<bool, RegistryError> {
        let mut url = self.url(&format!("/v2/{repo}/blobs/uploads/"));
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from);
        let scope = format!("{} repository:{from}:pull", push_scope(repo));
        let resp = self
            .request(Method::POST, url.clone(), &scope, &|r| {
                r.header(CONTENT_LENGTH, 0)
            })
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                // The registry opened an upload instead; abandon it (the upload path opens its own).
                if let Some(loc) = location(&url, &resp) {
                    let _ = self.send(Method::DELETE, loc, &scope, &|r| r).await;
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Uploads a blob, restarting from a fresh session after a failure.
    pub async fn upload_blob(
        &self,
        repo: &str,
        digest: &Digest,
        data: &bytes::Bytes,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), RegistryError> {
        let what = format!("upload of {digest}");
        self.retrying(&what, || self.upload_once(repo, digest, data, progress))
            .await
    }

    async fn upload_once(
        &self,
        repo: &str,
        digest: &Digest,
        data: &bytes::Bytes,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Attempt<()>, RegistryError> {
        let scope = push_scope(repo);
        let start = self.url(&format!("/v2/{repo}/blobs/uploads/"));
        let r = self
            .send(Method::POST, start.clone(), &scope, &|r| {
                r.header(CONTENT_LENGTH, 0)
            })
            .await;
        let resp = match self.classify(&Method::POST, &start, r)? {
            Attempt::Done(r) => r,
            Attempt::Retry(why) => return Ok(Attempt::Retry(why)),
        };
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.unexpected(&Method::POST, &start, resp).await);
        }
        let Some(mut loc) = location(&start, &resp) else {
            return Err(RegistryError::Status {
                method: "POST".into(),
                path: start.path().into(),
                status: 202,
                body: "no Location header".into(),
            });
        };

        // Zero-copy views of the blob for every request body (and every retry).
        let data = data.clone();
        let monolithic = data.len() <= CHUNK_THRESHOLD;
        if !monolithic {
            for (i, chunk) in data.chunks(CHUNK_SIZE).enumerate() {
                let from = i * CHUNK_SIZE;
                let to = from + chunk.len() - 1;
                let body = data.slice(from..=to);
                let len = body.len();
                let r = self
                    .send(Method::PATCH, loc.clone(), &scope, &|r| {
                        r.header(CONTENT_TYPE, "application/octet-stream")
                            .header("Content-Range", format!("{from}-{to}"))
                            .header(CONTENT_LENGTH, len)
                            .body(body.clone())
                    })
                    .await;
                let resp = match self.classify(&Method::PATCH, &loc, r)? {
                    Attempt::Done(r) => r,
                    Attempt::Retry(why) => return Ok(Attempt::Retry(why)),
                };
                if resp.status() != StatusCode::ACCEPTED {
                    return Err(self.unexpected(&Method::PATCH, &loc, resp).await);
                }
                if let Some(next) = location(&loc, &resp) {
                    loc = next;
                }
                progress(len as u64);
            }
        }
        loc.query_pairs_mut().append_pair("digest", digest.as_str());
        // The whole blob for a monolithic PUT (a cheap reference-counted view, not a copy).
        let body = if monolithic {
            data.clone()
        } else {
            bytes::Bytes::new()
        };
        let len = body.len();
        let r = self
            .send(Method::PUT, loc.clone(), &scope, &|r| {
                r.header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, len)
                    .body(body.clone())
            })
            .await;
        let resp = match self.classify(&Method::PUT, &loc, r)? {
            Attempt::Done(r) => r,
            Attempt::Retry(why) => return Ok(Attempt::Retry(why)),
        };
        if resp.status() != StatusCode::CREATED {
            return Err(self.unexpected(&Method::PUT, &loc, resp).await);
        }
        if monolithic {
            progress(len as u64);
        }
        Ok(Attempt::Done(()))
    }

    /// The digest `reference` (tag or digest) points at, if it exists.
    pub async fn manifest_digest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self
            .request(Method::HEAD, url.clone(), &push_scope(repo), &|r| {
                r.header(ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(resp
                .headers()
                .get("Docker-Content-Digest")
                .and_then(|v| v.to_str().ok())
                .map(|d| Digest(d.to_string()))),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.unexpected(&Method::HEAD, &url, resp).await),
        }
    }

    /// PUT a manifest under `reference` (its digest or a tag).
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let body = bytes.to_vec();
        let resp = self
            .request(Method::PUT, url.clone(), &push_scope(repo), &|r| {
                r.header(CONTENT_TYPE, media_type).body(body.clone())
            })
            .await?;
        if resp.status().is_success() {
            return Ok(());
        }
        Err(self.unexpected(&Method::PUT, &url, resp).await)
    }

    /// GET a manifest: its media type and bytes.
    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<(String, Vec<u8>), RegistryError> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self
            .request(
                Method::GET,
                url.clone(),
                &format!("repository:{repo}:pull"),
                &|r| r.header(ACCEPT, MANIFEST_ACCEPT),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.unexpected(&Method::GET, &url, resp).await);
        }
        let media = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = resp.bytes().await.map_err(|source| RegistryError::Http {
            url: url.to_string(),
            source,
        })?;
        Ok((media, bytes.to_vec()))
    }

    /// GET a blob and check its digest.
    pub async fn get_blob(&self, repo: &str, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let what = format!("download of {digest}");
        self.retrying(&what, || async {
            let r = self
                .send(
                    Method::GET,
                    url.clone(),
                    &format!("repository:{repo}:pull"),
                    &|r| r,
                )
                .await;
            let resp = match self.classify(&Method::GET, &url, r)? {
                Attempt::Done(r) => r,
                Attempt::Retry(w) => return Ok(Attempt::Retry(w)),
            };
            if !resp.status().is_success() {
                return Err(self.unexpected(&Method::GET, &url, resp).await);
            }
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => return Ok(Attempt::Retry(e.to_string())),
            };
            let actual = crate::image::layer::sha256(&bytes);
            if &actual != digest {
                return Err(RegistryError::DigestMismatch {
                    host: self.host.clone(),
                    expected: digest.to_string(),
                    actual: actual.to_string(),
                });
            }
            Ok(Attempt::Done(bytes.to_vec()))
        })
        .await
    }

    /// Pushes a built image to `repo`: blobs not present are uploaded (or mounted from the
    /// repository they came from), then the manifest by digest and each tag.
    pub async fn push_image(
        &self,
        repo: &str,
        image: &BuiltImage,
        tags: &[String],
        reporter: &dyn Reporter,
    ) -> Result<PushStats, RegistryError> {
        let blobs: Vec<&Blob> = image.layers.iter().chain([&image.config]).collect();
        // 1. Which blobs are missing (HEAD, concurrently).
        let checks = futures::stream::iter(blobs.iter().map(|b| async move {
            let present = self.has_blob(repo, &b.digest).await?;
            Ok::<_, RegistryError>((*b, present))
        }))
        .buffered(4)
        .collect::<Vec<_>>()
        .await;
        let mut stats = PushStats::default();
        let mut missing = Vec::new();
        for c in checks {
            let (blob, present) = c?;
            if present {
                stats.blobs_present += 1;
                reporter.note(&format!("blob {} already present", blob.digest));
            } else {
                missing.push(blob);
            }
        }
        // 2. Mount what another repository of this registry has.
        let mut to_upload = Vec::new();
        for blob in missing {
            let from = blob
                .origin
                .as_ref()
                .filter(|o| o.host == self.host && o.repository != repo);
            if let Some(origin) = from
                && self
                    .mount_blob(repo, &blob.digest, &origin.repository)
                    .await?
            {
                stats.blobs_present += 1;
                stats.blobs_mounted += 1;
                reporter.note(&format!(
                    "blob {} mounted from {}",
                    blob.digest, origin.repository
                ));
                continue;
            }
            to_upload.push(blob);
        }
        // 3. Upload the rest.
        let total: u64 = to_upload.iter().map(|b| b.size).sum();
        reporter.step_started(
            "push",
            &format!(
                "{} blob(s), {} to upload",
                to_upload.len(),
                human_bytes(total)
            ),
            Some(total),
        );
        let progress = |n: u64| reporter.bytes_done("push", n);
        let uploads = futures::stream::iter(to_upload.iter().map(|b| {
            let progress = &progress;
            async move {
                self.upload_blob(repo, &b.digest, &b.data, progress).await?;
                Ok::<_, RegistryError>(b.size)
            }
        }))
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
        for u in uploads {
            stats.bytes_uploaded += u?;
            stats.blobs_uploaded += 1;
        }
        // 4. The manifest: under each tag (which also makes it addressable by digest), or by
        //    digest when there are no tags.
        let digest = image.digest();
        if tags.is_empty() {
            self.put_manifest(
                repo,
                digest.as_str(),
                &image.manifest_media_type,
                &image.manifest,
            )
            .await?;
        }
        for tag in tags {
            self.put_tag(repo, tag, image).await?;
        }
        reporter.step_done(
            "push",
            &format!(
                "{} uploaded, {} blob(s) already present{}",
                human_bytes(stats.bytes_uploaded),
                stats.blobs_present,
                match stats.blobs_mounted {
                    0 => String::new(),
                    n => format!(" ({n} mounted from another repository)"),
                }
            ),
        );
        Ok(stats)
    }

    /// Points `tag` at the image. A tag already at the same digest is success, including on
    /// IMMUTABLE repositories where a re-put would be rejected (FACTS.md, ImageAlreadyExists).
    async fn put_tag(
        &self,
        repo: &str,
        tag: &str,
        image: &BuiltImage,
    ) -> Result<(), RegistryError> {
        let digest = image.digest();
        match self
            .put_manifest(repo, tag, &image.manifest_media_type, &image.manifest)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => match self.manifest_digest(repo, tag).await? {
                Some(d) if &d == digest => Ok(()),
                Some(existing) if matches!(e, RegistryError::Status { status: 400, .. }) => {
                    Err(RegistryError::ImmutableTag {
                        repository: repo.to_string(),
                        tag: tag.to_string(),
                        existing: existing.to_string(),
                        wanted: digest.to_string(),
                    })
                }
                _ => Err(e),
            },
        }
    }
}

/// An error and its causes on one line (`error sending request: … : Connection refused`),
/// without repeating a cause that its parent already quotes.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

fn location(base: &Url, resp: &reqwest::Response) -> Option<Url> {
    let loc = resp.headers().get(LOCATION)?.to_str().ok()?;
    base.join(loc).ok()
}

/// `1.2 MiB`-style sizes for summaries.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn error_bodies_never_show_our_secrets() {
        let creds = Credentials::new("AWS", "s3cr3t-password-value");
        let basic = creds.basic().to_str().unwrap().to_string();
        let bearer = HeaderValue::from_static("Bearer tok-abcdef-123");
        let echoed = format!(
            "bad request; headers: {{'authorization': '{basic}'}} pw=s3cr3t-password-value \
             then Bearer tok-abcdef-123"
        );
        let shown = redact(&echoed, Some(&creds), Some(&bearer));
        assert!(
            !shown.contains(basic.trim_start_matches("Basic ")),
            "{shown}"
        );
        assert!(!shown.contains("s3cr3t-password-value"), "{shown}");
        assert!(!shown.contains("tok-abcdef-123"), "{shown}");
        assert_eq!(shown.matches("<redacted>").count(), 3, "{shown}");
        assert_eq!(redact("plain", Some(&creds), None), "plain");
    }

    use super::*;

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(endpoint_url("x", Some("http://127.0.0.1:5000")).is_ok());
        assert!(endpoint_url("x", Some("http://localhost:5000")).is_ok());
        assert!(endpoint_url("x", Some("http://[::1]:5000")).is_ok());
        assert!(matches!(
            endpoint_url("x", Some("http://registry.example.com")),
            Err(RegistryError::InsecureEndpoint { .. })
        ));
        assert!(matches!(
            endpoint_url("x", Some("ftp://x")),
            Err(RegistryError::BadEndpoint { .. })
        ));
        assert_eq!(
            endpoint_url("123.dkr.ecr.us-east-1.amazonaws.com", None)
                .unwrap()
                .as_str(),
            "https://123.dkr.ecr.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            endpoint_url("docker.io", None).unwrap().host_str(),
            Some("registry-1.docker.io")
        );
    }

    #[test]
    fn credentials_never_show_the_password() {
        let c = Credentials::new("AWS", "s3cret-token");
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
    }
}
