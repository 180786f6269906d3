//! The subject alternative names of a client certificate, read straight from its DER.
//!
//! rustls has verified the chain before this runs, so the input is a well-formed
//! certificate signed by a trusted CA; all that is needed is the URI and DNS entries of
//! one extension. A walk of a few DER headers does that without an X.509 parser crate
//! (and its dependency tree); anything unexpected yields no names rather than a panic.

/// The SAN extension's OID, 2.5.29.17, as DER content bytes.
const SAN_OID: &[u8] = &[0x55, 0x1d, 0x11];

/// One DER element: its tag and its content.
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
}

/// Splits the first element off `input`: the element and what follows it.
fn next(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((Tlv { tag, content }, rest))
}

/// The elements of a constructed value, in order.
fn children(mut content: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    std::iter::from_fn(move || {
        let (tlv, rest) = next(content)?;
        content = rest;
        Some(tlv)
    })
}

/// A certificate's URI and DNS subject alternative names, in certificate order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// `uniformResourceIdentifier` entries (SPIFFE ids are these).
    pub uris: Vec<String>,
    /// `dNSName` entries.
    pub dns: Vec<String>,
}

/// Reads the SAN extension of the DER certificate `der`; empty when it has none.
pub fn names(der: &[u8]) -> Names {
    san_extension(der).map(general_names).unwrap_or_default()
}

/// The content of the SAN extension's OCTET STRING.
fn san_extension(der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = next(der)?;
    let tbs = children(certificate.content).next()?;
    // Extensions are the [3] EXPLICIT element at the end of tbsCertificate.
    let explicit = children(tbs.content).find(|tlv| tlv.tag == 0xa3)?;
    let extensions = children(explicit.content).next()?;
    children(extensions.content).find_map(|extension| {
        let mut fields = children(extension.content);
        let oid = fields.next()?;
        if oid.tag != 0x06 || oid.content != SAN_OID {
            return None;
        }
        // An optional `critical` BOOLEAN comes before the OCTET STRING.
        fields.find(|f| f.tag == 0x04).map(|value| value.content)
    })
}

fn general_names(value: &[u8]) -> Names {
    let mut names = Names::default();
    let Some((sequence, _)) = next(value) else {
        return names;
    };
    for name in children(sequence.content) {
        let text = || std::str::from_utf8(name.content).ok().map(str::to_owned);
        match name.tag {
            // [2] IMPLICIT IA5String
            0x82 => names.dns.extend(text()),
            // [6] IMPLICIT IA5String
            0x86 => names.uris.extend(text()),
            _ => {}
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(sans: Vec<rcgen::SanType>) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = sans;
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn uri_and_dns_names_are_read() {
        let der = cert(vec![
            rcgen::SanType::DnsName("encoder.media.svc".try_into().unwrap()),
            rcgen::SanType::URI(
                "spiffe://example.org/ns/media/sa/encoder"
                    .try_into()
                    .unwrap(),
            ),
            rcgen::SanType::IpAddress([127, 0, 0, 1].into()),
        ]);
        let names = names(&der);
        assert_eq!(names.uris, ["spiffe://example.org/ns/media/sa/encoder"]);
        assert_eq!(names.dns, ["encoder.media.svc"]);
    }

    #[test]
    fn no_san_and_garbage_give_nothing() {
        assert_eq!(names(&cert(vec![])), Names::default());
        assert_eq!(names(b"\x30\x84\xff"), Names::default());
        assert_eq!(names(&[]), Names::default());
    }
}
