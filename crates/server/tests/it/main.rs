//! Integration tests of the `shale` server, over real sockets.
//!
//! One test binary for the crate (each `tests/*.rs` would link DataFusion
//! again): `harness` starts in-process servers on ephemeral ports, `slt` runs
//! the `.slt` files in `tests/slt/` over the wire, `wire` checks the protocol
//! with tokio-postgres, `robustness` feeds the server bad input and load, and
//! `storage` restarts and kills servers to check that commits are durable and
//! concurrent transactions serializable.

mod harness;
mod robustness;
mod slt;
mod storage;
mod tidy;
mod wire;
