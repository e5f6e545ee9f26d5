//! One client connection: read a length-prefixed frame, answer it, repeat. Requests are
//! handled one at a time, so responses leave in request order, as Kafka guarantees.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

use crate::api;
use crate::broker::Broker;

pub async fn serve(broker: Arc<Broker>, socket: TcpStream, peer: SocketAddr) {
    let _ = socket.set_nodelay(true);
    let (reader, writer) = socket.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    let max_frame = broker.config.socket_request_max_bytes;
    loop {
        let frame = match read_frame(&mut reader, max_frame).await {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(reason) => {
                tracing::warn!(%peer, "closing connection: {reason}");
                return;
            }
        };
        broker.metrics.bytes_in.inc_by(frame.len() as u64 + 4);
        match api::handle_frame(&broker, frame, peer).await {
            Ok(Some(response)) => {
                broker.metrics.bytes_out.inc_by(response.len() as u64);
                if let Err(error) = write_all(&mut writer, &response).await {
                    tracing::debug!(%peer, %error, "client went away");
                    return;
                }
            }
            Ok(None) => {}
            Err(reason) => {
                broker
                    .metrics
                    .request_errors
                    .with_label_values(&["frame", "CLOSED"])
                    .inc();
                tracing::warn!(%peer, "closing connection: {reason}");
                return;
            }
        }
    }
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
async fn read_frame(
    reader: &mut (impl AsyncReadExt + Unpin),
    max_frame: usize,
) -> Result<Option<Bytes>, String> {
    let size = match reader.read_i32().await {
        Ok(size) => size,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if size < 0 || size as usize > max_frame {
        return Err(format!(
            "frame size {size} is outside 0..={max_frame} (socket.request.max.bytes)"
        ));
    }
    let mut frame = BytesMut::zeroed(size as usize);
    reader
        .read_exact(&mut frame)
        .await
        .map_err(|e| format!("truncated frame of {size} bytes: {e}"))?;
    Ok(Some(frame.freeze()))
}

async fn write_all(
    writer: &mut (impl AsyncWriteExt + Unpin),
    response: &[u8],
) -> std::io::Result<()> {
    writer.write_all(response).await?;
    writer.flush().await
}
