//! The only code that waits for children: `waitpid(-1)` on SIGCHLD, the pid → owner table and
//! spawn registration.
