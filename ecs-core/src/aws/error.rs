//! One wording for a failed AWS call, used by every adapter: the cause in a line (connection
//! refused, timed out, DNS, TLS, an HTTP status that is no AWS answer, or the service's error
//! code and message), with the endpoint it went to. Never the SDK's `Debug` dump: that one
//! (request body, headers, `Unhandled(…)`) is only a `tracing` debug event.
//!
//! Also checks endpoint URLs up front ([`check_endpoint_url`]), so `AWS_ENDPOINT_URL=notaurl`
//! is a clear configuration error instead of a dispatch failure per call.

use std::error::Error as StdError;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// The services we call: their SDK service id (for `AWS_ENDPOINT_URL_<ID>`), their name in
/// messages and their endpoint host prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Amazon ECS.
    Ecs,
    /// Amazon ECR (control plane).
    Ecr,
    /// CloudWatch Logs.
    Logs,
    /// Amazon EC2.
    Ec2,
    /// AWS STS.
    Sts,
}

impl Service {
    /// Every service, for checking their endpoint variables.
    pub const ALL: [Service; 5] = [
        Service::Ecs,
        Service::Ecr,
        Service::Logs,
        Service::Ec2,
        Service::Sts,
    ];

    /// The SDK service id (`CLOUDWATCH_LOGS` in `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`).
    fn id(self) -> &'static str {
        match self {
            Service::Ecs => "ECS",
            Service::Ecr => "ECR",
            Service::Logs => "CloudWatch Logs",
            Service::Ec2 => "EC2",
            Service::Sts => "STS",
        }
    }

    /// `AWS_ENDPOINT_URL_<ID>`.
    pub fn endpoint_variable(self) -> String {
        format!(
            "AWS_ENDPOINT_URL_{}",
            self.id().to_ascii_uppercase().replace(' ', "_")
        )
    }

    fn host_prefix(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Ecr => "api.ecr",
            Service::Logs => "logs",
            Service::Ec2 => "ec2",
            Service::Sts => "sts",
        }
    }
}

/// The SDK configuration in use, so an error can name the endpoint a call went to (the
/// service clients do not expose their endpoint URL). Set by [`super::load`]; one per process
/// in the CLI.
static IN_USE: Mutex<Option<SdkConfig>> = Mutex::new(None);

pub(crate) fn remember(sdk: &SdkConfig) {
    if let Ok(mut in_use) = IN_USE.lock() {
        *in_use = Some(sdk.clone());
    }
}

/// The endpoint `service`'s calls go to, resolved as the SDK does: an explicit
/// `--endpoint-url`, else `AWS_ENDPOINT_URL_<SERVICE>` / the profile's service section, else
/// `AWS_ENDPOINT_URL`, else the standard regional endpoint.
pub fn endpoint_of(sdk: &SdkConfig, service: Service) -> Option<String> {
    let configured = if sdk.get_origin("endpoint_url").is_client_config() {
        sdk.endpoint_url().map(str::to_string)
    } else {
        sdk.service_config()
            .and_then(|conf| {
                conf.load_config(
                    aws_types::service_config::ServiceConfigKey::builder()
                        .service_id(service.id())
                        .env("AWS_ENDPOINT_URL")
                        .profile("endpoint_url")
                        .build()
                        .ok()?,
                )
            })
            .or_else(|| sdk.endpoint_url().map(str::to_string))
    };
    configured.or_else(|| {
        sdk.region()
            .map(|r| format!("https://{}.{r}.amazonaws.com", service.host_prefix()))
    })
}

fn endpoint_in_use(service: Service) -> String {
    IN_USE
        .lock()
        .ok()
        .and_then(|sdk| sdk.as_ref().and_then(|sdk| endpoint_of(sdk, service)))
        .unwrap_or_else(|| format!("the {} endpoint", service.id()))
}

/// A failed AWS call in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    /// The service's error code (`AccessDeniedException`), when it answered with one.
    pub code: Option<String>,
    /// One line: the service's message, or what went wrong on the way and where.
    pub message: String,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The request never got an AWS answer (connection, timeout, not an AWS response).
    pub transport: bool,
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for CallFailure {}

