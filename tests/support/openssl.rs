//! A real OpenSSL server on loopback, for what no Rust TLS server speaks.

use certsweep::fleet;
use std::net::SocketAddr;

/// The server side of a plaintext dialogue before TLS, on a blocking stream.
pub type Preamble = fn(&mut std::net::TcpStream) -> std::io::Result<()>;

/// A real OpenSSL server on loopback that speaks only `version` with `ciphers` and serves
/// `leaf`'s chain: the legacy servers rustls cannot talk to. Each connection is served on its
/// own thread until the client goes; `preamble`, when given, first speaks a plaintext
/// protocol's way to TLS (STARTTLS) on it.
pub fn openssl_server(
    leaf: &fleet::Leaf,
    version: openssl::ssl::SslVersion,
    ciphers: &str,
    preamble: Option<Preamble>,
) -> SocketAddr {
    use openssl::ssl::{SslContext, SslMethod};
    use openssl::x509::X509;
    let key = openssl::pkey::PKey::private_key_from_pkcs8(leaf.key.secret_der()).unwrap();
    let chain: Vec<X509> = leaf
        .chain
        .iter()
        .map(|c| X509::from_der(c).unwrap())
        .collect();
    let mut b = SslContext::builder(SslMethod::tls_server()).unwrap();
    // Level 0: the system configuration forbids TLS 1.0 and SHA-1 MACs, which is the point.
    b.set_security_level(0);
    b.set_cipher_list(ciphers).unwrap();
    serve(b, &[(&chain, &key)], (version, version), preamble)
}

/// A real OpenSSL server on loopback that speaks `versions` (lowest, highest) and serves
/// `chain` with `key`, set up further by `tweak` (groups, TLS 1.3 suites): for keys and
/// settings no Rust TLS server has (a PSS-only RSA key, P-521, AES-CCM only).
pub fn openssl_server_chain(
    chain: &[openssl::x509::X509],
    key: &openssl::pkey::PKey<openssl::pkey::Private>,
    versions: (openssl::ssl::SslVersion, openssl::ssl::SslVersion),
    tweak: Option<fn(&mut openssl::ssl::SslContextBuilder)>,
) -> SocketAddr {
    use openssl::ssl::{SslContext, SslMethod};
    let mut b = SslContext::builder(SslMethod::tls_server()).unwrap();
    if let Some(tweak) = tweak {
        tweak(&mut b);
    }
    serve(b, &[(chain, key)], versions, None)
}

/// A real OpenSSL server on loopback holding one certificate per key type (each leaf with
/// its key), as nginx or Apache with an RSA and an ECDSA certificate for one name: it
/// presents the one the client's signature algorithms allow.
pub fn openssl_server_keys(
    certs: &[(
        openssl::x509::X509,
        openssl::pkey::PKey<openssl::pkey::Private>,
    )],
    versions: (openssl::ssl::SslVersion, openssl::ssl::SslVersion),
) -> SocketAddr {
    use openssl::ssl::{SslContext, SslMethod};
    let b = SslContext::builder(SslMethod::tls_server()).unwrap();
    let certs: Vec<(
        &[openssl::x509::X509],
        &openssl::pkey::PKey<openssl::pkey::Private>,
    )> = certs
        .iter()
        .map(|(c, k)| (std::slice::from_ref(c), k))
        .collect();
    serve(b, &certs, versions, None)
}

/// A chain, leaf first, and the leaf's key.
type Keyed<'a> = (
    &'a [openssl::x509::X509],
    &'a openssl::pkey::PKey<openssl::pkey::Private>,
);

fn serve(
    mut b: openssl::ssl::SslContextBuilder,
    certs: &[Keyed<'_>],
    (lowest, highest): (openssl::ssl::SslVersion, openssl::ssl::SslVersion),
    preamble: Option<Preamble>,
) -> SocketAddr {
    use openssl::ssl::Ssl;
    b.set_min_proto_version(Some(lowest)).unwrap();
    b.set_max_proto_version(Some(highest)).unwrap();
    for (chain, key) in certs {
        // OpenSSL keeps one certificate per key type: a second of another type adds to it.
        b.set_certificate(&chain[0]).unwrap();
        b.set_private_key(key).unwrap();
        for c in &chain[1..] {
            b.add_extra_chain_cert(c.clone()).unwrap();
        }
    }
    let ctx = b.build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let ssl = Ssl::new(&ctx).unwrap();
            std::thread::spawn(move || {
                let mut stream = stream;
                if preamble.is_none_or(|talk| talk(&mut stream).is_ok()) {
                    drop(ssl.accept(stream));
                }
            });
        }
    });
    addr
}
