//! The `shale` program: the warehouse's PostgreSQL wire protocol, the data
//! directory's secrets, configuration, and process lifecycle.
//!
//! [`Server::start`] prepares the data directory ([`datadir`]), opens the
//! engine, and serves the wire protocol ([`pg`]) until [`Server::shutdown`].
//! This is the only crate that knows pgwire; it turns engine results into
//! protocol messages and engine errors into `ErrorResponse`s, once, in
//! [`pg::errors`].

pub mod datadir;
pub mod error;
pub mod pg;
mod server;
pub mod tls;
pub mod users;

pub use error::ServerError;
pub use server::Server;
