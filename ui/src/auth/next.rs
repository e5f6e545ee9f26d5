//! Where a person goes after signing in: the page they asked for before, carried in
//! `/login?next=...`, but only when it is a path of this console, so a link cannot use the
//! sign-in page to send someone to another site.

/// The sign-in page's address for someone who asked for `path_and_query`.
pub fn login_url(path_and_query: &str) -> String {
    if path_and_query == "/" || safe(path_and_query).is_none() {
        return "/login".to_string();
    }
    format!("/login?next={}", encode(path_and_query))
}

/// `next` when it is a path on this site (starts with one `/`, not `//` or `/\`, which
/// browsers read as another host), in visible ASCII only; otherwise `None`.
pub fn safe(next: &str) -> Option<&str> {
    let mut bytes = next.bytes();
    let starts_well = bytes.next() == Some(b'/') && !matches!(bytes.next(), Some(b'/' | b'\\'));
    let visible = next.bytes().all(|b| b.is_ascii_graphic());
    (starts_well && visible).then_some(next)
}

/// Percent-encodes everything but unreserved characters and `/`, for a query value.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed() {
        for good in [
            "/",
            "/clusters/local/topics",
            "/clusters/a/topics?q=x&sort=name",
        ] {
            assert_eq!(safe(good), Some(good));
        }
        for bad in [
            "",
            "clusters",
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "/\t/evil.example",
            "/a b",
            "/ok\r\nSet-Cookie: x=1",
            "/ü",
        ] {
            assert_eq!(safe(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_login_address_carries_the_page_encoded() {
        assert_eq!(login_url("/"), "/login");
        assert_eq!(
            login_url("/clusters/a/topics?q=x&sort=name"),
            "/login?next=/clusters/a/topics%3Fq%3Dx%26sort%3Dname"
        );
        assert_eq!(login_url("//evil.example"), "/login");
    }
}
