//! Deciding what a deploy changes (pure): task definition reuse vs registration, and the
//! service update or creation.
