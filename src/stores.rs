//! The files certificates come in besides a bare certificate: PKCS#12 stores (DER, and the
//! BER BouncyCastle writes), Java KeyStores (JKS, JCEKS), PKCS#7 bundles, and the CA files
//! that hold any of them or PEM (OpenSSL's TRUSTED CERTIFICATE blocks among it). Each gives
//! its certificates in DER; what they say is [`crate::cert`]'s to read.

use crate::model::visible_string as visible;
use x509_parser::prelude::*;

/// The environment variable that holds the password of PKCS#12 stores given as inputs
/// (never an option: a command line is visible to every user of the machine).
pub const PKCS12_PASSWORD_ENV: &str = "CERTSWEEP_PKCS12_PASSWORD";

/// A password, which debug output does not show.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Whether the bytes are a PKCS#12 store (`.pfx`, `.p12`: IIS and Windows exports, Java's
/// default keystore): a SEQUENCE whose first member is the version, 3 (RFC 7292's PFX). A
/// certificate or a PKCS#7 bundle opens with another SEQUENCE instead.
pub fn is_pkcs12(bytes: &[u8]) -> bool {
    let body = match bytes {
        // BER's indefinite length, which PKCS#12 allows: named as a store, not read as CSV.
        [0x30, 0x80, rest @ ..] => Some(rest),
        [0x30, n @ 0x81..=0x84, rest @ ..] => rest.get(usize::from(n - 0x80)..),
        _ => None,
    };
    body.is_some_and(|b| b.starts_with(&[0x02, 0x01, 0x03]))
}

/// Whether the bytes are a Java KeyStore of the proprietary kinds (JKS, JCEKS).
pub fn is_java_keystore(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) || bytes.starts_with(&[0xCE, 0xCE, 0xCE, 0xCE])
}

/// The certificates of a Java KeyStore of the older kinds (JKS, Java's default before
/// version 9 and what many application servers still deploy; JCEKS), in DER: every private
/// key entry's chain and every trusted certificate (a JCEKS store's secret keys are passed
/// by). Read as `keytool -list` reads a store
/// given no password: a store keeps its certificates in the clear, and only its integrity
/// check at the end needs the password (not made, so one password in the environment can
/// serve the PKCS#12 stores of a run). The format is OpenJDK's own (`JavaKeyStore` and
/// `JceKeyStore`); no maintained Rust crate reads it.
pub fn java_keystore_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let kind = if bytes.starts_with(&[0xCE; 4]) {
        "JCEKS"
    } else {
        "JKS"
    };
    let convert = "export its certificate (keytool -exportcert -rfc -alias ALIAS -keystore FILE) or convert the store to PKCS#12 (keytool -importkeystore -srckeystore FILE -destkeystore FILE.p12 -deststoretype pkcs12)";
    read_java_keystore(bytes).map_err(|e| match e {
        JavaStoreError::SecretKey(alias, why) => format!(
            "a Java KeyStore (JCEKS) whose secret key \"{}\" cannot be read past ({why}): {convert}",
            visible(alias)
        ),
        JavaStoreError::Malformed(why) => {
            format!("a Java KeyStore ({kind}) that cannot be read ({why}): {convert}")
        }
    })
}

/// Why a Java KeyStore gave no certificates.
enum JavaStoreError {
    /// A JCEKS secret key entry (a serialized Java object) that could not be passed by.
    SecretKey(String, String),
    Malformed(String),
}

impl From<String> for JavaStoreError {
    fn from(why: String) -> Self {
        JavaStoreError::Malformed(why)
    }
}

/// Java's `DataInputStream` over a store's bytes: big-endian integers, strings as a 16-bit
/// length and (modified) UTF-8; every read checked against the bytes left.
struct DataIn<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> DataIn<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!("cut short at byte {}", self.bytes.len()));
        };
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length written as 32 bits.
    fn len32(&mut self) -> Result<usize, String> {
        usize::try_from(self.u32()?).map_err(|e| e.to_string())
    }

    /// A string's bytes, as written after their 16-bit length.
    fn utf_bytes(&mut self) -> Result<&'a [u8], String> {
        let b = self.take(2)?;
        let n = usize::from(u16::from_be_bytes([b[0], b[1]]));
        self.take(n)
    }

    fn utf(&mut self) -> Result<String, String> {
        Ok(String::from_utf8_lossy(self.utf_bytes()?).into_owned())
    }
}

/// A certificate of a key entry's chain or a trusted entry; version 1 stores predate the
/// type name (all were X.509).
fn keystore_cert(r: &mut DataIn<'_>, version: u32) -> Result<Vec<u8>, JavaStoreError> {
    if version == 2 {
        let kind = r.utf()?;
        if kind != "X.509" {
            return Err(JavaStoreError::Malformed(format!(
                "a certificate of type \"{}\"",
                visible(kind)
            )));
        }
    }
    let n = r.len32()?;
    Ok(r.take(n)?.to_vec())
}

