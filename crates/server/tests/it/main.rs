//! Integration tests of the `shale` server, over real sockets.
//!
//! One test binary for the crate (each `tests/*.rs` would link DataFusion
//! again): `harness` starts in-process servers on ephemeral ports, `slt` runs
//! the `.slt` files in `tests/slt/` over the wire, `wire` checks the protocol
//! with tokio-postgres, `robustness` feeds the server bad input and load, and
//! `storage` restarts and kills servers to check that commits are durable and
//! concurrent transactions serializable, and `s3` drives the S3 endpoint with
//! object_store's S3 client and raw HTTP, and SIGKILLs it mid-PUT, `users` logs in as users made with CREATE USER, and `iam` signs IAM, STS and Redshift API calls with object_store's SigV4 signer and logs in with the temporary passwords they issue.

mod harness;
mod iam;
mod robustness;
mod s3;
mod slt;
mod storage;
mod tidy;
mod users;
mod wire;
