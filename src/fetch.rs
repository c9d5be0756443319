//! HTTP downloads from the CA's revocation services (`--crl`'s lists, `--ocsp`'s
//! responders): plain http:// as those services are published (the answers are signed, so
//! TLS would add nothing and a loop: checking the service's own certificate), one
//! connection each, resolved by the sweep's resolver and never to an `--exclude`d host.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// Why a request got no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server answered, with another status than 200 OK.
    Status(hyper::StatusCode),
    /// The server sent a GET elsewhere (a 301, 302, 303, 307 or 308 with this Location).
    Redirect(String),
    /// Anything else: no address, no connection, an HTTP error, an answer too large.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(s) => write!(f, "answered HTTP {s}"),
            Failure::Redirect(to) => write!(f, "redirected to {to}"),
            Failure::Other(m) => f.write_str(m),
        }
    }
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Other(m)
    }
}

impl From<&str> for Failure {
    fn from(m: &str) -> Failure {
        Failure::Other(m.to_string())
    }
}

/// GETs `url` (http:// only) and returns the body, at most `max_bytes`, from none of the
/// names and addresses `exclude` holds, its host resolved by `dns`. `purpose` is told in the
/// User-Agent, so that the CA's operators see what asks. Redirects to other http:// URLs are
/// followed, at most [`MAX_REDIRECTS`], as clients fetching a list follow them (a CA that
/// moved its lists to a CDN and redirects the old URLs).
pub(crate) async fn get(
    url: &str,
    exclude: Option<&crate::engine::exclude::Exclusions>,
    dns: &crate::engine::resolve::Dns,
    purpose: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, Failure> {
    let mut at = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    for _ in 0..=MAX_REDIRECTS {
        match exchange(at.as_str(), None, exclude, dns, purpose, max_bytes).await {
            Err(Failure::Redirect(to)) => {
                let next = at
                    .join(&to)
                    .map_err(|e| format!("redirected to {to}, which is no URL ({e})"))?;
                if next.scheme() != "http" {
                    return Err(format!(
                        "redirected to {next}, which is not http:// (lists and responders are fetched over plain HTTP)"
                    )
                    .into());
                }
                at = next;
            }
            other => return other,
        }
    }
    Err(format!("redirected more than {MAX_REDIRECTS} times (last to {at})").into())
}

/// Redirects a GET follows.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// The same as [`get`], POSTing `body` of `content_type` instead.
pub(crate) async fn post(
    url: &str,
    (content_type, body): (&'static str, Vec<u8>),
    exclude: Option<&crate::engine::exclude::Exclusions>,
    dns: &crate::engine::resolve::Dns,
    purpose: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, Failure> {
    let body = Some((content_type, body));
    exchange(url, body, exclude, dns, purpose, max_bytes).await
}

/// One request to `url`: a POST of `body` when given, else a GET.
async fn exchange(
    url: &str,
    body: Option<(&'static str, Vec<u8>)>,
    exclude: Option<&crate::engine::exclude::Exclusions>,
    dns: &crate::engine::resolve::Dns,
    purpose: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, Failure> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    let host = parsed.host_str().ok_or("no host in the URL")?.to_string();
    let on_the_list = || format!("{host} is on the --exclude list");
    if exclude.is_some_and(|x| x.name(&host.to_ascii_lowercase())) {
        return Err(on_the_list().into());
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<std::net::SocketAddr> = match literal.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
        Err(_) => dns
            .lookup(&host.to_ascii_lowercase())
            .await
            .map_err(|e| e.message)?
            .into_iter()
            .map(|ip| std::net::SocketAddr::new(ip, port))
            .collect(),
    };
    let allowed: Vec<std::net::SocketAddr> = addrs
        .iter()
        .copied()
        .filter(|a| !exclude.is_some_and(|x| x.address(a.ip())))
        .collect();
    if allowed.is_empty() && !addrs.is_empty() {
        return Err(on_the_list().into());
    }
    let addrs = allowed;
    let mut last = format!("{host} has no address");
    let mut tcp = None;
    for a in addrs {
        match tokio::net::TcpStream::connect(a).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = format!("cannot connect to {a} ({e})"),
        }
    }
    let tcp = tcp.ok_or(last)?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(conn);
    let mut path = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path.push('?');
        path.push_str(q);
    }
    let host_header = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let posted = body.is_some();
    let builder = match &body {
        Some((content_type, _)) => {
            hyper::Request::post(path).header(hyper::header::CONTENT_TYPE, *content_type)
        }
        None => hyper::Request::get(path),
    };
    let req = builder
        .header(hyper::header::HOST, host_header)
        .header(
            hyper::header::USER_AGENT,
            format!("certsweep/{} ({purpose})", env!("CARGO_PKG_VERSION")),
        )
        .header(hyper::header::CONNECTION, "close")
        .body(Full::new(Bytes::from(
            body.map(|(_, b)| b).unwrap_or_default(),
        )))
        .map_err(|e| format!("cannot build the request ({e})"))?;
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        let redirect = matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308);
        let location = resp
            .headers()
            .get(hyper::header::LOCATION)
            .and_then(|l| l.to_str().ok());
        match location {
            Some(to) if redirect && !posted => return Err(Failure::Redirect(to.to_string())),
            _ if resp.status() != hyper::StatusCode::OK => {
                return Err(Failure::Status(resp.status()))
            }
            _ => {}
        }
        let mut body = resp.into_body();
        let mut buf = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("HTTP: {e}"))?;
            if let Some(data) = frame.data_ref() {
                if buf.len() + data.len() > max_bytes {
                    return Err(Failure::Other(match max_bytes >> 20 {
                        0 => format!("the answer is larger than {} KiB", max_bytes >> 10),
                        mib => format!("the answer is larger than {mib} MiB"),
                    }));
                }
                buf.extend_from_slice(data);
            }
        }
        Ok(buf)
    }
    .await;
    driver.abort();
    result
}