fn read_java_keystore(bytes: &[u8]) -> Result<Vec<Vec<u8>>, JavaStoreError> {
    let mut r = DataIn { bytes, at: 0 };
    r.take(4)?; // the magic number, as is_java_keystore found it
    let version = r.u32()?;
    if !(1..=2).contains(&version) {
        return Err(JavaStoreError::Malformed(format!(
            "version {version}, where 1 or 2 is known"
        )));
    }
    let entries = r.u32()?;
    let mut certs = Vec::new();
    for _ in 0..entries {
        let tag = r.u32()?;
        let alias = r.utf()?;
        r.take(8)?; // the entry's date
        match tag {
            // A private key (encrypted with the key's password), then its chain.
            1 => {
                let key = r.len32()?;
                r.take(key)?;
                for _ in 0..r.u32()? {
                    certs.push(keystore_cert(&mut r, version)?);
                }
            }
            2 => certs.push(keystore_cert(&mut r, version)?),
            // A secret key, sealed in a serialized Java object that nothing delimits: its
            // end is found by reading the object's structure.
            3 => {
                let end = java_object_end(bytes, r.at)
                    .map_err(|why| JavaStoreError::SecretKey(alias, why))?;
                r.at = end;
            }
            tag => {
                return Err(JavaStoreError::Malformed(format!(
                    "an entry of unknown kind {tag}"
                )));
            }
        }
    }
    // What follows the entries is the store's 20-byte SHA-1 integrity check: anything
    // else means the count or a length was misread.
    match bytes.len() - r.at {
        20 => Ok(certs),
        n => Err(JavaStoreError::Malformed(format!(
            "{n} bytes after its {entries} entries, where its 20-byte integrity check belongs"
        ))),
    }
}

/// Where the Java serialization stream at `at` in `bytes` ends (`ObjectOutputStream`'s
/// header, then one object), as a JCEKS store writes each secret key: a `SealedObject`.
/// Errors name bytes of `bytes`.
///
/// Only the structure is read (the Java Object Serialization Specification's grammar, its
/// chapter 6), to find where the object ends; nothing is built. Hand-written, as the crates
/// that deserialize Java allocate what a length field claims before reading it and recurse
/// without a bound, where a cut or corrupt store must give an error.
fn java_object_end(bytes: &[u8], at: usize) -> Result<usize, String> {
    let mut s = Serial {
        r: DataIn { bytes, at },
        handles: Vec::new(),
        classes: Vec::new(),
        depth: 0,
    };
    if s.r.take(4)? != [0xAC, 0xED, 0x00, 0x05] {
        return Err("no Java serialization stream (version 5) where the key begins".into());
    }
    s.content(false)?;
    Ok(s.r.at)
}

/// A class as a serialization stream describes it: what its objects' data hold.
#[derive(Default)]
struct SerialClass {
    /// The name's second character: an array's element type (`[B`: bytes).
    element: u8,
    flags: u8,
    /// The type codes of its serialized fields, in order.
    fields: Vec<u8>,
    /// Its superclass's description, by number.
    parent: Option<usize>,
}

/// The reading of a Java serialization stream ([`java_object_end`]).
struct Serial<'a> {
    r: DataIn<'a>,
    /// Per handle (from 0x7E0000, in order), the class it describes if it is a class
    /// description.
    handles: Vec<Option<usize>>,
    classes: Vec<SerialClass>,
    depth: u32,
}

/// Nesting deeper than any sealed key's: a corrupt stream, not one to follow.
const SERIAL_DEPTH: u32 = 64;

