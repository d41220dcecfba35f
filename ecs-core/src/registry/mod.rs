//! Where images go: [`http`] speaks the OCI distribution API to ECR (or any registry, for
//! base images), [`layout`] writes an OCI image-layout directory. Shell code: network and
//! disk. The image bytes themselves come from [`crate::image`].

pub mod http;
pub mod layout;

pub use http::{Credentials, PushStats, Registry, RegistryAccess, RegistryError};
