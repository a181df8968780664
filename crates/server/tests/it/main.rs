//! Integration tests of the `shale` server, over real sockets.
//!
//! One test binary for the crate (each `tests/*.rs` would link DataFusion
//! again): `harness` starts in-process servers on ephemeral ports, `slt` runs
//! the `.slt` files in `tests/slt/` over the wire, `wire` checks the protocol
//! with tokio-postgres, and `robustness` feeds the server bad input and load.

mod harness;
mod robustness;
mod slt;
mod tidy;
mod wire;
