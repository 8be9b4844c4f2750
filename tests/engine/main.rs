//! The engine under a real supervisord (started as a child process, or as PID 1 of a new pid
//! namespace): lifecycle, shutdown, reload, users, the control socket, load and performance,
//! contained faults (injected panics), load-time limits, the container command
//! (`supervisord -- CMD`), the order of a process's log lines, fcgi-program sockets.

#[path = "../support"]
mod support {
    pub mod daemon;
    pub mod supervisord;
    pub mod temp;
    pub mod wait;
}

mod container_command;
mod control_abuse;
mod control_socket;
mod faults;
mod fcgi_program;
mod lifecycle;
mod limits;
mod malloc_tunables;
mod output_order;
mod performance;
mod pid1;
mod reload;
mod shutdown;
mod spawn_fds;
mod stress;
mod user;
