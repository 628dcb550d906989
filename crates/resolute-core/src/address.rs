//! Delivery addresses (`poll://`, `http(s)://`, ...): which are routable and where they lead.

/// How a poll address picks its worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cast {
    /// One specific process.
    Unicast,
    /// Any member of the group, preferring the named one if given.
    Anycast,
}

/// A parsed, routable delivery address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// `poll://{uni|any}@group[/id]`: an SSE worker connected to this server.
    Poll { cast: Cast, group: String, id: Option<String> },
    /// `http://…` or `https://…`: POST the message to this URL. Kept parsed, because the lane
    /// (its origin) and the push request both need the parts, and parsing is the dear step.
    Http { url: url::Url },
    /// `gcps://project/topic`: accepted for compatibility; resolute has no Pub/Sub transport.
    Gcps { project: String, topic: String },
    /// `bash:…`: accepted for compatibility; resolute has no bash transport.
    Bash { spec: String },
}

impl Address {
    /// Parses an address with WHATWG URL rules; `None` when the protocol calls it unroutable.
    pub fn parse(text: &str) -> Option<Address> {
        plain_poll(text).or_else(|| parse_url(text))
    }

    /// The lane this address is delivered through: a poll group or a push origin.
    pub fn lane(&self) -> String {
        match self {
            Address::Poll { cast: Cast::Unicast, group, id: Some(id) } => {
                format!("poll:{group}/{id}")
            }
            Address::Poll { group, .. } => format!("poll:{group}"),
            Address::Http { url } => format!("http:{}", url.origin().ascii_serialization()),
            Address::Gcps { project, topic } => format!("gcps:{project}/{topic}"),
            Address::Bash { spec } => format!("bash:{spec}"),
        }
    }
}

/// The general case: the URL parser's reading of any address.
fn parse_url(text: &str) -> Option<Address> {
    let url = url::Url::parse(text).ok()?;
    match url.scheme() {
        "http" | "https" => Some(Address::Http { url }),
        "poll" => parse_poll(&url),
        "gcps" => {
            let project = url.host_str().filter(|host| !host.is_empty())?;
            let topic = url.path().trim_start_matches('/');
            (!topic.is_empty())
                .then(|| Address::Gcps { project: project.to_owned(), topic: topic.to_owned() })
        }
        "bash" => Some(Address::Bash { spec: text.to_owned() }),
        _ => None,
    }
}

/// The common case without the URL parser: `poll://{uni|any}@group[/id]` whose group and id hold
/// only characters every URL reading keeps as they are. The parser is the dear step of a dispatch
/// (it runs at create, claim and hand-off: about 11 k instructions per task), and these are the
/// addresses the SDKs build. `None` means "not this simple form", never "unroutable": the caller
/// then asks the parser, so both readings agree by construction (checked in the tests).
fn plain_poll(text: &str) -> Option<Address> {
    let rest = text.strip_prefix("poll://")?;
    let (cast, rest) = rest.split_once('@')?;
    let cast = match cast {
        "uni" => Cast::Unicast,
        "any" => Cast::Anycast,
        _ => return None,
    };
    let (group, id) = match rest.split_once('/') {
        Some((group, id)) => (group, Some(id)),
        None => (rest, None),
    };
    let plain = |part: &str| {
        part.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte))
    };
    if group.is_empty() || !plain(group) {
        return None;
    }
    let id = match id {
        None | Some("") => None,
        // Dot segments are resolved by the URL parser.
        Some("." | "..") => return None,
        Some(id) if plain(id) => Some(id.to_owned()),
        Some(_) => return None,
    };
    Some(Address::Poll { cast, group: group.to_owned(), id })
}

/// The lane of an address string; unroutable addresses get a lane of their own kind.
pub fn lane_of(address: &str) -> String {
    match Address::parse(address) {
        Some(parsed) => parsed.lane(),
        None => format!("invalid:{address}"),
    }
}

fn parse_poll(url: &url::Url) -> Option<Address> {
    let cast = match url.username() {
        "uni" => Cast::Unicast,
        "any" => Cast::Anycast,
        _ => return None,
    };
    let group = url.host_str().filter(|host| !host.is_empty())?;
    let path = url.path().strip_prefix('/').unwrap_or(url.path());
    let id = (!path.is_empty()).then(|| percent_decode(path));
    Some(Address::Poll { cast, group: percent_decode(group), id })
}

/// Decodes `%XX` escapes the URL parser introduced, so ids compare with the raw SSE path segments.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[index + 1]), hex(bytes[index + 2])) {
                out.push(high * 16 + low);
                index += 3;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_addresses_parse_cast_group_and_id() {
        assert_eq!(
            Address::parse("poll://any@billing"),
            Some(Address::Poll { cast: Cast::Anycast, group: "billing".into(), id: None })
        );
        assert_eq!(
            Address::parse("poll://uni@Work/p-1"),
            Some(Address::Poll {
                cast: Cast::Unicast,
                group: "Work".into(),
                id: Some("p-1".into())
            })
        );
        assert_eq!(Address::parse("poll://bogus@g"), None);
        assert_eq!(Address::parse("poll://any@"), None);
    }

    #[test]
    fn other_schemes_follow_the_protocol_table() {
        assert!(matches!(Address::parse("http://localhost:9/x"), Some(Address::Http { .. })));
        assert!(matches!(Address::parse("https://example.test"), Some(Address::Http { .. })));
        assert!(Address::parse("gcps://proj/topic").is_some());
        assert!(Address::parse("gcps://proj").is_none());
        assert!(Address::parse("bash://").is_some());
        assert!(Address::parse("ftp://x").is_none());
        assert!(Address::parse("not a url").is_none());
    }

    /// The shortcut must read every address exactly as the URL parser does: random addresses
    /// built from the characters that matter (separators, dots, escapes, case, unicode).
    #[test]
    fn the_plain_poll_shortcut_agrees_with_the_url_parser() {
        let pieces = [
            "poll://", "any@", "uni@", "@", "/", ".", "..", "%2e", "%41", "g", "G", "w-1", "_",
            "~", ":", "80", "?", "#", " ", "é", "\\", "any", "uni", "x.y", "",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let mut shortcut_taken = 0;
        for round in 0..50_000 {
            let mut text = String::new();
            if round % 2 == 0 {
                // Shaped like a poll address, with arbitrary parts.
                text.push_str("poll://");
                text.push_str(["any", "uni", "bogus", ""][next(4)]);
                text.push('@');
                for _ in 0..1 + next(3) {
                    text.push_str(pieces[next(pieces.len())]);
                }
                if next(2) == 0 {
                    text.push('/');
                    for _ in 0..next(3) {
                        text.push_str(pieces[next(pieces.len())]);
                    }
                }
            } else {
                for _ in 0..1 + next(6) {
                    text.push_str(pieces[next(pieces.len())]);
                }
            }
            if let Some(plain) = plain_poll(&text) {
                shortcut_taken += 1;
                assert_eq!(Some(plain), parse_url(&text), "{text:?}");
            }
            assert_eq!(Address::parse(&text), parse_url(&text), "{text:?}");
        }
        assert!(shortcut_taken > 1_000, "the shortcut was exercised: {shortcut_taken}");
    }

    #[test]
    fn push_lanes_group_by_origin() {
        let a = Address::parse("http://127.0.0.1:9000/a").unwrap();
        let b = Address::parse("http://127.0.0.1:9000/b").unwrap();
        assert_eq!(a.lane(), b.lane());
    }
}