impl Serial<'_> {
    fn new_handle(&mut self, class: Option<usize>) {
        self.handles.push(class);
    }

    /// One item of the stream, and the class it describes if it is a class description
    /// (or a reference to one). In an annotation (`block`), block data may come too.
    fn content(&mut self, block: bool) -> Result<Option<usize>, String> {
        self.depth += 1;
        if self.depth > SERIAL_DEPTH {
            return Err(format!("objects nested deeper than {SERIAL_DEPTH}"));
        }
        let item = self.item(block);
        self.depth -= 1;
        item
    }

    fn item(&mut self, block: bool) -> Result<Option<usize>, String> {
        let at = self.r.at;
        match self.r.u8()? {
            0x70 => Ok(None), // TC_NULL
            0x71 => {
                // TC_REFERENCE: to a handle given before.
                let handle = self.r.u32()?;
                let known = (handle.checked_sub(0x7E_0000))
                    .and_then(|i| self.handles.get(usize::try_from(i).ok()?));
                known
                    .copied()
                    .ok_or_else(|| format!("a reference to no earlier object at byte {at}"))
            }
            0x72 => self.class_description().map(Some), // TC_CLASSDESC
            0x7D => {
                // TC_PROXYCLASSDESC: interface names, annotation, superclass.
                let k = self.classes.len();
                self.classes.push(SerialClass {
                    flags: 0x02,
                    ..SerialClass::default()
                });
                self.new_handle(Some(k));
                for _ in 0..self.r.u32()? {
                    self.r.utf_bytes()?;
                }
                self.annotation()?;
                self.classes[k].parent = self.content(false)?;
                Ok(Some(k))
            }
            0x73 => {
                // TC_OBJECT: its class, then each class's data from the topmost down.
                let class = self.content(false)?;
                self.new_handle(None);
                let mut line = Vec::new();
                let mut up = class;
                while let Some(k) = up {
                    if line.len() > self.classes.len() {
                        return Err(format!("a class that is its own superclass at byte {at}"));
                    }
                    line.push(k);
                    up = self.classes[k].parent;
                }
                for &k in line.iter().rev() {
                    self.class_data(k)?;
                }
                Ok(None)
            }
            0x74 => {
                // TC_STRING
                self.new_handle(None);
                self.r.utf_bytes().map(|_| None)
            }
            0x7C => {
                // TC_LONGSTRING
                self.new_handle(None);
                let b = self.r.take(8)?;
                let n = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                self.r
                    .take(usize::try_from(n).unwrap_or(usize::MAX))
                    .map(|_| None)
            }
            0x75 => {
                // TC_ARRAY: its class, then the length and the elements.
                let class = self.content(false)?;
                self.new_handle(None);
                let element = class.and_then(|k| self.classes.get(k)).map(|c| c.element);
                let n = usize::try_from(self.r.u32()?).unwrap_or(usize::MAX);
                match element.and_then(primitive_size) {
                    Some(size) => {
                        self.r.take(n.saturating_mul(size))?;
                    }
                    None if matches!(element, Some(b'L' | b'[')) => {
                        for _ in 0..n {
                            self.content(false)?;
                        }
                    }
                    None => return Err(format!("an array of no known type at byte {at}")),
                }
                Ok(None)
            }
            0x76 => {
                // TC_CLASS: a class object.
                self.content(false)?;
                self.new_handle(None);
                Ok(None)
            }
            0x7E => {
                // TC_ENUM: its class, then its constant's name.
                self.content(false)?;
                self.new_handle(None);
                self.content(false).map(|_| None)
            }
            0x77 if block => {
                // TC_BLOCKDATA
                let n = usize::from(self.r.u8()?);
                self.r.take(n).map(|_| None)
            }
            0x7A if block => {
                // TC_BLOCKDATALONG
                let n = usize::try_from(self.r.u32()?).unwrap_or(usize::MAX);
                self.r.take(n).map(|_| None)
            }
            0x79 => {
                // TC_RESET: the handles given so far are forgotten (counted as nesting, so
                // that a run of them ends too).
                self.handles.clear();
                self.content(block)
            }
            tc => Err(format!(
                "type code {tc:#04x} where an object belongs at byte {at}"
            )),
        }
    }

    /// A new class description (after TC_CLASSDESC): name, serialVersionUID, handle, flags,
    /// fields, annotation, superclass.
    fn class_description(&mut self) -> Result<usize, String> {
        let name = self.r.utf_bytes()?;
        let element = name.get(1).copied().unwrap_or(0);
        self.r.take(8)?;
        let k = self.classes.len();
        self.classes.push(SerialClass::default());
        self.new_handle(Some(k));
        let flags = self.r.u8()?;
        let b = self.r.take(2)?;
        let count = u16::from_be_bytes([b[0], b[1]]);
        let mut fields = Vec::with_capacity(usize::from(count).min(64));
        for _ in 0..count {
            let code = self.r.u8()?;
            self.r.utf_bytes()?;
            if matches!(code, b'L' | b'[') {
                // The field's type, as a string.
                self.content(false)?;
            } else if primitive_size(code).is_none() {
                return Err(format!("a field of type code {code:#04x}"));
            }
            fields.push(code);
        }
        self.annotation()?;
        let parent = self.content(false)?;
        self.classes[k] = SerialClass {
            element,
            flags,
            fields,
            parent,
        };
        Ok(k)
    }

    /// An object's data for class `k`: its fields, then what a `writeObject` method or an
    /// `Externalizable` wrote, as block data and objects up to TC_ENDBLOCKDATA.
    fn class_data(&mut self, k: usize) -> Result<(), String> {
        const WRITE_METHOD: u8 = 0x01;
        const EXTERNALIZABLE: u8 = 0x04;
        const BLOCK_DATA: u8 = 0x08;
        let flags = self.classes[k].flags;
        if flags & EXTERNALIZABLE != 0 {
            if flags & BLOCK_DATA == 0 {
                return Err("an object written by serialization protocol 1".into());
            }
            return self.annotation();
        }
        for i in 0..self.classes[k].fields.len() {
            let code = self.classes[k].fields[i];
            match primitive_size(code) {
                Some(size) => {
                    self.r.take(size)?;
                }
                None => {
                    self.content(false)?;
                }
            }
        }
        if flags & WRITE_METHOD != 0 {
            self.annotation()?;
        }
        Ok(())
    }

    /// Block data and objects up to TC_ENDBLOCKDATA.
    fn annotation(&mut self) -> Result<(), String> {
        loop {
            if self.r.bytes.get(self.r.at) == Some(&0x78) {
                self.r.at += 1;
                return Ok(());
            }
            self.content(true)?;
        }
    }
}

