//! redis-rs over a node's TCP stream.
//!
//! redis-rs builds a `MultiplexedConnection` from any stream that has
//! tokio's `AsyncRead + AsyncWrite`, which madsim's `TcpStream` has, and
//! hands back the future that drives it for the caller to spawn; this
//! spawns it with madsim-tokio's `spawn`, so it runs on the caller's node.
//!
//! What does not work under madsim: everything in redis-rs that reaches
//! for tokio's own runtime, because under `--cfg madsim` there is none.
//! - response and connection timeouts (`set_response_timeout`,
//!   `AsyncConnectionConfig::set_connection_timeout`): redis-rs sleeps on
//!   tokio's timer. Wrap the call in madsim-tokio's `tokio::time::timeout`
//!   instead, as [`crate::client`]'s users do in the tests.
//! - `redis::Client::get_multiplexed_async_connection` and the
//!   `ConnectionManager`: they open a tokio (not madsim) socket and spawn
//!   on tokio. Connect with [`crate::Node::connect`] and call [`connection`].
//! - redis-rs's Sentinel client (`redis::sentinel`) for the same reason;
//!   ask the sentinels yourself (SENTINEL GET-MASTER-ADDR-BY-NAME) as the
//!   example service in tests/nodes.rs does.

use std::net::SocketAddr;

use redis::aio::MultiplexedConnection;
use redis::{RedisConnectionInfo, RedisResult};
use tokio::net::TcpStream;

/// A redis-rs async connection over `stream` (RESP2, database 0, no AUTH).
pub async fn connection(stream: TcpStream) -> RedisResult<MultiplexedConnection> {
    connection_with(&RedisConnectionInfo::default(), stream).await
}

/// The same, with redis-rs's handshake settings (database, user, password).
pub async fn connection_with(
    info: &RedisConnectionInfo,
    stream: TcpStream,
) -> RedisResult<MultiplexedConnection> {
    let (conn, driver) = MultiplexedConnection::new(info, stream).await?;
    tokio::spawn(driver);
    Ok(conn)
}

/// Connects to `addr` and returns a redis-rs async connection.
pub async fn connect(addr: SocketAddr) -> RedisResult<MultiplexedConnection> {
    connection(TcpStream::connect(addr).await?).await
}
