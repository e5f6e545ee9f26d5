//! HTTP Basic credentials (`Authorization: Basic base64(user:password)`), which scripts may
//! send to the JSON API instead of signing in with the form. The console never asks for
//! them (it sends no `WWW-Authenticate`), so a browser never attaches them by itself.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// A username and password from an `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// Reads an `Authorization` header's value; the error says what is wrong with it.
pub fn parse(header: &str) -> Result<Credentials, &'static str> {
    let (scheme, encoded) = header
        .trim()
        .split_once(' ')
        .ok_or("the Authorization header must be 'Basic ' and base64 of user:password")?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err("only HTTP Basic credentials are accepted in the Authorization header");
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| "the Authorization header's credentials are not valid base64")?;
    let text = String::from_utf8(decoded)
        .map_err(|_| "the Authorization header's credentials are not UTF-8 text")?;
    let (username, password) = text
        .split_once(':')
        .ok_or("the Authorization header's credentials must be user:password")?;
    Ok(Credentials {
        username: username.to_string(),
        password: password.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        STANDARD.encode(text)
    }

    #[test]
    fn user_and_password_are_read_from_the_header() {
        let parsed = parse(&format!("Basic {}", encode("ann:pa:ss wörd"))).unwrap();
        assert_eq!(parsed.username, "ann");
        assert_eq!(
            parsed.password, "pa:ss wörd",
            "the password may hold colons"
        );
        let lower = parse(&format!("basic  {}", encode("bob:"))).unwrap();
        assert_eq!(
            (lower.username.as_str(), lower.password.as_str()),
            ("bob", "")
        );
    }

    #[test]
    fn bad_headers_are_refused_with_a_reason() {
        let cases = [
            ("Basic".to_string(), "must be 'Basic '"),
            (format!("Bearer {}", encode("a:b")), "only HTTP Basic"),
            ("Basic !!!".to_string(), "not valid base64"),
            (
                format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':'])),
                "not UTF-8",
            ),
            (
                format!("Basic {}", encode("no-colon")),
                "must be user:password",
            ),
        ];
        for (header, expected) in cases {
            let error = parse(&header).unwrap_err();
            assert!(error.contains(expected), "{header}: {error}");
        }
    }
}