/// The bytes a primitive of type code `code` takes; `None` for objects and arrays.
fn primitive_size(code: u8) -> Option<usize> {
    match code {
        b'B' | b'Z' => Some(1),
        b'C' | b'S' => Some(2),
        b'I' | b'F' => Some(4),
        b'J' | b'D' => Some(8),
        _ => None,
    }
}

/// The certificates a PKCS#12 store carries, in DER, opened with `password` (`None`: the
/// empty one, as a store exported without a password has). Private keys are not kept.
pub fn pkcs12_certificates(bytes: &[u8], password: Option<&str>) -> Result<Vec<Vec<u8>>, String> {
    // One password serves all the stores of a run; a store exported without one (a
    // truststore beside a protected inventory) opens with the empty one.
    let password = password.filter(|p| !p.is_empty());
    let opened = match password {
        Some(p) => match open_pkcs12(bytes, p) {
            Err(StoreError::Password) => open_pkcs12(bytes, "").or(Err(StoreError::Password)),
            other => other,
        },
        None => open_pkcs12(bytes, ""),
    };
    match opened {
        Ok(certs) => Ok(certs),
        Err(StoreError::Password) if password.is_none() => Err(format!(
            "a PKCS#12 store (.pfx, .p12) with a password: give it in the environment variable {PKCS12_PASSWORD_ENV}"
        )),
        Err(StoreError::Password) => Err(format!(
            "a PKCS#12 store (.pfx, .p12) that the password in {PKCS12_PASSWORD_ENV} does not open"
        )),
        Err(StoreError::Unreadable(e)) => Err(format!(
            "a PKCS#12 store (.pfx, .p12) that cannot be read ({e}): export its certificate as PEM (openssl pkcs12 -in FILE -nokeys)"
        )),
    }
}

/// Why a PKCS#12 store gave no certificates.
enum StoreError {
    /// The integrity check failed, or a bag decrypted to nonsense: another password.
    Password,
    /// Anything else, said by the reader.
    Unreadable(String),
}

/// The certificates of a PKCS#12 store opened with `password`.
fn open_pkcs12(bytes: &[u8], password: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    use p12_keystore::error::Error;
    let open = |bytes: &[u8]| {
        p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password).map_err(|e| match e {
            Error::MacError(_) | Error::UnpadError => StoreError::Password,
            e => StoreError::Unreadable(e.to_string()),
        })
    };
    let store = match open(bytes) {
        // p12-keystore reads DER only; a store in BER is read again once rewritten, and
        // when it is no BER store either, the first reading's error is the one to tell.
        Err(StoreError::Unreadable(e)) => match pkcs12_ber_as_der(bytes, password) {
            Ok(der) => open(&der)?,
            Err(StoreError::Password) => return Err(StoreError::Password),
            Err(StoreError::Unreadable(_)) => return Err(StoreError::Unreadable(e)),
        },
        other => other?,
    };
    Ok(store
        .certs
        .into_iter()
        .map(|bag| bag.cert.as_der().to_vec())
        .collect())
}

