"""A WSGI application served over FastCGI by flup on fd 0, the listening socket supervisord
passes to every process of an [fcgi-program:x] group. Answers with its pid and the path."""
import os

from flup.server.fcgi import WSGIServer


def app(environ, start_response):
    body = "pid=%d path=%s\n" % (os.getpid(), environ.get("PATH_INFO", ""))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


if __name__ == "__main__":
    # No bindAddress: flup accepts on fd 0.
    WSGIServer(app, multithreaded=False, multiplexed=False).run()
