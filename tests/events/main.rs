//! Event listeners driven by a real supervisord, also as PID 1 of a container.

#[path = "../support"]
mod support {
    pub mod listener;
    pub mod temp;
    pub mod wait;
}

mod container_pid1;
mod listeners;