/// A PKCS#12 store written in BER, rewritten in DER: BouncyCastle writes its stores' outer
/// layers with indefinite lengths and the content in 1,000-byte pieces by default, and with
/// it EJBCA's exports and many Java tools'. What is inside the encrypted bags is DER
/// already (the rewrite cannot reach it). The MAC covers the store's content as written,
/// so it is checked here, and the rewrite carries none.
fn pkcs12_ber_as_der(bytes: &[u8], password: &str) -> Result<Vec<u8>, StoreError> {
    use der08::asn1::OctetString;
    use der08::{Any, Encode, EncodingRules, Reader, SliceReader};
    use pkcs12::cms::content_info::ContentInfo;
    let bad = |e: der08::Error| StoreError::Unreadable(e.to_string());
    let ber = |bytes| SliceReader::new_with_encoding_rules(bytes, EncodingRules::Ber);
    // PFX ::= SEQUENCE { version, authSafe ContentInfo (data), macData OPTIONAL }
    let mut r = ber(bytes).map_err(bad)?;
    let (version, content, mac) = r
        .sequence(|r| {
            let version: pkcs12::pfx::Version = r.decode()?;
            let content = r.sequence(|r| match ber_content(r)? {
                (PKCS7_DATA, BerContent::Data(octets)) => Ok(octets),
                _ => Err(der08::Error::from(der08::ErrorKind::Value {
                    tag: der08::Tag::ObjectIdentifier,
                })),
            })?;
            let mac: Option<pkcs12::MacData> = r.decode()?;
            Ok::<_, der08::Error>((version, content, mac))
        })
        .map_err(bad)?;
    if let Some(mac) = &mac {
        pkcs12_mac_verifies(mac, password, content.as_bytes())?;
    }
    // AuthenticatedSafe ::= SEQUENCE OF ContentInfo, each written back in DER.
    let mut r = ber(content.as_bytes()).map_err(bad)?;
    let safes = r
        .sequence(|r| {
            let mut safes = Vec::new();
            while !r.is_finished() {
                let (content_type, content) = r.sequence(ber_content)?;
                let content = match content {
                    BerContent::Data(octets) => Any::encode_from(&octets)?,
                    BerContent::Encrypted(data) => Any::encode_from(&data)?,
                    BerContent::Other(any) => any,
                };
                safes.push(ContentInfo {
                    content_type,
                    content,
                });
            }
            Ok::<_, der08::Error>(safes)
        })
        .map_err(bad)?;
    let content = OctetString::new(safes.to_der().map_err(bad)?).map_err(bad)?;
    pkcs12::Pfx {
        version,
        auth_safe: ContentInfo {
            content_type: PKCS7_DATA,
            content: Any::encode_from(&content).map_err(bad)?,
        },
        mac_data: None,
    }
    .to_der()
    .map_err(bad)
}

const PKCS7_DATA: der08::oid::ObjectIdentifier =
    der08::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const PKCS7_ENCRYPTED_DATA: der08::oid::ObjectIdentifier =
    der08::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");

/// A PKCS#12 ContentInfo's content, read in BER.
enum BerContent {
    /// Data: its octets, whether written in one piece or several.
    Data(der08::asn1::OctetString),
    Encrypted(pkcs12::cms::encrypted_data::EncryptedData),
    /// Another type, left as it is for p12-keystore to name.
    Other(der08::Any),
}

/// The fields of a ContentInfo (its type, then its content as `[0] EXPLICIT`) read in BER.
/// Typed, because der's `Any` keeps no constructed bit: an OCTET STRING written in pieces
/// would come back as its pieces' encoding.
fn ber_content<'a>(
    r: &mut der08::SliceReader<'a>,
) -> der08::Result<(der08::oid::ObjectIdentifier, BerContent)> {
    use der08::asn1::ContextSpecific;
    use der08::{Reader, TagNumber};
    let content_type: der08::oid::ObjectIdentifier = r.decode()?;
    let missing = || {
        der08::Error::from(der08::ErrorKind::Length {
            tag: der08::Tag::Sequence,
        })
    };
    let content = match content_type {
        PKCS7_DATA => BerContent::Data(
            ContextSpecific::decode_explicit(r, TagNumber(0))?
                .ok_or_else(missing)?
                .value,
        ),
        PKCS7_ENCRYPTED_DATA => BerContent::Encrypted(
            ContextSpecific::decode_explicit(r, TagNumber(0))?
                .ok_or_else(missing)?
                .value,
        ),
        _ => BerContent::Other(
            ContextSpecific::decode_explicit(r, TagNumber(0))?
                .ok_or_else(missing)?
                .value,
        ),
    };
    Ok((content_type, content))
}

/// Whether a PKCS#12 MAC (RFC 7292, an HMAC keyed from the password) verifies over `data`.
fn pkcs12_mac_verifies(
    mac: &pkcs12::MacData,
    password: &str,
    data: &[u8],
) -> Result<(), StoreError> {
    use hmac::{KeyInit, Mac};
    use pkcs12::kdf::{derive_key_utf8, Pkcs12KeyType};
    // As p12-keystore bounds it: the count is the file's, and each round is a hash.
    const MAX_ITERATIONS: i32 = 1_000_000;
    if mac.iterations > MAX_ITERATIONS {
        return Err(StoreError::Unreadable(format!(
            "its MAC asks for {} iterations",
            mac.iterations
        )));
    }
    macro_rules! verify {
        ($digest:ty) => {{
            let key = derive_key_utf8::<$digest>(
                password,
                mac.mac_salt.as_bytes(),
                Pkcs12KeyType::Mac,
                mac.iterations,
                <$digest as hmac::digest::OutputSizeUser>::output_size(),
            )
            .map_err(|e| StoreError::Unreadable(e.to_string()))?;
            let mut h = hmac::Hmac::<$digest>::new_from_slice(&key)
                .map_err(|e| StoreError::Unreadable(e.to_string()))?;
            h.update(data);
            h.verify_slice(mac.mac.digest.as_bytes())
                .map_err(|_| StoreError::Password)
        }};
    }
    match mac.mac.algorithm.oid.to_string().as_str() {
        "1.3.14.3.2.26" => verify!(sha1::Sha1),
        "2.16.840.1.101.3.4.2.1" => verify!(sha2::Sha256),
        "2.16.840.1.101.3.4.2.2" => verify!(sha2::Sha384),
        "2.16.840.1.101.3.4.2.3" => verify!(sha2::Sha512),
        other => Err(StoreError::Unreadable(format!(
            "its MAC uses the digest {other}, which certsweep does not know"
        ))),
    }
}