impl CallFailure {
    /// What to check after a failure every service can give: no answer at all, a refused
    /// permission (`permission`, such as `ecr:GetAuthorizationToken`) or rejected credentials.
    /// `None` for the service's own codes, which its adapter explains.
    pub fn common_help(&self, service: Service, permission: &str) -> Option<String> {
        if self.transport {
            return Some(format!(
                // Short: the error line above already names the endpoint it tried.
                "no answer from {}: check the network and the endpoint override",
                service.id()
            ));
        }
        match self.code.as_deref()? {
            "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "UnauthorizedAccess" => Some(format!(
                "the AWS identity in use is not allowed {permission}; add it to its IAM policy \
                 (`cargo ecs setup` prints the whole policy)"
            )),
            "AuthFailure"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "ExpiredToken" => Some(
                "the AWS credentials were rejected; check AWS_PROFILE / `--aws-profile` and \
                 refresh expired session credentials"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Describes a failed call of `service` (the one helper every adapter uses). The SDK's full
/// error is logged at debug level.
pub fn describe<E>(service: Service, err: &SdkError<E, HttpResponse>) -> CallFailure
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    tracing::debug!(service = service.id(), error = ?err, "AWS call failed");
    let endpoint = || endpoint_in_use(service);
    let transport = |message: String| CallFailure {
        code: None,
        message,
        status: None,
        transport: true,
    };
    match err {
        SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
            Some(conn) => transport(connector_message(&endpoint(), conn)),
            None => transport(format!("cannot reach {}", endpoint())),
        },
        SdkError::TimeoutError(_) => {
            transport(format!("no answer from {} in time (timed out)", endpoint()))
        }
        SdkError::ConstructionFailure(_) => transport(format!(
            "the request to {} could not be built: {}",
            endpoint(),
            innermost(err)
        )),
        SdkError::ResponseError(response) => {
            let raw = response.raw();
            let status = raw.status().as_u16();
            CallFailure {
                code: None,
                message: format!(
                    "{} answered HTTP {status}{}, which is not an AWS {} API response",
                    endpoint(),
                    content_type(raw),
                    service.id()
                ),
                status: Some(status),
                transport: true,
            }
        }
        SdkError::ServiceError(service_err) => {
            let raw = service_err.raw();
            let status = raw.status().as_u16();
            let code = err.code().map(str::to_string);
            let message = match (err.message(), code.as_deref()) {
                (Some(m), _) if !m.is_empty() => m.to_string(),
                (_, Some(code)) => format!("{code} (HTTP {status} from {})", endpoint()),
                (_, None) => format!(
                    "{} answered HTTP {status}{}, which is not an AWS {} API response",
                    endpoint(),
                    content_type(raw),
                    service.id()
                ),
            };
            CallFailure {
                transport: code.is_none(),
                code,
                message,
                status: Some(status),
            }
        }
        _ => transport(format!(
            "the call to {} failed: {}",
            endpoint(),
            innermost(err)
        )),
    }
}

/// ` (text/html)` when the answer says what it is.
fn content_type(raw: &HttpResponse) -> String {
    raw.headers()
        .get("content-type")
        .map(|t| format!(" ({})", t.split(';').next().unwrap_or(t).trim()))
        .unwrap_or_default()
}

