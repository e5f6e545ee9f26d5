//! A streamed answer the CLI can cut off. Queries and PRINT may stream forever, and the
//! reading thread blocks on the socket, so these requests go over a plain HTTP/1.0
//! connection whose socket the CLI keeps: shutting it down ends the read at once and tells
//! the server the client has left. HTTP/1.0 has the server send the body as it comes, up
//! to the connection's close, with no chunk framing to decode.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// The answer's status and its body, read as it arrives.
pub struct StreamedAnswer {
    pub status: u16,
    pub body: BufReader<TcpStream>,
    /// Cuts the connection, from any thread.
    pub cut: Cutter,
}

/// Shuts down a streamed answer's connection.
pub struct Cutter(TcpStream);

impl Cutter {
    pub fn cut(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }
}

/// `host:port` of an `http://host:port[/...]` address.
pub fn authority(url: &str) -> io::Result<String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "only http:// server addresses are supported",
        )
    })?;
    let host_port = rest.split('/').next().unwrap_or_default();
    if host_port.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no host"));
    }
    // A bracketed IPv6 address has colons of its own; the port follows the bracket.
    let has_port = match host_port.rfind(']') {
        Some(bracket) => host_port[bracket..].contains(':'),
        None => host_port.contains(':'),
    };
    Ok(if has_port {
        host_port.to_string()
    } else {
        format!("{host_port}:80")
    })
}

/// POSTs a JSON `body` to `path` of the server at `url` and reads the answer's head.
pub fn post(url: &str, path: &str, body: &str) -> io::Result<StreamedAnswer> {
    let authority = authority(url)?;
    let mut stream = TcpStream::connect(&authority)?;
    stream.set_nodelay(true)?;
    let host = authority.rsplit_once(':').map_or(&*authority, |(h, _)| h);
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request.as_bytes())?;
    let cut = Cutter(stream.try_clone()?);
    let mut reader = BufReader::new(stream);
    let status = read_head(&mut reader)?;
    Ok(StreamedAnswer {
        status,
        body: reader,
        cut,
    })
}

/// Reads the status line and headers; the status code.
fn read_head(reader: &mut impl BufRead) -> io::Result<u16> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not an HTTP answer: {}", line.trim()),
            )
        })?;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            return Ok(status);
        }
    }
}

/// The rest of the body as text.
pub fn read_all(body: &mut impl Read) -> String {
    let mut text = String::new();
    let _ = body.read_to_string(&mut text);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_host_and_port() {
        assert_eq!(
            authority("http://localhost:8088").unwrap(),
            "localhost:8088"
        );
        assert_eq!(authority("http://ksql/").unwrap(), "ksql:80");
        assert_eq!(authority("http://[::1]:8088").unwrap(), "[::1]:8088");
        assert!(authority("https://ksql:8088").is_err());
    }

    #[test]
    fn reads_the_status_and_skips_headers() {
        let mut answer = "HTTP/1.0 400 Bad Request\r\ncontent-type: application/json\r\n\r\n{\"message\":\"no\"}".as_bytes();
        assert_eq!(read_head(&mut answer).unwrap(), 400);
        assert_eq!(read_all(&mut answer), "{\"message\":\"no\"}");
    }
}
