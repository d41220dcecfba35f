//! `cargo ecs deploy` and its siblings (`diff`, `status`, `rollback`): deciding what a deploy
//! changes and following the deployment it starts to its true end.
//!
//! - [`wait`]: the pure state machine that turns DescribeServices snapshots into a verdict
//!   (no clock, no network: every path is unit-tested with recorded sequences);
//! - [`plan`]: compare the rendered task definition and the live service with what is wanted
//!   and decide the changes (pure);
//! - [`exec`]: the shell that performs the plan through [`crate::aws::ecs`] and polls.

pub mod exec;
pub mod plan;
pub mod wait;
