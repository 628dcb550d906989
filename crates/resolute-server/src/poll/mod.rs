//! Poll workers: SSE connections at `/poll/{group}/{id}` and the registry that routes to them.

pub mod registry;
pub mod sse;

pub use registry::{Delivery, Registry, RegistryConfig};