/// The certificates a PKCS#7 (CMS SignedData) bundle carries, as a `.p7b` export or a CA's
/// download has them, in DER; `None` when the bytes are no such bundle.
pub fn pkcs7_certificates(der: &[u8]) -> Option<Vec<Vec<u8>>> {
    use cms::cert::CertificateChoices;
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::{Decode, Encode};
    const SIGNED_DATA: der::oid::ObjectIdentifier =
        der::oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
    let info = ContentInfo::from_der(der).ok()?;
    if info.content_type != SIGNED_DATA {
        return None;
    }
    let signed: SignedData = info.content.decode_as().ok()?;
    Some(
        signed
            .certificates?
            .0
            .iter()
            .filter_map(|c| match c {
                CertificateChoices::Certificate(c) => c.to_der().ok(),
                CertificateChoices::Other(_) => None,
            })
            .collect(),
    )
}

/// A PKCS#7 bundle of `ders`, as Windows exports a `.p7b` (for tests).
#[cfg(test)]
pub(crate) fn p7b(ders: &[&[u8]]) -> Vec<u8> {
    use cms::cert::CertificateChoices;
    use cms::content_info::{CmsVersion, ContentInfo};
    use cms::signed_data::{CertificateSet, EncapsulatedContentInfo, SignedData, SignerInfos};
    use der::asn1::SetOfVec;
    use der::oid::ObjectIdentifier;
    use der::{Decode, Encode};
    let mut certs = CertificateSet(SetOfVec::default());
    for d in ders {
        let c = x509_cert::Certificate::from_der(d).unwrap();
        certs.0.insert(CertificateChoices::Certificate(c)).unwrap();
    }
    let signed = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::default(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1"),
            econtent: None,
        },
        certificates: Some(certs),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::default()),
    };
    ContentInfo {
        content_type: ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2"),
        content: der::Any::from_der(&signed.to_der().unwrap()).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// The certificates of a CA file as Windows, OpenSSL and Java export them: PEM
/// (`CERTIFICATE` and `PKCS7` blocks), or binary, one certificate (`.cer`, `.der`), a PKCS#7
/// bundle (`.p7b`) or a PKCS#12 store (a Java truststore `.p12`, opened with
/// `pkcs12_password`). Empty when it holds none; an error when its PEM does not parse or
/// its store does not open.
pub fn certificates_in(
    bytes: &[u8],
    pkcs12_password: Option<&str>,
) -> Result<Vec<Vec<u8>>, String> {
    if is_pkcs12(bytes) {
        return pkcs12_certificates(bytes, pkcs12_password);
    }
    if is_java_keystore(bytes) {
        return java_keystore_certificates(bytes);
    }
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let blocks = ::pem::parse_many(bytes).map_err(|e| {
            let at = first_bad_pem_block(bytes)
                .map_or_else(String::new, |l| format!("the block at line {l}: "));
            format!("PEM does not parse: {at}{e}")
        })?;
        // parse_many passes over a block with no end line; a cut file must not read as one
        // with fewer certificates.
        let begun = bytes.windows(11).filter(|w| *w == b"-----BEGIN ").count();
        if blocks.len() < begun {
            let first = first_bad_pem_block(bytes)
                .map_or_else(String::new, |l| format!(", the first at line {l}"));
            return Err(format!(
                "PEM does not parse: {} of its {begun} blocks are cut or malformed{first}",
                begun - blocks.len()
            ));
        }
        let mut distrusted = 0;
        let certs: Vec<Vec<u8>> = blocks
            .into_iter()
            .flat_map(|p| match p.tag() {
                "CERTIFICATE" | "X509 CERTIFICATE" => vec![p.into_contents()],
                "PKCS7" => pkcs7_certificates(p.contents()).unwrap_or_default(),
                "TRUSTED CERTIFICATE" => {
                    let cert = trusted_for_servers(p.contents());
                    distrusted += usize::from(cert.is_none());
                    cert.into_iter().collect()
                }
                _ => Vec::new(),
            })
            .collect();
        // A bundle's distrusted entries are left out as meant; a file of nothing else
        // is said to be so, not "no certificate".
        if certs.is_empty() && distrusted > 0 {
            return Err(format!(
                "its {distrusted} TRUSTED CERTIFICATE block(s) are not trusted for server authentication by their OpenSSL trust settings (rejected for it, or trusted for other purposes only; openssl x509 -in FILE -noout -text shows them)"
            ));
        }
        return Ok(certs);
    }
    if parse_x509_certificate(bytes).is_ok() {
        return Ok(vec![bytes.to_vec()]);
    }
    Ok(pkcs7_certificates(bytes).unwrap_or_default())
}