/// Why a connection failed: refused, timed out, DNS, TLS, or the innermost cause.
fn connector_message(endpoint: &str, conn: &ConnectorError) -> String {
    if conn.is_timeout() {
        return format!("cannot reach {endpoint}: timed out");
    }
    let mut chain: Vec<&(dyn StdError + 'static)> = Vec::new();
    let mut next = conn.source();
    while let Some(e) = next {
        chain.push(e);
        next = e.source();
    }
    let io_kind = chain
        .iter()
        .find_map(|e| e.downcast_ref::<std::io::Error>().map(std::io::Error::kind));
    let texts: Vec<String> = chain.iter().map(|e| e.to_string()).collect();
    let has = |needle: &str| {
        texts
            .iter()
            .any(|t| t.to_ascii_lowercase().contains(needle))
    };
    let last = texts
        .iter()
        .rev()
        .find(|t| !t.contains("Request {"))
        .cloned()
        .unwrap_or_else(|| "connection failed".to_string());
    use std::io::ErrorKind;
    let cause = match io_kind {
        Some(ErrorKind::ConnectionRefused) => "connection refused".to_string(),
        Some(ErrorKind::TimedOut) => "timed out".to_string(),
        Some(ErrorKind::ConnectionReset) => "connection reset".to_string(),
        _ if has("dns error") || has("failed to lookup address") => {
            format!("DNS lookup failed ({last})")
        }
        _ if has("certificate") || has("tls") || has("handshake") => {
            format!("TLS failed ({last})")
        }
        _ => last,
    };
    format!("cannot reach {endpoint}: {cause}")
}

/// The innermost cause's text, leaving out any that carry a `Debug` dump of the request.
fn innermost(err: &(dyn StdError + 'static)) -> String {
    let mut last = None;
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !text.contains("Request {") {
            last = Some(text);
        }
        next = e.source();
    }
    last.unwrap_or_else(|| "unknown cause".to_string())
}

/// An endpoint URL that cannot work: `origin` (the flag or variable), `value`, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEndpoint {
    /// `--endpoint-url`, `AWS_ENDPOINT_URL`…
    pub origin: String,
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks that `value` is an `http://` or `https://` URL with a host.
pub fn check_endpoint_url(origin: &str, value: &str) -> Result<(), BadEndpoint> {
    let bad = |reason| {
        Err(BadEndpoint {
            origin: origin.to_string(),
            value: value.to_string(),
            reason,
        })
    };
    let lower = value.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &value[8..]
    } else if lower.starts_with("http://") {
        &value[7..]
    } else if value.contains("://") {
        return bad("only http:// and https:// endpoints are supported");
    } else {
        return bad("it has no http:// or https:// scheme");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return bad("credentials in the URL are not supported");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':')),
            None => return bad("the IPv6 address lacks its closing `]`"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return bad("it has no host");
    }
    if host.contains(char::is_whitespace) {
        return bad("the host contains a space");
    }
    if let Some(port) = port
        && (port.is_empty() || port.parse::<u16>().is_err())
    {
        return bad("the port is not a number from 0 to 65535");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_need_a_scheme_and_a_host() {
        for ok in [
            "http://127.0.0.1:5000",
            "https://ecs.eu-west-1.amazonaws.com",
            "HTTP://localhost/",
            "http://[::1]:4566/path",
        ] {
            assert_eq!(check_endpoint_url("--endpoint-url", ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("notaurl", "scheme"),
            ("ftp://x", "only http:// and https://"),
            ("http://", "no host"),
            ("http://:80", "no host"),
            ("http://host:port", "port"),
            ("https://user:pw@host", "credentials"),
        ] {
            let err = check_endpoint_url("AWS_ENDPOINT_URL", bad).unwrap_err();
            assert!(err.reason.contains(why), "{bad}: {err:?}");
            assert_eq!(err.origin, "AWS_ENDPOINT_URL");
            assert_eq!(err.value, bad);
        }
    }

    type Err =
        SdkError<aws_sdk_ecs::operation::describe_services::DescribeServicesError, HttpResponse>;

    fn response(status: u16, content_type: &str, body: &str) -> HttpResponse {
        let mut raw = HttpResponse::new(
            status.try_into().unwrap(),
            aws_smithy_types::body::SdkBody::from(body),
        );
        raw.headers_mut()
            .insert("content-type", content_type.to_string());
        raw
    }

    fn text(err: &Err) -> CallFailure {
        let failure = describe(Service::Ecs, err);
        for dump in [
            "SdkBody",
            "Unhandled",
            "Request {",
            "ConnectorError",
            "DispatchFailure",
        ] {
            assert!(!failure.message.contains(dump), "{failure:?}");
        }
        failure
    }

    #[test]
    fn connection_failures_say_why_in_a_line() {
        let refused = Err::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        ))));
        let f = text(&refused);
        assert!(f.message.ends_with(": connection refused"), "{f:?}");
        assert!(f.transport && f.code.is_none());

        let timeout = Err::dispatch_failure(ConnectorError::timeout("read timed out".into()));
        assert!(text(&timeout).message.ends_with(": timed out"));

        let dns = Err::dispatch_failure(ConnectorError::io(
            "dns error: failed to lookup address information".into(),
        ));
        assert!(text(&dns).message.contains("DNS lookup failed"));

        let tls = Err::dispatch_failure(ConnectorError::io(
            "invalid peer certificate: UnknownIssuer".into(),
        ));
        assert!(
            text(&tls)
                .message
                .contains("TLS failed (invalid peer certificate")
        );
    }

    #[test]
    fn answers_that_are_not_aws_name_the_status() {
        let html = Err::response_error(
            "Error at offset 0: unexpected token '<'",
            response(200, "text/html; charset=utf-8", "<html></html>"),
        );
        let f = text(&html);
        assert!(
            f.message
                .ends_with("answered HTTP 200 (text/html), which is not an AWS ECS API response"),
            "{f:?}"
        );
        assert_eq!(f.status, Some(200));

        let bare = Err::service_error(
            aws_sdk_ecs::operation::describe_services::DescribeServicesError::generic(
                aws_smithy_types::error::ErrorMetadata::builder().build(),
            ),
            response(502, "text/html", "<html>bad gateway</html>"),
        );
        let f = text(&bare);
        assert!(f.message.contains("answered HTTP 502 (text/html)"), "{f:?}");
        assert!(f.transport);
    }

    #[test]
    fn service_errors_keep_code_and_message() {
        let denied = Err::service_error(
            aws_sdk_ecs::operation::describe_services::DescribeServicesError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("User is not authorized to perform ecs:DescribeServices")
                    .build(),
            ),
            response(400, "application/x-amz-json-1.1", "{}"),
        );
        let f = text(&denied);
        assert_eq!(f.code.as_deref(), Some("AccessDeniedException"));
        assert_eq!(
            f.message,
            "User is not authorized to perform ecs:DescribeServices"
        );
        assert!(!f.transport);
    }

    #[test]
    fn service_endpoint_variables() {
        assert_eq!(
            Service::Logs.endpoint_variable(),
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"
        );
        assert_eq!(Service::Ecs.endpoint_variable(), "AWS_ENDPOINT_URL_ECS");
    }
}
