//! Performing a deploy plan through the ECS adapter and waiting for it (shell).
