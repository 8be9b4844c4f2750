//! The extensions (`depends_on`, health checks, `essential`, `/metrics`, `status --json`,
//! resource usage and `top`, `memory_limit`, the dashboard in headless Chromium) under a real
//! supervisord.

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
mod start_stop_order;
