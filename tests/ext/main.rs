//! The extensions (`depends_on`, health checks, `essential`, `/metrics`, `status --json`,
//! resource usage and `top`, `memory_limit`, the dashboard in headless Chromium, service types,
//! restart policy, env files) under a real supervisord.

#[path = "../support"]
mod support {
    pub mod daemon;
    pub mod supervisord;
    pub mod temp;
    pub mod wait;
}

mod control_plane;
mod dashboard_browser;
mod depends_on;
mod essential;
mod health_checks;
mod health_state;
mod memory_limit;
mod resource_usage;
mod service_envfile;
mod service_restart;
mod service_types;
mod service_util;
mod start_stop_order;