/// The line of the first PEM block of `bytes` that does not parse on its own (cut before
/// its end line, or bad base64), for the message that names it: the PEM reader tells what
/// is wrong but not where.
fn first_bad_pem_block(bytes: &[u8]) -> Option<u64> {
    let starts: Vec<usize> = bytes
        .windows(11)
        .enumerate()
        .filter(|(_, w)| *w == b"-----BEGIN ")
        .map(|(i, _)| i)
        .collect();
    starts.iter().enumerate().find_map(|(n, &start)| {
        let end = starts.get(n + 1).copied().unwrap_or(bytes.len());
        ::pem::parse(&bytes[start..end])
            .is_err()
            .then(|| crate::model::line_at(bytes, start))
    })
}

/// The certificate of an OpenSSL "TRUSTED CERTIFICATE" block (what `openssl x509
/// -trustout` writes, and Fedora's and RHEL's `ca-bundle.trust.crt`), when the trust
/// settings after it let it anchor server certificates: not rejected for server
/// authentication, and trusted for it (or for any purpose) when it lists what it is
/// trusted for, as OpenSSL decides. A block whose settings cannot be read anchors nothing;
/// one whose certificate does not parse is given whole, as a CERTIFICATE block would be.
fn trusted_for_servers(contents: &[u8]) -> Option<Vec<u8>> {
    use der08::asn1::{ContextSpecific, ObjectIdentifier};
    use der08::{Reader, SliceReader, Tag, TagNumber};
    const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
    const ANY_PURPOSE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");
    // A certificate that does not parse is passed on whole, for the trust store to name.
    let Ok((aux, _)) = parse_x509_certificate(contents) else {
        return Some(contents.to_vec());
    };
    let cert = contents[..contents.len() - aux.len()].to_vec();
    if aux.is_empty() {
        return Some(cert);
    }
    // X509_CERT_AUX ::= SEQUENCE { trust SEQUENCE OF OID OPTIONAL,
    //   reject [0] IMPLICIT SEQUENCE OF OID OPTIONAL, alias, keyid, other ... }
    let settings = || -> der08::Result<(Option<Vec<ObjectIdentifier>>, Vec<ObjectIdentifier>)> {
        let mut r = SliceReader::new(aux)?;
        let read = r.sequence(|r| {
            let trust = match r.is_finished() || Tag::peek(r)? != Tag::Sequence {
                true => None,
                false => Some(r.decode::<Vec<ObjectIdentifier>>()?),
            };
            let reject =
                ContextSpecific::<Vec<ObjectIdentifier>>::decode_implicit(r, TagNumber(0))?
                    .map(|c| c.value)
                    .unwrap_or_default();
            // The alias and key id that may follow say nothing of trust.
            let rest = r.remaining_len();
            r.read_slice(rest)?;
            Ok::<_, der08::Error>((trust, reject))
        })?;
        r.finish()?;
        Ok(read)
    };
    let (trust, reject) = settings().ok()?;
    let serves =
        |oids: &[ObjectIdentifier]| oids.contains(&SERVER_AUTH) || oids.contains(&ANY_PURPOSE);
    let trusted = trust.is_none_or(|t| serves(&t)) && !serves(&reject);
    trusted.then_some(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::cert_info;

    #[test]
    fn a_ber_store_is_rewritten_in_der_after_its_mac_is_checked() {
        let ber = include_bytes!("../tests/fixtures/pkcs12/bouncycastle-3des.p12");
        assert_eq!(ber[1], 0x80, "the fixture opens with an indefinite length");
        // The integrity check is made on the bytes as written, with the password.
        assert!(matches!(
            pkcs12_ber_as_der(ber, "wrong"),
            Err(StoreError::Password)
        ));
        let der = match pkcs12_ber_as_der(ber, "changeit") {
            Ok(der) => der,
            Err(StoreError::Password) => panic!("the MAC did not verify"),
            Err(StoreError::Unreadable(e)) => panic!("{e}"),
        };
        // DER, which p12-keystore reads (without a MAC to check: the rewrite has none).
        let store = p12_keystore::Pkcs12Archive::from_pkcs12(&der, "changeit").unwrap();
        assert_eq!(store.certs.len(), 3);
        // A store cut short after its version is none.
        assert!(pkcs12_ber_as_der(b"\x30\x03\x02\x01\x03", "").is_err());
    }

    #[test]
    fn a_serialized_java_object_is_measured_and_a_cut_or_corrupt_one_refused() {
        // keytool's sealed secret keys (tests/fixtures/jks/mixed.jceks): an HMAC key first,
        // then the key entry, then an AES key; the 20-byte integrity check ends the store.
        let store = include_bytes!("../tests/fixtures/jks/mixed.jceks");
        let end = java_object_end(store, 28).unwrap();
        // The next entry (the key entry, tag 1) follows it.
        assert_eq!(store[end..end + 4], [0, 0, 0, 1]);
        let last = 2150;
        assert_eq!(java_object_end(store, last), Ok(store.len() - 20));
        // Every cut is an error, and so is a byte changed where the structure is read.
        let object = &store[last..store.len() - 20];
        for cut in 0..object.len() {
            assert!(java_object_end(&object[..cut], 0).is_err(), "cut at {cut}");
        }
        let mut bad = object.to_vec();
        bad[4] = 0x7B; // TC_EXCEPTION where the object begins
        let e = java_object_end(&bad, 0).unwrap_err();
        assert!(
            e.contains("type code 0x7b where an object belongs at byte 4"),
            "{e}"
        );
        // A reference to a handle not yet given, a class that is its own superclass and
        // nesting without end are refused.
        let e = java_object_end(&[0xAC, 0xED, 0, 5, 0x71, 0, 0x7E, 0, 0], 0).unwrap_err();
        assert!(
            e.contains("a reference to no earlier object at byte 4"),
            "{e}"
        );
        let mut own = vec![0xAC, 0xED, 0, 5, 0x73, 0x72, 0, 1, b'A'];
        own.extend_from_slice(&[0; 8]); // serialVersionUID
        own.extend_from_slice(&[0x02, 0, 0, 0x78, 0x71, 0, 0x7E, 0, 0]);
        let e = java_object_end(&own, 0).unwrap_err();
        assert!(e.contains("its own superclass"), "{e}");
        let mut deep = vec![0xAC, 0xED, 0, 5];
        deep.extend(std::iter::repeat_n(0x75, 100_000)); // arrays of arrays of ...
        let e = java_object_end(&deep, 0).unwrap_err();
        assert!(e.contains("nested deeper than 64"), "{e}");
        let mut resets = vec![0xAC, 0xED, 0, 5];
        resets.extend(std::iter::repeat_n(0x79, 100_000));
        assert!(java_object_end(&resets, 0).is_err());
    }

    #[test]
    fn a_java_keystore_gives_every_certificate_it_holds() {
        // As a CA file (a Java truststore): the key entry's chain and the trusted root.
        let jks = include_bytes!("../tests/fixtures/jks/www.jks");
        let certs = certificates_in(jks, None).unwrap();
        let cns: Vec<Option<String>> = certs
            .iter()
            .map(|d| cert_info(d).unwrap().subject_cn)
            .collect();
        assert_eq!(cns.len(), 4, "{cns:?}");
        assert!(cns.contains(&Some("Fixture Root CA".into())), "{cns:?}");
        // A version 1 store (before certificate types were written), made here: one
        // trusted certificate.
        let der = &certs[0];
        let mut v1 = vec![0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];
        v1.extend_from_slice(&[0, 2, b'c', b'a']);
        v1.extend_from_slice(&[0; 8]);
        v1.extend_from_slice(&u32::try_from(der.len()).unwrap().to_be_bytes());
        v1.extend_from_slice(der);
        v1.extend_from_slice(&[0; 20]);
        assert_eq!(
            &java_keystore_certificates(&v1).unwrap(),
            std::slice::from_ref(der)
        );
        // A count that is wrong leaves bytes where the integrity check belongs.
        let mut extra = v1.clone();
        extra.extend_from_slice(&[0; 4]);
        let e = java_keystore_certificates(&extra).unwrap_err();
        assert!(e.contains("24 bytes after its 1 entries"), "{e}");
        // A length past the end is no panic.
        let mut long = v1[..24].to_vec();
        long.extend_from_slice(&[0xFF; 4]);
        let e = java_keystore_certificates(&long).unwrap_err();
        assert!(e.contains("cut short at byte 28"), "{e}");
        // Another version is named.
        let mut v3 = v1.clone();
        v3[7] = 3;
        let e = java_keystore_certificates(&v3).unwrap_err();
        assert!(e.contains("version 3, where 1 or 2 is known"), "{e}");
    }
}
